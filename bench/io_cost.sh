#!/usr/bin/env bash
# The I/O threads' cost of a JSON submission (issue 20), in instructions and system calls, the
# figures that survive a shared machine whose CPU speed swings (bench/RESULTS.md, io2's section),
# each beside the same figure of bench/ceiling (libmicrohttpd set up as serve sets it up,
# answering a constant 201):
# - instructions: callgrind on the I/O thread (--separate-threads=yes) over IO_N (300)
#   submissions of bench/wrk/submit.lua's body one after the other on one keep-alive connection
#   (curl), after 120 on six connections at once to warm both I/O threads up; the same for
#   the ceiling. The 201's kept tail (h_items.c created_text) is rebuilt once a second, and a
#   run under callgrind lasts seconds: its rebuilds are counted apart (the cost lines of
#   members_text..tail_text), and so is an I/O thread's read connection opened in the window
#   (db_reader_new, once a thread: when the warm-up missed the thread).
# - system calls: perf stat over 16 keep-alive connections posting 600 submissions each
#   (bench/io_client.py), per submission, on the I/O threads (libmicrohttpd's "MHD-*" threads).
# No targets: each figure is printed beside the ceiling's and d6741c5's of 2026-12-01
# (bench/RESULTS.md, tenth session).
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${BENCH_BIN:-build/rel/civicdesk}
CEIL=build/rel/bench/ceiling
N=${IO_N:-300}
dir=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$dir"; }
trap cleanup EXIT
for tool in valgrind callgrind_annotate curl python3; do
	command -v "$tool" >/dev/null || { echo "io_cost: $tool is missing (tools/deps bench)"; exit 1; }
done
printf '%s' '{"kind":"letter","subject":"关于小区道路维修的建议","body":"我们小区门口的道路已经破损多时，雨天积水严重，老人和孩子出行很不方便，希望有关部门尽快安排维修。","name":"张三","phone":"13800138000","email":"zhangsan@example.cn","publish":true}' >"$dir/body.json"

START_WAIT=60 # valgrind starts slowly
. bench/server.sh # start, stop
posts() { # n: n submissions one after the other on one connection (its own list: a caller
	# may run several at once)
	local i cfg="$dir/curl.$BASHPID.cfg"
	for i in $(seq 1 "$1"); do
		echo "url = \"http://127.0.0.1:$port/api/v1/items\""
		echo "output = /dev/null"
	done >"$cfg"
	curl -s -H 'Content-Type: application/json' --data-binary @"$dir/body.json" -K "$cfg"
}
# serve's set-up (the ceiling takes none of it)
export CIVICDESK_DB="$dir/io.db" CIVICDESK_LISTEN=127.0.0.1:0 CIVICDESK_SUBMIT_RATE=0 \
	CIVICDESK_DEMO=0

# callgrind name command...: the busiest thread's instructions per submission, printed
callgrind() {
	local name=$1 f; shift
	start "$name" valgrind --tool=callgrind --separate-threads=yes \
		--callgrind-out-file="$dir/$name.cg" "$@" || return 1
	# six connections at once, so that each I/O thread likely serves one
	local warm=()
	for _ in 1 2 3 4 5 6; do
		posts 20 &
		warm+=($!)
	done
	wait "${warm[@]}" # not the server
	callgrind_control -z "$pid" >/dev/null 2>&1
	posts "$N"
	callgrind_control -d "$pid" >/dev/null 2>&1
	stop
	# the I/O thread that served the connection: of the threads that ran the access handler
	# (on_request), the one with the most instructions
	best=
	for f in "$dir/$name.cg".[0-9]*-[0-9]*; do
		grep -q ') on_request$' "$f" || continue
		ir=$(sed -n 's/^summary: *//p' "$f")
		[ -z "$best" ] || [ "$ir" -gt "$(sed -n 's/^summary: *//p' "$best")" ] && best=$f
	done
	echo "$best"
}

load0=$(cut -d' ' -f1-3 /proc/loadavg)
cfile=$(callgrind ceiling "$CEIL" 0) || exit 1
sfile=$(callgrind civicdesk "$BIN" serve) || exit 1
python3 - "$sfile" "$cfile" "$N" service/api/h_items.c <<'EOF'
import re, subprocess, sys
path, cpath, n, src = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
lines = open(src).read().split('\n')
a = next(i for i, l in enumerate(lines) if l.startswith('members_text(')) + 1
b = next(i for i, l in enumerate(lines) if l.startswith('tail_text(')) + 1
b = next(i for i in range(b, len(lines)) if lines[i] == '}') + 1

def summary(p):
    for l in open(p):
        if l.startswith('summary:'):
            return int(l.split()[1])
    return 0

files, fns = {}, {}
cur_file = cur_fi = cur_fn = None
line = excl = 0
def name(tok, tab):
    m = re.match(r'\((\d+)\)(?: (.*))?', tok)
    if not m:
        return tok
    if m.group(2):
        tab[m.group(1)] = m.group(2)
    return tab.get(m.group(1), m.group(1))
for l in open(path):
    if l.startswith('fl='):
        cur_file = cur_fi = name(l[3:].strip(), files)
    elif l.startswith(('fi=', 'fe=')):
        cur_fi = name(l[3:].strip(), files)
    elif l.startswith('fn='):
        cur_fn = name(l[3:].strip(), fns)
        cur_fi = cur_file
    elif l.startswith(('cfi=', 'cfl=')):
        name(l[4:].strip(), files)
    elif l.startswith('cfn='):
        name(l[4:].strip(), fns)
    else:
        m = re.match(r'^([+-]?\d+|\*)\s+(\d+)', l)
        if m:
            t = m.group(1)
            if t[0] in '+-':
                line += int(t)
            elif t != '*':
                line = int(t)
            if (cur_fn and 'created_text' in cur_fn and cur_fi and cur_fi.endswith('h_items.c')
                    and a <= line <= b):
                excl += int(m.group(2))
out = subprocess.run(['callgrind_annotate', '--inclusive=yes', '--threshold=100', path],
                     capture_output=True, text=True).stdout
def incl(fn):
    for l in out.split('\n'):
        if re.search(r':%s \[' % fn, l):
            return int(l.split()[0].replace(',', ''))
    return 0
tree = subprocess.run(['callgrind_annotate', '--tree=calling', '--inclusive=yes',
                       '--threshold=100', path], capture_output=True, text=True).stdout
m = re.search(r'views\.c:clocks_json \((\d[\d,]*)x\)', tree)
rebuilds = int(m.group(1).replace(',', '')) if m else 0
# libc's memset, whatever its variant: libmicrohttpd clears a connection's whole pool (32 KiB)
# and a 16 KiB part of it after each request with `rep stosb`, which callgrind counts as one
# instruction a byte (a third of the submission's count, the same in the ceiling's; 0.19 µs of
# CPU natively: bench/RESULTS.md, tenth session)
def memset(text):
    return sum(int(l.split()[0].replace(',', '')) for l in text.split('\n')
               if re.search(r':__memset_\w+ \[', l))
cout = subprocess.run(['callgrind_annotate', '--inclusive=yes', '--threshold=100', cpath],
                      capture_output=True, text=True).stdout
total, ceiling = summary(path), summary(cpath)
cb = incl('on_request') + incl('on_completed')
# an I/O thread opens its read connection on its first request (http.c reader_of_thread): in
# the window when the warm-up's connections all went to the other thread (the ninth session's
# 163,098: 3.66 million instructions once, 12,200 a submission of 300); left out as the tail's
opened = incl('db_reader_new')
excl += opened
print("I/O thread instructions per submission (%d one after the other): %s; without the 201's"
      " tail, rebuilt %d times: %s (d6741c5 on 2026-12-01: 150,960; fc001c7: 147,732)"
      % (n, format(total // n, ','), rebuilds, format((total - excl) // n, ',')))
if opened:
    print("  left out too: the thread's read connection, opened in the window: %s instructions"
          % format(opened, ','))
print("  civicdesk's callbacks (on_request, on_completed): %s (d6741c5: 89,177), of it jansson's"
      " parse %s (53,778), the language's guess %s (2,904)"
      % (format((cb - excl) // n, ','), format(incl('json_loadb') // n, ','),
         format(incl('lang_guess') // n, ',')))
print("  memset, a byte an instruction (libmicrohttpd's pool): %s (d6741c5: 49,262); the ceiling's"
      " %s" % (format(memset(out) // n, ','), format(memset(cout) // n, ',')))
if rebuilds:
    print("  the tail's rebuild (once a second and kind): %s instructions (d6741c5: 75,064)"
          % format((excl - opened) // rebuilds, ','))
print("the ceiling's I/O thread per request: %s (2026-12-01: 65,020); the submission's beyond"
      " it: %s (d6741c5: 85,939)" % (format(ceiling // n, ','),
                                     format((total - excl - ceiling) // n, ',')))
EOF

# system calls per submission on the I/O threads
if ! command -v perf >/dev/null || ! perf stat -e 'syscalls:sys_enter_read' true >/dev/null 2>&1; then
	echo "io_cost: perf cannot count system calls here (linux-perf, root): skipped"
	exit 0
fi
syscalls() { # name: runs the client against $port, prints the I/O threads' calls per request
	python3 bench/io_client.py "$port" 16 20 >/dev/null
	perf stat -e 'syscalls:sys_enter_*' --per-thread -p "$pid" -x, -o "$dir/$1.perf" &
	local pp=$!
	sleep 0.5
	python3 bench/io_client.py "$port" 16 600 >"$dir/$1.client"
	kill -INT "$pp"
	wait "$pp" 2>/dev/null
	awk -F, -v n=9600 -v who="$1" '$1 ~ /^MHD/ && $2+0 > 0 {
		ev = $4; sub("syscalls:sys_enter_", "", ev); c[ev] += $2; t += $2 }
		END { printf "%s: %.2f system calls per request on the I/O threads (", who, t / n
		      s = ""; for (e in c) if (c[e] / n >= 0.01) { printf "%s%s %.2f", s, e, c[e] / n; s = ", " }
		      printf ")\n" }' "$dir/$1.perf"
}
rm -f "$dir"/io.db*
start civicdesk "$BIN" serve || exit 1
syscalls "submissions (main 036a47e: 8.30 with this client, 7.26 under wrk -c16)"
stop
start ceiling "$CEIL" 0 || exit 1
syscalls "the ceiling (main's day: 2.95 with this client, 2.20 under wrk)"
stop
echo "load average before: $load0; after: $(cut -d' ' -f1-3 /proc/loadavg)"
