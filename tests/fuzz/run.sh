#!/bin/sh
# run.sh: build the fuzz targets with clang + libFuzzer (ASan + UBSan) and
# run each one for a while.
#
#   tests/fuzz/run.sh [SECONDS] [TARGET...]
#
# SECONDS per target (default 60); TARGETs default to all eight. Targets run
# $JOBS at a time (default: the number of CPUs). Environment:
#   BUILD=DIR    build directory (default: build-fuzz in the source tree)
#   JOBS=N       targets run in parallel
#   CORPUS=DIR   where the growing corpora live, DIR/TARGET (default:
#                $BUILD/fuzz-corpus); keep it outside the source tree, as
#                curl and libxml2 do, and replay it in CTest with
#                cmake -DKW_FUZZ_CORPUS_DIR=DIR
#   MERGE=1      afterwards, minimise DIR/TARGET to the inputs that cover
#                distinct edges (libFuzzer -merge=1 -use_counters=0)
# Each target grows its corpus in DIR/TARGET, seeded from
# tests/fuzz/corpus/TARGET (seeds, crash and regression inputs, never
# written by this script),
# its log in $BUILD/fuzz-logs/TARGET.log and any crashing input in
# $BUILD/fuzz-artifacts/TARGET/. Exit status 1 when any target crashed:
# fix the bug, then copy the input to tests/fuzz/corpus/TARGET/crash-NAME
# so CTest replays it from now on.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=${BUILD:-$src/build-fuzz}
secs=${1:-60}
[ $# -gt 0 ] && shift
all="fuzz_config fuzz_extract fuzz_feed fuzz_token fuzz_kakao_response
	fuzz_message fuzz_select fuzz_cond"
targets=${*:-$all}
jobs=${JOBS:-$(nproc 2>/dev/null || echo 1)}
corpora=${CORPUS:-$build/fuzz-corpus}

CC=${CC:-clang} cmake -S "$src" -B "$build" -DKW_FUZZ=ON -DKW_SANITIZE=ON \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
# shellcheck disable=SC2086
cmake --build "$build" -j"$jobs" --target $targets >/dev/null

mkdir -p "$build/fuzz-logs"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

run_one() {
	t=$1
	corpus=$corpora/$t
	art=$build/fuzz-artifacts/$t
	mkdir -p "$corpus" "$art"
	dict=
	[ -f "$here/$t.dict" ] && dict=-dict=$here/$t.dict
	# shellcheck disable=SC2086
	"$build/tests/fuzz/$t" -max_total_time="$secs" -timeout=10 \
		-rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
		-artifact_prefix="$art/" $dict "$corpus" "$here/corpus/$t" \
		>"$build/fuzz-logs/$t.log" 2>&1 || true
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' \
		"$build/fuzz-logs/$t.log" | tail -1)
	crashes=$(find "$art" -type f | wc -l)
	echo "$t: ${runs:-?} executions in ${secs}s, $crashes crashing inputs" \
		"(log: $build/fuzz-logs/$t.log)"
	if [ "${MERGE:-0}" = 1 ]; then
		rm -rf "$corpus.min" && mkdir -p "$corpus.min"
		if "$build/tests/fuzz/$t" -merge=1 -use_counters=0 \
			"$corpus.min" "$corpus" >>"$build/fuzz-logs/$t.log" 2>&1; then
			rm -rf "$corpus" && mv "$corpus.min" "$corpus"
			echo "$t: corpus minimised to $(ls "$corpus" | wc -l) inputs"
		fi
	fi
}

# run the targets $jobs at a time
set -- $targets
while [ $# -gt 0 ]; do
	n=0
	while [ $# -gt 0 ] && [ $n -lt "$jobs" ]; do
		run_one "$1" &
		shift
		n=$((n + 1))
	done
	wait
done

if [ -n "$(find "$build/fuzz-artifacts" -type f 2>/dev/null)" ]; then
	echo "crashing inputs:" >&2
	find "$build/fuzz-artifacts" -type f >&2
	exit 1
fi
