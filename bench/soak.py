#!/usr/bin/env python3
"""Soak (`make soak`, not part of make test): mixed load at a steady rate against one daemon for
SOAK_DURATION seconds (default 1800): submissions, staff queue reads, citizen look-ups and
workflow actions (assign). Prints the server's RSS after the warm-up and at the end, error
answers, and p50/p99 latency per sixth of the run (p99 should stay flat), with the machine's
load. Exit 1 when RSS grew by 10 % or more or any answer was an error.

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


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


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
        rss = []
        next_at, next_rss, n = start, start, 0
        while time.monotonic() - start < DURATION:
            now = time.monotonic()
            if now >= next_rss:
                rss.append((now - start, rss_kib(self.srv.proc.pid)))
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
        for t in threads:
            t.join()
        end_rss = rss_kib(self.srv.proc.pid)
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
        for w, (n, p50, p99) in enumerate(windows):
            print("soak: window %d/%d: %d requests, p50 %.1f ms, p99 %.1f ms" % (
                w + 1, WINDOWS, n, p50, p99))
        print("soak: load average %s at the start, %s at the end (uptime)" % (load0, load1))
        print("soak: RSS samples (s, KiB): %s" % json.dumps(rss[::max(1, len(rss) // 12)]))
        ok = growth < 10 and not errors
        print("soak: %s" % ("ok" if ok else "FAILED"))
        return 0 if ok else 1
    finally:
        srv.cleanup()


if __name__ == "__main__":
    sys.exit(main())
