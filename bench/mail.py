#!/usr/bin/env python3
"""Mail-in benchmark (issue #16): 1,000 messages of mixed charsets (about 18 KB each, some with
attachments) built with Python's email package,
  1. through `civicdesk ingest-mail`, one process per message as an MTA runs it (sequential, and
     4 at once),
  2. through IMAP: APPENDed to a local Dovecot (tests/integration/dovecot.py), fetched raw by curl
     (the ceiling: the same messages, one connection), then polled by `civicdesk serve` (parse,
     store durably, mark \\Seen) from the moment it listens until every message is stored.
Prints messages per second for each, with the load average; the IMAP target is 1,000
messages/s. MAIL_BENCH_IMAP_ONLY=1 runs the IMAP part alone (MAIL_BENCH_N: messages, 1000)."""
import base64
import concurrent.futures
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from email.header import Header
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import dovecot  # noqa: E402

BIN = os.path.abspath(os.environ.get("CIVICDESK_BIN", os.path.join(ROOT, "build/rel/civicdesk")))
N = int(os.environ.get("MAIL_BENCH_N", "1000"))
CHARSETS = ["utf-8", "gbk", "gb18030", "big5", "gb2312"]
TEXT = {"big5": "市民來信反映道路積水問題，請儘速處理。", "default": "市民来信反映道路积水问题，请尽快处理。"}


def message(i):
    cs = CHARSETS[i % len(CHARSETS)]
    line = TEXT["big5" if cs == "big5" else "default"]
    body = "\n".join("%d. %s" % (k, line) for k in range(18000 // (len(line.encode("utf-8")) + 5)))
    text = MIMEText(body, "plain", cs)
    if i % 4 == 0:
        m = MIMEMultipart("mixed")
        m.attach(text)
        att = MIMEApplication(bytes(range(256)) * 12, "octet-stream")
        att.add_header("Content-Disposition", "attachment", filename=("utf-8", "", "附件%d.bin" % i))
        m.attach(att)
    else:
        m = text
    m["From"] = "citizen%d@example.cn" % i
    m["To"] = ["director@bureau.example", "complaint@bureau.example", "ask@bureau.example"][i % 3]
    m["Subject"] = Header(("來信 %d：道路積水" if cs == "big5" else "来信 %d：道路积水") % i, cs)
    m["Message-ID"] = "<bench-%d-%d@example.cn>" % (os.getpid(), i)
    return m.as_bytes()


def count(db):
    try:
        con = sqlite3.connect(db, timeout=30)
        try:
            return con.execute("SELECT count(*) FROM mail_in").fetchone()[0]
        finally:
            con.close()
    except sqlite3.OperationalError:
        return 0


def fresh_db(d):
    """A database made once by the binary (migrations), so that timing excludes its creation."""
    db = os.path.join(d, "civicdesk.db")
    env = dict(os.environ, CIVICDESK_DB=db, CIVICDESK_DEMO="0")
    subprocess.run([BIN, "user", "list"], env=env, capture_output=True, check=True)
    return db, env


def ingest(env, raw):
    r = subprocess.run([BIN, "ingest-mail"], input=raw, env=env, capture_output=True)
    if r.returncode != 0:
        raise RuntimeError("ingest-mail %d: %s" % (r.returncode, r.stderr.decode()))


def bench_pipe(msgs, workers):
    d = tempfile.mkdtemp(prefix="civicdesk-bench-mail-")
    try:
        db, env = fresh_db(d)
        t = time.monotonic()
        if workers == 1:
            for raw in msgs:
                ingest(env, raw)
        else:
            with concurrent.futures.ThreadPoolExecutor(workers) as ex:
                list(ex.map(lambda r: ingest(env, r), msgs))
        dt = time.monotonic() - t
        assert count(db) == len(msgs), count(db)
        return len(msgs) / dt
    finally:
        shutil.rmtree(d, ignore_errors=True)


def bench_imap(msgs):
    dc = dovecot.Dovecot().start()
    d = tempfile.mkdtemp(prefix="civicdesk-bench-imap-")
    proc = None
    try:
        uids = dc.append(msgs)
        # the raw fetch rate: curl, one connection, every message (BODY[] as civicdesk fetches)
        base = dc.url
        t = time.monotonic()
        r = subprocess.run(["curl", "-s", "-o", "/dev/null", "%s;UID=[%d-%d]" % (base, uids[0],
                            uids[-1])], capture_output=True)
        curl_rate = len(uids) / (time.monotonic() - t)
        if r.returncode != 0:
            raise RuntimeError("curl: %s" % r.stderr.decode())
        # curl's BODY[] set \Seen: take it back so that the poll starts from the same state
        m = dc.client()
        m.select("INBOX")
        m.uid("STORE", "1:*", "-FLAGS.SILENT", "(\\Seen)")
        m.logout()
        db, env = fresh_db(d)
        env.update(CIVICDESK_IMAP_URL=dc.url, CIVICDESK_IMAP_INTERVAL="1",
                   CIVICDESK_LISTEN="127.0.0.1:0", CIVICDESK_SUBMIT_RATE="0")
        proc = subprocess.Popen([BIN, "serve"], env=env, cwd=d, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        for line in proc.stdout:
            if "listening on" in line:
                break
        t = time.monotonic()
        end = t + 600
        while count(db) < len(msgs) and time.monotonic() < end:
            time.sleep(0.01)
        dt = time.monotonic() - t
        n = count(db)
        flags = dc.flags()
        seen_end = time.monotonic() + 30
        while not all("\\Seen" in f for f in flags.values()) and time.monotonic() < seen_end:
            time.sleep(0.05)
            flags = dc.flags()
        seen = sum(1 for f in flags.values() if "\\Seen" in f)
        return curl_rate, n / dt, n, seen
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
        dc.cleanup()
        shutil.rmtree(d, ignore_errors=True)


def load():
    with open("/proc/loadavg") as f:
        return "load %s" % " ".join(f.read().split()[:3])


def main():
    msgs = [message(i) for i in range(N)]
    size = sum(len(m) for m in msgs) / len(msgs)
    print("messages: %d, mean size %.1f KB, charsets %s, every 4th with an attachment"
          % (N, size / 1024, "/".join(CHARSETS)))
    if os.environ.get("MAIL_BENCH_IMAP_ONLY") != "1":
        seq = bench_pipe(msgs, 1)
        print("ingest-mail, one process per message, sequential: %.0f messages/s (%s)"
              % (seq, load()))
        par = bench_pipe(msgs, 4)
        print("ingest-mail, one process per message, 4 at once:  %.0f messages/s (%s)"
              % (par, load()))
    curl_rate, imap_rate, n, seen = bench_imap(msgs)
    print("IMAP raw fetch by curl (BODY[] per UID, one connection): %.0f messages/s (%s)"
          % (curl_rate, load()))
    print("IMAP through civicdesk serve (fetch, parse, store durably, mark \\Seen): "
          "%.0f messages/s (%d stored, %d \\Seen) (%s)" % (imap_rate, n, seen, load()))
    ok = imap_rate >= 1000 and n == N and seen == N
    print("target: IMAP >= 1000 messages/s: %s" % ("met" if ok else "NOT met"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
