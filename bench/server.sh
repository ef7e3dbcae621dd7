# bench/server.sh: sourced by the benchmark scripts that start servers (submit.sh, io_cost.sh).
# They set `dir` (a scratch folder) and `pids` (an array the cleanup kills) first, and
# START_WAIT, the seconds a server may take to say where it listens (default 20).
port=
pid=
# start name command...: starts a server that prints "listening on http://HOST:PORT"; sets
# port and pid; its output in $dir/name.out and .err. 0, or 1 (what it said printed).
start() {
	local name=$1 tries
	shift
	# emptied before the start: the background shell opens it later, and the loop below would
	# read the previous run's port meanwhile (a run of wrk against nothing, seen once in four)
	: >"$dir/$name.out"
	"$@" >"$dir/$name.out" 2>"$dir/$name.err" &
	pid=$!
	pids+=($pid)
	port=
	tries=$((${START_WAIT:-20} * 20))
	for _ in $(seq 1 "$tries"); do
		port=$(sed -n 's/.*listening on http:\/\/[^:]*:\([0-9]*\).*/\1/p' "$dir/$name.out")
		[ -n "$port" ] && return 0
		kill -0 "$pid" 2>/dev/null || { cat "$dir/$name.err"; return 1; }
		sleep 0.05
	done
	echo "$name did not start" >&2
	return 1
}
# stop: stops the server start started last.
stop() { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; }
