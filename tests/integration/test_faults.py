"""Fault injection: broken pages and a broken Kakao, on loopback.

Every fault hits one watch while a healthy watch in the same config keeps
changing. For each, kakaowatch must log one clear line naming the watch,
keep the other watches running (the healthy watch's change still arrives)
and lose no state: the broken watch's snapshot is kept (when the page comes
back only the really new item is reported) and an unsent message stays in
the outbox until Kakao takes it, exactly once.

Pages: connection refused, DNS failure (.invalid), TLS to a plain-HTTP
server, a server that never answers, one byte a second, 100 MB bodies (with
and without Content-Length), a gzip bomb, a redirect loop, HTTP 500, a page
that turns into JSON, invalid UTF-8 and NUL bytes. Kakao: 500, an answer
that never comes (timeout) or a connection closed without one, malformed
JSON, -401 loops, KOE237, KOE322, -10, and a broken token endpoint.
Timeouts are 2 s so the file runs in well under a minute.
"""
import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import kwtest  # noqa: E402

CLIENT_ID = "fault-rest-api-key-0123"
SECRET = "fault-client-secret-4567"


def page(titles):
    return "<html><body><ul>%s</ul></body></html>" % "".join(
        '<li><a href="/p/%s">%s</a></li>' % (t, t) for t in titles)


def closed_port(tc):
    """A loopback port that refuses connections for the whole test: bound
    and not listening, held until the test ends (a port closed again at
    once may be taken meanwhile, by a fake server of a test running beside
    this one or as the local port of a connection, and then answer)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    tc.addCleanup(s.close)
    return s.getsockname()[1]


def db_rows(state, sql, *args):
    con = sqlite3.connect("file:%s?mode=ro" % os.path.join(
        state, "kakaowatch.db"), uri=True)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def baselined(state, name):
    """Whether watch `name` has its snapshot: False too while the daemon
    has not made the database or its tables yet (the file appears before
    its schema: under load a reader can come in between)."""
    try:
        return db_rows(state, "SELECT count(*) FROM snapshot_item WHERE "
                       "watch = ?", name)[0][0] > 0
    except sqlite3.OperationalError:
        return False


def lines_naming(text, name):
    """Log lines about watch `name`: "check: 'NAME': ..." (once) or
    "check: NAME: failed: ..." (run)."""
    return [ln for ln in text.splitlines()
            if "'%s'" % name in ln or " %s: " % name in ln]


class PageFaults(kwtest.KwTestCase):

    def setUp(self):
        super().setUp()
        self.pages = self.start_pages()

    def write_watches(self, urls):
        watches = "".join(
            "  - name: %s\n    url: '%s'\n    xpath: //li/a\n" % (n, u)
            for n, u in urls.items())
        return self.write_config("""
state_dir: %s
kakao: {sink: stdout}
max_connections_per_host: 16
defaults: {timeout: 2s, interval: 1m, max_failures: 3}
watches:
%s""" % (self.state, watches))

    def test_each_page_fault_fails_its_watch_alone_and_keeps_its_snapshot(self):
        p = self.pages
        # name -> (the broken URL, what its log line must say)
        faults = {
            "refused": ("http://127.0.0.1:%d/" % closed_port(self),
                        "connect"),
            "dns": ("http://nonexistent.invalid/", "resolv"),
            "tls": ("https://127.0.0.1:%d/healthy.html" % p.port,
                    "TLS failed: "),
            "hang": (p.url("/hang"), "timed out"),
            "trickle": (p.url("/trickle?bytes=30&interval=1"), "timed out"),
            "big": (p.url("/big?bytes=100000000"), "larger than"),
            "chunked": (p.url("/big?bytes=100000000&chunked=1"),
                        "larger than"),
            # 60 MB from 60 KB: 12 times the 5 MiB cap (300 MB took the
            # fake seconds of CPU to compress on a loaded machine)
            "bomb": (p.url("/gzip-bomb?bytes=60000000"), "larger than"),
            "loop": (p.url("/redirect-loop"), "redirects"),
            "error500": (p.url("/status/500"), "HTTP 500"),
            "json": (p.url("/json.html"), "matched nothing"),
        }
        good = {n: p.url("/%s.html" % n) for n in faults}
        good["json"] = p.url("/json.html")
        for n in faults:
            self.write_page("%s.html" % n, page([n + "-1", n + "-2"]))
        self.write_page("healthy.html", page(["h1"]))
        self.write_watches(dict(healthy=p.url("/healthy.html"), **good))
        first = self.kw("once")
        self.assertEqual(first.returncode, 0, first.stderr)
        snapshots = {n: db_rows(self.state, "SELECT pos, text, link FROM "
                                "snapshot_item WHERE watch = ? ORDER BY pos",
                                n) for n in faults}

        # the fake compresses a bomb on its first request (under load it
        # can take as long as the watch's 2 s timeout): have it ready, so
        # the check fails on the size, not on a slow fake
        with urllib.request.urlopen(faults["bomb"][0], timeout=120) as r:
            r.read()
        # every watch breaks at once, the healthy one changes
        self.write_page("json.html", json.dumps(
            {"items": [{"title": "json-1"}, {"title": "json-3"}]}))
        self.write_page("healthy.html", page(["h1", "h2"]))
        self.write_watches(dict(healthy=p.url("/healthy.html"),
                         **{n: u for n, (u, _) in faults.items()}))
        start = time.monotonic()
        broken = self.kw("once")
        took = time.monotonic() - start
        self.assertEqual(broken.returncode, 1)
        self.assertLess(took, 30, "timeouts must bound every fault")
        msgs = kwtest.json_lines(broken.stdout)
        self.assertEqual(len(msgs), 1, broken.stdout)
        self.assertIn("healthy: 1 new", msgs[0]["text"])
        self.assertIn("h2", msgs[0]["text"])
        for n, (_, why) in faults.items():
            with self.subTest(fault=n):
                said = lines_naming(broken.stderr, n)
                self.assertEqual(len(said), 1, broken.stderr)
                self.assertIn(why, said[0])
                self.assertIn(" warn ", said[0])
                self.assertIn("%s: failed: " % n, broken.stdout)
                self.assertEqual(db_rows(
                    self.state, "SELECT pos, text, link FROM snapshot_item"
                    " WHERE watch = ? ORDER BY pos", n), snapshots[n],
                    "a failed check replaced the snapshot")
                self.assertEqual(db_rows(
                    self.state, "SELECT failures FROM watch WHERE name = ?",
                    n), [(1,)])

        # the pages come back, each with one new item: exactly that one is
        # reported, so nothing of the old snapshot was lost
        for n in faults:
            self.write_page("%s.html" % n, page([n + "-1", n + "-2",
                                                 n + "-new"]))
        self.write_page("json.html", page(["json-1", "json-2", "json-new"]))
        self.write_watches(dict(healthy=p.url("/healthy.html"), **good))
        back = self.kw("once")
        self.assertEqual(back.returncode, 0, back.stderr)
        texts = sorted(m["text"] for m in kwtest.json_lines(back.stdout))
        self.assertEqual(texts, sorted("%s: 1 new\n%s-new" % (n, n)
                                       for n in faults))
        self.assertEqual(db_rows(self.state, "SELECT count(*) FROM outbox"),
                         [(0,)])

    def test_invalid_utf8_and_nul_bytes_become_text_not_failures(self):
        self.write_page("bytes.html", page(["one", "two"]))
        self.write_watches({"bytes": self.pages.url("/bytes.html")})
        self.assertEqual(self.kw("once").returncode, 0)
        raw = (b"<html><body><ul><li><a href='/p/one'>one</a></li>"
               b"<li><a href='/p/two'>two</a></li>"
               b"<li><a href='/p/n\x00ul'>nul\x00byte \xff\xfe bad "
               b"\xed\xa0\x80 half \xea\xb0</a></li></ul></body></html>")
        self.write_page("bytes.html", raw)
        p = self.kw("once")
        self.assertEqual(p.returncode, 0, p.stderr)
        msgs = kwtest.json_lines(p.stdout)
        self.assertEqual(len(msgs), 1, p.stdout)
        text = msgs[0]["text"]
        self.assertIn("bytes: 1 new", text)
        self.assertIn("nul", text)
        self.assertIn("\ufffd", text, "bad bytes read as U+FFFD")
        self.assertNotIn("\x00", text)
        # and the same page again is no change (the item is stable)
        again = self.kw("once")
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertEqual(kwtest.json_lines(again.stdout), [])

    def test_run_keeps_delivering_while_other_watches_hang(self):
        p = self.pages
        self.write_page("healthy.html", page(["h1"]))
        self.write_config("""
state_dir: %s
kakao: {sink: stdout}
max_connections_per_host: 8
defaults: {timeout: 2s, interval: 1s, jitter: 0%%, max_failures: 1000}
watches:
  - {name: healthy, url: '%s', xpath: //li/a}
  - {name: hang1, url: '%s', xpath: //li/a}
  - {name: hang2, url: '%s', xpath: //li/a}
  - {name: hang3, url: '%s', xpath: //li/a}
  - {name: refused, url: 'http://127.0.0.1:%d/', xpath: //li/a}
""" % (self.state, p.url("/healthy.html"), p.url("/hang?1"),
            p.url("/hang?2"), p.url("/hang?3"), closed_port(self)))
        proc = subprocess.Popen([kwtest.BINARY, "-c", self.config, "run"],
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            kwtest.wait_until(lambda: baselined(self.state, "healthy"), 60,
                              "the healthy watch's baseline")
            self.write_page("healthy.html", page(["h1", "h2"]))
            # the hanging watches keep the transfer loop busy all the
            # time; the change must still be checked and printed
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                sent = db_rows(self.state, "SELECT count(*) FROM history "
                               "WHERE watch = 'healthy'")
                pending = db_rows(self.state, "SELECT count(*) FROM outbox")
                if sent == [(1,)] and pending == [(0,)]:
                    break
                time.sleep(0.2)
            # wait (with a deadline) until every hanging watch has
            # failed at least once: its timeout line is then in the log
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                rows = db_rows(self.state, "SELECT count(*) FROM watch "
                               "WHERE name LIKE 'hang%' AND failures >= 1")
                if rows == [(3,)]:
                    break
                time.sleep(0.2)
        finally:
            proc.terminate()
            out, err = proc.communicate(timeout=20)
        self.assertEqual(proc.returncode, 0, err)
        msgs = kwtest.json_lines(out)
        self.assertEqual([m["text"] for m in msgs], ["healthy: 1 new\nh2"],
                         err)
        for n in ("hang1", "hang2", "hang3"):
            said = lines_naming(err, n)
            self.assertGreaterEqual(len(said), 1, err)
            self.assertTrue(all("timed out" in ln for ln in said), said)
        self.assertTrue(all("connect" in ln
                            for ln in lines_naming(err, "refused")))


class KakaoFaults(kwtest.KwTestCase):
    """sink: kakao against the strict fake; faults injected per request."""

    def setUp(self):
        super().setUp()
        self.kakao = self.start_kakao("--client-id", CLIENT_ID,
                                      "--client-secret", SECRET,
                                      "--redirect-uri",
                                      "http://localhost:5000/oauth")
        self.pages = self.start_pages()
        self.round = 0
        for n in ("alpha", "beta"):
            self.write_page(n + ".html", page([n + "-0"]))
        self.write_config("""
state_dir: %s
kakao:
  rest_api_key: %s
  client_secret: %s
  auth_base_url: %s
  api_base_url: %s
  sink: kakao
  min_refresh_interval: 0s
defaults: {timeout: 2s, interval: 1m}
watches:
  - {name: alpha, url: '%s', xpath: //li/a}
  - {name: beta, url: '%s', xpath: //li/a}
""" % (self.state, CLIENT_ID, SECRET, self.kakao.base, self.kakao.base,
            self.pages.url("/alpha.html"), self.pages.url("/beta.html")))
        code = self.kakao.post_json("/_control/issue-code", {})["code"]
        p = self.kw("auth", "--code", code)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.kw("once").returncode, 0)

    def tearDown(self):
        self.assert_no_secrets(*self.secrets())
        super().tearDown()

    def secrets(self):
        out = [SECRET]
        path = os.path.join(self.state, "kakao_token.json")
        if os.path.exists(path):
            with open(path) as f:
                t = json.load(f)
            out += [t.get("access_token"), t.get("refresh_token")]
        return out

    def sent(self):
        return [m["template_object"]["text"]
                for m in self.kakao.get_json("/_control/messages")["messages"]]

    def change_pages(self):
        self.round += 1
        for n in ("alpha", "beta"):
            self.write_page(n + ".html", page(["%s-%d" % (n, i)
                                               for i in range(self.round + 1)]))
        return ["%s: 1 new\n%s-%d" % (n, n, self.round)
                for n in ("alpha", "beta")]

    def fault(self, how, want_rc, want_log, held=True):
        """Injects `how`, runs once, checks the log and the outbox, then
        runs once more without the fault: every message arrives once."""
        before = self.sent()
        expected = self.change_pages()
        self.kakao.post_json("/_control/fail", how)
        p = self.kw("-vvv", "once")
        self.assertEqual(p.returncode, want_rc, p.stderr)
        # both checks ran and were committed, whatever Kakao did
        self.assertIn("alpha: 1 new", p.stdout)
        self.assertIn("beta: 1 new", p.stdout)
        self.assertIn(want_log, p.stderr)
        left = db_rows(self.state, "SELECT count(*) FROM outbox")[0][0]
        if held:
            self.assertEqual(left, 2, "unsent messages must stay queued")
            self.assertIn("2 messages kept for the next run", p.stderr)
            self.assertEqual(self.sent(), before)
            urllib_delete(self.kakao, "/_control/fail")
            # the queue's hold (backoff, quota) lasts past this instant:
            # once follows it (issue 14), --force is the user sending now
            again = self.kw("once", "--force")
            self.assertEqual(again.returncode, 0, again.stderr)
        self.assertEqual(db_rows(self.state, "SELECT count(*) FROM outbox"),
                         [(0,)])
        self.assertEqual(sorted(self.sent()[len(before):]), expected,
                         "each message delivered exactly once")
        return p

    def test_send_500_is_retried_on_the_next_run(self):
        self.fault({"endpoint": "send", "status": 500}, 1,
                   "Kakao API server error (HTTP 500)")

    def test_send_answer_with_malformed_json_is_retried(self):
        self.fault({"endpoint": "send", "malformed": True}, 1,
                   "without result_code 0")

    def test_send_connection_closed_without_an_answer_is_retried(self):
        self.fault({"endpoint": "send", "hang": 1}, 1,
                   "cannot reach Kakao")

    def test_send_timeout_is_retried(self):
        # kakaowatch gives a Kakao request 15 s (KAKAO_TIMEOUT_MS)
        start = time.monotonic()
        p = self.fault({"endpoint": "send", "hang": 25}, 1, "timed out")
        self.assertLess(time.monotonic() - start, 24)
        self.assertIn("cannot reach Kakao", p.stderr)

    def test_401_loop_refreshes_once_and_keeps_the_messages(self):
        refreshes = self.kakao.get_json("/_control/tokens")["refreshes"]
        p = self.fault({"endpoint": "send", "code": -401, "count": 20}, 1,
                       "freshly refreshed access token (-401)")
        # one refresh before the batch (min_refresh_interval: 0s), one
        # for the -401: no refresh storm
        self.assertEqual(p.stderr.count("refreshing and retrying once"), 1)
        after = self.kakao.get_json("/_control/tokens")["refreshes"]
        self.assertLessEqual(after - refreshes, 2 + 1)

    def test_dead_refresh_token_koe322_holds_the_messages(self):
        p = self.fault({"endpoint": "token", "error_code": "KOE322"}, 1,
                       "KOE322")
        self.assertIn("kakaowatch auth", p.stderr)

    def test_quota_minus_10_holds_the_messages(self):
        p = self.fault({"endpoint": "send", "code": -10}, 1,
                       "Kakao API error -10")
        self.assertIn("quota used up", p.stderr)

    def test_token_rate_limit_koe237_sends_with_the_current_token(self):
        p = self.fault({"endpoint": "token", "error_code": "KOE237"}, 0,
                       "token refresh failed, using the current access "
                       "token", held=False)
        self.assertIn("KOE237", p.stderr)

    def test_token_endpoint_500_and_garbage_send_with_the_current_token(self):
        self.fault({"endpoint": "token", "status": 500}, 0,
                   "token refresh failed", held=False)
        self.fault({"endpoint": "token", "malformed": True}, 0,
                   "token refresh failed", held=False)


def urllib_delete(server, path):
    req = urllib.request.Request(server.base + path, method="DELETE")
    with urllib.request.urlopen(req, timeout=10) as r:
        r.read()


if __name__ == "__main__":
    kwtest.main()
