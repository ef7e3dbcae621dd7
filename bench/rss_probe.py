#!/usr/bin/env python3
"""What makes the server's RSS step (bench/RESULTS.md, "the soak's RSS step"): the soak's mix at
its steady pace, then bursts of many requests at once (what a stall of the machine makes of a
steady pace: the requests that waited all arrive together), then the steady pace again. After
each phase it prints the server's RSS, its open database connections (descriptors of the
database file), its threads and glibc's malloc arenas (soak.server_state), so that a step can be
put down to what grew with it.

Before the bursts, stalls: the server stopped (SIGSTOP) for a moment under the soak's pace, as
a busy machine stops it, after which the requests that waited are answered at once; then the
database's write lock held by another process for a moment, as a slow commit holds it.

Environment: BENCH_BIN (default build/rel/civicdesk), PROBE_STEADY (seconds of each steady
phase, default 30), PROBE_STALLS (milliseconds, default "100,100,1000"), PROBE_LOCKS
(milliseconds, default "100,300,300,1000"), PROBE_BURSTS (the bursts' sizes, default
"8,32,32,64"), each empty for none, and anything the server reads (MALLOC_ARENA_MAX,
CIVICDESK_DB_CONNECTIONS) to compare."""
import os
import signal
import sqlite3
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
os.environ.setdefault("CIVICDESK_BIN", os.environ.get("BENCH_BIN", "build/rel/civicdesk"))
import harness  # noqa: E402
import soak  # noqa: E402

STEADY = float(os.environ.get("PROBE_STEADY", "30"))
BURSTS = [int(x) for x in os.environ.get("PROBE_BURSTS", "8,32,32,64").split(",") if x]
STALLS = [int(x) for x in os.environ.get("PROBE_STALLS", "100,100,1000").split(",") if x]
LOCKS = [int(x) for x in os.environ.get("PROBE_LOCKS", "100,300,300,1000").split(",") if x]
MIX = ["submit"] * 40 + ["track"] * 25 + ["queue"] * 20 + ["assign"] * 15


def steady(s, seconds):
    """The soak's mix at 20 requests a second from 8 workers (as bench/soak.py)."""
    threads = [threading.Thread(target=s.worker) for _ in range(8)]
    for t in threads:
        t.start()
    start, n = time.monotonic(), 0
    while time.monotonic() - start < seconds:
        s.jobs.put(MIX[n * 37 % len(MIX)])
        n += 1
        time.sleep(max(0.0, start + n / 20.0 - time.monotonic()))
    for _ in threads:
        s.jobs.put(None)
    for t in threads:
        t.join()


def stalled(s, pid, seconds, stall_ms):
    """The steady pace for seconds with the server stopped (SIGSTOP) for stall_ms in the
    middle, as a stalled machine stops it: the soak's 8 client threads each wait on a request
    meanwhile, and all of them are answered at once when it goes on."""
    t = threading.Thread(target=steady, args=(s, seconds))
    t.start()
    time.sleep(seconds / 2)
    os.kill(pid, signal.SIGSTOP)
    time.sleep(stall_ms / 1000.0)
    os.kill(pid, signal.SIGCONT)
    t.join()


def locked(s, db, seconds, lock_ms):
    """The steady pace for seconds with the database's write lock held by another process for
    lock_ms in the middle, as a slow commit or checkpoint on a busy disk holds it: the staff
    actions that write wait on it, each on a worker thread with its own database connection,
    and the ones that come meanwhile need more of both."""
    t = threading.Thread(target=steady, args=(s, seconds))
    t.start()
    time.sleep(seconds / 2)
    other = sqlite3.connect(db, timeout=30, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    time.sleep(lock_ms / 1000.0)
    other.execute("ROLLBACK")
    other.close()
    t.join()


def burst(s, width, seconds=3.0):
    """width threads sending the mix back to back for seconds: width requests at once."""
    stop = time.monotonic() + seconds

    def run(k):
        i = k
        while time.monotonic() < stop:
            try:
                s.op(MIX[i * 37 % len(MIX)])
            except Exception as e:  # noqa: BLE001 (counted as an error by the soak too)
                print("# %r" % e)
            i += width
    threads = [threading.Thread(target=run, args=(k,)) for k in range(width)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def main():
    srv = harness.Server(env={"CIVICDESK_SUBMIT_RATE": "0", "CIVICDESK_PUBLIC_RATE": "0",
                              "CIVICDESK_MAX_CONNECTIONS_PER_IP": "512"}).start().drain()
    pid, db = srv.proc.pid, os.path.realpath(srv.db)
    try:
        s = soak.Soak(srv)
        print("probe: MALLOC_ARENA_MAX=%s CIVICDESK_DB_CONNECTIONS=%s, %d CPUs" % (
            os.environ.get("MALLOC_ARENA_MAX", "-"), os.environ.get("CIVICDESK_DB_CONNECTIONS",
                                                                      "-"), os.cpu_count()))
        print("probe: %-28s %9s %8s %8s %7s %9s" % ("phase", "RSS KiB", "step", "db conns",
                                                  "threads", "arenas"))
        last = None

        def show(name):
            nonlocal last
            st = soak.server_state(pid, db)
            step = "" if last is None else "%+d" % (st[0] - last)
            print("probe: %-28s %9d %8s %8d %7d %9d" % ((name, st[0], step) + st[1:]),
                  flush=True)
            last = st[0]
        show("started")
        steady(s, STEADY)
        show("steady %.0f s" % STEADY)
        steady(s, STEADY)
        show("steady %.0f s again" % STEADY)
        for ms in STALLS:
            stalled(s, pid, STEADY, ms)
            show("a stall of %d ms" % ms)
            steady(s, STEADY)
            show("steady %.0f s after it" % STEADY)
        for ms in LOCKS:
            locked(s, db, STEADY, ms)
            show("write lock held %d ms" % ms)
            steady(s, STEADY)
            show("steady %.0f s after it" % STEADY)
        for width in BURSTS:
            burst(s, width)
            show("burst of %d at once" % width)
            steady(s, STEADY)
            show("steady %.0f s after it" % STEADY)
        errors = [x for x in s.samples if x[2] >= 400]
        print("probe: %d requests, %d errors" % (len(s.samples), len(errors)))
    finally:
        srv.cleanup()


if __name__ == "__main__":
    main()
