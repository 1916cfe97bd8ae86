"""Crash safety (docs/design.md §2.5, §2.6): `kakaowatch run` killed with SIGKILL at random.

Pages gain items while `run` (checks every second, sending to the strict
fake Kakao with a token refresh before every batch, so the token file is
rewritten all the time) is started and killed with SIGKILL at a random
moment, again and again. After every kill: the database passes PRAGMA
integrity_check and the token file (and its .bak) is a complete token
file. At the end one `once` drains the outbox, and then every item added
was delivered at least once, and messages delivered twice are at most one
per kill (the message in flight when the process died: at-least-once).

Runs with the state directory on disk and on tmpfs (/dev/shm).
KW_CRASH_ITERATIONS sets the kills per state directory (default 30, so
the file stays near a minute); KW_CRASH_SEED fixes the random moments.
"""
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
import kwtest  # noqa: E402

CLIENT_ID = "crash-rest-api-key-0123"
SECRET = "crash-client-secret-4567"
ITERATIONS = int(os.environ.get("KW_CRASH_ITERATIONS", "30"))
WATCHES = ("w0", "w1", "w2")


def page(items):
    return "<html><body><ul>%s</ul></body></html>" % "".join(
        '<li><a href="/p/%s">%s</a></li>' % (t, t) for t in items)


class CrashTest(kwtest.KwTestCase):

    def setUp(self):
        super().setUp()
        seed = os.environ.get("KW_CRASH_SEED")
        self.rng = random.Random(int(seed) if seed else None)
        self.kakao = self.start_kakao(
            "--client-id", CLIENT_ID, "--client-secret", SECRET,
            "--redirect-uri", "http://localhost:5000/oauth",
            "--access-limit", "1000000/600",
            "--refresh-limit", "1000000/3600")
        self.pages = self.start_pages()

    def setup_state(self, state):
        self.state = state
        self.items = {w: ["%s-base" % w] for w in WATCHES}
        for w in WATCHES:
            self.write_page(w + ".html", page(self.items[w]))
        self.write_config("""
state_dir: %s
kakao:
  rest_api_key: %s
  client_secret: %s
  auth_base_url: %s
  api_base_url: %s
  sink: kakao
  min_refresh_interval: 0s
max_messages_per_day: 10000
defaults: {interval: 1s, jitter: 0%%, timeout: 5s}
watches:
%s""" % (state, CLIENT_ID, SECRET, self.kakao.base, self.kakao.base,
            "".join("  - {name: %s, url: '%s', xpath: //li/a}\n"
                    % (w, self.pages.url("/%s.html" % w))
                    for w in WATCHES)))
        code = self.kakao.post_json("/_control/issue-code", {})["code"]
        p = self.kw("auth", "--code", code)
        self.assertEqual(p.returncode, 0, p.stderr)
        p = self.kw("once")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.token_file = os.path.join(state, "kakao_token.json")

    def check_after_kill(self, i):
        con = sqlite3.connect(os.path.join(self.state, "kakaowatch.db"))
        try:
            ok = con.execute("PRAGMA integrity_check").fetchall()
        finally:
            con.close()
        self.assertEqual(ok, [("ok",)], "database damaged after kill %d" % i)
        for path in (self.token_file, self.token_file + ".bak"):
            if path.endswith(".bak") and not os.path.exists(path):
                continue
            with open(path) as f:
                t = json.load(f)  # never half-written
            self.assertIsInstance(t.get("refresh_token"), str, path)
            self.assertTrue(t["refresh_token"], path)
            self.assertEqual(os.stat(path).st_mode & 0o777, 0o600, path)

    def crash_loop(self, state):
        self.setup_state(state)
        added, kills, counter = [], 0, 0
        started = time.monotonic()
        for i in range(ITERATIONS):
            if self.rng.random() < 0.7:
                w = self.rng.choice(WATCHES)
                counter += 1
                item = "item-%d" % counter
                self.items[w].insert(self.rng.randrange(
                    len(self.items[w]) + 1), item)
                self.write_page(w + ".html", page(self.items[w]))
                added.append(item)
            proc = subprocess.Popen([kwtest.BINARY, "-c", self.config,
                                     "run"], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE)
            time.sleep(self.rng.uniform(0.02, 1.3))
            proc.send_signal(signal.SIGKILL)
            _, err = proc.communicate()
            kills += 1
            self.assertEqual(proc.returncode, -signal.SIGKILL,
                             err.decode(errors="replace"))
            self.assertNotIn(b"KOE322", err, "authorization lost")
            self.check_after_kill(i)
        # one clean pass delivers whatever is still queued or unseen
        last = self.kw("once")
        self.assertEqual(last.returncode, 0, last.stderr)
        self.assertEqual(self.kw("once").returncode, 0)

        raw = [m["raw"] for m in
               self.kakao.get_json("/_control/messages")["messages"]]
        delivered = {}
        for r in raw:
            for item in set(re.findall(r"item-\d+\b", r)):
                delivered[item] = delivered.get(item, 0) + 1
        missing = [a for a in added if a not in delivered]
        duplicates = len(raw) - len(set(raw))
        leftovers = [f for f in os.listdir(state) if ".tmp." in f]
        counts = self.kakao.get_json("/_control/tokens")
        sys.stderr.write(
            "\n%s: %d kills in %.0fs, %d items added, %d messages, %d "
            "duplicated, %d token refreshes, %d temp files left\n" % (
                state, kills, time.monotonic() - started, len(added),
                len(raw), duplicates, counts["refreshes"], len(leftovers)))
        self.assertEqual(missing, [], "changes lost across kill -9")
        self.assertLessEqual(duplicates, kills,
                             "more duplicates than crash windows")
        self.assertEqual(db_outbox(state), 0)

    def test_kill_9_on_disk(self):
        self.crash_loop(os.path.join(self.tmp, "state"))

    def test_kill_9_on_tmpfs(self):
        if not os.path.isdir("/dev/shm") or not os.access("/dev/shm",
                                                          os.W_OK):
            self.skipTest("no writable /dev/shm")
        d = tempfile.mkdtemp(prefix="kw-crash-", dir="/dev/shm")
        try:
            self.crash_loop(os.path.join(d, "state"))
        finally:
            shutil.rmtree(d, ignore_errors=True)


def db_outbox(state):
    con = sqlite3.connect(os.path.join(state, "kakaowatch.db"))
    try:
        return con.execute("SELECT count(*) FROM outbox").fetchone()[0]
    finally:
        con.close()


if __name__ == "__main__":
    kwtest.main()
