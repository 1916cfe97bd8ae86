"""A state_dir that cannot be used, or a disk that fills up.

- state_dir below a regular file (ENOTDIR) or inside /proc: `once`, `run`
  and `status` fail at once with one clear error naming the path; `run`
  exits instead of looping.
- a read-only state_dir (a tmpfs remounted read-only): a clear error; after
  it is writable again, the change that happened meanwhile is reported.
- a full disk under a running daemon (a small tmpfs filled to the last
  byte): errors are logged, the daemon does not spin (its CPU time over a
  few seconds stays low) and when space returns it records and delivers
  the change it could not store before.
- a state_dir made by someone else (owned by another user, or writable by
  others) holding kakaowatch.lock and kakaowatch.db symlinks to the running
  user's files: refused with an error naming the fix, and the linked files
  keep their content and mode. Run as root, and as `nobody` (setpriv) when
  root; as a normal user only the cases it can set up.
- symlinks in the user's own state_dir (the lock, the database, the token
  file): refused, nothing is followed.
The mount tests need root (CAP_SYS_ADMIN) and skip with the reason
otherwise. Tests run as root in CI, where permission bits do not stop
root, hence mounts instead of chmod.
"""
import os
import signal
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import kwtest  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def page(items):
    return "<html><body><ul>%s</ul></body></html>" % "".join(
        '<li><a href="/p/%s">%s</a></li>' % (t, t) for t in items)


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def fill(directory):
    """Fills the file system of `directory`; returns the filler's path."""
    path = os.path.join(directory, "filler")
    block = b"\0" * 65536
    with open(path, "wb", buffering=0) as f:
        try:
            while True:
                f.write(block)
        except OSError:
            pass
        try:
            while True:
                f.write(b"\0")
        except OSError:
            pass
    return path


class StateDir(kwtest.KwTestCase):

    def setUp(self):
        super().setUp()
        self.pages = self.start_pages()
        self.write_page("news.html", page(["one"]))
        self.mounted = None

    def tearDown(self):
        if self.mounted:
            subprocess.run(["umount", "-l", self.mounted],
                           stderr=subprocess.DEVNULL)
        super().tearDown()

    def use_state(self, state, interval="1m"):
        self.state = state
        return self.write_config("""
state_dir: %s
kakao: {sink: stdout}
defaults: {interval: %s, jitter: 0%%, timeout: 2s}
watches:
  - {name: news, url: '%s', xpath: //li/a}
""" % (state, interval, self.pages.url("/news.html")))

    def mount_tmpfs(self, size):
        mnt = os.path.join(self.tmp, "mnt")
        os.mkdir(mnt)
        p = subprocess.run(["mount", "-t", "tmpfs", "-o",
                            "size=%s,mode=0755" % size, "tmpfs", mnt],
                           capture_output=True, text=True)
        if p.returncode != 0:
            self.skipTest("cannot mount a tmpfs (needs root with "
                          "CAP_SYS_ADMIN): %s" % p.stderr.strip())
        self.mounted = mnt
        return mnt

    def remount(self, opt):
        subprocess.run(["mount", "-o", "remount,%s" % opt, self.mounted],
                       check=True)

    def assert_fails_clearly(self, path, why):
        for args in (("once",), ("run",), ("status",)):
            start = time.monotonic()
            p = self.kw(*args, timeout=30)
            with self.subTest(cmd=args[0]):
                self.assertEqual(p.returncode, 1, p.stderr)
                self.assertLess(time.monotonic() - start, 10,
                                "must fail at once, not retry forever")
                self.assertIn(path, p.stderr)
                self.assertIn(why, p.stderr)
                self.assertNotIn("Traceback", p.stderr)
                self.assertLessEqual(len(p.stderr.splitlines()), 3,
                                     p.stderr)

    def test_state_dir_below_a_regular_file(self):
        with open(os.path.join(self.tmp, "file"), "w") as f:
            f.write("x")
        state = os.path.join(self.tmp, "file", "state")
        self.use_state(state)
        self.assert_fails_clearly(state, "Not a directory")

    def test_state_dir_in_proc(self):
        state = "/proc/kakaowatch-test-%d/state" % os.getpid()
        self.use_state(state)
        for args in (("once",), ("run",)):
            p = self.kw(*args, timeout=30)
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertIn("cannot create directory '/proc/kakaowatch-test",
                          p.stderr)

    def test_read_only_state_dir_fails_clearly_and_resumes(self):
        mnt = self.mount_tmpfs("4m")
        self.use_state(os.path.join(mnt, "state"))
        self.assertEqual(self.kw("once").returncode, 0)
        self.remount("ro")
        self.write_page("news.html", page(["one", "two"]))
        for args in (("once",), ("run",)):
            start = time.monotonic()
            p = self.kw(*args, timeout=30)
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertLess(time.monotonic() - start, 10)
            self.assertIn("Read-only file system", p.stderr)
            self.assertIn(mnt, p.stderr)
        self.remount("rw")
        p = self.kw("once")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual([m["text"] for m in kwtest.json_lines(p.stdout)],
                         ["news: 1 new\ntwo"])

    def test_once_on_a_full_disk_fails_clearly_and_resumes(self):
        mnt = self.mount_tmpfs("4m")
        self.use_state(os.path.join(mnt, "state"))
        self.assertEqual(self.kw("once").returncode, 0)
        filler = fill(mnt)
        self.write_page("news.html", page(["one", "two"]))
        p = self.kw("once", timeout=60)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertRegex(p.stderr, r"full|I/O error|No space")
        self.assertEqual(kwtest.json_lines(p.stdout), [])
        # a check the store could not record says so, not "(0 in a row)"
        said = p.stdout + p.stderr
        self.assertNotIn("(0 in a row)", said)
        if "news: failed:" in said:
            self.assertIn("not recorded", said)
        os.remove(filler)
        p = self.kw("once")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual([m["text"] for m in kwtest.json_lines(p.stdout)],
                         ["news: 1 new\ntwo"])

    def test_run_survives_a_full_disk_without_spinning_and_resumes(self):
        mnt = self.mount_tmpfs("4m")
        self.use_state(os.path.join(mnt, "state"), interval="1s")
        out = open(os.path.join(self.tmp, "run.out"), "w+")
        err = open(os.path.join(self.tmp, "run.err"), "w+")
        proc = subprocess.Popen([kwtest.BINARY, "-c", self.config, "run"],
                                stdout=out, stderr=err)
        try:
            db = os.path.join(self.state, "kakaowatch.db")
            kwtest.wait_until(lambda: os.path.exists(db) and
                              self.snapshot(db) == ["one"], 15,
                              "the baseline")
            filler = fill(mnt)
            self.write_page("news.html", page(["one", "two"]))

            def said_full():  # the next check found the disk full
                err.seek(0)
                return any("full" in ln or "I/O" in ln
                           for ln in err.read().splitlines())
            kwtest.wait_until(said_full, 15, "a full-disk error")
            self.assertIsNone(proc.poll(), "run died on a full disk")
            cpu0, t0 = cpu_seconds(proc.pid), time.monotonic()
            err.seek(0, os.SEEK_END)
            lines0 = err.tell()

            def fetches():
                return self.pages.get_json("/count?path=/news.html")["count"]
            # three more checks (1 s apart) fail on the full disk
            fetches0 = fetches()
            kwtest.wait_until(lambda: fetches() >= fetches0 + 3, 20,
                              "three more checks")
            cpu = (cpu_seconds(proc.pid) - cpu0) / (time.monotonic() - t0)
            err.seek(lines0)
            logged = err.read().splitlines()
            self.assertLess(cpu, 0.5, "run spins on a full disk")
            self.assertLess(len(logged), 40, "\n".join(logged))
            self.assertTrue(any("full" in ln or "I/O" in ln
                                for ln in logged), "\n".join(logged))
            self.assertEqual(self.snapshot(db), ["one"])
            os.remove(filler)

            def delivered():
                out.seek(0)
                return "two" in out.read()
            kwtest.wait_until(delivered, 20, "the change after the disk "
                              "has room again")
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=20)
            out.seek(0)
            err.seek(0)
            stdout, stderr = out.read(), err.read()
            out.close()
            err.close()
        self.assertEqual(proc.returncode, 0, stderr)
        self.assertEqual([m["text"] for m in kwtest.json_lines(stdout)],
                         ["news: 1 new\ntwo"], stderr)
        con = sqlite3.connect(db)
        try:
            self.assertEqual(con.execute("PRAGMA integrity_check")
                             .fetchall(), [("ok",)])
        finally:
            con.close()

    @staticmethod
    def snapshot(db):
        try:
            con = sqlite3.connect("file:%s?mode=ro" % db, uri=True,
                                  timeout=5)
            try:
                return [r[0] for r in con.execute(
                    "SELECT text FROM snapshot_item WHERE watch = 'news' "
                    "ORDER BY pos")]
            finally:
                con.close()
        except sqlite3.Error:
            return None


NOBODY = 65534


class HostileStateDir(kwtest.KwTestCase):
    """Someone else's state directory with symlinks to our files."""

    def setUp(self):
        super().setUp()
        os.chmod(self.tmp, 0o755)  # `nobody` must reach the config
        self.victims = {}

    def victim(self, name, owner):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write("precious %s\n" % name)
        os.chmod(path, 0o644)
        if os.geteuid() == 0:
            os.chown(path, owner, -1)
        self.victims[path] = (os.stat(path).st_mode, "precious %s\n" % name)
        return path

    def hostile_dir(self, dir_owner, victim_owner, mode=0o777):
        state = os.path.join(self.tmp, "shared-state")
        os.mkdir(state)
        os.chmod(state, mode)
        if os.geteuid() == 0:
            os.chown(state, dir_owner, -1)
        os.symlink(self.victim("victim-lock", victim_owner),
                   os.path.join(state, "kakaowatch.lock"))
        os.symlink(self.victim("victim-db", victim_owner),
                   os.path.join(state, "kakaowatch.db"))
        self.write_config("""
state_dir: %s
kakao: {sink: stdout}
watches:
  - {name: news, url: 'http://127.0.0.1:9/', xpath: //li}
""" % state)
        os.chmod(self.config, 0o644)
        return state

    def run_as(self, uid, *args):
        cmd = [kwtest.BINARY, "-c", self.config, *args]
        if uid is not None and uid != os.geteuid():
            cmd = ["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid,
                   "--clear-groups", "--"] + cmd
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=60,
                           cwd=self.tmp)
        self.logs.append(p.stdout + p.stderr)
        return p

    def assert_refused(self, p, *words):
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        for w in words:
            self.assertIn(w, p.stderr)
        for path, (mode, text) in self.victims.items():
            st = os.stat(path)
            self.assertEqual(st.st_mode, mode, "%s was chmodded" % path)
            with open(path) as f:
                self.assertEqual(f.read(), text, "%s was written" % path)

    def need_root(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to make a directory owned by "
                          "another user")

    def need_setpriv(self):
        self.need_root()
        if subprocess.run(["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" %
                           NOBODY, "--clear-groups", "--", "true"]).returncode:
            self.skipTest("setpriv cannot run as nobody here")

    def test_root_refuses_a_world_writable_dir_of_another_user(self):
        self.need_root()
        state = self.hostile_dir(NOBODY, 0)
        for args in (("once",), ("run",)):
            with self.subTest(cmd=args[0]):
                p = self.run_as(None, *args)
                self.assert_refused(p, state, "belongs to uid %d" % NOBODY,
                                    "chown")

    def test_root_refuses_its_own_world_writable_dir(self):
        self.need_root()
        state = self.hostile_dir(0, 0)
        p = self.run_as(None, "once")
        self.assert_refused(p, state, "writable by others", "chmod 700")

    def test_user_refuses_a_world_writable_dir_of_root(self):
        self.need_setpriv()
        state = self.hostile_dir(0, NOBODY)
        p = self.run_as(NOBODY, "once")
        self.assert_refused(p, state, "belongs to uid 0", "chown")

    def test_user_refuses_its_own_world_writable_dir(self):
        if os.geteuid() == 0:
            self.need_setpriv()
            uid = NOBODY
        else:
            uid = None
        state = self.hostile_dir(uid if uid is not None else os.geteuid(),
                                 uid if uid is not None else os.geteuid())
        p = self.run_as(uid, "once")
        self.assert_refused(p, state, "writable by others")

    def test_symlinks_in_an_own_private_dir_are_not_followed(self):
        state = self.hostile_dir(os.geteuid(), os.geteuid(), mode=0o700)
        p = self.run_as(None, "once")
        self.assert_refused(p, "kakaowatch.lock", "symbolic link")
        os.unlink(os.path.join(state, "kakaowatch.lock"))
        p = self.run_as(None, "once")
        self.assert_refused(p, "kakaowatch.db", "symbolic link")
        p = self.run_as(None, "status")
        self.assert_refused(p, "kakaowatch.db", "symbolic link")

    def test_a_symlinked_token_file_is_not_followed(self):
        # the token file of a private state_dir points at another token
        # file: it is neither read (no expiry of it is shown, no secret of
        # it reaches the output) nor written or chmodded through
        state = os.path.join(self.tmp, "own-state")
        os.mkdir(state, 0o700)
        elsewhere = os.path.join(self.tmp, "elsewhere-token.json")
        with open(os.path.join(kwtest.DATA, "token",
                               "full_token.json")) as f:
            text = f.read()
        with open(elsewhere, "w") as f:
            f.write(text)
        os.chmod(elsewhere, 0o600)
        self.victims[elsewhere] = (os.stat(elsewhere).st_mode, text)
        link = os.path.join(state, "kakao_token.json")
        os.symlink(elsewhere, link)
        self.write_config("""
state_dir: %s
kakao: {sink: kakao, rest_api_key: statedir-rest-key-0001}
watches:
  - {name: news, url: 'http://127.0.0.1:9/', xpath: //li}
""" % state)
        for args in (("token", "status"), ("token", "refresh")):
            with self.subTest(cmd=args[1]):
                p = self.run_as(None, *args)
                self.assert_refused(p, link, "symbolic link")
                self.assertNotIn("expires", p.stdout)
                for secret in ("fullAccess", "fullRefresh"):
                    self.assertNotIn(secret, p.stdout + p.stderr)
                self.assertTrue(os.path.islink(link))


if __name__ == "__main__":
    kwtest.main()
