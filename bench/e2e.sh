#!/usr/bin/env bash
# End-to-end benchmark: promrecover recovers 24h and then 72h of 10,000 series
# scraped every 15s (57.6M and 172.8M samples) from the Grafana simulator on
# 127.0.0.1 (bench/simserver, a synthetic data set computed as it is asked
# for), at --concurrency 4, under /usr/bin/time. Every run's blocks are then
# compared with the source window by window, values bit for bit
# (bench/synthverify). It prints one row a range and transport (samples,
# wall time, samples/s, CPU time, peak RSS, bytes on the wire) and the targets, for
# each transport: peak RSS at most 512 MiB for 24h, and the 72h peak at most
# 1.2x the 24h one.
#
#   bench/e2e.sh                     # both ranges, over /api/ds/query
#   RANGES=24h bench/e2e.sh          # one range; also SERIES, CONCURRENCY
#   VIA="ds proxy" bench/e2e.sh      # each range through both transports
#                                    # (--via), one after the other
#   KEEP=1 bench/e2e.sh              # keep the work dir (blocks, logs)
#
# The simulator builds each datasource proxy answer whole in memory before
# encoding it (internal/sim), as Prometheus does; that is the server's cost,
# shown apart (SIM CPU and SIM MiB, the CPU time and peak resident set of
# the simulator started for that run), not promrecover's.
#
# Exit status: 0 when every run was recovered, verified exact and met the
# targets; 1 otherwise (the table is printed either way).
set -euo pipefail
cd "$(dirname "$0")/.."

SERIES=${SERIES:-10000}
CONCURRENCY=${CONCURRENCY:-4}
RANGES=${RANGES:-"24h 72h"}
VIA=${VIA:-ds}
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

for v in $VIA; do
  case $v in
  ds | proxy) ;;
  *) echo "VIA: $v is not a transport (ds or proxy)"; exit 2 ;;
  esac
done

work=$(mktemp -d "${TMPDIR:-/tmp}/promrecover-e2e.XXXXXX")
sim_pid=""
stop_sim() {
  if [[ -n $sim_pid ]] && kill -0 "$sim_pid" 2>/dev/null; then
    kill "$sim_pid" 2>/dev/null || true
    wait "$sim_pid" 2>/dev/null || true
  fi
  sim_pid=""
}
cleanup() {
  stop_sim
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
# start_sim starts a simulator of its own for each run, so that one run's
# memory (the proxy's whole answers) does not count in the next one's.
start_sim() { # run
  rm -f "$work/url"
  "$work/simserver" --addr 127.0.0.1:0 --token "$token" --url-file "$work/url" "${data_flags[@]}" >"$work/simserver-$1.log" 2>&1 &
  sim_pid=$!
  for _ in $(seq 100); do
    [[ -s $work/url ]] && break
    kill -0 "$sim_pid" 2>/dev/null || { cat "$work/simserver-$1.log"; exit 1; }
    sleep 0.1
  done
  [[ -s $work/url ]] || { echo "simserver did not start"; cat "$work/simserver-$1.log"; exit 1; }
  url=$(cat "$work/url")
}
echo "simulator: $SERIES series every $INTERVAL over [$DATA_START, $DATA_END), a new one for each run"

wire_bytes() { curl -fsS "$url/sim/counters" | sed -n 's/.*"BodyBytes":\([0-9]*\).*/\1/p'; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
# The simulator's peak resident set (VmHWM), in MiB; "?" where unreadable.
sim_peak_mib() { awk '/^VmHWM:/ { printf "%.0f", $2 / 1024; found = 1 } END { if (!found) print "?" }' "/proc/$sim_pid/status" 2>/dev/null || echo "?"; }
# The simulator's CPU time so far (user + system), in clock ticks.
sim_ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$sim_pid/stat" 2>/dev/null || echo 0; }
hz=$(getconf CLK_TCK)

from_s=$(date -u -d "$FROM" +%s)
rows=()
declare -A rss_of
status=0
for r in $RANGES; do
  hours=${r%h}
  to=$(date -u -d "@$((from_s + hours * 3600))" +%Y-%m-%dT%H:%M:%SZ)
  for v in $VIA; do
    run="$r-$v"
    out="$work/out-$run"
    mkdir "$out"
    echo
    echo "== $r via $v: recover [$FROM, $to) into $out"
    start_sim "$run"
    echo "simulator at $url (pid $sim_pid)"
    before=$(wire_bytes)
    sim_before=$(sim_ticks)
    set +e
    /usr/bin/time -f '%e %M %U %S' -o "$work/time-$run" \
      "$work/promrecover" recover --grafana-url "$url" --token "$token" --datasource grafanacloud-prom \
      --from "$FROM" --to "$to" --out "$out" --concurrency "$CONCURRENCY" --via "$v" >"$work/recover-$run.log" 2>&1
    rc=$?
    set -e
    after=$(wire_bytes)
    sim_rss=$(sim_peak_mib)
    sim_cpu=$(awk -v a="$sim_before" -v b="$(sim_ticks)" -v hz="$hz" 'BEGIN { printf "%.1f", (b - a) / hz }')
    stop_sim
    read -r wall rss_kb user_s sys_s < <(tail -n 1 "$work/time-$run")
    cpu=$(awk -v u="$user_s" -v s="$sys_s" 'BEGIN { printf "%.1f", u + s }')
    sed -n '/^recovered /,/^fetched /p' "$work/recover-$run.log"
    if [[ $rc != 0 ]]; then
      echo "promrecover exited $rc; the end of its log:"
      tail -n 30 "$work/recover-$run.log"
      status=1
      verified="NO (exit $rc)"
    elif "$work/synthverify" --dir "$out" "${data_flags[@]}" --from "$FROM" --to "$to" | tee "$work/verify-$run.log"; then
      verified=exact
    else
      verified=NO
      status=1
    fi
    samples=$(sed -n 's/^fetched \([0-9]*\) samples.*/\1/p' "$work/recover-$run.log")
    samples=${samples:-0}
    client_wire=$(sed -n 's/^requests .*session rotations [0-9]*, //p' "$work/recover-$run.log")
    rss_mib=$(awk -v k="$rss_kb" 'BEGIN { printf "%.0f", k / 1024 }')
    rss_of[$run]=$rss_kb
    rate=$(awk -v n="$samples" -v s="$wall" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }')
    rows+=("$(printf '%-5s  %-5s  %11s  %7s  %10s  %6s  %7s  %8s  %8s  %8s  %-8s  %s' \
      "$r" "$v" "$samples" "$wall" "$rate" "$cpu" "$rss_mib" "$sim_cpu" "$sim_rss" "$(mib $((after - before)))" "$verified" "${client_wire:-?}")")
    [[ $KEEP == 1 ]] || rm -rf "$out"
  done
done

echo
echo "promrecover recover, $SERIES series every $INTERVAL, --concurrency $CONCURRENCY, from the simulator on 127.0.0.1 ($(nproc) CPUs)"
printf '%-5s  %-5s  %11s  %7s  %10s  %6s  %7s  %8s  %8s  %8s  %-8s  %s\n' \
  RANGE VIA SAMPLES "WALL s" "SAMPLES/s" "CPU s" "RSS MiB" "SIM CPU" "SIM MiB" "WIRE MiB" BLOCKS "CLIENT SUMMARY (received)"
printf '%s\n' "${rows[@]}"
echo "(CPU s, RSS MiB: promrecover's CPU time (user + system) and peak resident set, from /usr/bin/time;"
echo " SIM CPU, SIM MiB: the simulator's CPU seconds and peak resident set during the run, from /proc;"
echo " WIRE MiB: response bytes the server put on the wire, after gzip; BLOCKS: compared with the"
echo " source sample by sample)"

check() { # name value target
  if awk -v v="$2" -v t="$3" 'BEGIN { exit !(v <= t) }'; then echo "PASS"; else echo "FAIL"; fi
}
echo
for v in $VIA; do
  if [[ -n ${rss_of[24h-$v]:-} ]]; then
    r24=$(awk -v k="${rss_of[24h-$v]}" 'BEGIN { printf "%.0f", k / 1024 }')
    verdict=$(check rss "$r24" "$RSS_TARGET_MIB")
    echo "peak RSS 24h via $v: $r24 MiB (target <= $RSS_TARGET_MIB MiB): $verdict"
    [[ $verdict == PASS ]] || status=1
  fi
  if [[ -n ${rss_of[24h-$v]:-} && -n ${rss_of[72h-$v]:-} ]]; then
    ratio=$(awk -v a="${rss_of[72h-$v]}" -v b="${rss_of[24h-$v]}" 'BEGIN { printf "%.2f", a / b }')
    verdict=$(check ratio "$ratio" "$RATIO_TARGET")
    echo "RSS ratio 72h/24h via $v: $ratio (target <= $RATIO_TARGET): $verdict"
    [[ $verdict == PASS ]] || status=1
  fi
done
exit $status
