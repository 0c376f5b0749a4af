#!/usr/bin/env bash
# Peak RSS of promrecover on a series that repeats its timestamps (issue 12).
#
#   bench/repeats.sh [--points N] [--before COMMIT] [--via ds|proxy]
#
# Builds bench/repeats and promrecover (and, with --before, promrecover as
# of COMMIT, from git archive), serves one 2h window whose answer is one
# series of N points (default 50,000,000) spread over the window's 7,200,001
# milliseconds, so that most repeat a timestamp with another value, and runs
#
#   promrecover recover --from ... --to ... --out DIR
#
# under /usr/bin/time, printing each binary's exit code, peak RSS, wall time
# and the summary's lines about samples. --via proxy asks through the
# datasource proxy, whose answer is Prometheus's matrix.
set -euo pipefail

points=50000000
before=""
via=ds
while [ $# -gt 0 ]; do
	case "$1" in
	--points) points=$2; shift 2 ;;
	--before) before=$2; shift 2 ;;
	--via) via=$2; shift 2 ;;
	-h | --help) sed -n '2,16p' "$0"; exit 0 ;;
	*) echo "unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'kill "${srv:-}" 2>/dev/null || true; rm -rf "$work"' EXIT

(cd "$root" && go build -o "$work/repeats" ./bench/repeats && go build -o "$work/after" ./cmd/promrecover)
bins=(after)
if [ -n "$before" ]; then
	mkdir "$work/src"
	(cd "$root" && git archive "$before") | tar -x -C "$work/src"
	(cd "$work/src" && go build -o "$work/before" ./cmd/promrecover)
	bins=(before after)
fi

"$work/repeats" --points "$points" >"$work/srv.log" 2>&1 &
srv=$!
for _ in $(seq 50); do grep -q listening "$work/srv.log" && break; sleep 0.1; done
url=$(sed -n 's/^listening //p' "$work/srv.log")

for bin in "${bins[@]}"; do
	mkdir -p "$work/out-$bin"
	set +e
	/usr/bin/time -f "%e %M" -o "$work/time-$bin" "$work/$bin" recover --grafana-url "$url" --token glsa_bench \
		--datasource grafanacloud-prom --via "$via" --match up --from 2025-08-03T00:00:00Z --to 2025-08-03T02:00:00Z \
		--out "$work/out-$bin" >"$work/stdout-$bin" 2>"$work/stderr-$bin"
	code=$?
	set -e
	read -r wall rss < <(tail -1 "$work/time-$bin")
	printf '%-6s exit %d  peak RSS %d MiB  wall %s s\n' "$bin" "$code" $((rss / 1024)) "$wall"
	grep -E 'fetched|samples had|NOT RECOVERED' "$work/stdout-$bin" | cut -c1-300 | sed 's/^/       /'
done
