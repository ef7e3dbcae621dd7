#!/usr/bin/env bash
# Reads while submissions are stored (issue 20: "read connections that do not wait behind the
# writer"), at 1,000,000 items, on a copy of the database bench/queue.sh reads (BENCH_QUEUE_DB,
# filled by bench/gen_items if it does not exist; without it a temporary one is filled). The
# copy is made in a scratch folder and removed at the end: the source is never written.
# For each read of bench/queue.sh (the staff queue with a section head's session, the board's
# first page and a search, Open311's list without and with filters), in the same run:
# - the read alone at 16 connections (wrk -t2 -c16, BENCH_DURATION, default 5s);
# - the same read at 16 connections while a second wrk posts submissions to /api/v1/items
#   (bench/wrk/submit_paced.lua) over BENCH_SUBMIT_CONNS connections (default 4), each waiting
#   BENCH_SUBMIT_DELAY_MS milliseconds before each submission (default 10: 225 to 350 a second
#   here, a steady load the same from run to run; 0: as fast as they are answered, which
#   takes what CPU the reads leave, 400 to 3,600 a second here); its rate, p99 and non-2xx
#   answers are printed beside the read's;
# - the largest size of the write-ahead log (the -wal file) seen during that run, sampled every
#   50 ms: the writer checkpoints after each 1,000 frames, and readers that always hold a
#   snapshot must not keep it from starting the log again (the file would grow without bound).
# Then the server's RSS (the largest after a run), and the writer's own account of the run (its
# log line when serve stops: batches, committing, checkpointing).
# Targets (issue 20): p99 < 10 ms for each read at 16 connections while submissions are stored;
# server RSS < 50 MiB; the WAL under 64 MiB: the writer checkpoints after each 1,000 frames (4 MiB)
# and a submission alone writes some 16 (its b-trees), so a log that readers kept from starting
# again would pass 64 MiB within about 4,000 submissions and grow with the run (a run stores
# 6,000 to 25,000 on this machine; the file keeps its largest size). Exit 2 when a target
# fails. BENCH_ONLY (a regular expression over q16 b0 b1 o0 o1 o2) runs only those reads.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${BENCH_BIN:-build/rel/civicdesk} # BENCH_BIN: another build to compare
GEN=build/rel/bench/gen_items
N=${BENCH_ITEMS:-1000000}
DUR=${BENCH_DURATION:-5s}
SCONNS=${BENCH_SUBMIT_CONNS:-4}
SDELAY=${BENCH_SUBMIT_DELAY_MS:-10}
WAL_MAX_KIB=65536
PASSWORD='Bench!Queue2025'
dir=$(mktemp -d)
pid=
cleanup() {
	[ -n "$pid" ] && { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; }
	rm -rf "$dir"
}
trap cleanup EXIT

p99() { # in ms
	awk '$1=="99%" { v=$2; if (v ~ /us$/) { sub(/us$/,"",v); v/=1000 } else if (v ~ /ms$/) { sub(/ms$/,"",v) } else if (v ~ /s$/) { sub(/s$/,"",v); v*=1000 } print v }' "$1"
}
rps() { sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$1"; }
non2xx() {
	local n
	n=$(sed -n 's/^ *Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p' "$1")
	echo "${n:-0}"
}
# seconds of a wrk duration (5s, 2m), for the bound of the WAL's sampling
secs() {
	case $1 in
	*m) echo $((${1%m} * 60)) ;;
	*s) echo "${1%s}" ;;
	*) echo "$1" ;;
	esac
}

load0=$(cut -d' ' -f1-3 /proc/loadavg)
db="$dir/mixed.db"
if [ -n "${BENCH_QUEUE_DB:-}" ]; then
	if [ ! -s "$BENCH_QUEUE_DB" ]; then
		"$GEN" "$BENCH_QUEUE_DB" "$N" || exit 1
	fi
	cp "$BENCH_QUEUE_DB" "$db" || exit 1
	# the source's own WAL, if a server left one, is part of it
	if [ -s "$BENCH_QUEUE_DB-wal" ]; then cp "$BENCH_QUEUE_DB-wal" "$db-wal" || exit 1; fi
	# on the disk before serve starts: else the writer's first checkpoint, whose fdatasync of
	# the database file is the first one, waits for the whole copy (a gigabyte at 1,000,000
	# items: 0.5 s, the first submissions' p99 of 340-540 ms that was taken for start-up work)
	sync "$db" $([ -s "$db-wal" ] && echo "$db-wal") || exit 1
else
	"$GEN" "$db" "$N" || exit 1
fi
N=$(sqlite3 "$db" 'SELECT count(*) FROM items')
if [ "$(sqlite3 "$db" "SELECT count(*) FROM accounts WHERE username = 'benchhead'")" = 0 ]; then
	echo "$PASSWORD" | CIVICDESK_DB="$db" "$BIN" user add benchhead --role section_head \
		--section 法规处 --password-stdin >/dev/null || exit 1
fi

# one address (wrk) reads the public lists and submits far beyond the per-address limits
export CIVICDESK_DB="$db" CIVICDESK_LISTEN=127.0.0.1:0 CIVICDESK_DEMO=0 \
	CIVICDESK_PUBLIC_RATE=0 CIVICDESK_SUBMIT_RATE=0
"$BIN" serve >"$dir/serve.out" 2>"$dir/serve.err" &
pid=$!
for _ in $(seq 1 18000); do # 15 minutes at most (a newer civicdesk's migrations)
	grep -q 'listening on' "$dir/serve.out" 2>/dev/null && break
	kill -0 "$pid" 2>/dev/null || { cat "$dir/serve.err"; exit 1; }
	sleep 0.05
done
port=$(sed -n 's/.*listening on http:\/\/[^:]*:\([0-9]*\).*/\1/p' "$dir/serve.out" | head -1)
[ -n "$port" ] || { echo "mixed bench: the server did not start"; exit 1; }
base="http://127.0.0.1:$port"
cookie=$(curl -s -D - -o /dev/null -H 'Content-Type: application/json' \
	-d "{\"username\":\"benchhead\",\"password\":\"$PASSWORD\"}" "$base/api/v1/login" |
	sed -n 's/^Set-Cookie: \([^;]*\).*/\1/ip' | head -1)
[ -n "$cookie" ] || { echo "mixed bench: login failed"; exit 1; }
# untimed: the writer's, the readers' and the operating system's caches warm, as in the runs
# since 20:17 (2026-11-30) that this bench's figures are compared with
SUBMIT_DELAY_MS=$SDELAY wrk -t1 -c"$SCONNS" -d3s -s bench/wrk/submit_paced.lua "$base" >/dev/null

# wal_kib: the -wal file's size now, KiB
wal_kib() { echo $(($(stat -c %s "$db-wal" 2>/dev/null || echo 0) / 1024)); }

# name url [header...]: the read alone, then the read beside the submissions; prints
# "rows p99-alone reads/s-alone p99 reads/s non2xx submissions/s submission-p99 non2xx wal-KiB"
# and notes the server's RSS after it in $dir/rss
run() {
	local name=$1 url=$2 rows spid rpid wal=0 w
	shift 2
	if ! [[ "$name" =~ ^(${BENCH_ONLY:-.*})$ ]]; then
		echo "-"
		return
	fi
	rows=$(curl -s -m 60 "$@" "$url" | grep -o '"tracking"\|"service_request_id"' | wc -l)
	wrk -t2 -c16 -d"$DUR" --timeout 30s --latency "$@" "$url" >"$dir/$name.alone"
	SUBMIT_DELAY_MS=$SDELAY wrk -t1 -c"$SCONNS" -d"$DUR" --timeout 30s --latency \
		-s bench/wrk/submit_paced.lua "$base" >"$dir/$name.submit" &
	spid=$!
	wrk -t2 -c16 -d"$DUR" --timeout 30s --latency "$@" "$url" >"$dir/$name.mixed" &
	rpid=$!
	for _ in $(seq 1 $(($(secs "$DUR") * 20 + 600))); do # the run and 30 s more at most
		kill -0 "$rpid" 2>/dev/null || break
		w=$(wal_kib)
		[ "$w" -gt "$wal" ] && wal=$w
		sleep 0.05
	done
	wait "$rpid"
	wait "$spid"
	awk '/^VmRSS/ { print $2 }' "/proc/$pid/status" >>"$dir/rss"
	echo "$rows $(p99 "$dir/$name.alone") $(rps "$dir/$name.alone") $(p99 "$dir/$name.mixed")" \
		"$(rps "$dir/$name.mixed") $(($(non2xx "$dir/$name.mixed") + $(non2xx "$dir/$name.alone")))" \
		"$(rps "$dir/$name.submit") $(p99 "$dir/$name.submit") $(non2xx "$dir/$name.submit") $wal"
}
q="$base/api/v1/queue?section=%E6%B3%95%E8%A7%84%E5%A4%84&overdue=1&limit=50"
board="$base/api/v1/public/items"
o311="$base/open311/v2/requests.json"
year_ago=$(date -u -d '-365 days' +%Y-%m-%dT00:00:00Z)
month_after=$(date -u -d '-335 days' +%Y-%m-%dT00:00:00Z)

: >"$dir/results"
: >"$dir/rss"
add() { # label result...
	local label=$1
	shift
	printf '%s\t%s\n' "$label" "$*" >>"$dir/results"
}
items0=$(sqlite3 "$db" 'SELECT max(id) FROM items')
add "queue, 16 connections" "$(run q16 "$q" -H "Cookie: $cookie")"
add "board, first page" "$(run b0 "$board")"
add "board, search 小区 (every text)" "$(run b1 "$board?q=%E5%B0%8F%E5%8C%BA")"
add "Open311 list, no filter" "$(run o0 "$o311")"
add "Open311 list, complaint + closed" "$(run o1 "$o311?service_code=complaint&status=closed")"
add "Open311 list, a month a year back" \
	"$(run o2 "$o311?start_date=$year_ago&end_date=$month_after")"
wal_end=$(wal_kib)
kill "$pid"
wait "$pid" 2>/dev/null
pid=
items1=$(sqlite3 "$db" 'SELECT max(id) FROM items')

rss=$(sort -n "$dir/rss" | tail -1)
echo "reads at 16 connections while submissions are stored, on $N items (wrk -t2 -c16, $DUR per"
echo "run; each read alone, then beside wrk -t1 -c$SCONNS posting submissions, each connection"
echo "waiting ${SDELAY} ms before each; rows = rows of the page)"
echo "load average before: $load0; after: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-36s %5s %9s %10s %9s %12s %11s %9s %8s %8s\n' "read" "rows" "p99 alone" \
	"p99 mixed" "reads/s" "submitted/s" "submit p99" "WAL KiB" "target" "verdict"
fail=0
walmax=0
while IFS=$'\t' read -r label fields; do
	read -r rows pa ra p r bad s sp sbad wal <<<"$fields"
	[ "$rows" = - ] && continue # not in BENCH_ONLY
	verdict=$(awk -v p="$p" -v bad="$bad" -v sbad="$sbad" -v r="$r" -v s="$s" \
		'BEGIN { print (r > 0 && s > 0 && p < 10 && bad == 0 && sbad == 0) ? "PASS" : "FAIL" }')
	[ "$verdict" = PASS ] || fail=1
	[ "$bad" = 0 ] || verdict="$verdict ($bad non-2xx reads)"
	[ "$sbad" = 0 ] || verdict="$verdict ($sbad non-2xx submissions)"
	[ "$wal" -gt "$walmax" ] && walmax=$wal
	printf '%-36s %5s %9s %10s %9s %12s %11s %9s %8s %8s\n' "$label" "$rows" "$pa" "$p" "$r" \
		"$s" "$sp" "$wal" "< 10 ms" "$verdict"
done <"$dir/results"
echo "items stored during the runs: $((${items1:-0} - ${items0:-0}))"
v=PASS
[ "$walmax" -lt "$WAL_MAX_KIB" ] || { v=FAIL; fail=1; }
echo "WAL, the largest size seen: $walmax KiB, at the end $wal_end KiB (target < $WAL_MAX_KIB KiB: $v)"
v=PASS
[ "${rss:-0}" -lt 51200 ] || { v=FAIL; fail=1; }
echo "server RSS, the largest after a run: $((${rss:-0} / 1024)) MiB (target < 50 MiB: $v)"
# the writer's own account of the whole run (logged when serve stops)
sed -n 's/^civicdesk: db: writer: /the writer: /p' "$dir/serve.err"
[ "$fail" = 0 ] || exit 2
exit 0
