"""A real Dovecot IMAP server (Debian's dovecot-imapd) for tests and benchmarks: started in its
own temporary folder on a free 127.0.0.1 port with a minimal configuration (one passwd-file user,
a static userdb, Maildir in the folder), as root, and stopped afterwards."""
import imaplib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import peers  # noqa: E402 (beside this file: the suites put its folder on sys.path)

USER, PASSWORD = "civic", "Mailbox-Passw0rd"

CONF = """
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{d}/mail/%u
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/passwd
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={d}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""


def free_port():
    """A port for Dovecot to listen on: peers.free_port (locked, apart from port-0 ports)."""
    return peers.free_port()


class Dovecot:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="civicdesk-dovecot-")
        os.chmod(self.dir, 0o755)
        for sub in ("run", "state", "mail", "home"):
            os.makedirs(os.path.join(self.dir, sub))
        shutil.chown(os.path.join(self.dir, "mail"), "nobody", "nogroup")
        shutil.chown(os.path.join(self.dir, "home"), "nobody", "nogroup")
        with open(os.path.join(self.dir, "passwd"), "w") as f:
            f.write("%s:{PLAIN}%s\n" % (USER, PASSWORD))
        self.port = free_port()
        self.conf = os.path.join(self.dir, "dovecot.conf")
        with open(self.conf, "w") as f:
            f.write(CONF.format(d=self.dir, port=self.port))
        self.proc = None

    @property
    def url(self):
        return "imap://%s:%s@127.0.0.1:%d/INBOX" % (USER, PASSWORD, self.port)

    def start(self, deadline=20):
        # in a process group of its own, which stop() ends at once
        self.proc = subprocess.Popen(["dovecot", "-F", "-c", self.conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        end = time.time() + deadline
        while time.time() < end:
            self.pgid = self.proc.pid
            try:
                # ready when a client gets the IMAP greeting, not only the TCP handshake (the
                # master listens before its login process can answer)
                with socket.create_connection(("127.0.0.1", self.port), timeout=2) as c:
                    if c.recv(64).startswith(b"* OK"):
                        return self
                time.sleep(0.05)
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError("dovecot exited: " + self.log())
                time.sleep(0.05)
        raise RuntimeError("dovecot did not start: " + self.log())

    def stop(self):
        """Kills the master and its children (imap, imap-login, anvil, log, config) at once:
        a SIGTERM'd master waited 1 to 6 s for its children, for nothing a test looks at (each
        APPEND and flag change is on the disk when the client has its answer)."""
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=20)
            self.proc = None
            # the group's last process gone (the listening socket closed with it), and the pid
            # file, which a killed master leaves, removed for the next start
            end = time.time() + 10
            while self._group_alive() and time.time() < end:
                time.sleep(0.01)
            try:
                os.unlink(os.path.join(self.dir, "run", "master.pid"))
            except FileNotFoundError:
                pass

    def _group_alive(self):
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % pid) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z" and int(fields[2]) == self.pgid:
                return True
        return False

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def log(self):
        try:
            with open(os.path.join(self.dir, "dovecot.log"), errors="replace") as f:
                return f.read()[-3000:]
        except OSError:
            return ""

    def client(self):
        m = imaplib.IMAP4("127.0.0.1", self.port, timeout=30)
        m.login(USER, PASSWORD)
        return m

    def append(self, messages, mailbox="INBOX"):
        """APPENDs each message (bytes) to mailbox (created if need be); returns their UIDs."""
        m = self.client()
        uids = []
        try:
            if mailbox != "INBOX":
                m.create(mailbox)
            for raw in messages:
                typ, data = m.append(mailbox, None, None, raw)
                if typ != "OK":
                    raise RuntimeError("APPEND: %r" % data)
                uids.append(int(data[0].split(b"]")[0].split()[-1]))
        finally:
            m.logout()
        return uids

    def cpu(self):
        """CPU seconds (user + system) of the master and of its children that ended (each IMAP
        connection's process ends with it and is reaped by the master), from /proc; waits
        (bounded) until no imap process of this Dovecot is left."""
        tick = os.sysconf("SC_CLK_TCK")
        end = time.time() + 10
        while time.time() < end and self._imap_children():
            time.sleep(0.02)
        with open("/proc/%d/stat" % self.proc.pid) as f:
            v = f.read().rsplit(")", 1)[1].split()
        return sum(int(x) for x in v[11:15]) / tick

    def _imap_children(self):
        n = 0
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % pid) as f:
                    s = f.read()
            except OSError:
                continue
            name, rest = s.split(" (", 1)[1].rsplit(")", 1)
            if int(rest.split()[1]) == self.proc.pid and name.startswith("imap"):
                n += 1
        return n

    def flags(self, mailbox="INBOX"):
        """{uid: set of flags} of mailbox."""
        m = self.client()
        try:
            m.select(mailbox, readonly=True)
            typ, data = m.uid("FETCH", "1:*", "(FLAGS)")
            out = {}
            for line in data:
                if not line:
                    continue
                s = line.decode() if isinstance(line, bytes) else line[0].decode()
                uid = int(s.split("UID ")[1].split()[0])
                flags = s.split("FLAGS (")[1].split(")")[0].split()
                out[uid] = set(flags)
            return out
        finally:
            m.logout()
