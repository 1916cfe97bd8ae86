"""Wall-clock deadlines against hostile servers and clock jumps.

- `Retry-After: 2000000000` (or an HTTP-date ten years ahead) is a failed
  check, and the watch is fetched again after its `max_retry_after`, not in
  63 years; changing the watch's `url` clears a Retry-After window.
- The clock a year ahead, then back (Debian's faketime, LD_PRELOAD
  libfaketime with the monotonic clock left alone): a Retry-After stored
  under the fast clock does not keep the watch silent a year; a Kakao quota hold
  set under it does not hold messages until "next year" (status does not
  say so, and the daemon delivers them). A Retry-After asked under the
  fast clock counts from now once it is back (the server's wait, no more).
- The clock stepping back 4 h under a running daemon: a message whose send
  failed just before waits its 5 s backoff from now, not the 4 h.
Skips cleanly when libfaketime is not installed.
"""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import kwtest  # noqa: E402

CLIENT_ID = "clock-rest-api-key-0123"
SECRET = "clock-client-secret-4567-zz"


def faketime_env(offset):
    """kakaowatch with the wall clock `offset` (FAKETIME) away, or None
    where libfaketime is not installed (kwtest.faketime_env)."""
    return kwtest.faketime_env(FAKETIME=offset)


def page(items):
    return "<html><body><ul>%s</ul></body></html>" % "".join(
        '<li><a href="/p/%s">%s</a></li>' % (t, t) for t in items)


def db_rows(state, sql, *args):
    con = sqlite3.connect(os.path.join(state, "kakaowatch.db"), timeout=10)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


class RetryAfter(kwtest.KwTestCase):

    def setUp(self):
        super().setUp()
        self.pages = self.start_pages()
        self.write_page("news.html", page(["one", "two"]))

    def use(self, url, extra=""):
        return self.write_config("""
state_dir: %s
kakao: {sink: stdout}
defaults: {timeout: 5s, max_failures: 1%s}
watches:
  - {name: news, url: '%s', xpath: //li/a}
""" % (self.state, extra, url))

    def retry_until(self):
        return db_rows(self.state, "SELECT retry_after_until FROM watch "
                       "WHERE name = 'news'")[0][0]

    def test_a_huge_retry_after_is_a_failure_capped_by_max_retry_after(self):
        for query in ("after=2000000000", "after=315360000&date=1"):
            with self.subTest(query=query):
                if os.path.exists(self.state):
                    import shutil
                    shutil.rmtree(self.state)
                self.use(self.pages.url("/retry-after?status=429&" + query),
                         ", max_retry_after: 1m")
                p = self.kw("once")
                self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
                self.assertIn("failed: HTTP 429", p.stdout)
                self.assertIn("more than max_retry_after (60s)", p.stdout)
                wait = self.retry_until() - time.time() * 1000
                self.assertLessEqual(wait, 61 * 1000)
                self.assertGreater(wait, 30 * 1000)
                # within the minute: still skipped
                p = self.kw("once")
                self.assertIn("skipped", p.stdout)
                # the health check does not stay green meanwhile
                st = json.loads(self.kw("status", "--json").stdout)
                self.assertTrue(st["watches"][0]["failing"])
                # two minutes later the server is asked again
                env = faketime_env("+2m")
                if env is None:
                    self.skipTest(kwtest.FAKETIME_MISSING)
                p = self.kw("once", env=env)
                self.assertNotIn("skipped", p.stdout)
                self.assertIn("failed: HTTP 429", p.stdout)

    def test_changing_the_url_clears_a_retry_after(self):
        self.use(self.pages.url("/retry-after?status=503&after=3000"))
        p = self.kw("once")
        self.assertIn("failed: HTTP 503, server asks to retry after 3000s",
                      p.stdout)
        self.assertIn("skipped", self.kw("once").stdout)
        self.use(self.pages.url("/news.html"))
        p = self.kw("once")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("news: baseline stored (2 items)", p.stdout)

    def test_a_retry_after_stored_by_a_clock_a_year_ahead_counts_from_now(
            self):
        env = faketime_env("+365d")
        if env is None:
            self.skipTest(kwtest.FAKETIME_MISSING)
        self.use(self.pages.url("/retry-after?status=429&after=600"))
        p = self.kw("once", env=env)
        self.assertIn("failed: HTTP 429", p.stdout, p.stderr)
        self.assertGreater(self.retry_until() - time.time() * 1000,
                           300 * 86400 * 1000)
        # the clock is back: the server's 10 minutes count from now, not
        # from a check a year ahead
        p = self.kw("once")
        self.assertIn("skipped: the server asked to wait", p.stdout)
        left = self.retry_until() - time.time() * 1000
        self.assertGreater(left, 0)
        self.assertLessEqual(left, 600 * 1000)
        # and after them the server is asked again
        p = self.kw("once", env=faketime_env("+11m"))
        self.assertNotIn("skipped", p.stdout)
        self.assertIn("failed: HTTP 429", p.stdout)


class KakaoClock(kwtest.KwTestCase):
    """A watch delivering to the fake Kakao, authorized and baselined."""

    def setUp(self):
        super().setUp()
        if faketime_env("+1d") is None:
            self.skipTest(kwtest.FAKETIME_MISSING)
        self.kakao = self.start_kakao("--client-id", CLIENT_ID,
                                      "--client-secret", SECRET,
                                      "--redirect-uri",
                                      "http://localhost:5000/oauth")
        self.pages = self.start_pages()
        self.write_page("news.html", page(["one"]))
        self.write_config("""
state_dir: %s
kakao:
  rest_api_key: %s
  client_secret: %s
  auth_base_url: %s
  api_base_url: %s
  sink: kakao
  min_refresh_interval: 0s
defaults: {timeout: 2s, interval: 1s, jitter: 0%%}
watches:
  - {name: news, url: '%s', xpath: //li/a}
""" % (self.state, CLIENT_ID, SECRET, self.kakao.base, self.kakao.base,
            self.pages.url("/news.html")))
        code = self.kakao.post_json("/_control/issue-code", {})["code"]
        p = self.kw("auth", "--code", code)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.kw("once").returncode, 0)

    def sent(self):
        return [m["template_object"]["text"]
                for m in self.kakao.get_json("/_control/messages")["messages"]]

    def daemon(self, env=None):
        e = dict(os.environ)
        e.update(env or {})
        proc = subprocess.Popen([kwtest.BINARY, "-c", self.config, "run"],
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=e)
        return proc

    def stop(self, proc):
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
        self.logs.append(out + err)
        return err



class QuotaHold(KakaoClock):

    def test_a_quota_hold_from_a_clock_a_year_ahead_does_not_hold(self):
        before = len(self.sent())
        self.write_page("news.html", page(["one", "two"]))
        self.kakao.post_json("/_control/fail", {"endpoint": "send",
                                                "code": -10})
        proc = self.daemon(faketime_env("+365d"))
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                rows = db_rows(self.state, "SELECT value FROM meta WHERE "
                               "key LIKE '%quota%'")
                if rows:
                    break
                time.sleep(0.3)
        finally:
            err = self.stop(proc)
        self.assertTrue(rows, "no quota hold was set: " + err)
        year_ahead = time.strftime("%Y", time.gmtime(time.time() +
                                                     365 * 86400))
        req = urllib_delete(self.kakao, "/_control/fail")
        del req
        # the clock is back
        st = self.kw("status")
        self.assertNotIn("held until %s" % year_ahead, st.stdout)
        j = json.loads(self.kw("status", "--json").stdout)
        self.assertIsNone(j.get("outbox", {}).get("quota_hold_until"),
                          json.dumps(j))
        proc = self.daemon()
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and \
                    len(self.sent()) == before:
                time.sleep(0.3)
        finally:
            err = self.stop(proc)
        self.assertEqual(self.sent()[before:], ["news: 1 new\ntwo"], err)
        self.assertEqual(db_rows(self.state, "SELECT count(*) FROM outbox"),
                         [(0,)])


class StepBack(KakaoClock):
    """The wall clock steps back under a running daemon (its monotonic
    clock does not): a message tried and backed off just before waits its
    backoff from now, not the hours of the step."""

    def test_a_tried_message_waits_its_backoff_not_the_step(self):
        clock = kwtest.FakeClock(os.path.join(self.tmp, "faketime"))
        clock.set("+4h")
        before = len(self.sent())
        self.kakao.post_json("/_control/fail", {"endpoint": "send",
                                                "status": 500})
        self.write_page("news.html", page(["one", "two"]))
        proc = self.daemon(clock.env())
        try:
            kwtest.wait_until(lambda: db_rows(
                self.state, "SELECT count(*) FROM outbox WHERE attempts > 0"
                )[0][0] > 0, 60, "the first send failed and was deferred")
            # the clock steps back 4 h: the 5 s backoff counts from now
            clock.set("+0")
            kwtest.wait_until(lambda: len(self.sent()) > before, 90,
                              "the message sent after its backoff (it "
                              "must not wait the 4 h of the step)")
        finally:
            err = self.stop(proc)
        self.assertEqual(self.sent()[before:], ["news: 1 new\ntwo"], err)
        self.assertIn("clock: the wall clock stepped back", err)
        self.assertEqual(db_rows(self.state, "SELECT count(*) FROM outbox"),
                         [(0,)])


def urllib_delete(server, path):
    import urllib.request
    req = urllib.request.Request(server.base + path, method="DELETE")
    with urllib.request.urlopen(req, timeout=10) as r:
        r.read()


if __name__ == "__main__":
    kwtest.main()
