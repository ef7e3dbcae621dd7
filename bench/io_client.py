#!/usr/bin/env python3
"""A bounded client for bench/io_cost.sh: io_client.py PORT CONNS PER_CONN. CONNS keep-alive
connections (http.client, one thread each) post PER_CONN JSON submissions each, one after the
other (bench/wrk/submit.lua's body); prints the count, the time and the answers not 201."""
import http.client
import sys
import threading
import time

BODY = ('{"kind":"letter","subject":"关于小区道路维修的建议","body":"我们小区门口的道路已经破损多时，'
        '雨天积水严重，老人和孩子出行很不方便，希望有关部门尽快安排维修。","name":"张三",'
        '"phone":"13800138000","email":"zhangsan@example.cn","publish":true}').encode()


def main():
    port, conns, per = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    bad = [0]

    def run():
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for _ in range(per):
            c.request("POST", "/api/v1/items", BODY, {"Content-Type": "application/json"})
            r = c.getresponse()
            r.read()
            if r.status != 201:
                bad[0] += 1
        c.close()

    t0 = time.monotonic()
    threads = [threading.Thread(target=run) for _ in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    dt = time.monotonic() - t0
    print("%d requests in %.2f s (%.0f/s), not 201: %d" % (conns * per, dt, conns * per / dt,
                                                          bad[0]))


if __name__ == "__main__":
    main()
