#!/usr/bin/env bash
# End-to-end benchmark: promrecover recovers 24h and then 72h of 10,000 series
# scraped every 15s (57.6M and 172.8M samples) from the Grafana simulator on
# 127.0.0.1 (bench/simserver, a synthetic data set computed as it is asked
# for), at --concurrency 4, under /usr/bin/time. Every run's blocks are then
# compared with the source window by window, values bit for bit
# (bench/synthverify). It prints one row a range (samples, wall time,
# samples/s, peak RSS, bytes on the wire) and the targets: peak RSS at most
# 512 MiB for 24h, and the 72h peak at most 1.2x the 24h one.
#
#   bench/e2e.sh                     # both ranges
#   RANGES=24h bench/e2e.sh          # one range; also SERIES, CONCURRENCY
#   KEEP=1 bench/e2e.sh              # keep the work dir (blocks, logs)
#
# Exit status: 0 when every run was recovered, verified exact and met the
# targets; 1 otherwise (the table is printed either way).
set -euo pipefail
cd "$(dirname "$0")/.."

SERIES=${SERIES:-10000}
CONCURRENCY=${CONCURRENCY:-4}
RANGES=${RANGES:-"24h 72h"}
KEEP=${KEEP:-0}
INTERVAL=15s
SEED=1
# Fixed past times, so no head-block or retention warnings apply. The data
# set reaches an hour past both ends of the longest range, so every range
# cuts through data.
FROM=2025-08-01T00:00:00Z
DATA_START=2025-07-31T23:00:00Z
DATA_END=2025-08-04T01:00:00Z
RSS_TARGET_MIB=512
RATIO_TARGET=1.2

work=$(mktemp -d "${TMPDIR:-/tmp}/promrecover-e2e.XXXXXX")
sim_pid=""
cleanup() {
  if [[ -n $sim_pid ]] && kill -0 "$sim_pid" 2>/dev/null; then
    kill "$sim_pid" 2>/dev/null || true
    wait "$sim_pid" 2>/dev/null || true
  fi
  if [[ $KEEP == 1 ]]; then
    echo "work dir kept: $work"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [[ ! -x /usr/bin/time ]]; then
  echo "installing GNU time for /usr/bin/time"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null
fi

echo "building promrecover, bench/simserver, bench/synthverify"
go build -o "$work/promrecover" ./cmd/promrecover
go build -o "$work/simserver" ./bench/simserver
go build -o "$work/synthverify" ./bench/synthverify

token="glsa_bench_$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
data_flags=(--series "$SERIES" --interval "$INTERVAL" --start "$DATA_START" --end "$DATA_END" --seed "$SEED")
"$work/simserver" --addr 127.0.0.1:0 --token "$token" --url-file "$work/url" "${data_flags[@]}" >"$work/simserver.log" 2>&1 &
sim_pid=$!
for _ in $(seq 100); do
  [[ -s $work/url ]] && break
  kill -0 "$sim_pid" 2>/dev/null || { cat "$work/simserver.log"; exit 1; }
  sleep 0.1
done
[[ -s $work/url ]] || { echo "simserver did not start"; cat "$work/simserver.log"; exit 1; }
url=$(cat "$work/url")
echo "simulator at $url (pid $sim_pid): $SERIES series every $INTERVAL over [$DATA_START, $DATA_END)"

wire_bytes() { curl -fsS "$url/sim/counters" | sed -n 's/.*"BodyBytes":\([0-9]*\).*/\1/p'; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }

from_s=$(date -u -d "$FROM" +%s)
rows=()
declare -A rss_of
status=0
for r in $RANGES; do
  hours=${r%h}
  to=$(date -u -d "@$((from_s + hours * 3600))" +%Y-%m-%dT%H:%M:%SZ)
  out="$work/out-$r"
  mkdir "$out"
  echo
  echo "== $r: recover [$FROM, $to) into $out"
  before=$(wire_bytes)
  set +e
  /usr/bin/time -f '%e %M' -o "$work/time-$r" \
    "$work/promrecover" recover --grafana-url "$url" --token "$token" --datasource grafanacloud-prom \
    --from "$FROM" --to "$to" --out "$out" --concurrency "$CONCURRENCY" >"$work/recover-$r.log" 2>&1
  rc=$?
  set -e
  after=$(wire_bytes)
  read -r wall rss_kb < <(tail -n 1 "$work/time-$r")
  sed -n '/^recovered /,/^fetched /p' "$work/recover-$r.log"
  if [[ $rc != 0 ]]; then
    echo "promrecover exited $rc; the end of its log:"
    tail -n 30 "$work/recover-$r.log"
    status=1
    verified="NO (exit $rc)"
  elif "$work/synthverify" --dir "$out" "${data_flags[@]}" --from "$FROM" --to "$to" | tee "$work/verify-$r.log"; then
    verified=exact
  else
    verified=NO
    status=1
  fi
  samples=$(sed -n 's/^fetched \([0-9]*\) samples.*/\1/p' "$work/recover-$r.log")
  samples=${samples:-0}
  client_wire=$(sed -n 's/^requests .*session rotations [0-9]*, //p' "$work/recover-$r.log")
  rss_mib=$(awk -v k="$rss_kb" 'BEGIN { printf "%.0f", k / 1024 }')
  rss_of[$r]=$rss_kb
  rate=$(awk -v n="$samples" -v s="$wall" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }')
  rows+=("$(printf '%-5s  %11s  %7s  %10s  %9s  %12s  %-8s  %s' \
    "$r" "$samples" "$wall" "$rate" "$rss_mib" "$(mib $((after - before)))" "$verified" "${client_wire:-?}")")
  [[ $KEEP == 1 ]] || rm -rf "$out"
done

echo
echo "promrecover recover, $SERIES series every $INTERVAL, --concurrency $CONCURRENCY, from $url ($(nproc) CPUs)"
printf '%-5s  %11s  %7s  %10s  %9s  %12s  %-8s  %s\n' \
  RANGE SAMPLES "WALL s" "SAMPLES/s" "RSS MiB" "WIRE MiB" BLOCKS "CLIENT SUMMARY (received)"
printf '%s\n' "${rows[@]}"
echo "(RSS MiB: peak resident set of promrecover, from /usr/bin/time; WIRE MiB: response bytes the server"
echo " put on the wire, after gzip; BLOCKS: compared with the source sample by sample)"

check() { # name value target
  if awk -v v="$2" -v t="$3" 'BEGIN { exit !(v <= t) }'; then echo "PASS"; else echo "FAIL"; fi
}
echo
if [[ -n ${rss_of[24h]:-} ]]; then
  r24=$(awk -v k="${rss_of[24h]}" 'BEGIN { printf "%.0f", k / 1024 }')
  verdict=$(check rss "$r24" "$RSS_TARGET_MIB")
  echo "peak RSS 24h: $r24 MiB (target <= $RSS_TARGET_MIB MiB): $verdict"
  [[ $verdict == PASS ]] || status=1
fi
if [[ -n ${rss_of[24h]:-} && -n ${rss_of[72h]:-} ]]; then
  ratio=$(awk -v a="${rss_of[72h]}" -v b="${rss_of[24h]}" 'BEGIN { printf "%.2f", a / b }')
  verdict=$(check ratio "$ratio" "$RATIO_TARGET")
  echo "RSS ratio 72h/24h: $ratio (target <= $RATIO_TARGET): $verdict"
  [[ $verdict == PASS ]] || status=1
fi
exit $status
