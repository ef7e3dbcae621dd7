#!/usr/bin/env python3
"""Whether a request of the soak's mix costs more as the database grows (issue 20, the soak's
CPU per request; not part of make bench). Two databases are filled by the soak's own requests
(bench/soak.py: submit, track, queue, assign, in its proportions, as fast as answered): one by
SOAKG_N requests (default 18,000, what the 15-minute soak sends) and one by SOAKG_FACTOR (10)
times as many. Then a server runs on a copy of each, and each kind of request is measured on
the two in turn, one after the other on one connection at a time, SOAKG_K (100) of a kind per
turn, SOAKG_ROUNDS (7) turns each: the server's CPU for them (the sum of its threads' time on
a CPU, /proc/PID/task/*/schedstat, in nanoseconds), per request; and the server's CPU per second
while no request comes (its notifier and clock scan), SOAKG_IDLE (5) seconds a turn. Printed:
the median of the turns for each kind and database, and their ratio (1.0: no growth).

With callgrind (`callgrind`): a server under valgrind --tool=callgrind on a copy of each
database counts each kind of request in instructions (every thread's, SOAKG_K of a kind after
SOAKG_WARM (64) of each, so that every pooled connection has prepared its statements), and a
second of no request (SOAKG_IDLE seconds), figures that do not swing with the VM's speed.

`age` tells the process from the database: a server on a copy of the smaller database answers
(SOAKG_FACTOR - 1) times SOAKG_N more requests of the mix, then is measured in turns, as above,
against a fresh server on a copy of its database (civicdesk backup), the two assigning the same
items. `cg-age`, the same in instructions: one server under callgrind counted, aged by
SOAKG_AGE (20,000) requests of the mix, then counted again.

usage: bench/soak_growth.py [fill|measure|callgrind|age|cg-age|all] (default all: fill and
measure). The filled databases are kept in SOAKG_DIR (default /tmp/soak-growth) and copied for
each measurement, so that builds can be compared on the same rows; BENCH_BIN names the binary
(default build/rel/civicdesk)."""
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
os.environ.setdefault("CIVICDESK_BIN", os.environ.get("BENCH_BIN", "build/rel/civicdesk"))
import harness  # noqa: E402
import soak  # noqa: E402

N = int(os.environ.get("SOAKG_N", "18000"))
FACTOR = int(os.environ.get("SOAKG_FACTOR", "10"))
DIR = os.environ.get("SOAKG_DIR", "/tmp/soak-growth")
K = int(os.environ.get("SOAKG_K", "100"))
ROUNDS = int(os.environ.get("SOAKG_ROUNDS", "7"))
WARM = int(os.environ.get("SOAKG_WARM", "64"))
IDLE = float(os.environ.get("SOAKG_IDLE", "5"))
ENV = {"CIVICDESK_SUBMIT_RATE": "0", "CIVICDESK_PUBLIC_RATE": "0",
       "CIVICDESK_DB_CONNECTIONS": "32"}  # the soak's
PASSWORD = "Test-Passw0rd"  # harness.add_user's
OPS = ("submit", "track", "queue", "assign")


def cpu_ns(pid):
    """The time the process's threads have spent on a CPU, in nanoseconds."""
    total = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                total += int(f.read().split()[0])
        except OSError:
            pass  # the thread ended meanwhile
    return total


def session(srv):
    """A bench/soak.py Soak on srv whose dispatcher logs in (created at fill time)."""
    s = soak.Soak.__new__(soak.Soak)
    s.srv = srv
    s.lock = threading.Lock()
    s.items, s.received, s.samples = [], [], []
    s.disp = srv.login("soakdisp", PASSWORD)
    return s


def run_mix(s, requests):
    """requests of the soak's mix on s, by soak.WORKERS threads, each sent once answered."""
    mix = ["submit"] * 40 + ["track"] * 25 + ["queue"] * 20 + ["assign"] * 15
    left = [requests]
    t0 = time.monotonic()

    def worker():
        while True:
            with s.lock:
                if left[0] == 0:
                    return
                left[0] -= 1
            s.op(random.choice(mix))
    threads = [threading.Thread(target=worker) for _ in range(soak.WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("%d requests of the mix in %.0f s" % (requests, time.monotonic() - t0), flush=True)


def fill(name, requests):
    path = os.path.join(DIR, name)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    srv = harness.Server(env=ENV, dbdir=path).start().drain()
    try:
        s = soak.Soak(srv)
        t0 = time.monotonic()
        run_mix(s, requests)
        errors = sum(1 for x in s.samples if x[2] >= 400)
        with open(os.path.join(path, "items.json"), "w") as f:
            json.dump({"items": s.items, "received": s.received}, f)
        print("fill %s: %d requests in %.0f s, %d errors, %d items (%d not assigned)" % (
            name, requests, time.monotonic() - t0, errors, len(s.items), len(s.received)),
            flush=True)
    finally:
        srv.stop()
        for f in os.listdir(path):  # the daemon's scratch files, not the database
            if f.endswith((".log", ".out")):
                os.remove(os.path.join(path, f))


def start(name, tmp, wrap=()):
    path = os.path.join(tmp, name)
    shutil.copytree(os.path.join(DIR, name), path)
    srv = harness.Server(env=ENV, dbdir=path, wrap=wrap).start().drain()
    s = session(srv)
    with open(os.path.join(path, "items.json")) as f:
        j = json.load(f)
    s.items = [tuple(x) for x in j["items"]]
    s.received = list(j["received"])
    random.shuffle(s.received)  # assign takes any waiting item, not the newest
    return s


def user_sys(pid):
    """The process's threads' user and system time, in clock ticks (coarse: summed over turns)."""
    u = k = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                rest = f.read().rsplit(")", 1)[1].split()
            u += int(rest[11])
            k += int(rest[12])
        except OSError:
            pass  # the thread ended meanwhile
    return u, k


def turn(s, op, ticks=None):
    """K requests of op, one after the other: the server's CPU per request, in µs; its user
    and system ticks added to ticks[0], ticks[1]."""
    pid = s.srv.proc.pid
    before = len(s.samples)
    t0 = user_sys(pid)
    c0 = cpu_ns(pid)
    for _ in range(K):
        s.op(op)
    c1 = cpu_ns(pid)
    t1 = user_sys(pid)
    bad = [x for x in s.samples[before:] if x[2] >= 400]
    if bad:
        raise RuntimeError("%s answered %r" % (op, bad[:3]))
    if ticks is not None:
        ticks[0] += t1[0] - t0[0]
        ticks[1] += t1[1] - t0[1]
    return (c1 - c0) / 1000.0 / K


def idle(s):
    """The server's CPU per second while no request comes, in µs."""
    pid = s.srv.proc.pid
    c0, t0 = cpu_ns(pid), time.monotonic()
    time.sleep(IDLE)  # the measurement itself: nothing is waited for
    return (cpu_ns(pid) - c0) / 1000.0 / (time.monotonic() - t0)


def compare(servers, names):
    """Each kind of request (and idle) on the servers in turn: prints the medians and ratio."""
    res = {(op, name): [] for op in OPS + ("idle",) for name in names}
    ticks = {(op, name): [0, 0] for op in OPS for name in names}
    for r in range(ROUNDS):
        for op in OPS + ("idle",):
            order = list(zip(servers, names))
            if r % 2:
                order.reverse()  # neither server always first
            for s, name in order:
                res[(op, name)].append(idle(s) if op == "idle" else
                                       turn(s, op, ticks[(op, name)]))
    print("server CPU per request, µs (median of %d turns of %d; idle: per second), "
          "%s against %s:" % (ROUNDS, K, names[0], names[1]))
    for op in OPS + ("idle",):
        a = statistics.median(res[(op, names[0])])
        b = statistics.median(res[(op, names[1])])
        print("  %-7s %8.0f %8.0f  ratio %.2f   (turns: %s | %s)" % (
            op, a, b, b / a if a else 0,
            " ".join("%.0f" % x for x in res[(op, names[0])]),
            " ".join("%.0f" % x for x in res[(op, names[1])])), flush=True)
    tick_us = 1e6 / os.sysconf("SC_CLK_TCK") / (ROUNDS * K)
    print("user / system CPU per request, µs (all turns' clock ticks): %s" % "; ".join(
        "%s %.0f / %.0f against %.0f / %.0f" % (
            op, ticks[(op, names[0])][0] * tick_us, ticks[(op, names[0])][1] * tick_us,
            ticks[(op, names[1])][0] * tick_us, ticks[(op, names[1])][1] * tick_us)
        for op in OPS))


def measure():
    tmp = tempfile.mkdtemp(prefix="soak-growth-")
    names = ("n1", "n%d" % FACTOR)
    servers = []
    try:
        for name in names:
            servers.append(start(name, tmp))
        compare(servers, ["%s (%d items)" % (name, len(s.items))
                          for s, name in zip(servers, names)])
    finally:
        for s in servers:
            s.srv.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


def age():
    """A server that has answered (FACTOR - 1) * N more requests of the mix against a fresh
    one on a copy of the same database (civicdesk backup of the aged one's): what a long run
    leaves in the process rather than in the database."""
    tmp = tempfile.mkdtemp(prefix="soak-growth-")
    servers = []
    try:
        old = start("n1", tmp)
        servers.append(old)
        run_mix(old, (FACTOR - 1) * N)
        path = os.path.join(tmp, "fresh")
        os.makedirs(path)
        r = old.srv.cli("backup", os.path.join(path, "civicdesk.db"))
        if r.returncode != 0:
            raise RuntimeError("backup: %s" % r.stderr)
        with open(os.path.join(path, "items.json"), "w") as f:
            json.dump({"items": old.items, "received": old.received}, f)
        shutil.move(path, os.path.join(DIR, "aged-copy"))
        try:
            servers.append(start("aged-copy", tmp))
        finally:
            shutil.rmtree(os.path.join(DIR, "aged-copy"), ignore_errors=True)
        # both assign the same items in the same order (the aged one would take the newest)
        order = list(old.received)
        random.shuffle(order)
        old.received, servers[1].received = list(order), list(order)
        compare(servers, ["aged process (%d items)" % len(old.items),
                          "fresh process (%d items)" % len(servers[1].items)])
    finally:
        for s in servers:
            s.srv.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


def cg_total(path):
    """The instructions a callgrind dump counted (its totals line)."""
    with open(path) as f:
        for line in f:
            if line.startswith(("totals:", "summary:")):
                return int(line.split()[1])
    raise RuntimeError("no totals in " + path)


def cg_dump(s, tmp, label):
    """Dumps the counts since the last zeroing of s's callgrind: their total."""
    subprocess.run(["callgrind_control", "-d", str(s.srv.proc.pid)], check=True,
                   capture_output=True)
    dumps = sorted((f for f in os.listdir(tmp) if f.startswith(s.cg_name + ".")),
                   key=lambda f: int(f.rsplit(".", 1)[1]))
    if os.environ.get("SOAKG_KEEP"):  # the dumps, for callgrind_annotate
        shutil.copy(os.path.join(tmp, dumps[-1]),
                    os.path.join(os.environ["SOAKG_KEEP"], label + ".cg"))
    return cg_total(os.path.join(tmp, dumps[-1]))


def cg_counts(s, tmp, label):
    """Instructions per request of each kind (K of each, every thread's), and per second of
    no request (IDLE seconds): {kind: count}."""
    pid = str(s.srv.proc.pid)
    res = {}
    for op in OPS:
        subprocess.run(["callgrind_control", "-z", pid], check=True, capture_output=True)
        before = len(s.samples)
        for _ in range(K):
            s.op(op)
        if any(x[2] >= 400 for x in s.samples[before:]):
            raise RuntimeError("%s: an error answer" % op)
        res[op] = cg_dump(s, tmp, "%s.%s" % (label, op)) / K
        print("%s %s: %.0f instructions a request" % (label, op, res[op]), flush=True)
    # no request: the notifier's polls and the clock scans (CIVICDESK_SCAN_INTERVAL)
    subprocess.run(["callgrind_control", "-z", pid], check=True, capture_output=True)
    t0 = time.monotonic()
    time.sleep(IDLE)  # the measurement itself: nothing is waited for
    res["idle"] = cg_dump(s, tmp, label + ".idle") / (time.monotonic() - t0)
    print("%s idle: %.0f instructions a second" % (label, res["idle"]), flush=True)
    return res


def cg_start(name, tmp):
    s = start(name, tmp, wrap=("valgrind", "--tool=callgrind",
                               "--callgrind-out-file=" + os.path.join(tmp, name + ".cg")))
    s.cg_name = name + ".cg"
    for _ in range(WARM):  # each pooled connection's statements prepared
        for op in OPS:
            s.op(op)
    return s


def cg_print(what, res, a, b):
    print("instructions per request (every thread's, %d of a kind; idle: a second, %.0f s), "
          "%s against %s:" % (K, IDLE, a, b))
    for op in OPS + ("idle",):
        x, y = res[a][op], res[b][op]
        print("  %-7s %12s %12s  ratio %.3f" % (op, format(int(x), ","), format(int(y), ","),
                                              y / x))


def callgrind():
    tmp = tempfile.mkdtemp(prefix="soak-growth-")
    res = {}
    try:
        for name in ("n1", "n%d" % FACTOR):
            s = cg_start(name, tmp)
            try:
                label = "%s (%d items)" % (name, len(s.items))
                res[label] = cg_counts(s, tmp, name)
            finally:
                s.srv.cleanup()
        cg_print("callgrind", res, *res.keys())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def cg_age():
    """One server under callgrind counted, then aged by SOAKG_AGE (20,000) requests of the mix,
    then counted again: what grows in the process (and with the rows those requests add)."""
    tmp = tempfile.mkdtemp(prefix="soak-growth-")
    res = {}
    try:
        s = cg_start("n1", tmp)
        try:
            a = "before (%d items)" % len(s.items)
            res[a] = cg_counts(s, tmp, "before")
            run_mix(s, int(os.environ.get("SOAKG_AGE", "20000")))
            b = "after (%d items)" % len(s.items)
            res[b] = cg_counts(s, tmp, "after")
        finally:
            s.srv.cleanup()
        cg_print("cg-age", res, a, b)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    what = sys.argv[1] if len(sys.argv) > 1 else "all"
    if what in ("fill", "all"):
        fill("n1", N)
        fill("n%d" % FACTOR, N * FACTOR)
    if what in ("measure", "all"):
        measure()
    if what == "callgrind":
        callgrind()
    if what == "age":
        age()
    if what == "cg-age":
        cg_age()
    return 0


if __name__ == "__main__":
    sys.exit(main())
