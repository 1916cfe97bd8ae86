"""Bounded state: a long life with renames keeps the database small.

A soak of 60 cycles, each two days after the previous one (Debian's
faketime moves the wall clock; history_days: 1): every cycle renames the
watch (a new name is a new watch), changes its page of 50 long items and
runs `once`. Watches gone from the configuration for longer than
history_days are forgotten, history keeps short texts and hashes, so the
row counts stay small and the database file stops growing after the first
cycles. Also: the daemon forgets long-gone watches on reload, and one
change of 50 long items costs kilobytes of history, not megabytes.
"""
import os
import signal
import sqlite3
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import kwtest  # noqa: E402
from test_clock import faketime_env  # noqa: E402

LONG = "가나다라마바사 " * 300  # ~6.6 KB of UTF-8 per item


def page(cycle):
    return "<html><body><ul>%s</ul></body></html>" % "".join(
        '<li><a href="/p/%d/%d">%d %d %s</a></li>' % (cycle, i, cycle, i,
                                                     LONG)
        for i in range(50))


def rows(state, sql):
    con = sqlite3.connect(os.path.join(state, "kakaowatch.db"), timeout=10)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


class Bounded(kwtest.KwTestCase):

    def setUp(self):
        super().setUp()
        if faketime_env("+1d") is None:
            self.skipTest(kwtest.FAKETIME_MISSING)
        self.pages = self.start_pages()

    def config_for(self, name):
        return self.write_config("""
state_dir: %s
kakao: {sink: stdout}
history_days: 1
defaults: {timeout: 10s, notify_on: both, max_bytes: 5MiB}
watches:
  - {name: %s, url: '%s', xpath: //li/a}
""" % (self.state, name, self.pages.url("/board.html")))

    def db_size(self):
        total = 0
        for suffix in ("", "-wal"):
            try:
                total += os.path.getsize(os.path.join(
                    self.state, "kakaowatch.db" + suffix))
            except OSError:
                pass
        return total

    def test_a_soak_with_renames_keeps_the_database_bounded(self):
        sizes = []
        for cycle in range(60):
            self.write_page("board.html", page(cycle))
            self.config_for("w%d" % (cycle // 2))  # renamed every 2nd
            p = self.kw("once", env=faketime_env("+%dd" % (2 * cycle)))
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            sizes.append(self.db_size())
            watches = rows(self.state, "SELECT count(*) FROM watch")[0][0]
            self.assertLessEqual(watches, 2, "cycle %d" % cycle)
        history = rows(self.state, "SELECT count(*), max(length(text)),"
                       " count(hash) FROM history")[0]
        self.assertLessEqual(history[0], 200, history)
        self.assertLessEqual(history[1], 200)
        self.assertEqual(history[2], history[0], "every row has a hash")
        self.assertEqual(rows(self.state, "SELECT count(*) FROM "
                              "snapshot_item WHERE watch != 'w29'"),
                         [(0,)])
        # flat: the last 40 cycles do not grow the file
        self.assertLessEqual(max(sizes[20:]), max(sizes[:20]) * 1.25,
                             sizes)

    def test_one_change_of_50_long_items_costs_kilobytes(self):
        self.config_for("board")
        self.write_page("board.html", page(0))
        self.assertEqual(self.kw("once").returncode, 0)
        self.write_page("board.html", page(1))
        p = self.kw("once")
        self.assertIn("50 new, 50 removed", p.stdout)
        got = rows(self.state, "SELECT count(*), sum(length(CAST(text AS "
                   "BLOB)) + length(coalesce(link, '')) + length(hash))"
                   " FROM history")[0]
        self.assertEqual(got[0], 100)
        self.assertLess(got[1], 100 * 300, got)

    def test_the_daemon_forgets_long_gone_watches_on_reload(self):
        self.write_page("board.html", page(0))
        old = self.config_for("old-name")
        self.assertEqual(self.kw("once").returncode, 0)
        # three days later (history_days: 1) the watch is renamed live
        env = dict(os.environ)
        env.update(faketime_env("+3d"))
        err_path = os.path.join(self.tmp, "run.err")
        with open(err_path, "w") as err:
            proc = subprocess.Popen([kwtest.BINARY, "-c", old, "run"],
                                    stdout=subprocess.DEVNULL, stderr=err,
                                    env=env)
        def log():
            with open(err_path) as f:
                return f.read()
        try:
            # SIGHUP before the daemon caught it would kill it: "started"
            # comes after its handlers are set (a start under ASan on a
            # loaded machine can take many seconds)
            kwtest.wait_until(lambda: "started" in log(), 60,
                              "the daemon's start")
            self.config_for("new-name")
            proc.send_signal(signal.SIGHUP)
            kwtest.wait_until(lambda: "forgot 1 watch" in log(), 60,
                              "the reload's upkeep")
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(20)
        log = open(err_path).read()
        self.assertIn("forgot 1 watch", log)
        names = [r[0] for r in rows(self.state, "SELECT name FROM watch")]
        self.assertNotIn("old-name", names)


if __name__ == "__main__":
    kwtest.main()
