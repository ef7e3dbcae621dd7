#!/usr/bin/env python3
"""Soak (`make soak`, not part of make test): mixed load at a steady rate against one daemon for
SOAK_DURATION seconds (default 1800): submissions, staff queue reads, citizen look-ups and
workflow actions (assign). Prints the server's RSS after the warm-up and at the end, error
answers, and p50/p99 latency per sixth of the run (p99 should stay flat), with the machine's
load. Exit 1 when any answer was an error, or when RSS grew by 10 % or more from the warm-up to
the end in a way that could be a leak (judge_rss): a leak grows window after window, while a
one-time step that stays flat afterwards is the server reaching a new high-water mark of
threads and database connections, which it keeps (bench/RESULTS.md, "the soak's RSS step").
The verdict says why. RSS is sampled every 10 s with the server's database connections,
threads and malloc arenas, printed per window, so that a step shows what grew with it.

Per window it also prints the server's CPU per request (its utime+stime from /proc/PID/stat
over the window, divided by the requests answered in it) and the whole machine's busy share
(/proc/stat) and load average, so that an inspector can tell load from a leak: a p99 that moves
with the machine's busy share while the CPU per request stays flat is the machine's other work;
a CPU per request that grows with the run's length is the server's own.

Environment: SOAK_DURATION (s), SOAK_RATE (requests per second, default 20), BENCH_BIN (the
binary, default build/rel/civicdesk)."""
import json
import os
import queue
import random
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
os.environ.setdefault("CIVICDESK_BIN", os.environ.get("BENCH_BIN", "build/rel/civicdesk"))
import harness  # noqa: E402

DURATION = float(os.environ.get("SOAK_DURATION", "1800"))
RATE = float(os.environ.get("SOAK_RATE", "20"))
WORKERS = 8
WINDOWS = 6
CLK_TCK = os.sysconf("SC_CLK_TCK")


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def server_state(pid, db):
    """(RSS KiB, database connections, threads, malloc arenas) of the server pid whose
    database file is db: its descriptors open on the file (one per SQLite connection), the
    threads in /proc/PID/status, and glibc's arenas besides the main one, counted as anonymous
    read-write mappings on a 64 MiB boundary (glibc's HEAP_MAX_SIZE: each arena's heap)."""
    conns = 0
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            if os.readlink("/proc/%d/fd/%s" % (pid, fd)) == db:
                conns += 1
        except OSError:
            pass  # closed meanwhile
    threads = 0
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Threads:"):
                threads = int(line.split()[1])
    arenas = 0
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            parts = line.split()
            if (len(parts) == 5 and parts[1] == "rw-p" and
                    int(parts[0].split("-")[0], 16) % (64 << 20) == 0):
                arenas += 1
    return rss_kib(pid), conns, threads, arenas


RSS_LIMIT = 10.0  # % of growth from the warm-up to the end that fails unless a one-time step


def judge_rss(series, warm, limit=RSS_LIMIT):
    """The RSS verdict over series, [(seconds into the run, KiB, …)] sampled at a steady pace,
    from the first sample at or after warm: (ok, [lines saying why]).

    Under limit % of growth: ok. Above it, the largest rise over two sampling intervals is the
    step; the growth is a one-time step, not a leak, when (1) without the step it stays under
    limit, (2) at least a sixth of the run and 3 samples follow the step, and (3) over them RSS
    stays flat: their growth, taken at its pace over the whole run, stays under limit / 2. A
    leak that grows window after window fails (1) or (3); a step too close to the end to see it
    stay flat fails (2)."""
    s = [x for x in series if x[0] >= warm]
    if len(s) < 2:
        return False, ["too few RSS samples after the warm-up (%d)" % len(s)]
    base, end = s[0][1], s[-1][1]
    span = s[-1][0] - s[0][0]
    growth = (end - base) * 100.0 / base
    head = "RSS %d KiB after the warm-up (%.0f s), %d KiB at the end: %+.1f %%" % (
        base, s[0][0], end, growth)
    if growth < limit:
        return True, [head + ", under %.0f %%: no leak" % limit]
    i = max(range(1, len(s)), key=lambda k: s[k][1] - s[max(0, k - 2)][1])
    j = max(0, i - 2)
    step = s[i][1] - s[j][1]
    rest = (end - base - step) * 100.0 / base
    after = s[i:]
    after_span = after[-1][0] - after[0][0]
    after_growth = (end - s[i][1]) * 100.0 / s[i][1]
    pace = after_growth * span / after_span if after_span > 0 else float("inf")
    lines = [head + "; its largest step: %+d KiB from %.0f s to %.0f s" % (
        step, s[j][0], s[i][0])]
    if len(s[0]) >= 5:
        lines.append("with the step: database connections %d -> %d, threads %d -> %d, malloc "
                     "arenas %d -> %d" % (s[j][2], s[i][2], s[j][3], s[i][3], s[j][4], s[i][4]))
    lines.append("without the step: %+.1f %%; after it: %+.1f %% over %.0f s (%+.1f %% at that "
                 "pace over the run's %.0f s)" % (rest, after_growth, after_span, pace, span))
    if rest >= limit:
        lines.append("FAILED: without its largest step RSS still grew %.0f %% or more: a "
                     "steady rise, a leak" % limit)
        return False, lines
    if after_span < span / 6 or len(after) < 3:
        lines.append("FAILED: the step came too near the end (%.0f s and %d samples after it, "
                     "a sixth of the run and 3 asked for) to see whether RSS stays flat after "
                     "it: run longer" % (after_span, len(after)))
        return False, lines
    if pace >= limit / 2:
        lines.append("FAILED: RSS kept rising after the step (%+.1f %% at that pace over the "
                     "run, %.0f %% allowed): not a one-time step" % (pace, limit / 2))
        return False, lines
    grew = len(s[0]) >= 5 and any(s[i][k] > s[j][k] for k in (2, 3, 4))
    lines.append("ok: a one-time step that stays flat afterwards (under %.0f %% without it, "
                 "under %.0f %% at the pace after it), not a leak%s" % (
                     limit, limit / 2,
                     ": the server's new high-water mark of worker threads and database "
                     "connections, which it keeps" if grew else
                     " (neither threads, database connections nor arenas grew with it)"))
    return True, lines


def cpu_ticks(pid):
    """The process's utime + stime, in clock ticks."""
    with open("/proc/%d/stat" % pid) as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return int(rest[11]) + int(rest[12])


def machine_ticks():
    """The whole machine's (busy, total) clock ticks since boot, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)  # idle + iowait
    return sum(v) - idle, sum(v)


def correlation(a, b):
    """Pearson's r of two equally long lists (None when either does not vary)."""
    n = len(a)
    if n < 3:
        return None
    ma, mb = sum(a) / n, sum(b) / n
    va = sum((x - ma) ** 2 for x in a)
    vb = sum((y - mb) ** 2 for y in b)
    if va == 0 or vb == 0:
        return None
    return sum((x - ma) * (y - mb) for x, y in zip(a, b)) / (va * vb) ** 0.5


def load_avg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def pct(v, p):
    if not v:
        return 0.0
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p))]


class Soak:
    def __init__(self, srv):
        self.srv = srv
        self.lock = threading.Lock()
        self.items = []      # (tracking, query_code)
        self.received = []   # trackings not yet assigned
        self.samples = []    # (t, op, status, ms)
        self.jobs = queue.Queue(maxsize=1000)
        self.disp = srv.staff("soakdisp", "dispatcher")

    def op(self, kind):
        t0 = time.monotonic()
        if kind == "submit":
            r = self.srv.request("POST", "/api/v1/items", json_body={
                "kind": random.choice(["letter", "complaint", "consultation"]),
                "subject": "soak %d" % random.randrange(10 ** 9), "body": "路灯坏了 " * 20,
                "email": "soak@example.cn", "publish": random.random() < 0.5})
            if r.status == 201:
                j = r.json()
                with self.lock:
                    self.items.append((j["tracking"], j["query_code"]))
                    self.received.append(j["tracking"])
        elif kind == "track":
            with self.lock:
                it = random.choice(self.items) if self.items else None
            if it is None:
                return self.op("submit")
            r = self.srv.request("GET", "/api/v1/track/" + it[0],
                                 headers={"X-Query-Code": it[1]})
        elif kind == "queue":
            r = self.disp.request("GET", "/api/v1/queue?state=open&limit=50")
        else:
            with self.lock:
                t = self.received.pop() if self.received else None
            if t is None:
                return self.op("submit")
            r = self.disp.request("POST", "/api/v1/items/%s/actions/assign" % t,
                                  json_body={"section": "法规处"})
        ms = (time.monotonic() - t0) * 1000
        with self.lock:
            self.samples.append((time.monotonic(), kind, r.status, ms))

    def worker(self):
        while True:
            kind = self.jobs.get()
            if kind is None:
                return
            try:
                self.op(kind)
            except Exception as e:  # a refused connection is an error answer too
                with self.lock:
                    self.samples.append((time.monotonic(), kind, 599, 0.0))
                print("# %s: %r" % (kind, e), flush=True)

    def run(self):
        threads = [threading.Thread(target=self.worker) for _ in range(WORKERS)]
        for t in threads:
            t.start()
        mix = ["submit"] * 40 + ["track"] * 25 + ["queue"] * 20 + ["assign"] * 15
        start = time.monotonic()
        warm = start + min(60.0, DURATION / 10)
        rss_warm = None
        rss = []  # (s into the run, RSS KiB, database connections, threads, arenas)
        db = os.path.realpath(self.srv.db)
        next_at, next_rss, n = start, start, 0
        # at each window's edge: (t, the server's CPU ticks, machine busy and total ticks, load)
        pid = self.srv.proc.pid
        self.marks = [(start, cpu_ticks(pid)) + machine_ticks() + (load_avg(),)]
        width = DURATION / WINDOWS
        while time.monotonic() - start < DURATION:
            now = time.monotonic()
            if len(self.marks) < WINDOWS and now >= start + len(self.marks) * width:
                self.marks.append((now, cpu_ticks(pid)) + machine_ticks() + (load_avg(),))
            if now >= next_rss:
                rss.append((now - start,) + server_state(pid, db))
                next_rss += 10
            if rss_warm is None and now >= warm:
                rss_warm = rss_kib(self.srv.proc.pid)
            if now < next_at:
                time.sleep(min(next_at - now, 0.05))
                continue
            self.jobs.put(random.choice(mix))  # steady: one every 1/RATE s, queued if slow
            n += 1
            next_at = start + n / RATE
        for _ in threads:
            self.jobs.put(None)
        self.marks.append((time.monotonic(), cpu_ticks(pid)) + machine_ticks() + (load_avg(),))
        for t in threads:
            t.join()
        rss.append((time.monotonic() - start,) + server_state(pid, db))
        end_rss = rss[-1][1]
        return start, rss_warm or rss[0][1], end_rss, rss, n


def main():
    srv = harness.Server(env={"CIVICDESK_SUBMIT_RATE": "0", "CIVICDESK_PUBLIC_RATE": "0",
                              "CIVICDESK_DB_CONNECTIONS": "32"}).start().drain()
    try:
        s = Soak(srv)
        load0 = load_avg()
        start, rss_warm, rss_end, rss, sent = s.run()
        load1 = load_avg()
        errors = [x for x in s.samples if x[2] >= 400]
        width = DURATION / WINDOWS
        windows = []
        for w in range(WINDOWS):
            lat = [x[3] for x in s.samples if start + w * width <= x[0] < start + (w + 1) * width
                   and x[2] < 400]
            windows.append((len(lat), pct(lat, 0.5), pct(lat, 0.99)))
        growth = (rss_end - rss_warm) * 100.0 / rss_warm
        print("soak: %.0f s at %.0f requests/s (%d sent, %d answered), %d errors %s" % (
            DURATION, RATE, sent, len(s.samples), len(errors),
            sorted({(x[1], x[2]) for x in errors})[:10]))
        print("soak: RSS %d KiB after warm-up, %d KiB at the end: %+.1f %%" % (
            rss_warm, rss_end, growth))
        # caches filling early or a steady climb: the second half's growth on its own
        mid = [x[1] for x in rss if x[0] >= DURATION / 2]
        if mid:
            print("soak: RSS %d KiB at half time, %d KiB at the end: %+.1f %% over the second "
                  "half" % (mid[0], rss_end, (rss_end - mid[0]) * 100.0 / mid[0]))
        cpu_ms, busy, loads = [], [], []
        for w, (n, p50, p99) in enumerate(windows):
            a, b = s.marks[w], s.marks[min(w + 1, len(s.marks) - 1)]
            ms = (b[1] - a[1]) * 1000.0 / CLK_TCK / max(n, 1)
            share = (b[2] - a[2]) * 100.0 / max(b[3] - a[3], 1)
            cpu_ms.append(ms)
            busy.append(share)
            # the machine's run queue over the window: the 1-minute load at its two edges
            loads.append((float(a[4].split()[0]) + float(b[4].split()[0])) / 2)
            # the server at the window's end: RSS, database connections, threads, arenas
            st = [x for x in rss if x[0] <= (w + 1) * width] or rss[:1]
            print("soak: window %d/%d: %d requests, p50 %.1f ms, p99 %.1f ms, server CPU %.2f "
                  "ms/request, machine %.0f %% busy, load %s; RSS %d KiB, %d database "
                  "connections, %d threads, %d malloc arenas" % (
                      w + 1, WINDOWS, n, p50, p99, ms, share, b[4], st[-1][1], st[-1][2],
                      st[-1][3], st[-1][4]))
        p99s = [w[2] for w in windows]
        fmt = lambda r: "n/a" if r is None else "%+.2f" % r  # noqa: E731
        print("soak: p99 per window against the machine's load average r = %s, its busy share "
              "r = %s, the server's CPU per request r = %s, the window's number r = %s" % (
                  fmt(correlation(p99s, loads)), fmt(correlation(p99s, busy)),
                  fmt(correlation(p99s, cpu_ms)), fmt(correlation(p99s, list(range(WINDOWS))))))
        change = (cpu_ms[-1] - cpu_ms[0]) * 100.0 / max(cpu_ms[0], 1e-9)
        rising = correlation(cpu_ms, list(range(WINDOWS)))
        # the VM's CPU speed swings by up to 2x within minutes: one window against another
        # says little; a CPU per request that rises window after window is the server's own
        print("soak: server CPU per request %.2f ms in the first window, %.2f ms in the last "
              "(%+.0f %%; against the window's number r = %s: %s)" % (
                  cpu_ms[0], cpu_ms[-1], change, fmt(rising),
                  "rising with the run: compare with an earlier build's soak"
                  if rising is not None and rising > 0.8 and change > 20 else
                  "no steady rise: the server does no more work per request as the run goes on"))
        print("soak: load average %s at the start, %s at the end (uptime)" % (load0, load1))
        print("soak: RSS samples (s, KiB): %s" % json.dumps(
            [(round(x[0]), x[1]) for x in rss[::max(1, len(rss) // 12)]]))
        rss_ok, why = judge_rss(rss, min(60.0, DURATION / 10))
        for line in why:
            print("soak: RSS verdict: %s" % line)
        if errors:
            print("soak: FAILED: %d error answers" % len(errors))
        ok = rss_ok and not errors
        print("soak: %s" % ("ok" if ok else "FAILED"))
        return 0 if ok else 1
    finally:
        srv.cleanup()


if __name__ == "__main__":
    sys.exit(main())
