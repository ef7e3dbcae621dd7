"""`civicdesk calendar …` from the outside: outputs, exit codes, --calendar, --tz, bad files."""
import os
import shutil
import tempfile
import unittest

import harness
from harness import run_cli

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CN = os.path.join(ROOT, "sla", "calendars", "cn")

# Neither the caller's environment nor a working directory should change the answers.
CLEAN = {"CIVICDESK_CALENDAR_DIR": "", "CIVICDESK_TZ": ""}


def cal(*args, env=None):
    full = dict(CLEAN)
    full.update(env or {})
    return run_cli("calendar", *args, env=full)


class Arithmetic(unittest.TestCase):
    def test_due_national_day_2025(self):
        r = cal("due", "--from", "2025-09-30", "--days", "5")
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "2025-10-14\n", ""))

    def test_due_with_time_and_option_forms(self):
        for args in (["--from", "2025-09-30T23:59", "--days", "5"],
                     ["--from=2025-09-30T09:00", "--days=5"],
                     ["--days", "5", "--from", "2025-09-30T15:59Z"]):
            r = cal("due", *args)
            self.assertEqual((r.returncode, r.stdout), (0, "2025-10-14\n"), args)

    def test_due_local_date_of_receipt(self):
        # 16:30 UTC on 29 Sep is 00:30 on 30 Sep in Shanghai, the same instant 12:30 in New York.
        r = cal("due", "--from", "2025-09-29T16:30Z", "--days", "1")
        self.assertEqual(r.stdout, "2025-10-09\n")
        r = cal("due", "--from", "2025-09-29T16:30Z", "--days", "1", "--tz", "America/New_York")
        self.assertEqual(r.stdout, "2025-09-30\n")
        r = cal("due", "--from", "2025-09-29T16:30Z", "--days", "1",
                env={"CIVICDESK_TZ": "America/New_York"})
        self.assertEqual(r.stdout, "2025-09-30\n")

    def test_due_zero_days_and_calendar_days(self):
        self.assertEqual(cal("due", "--from", "2025-10-03", "--days", "0").stdout, "2025-10-03\n")
        r = cal("due", "--from", "2025-09-24", "--days", "7", "--calendar-days")
        self.assertEqual(r.stdout, "2025-10-09\n")

    def test_is_workday(self):
        for date, want in (("2025-10-11", "work"), ("2025-10-08", "off"), ("2025-10-09", "work"),
                           ("2025-10-12", "off"), ("2024-02-09", "work"), ("2026-02-28", "work")):
            r = cal("is-workday", date)
            self.assertEqual((r.returncode, r.stdout), (0, want + "\n"), date)

    def test_between(self):
        self.assertEqual(cal("between", "2025-09-30", "2025-10-14").stdout, "5\n")
        self.assertEqual(cal("between", "2025-10-14", "2025-09-30").stdout, "-5\n")
        self.assertEqual(cal("between", "2025-10-01", "2025-10-08").stdout, "0\n")

    def test_explain(self):
        r = cal("explain", "--from", "2025-09-30", "--days", "5")
        self.assertEqual(r.returncode, 0)
        lines = r.stdout.splitlines()
        self.assertEqual(lines[0], "2025-10-14")
        self.assertEqual(lines[1], "2025-10-01 off 国庆节、中秋节")
        self.assertEqual(lines[-1], "2025-10-11 work 国庆节、中秋节")
        self.assertEqual(len(lines), 10)

    def test_explain_without_overrides(self):
        r = cal("explain", "--from", "2025-11-03", "--days", "5")
        self.assertEqual(r.stdout, "2025-11-10\n")

    def test_outside_calendar_is_provisional(self):
        r = cal("due", "--from", "2026-12-30", "--days", "5")
        self.assertEqual((r.returncode, r.stdout), (0, "2027-01-06\n"))
        self.assertIn("provisional", r.stderr)
        self.assertIn("2024-01-01..2026-12-31", r.stderr)

    def test_last_year_of_dates(self):
        # Dates are years 1900..9999: a due date past 9999 is refused, never printed cut short
        # ("10000-01-0" for 10000-01-03).
        r = cal("due", "--from", "9999-12-20", "--days", "5")
        self.assertEqual((r.returncode, r.stdout), (0, "9999-12-27\n"))
        for cmd in ("due", "explain"):
            for args in (("--from", "9999-12-31", "--days", "1"),
                         ("--from", "9999-12-31", "--days", "3660"),
                         ("--from", "9999-12-31", "--days", "0", "--calendar-days")):
                r = cal(cmd, *args)
                if args[3] == "0":
                    self.assertEqual((r.returncode, r.stdout), (0, "9999-12-31\n"), args)
                    continue
                self.assertEqual((r.returncode, r.stdout), (65, ""), (cmd, args))
                self.assertIn("9999-12-31", r.stderr)


class Check(unittest.TestCase):
    def test_check_shipped_files(self):
        files = sorted(os.path.join(CN, f) for f in os.listdir(CN) if f.endswith(".txt"))
        r = cal("check", *files)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "ok: 2024-01-01..2026-12-31 (108 dates)\n")

    def test_check_builtin(self):
        r = cal("check")
        self.assertEqual((r.returncode, r.stdout), (0, "ok: 2024-01-01..2026-12-31 (108 dates)\n"))

    def test_check_one_year(self):
        r = cal("check", os.path.join(CN, "2025.txt"))
        self.assertEqual((r.returncode, r.stdout), (0, "ok: 2025-01-01..2025-12-31 (33 dates)\n"))


class WithTempDir(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="civicdesk-cal-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def test_bad_file(self):
        good = self.write("2025.txt", "2025-01-01 off 元旦\n")
        bad = self.write("2026.txt", "# comment\n2026-01-01 off 元旦\n2026-01-05 work 元旦\n")
        r = cal("check", good, bad)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout, "")
        self.assertEqual(r.stderr,
                         bad + ':3: 2026-01-05 is a Monday: "work" is only for a Saturday or '
                         'Sunday\n')

    def test_duplicate_across_files(self):
        a = self.write("a.txt", "2025-10-01 off 国庆节\n")
        b = self.write("b.txt", "2025-05-01 off 劳动节\n2025-10-01 off 国庆节\n")
        r = cal("check", a, b)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr, b + ":2: 2025-10-01 listed twice (first at " + a + ":1)\n")

    def test_missing_file(self):
        r = cal("check", os.path.join(self.dir, "none.txt"))
        self.assertEqual(r.returncode, 1)
        self.assertIn("No such file", r.stderr)

    def test_calendar_dir_replaces_builtin(self):
        # A calendar where 14 Oct 2025 is also off: the due date moves by one day.
        self.write("2025.txt", "2025-10-01 off 国庆节\n2025-10-14 off 假日\n")
        r = cal("due", "--from", "2025-09-30", "--days", "5", "--calendar", self.dir)
        self.assertEqual((r.returncode, r.stdout), (0, "2025-10-08\n"))
        r = cal("due", "--from", "2025-10-08", "--days", "4", "--calendar", self.dir)
        self.assertEqual(r.stdout, "2025-10-15\n")
        r = cal("is-workday", "2025-10-14", env={"CIVICDESK_CALENDAR_DIR": self.dir})
        self.assertEqual(r.stdout, "off\n")
        r = cal("check", "--calendar", self.dir)
        self.assertEqual(r.stdout, "ok: 2025-01-01..2025-12-31 (2 dates)\n")

    def test_calendar_dir_with_bad_file(self):
        self.write("2025.txt", "2025-10-01 off\n")
        r = cal("due", "--from", "2025-09-30", "--days", "5", "--calendar", self.dir)
        self.assertEqual(r.returncode, 1)
        self.assertIn("2025.txt:1: missing name", r.stderr)
        self.assertEqual(r.stdout, "")

    def test_empty_dir(self):
        r = cal("due", "--from", "2025-09-30", "--days", "5", "--calendar", self.dir)
        self.assertEqual(r.returncode, 1)
        self.assertIn("no calendar files", r.stderr)

    def test_builtin_from_another_directory(self):
        env = dict(os.environ, **CLEAN)
        import subprocess
        r = subprocess.run([os.path.abspath(harness.BIN), "calendar", "due", "--from",
                            "2025-09-30", "--days", "5"], cwd=self.dir, env=env,
                           capture_output=True, text=True, timeout=60)
        self.assertEqual((r.returncode, r.stdout), (0, "2025-10-14\n"))


class Usage(unittest.TestCase):
    def assertUsage(self, *args):
        r = cal(*args)
        self.assertEqual(r.returncode, 64, (args, r.stdout, r.stderr))
        self.assertIn("usage:", r.stderr)
        self.assertEqual(r.stdout, "")

    def test_bad_usage(self):
        self.assertUsage()
        self.assertUsage("frobnicate")
        self.assertUsage("due", "--days", "5")
        self.assertUsage("due", "--from", "2025-09-30")
        self.assertUsage("due", "--from")
        self.assertUsage("due", "--from", "2025-09-30", "--days", "5", "--bogus")
        self.assertUsage("is-workday")
        self.assertUsage("is-workday", "2025-01-01", "2025-01-02")
        self.assertUsage("between", "2025-01-01")
        self.assertUsage("is-workday", "2025-01-01", "--days", "3")
        self.assertUsage("check", "--calendar", "/tmp", "x.txt")

    def test_help(self):
        r = cal("--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("explain", r.stdout)

    def test_bad_values(self):
        for args in (("is-workday", "2025-02-30"), ("is-workday", "25-01-01"),
                     ("between", "2025-01-01", "tomorrow"),
                     ("due", "--from", "2025-13-01", "--days", "5"),
                     ("due", "--from", "2025-09-30T25:00", "--days", "5"),
                     ("due", "--from", "2025-09-30", "--days", "-1"),
                     ("due", "--from", "2025-09-30", "--days", "five"),
                     ("due", "--from", "2025-09-30", "--days", "99999999999999999999"),
                     ("due", "--from", "2025-09-30", "--days", "5", "--tz", "Mars/Olympus")):
            r = cal(*args)
            self.assertEqual(r.returncode, 65, args)
            self.assertIn("bad", r.stderr)
            self.assertEqual(r.stdout, "")


if __name__ == "__main__":
    harness.main()
