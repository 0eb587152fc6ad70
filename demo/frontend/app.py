"""The demo's front service (Python, a thread per request): GET /checkout/<id>
asks inventory (Node, HTTP) whether the item is in stock and pricing (Go,
HTTP) what it costs, and answers with both. Knows nothing of tracing."""
import json
import os
import sys
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

INVENTORY = os.environ.get("INVENTORY_URL", "http://127.0.0.1:3000")
PRICING = os.environ.get("PRICING_URL", "http://127.0.0.1:8081")


def fetch(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.status, json.loads(r.read() or b"{}")


class Checkout(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        parts = self.path.strip("/").split("/")
        if len(parts) != 2 or parts[0] != "checkout":
            return self.answer(404, {"error": "try /checkout/<id>"})
        item = parts[1]
        try:
            _, stock = fetch(f"{INVENTORY}/items/{item}")
            _, price = fetch(f"{PRICING}/price/{item}")
        except Exception as e:  # a demo: report, do not crash
            return self.answer(502, {"error": str(e)})
        self.answer(200, {"item": item, "stock": stock, "price": price})

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8080
    server = ThreadingHTTPServer(("0.0.0.0", port), Checkout)
    print(f"frontend listening on {port}", flush=True)
    server.serve_forever()
