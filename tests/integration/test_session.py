"""Issue 16: logged-in sessions (cookies:), proxy: and user_agent: browser.

A members-only board (tests/fakes/sessionserver.py) shows its posts only to
a valid session cookie and rotates that cookie on every visit: kakaowatch
must read the exported cookies.txt, keep what the site sets in state_dir
(0600) and send it back next time, never log a cookie value, and say that
the session may have expired when the page comes back logged out.
"""
import http.client
import os
import stat
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(__file__))
import kwtest  # noqa: E402

FIRST_SID = "exported-4f1c9a77d2e0b8c3"


class Proxy(ThreadingHTTPServer):
    """A tiny forward HTTP proxy: records each request line it is asked
    for and forwards it (headers and all) to the origin."""
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), ProxyHandler)
        self.seen = []
        self.thread = threading.Thread(target=self.serve_forever,
                                       daemon=True)
        self.thread.start()


class ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        self.server.seen.append(self.path)
        url = urllib.parse.urlsplit(self.path)
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("proxy-connection", "connection")}
        conn.request("GET", url.path + ("?" + url.query if url.query else
                                        ""), headers=headers)
        r = conn.getresponse()
        body = r.read()
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("content-length", "connection",
                                 "transfer-encoding"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        conn.close()


class SessionTest(kwtest.KwTestCase):

    def setUp(self):
        super().setUp()
        self.board = kwtest.Server("sessionserver.py", "--sid", FIRST_SID)
        self.servers.append(self.board)
        self.cookies = os.path.join(self.tmp, "cookies.txt")
        self.export_cookies(FIRST_SID)

    def export_cookies(self, sid):
        # what a browser extension exports ("Get cookies.txt"): Netscape
        # format, tab separated, HttpOnly cookies prefixed
        kwtest.write_cookies_txt(self.cookies, sid)

    def setup_config(self, extra=""):
        return self.write_config("""
state_dir: %s
kakao:
  sink: stdout
watches:
  - name: members
    url: %s
    xpath: //ul[@id="posts"]/li/a
    cookies: cookies.txt
    timeout: 5s
%s
""" % (self.state, self.board.url("/board"), extra))

    def jar(self):
        return os.path.join(self.state, "cookies", "members.txt")

    def test_cookie_session_shows_items_and_rotated_cookie_is_kept(self):
        self.setup_config()
        p = self.kw("-vvv", "once")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("members: baseline stored (2 items)", p.stdout)
        reqs = self.board.get_json("/requests")
        self.assertIn("sid=" + FIRST_SID, reqs[0]["cookie"])
        self.assertIn("theme=dark", reqs[0]["cookie"])
        rotated = self.board.get_json("/sid")["sid"]
        self.assertNotEqual(rotated, FIRST_SID)

        # the jar: private, in state_dir, holding what the site set
        st = os.stat(self.jar())
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.dirname(
            self.jar())).st_mode), 0o700)
        with open(self.jar()) as f:
            self.assertIn(rotated, f.read())

        # the old cookie no longer works: only the kept one gets the posts
        self.board.post_json("/add?title=third%20post")
        p = self.kw("-vvv", "once")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("members: 1 new, 0 removed", p.stdout)
        self.assertIn("third post", p.stdout)
        reqs = self.board.get_json("/requests")
        self.assertEqual(len(reqs), 2)
        self.assertIn("sid=" + rotated, reqs[1]["cookie"])
        self.assertNotIn(FIRST_SID, reqs[1]["cookie"])
        self.assertIn("theme=dark", reqs[1]["cookie"])

        # and a third time, with the cookie rotated again
        again = self.board.get_json("/sid")["sid"]
        p = self.kw("-vvv", "once")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("members: unchanged", p.stdout)
        self.assertIn("sid=" + again,
                      self.board.get_json("/requests")[2]["cookie"])
        self.assert_no_secrets(FIRST_SID, rotated, again)

    def test_logged_out_page_says_the_session_may_have_expired(self):
        self.export_cookies("stale-0000")
        self.setup_config()
        p = self.kw("-vvv", "once")
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        out = p.stdout + p.stderr
        self.assertIn("session may have expired", out)
        self.assertIn("cookies.txt", out)
        self.assert_no_secrets("stale-0000")

    def test_freshly_exported_cookies_win_over_an_older_jar(self):
        self.setup_config()
        self.assertEqual(self.kw("once").returncode, 0)
        # the session ends on the server; the user logs in again and
        # exports a new file, newer than the jar
        fresh = "relogin-77aa"
        self.board.stop()
        self.servers.remove(self.board)
        old_url = self.board.url("/board")
        self.board = kwtest.Server("sessionserver.py", "--sid", fresh)
        self.servers.append(self.board)
        self.export_cookies(fresh)
        os.utime(self.cookies, None)
        with open(self.config) as f:
            text = f.read()
        self.write_config(text.replace(old_url, self.board.url("/board")))
        p = self.kw("once")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("sid=" + fresh,
                      self.board.get_json("/requests")[0]["cookie"])

    def test_missing_cookies_file_fails_the_check_clearly(self):
        self.setup_config()
        os.unlink(self.cookies)
        p = self.kw("once")
        self.assertEqual(p.returncode, 1)
        self.assertIn("cannot read the cookies file", p.stdout + p.stderr)
        self.assertEqual(self.board.get_json("/requests"), [])

    def test_proxy_sees_the_watch_requests(self):
        proxy = Proxy()
        self.addCleanup(proxy.server_close)
        self.addCleanup(proxy.shutdown)
        self.setup_config("    proxy: http://127.0.0.1:%d\n"
                    % proxy.server_address[1])
        # the watch's proxy wins over the environment's no_proxy
        p = self.kw("once", env={"no_proxy": "127.0.0.1,localhost",
                                 "NO_PROXY": "127.0.0.1,localhost"})
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("members: baseline stored (2 items)", p.stdout)
        self.assertEqual(proxy.seen, [self.board.url("/board")])
        # cookies pass through the proxy like any header
        self.assertIn("sid=" + FIRST_SID,
                      self.board.get_json("/requests")[0]["cookie"])

    def test_browser_user_agent_and_headers_reach_the_server(self):
        self.setup_config("    user_agent: browser\n"
                    "    headers: { Sec-Fetch-Site: same-origin }\n")
        p = self.kw("once")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        h = self.board.get_json("/requests")[0]["headers"]
        self.assertRegex(h["user-agent"],
                         r"^Mozilla/5\.0 \(Windows NT 10\.0; Win64; x64\) "
                         r"AppleWebKit/537\.36 \(KHTML, like Gecko\) "
                         r"Chrome/\d+\.0\.0\.0 Safari/537\.36$")
        self.assertTrue(h["accept-language"].startswith("ko-KR,ko;"),
                        h["accept-language"])
        self.assertTrue(h["accept"].startswith("text/html,"), h["accept"])
        self.assertEqual(h["sec-fetch-mode"], "navigate")
        # a header the user sets replaces the browser's own
        self.assertEqual(h["sec-fetch-site"], "same-origin")

    def test_default_user_agent_is_kakaowatch(self):
        self.setup_config()
        self.assertEqual(self.kw("once").returncode, 0)
        h = self.board.get_json("/requests")[0]["headers"]
        self.assertTrue(h["user-agent"].startswith("kakaowatch/"))
        self.assertNotIn("sec-fetch-mode", h)

    def test_bad_proxy_is_a_config_error_with_position(self):
        self.setup_config("    proxy: ftp://user:hunter2@127.0.0.1:21\n")
        p = self.kw("check")
        self.assertEqual(p.returncode, 2)
        self.assertRegex(p.stderr, r"kakaowatch\.yaml:\d+:\d+: .*proxy.*"
                         r"must start with http://, https://, socks5://")
        self.assert_no_secrets("hunter2")


if __name__ == "__main__":
    kwtest.main()
