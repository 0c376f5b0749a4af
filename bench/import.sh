#!/usr/bin/env bash
# Benchmark promrecover import against promtool on the same OpenMetrics file.
#
#   bench/import.sh [--series N] [--samples M] [--runs K] [--seed S] [--keep]
#
# Builds promrecover and the generator and verifier in bench/, generates N
# series x M samples (default 2,000 x 960: 1.92M samples over three 2h
# windows) of deterministic OpenMetrics text, then K times (default 3) runs
#
#   promtool tsdb create-blocks-from openmetrics FILE DIR1
#   promrecover import FILE --out DIR2
#
# (alternating which goes first) under /usr/bin/time, checks that both wrote
# the same samples (bench/verify reads both directories and compares them
# sample by sample, values bit for bit) and prints wall time, samples/s and
# peak RSS per run, the medians, and the ratios. Everything is local files.
set -euo pipefail

series=2000
samples=960
runs=3
seed=1
keep=0
while [ $# -gt 0 ]; do
	case "$1" in
	--series) series=$2; shift 2 ;;
	--samples) samples=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--seed) seed=$2; shift 2 ;;
	--keep) keep=1; shift ;;
	-h | --help) sed -n '2,17p' "$0"; exit 0 ;;
	*) echo "unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done

# GNU time reports peak RSS (%M, KiB); promtool comes with Debian's prometheus.
if ! command -v /usr/bin/time >/dev/null; then
	apt-get install -y time >/dev/null || { echo "need GNU time: apt-get install time" >&2; exit 1; }
fi
if ! command -v promtool >/dev/null; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y prometheus >/dev/null || { echo "need promtool: apt-get install prometheus" >&2; exit 1; }
fi

root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/import-bench.XXXXXX")
if [ "$keep" = 0 ]; then
	trap 'rm -rf "$work"' EXIT
fi

echo "building in $work"
(cd "$root" && go build -o "$work/promrecover" ./cmd/promrecover &&
	go build -o "$work/gen" ./bench/gen && go build -o "$work/verify" ./bench/verify)

input=$work/input.om
"$work/gen" -series "$series" -samples "$samples" -seed "$seed" -o "$input"
total=$((series * samples))
size=$(du -m "$input" | cut -f1)

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(free -g | awk '/^Mem:/ {print $2}') GiB RAM"
echo "promtool: $(promtool --version 2>&1 | head -1)"
echo "input: $series series x $samples samples = $total samples, $size MiB of OpenMetrics text"
echo

# run TOOL RUN: runs one tool into a fresh directory and prints its row.
run() {
	local tool=$1 n=$2 out=$work/out-$1 log=$work/$1.log
	rm -rf "$out" && mkdir "$out"
	case $tool in
	promtool) cmd=(promtool tsdb create-blocks-from openmetrics "$input" "$out") ;;
	promrecover) cmd=("$work/promrecover" import "$input" --out "$out") ;;
	esac
	if ! /usr/bin/time -f '%e %M' -o "$work/time" "${cmd[@]}" >"$log" 2>&1; then
		echo "$tool failed:" >&2
		cat "$log" >&2
		exit 1
	fi
	read -r wall rss <"$work/time"
	awk -v t="$tool" -v n="$n" -v w="$wall" -v r="$rss" -v s="$total" \
		'BEGIN { printf "%-12s %4d %8.2f %12.0f %10.1f\n", t, n, w, (w > 0 ? s / w : 0), r / 1024 }' | tee -a "$work/rows"
}

printf "%-12s %4s %8s %12s %10s\n" TOOL RUN "WALL s" "SAMPLES/s" "RSS MiB"
: >"$work/rows"
for n in $(seq 1 "$runs"); do
	if [ $((n % 2)) = 1 ]; then
		run promtool "$n"
		run promrecover "$n"
	else
		run promrecover "$n"
		run promtool "$n"
	fi
	if ! check=$("$work/verify" "$work/out-promtool" "$work/out-promrecover" 2>&1); then
		echo "run $n: the outputs differ: $check" >&2
		exit 1
	fi
done
echo "outputs: $check (promtool's and promrecover's blocks, every run)"
echo

median() { # TOOL COLUMN
	awk -v t="$1" -v c="$2" '$1 == t { print $c }' "$work/rows" | sort -g |
		awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}
printf "%-12s %4s %8s %12s %10s\n" TOOL "" "WALL s" "SAMPLES/s" "RSS MiB"
for t in promtool promrecover; do
	printf "%-12s %4s %8.2f %12.0f %10.1f\n" "$t" median "$(median "$t" 3)" "$(median "$t" 4)" "$(median "$t" 5)"
done
speed=$(awk -v a="$(median promrecover 4)" -v b="$(median promtool 4)" 'BEGIN { printf "%.2f", a / b }')
mem=$(awk -v a="$(median promrecover 5)" -v b="$(median promtool 5)" 'BEGIN { printf "%.2f", a / b }')
echo
echo "promrecover/promtool samples/s: ${speed}x (goal: at least 3x)  $(awk -v r="$speed" 'BEGIN { print (r >= 3 ? "met" : "NOT MET") }')"
echo "promrecover/promtool peak RSS:  ${mem} (goal: at most 0.5)  $(awk -v r="$mem" 'BEGIN { print (r <= 0.5 ? "met" : "NOT MET") }')"
if [ "$keep" = 1 ]; then
	echo "kept $work"
fi
