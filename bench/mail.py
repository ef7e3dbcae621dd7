#!/usr/bin/env python3
"""Mail-in benchmark (issue #16): 1,000 messages of mixed charsets (about 18 KB each, some with
attachments) built with Python's email package,
  1. through `civicdesk ingest-mail`, one process per message as an MTA runs it (sequential, and
     4 at once),
  2. through IMAP: APPENDed to a local Dovecot (tests/integration/dovecot.py), fetched raw in
     the same run (curl: one UID per FETCH, the most it does; and in the poller's batches of 64
     UIDs per UID FETCH), then polled by `civicdesk serve` (fetch, parse, store durably, mark
     \\Seen): the poll's own time, and the time from serve's exec to the end of that poll.
Prints messages per second for each beside its target (IMAP: 1,000 messages/s, for the poll
itself: fetch, parse, store durably, mark \\Seen), the CPU per message of each process and the
load average. MAIL_BENCH_IMAP_ONLY=1 runs the IMAP part alone (MAIL_BENCH_N: messages, 1000);
MAIL_BENCH_HTML=1 sends every text as HTML alone (Word's markup, as Outlook writes it: a
paragraph per line, styles in the head), so that the HTML-to-text path is measured;
MAIL_BENCH_PERF=FILE records serve with `perf record -g` (MAIL_BENCH_PERF_OPTS: other options,
e.g. "--call-graph dwarf"); MAIL_BENCH_DEBUG=1 shows serve's output."""
import base64
import concurrent.futures
import os
import resource
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
HTML = os.environ.get("MAIL_BENCH_HTML") == "1"
CHARSETS = ["utf-8", "gbk", "gb18030", "big5", "gb2312"]
TEXT = {"big5": "市民來信反映道路積水問題，請儘速處理。", "default": "市民来信反映道路积水问题，请尽快处理。"}


def message(i):
    cs = CHARSETS[i % len(CHARSETS)]
    line = TEXT["big5" if cs == "big5" else "default"]
    lines = ["%d. %s" % (k, line) for k in range(18000 // (len(line.encode("utf-8")) + 5))]
    if HTML:
        body = ('<html><head><meta http-equiv="Content-Type" content="text/html; charset=%s">'
                "<style><!-- p.MsoNormal {margin:0cm; font-size:10.5pt;} --></style></head>"
                '<body lang="ZH-CN"><div class="WordSection1">%s</div></body></html>'
                % (cs, "\n".join('<p class="MsoNormal"><span lang="EN-US">%s</span>'
                                 "<o:p></o:p></p>" % l for l in lines[:len(lines) * 2 // 3])))
        text = MIMEText(body, "html", cs)
    else:
        text = MIMEText("\n".join(lines), "plain", cs)
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
    # user add makes a missing database (user list no longer does: it says there is none)
    subprocess.run([BIN, "user", "add", "bench_setup", "--role", "dispatcher",
                    "--password-stdin"], input=b"Quiet-harbour-lantern-47\n", env=env,
                   capture_output=True, check=True)
    return db, env


def ingest(env, raw):
    r = subprocess.run([BIN, "ingest-mail"], input=raw, env=env, capture_output=True)
    if r.returncode != 0:
        raise RuntimeError("ingest-mail %d: %s" % (r.returncode, r.stderr.decode()))


def bench_pipe(msgs, workers):
    d = tempfile.mkdtemp(prefix="civicdesk-bench-mail-")
    try:
        db, env = fresh_db(d)
        c0, t = children_cpu(), time.monotonic()
        if workers == 1:
            for raw in msgs:
                ingest(env, raw)
        else:
            with concurrent.futures.ThreadPoolExecutor(workers) as ex:
                list(ex.map(lambda r: ingest(env, r), msgs))
        dt = time.monotonic() - t
        cpu = (children_cpu() - c0) / len(msgs)
        assert count(db) == len(msgs), count(db)
        return len(msgs) / dt, cpu
    finally:
        shutil.rmtree(d, ignore_errors=True)


def proc_cpu(pid):
    """CPU seconds (user + system) of process pid so far, from /proc."""
    with open("/proc/%d/stat" % pid) as f:
        v = f.read().rsplit(")", 1)[1].split()
    return (int(v[11]) + int(v[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def batches(uids, sizes, n=64, limit=32 << 20):
    """The poller's batches: up to n UIDs and limit bytes per UID FETCH."""
    out, cur, b = [], [], 0
    for u, z in zip(uids, sizes):
        if cur and (len(cur) == n or b + z > limit):
            out.append(cur)
            cur, b = [], 0
        cur.append(u)
        b += z
    if cur:
        out.append(cur)
    return out


def raw_batched(dc, mailbox, sets):
    """The raw fetch with the poller's batching: one UID FETCH ... BODY.PEEK[] per batch, every
    literal read, on one connection (Python's imaplib). Returns (messages, bytes)."""
    m = dc.client()
    n = size = 0
    try:
        m.select(mailbox, readonly=True)
        for s in sets:
            typ, data = m.uid("FETCH", "%d:%d" % (s[0], s[-1]), "(BODY.PEEK[])")
            if typ != "OK":
                raise RuntimeError("UID FETCH: %r" % data)
            for part in data:
                if isinstance(part, tuple):
                    n += 1
                    size += len(part[1])
    finally:
        m.logout()
    return n, size


def startup_cpu(d):
    """CPU seconds serve takes to start (no mailbox), measured to be taken off the poll's."""
    d = os.path.join(d, "startup")
    os.mkdir(d)
    db, env = fresh_db(d)
    env.update(CIVICDESK_LISTEN="127.0.0.1:0")
    proc = subprocess.Popen([BIN, "serve"], env=env, cwd=d, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        for line in proc.stdout:
            if "listening on" in line:
                break
        return proc_cpu(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def bench_imap(msgs):
    """Figures of the IMAP part, all against the same Dovecot in the same run: curl's own fetch
    (one UID per command), the raw fetch in the poller's batches, then civicdesk serve."""
    dc = dovecot.Dovecot().start()
    d = tempfile.mkdtemp(prefix="civicdesk-bench-imap-")
    proc = None
    out = {"n": len(msgs)}
    try:
        uids = dc.append(msgs, "Bench")
        base = dc.url.rsplit("/", 1)[0] + "/Bench"
        # 1. curl: libcurl's IMAP fetch takes one UID per FETCH (URL ;UID=N), on one connection
        #    for the whole glob. Its custom requests (-X "UID FETCH 1:64 BODY.PEEK[]") cannot
        #    carry a batch: curl 7.88 reads the literals as response headers, refuses more than
        #    307,200 bytes of them (four or five of these messages) and does not keep the
        #    connection across --next: so this is the most curl itself does.
        c0, d0, t = children_cpu(), dc.cpu(), time.monotonic()
        r = subprocess.run(["curl", "-s", "-o", "/dev/null", "%s;UID=[%d-%d]" % (base, uids[0],
                            uids[-1])], capture_output=True)
        dt = time.monotonic() - t
        if r.returncode != 0:
            raise RuntimeError("curl: %s" % r.stderr.decode())
        out["curl"] = (len(uids) / dt, (children_cpu() - c0) / len(uids),
                       (dc.cpu() - d0) / len(uids), load())
        # curl's BODY[] set \Seen: taken back so that the batched fetch and the poll start alike
        m = dc.client()
        m.select("Bench")
        m.uid("STORE", "1:*", "-FLAGS.SILENT", "(\\Seen)")
        m.logout()
        # 2. the raw fetch in the poller's batches (64 UIDs per UID FETCH)
        sets = batches(uids, [len(x) for x in msgs])
        d0, t = dc.cpu(), time.monotonic()
        got, size = raw_batched(dc, "Bench", sets)
        dt = time.monotonic() - t
        if got != len(uids):
            raise RuntimeError("batched fetch: %d of %d messages" % (got, len(uids)))
        out["batched"] = (len(uids) / dt, None, (dc.cpu() - d0) / len(uids), load())
        # 3. civicdesk serve: from its start (exec) until its poll says it is done (after the
        #    last UID STORE), and the poll's own time; CPU of serve less its start-up
        boot = startup_cpu(d)
        db, env = fresh_db(d)
        env.update(CIVICDESK_IMAP_URL=base, CIVICDESK_IMAP_INTERVAL="1",
                   CIVICDESK_LISTEN="127.0.0.1:0", CIVICDESK_SUBMIT_RATE="0")
        argv = [BIN, "serve"]
        if os.environ.get("MAIL_BENCH_PERF"):
            argv = ["perf", "record"] + os.environ.get("MAIL_BENCH_PERF_OPTS", "-g").split() + ["-o", os.environ["MAIL_BENCH_PERF"], "--"] + argv
        d0, t = dc.cpu(), time.monotonic()
        proc = subprocess.Popen(argv, env=env, cwd=d, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        done, poll_s, end, lines = None, None, t + 600, []
        for line in proc.stdout:
            lines.append(line)
            if os.environ.get("MAIL_BENCH_DEBUG"):
                sys.stdout.write("serve: " + line)
            if " stored, " in line and " in " in line:
                done = time.monotonic()
                poll_s = float(line.rsplit(" in ", 1)[1].split()[0])
                break
            if time.monotonic() > end:
                break
        if done is None:
            raise RuntimeError("serve: no poll finished:\n" + "".join(lines[-20:]))
        spid = proc.pid
        if argv[0] == "perf":  # the server is perf's child
            spid = int(subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True,
                                      text=True).stdout.split()[0])
        cpu = proc_cpu(spid) - boot
        n = count(db)
        proc.terminate()
        proc.wait(timeout=60)
        proc = None
        flags = dc.flags("Bench")
        seen = sum(1 for f in flags.values() if "\\Seen" in f)
        dcpu = dc.cpu() - d0
        out["serve"] = (len(msgs) / (done - t), cpu / len(msgs), dcpu / len(msgs), load())
        out["poll"] = len(msgs) / poll_s
        out["stored"], out["seen"] = n, seen
        return out
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
        dc.cleanup()
        shutil.rmtree(d, ignore_errors=True)


def load():
    with open("/proc/loadavg") as f:
        return "load %s" % " ".join(f.read().split()[:3])


def ms(v):
    return "%.2f ms" % (v * 1000) if v is not None else "-"


def main():
    msgs = [message(i) for i in range(N)]
    size = sum(len(m) for m in msgs) / len(msgs)
    print("messages: %d, mean size %.1f KB, charsets %s, every 4th with an attachment%s"
          % (N, size / 1024, "/".join(CHARSETS), ", the text as HTML alone" if HTML else ""))
    fmt = "%-62s %9s  %-9s  %s"
    print(fmt % ("path", "msg/s", "target", "verdict, CPU per message, load"))
    if os.environ.get("MAIL_BENCH_IMAP_ONLY") != "1":
        seq, cpu = bench_pipe(msgs, 1)
        print(fmt % ("ingest-mail, one process per message, sequential", "%.0f" % seq, "-",
                     "ingest-mail %s; %s" % (ms(cpu), load())))
        par, cpu = bench_pipe(msgs, 4)
        print(fmt % ("ingest-mail, one process per message, 4 at once", "%.0f" % par, "-",
                     "ingest-mail %s; %s" % (ms(cpu), load())))
    r = bench_imap(msgs)
    rate, cpu, dcpu, ld = r["curl"]
    print(fmt % ("IMAP raw fetch, curl (one UID per FETCH, one connection)", "%.0f" % rate, "-",
                 "curl %s, dovecot %s; %s" % (ms(cpu), ms(dcpu), ld)))
    rate, cpu, dcpu, ld = r["batched"]
    print(fmt % ("IMAP raw fetch, 64 UIDs per UID FETCH (imaplib, one conn.)", "%.0f" % rate,
                 "-", "dovecot %s; %s" % (ms(dcpu), ld)))
    rate, cpu, dcpu, ld = r["serve"]
    ok = r["poll"] >= 1000 and r["stored"] == N and r["seen"] == N
    print(fmt % ("IMAP through civicdesk serve: its poll (fetch, parse, store", "%.0f" % r["poll"],
                 ">= 1000", "%s; civicdesk %s, dovecot %s; %d stored, %d \\Seen; %s"
                 % ("met" if ok else "NOT met", ms(cpu), ms(dcpu), r["stored"], r["seen"], ld)))
    print(fmt % ("  durably, mark \\Seen); the same from serve's exec", "%.0f" % rate, "-",
                 "(includes the process start)"))
    print("target: IMAP >= 1000 messages/s: %s" % ("met" if ok else "NOT met"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
