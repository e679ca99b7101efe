#!/bin/bash -eu
# build.sh - builds the harnesses the OSS-Fuzz way: $CC and $CFLAGS compile, $CXX links
# with $LIB_FUZZING_ENGINE, static libraries only; binaries, seed corpus zips,
# dictionaries and options land in $OUT, intermediate files in $WORK. In the image
# it runs as $SRC/build.sh from the source folder (the Dockerfile's WORKDIR); from
# a checkout as .clusterfuzzlite/build.sh. Runs unchanged outside Docker with those
# variables set (see .ci/fuzz-oss).
set -eu # also when run as `bash build.sh`, which ignores the #! flags
here=$(cd "$(dirname "$0")" && pwd)
if [ -f "$here/../meson.build" ]; then cd "$here/.."; fi # else: the WORKDIR, $SRC/adcheck
[ -f meson.build ] || { echo "build.sh: run it from the adcheck source folder" >&2; exit 1; }
: "${CC:?}" "${CXX:?}" "${CFLAGS:=}" "${LIB_FUZZING_ENGINE:?}" "${OUT:?}"
export CC CXX CFLAGS
build=${ADCHECK_OSS_BUILD:-${WORK:-.}/build-oss-fuzz}
# A build left in $WORK by an earlier run with the same compilers and flags is
# reused (incremental); anything else starts afresh.
stamp="$CC|$CXX|$CFLAGS|${CXXFLAGS:-}|${LDFLAGS:-}|$LIB_FUZZING_ENGINE"
if [ ! -f "$build/oss-flags" ] || [ "$(cat "$build/oss-flags")" != "$stamp" ]; then
  rm -rf "$build"
  # The engine flags go through a meson array: the brackets keep any commas in one item.
  meson setup "$build" -Dfuzzing=oss-fuzz "-Dfuzz_link_args=['$LIB_FUZZING_ENGINE']" \
    -Ddefault_library=static -Dprefer_static=true -Db_lundef=false \
    -Dtests=false -Dbench=false -Dexamples=false
  printf '%s' "$stamp" >"$build/oss-flags"
fi
harnesses="fuzz_op fuzz_program fuzz_alloc fuzz_expr fuzz_deepnet"
ninja -C "$build" -j2 $(printf "fuzz/%s " $harnesses)
for h in $harnesses; do
  cp "$build/fuzz/$h" "$OUT/$h"
  cp "fuzz/dict/$h.dict" "$OUT/$h.dict"
  rm -f "$OUT/${h}_seed_corpus.zip"
  (cd "fuzz/corpus/$h" && zip -q -j "$OUT/${h}_seed_corpus.zip" ./*)
  printf '[libfuzzer]\ndict = %s.dict\nrss_limit_mb = 2560\ntimeout = 25\n' "$h" >"$OUT/$h.options"
done
