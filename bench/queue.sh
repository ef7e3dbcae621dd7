#!/usr/bin/env bash
# Queue query (issue 9): GET /api/v1/queue?section=法规处&overdue=1 (overdue items of one section,
# first page of 50) on a database of 1,000,000 items filled by bench/gen_items, measured with wrk
# over one connection (the latency of one query) and over 16 (throughput), and the server's RSS.
# Target: p99 < 10 ms. BENCH_ITEMS sets the number of items, BENCH_DURATION the run length.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=build/rel/civicdesk
GEN=build/rel/bench/gen_items
N=${BENCH_ITEMS:-1000000}
DUR=${BENCH_DURATION:-10s}
PASSWORD='Bench!Queue2025'
dir=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; }; rm -rf "$dir"; }
trap cleanup EXIT

p99() { # in ms
	awk '$1=="99%" { v=$2; if (v ~ /us$/) { sub(/us$/,"",v); v/=1000 } else if (v ~ /ms$/) { sub(/ms$/,"",v) } else if (v ~ /s$/) { sub(/s$/,"",v); v*=1000 } print v }' "$1"
}
rps() { sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$1"; }
non2xx() { local n; n=$(sed -n 's/^ *Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p' "$1"); echo "${n:-0}"; }

export CIVICDESK_DB="$dir/queue.db" CIVICDESK_LISTEN=127.0.0.1:0 CIVICDESK_DEMO=0
"$GEN" "$CIVICDESK_DB" "$N" || exit 1
echo "$PASSWORD" | "$BIN" user add benchhead --role section_head --section 法规处 \
	--password-stdin >/dev/null || exit 1

"$BIN" serve >"$dir/serve.out" 2>"$dir/serve.err" &
pid=$!
for _ in $(seq 1 400); do
	grep -q 'listening on' "$dir/serve.out" 2>/dev/null && break
	kill -0 "$pid" 2>/dev/null || { cat "$dir/serve.err"; exit 1; }
	sleep 0.05
done
port=$(sed -n 's/.*listening on http:\/\/[^:]*:\([0-9]*\).*/\1/p' "$dir/serve.out" | head -1)
base="http://127.0.0.1:$port"
cookie=$(curl -s -D - -o /dev/null -H 'Content-Type: application/json' \
	-d "{\"username\":\"benchhead\",\"password\":\"$PASSWORD\"}" "$base/api/v1/login" |
	sed -n 's/^Set-Cookie: \([^;]*\).*/\1/ip' | head -1)
[ -n "$cookie" ] || { echo "queue bench: login failed"; exit 1; }
url="$base/api/v1/queue?section=%E6%B3%95%E8%A7%84%E5%A4%84&overdue=1&limit=50"
shown=$(curl -s -H "Cookie: $cookie" "$url" | grep -o '"tracking"' | wc -l)

wrk -t1 -c1 -d"$DUR" --latency -H "Cookie: $cookie" "$url" >"$dir/one.txt"
wrk -t2 -c16 -d"$DUR" --latency -H "Cookie: $cookie" "$url" >"$dir/sixteen.txt"
rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status")
cat "$dir/one.txt" "$dir/sixteen.txt"

one_p99=$(p99 "$dir/one.txt"); one_rps=$(rps "$dir/one.txt")
c16_p99=$(p99 "$dir/sixteen.txt"); c16_rps=$(rps "$dir/sixteen.txt")
bad=$(( $(non2xx "$dir/one.txt") + $(non2xx "$dir/sixteen.txt") ))
echo
echo "queue, $N items, overdue items of 法规处, first page ($shown rows):"
echo "  1 connection:   p99 ${one_p99} ms, ${one_rps} queries/s"
echo "  16 connections: p99 ${c16_p99} ms, ${c16_rps} queries/s"
echo "  server RSS after the runs: $((rss / 1024)) MiB; non-2xx answers: $bad"
awk -v p="$one_p99" -v bad="$bad" -v shown="$shown" 'BEGIN {
	printf "target p99 < 10 ms (one connection): %s; all answered 200: %s\n",
		p < 10 ? "PASS" : "FAIL", bad == 0 ? "PASS" : "FAIL"
	exit (p < 10 && bad == 0 && shown > 0) ? 0 : 1
}'
