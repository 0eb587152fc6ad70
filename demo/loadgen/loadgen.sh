#!/bin/sh
# The demo's load: a checkout of a random item every RATE_MS (default 500 ms).
# Usage: loadgen.sh [FRONTEND_URL]
url=${1:-${FRONTEND_URL:-http://127.0.0.1:8080}}
pause=$(awk "BEGIN { print ${RATE_MS:-500} / 1000 }")
while :; do
  curl -s -o /dev/null -w '%{http_code} %{url_effective}\n' "$url/checkout/item-$(( $(od -An -N2 -tu2 /dev/urandom) % 50 ))" || true
  sleep "$pause"
done
