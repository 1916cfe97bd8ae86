"""The state database of kakaowatch 0.1 upgrades in place (issue 11).

tests/data/state/v1-0dc9784.db was written by kakaowatch 0dc9784 (schema 1,
before item keys) by tests/data/state/make_v1_db.py: two watches checked
three times, three messages left in the outbox because Kakao failed. Here
the current build starts on a copy of it:
  - the upgrade seeds the memory from the snapshots and the history, so a
    post that slid off and comes back, a grown comment count, and the items
    0.1 already reported send nothing; a new post sends one message; the
    three queued messages are delivered as they were;
  - a database from a newer release is refused with one line and left
    byte for byte as it was;
  - kill -9 at random moments during the upgrade of a large database
    leaves it at schema 1 untouched or at schema 4 complete, never in
    between (the upgrade, 1 -> 2 -> 3 -> 4, is one transaction), and the next
    start finishes.
The fixture's watch URLs point at the page server that made it; the copy
gets this test's server address in watch.url (the only change made to it).
"""
import hashlib
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import boardsim  # noqa: E402
import kwtest  # noqa: E402
from test_identity import changes  # noqa: E402

FIXTURE = os.path.join(kwtest.DATA, "state", "v1-0dc9784.db")
MANIFEST = os.path.join(kwtest.DATA, "state", "v1-0dc9784.json")


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def js_page(titles):
    rows = "\n".join('<li><a href="javascript:void(0)">%s</a></li>' % t
                     for t in titles)
    return "<html><body><ul class='n'>%s</ul></body></html>" % rows


class UpgradeTest(kwtest.DaemonCase):

    def setUp(self):
        super().setUp()
        with open(MANIFEST) as f:
            self.manifest = json.load(f)
        self.env = kwtest.Env(self, "up", self.pages)
        self.db = os.path.join(self.env.state, "kakaowatch.db")
        self.board = boardsim.Board(page_size=self.manifest["deals_page_size"])
        for p in reversed(self.manifest["deals"]):
            self.board.post(p["title"], p["comments"])
        self.js = list(self.manifest["jsboard"])
        with sqlite3.connect(FIXTURE) as c:
            self.old_outbox = [json.loads(r[0]) for r in c.execute(
                "SELECT template_json FROM outbox ORDER BY id")]
            self.old_history = c.execute(
                "SELECT count(*) FROM history").fetchone()[0]
        self.assertEqual(len(self.old_outbox), 3)

    def install_fixture(self, src=FIXTURE):
        os.makedirs(self.env.state, mode=0o700, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(self.db + suffix):
                os.unlink(self.db + suffix)
        shutil.copyfile(src, self.db)
        os.chmod(self.db, 0o600)
        c = sqlite3.connect(self.db)
        c.execute("UPDATE watch SET url = replace(url, ?, ?)",
                  (self.manifest["page_base"], self.pages.base))
        c.commit()
        c.close()

    def write_config(self):
        self.env.write_config([], extra="history_days: 3650")
        with open(self.env.config, "a") as f:
            f.write("""  - name: deals
    url: %s
    xpath: %s
  - name: jsboard
    url: %s
    xpath: //ul[@class='n']/li/a
""" % (self.pages.url("/board.html"), boardsim.XPATH,
                self.pages.url("/js.html")))

    def serve(self):
        self.write_page("board.html", self.board.render())
        self.write_page("js.html", js_page(self.js))

    def once(self):
        p = self.kw("once", env=self.env.env, config=self.env.config)
        return p

    def test_upgrade_sends_nothing_twice_keeps_the_outbox_and_sends_news(self):
        self.install_fixture()
        self.write_config()
        self.env.auth()
        # what 0.1 would have reported again: 102 slides back (106 is
        # deleted), 103's comment count grows; and one real new post
        self.board.delete(106)
        self.board.find(103).comments += 1
        self.board.post("신상 특가 C")                 # 108
        self.js.append("알림 넷")
        self.serve()
        p = self.once()
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("upgraded state database", p.stderr)
        self.assertIn("from schema 1 to 4", p.stderr)
        msgs = self.env.messages()
        # the outbox of 0.1 first, as it was, in order
        self.assertEqual(msgs[:3], self.old_outbox)
        self.assertEqual(sorted(changes(msgs[3:])),
                         [("new", ["신상 특가 C"]), ("new", ["알림 넷"])])
        self.assertEqual(len(msgs), 5)
        with sqlite3.connect(self.db) as c:
            self.assertEqual(c.execute("PRAGMA user_version").fetchone()[0],
                             4)
            self.assertEqual(c.execute("SELECT count(*) FROM outbox")
                             .fetchone()[0], 0)
            # the history of 0.1 is kept
            self.assertGreaterEqual(c.execute(
                "SELECT count(*) FROM history").fetchone()[0],
                self.old_history)
            seen = dict(c.execute("SELECT watch, count(*) FROM seen"
                                  " GROUP BY watch").fetchall())
            # 101..108 once each, whatever their comment counts were
            self.assertEqual(seen, {"deals": 8, "jsboard": 4})
            self.assertEqual(c.execute(
                "SELECT count(*) FROM seen WHERE key LIKE 'legacy:%'")
                .fetchone()[0], 0)
        # and nothing more the next time, or when 107 gets a comment
        self.board.find(107).comments += 1
        self.serve()
        p = self.once()
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(len(self.env.messages()), 5)
        st = self.kw("status", "--json", env=self.env.env,
                     config=self.env.config)
        keys = {w["name"]: w["keys_remembered"]
                for w in json.loads(st.stdout)["watches"]}
        self.assertEqual(keys, {"deals": 8, "jsboard": 4})

    def test_upgrade_through_run_sends_nothing_twice(self):
        self.install_fixture()
        self.write_config()
        self.env.auth()
        self.board.delete(107)                         # 102 slides back
        self.serve()
        d = self.env.run("-v")
        d.wait_log(r"check: deals: ", count=2)
        d.wait_log(r"check: jsboard: ", count=2)
        kwtest.wait_until(lambda: len(self.env.messages()) >= 3, 15,
                               "the old outbox delivered")
        self.board.post("신상 특가 D")
        self.serve()
        kwtest.wait_until(lambda: len(self.env.messages()) >= 4, 30,
                               "the new post delivered")
        # a whole check after that delivery: a second copy would be sent
        # by now (a count from the start can be reached already)
        d.wait_checks("deals")
        kwtest.wait_until(
            lambda: self.env.status_json()["outbox"]["pending"] == 0, 15,
            "an empty outbox")
        d.stop()
        msgs = self.env.messages()
        self.assertEqual(msgs[:3], self.old_outbox)
        self.assertEqual(changes(msgs[3:]), [("new", ["신상 특가 D"])])

    def test_database_from_a_newer_release_is_refused_untouched(self):
        self.install_fixture()
        c = sqlite3.connect(self.db)
        c.execute("PRAGMA user_version = 5")
        c.commit()
        c.close()
        before = sha256(self.db)
        self.write_config()
        self.serve()
        p = self.once()
        self.assertNotEqual(p.returncode, 0)
        lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
        self.assertEqual(len(lines), 1, p.stderr)
        self.assertIn("was written by a newer kakaowatch (schema version 5",
                      lines[0])
        self.assertIn("upgrade kakaowatch", lines[0])
        self.assertEqual(sha256(self.db), before, "the database changed")
        self.assertFalse(os.path.exists(self.db + "-wal"))
        st = self.kw("status", env=self.env.env, config=self.env.config)
        self.assertNotEqual(st.returncode, 0)
        self.assertIn("upgrade kakaowatch", st.stderr)
        self.assertEqual(sha256(self.db), before)

    def test_kill_9_during_the_upgrade_leaves_old_or_new_never_half(self):
        # a large 0.1 database, so that the upgrade takes a while
        big = os.path.join(self.tmp, "big.db")
        shutil.copyfile(FIXTURE, big)
        c = sqlite3.connect(big)
        n = int(os.environ.get("KW_UPGRADE_ROWS", "100000"))
        c.executemany(
            "INSERT INTO history(watch, at, removed, text, link)"
            " VALUES ('deals', ?, ?, ?, ?)",
            ((1796161000000 + i, i % 2, "지난 글 %d [%d]" % (i // 2, i % 5),
              "https://board.example/bbs/board.php?bo_table=deal&wr_id=%d"
              "&page=1" % (1000 + i // 2)) for i in range(n)))
        c.commit()
        c.close()
        self.write_config()
        self.env.auth()
        self.serve()
        self.env.fail(status=500, count=100000)   # keep the outbox
        rng = random.Random(int(os.environ.get("KW_UPGRADE_SEED", "7")))

        def start(i):
            self.install_fixture(big)
            err = open(os.path.join(self.tmp, "once%s.err" % i), "w+")
            proc = subprocess.Popen(
                [kwtest.BINARY, "-c", self.env.config, "once"],
                stdout=subprocess.DEVNULL, stderr=err,
                env=dict(os.environ, **self.env.env))
            # the WAL switch comes right before the upgrade's transaction
            deadline = time.monotonic() + 30
            while not os.path.exists(self.db + "-wal") and \
                    proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.002)
            return proc, err, time.monotonic()

        # how long the upgrade takes here and now (the machine is shared)
        proc, err, t0 = start("t")
        deadline = t0 + 120
        while time.monotonic() < deadline:
            err.seek(0)
            if "upgraded state database" in err.read():
                break
            time.sleep(0.005)
        took = time.monotonic() - t0
        proc.wait()
        err.close()
        mid = 0
        for i in range(8):
            proc, err, t0 = start(i)
            time.sleep(rng.uniform(0, 1.5 * took))
            proc.kill()
            proc.wait()
            err.seek(0)
            log = err.read()
            err.close()
            upgraded = "upgraded state database" in log
            c = sqlite3.connect(self.db)
            self.assertEqual(c.execute("PRAGMA integrity_check")
                             .fetchone()[0], "ok")
            v = c.execute("PRAGMA user_version").fetchone()[0]
            tables = {r[0] for r in c.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
            outbox = [json.loads(r[0]) for r in c.execute(
                "SELECT template_json FROM outbox ORDER BY id")]
            history = c.execute("SELECT count(*) FROM history").fetchone()[0]
            if v == 1:
                # rolled back: exactly the old database
                self.assertFalse(upgraded, log)
                self.assertNotIn("seen", tables)
                self.assertEqual(history, self.old_history + n)
                mid += 1
            else:
                self.assertEqual(v, 4)
                self.assertIn("seen", tables)
                self.assertGreater(c.execute(
                    "SELECT count(*) FROM seen").fetchone()[0], 0)
                # kept (a check after the upgrade may cut it to the
                # per-watch bound of the history)
                self.assertGreater(history, 0)
            self.assertEqual(outbox[:3], self.old_outbox)
            c.close()
        print("upgrade took %.2fs; kill -9: %d of 8 during the upgrade "
              "(rolled back), %d after it" % (took, mid, 8 - mid),
              file=sys.stderr)
        self.assertGreater(mid, 0, "no kill landed inside the upgrade")
        # a clean start after the last kill finishes the job
        p = self.once()
        if v == 1:
            self.assertIn("upgraded state database", p.stderr)
        with sqlite3.connect(self.db) as c:
            self.assertEqual(c.execute("PRAGMA user_version").fetchone()[0],
                             4)
            seen = c.execute("SELECT count(*) FROM seen WHERE watch ="
                             " 'deals'").fetchone()[0]
            self.assertLessEqual(seen, 20000, p.stdout + p.stderr)  # the cap
            # (deals: jsboard's fetch may time out while the big re-key
            # holds the loop under sanitizers)
            self.assertEqual(c.execute(
                "SELECT count(*) FROM seen WHERE watch = 'deals' AND"
                " key LIKE 'legacy:%'").fetchone()[0], 0,
                p.stdout + p.stderr)


if __name__ == "__main__":
    kwtest.main()
