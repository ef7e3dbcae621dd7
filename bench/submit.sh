#!/usr/bin/env bash
# Submission throughput (issue 9): wrk at concurrency 16 posting JSON submissions to a fresh
# civicdesk (SQLite WAL, synchronous=FULL, group commit; CIVICDESK_SUBMIT_RATE=0), compared with
# the ceiling: a minimal libmicrohttpd handler answering a constant (bench/ceiling.c).
# Targets: >= 5000 submissions/s (floor 3000), p99 < 20 ms.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=build/rel/civicdesk
DUR=${BENCH_DURATION:-10s}
dir=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$dir"; }
trap cleanup EXIT

start() { # name command... : starts a server printing "listening on http://HOST:PORT"
	local name=$1; shift
	"$@" >"$dir/$name.out" 2>"$dir/$name.err" &
	pids+=($!)
	for _ in $(seq 1 200); do
		grep -q 'listening on' "$dir/$name.out" 2>/dev/null && break
		kill -0 "${pids[-1]}" 2>/dev/null || { cat "$dir/$name.err"; return 1; }
		sleep 0.05
	done
	sed -n 's/.*listening on http:\/\/[^:]*:\([0-9]*\).*/\1/p' "$dir/$name.out" | head -1
}

rps() { sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$1"; }
p99() { # in ms
	awk '$1=="99%" { v=$2; if (v ~ /us$/) { sub(/us$/,"",v); v/=1000 } else if (v ~ /ms$/) { sub(/ms$/,"",v) } else if (v ~ /s$/) { sub(/s$/,"",v); v*=1000 } print v }' "$1"
}
non2xx() { sed -n 's/^ *Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p' "$1"; }

port=$(CIVICDESK_DB="$dir/bench.db" CIVICDESK_LISTEN=127.0.0.1:0 CIVICDESK_SUBMIT_RATE=0 \
	CIVICDESK_DEMO=0 start civicdesk "$BIN" serve) || exit 1
wrk -t2 -c16 -d"$DUR" --latency -s bench/wrk/submit.lua "http://127.0.0.1:$port" >"$dir/submit.txt"
cat "$dir/submit.txt"
stored=$(sqlite3 "$dir/bench.db" 'SELECT count(*) FROM items' 2>/dev/null || echo "?")

cport=$(start ceiling build/rel/bench/ceiling 0) || exit 1
wrk -t2 -c16 -d"$DUR" --latency -s bench/wrk/submit.lua "http://127.0.0.1:$cport" >"$dir/ceiling.txt"

s_rps=$(rps "$dir/submit.txt"); s_p99=$(p99 "$dir/submit.txt"); bad=$(non2xx "$dir/submit.txt")
c_rps=$(rps "$dir/ceiling.txt"); c_p99=$(p99 "$dir/ceiling.txt")
echo
echo "submissions: ${s_rps} /s, p99 ${s_p99} ms, non-2xx ${bad:-0}, items stored ${stored}"
echo "ceiling (constant handler): ${c_rps} /s, p99 ${c_p99} ms"
awk -v s="$s_rps" -v c="$c_rps" -v p="$s_p99" -v bad="${bad:-0}" 'BEGIN {
	printf "ratio submissions/ceiling: %.2f\n", s / c
	printf "target >= 5000/s: %s (floor 3000: %s); p99 < 20 ms: %s; all answered 201: %s\n",
		s >= 5000 ? "PASS" : "FAIL", s >= 3000 ? "PASS" : "FAIL", p < 20 ? "PASS" : "FAIL",
		bad == 0 ? "PASS" : "FAIL"
	exit (s >= 3000 && p < 20 && bad == 0) ? 0 : 1
}'
