# Sourced by the scripts that build test peers once and cache them outside
# the repository: sets cache_root to where they go.
#   SONDE_CACHE_DIR if set; else /var/cache/sonde, which needs root (as Sonde
#   itself does); anyone else gets ~/.cache/sonde. Made absolute and created.
cache_root=${SONDE_CACHE_DIR:-}
if [ -z "$cache_root" ]; then
  cache_root=/var/cache/sonde
  if ! mkdir -p "$cache_root" 2>/dev/null || [ ! -w "$cache_root" ]; then
    cache_root=${XDG_CACHE_HOME:-$HOME/.cache}/sonde
  fi
fi
case "$cache_root" in /*) ;; *) cache_root="$PWD/$cache_root" ;; esac
mkdir -p "$cache_root"
