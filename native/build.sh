#!/usr/bin/env bash
# Builds the N-API addons under native/ (native/<name>/build/Release/<name>.node) with node-gyp:
# `bash native/build.sh afpacket tcpsock`.
# Run by `npm run build` / `npm ci` (prepare). Works without network access: it compiles
# against the headers of the running Node (python3, make, a C compiler and
# <prefix>/include/node/node_api.h are needed; Debian's nodejs package ships them).
set -euo pipefail
root="$(cd "$(dirname "$0")" && pwd)"

# npm puts its bundled node-gyp on PATH for scripts; outside npm use the one npm bundles.
gyp=(node-gyp)
if ! command -v node-gyp >/dev/null 2>&1; then
  npm_bin="$(command -v npm || true)"
  bundled="$(dirname "$(readlink -f "${npm_bin:-/nonexistent}")")/../node_modules/node-gyp/bin/node-gyp.js"
  [ -f "$bundled" ] || { echo "native: node-gyp not found (install npm, which bundles it)" >&2; exit 1; }
  gyp=(node "$bundled")
fi

# Local headers instead of a download: $npm_config_nodedir if set, else the running Node's prefix.
nodedir="${npm_config_nodedir:-}"
if [ -z "$nodedir" ]; then
  prefix="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"
  [ -f "$prefix/include/node/node_api.h" ] && nodedir="$prefix"
fi
[ -n "$nodedir" ] || { echo "native: Node headers not found (<node prefix>/include/node/node_api.h); install them or set npm_config_nodedir" >&2; exit 1; }

for addon in "$@"; do
  [ -f "$root/$addon/binding.gyp" ] || { echo "native: no addon named $addon (expected $root/$addon/binding.gyp)" >&2; exit 1; }
  cd "$root/$addon"
  if [ -f build/Makefile ] && [ build/config.gypi -nt binding.gyp ]; then
    "${gyp[@]}" build --nodedir="$nodedir" >&2   # incremental: make recompiles only what changed
  else
    "${gyp[@]}" rebuild --nodedir="$nodedir" >&2
  fi
done
