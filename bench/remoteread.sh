#!/usr/bin/env bash
# Remote read against /api/ds/query, on the same data (issue 13): CPU time
# per sample (user + sys, getrusage) and bytes on the wire per sample, from
# the remoteread package's benchmarks, run on one core (GOMAXPROCS=1):
#
#   BenchmarkDecodeStreamed  decoding a streamed answer, alone
#   BenchmarkTransportCPU    each door's answer served from memory on
#                            127.0.0.1, fetched and decoded ("fetch"), then
#                            also written through the blocks sink ("recover")
#   BenchmarkChunkCopy       decode + blocks sink, decode + TSDB's block
#                            writer, and copying the chunks as they came
#                            (then reading them back to compare)
#
# The data: two hours of 15s scrapes of about 2,000 series, "sim" (the
# simulator's demo data, jittered timestamps, full-precision gauges) and
# "counters" (regular counters). CPU time, unlike wall time, is not
# stretched by other jobs on a shared machine; contention can only add to
# it, so figures from a loaded machine are upper bounds.
#
#   bench/remoteread.sh                 # 10 rounds of each
#   BENCHTIME=30x bench/remoteread.sh   # more rounds
#
# Exit status: 0 when every target below is met, 1 otherwise (the tables
# are printed either way), 2 when the benchmarks fail.
set -euo pipefail
cd "$(dirname "$0")/.."

BENCHTIME=${BENCHTIME:-10x}
DECODE_TARGET=50   # million samples per CPU-second, decoding streamed chunks
BYTES_FACTOR=4     # remote read at least this many times fewer bytes than ds

out=$(mktemp "${TMPDIR:-/tmp}/promrecover-remoteread.XXXXXX")
trap 'rm -f "$out"' EXIT

echo "running the remoteread benchmarks (GOMAXPROCS=1, -benchtime $BENCHTIME; load average $(cut -d' ' -f1-3 /proc/loadavg))"
if ! GOMAXPROCS=1 go test -run '^$' -bench 'DecodeStreamed|TransportCPU|ChunkCopy' -benchtime "$BENCHTIME" ./remoteread/ >"$out" 2>&1; then
  cat "$out"
  exit 2
fi

# One line per benchmark and metric: NAME UNIT VALUE, the name without
# "Benchmark" and the GOMAXPROCS suffix.
metrics=$(awk '/^Benchmark/ {
  name = $1; sub(/^Benchmark/, "", name); sub(/-[0-9]+$/, "", name)
  for (i = 3; i < NF; i += 2) print name, $(i + 1), $i
}' "$out")
m() { awk -v n="$1" -v u="$2" '$1 == n && $2 == u { print $3; found = 1 } END { if (!found) print "nan" }' <<<"$metrics"; }

echo
echo "decoding streamed chunks, one core"
printf '%-9s  %14s  %22s\n' SET cpu-ns/sample 'M samples/CPU-second'
for set in sim counters; do
  printf '%-9s  %14s  %22.1f\n' "$set" "$(m "DecodeStreamed/$set" cpu-ns/sample)" \
    "$(awk -v r="$(m "DecodeStreamed/$set" samples/cpu-s)" 'BEGIN { print r / 1e6 }')"
done

echo
echo "each door, CPU seconds per million samples and bytes on the wire per sample"
printf '%-9s  %-11s  %14s  %16s  %13s\n' SET DOOR 'fetch CPU s/M' 'recover CPU s/M' 'wire B/sample'
for set in sim counters; do
  for door in remote-read ds ds-gzip; do
    printf '%-9s  %-11s  %14s  %16s  %13s\n' "$set" "$door" \
      "$(m "TransportCPU/$set/$door/fetch" cpu-s/Msample)" \
      "$(m "TransportCPU/$set/$door/recover" cpu-s/Msample)" \
      "$(m "TransportCPU/$set/$door/fetch" wire-B/sample)"
  done
done

echo
echo "a streamed answer into a block, CPU ns per sample"
printf '%-9s  %12s  %19s  %10s\n' SET decode+sink decode+blockwriter copy+check
for set in sim counters; do
  printf '%-9s  %12s  %19s  %10s\n' "$set" "$(m "ChunkCopy/$set/decode+sink" cpu-ns/sample)" \
    "$(m "ChunkCopy/$set/decode+blockwriter" cpu-ns/sample)" "$(m "ChunkCopy/$set/copy+check" cpu-ns/sample)"
done

echo
status=0
check() { # description value comparison target
  local verdict=met
  if ! awk -v v="$2" -v t="$4" -v op="$3" 'BEGIN { exit !((op == ">=" && v >= t) || (op == "<=" && v <= t) || (op == "<" && v < t)) }'; then
    verdict="NOT MET"
    status=1
  fi
  printf '%s: %s (target %s %s): %s\n' "$1" "$2" "$3" "$4" "$verdict"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
for set in sim counters; do
  rr=$(m "TransportCPU/$set/remote-read/fetch" wire-B/sample)
  check "$set: ds bytes / remote read bytes" "$(ratio "$(m "TransportCPU/$set/ds/fetch" wire-B/sample)" "$rr")" ">=" "$BYTES_FACTOR"
  check "$set: remote read bytes / ds gzipped bytes" "$(ratio "$rr" "$(m "TransportCPU/$set/ds-gzip/fetch" wire-B/sample)")" "<" 1
  for phase in fetch recover; do
    check "$set: remote read CPU / ds CPU, $phase" \
      "$(ratio "$(m "TransportCPU/$set/remote-read/$phase" cpu-s/Msample)" "$(m "TransportCPU/$set/ds/$phase" cpu-s/Msample)")" "<=" 1
  done
  check "$set: decoding, M samples/CPU-second" \
    "$(awk -v r="$(m "DecodeStreamed/$set" samples/cpu-s)" 'BEGIN { printf "%.1f", r / 1e6 }')" ">=" "$DECODE_TARGET"
done
exit "$status"
