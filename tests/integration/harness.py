"""Integration-test harness: runs unittest test cases and prints TAP lines for tests/run.

Also starts the real daemon (`civicdesk serve`) on a random port with a fresh database and
talks to it over HTTP with the standard library's client (http.client).
"""
import atexit
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

BIN = os.path.abspath(os.environ.get("CIVICDESK_BIN", "build/test/civicdesk"))
# The schema version a new database gets: the number of the newest migration in schema/.
SCHEMA_LATEST = max(int(f[:3]) for f in os.listdir(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "schema"))
    if f.endswith(".sql"))
# Takes migration 017 (the statistics' first due time) back out; first in the undo chain.
UNDO_017 = """
    ALTER TABLE item_facts DROP COLUMN first_due;
"""
# Takes migration 009 (the audit chain) back out of a database, for tests that make a database
# look like one written by an older civicdesk.
UNDO_009 = """
    DROP INDEX login_failures_addr;
    DROP INDEX login_failures_name_addr;
    DROP TRIGGER audit_no_update;
    ALTER TABLE audit DROP COLUMN hash;
    CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""
# Takes migration 011 (workflow: loaded calendars, resumed clocks, due times in the history)
# back out; after UNDO_017, before UNDO_009.
UNDO_011 = """
    DROP TABLE calendar_files;
    DROP TABLE calendar_applied;
    DROP TABLE calendar_state;
    ALTER TABLE clocks DROP COLUMN resumed_at;
    ALTER TABLE history DROP COLUMN clock;
    ALTER TABLE history DROP COLUMN due;
"""
# Takes migration 015 (TOTP, attachment scans, screening, audit archives) back out; it comes
# first in any UNDO sequence. (015 also runs again on a database that still has it.)
UNDO_015 = """
    DROP TRIGGER audit_no_delete;
    CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    DROP TABLE audit_archives;
    DROP TABLE screening;
    DROP TABLE attachment_scans;
    DROP TABLE totp_recovery;
    DROP TABLE totp;
"""
# Takes migration 006 (mail-in) back out, after UNDO_009.
UNDO_006 = """
    DROP TABLE mail_in;
"""
# Takes migration 013 (mail-in: bounce look-up, acknowledgement limit) back out, before
# UNDO_009 (013 is written to be applied twice, so older-schema tests may leave it).
UNDO_013 = """
    DROP INDEX IF EXISTS outbox_message_id;
    DROP TABLE IF EXISTS mail_ack;
"""
# Takes migration 004 (workflow and privacy, #14) back out, for the same tests.
UNDO_004 = """
    DROP INDEX items_o311;
    DROP INDEX items_merged;
    DROP TABLE public_versions;
    ALTER TABLE items DROP COLUMN address;
    ALTER TABLE items DROP COLUMN lat;
    ALTER TABLE items DROP COLUMN lng;
    ALTER TABLE items DROP COLUMN waiting_since;
"""

# Takes migration 019 (the ladder's entries by time and its fan-out, #15) back out: one mark per
# item again, as 018 left it. Before UNDO_018.
UNDO_019 = """
    DROP TABLE ladder_fanout;
    DROP TRIGGER ladder_item_insert;
    DROP TRIGGER ladder_item_update;
    CREATE TABLE ladder_v1 (item_id INTEGER PRIMARY KEY REFERENCES items(id),
      next_at INTEGER NOT NULL);
    INSERT INTO ladder_v1 (item_id, next_at) SELECT id, coalesce(
      (SELECT min(next_at) FROM ladder WHERE item_id = items.id), 9223372036854775807)
      FROM items;
    DROP TABLE ladder;
    ALTER TABLE ladder_v1 RENAME TO ladder;
    CREATE INDEX ladder_next ON ladder(next_at) WHERE next_at < 9223372036854775807;
    CREATE TRIGGER ladder_item_insert AFTER INSERT ON items
    BEGIN INSERT INTO ladder(item_id, next_at) VALUES (NEW.id, 0)
      ON CONFLICT (item_id) DO UPDATE SET next_at = 0; END;
    CREATE TRIGGER ladder_item_update AFTER UPDATE ON items
    BEGIN INSERT INTO ladder(item_id, next_at) VALUES (NEW.id, 0)
      ON CONFLICT (item_id) DO UPDATE SET next_at = 0; END;
"""

# Takes migration 018 (the notifiers' indexes, #15) back out: outbox_once over every row,
# outbox_item again, ladder_next over every item. Before UNDO_005 when both are used.
UNDO_018 = """
    DROP INDEX outbox_once;
    CREATE UNIQUE INDEX outbox_once
      ON outbox(coalesce(item_id, 0), coalesce(clock, ''), step, channel, recipient);
    CREATE INDEX outbox_item ON outbox(item_id);
    DROP INDEX ladder_next;
    CREATE INDEX ladder_next ON ladder(next_at);
"""

# Takes migration 005 (the notifiers: outbox delivery state, ladder marks) back out; undo in
# the reverse order of the migrations: UNDO_009 + UNDO_005 + UNDO_004.
UNDO_005 = """
    DROP TRIGGER ladder_item_insert;
    DROP TRIGGER ladder_item_update;
    DROP TABLE ladder;
    DROP TABLE notify_missing;
    DROP TABLE notify_runs;
    CREATE TABLE outbox_v1 (
      id INTEGER PRIMARY KEY, item_id INTEGER REFERENCES items(id), clock TEXT,
      step TEXT NOT NULL, channel TEXT NOT NULL CHECK (channel IN ('email','sms')),
      recipient TEXT NOT NULL, subject TEXT, body TEXT NOT NULL, created INTEGER NOT NULL,
      send_after INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, sent_at INTEGER,
      last_error TEXT, UNIQUE (item_id, clock, step, channel, recipient));
    INSERT INTO outbox_v1 SELECT id, item_id, clock, step, channel, recipient, subject, body,
      created, send_after, attempts, sent_at, last_error FROM outbox;
    DROP TABLE outbox;
    ALTER TABLE outbox_v1 RENAME TO outbox;
    CREATE INDEX outbox_pending ON outbox(sent_at, send_after);
"""

# Takes migration 012 (the notifiers' reminders of supervision orders) back out.
UNDO_012 = """
    DROP TABLE supervision_reminders;
"""

# Takes migration 016 (performance) back out: the board's index and its triggers, the
# statistics' mark, the state triggers and Open311's index as 003 and 004 wrote them; the
# rewritten CHECK texts accept and refuse the same values, and 016 applied again leaves them as
# they are. Undo it before UNDO_009.
UNDO_016 = """
    DROP TRIGGER board_fts_insert;
    DROP TRIGGER board_fts_update;
    DROP TRIGGER board_fts_delete;
    DROP TABLE board_fts;
    DROP TABLE board_pos;
    DROP TRIGGER stats_checked_reset;
    DROP TABLE stats_checked;
    DROP TRIGGER items_state_insert;
    DROP TRIGGER items_state_update;
    CREATE TRIGGER items_state_insert BEFORE INSERT ON items
    WHEN NEW.state NOT IN ('received', 'assigned', 'in_progress', 'waiting_citizen',
      'extension_requested', 'drafted', 'in_review', 'returned', 'approved', 'replied',
      'closed', 'forwarded', 'rejected', 'merged')
    BEGIN SELECT RAISE(ABORT, 'items.state: not a workflow state'); END;
    CREATE TRIGGER items_state_update BEFORE UPDATE OF state ON items
    WHEN NEW.state NOT IN ('received', 'assigned', 'in_progress', 'waiting_citizen',
      'extension_requested', 'drafted', 'in_review', 'returned', 'approved', 'replied',
      'closed', 'forwarded', 'rejected', 'merged')
    BEGIN SELECT RAISE(ABORT, 'items.state: not a workflow state'); END;
    DROP INDEX items_o311;
    CREATE INDEX items_o311 ON items(kind, (state IN ('replied','closed','rejected','merged')),
      received, id) WHERE publish = 1;
"""


# Takes migration 021 (the TOTP keys sealed at rest) back out: the totp table as 015 made it
# (only keys written before 021, of 20 bytes, fit). First in the undo chain.
UNDO_021 = """
    CREATE TABLE totp_old (
      account_id INTEGER PRIMARY KEY REFERENCES accounts(id),
      secret BLOB NOT NULL CHECK (length(secret) = 20),
      confirmed INTEGER NOT NULL DEFAULT 0 CHECK (confirmed IN (0, 1)),
      last_step INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL);
    INSERT INTO totp_old SELECT * FROM totp;
    DROP TABLE totp;
    ALTER TABLE totp_old RENAME TO totp;
"""


# Takes migration 027 (the submission path, #20) back out: the three insert triggers on items
# as 016 and 026 wrote them. Before UNDO_026, UNDO_019 and UNDO_016, which drop them.
UNDO_027 = """
    CREATE TRIGGER items_state_insert BEFORE INSERT ON items
    WHEN NOT (NEW.state = 'received' OR NEW.state = 'assigned' OR NEW.state = 'in_progress' OR
              NEW.state = 'waiting_citizen' OR NEW.state = 'extension_requested' OR
              NEW.state = 'drafted' OR NEW.state = 'in_review' OR NEW.state = 'returned' OR
              NEW.state = 'approved' OR NEW.state = 'replied' OR NEW.state = 'closed' OR
              NEW.state = 'forwarded' OR NEW.state = 'rejected' OR NEW.state = 'merged')
    BEGIN SELECT RAISE(ABORT, 'items.state: not a workflow state'); END;
    CREATE TRIGGER ladder_item_insert AFTER INSERT ON items
    BEGIN INSERT OR IGNORE INTO ladder (next_at, seq, item_id) VALUES (0, 0, NEW.id); END;
    CREATE TRIGGER board_fts_insert AFTER INSERT ON items
    WHEN NEW.published = 1 AND NEW.publish = 1
    BEGIN
      INSERT INTO board_fts(rowid, subject, body, reply) VALUES (
        coalesce(NEW.replied_at, 0) * 2147483648 + NEW.id,
        (SELECT group_concat(hex(lower(substr(CAST(NEW.public_subject AS BLOB), i, 6))), ' ')
         FROM board_pos WHERE i <= length(CAST(NEW.public_subject AS BLOB)) AND
           substr(CAST(NEW.public_subject AS BLOB), i, 1) NOT BETWEEN x'80' AND x'BF'),
        (SELECT group_concat(hex(lower(substr(CAST(NEW.public_body AS BLOB), i, 6))), ' ')
         FROM board_pos WHERE i <= length(CAST(NEW.public_body AS BLOB)) AND
           substr(CAST(NEW.public_body AS BLOB), i, 1) NOT BETWEEN x'80' AND x'BF'),
        (SELECT group_concat(hex(lower(substr(CAST(NEW.public_reply AS BLOB), i, 6))), ' ')
         FROM board_pos WHERE i <= length(CAST(NEW.public_reply AS BLOB)) AND
           substr(CAST(NEW.public_reply AS BLOB), i, 1) NOT BETWEEN x'80' AND x'BF'));
    END;
"""


# Every migration after 002 taken back out, newest first: a database as civicdesk wrote it at
# schema 2 (003, 008 and 010 apply again as they are). A new migration adds its UNDO here.
# Takes migration 032 (the mark of a citizen's e-mail on an ended item) back out. Before UNDO_031.
UNDO_032 = """
    DROP INDEX items_citizen_mail;
    ALTER TABLE items DROP COLUMN citizen_mail_at;
"""

# Takes migration 031 (the citizen's language of each item) back out: items without it, as
# civicdesk stored them before. Before UNDO_030.
UNDO_031 = """
    ALTER TABLE items DROP COLUMN lang;
"""

# Takes migration 030 (two b-trees fewer for each submission, #20) back out: items_queue again,
# outbox_once over the acknowledgements too, as 026 wrote it. Before UNDO_029.
UNDO_030 = """
    CREATE INDEX items_queue ON items(next_due, id);
    DROP INDEX outbox_once;
    CREATE UNIQUE INDEX outbox_once
      ON outbox(coalesce(item_id, 0), coalesce(clock, ''), coalesce(step, ''), channel, recipient)
      WHERE lkey IS NULL;
"""

# Takes migration 029 (how each polled mailbox is doing, #16/#19) back out. Before UNDO_027.
UNDO_029 = """
    DROP TABLE mailbox_status;
"""

# Takes migration 026 (the scan's outbox rows and ladder entries appended at the end of each
# index, #15) back out: 022's outbox_once over every row and its one outbox_due, 019's ladder
# keyed by (next_at, item_id). Before UNDO_025.
UNDO_026 = """
    DROP INDEX outbox_keys;
    DROP INDEX outbox_once;
    DROP INDEX outbox_due_email;
    DROP INDEX outbox_due_sms;
    CREATE UNIQUE INDEX outbox_once
      ON outbox(coalesce(lkey, 0), coalesce(item_id, 0), coalesce(clock, ''), coalesce(step, ''),
                channel, recipient);
    CREATE INDEX outbox_due ON outbox(send_after) WHERE state = 'pending';
    DROP TRIGGER ladder_item_insert;
    DROP TRIGGER ladder_item_update;
    CREATE TABLE ladder_v2 (next_at INTEGER NOT NULL, item_id INTEGER NOT NULL,
                            PRIMARY KEY (next_at, item_id)) WITHOUT ROWID;
    INSERT OR IGNORE INTO ladder_v2 (next_at, item_id) SELECT next_at, item_id FROM ladder;
    DROP TABLE ladder;
    ALTER TABLE ladder_v2 RENAME TO ladder;
    CREATE TRIGGER ladder_item_insert AFTER INSERT ON items
    BEGIN INSERT OR IGNORE INTO ladder (next_at, item_id) VALUES (0, NEW.id); END;
    CREATE TRIGGER ladder_item_update AFTER UPDATE ON items
    BEGIN INSERT OR IGNORE INTO ladder (next_at, item_id) VALUES (0, NEW.id); END;
"""

# Takes migration 025 (the outbox's counts and its failed and dropped rows kept by a trigger, #15) back
# out. Before UNDO_022.
UNDO_025 = """
    DROP TRIGGER outbox_counts_state;
    DROP TABLE outbox_counts;
    DROP TABLE outbox_marked;
"""

# Takes migration 022 (the ladder's notices as keys, #15) back out: the outbox as 016-021 left it
# (its UNIQUE and foreign keys, a text in every row), each key row's clock and step written out
# again; a dropped row counts as failed. Before UNDO_021.
UNDO_022 = """
    DROP VIEW outbox_notices;
    CREATE TABLE outbox_v2 (
      id INTEGER PRIMARY KEY, item_id INTEGER REFERENCES items(id), clock TEXT,
      step TEXT NOT NULL, channel TEXT NOT NULL CHECK (channel IN ('email','sms')),
      recipient TEXT NOT NULL, subject TEXT, body TEXT NOT NULL, created INTEGER NOT NULL,
      send_after INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, sent_at INTEGER,
      last_error TEXT, state TEXT NOT NULL DEFAULT 'pending'
      CHECK (state = 'pending' OR state = 'sent' OR state = 'failed'), message_id TEXT,
      give_up_at INTEGER, last_attempt INTEGER, account_id INTEGER REFERENCES accounts(id),
      UNIQUE (item_id, clock, step, channel, recipient));
    INSERT INTO outbox_v2 SELECT id, item_id,
      CASE WHEN lkey IS NULL THEN clock
           ELSE CASE lkey / 10000000000000000 / 2 % 4 WHEN 0 THEN 'forward' WHEN 1 THEN 'reply'
                ELSE 'explain' END END,
      CASE WHEN lkey IS NULL THEN step
           ELSE CASE lkey / 10000000000000000 / 8 WHEN 1 THEN 'remind/' WHEN 2 THEN 'overdue/'
                ELSE 'escalate/' END ||
                printf('%04d-%02d-%02d', lkey / 100000000 % 100000000 / 10000,
                       lkey / 100000000 % 100000000 / 100 % 100, lkey / 100000000 % 100) ||
                CASE WHEN lkey % 100000000 > 0 THEN printf('/%04d-%02d-%02d',
                       lkey % 100000000 / 10000, lkey % 100000000 / 100 % 100, lkey % 100)
                     ELSE '' END END,
      channel, recipient, subject, coalesce(body, ''), created, send_after, attempts, sent_at,
      last_error, CASE state WHEN 'dropped' THEN 'failed' ELSE state END, message_id,
      give_up_at, last_attempt, account_id FROM outbox;
    DROP TABLE outbox;
    ALTER TABLE outbox_v2 RENAME TO outbox;
    CREATE INDEX outbox_due ON outbox(state, channel, send_after);
    CREATE UNIQUE INDEX outbox_once
      ON outbox(coalesce(item_id, 0), coalesce(clock, ''), step, channel, recipient)
      WHERE item_id IS NULL OR clock IS NULL;
    CREATE INDEX outbox_message_id ON outbox(message_id) WHERE message_id IS NOT NULL;
"""

UNDO_TO_2 = (UNDO_032 + UNDO_031 + UNDO_030 + UNDO_029 + UNDO_027 + UNDO_026 + UNDO_025 + UNDO_022 + UNDO_021 + UNDO_019 +
             UNDO_018 + UNDO_017 + UNDO_016 + UNDO_015 + UNDO_013 +
             UNDO_012 +
             UNDO_011 + UNDO_009 + UNDO_006 + UNDO_005 + UNDO_004)


# Staff passwords hashed at libsodium's minimum cost (m=8 KiB, t=1) instead of the interactive one
# (64 MiB, 2 passes) in every daemon and command the suites start: CIVICDESK_TEST_FAST_HASH, read
# by test builds only (service/core/passwords.c). A test of the real cost gives None (Server's
# env, run_cli's) to go without it (test_auth RealPasswordCost); an outer value (0) is kept, to
# measure a suite at the real cost.
os.environ.setdefault("CIVICDESK_TEST_FAST_HASH", "1")

# The sanitizers' options for a command run as a test's setup (Server.cli(leaks=False)): the
# suite's own, without LeakSanitizer, whose check at exit waits some 40 ms per command.
SETUP_ASAN = os.environ.get("ASAN_OPTIONS", "") + ":detect_leaks=0"


def run_cli(*args, stdin=None, env=None, timeout=60):
    """Runs the civicdesk binary; returns CompletedProcess with text stdout/stderr. A value of
    None in env removes that variable."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    for k in [k for k, v in full_env.items() if v is None]:
        del full_env[k]
    return subprocess.run([BIN, *args], input=stdin, capture_output=True, text=True,
                          env=full_env, timeout=timeout)


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # list of (name, value)
        self.body = body        # bytes

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def headers_all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return "<%d %r>" % (self.status, self.body[:300])


SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


class Server:
    """A civicdesk daemon on 127.0.0.1 with its own temporary folder and database."""

    def __init__(self, env=None, args=(), dbdir=None, wrap=(), db_from=None):
        """db_from: a database file (template_db) copied to this daemon's database first."""
        self.own_dir = dbdir is None
        self.wrap = list(wrap)  # a command the daemon runs under (e.g. strace ...)
        self.dir = dbdir or tempfile.mkdtemp(prefix="civicdesk-test-")
        self.db = os.path.join(self.dir, "civicdesk.db")
        if db_from is not None:
            shutil.copyfile(db_from, self.db)
        self.env = dict(os.environ)
        self.env.update({"CIVICDESK_DB": self.db, "CIVICDESK_LISTEN": "127.0.0.1:0"})
        # No second factor for the suites' admins and supervisors unless a test asks for it
        # (test_totp.py); a value of None in env removes a variable (the built-in default).
        self.env.setdefault("CIVICDESK_TOTP_ROLES", "")
        if env:
            self.env.update(env)
        for k in [k for k, v in self.env.items() if v is None]:
            del self.env[k]
        self.args = list(args)
        self.proc = None
        self.port = None
        self.startup = []
        self.clock = None  # the injected clock as set by set_clock, passed on to cli()

    def start(self):
        self.proc = subprocess.Popen([*self.wrap, BIN, "serve", *self.args],
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, env=self.env,
                                     cwd=self.dir)
        for line in self.proc.stdout:
            self.startup.append(line.rstrip("\n"))
            if "listening on http://" in line:
                self.port = int(line.rsplit(":", 1)[1].strip().rstrip("/"))
                break
        if self.port is None:
            raise RuntimeError("server did not start:\n" + "\n".join(self.startup))
        return self

    def drain(self):
        """Reads the daemon's output in a thread from now on, so that a long load (one log
        line per request) never fills the pipe and blocks the daemon; stop() collects it."""
        def run(out, sink):
            for line in out:
                sink.append(line.rstrip("\n"))
        self.drained = []
        self.drainer = threading.Thread(target=run, args=(self.proc.stdout, self.drained),
                                        daemon=True)
        self.drainer.start()
        return self

    def stop(self):
        if self.proc is not None and getattr(self, "drainer", None) is not None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.drainer.join(timeout=20)
            self.drainer = None
            rest = "\n".join(self.drained)
        elif self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rest = self.proc.communicate(timeout=20)[0]
            except subprocess.TimeoutExpired:
                self.proc.kill()
                rest = self.proc.communicate()[0]
        if self.proc is not None:
            self.exit_code = self.proc.returncode
            self.output = "\n".join(self.startup) + "\n" + (rest or "")
            self.proc = None
        return self

    def stop_traced(self):
        """stop() for a daemon started under a wrapper that ends with it (strace): the signal
        goes to the daemon, the wrapper's child."""
        if self.proc is None:
            return self
        kids = []
        for tid in os.listdir("/proc/%d/task" % self.proc.pid):
            with open("/proc/%d/task/%s/children" % (self.proc.pid, tid)) as f:
                kids += [int(k) for k in f.read().split()]
        for k in kids:
            os.kill(k, signal.SIGTERM)
        return self.stop()

    def cleanup(self):
        """Stops the daemon and removes its folder; raises if the daemon reported a sanitizer
        error (ASan, UBSan) at any time, so that every suite fails on one."""
        self.stop()
        if self.own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)
        out = getattr(self, "output", "")
        for marker in SANITIZER_MARKERS:
            if marker in out:
                raise AssertionError("the daemon reported %r:\n%s" % (marker, out[-4000:]))

    def cleanup_clean(self):
        """cleanup() for a daemon that must also have stopped cleanly: exit status 0 (a class's
        tearDown, after its tests ran the code under test in this daemon)."""
        self.stop()
        try:
            if self.exit_code != 0:
                raise AssertionError("the daemon exited with %s:\n%s" %
                                     (self.exit_code, self.output[-3000:]))
        finally:
            self.cleanup()

    def cli(self, *args, stdin=None, leaks=True):
        """Runs a civicdesk command against this server's database (at the server's injected
        clock, when one is set, and with its password-hashing cost). leaks=False: without
        LeakSanitizer's check at exit (40 ms of waiting each), for a test's setup; the commands
        the tests are about keep it."""
        env = {"CIVICDESK_DB": self.db,
               "CIVICDESK_TEST_FAST_HASH": self.env.get("CIVICDESK_TEST_FAST_HASH")}
        if self.clock is not None:
            env["CIVICDESK_TEST_NOW"] = self.clock
        if not leaks:
            env["ASAN_OPTIONS"] = SETUP_ASAN
        return run_cli(*args, stdin=stdin, env=env)

    def add_user(self, name, role, section=None, password="Test-Passw0rd"):
        """Creates an account with the command line (no forced change); returns the password.
        (A setup step: the leak check of `user add` is the business of test_auth's own calls.)"""
        args = ["user", "add", name, "--role", role, "--password-stdin"]
        if section is not None:
            args += ["--section", section]
        r = self.cli(*args, stdin=password + "\n", leaks=False)
        if r.returncode != 0:
            raise RuntimeError("user add %s: %d %s" % (name, r.returncode, r.stderr))
        return password

    def login(self, name, password):
        """Logs in; returns a Staff session, or raises if the login is refused."""
        r = self.request("POST", "/api/v1/login",
                         json_body={"username": name, "password": password})
        if r.status != 200:
            raise RuntimeError("login %s: %r" % (name, r))
        cookie = r.header("Set-Cookie").split(";", 1)[0]
        return Staff(self, cookie, r.json()["csrf_token"], r.json())

    def staff(self, name, role, section=None):
        """Creates an account and logs it in: a Staff session in one call."""
        return self.login(name, self.add_user(name, role, section))

    def demo_passwords(self):
        """The demo accounts printed at start: {name: one-time password}."""
        out = {}
        for line in self.startup:
            if line.startswith("demo account: "):
                out[line.split()[2]] = line.rsplit(" ", 1)[1]
        return out

    def set_clock(self, now):
        """Sets the injected clock of a test build: local "2025-09-30T10:00", Unix seconds, or
        None for real time. Commands run with cli() then use it too."""
        r = self.request("POST", "/api/v1/test/clock", json_body={"now": now})
        if r.status != 200:
            raise RuntimeError("test clock: %r" % (r,))
        if isinstance(now, int):
            now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(r.json()["now"]))
        self.clock = now

    def request(self, method, path, body=None, headers=None, json_body=None):
        hdrs = dict(headers or {})
        if json_body is not None:
            body = json.dumps(json_body).encode("utf-8")
            hdrs.setdefault("Content-Type", "application/json")
        if isinstance(body, str):
            body = body.encode("utf-8")
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=hdrs)
            r = conn.getresponse()
            return Response(r.status, r.getheaders(), r.read())
        finally:
            conn.close()


_templates = {}  # key -> (folder, database file) of template_db


def template_db(key, env, setup):
    """A database made once per process for key: a daemon started with env on a new database,
    setup(server) run against it (accounts, sections …), and the database copied with
    `civicdesk backup` before the daemon stops. Returns the copy's path, for Server(db_from=…):
    a suite whose test classes each start a daemon with the same accounts gets them as if each
    had made them (the same rows, by the same commands), without a new database's migrations and
    demo accounts and the accounts' password hashes again for every class. The startup lines of
    such a daemon do not list the demo accounts (printed only when a database is made)."""
    if key not in _templates:
        srv = Server(env=env).start()
        try:
            setup(srv)
            folder = tempfile.mkdtemp(prefix="civicdesk-template-")
            path = os.path.join(folder, "template.db")
            r = srv.cli("backup", path, leaks=False)
            if r.returncode != 0:
                raise RuntimeError("template %s: backup: %s" % (key, r.stderr))
        finally:
            srv.cleanup()
        _templates[key] = (folder, path)
    return _templates[key][1]


def new_db():
    """A copy of a new database (template_db with nothing added) for Server(db_from=...): what a
    first start makes (the schema, the demo sections and accounts) without making it again.
    Its daemon's startup lines do not list the demo accounts' passwords."""
    return template_db("new", {}, lambda srv: None)


def _remove_templates():
    for folder, _ in _templates.values():
        shutil.rmtree(folder, ignore_errors=True)


atexit.register(_remove_templates)


class Staff:
    """A logged-in staff session: sends its cookie, and its CSRF token (X-CSRF-Token) on every
    request but GET and HEAD unless csrf=False."""

    def __init__(self, server, cookie, csrf_token, info):
        self.server = server
        self.cookie = cookie        # "civicdesk_session=…"
        self.csrf_token = csrf_token
        self.info = info            # the login answer

    def request(self, method, path, json_body=None, body=None, headers=None, csrf=True):
        hdrs = {"Cookie": self.cookie}
        if csrf and method not in ("GET", "HEAD"):
            hdrs["X-CSRF-Token"] = self.csrf_token
        hdrs.update(headers or {})
        return self.server.request(method, path, body=body, headers=hdrs, json_body=json_body)


SUITE = os.path.basename(sys.argv[0])


class TapResult(unittest.TextTestResult):
    """Prints one TAP line per test and per subTest (a table's rows count one by one)."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.n = 0
        # HARNESS_TIMES=FILE: each test's seconds, and the seconds between one test's end and
        # the next one's start (a class's setUpClass and tearDownClass), appended to FILE
        self.times = os.environ.get("HARNESS_TIMES", "")
        self.t_end = self.t_start = time.monotonic()

    def startTest(self, test):
        super().startTest(test)
        self.t_start = time.monotonic()
        if self.times:
            with open(self.times, "a") as f:
                f.write("%.2f between %s %s\n" % (self.t_start - self.t_end, SUITE, test.id()))

    def stopTest(self, test):
        super().stopTest(test)
        self.t_end = time.monotonic()
        if self.times:
            with open(self.times, "a") as f:
                f.write("%.2f test %s %s\n" % (self.t_end - self.t_start, SUITE, test.id()))

    def stopTestRun(self):
        super().stopTestRun()
        if self.times:
            with open(self.times, "a") as f:
                f.write("%.2f between %s (the end)\n" % (time.monotonic() - self.t_end, SUITE))

    def _line(self, test, ok, extra=""):
        self.n += 1
        print("%s %d - %s%s" % ("ok" if ok else "not ok", self.n, test.id(), extra), flush=True)

    def addSuccess(self, test):
        super().addSuccess(test)
        self._line(test, True)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._line(test, False)
        for l in self._exc_info_to_string(err, test).splitlines():
            print("# " + l)

    def addError(self, test, err):
        super().addError(test, err)
        self._line(test, False)
        for l in self._exc_info_to_string(err, test).splitlines():
            print("# " + l)

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is None:
            self._line(subtest, True)
            return
        self._line(subtest, False)
        for l in self._exc_info_to_string(err, test).splitlines():
            print("# " + l)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._line(test, True, " # SKIP " + reason)

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._line(test, True, " # TODO a known deviation, expected to fail until it is fixed")

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._line(test, False, " # passes now: take its expectedFailure away")


def exchange(port, data, timeout=20):
    """Sends data (one or more whole requests) on a fresh connection to 127.0.0.1:port and
    reads until the server closes it: the answers, as parse_answers gives them. A server that
    waits for more (a body it cannot delimit) makes this raise socket.timeout."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as c:
        c.sendall(data)
        out = b""
        while True:
            b = c.recv(65536)
            if not b:
                break
            out += b
    return parse_answers(out)


def parse_answers(out):
    """Splits the raw bytes of one or more HTTP/1.1 answers read off a socket (each with its
    Content-Length) into [(status, headers {lower name: value}, body bytes)] of each."""
    answers = []
    while out:
        head, _, out = out.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in
                   (line.partition(":") for line in lines[1:])}
        n = int(headers.get("content-length", "0"))
        answers.append((int(lines[0].split()[1]), headers, out[:n]))
        out = out[n:]
    return answers


def main():
    """Runs the test cases of the calling module; exit status 1 if any failed. HARNESS_PART=K/N
    runs only the K-th of N parts, the module's test classes dealt out in turn in the loader's
    order (tests/run, so that its longest suites run as parts at once, each part's classes
    with their own daemons and peers as before)."""
    module = sys.modules["__main__"]
    suite = unittest.defaultTestLoader.loadTestsFromModule(module)
    part = os.environ.get("HARNESS_PART", "")
    if part:
        k, _, n = part.partition("/")
        if not (k.isdigit() and n.isdigit() and 1 <= int(k) <= int(n)):
            raise SystemExit("HARNESS_PART=%s: K/N with 1 <= K <= N" % part)
        classes = [s for s in suite if s.countTestCases() > 0]
        suite = unittest.TestSuite(classes[int(k) - 1::int(n)])
    runner = unittest.TextTestRunner(stream=open(os.devnull, "w"), resultclass=TapResult,
                                     verbosity=0)
    result = runner.run(suite)
    print("1..%d" % result.n)
    sys.exit(0 if result.wasSuccessful() else 1)
