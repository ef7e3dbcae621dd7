"""A real ClamAV daemon (Debian's clamav-daemon) for tests: started in its own temporary folder
with its own configuration, a local socket and a signature database written here (one body
signature matching the EICAR test string anywhere in a file; no freshclam, no network), and
stopped afterwards."""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

EICAR = (b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*")
SIGNATURE = "Civicdesk.Test.EICAR"

CONF = """\
LocalSocket {d}/clamd.sock
DatabaseDirectory {d}/db
TemporaryDirectory {d}/tmp
LogFile {d}/clamd.log
PidFile {d}/clamd.pid
Foreground yes
Bytecode no
StreamMaxLength 25M
"""

CLAMD = "/usr/sbin/clamd"


def available():
    return os.path.exists(CLAMD)


class Clamd:
    def __init__(self, socket_path=None):
        self.dir = tempfile.mkdtemp(prefix="civicdesk-clamd-")
        self.socket = socket_path or os.path.join(self.dir, "clamd.sock")
        self.proc = None

    def start(self, timeout=60):
        os.makedirs(os.path.join(self.dir, "db"), exist_ok=True)
        os.makedirs(os.path.join(self.dir, "tmp"), exist_ok=True)
        # An extended body signature: any file type, any offset, the EICAR string as hex.
        with open(os.path.join(self.dir, "db", "civicdesk-test.ndb"), "w") as f:
            f.write("%s:0:*:%s\n" % (SIGNATURE, EICAR.hex()))
        conf = os.path.join(self.dir, "clamd.conf")
        with open(conf, "w") as f:
            f.write(CONF.format(d=self.dir).replace(os.path.join(self.dir, "clamd.sock"),
                                                   self.socket))
        self.proc = subprocess.Popen([CLAMD, "--config-file=" + conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("clamd exited:\n" + self.log())
            if self.ping():
                return self
            time.sleep(0.1)
        raise RuntimeError("clamd did not answer PING:\n" + self.log())

    def ping(self):
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(2)
            s.connect(self.socket)
            s.sendall(b"zPING\0")
            ok = s.recv(16).startswith(b"PONG")
            s.close()
            return ok
        except OSError:
            return False

    def log(self):
        try:
            with open(os.path.join(self.dir, "clamd.log"), errors="replace") as f:
                return f.read()[-3000:]
        except OSError:
            return ""

    def stop(self):
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
