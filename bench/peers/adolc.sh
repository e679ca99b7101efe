#!/usr/bin/env bash
# bench/peers/adolc.sh - builds and runs adolc_chain.cpp when ADOL-C is
# installed (Debian's libadolc-dev); prints nothing but a note otherwise.
# Runs in a scratch directory with an .adolcrc that keeps the tapes in memory
# (ADOL-C's default buffers would spill a 10^6-op tape to files).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -f /usr/include/adolc/adolc.h ] || ! command -v g++ >/dev/null; then
  echo "# adolc: not installed (apt-get install libadolc-dev g++), skipped"
  exit 0
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
if ! g++ -O2 -std=c++11 -o "$dir/adolc_chain" "$here/adolc_chain.cpp" -ladolc 2>"$dir/err"; then
  echo "# adolc: build failed, skipped: $(head -c 300 "$dir/err")"
  exit 0
fi
cat > "$dir/.adolcrc" <<'RC'
"OBUFSIZE" "8000000"
"LBUFSIZE" "8000000"
"VBUFSIZE" "8000000"
"TBUFSIZE" "8000000"
RC
(cd "$dir" && ./adolc_chain) || echo "# adolc: run failed, skipped"
