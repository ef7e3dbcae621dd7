"""Real peers for the notifier tests, on 127.0.0.1: an SMTP server (Debian's python3-aiosmtpd)
and a small HTTP server standing in for an SMS gateway. Each records what it received as JSON
lines in a log file.

As a program (for the C unit tests):
    peers.py smtp --log FILE [--port N] [--reject ADDR]... [--tempfail ADDR]... [--delay S]
             [--data-script 451,554,250]  (the answers to DATA in turn, then 250)
             [--hold-data N]          (no answer to the Nth message's data, counted over every
                                       session: a {"held": N} record, then silence until the
                                       client goes away; nothing of it recorded as received)
             [--reject-from ADDR]...      (553 to MAIL FROM:<ADDR>)
             [--auth USER:PASSWORD]   (AUTH PLAIN/LOGIN required; without TLS unless --tls)
             [--tls CERT:KEY]         (STARTTLS offered and required before MAIL and AUTH)
             [--tls-no-tickets]       (no TLS 1.3 session tickets after the handshake)
             [--smtps CERT:KEY]       (implicit TLS from the first byte, as on port 465)
    peers.py sms --log FILE [--port N] [--script 500,timeout,429:120,200] [--perm PHONE]...
             (a step: CODE, CODE:RETRY-AFTER, timeout, 302 and the like with Location: /moved,
             200nak: a 200 whose JSON body says the message was refused) [--delay S]
             [--sleep SECONDS] [--answer JSON]   (the body of a 2xx answer)
prints "port N" on its first line of standard output, then serves until killed.
As a module: Peer starts that program and stops it; the mixins PeerTest (each test starts its
own daemon and peers) and PeerClass (one daemon and one SMTP server and SMS gateway shared by a
class's tests) give a suite its temporary folders and stop and remove everything afterwards.
"""
import argparse
import asyncio
import email
import email.policy
import fcntl
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.abspath(__file__)


def _aiosmtpd():
    try:
        import aiosmtpd.smtp  # noqa: F401
    except ImportError:  # a python3 other than Debian's: the package lives in dist-packages
        sys.path.append("/usr/lib/python3/dist-packages")
    import aiosmtpd.smtp
    return aiosmtpd.smtp


def _append(path, record):
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(record, ensure_ascii=False) + "\n")
        f.flush()


def serve_smtp(args):
    smtp = _aiosmtpd()
    data_script = [s for s in args.data_script.split(",") if s]
    datas = [0]  # messages whose data came in, every session

    class Handler:
        async def handle_MAIL(self, server, session, envelope, address, mail_options):
            if address in args.reject_from:
                return "553 5.7.1 sender address not allowed"
            envelope.mail_from = address
            envelope.mail_options.extend(mail_options)
            return "250 OK"

        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            if address in args.reject:
                return "550 5.1.1 no such user here"
            if address in args.tempfail:
                return "451 4.3.0 try again later"
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server, session, envelope):
            datas[0] += 1
            if datas[0] == args.hold_data:  # the client waits for an answer that never comes
                _append(args.log, {"held": datas[0], "to": list(envelope.rcpt_tos),
                                   "t": time.time()})
                await asyncio.get_running_loop().create_future()
            if args.delay:
                await asyncio.sleep(args.delay)
            raw = envelope.original_content or envelope.content
            answer = data_script.pop(0) if data_script else "250"
            if answer != "250":  # refused at the end of DATA: recorded, not delivered
                _append(args.log, {"data_refused": int(answer), "to": list(envelope.rcpt_tos),
                                   "t": time.time()})
                return ("451 4.3.0 try again later" if answer.startswith("4") else
                        "554 5.6.0 message refused")
            msg = email.message_from_bytes(raw, policy=email.policy.default)
            body = msg.get_body(("plain",))
            raw_subject = ""
            for line in raw.split(b"\r\n"):
                if line.lower().startswith(b"subject:"):
                    raw_subject = line.decode("ascii", "replace")
            _append(args.log, {
                "from": envelope.mail_from,
                "header_from": str(msg["from"]),
                "rcpt": list(envelope.rcpt_tos),
                "subject": str(msg["subject"]),
                "raw_subject": raw_subject,
                "body": body.get_content() if body is not None else None,
                "message_id": str(msg["message-id"]),
                "date": str(msg["date"]),
                "auto_submitted": str(msg["auto-submitted"]),
                "content_type": str(msg["content-type"]),
                "tls": session.ssl is not None or implicit is not None,
                "raw": raw.decode("utf-8", "surrogateescape"),  # as received (email.parser)
                "t": time.time(),
            })
            return "250 OK"

    auth = {}
    if args.auth:
        user, _, password = args.auth.partition(":")

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (isinstance(auth_data, smtp.LoginPassword) and
                  auth_data.login.decode() == user and auth_data.password.decode() == password)
            _append(args.log, {"auth": mechanism, "login": auth_data.login.decode(),
                               "ok": ok, "t": time.time()})
            return smtp.AuthResult(success=ok)

        auth = {"authenticator": authenticator, "auth_required": True,
                "auth_require_tls": bool(args.tls)}
    implicit = None
    if args.tls or args.smtps:
        import ssl
        cert, _, key = (args.tls or args.smtps).partition(":")
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(cert, key)
        if args.tls_no_tickets:
            ctx.num_tickets = 0
        if args.tls:
            auth.update({"tls_context": ctx, "require_starttls": True})
        else:
            implicit = ctx  # TLS from the first byte (smtps, port 465)
            if args.auth:
                auth["auth_require_tls"] = False  # aiosmtpd sees no STARTTLS: the link is TLS

    async def main():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: smtp.SMTP(Handler(), enable_SMTPUTF8=True, decode_data=False, **auth),
            "127.0.0.1", args.port, ssl=implicit)
        print("port %d" % server.sockets[0].getsockname()[1], flush=True)
        await server.serve_forever()

    asyncio.run(main())


def serve_sms(args):
    script = [s for s in (args.script or "").split(",") if s]
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            self.do_POST()

        def do_PUT(self):
            self.do_POST()

        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0"))
            data = self.rfile.read(n)
            path, _, query = self.path.partition("?")
            ctype = self.headers.get("Content-Type", "")
            if self.command == "GET":
                req = {k: v[0] for k, v in urllib.parse.parse_qs(query).items()}
            elif ctype.startswith("application/x-www-form-urlencoded"):
                req = {k: v[0] for k, v in urllib.parse.parse_qs(data.decode("ascii")).items()}
            else:
                try:
                    req = json.loads(data.decode("utf-8"))
                except ValueError:
                    req = {"invalid": data.decode("utf-8", "replace")}
            if not isinstance(req, dict):
                req = {"invalid": req}
            if "phone" not in req:  # a configured template names the fields otherwise
                req["fields"] = dict(req)
                for k in ("mobile", "to", "phone"):
                    if k in req["fields"]:
                        req["phone"] = req["fields"][k]
            req.update({"method": self.command, "path": path, "raw": data.decode("utf-8", "replace"),
                        "headers": {k.lower(): v for k, v in self.headers.items()}})
            with lock:
                step = script.pop(0) if script else "200"
            if req.get("phone") in args.perm:
                step = "400"
            record = dict(req, t=time.time(), content_type=self.headers.get("Content-Type"))
            if step == "timeout":
                record["answer"] = "timeout"
                _append(args.log, record)
                time.sleep(args.sleep)
                try:
                    self._answer(200)
                except OSError:
                    pass
                return
            nak = step == "200nak"
            code, _, retry = ("200" if nak else step).partition(":")
            record["answer"] = int(code)
            if args.delay:  # a slow gateway: the request is in its log before it answers
                _append(args.log, record)
                time.sleep(args.delay)
            else:
                _append(args.log, record)
            try:
                self._answer(int(code), retry, nak)
            except OSError:
                pass  # the client is gone (killed, or it gave up waiting)

        def _answer(self, code, retry="", nak=False):
            body = b'{"ok":%s}' % (b"true" if code < 300 else b"false")
            if code < 300 and args.answer:
                body = args.answer.encode("utf-8")
            if nak:
                body = b'{"ok":false,"error":"number blocked"}'
            self.send_response(code)
            if retry:
                self.send_header("Retry-After", retry)
            if 300 <= code < 400:
                self.send_header("Location", "/moved")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print("port %d" % server.server_address[1], flush=True)
    server.serve_forever()


_PORTS_LOCK = os.path.join(tempfile.gettempdir(), "civicdesk-test-ports.lock")
_ports_fd = None     # held open while this process lives: its byte-range locks are its ports
_ports_taken = set()


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port():
    """A port nothing listens on, for a peer started later on a known port (or for an address
    that must refuse connections). It is taken below the kernel's ephemeral range, where no
    port-0 listener (a daemon, a peer) and no outgoing connection of any process gets its port,
    and locked for as long as this process lives (one byte of a shared lock file per port), so
    that suites running side by side (tests/run) never hand out the same one."""
    global _ports_fd
    if _ports_fd is None:
        try:
            _ports_fd = os.open(_PORTS_LOCK, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError:
            _ports_fd = -1  # not ours to open: the range alone keeps the daemons' ports apart
    low, high = 10000, min(_ephemeral_low(), 65536)
    if high - low < 1000:  # an unusual range: the kernel's own choice, as before
        low, high = 0, 0
    for _ in range(1000):
        port = random.randrange(low, high) if high else 0
        if port in _ports_taken:
            continue
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
            port = s.getsockname()[1]
        except OSError:
            continue
        finally:
            s.close()
        try:
            if _ports_fd >= 0:
                fcntl.lockf(_ports_fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, port)
        except OSError:
            continue  # another process holds it
        _ports_taken.add(port)
        return port
    raise RuntimeError("no free port")


class Peer:
    """Runs this file as a peer program; records in self.log (a JSON-lines file)."""

    def __init__(self, kind, tmpdir, *args, port=0):
        self.kind = kind
        self.log = os.path.join(tmpdir, "%s-%d.log" % (kind, id(self)))
        self.args = list(args)
        self.port = port
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [sys.executable, HERE, self.kind, "--log", self.log, "--port", str(self.port),
             *self.args], stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("port "):
            raise RuntimeError("%s peer did not start: %r" % (self.kind, line))
        self.port = int(line.split()[1])
        return self

    def restart(self, *args):
        """Stops the peer and starts it again on the same port with the options args, its log
        going on (a slow server made quick once the test no longer needs it slow)."""
        self.stop()
        self.args = list(args)
        return self.start()

    def stop(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc.stdout.close()
            self.proc = None

    def records(self):
        if not os.path.exists(self.log):
            return []
        with open(self.log, "rb") as f:
            data = f.read()
        # only whole lines: the peer may be writing the last one (a large message is written
        # in more than one piece), which a later call reads whole
        lines = data.split(b"\n")[:-1]
        return [json.loads(line.decode("utf-8")) for line in lines if line.strip()]


def close_all(server, peers, *dirs):
    """Stops the daemon (None: none) and then every peer, and removes the folders, each step
    taken even when one before it fails."""
    try:
        if server is not None:
            server.cleanup()
    finally:
        try:
            for p in peers:
                p.stop()
        finally:
            for d in dirs:
                if d:
                    shutil.rmtree(d, ignore_errors=True)


def _prepare(owner):
    """Gives owner (a test, or a test class) its folders, an empty list of peers and no daemon;
    returns the function that stops and removes them."""
    owner.tmp = tempfile.mkdtemp(prefix=owner.PREFIX)
    owner.dbdir = tempfile.mkdtemp(prefix=owner.PREFIX + "db-")
    owner.peers = []
    owner.server = None
    return lambda: close_all(owner.server, owner.peers, owner.tmp, owner.dbdir)


class PeerTest:
    """Mixin (before unittest.TestCase) for tests that each start their own daemon and peers:
    self.tmp (the peers' logs), self.dbdir (a database folder that outlives the daemon's
    restarts), self.peer() to start a peer and self.server, which the test sets. After each
    test, however it ended, the daemon and the peers are stopped and the folders removed."""
    PREFIX = "civicdesk-peers-"

    def setUp(self):
        super().setUp()
        self.addCleanup(_prepare(self))

    def peer(self, kind, *args, port=0):
        """Starts a peer of kind ("smtp" or "sms") with the program's options args."""
        p = Peer(kind, self.tmp, *args, port=port)
        self.peers.append(p)  # stopped afterwards even if it fails to start
        return p.start()


class PeerClass:
    """Mixin (before unittest.TestCase) for tests that share one daemon: cls.smtp (an SMTP
    server started with SMTP_ARGS), cls.sms (an SMS gateway, SMS_ARGS), cls.tmp, cls.dbdir, and
    cls.server, which the class's start_daemon() starts (given the class; it may use the two
    peers' ports and cls.dbdir). After the class, or when its setup fails, the daemon and the
    peers are stopped and the folders removed."""
    PREFIX = "civicdesk-peers-"
    SMTP_ARGS = ()
    SMS_ARGS = ()

    @classmethod
    def start_daemon(cls):
        raise NotImplementedError("a PeerClass defines start_daemon")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.addClassCleanup(_prepare(cls))
        cls.smtp = Peer("smtp", cls.tmp, *cls.SMTP_ARGS)
        cls.sms = Peer("sms", cls.tmp, *cls.SMS_ARGS)
        cls.peers += [cls.smtp, cls.sms]
        cls.smtp.start()
        cls.sms.start()
        cls.server = cls.start_daemon()


def wait_for(cond, timeout=30.0, what="condition"):
    """Polls cond() until it returns something true; returns it, or raises after timeout."""
    deadline = time.time() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.time() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.05)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("kind", choices=("smtp", "sms"))
    p.add_argument("--log", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--reject", action="append", default=[])
    p.add_argument("--tempfail", action="append", default=[])
    p.add_argument("--script", default="")
    p.add_argument("--perm", action="append", default=[])
    p.add_argument("--sleep", type=float, default=3.0)
    p.add_argument("--delay", type=float, default=0.0)
    p.add_argument("--data-script", default="")
    p.add_argument("--hold-data", type=int, default=0)
    p.add_argument("--reject-from", action="append", default=[])
    p.add_argument("--auth", default="")
    p.add_argument("--tls", default="")
    p.add_argument("--tls-no-tickets", action="store_true")
    p.add_argument("--smtps", default="")
    p.add_argument("--answer", default="")
    args = p.parse_args()
    if args.kind == "smtp":
        serve_smtp(args)
    else:
        serve_sms(args)


if __name__ == "__main__":
    main()
