"""KakaoTalk delivery end to end.

`kakaowatch auth` (listen mode driven by an HTTP client that follows the
fake's redirect, and --code), then `once` against loopback pages, asserting
the exact template objects the strict fake Kakao received; rotation,
-401 retry, KOE322 hold-and-resume, `send`, `token status`, file modes, and
that no token, code or secret ever reaches the output.
"""
import json
import os
import re
import socket
import stat
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import kwtest  # noqa: E402

CLIENT_ID = "test-rest-api-key-0123"
SECRET = "client-secret-4567-abcdef"

page = kwtest.page


class KakaoE2E(kwtest.KwTestCase):

    def setUp(self):
        super().setUp()
        self.start_kakao_auth(CLIENT_ID, SECRET)
        self.pages = self.start_pages()
        self.write_page("board.html", page(["one", "two"]))
        self.token_file = os.path.join(self.state, "kakao_token.json")
        self.write_config("""
state_dir: %s
%s  min_refresh_interval: 0s
watches:
  - name: board
    url: %s
    xpath: //li/a
    interval: 1m
""" % (self.state, self.kakao_yaml(), self.pages.url("/board.html")))

    def secrets(self):
        out = [SECRET]
        for path in (self.token_file, self.token_file + ".bak"):
            if os.path.exists(path):
                with open(path) as f:
                    t = json.load(f)
                out += [t.get("access_token"), t.get("refresh_token")]
        return out + getattr(self, "codes", [])

    def issue_code(self):
        code = self.kakao.post_json("/_control/issue-code",
                                    {"redirect_uri": self.redirect})["code"]
        self.codes = getattr(self, "codes", []) + [code]
        return code

    def auth_by_code(self):
        p = self.kw("auth", "--code", self.issue_code(), env=self.env)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p

    def messages(self):
        return [m["template_object"]
                for m in self.kakao.get_json("/_control/messages")["messages"]]

    def test_auth_listen_mode_through_the_browser_redirect(self):
        proc = subprocess.Popen(
            [kwtest.BINARY, "-c", self.config, "auth"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=dict(os.environ, **self.env))
        try:
            url = None
            for _ in range(20):
                line = proc.stdout.readline()
                m = re.search(r"(http://\S+/oauth/authorize\?\S+)", line)
                if m:
                    url = m.group(1)
                    break
            self.assertIsNotNone(url, "auth printed no authorize URL")
            self.assertIn("scope=talk_message", url)
            self.assertIn("response_type=code", url)
            self.assertRegex(url, r"state=[0-9a-f]{16,}")
            # wait until kakaowatch listens, then play the browser: the
            # fake consents and redirects to 127.0.0.1:PORT/oauth?code=..
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", self.port),
                                             0.2).close()
                    break
                except OSError:
                    time.sleep(0.05)
            # a request with a wrong state is refused and ignored
            with self.assertRaises(urllib.error.HTTPError) as bad:
                urllib.request.urlopen(self.redirect +
                                       "?code=forged&state=0000", timeout=5)
            self.assertEqual(bad.exception.code, 400)
            with urllib.request.urlopen(url, timeout=20) as r:
                body = r.read().decode()
            self.assertIn("연결 완료", body)
            out, err = proc.communicate(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        self.logs.append(out + err)
        self.assertEqual(proc.returncode, 0, err)
        self.assertIn("KakaoTalk connected", out)
        st = os.stat(self.token_file)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(os.stat(self.state).st_mode), 0o700)
        # the listener served exactly one successful exchange and is gone
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", self.port), 0.5).close()
        self.assert_no_secrets(*self.secrets())

    def test_auth_code_errors_say_what_to_do(self):
        code = self.issue_code()
        ok = self.kw("auth", "--code", code, env=self.env)
        self.assertEqual(ok.returncode, 0, ok.stderr)
        again = self.kw("auth", "--code", code, env=self.env)
        self.assertEqual(again.returncode, 1)
        self.assertIn("kakaowatch auth", again.stderr)
        self.assertIn("already used", again.stderr)
        wrong = self.kw("auth", "--code", self.issue_code(),
                        env={"KAKAO_REST_API_KEY": CLIENT_ID,
                             "KAKAO_CLIENT_SECRET": "wrong-secret-value"})
        self.assertEqual(wrong.returncode, 1)
        self.assertIn("KAKAO_CLIENT_SECRET", wrong.stderr)
        self.assert_no_secrets(*self.secrets(), "wrong-secret-value")

    def test_once_delivers_exactly_the_new_items_and_refreshes_first(self):
        self.auth_by_code()
        first = self.kw("once", env=self.env)
        self.assertEqual(first.returncode, 0, first.stderr)
        self.assertEqual(self.messages(), [], "baseline must be silent")
        before = self.kakao.get_json("/_control/tokens")["refreshes"]

        self.write_page("board.html", page(["three", "one", "two", "four"]))
        second = self.kw("once", env=self.env)
        self.assertEqual(second.returncode, 0, second.stderr)
        msgs = self.messages()
        self.assertEqual(len(msgs), 1, msgs)
        m = msgs[0]
        self.assertEqual(m["object_type"], "list")
        self.assertEqual(m["header_title"], "board: 2 new")
        self.assertEqual(m["header_link"]["web_url"],
                         self.pages.url("/board.html"))
        self.assertEqual([(c["title"], c["link"]["web_url"])
                          for c in m["contents"]],
                         [("three", self.pages.url("/p/three")),
                          ("four", self.pages.url("/p/four"))])
        after = self.kakao.get_json("/_control/tokens")["refreshes"]
        self.assertEqual(after, before + 1,
                         "the access token is refreshed before the batch")

        third = self.kw("once", env=self.env)
        self.assertEqual(third.returncode, 0)
        self.assertEqual(len(self.messages()), 1, "nothing new, nothing sent")
        self.assert_no_secrets(*self.secrets())

    def test_refresh_token_rotation_is_persisted_with_a_backup(self):
        self.auth_by_code()
        with open(self.token_file) as f:
            old = json.load(f)
        # inside the last month of the refresh token, Kakao rotates it
        self.kakao.post_json("/_control/clock", {"advance": 31 * 86400})
        p = self.kw("token", "refresh", env=self.env)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(self.token_file) as f:
            new = json.load(f)
        self.assertNotEqual(new["refresh_token"], old["refresh_token"])
        self.assertEqual(self.kakao.get_json("/_control/tokens")["rotations"],
                         1)
        with open(self.token_file + ".bak") as f:
            self.assertIn("refresh_token", json.load(f))
        # and the rotated token keeps working (the old one is dead)
        self.write_page("board.html", page(["one", "two"]))
        self.assertEqual(self.kw("once", env=self.env).returncode, 0)
        self.write_page("board.html", page(["one", "two", "five"]))
        p = self.kw("once", env=self.env)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(len(self.messages()), 1)
        status = self.kw("token", "status", env=self.env)
        self.assertEqual(status.returncode, 0)
        self.assertIn("refresh token", status.stdout)
        self.assert_no_secrets(*self.secrets(), old["refresh_token"],
                               old["access_token"])

    def test_401_refreshes_once_and_retries(self):
        self.auth_by_code()
        self.assertEqual(self.kw("once", env=self.env).returncode, 0)
        self.kakao.post_json("/_control/fail", {"endpoint": "send",
                                                "code": -401})
        self.write_page("board.html", page(["one", "two", "six"]))
        p = self.kw("once", env=self.env)
        self.assertEqual(p.returncode, 0, p.stderr)
        msgs = self.messages()
        self.assertEqual(len(msgs), 1)
        self.assertIn("six", msgs[0]["text"])

    def test_dead_refresh_token_keeps_messages_until_new_auth(self):
        self.auth_by_code()
        self.assertEqual(self.kw("once", env=self.env).returncode, 0)
        self.kakao.post_json("/_control/revoke", {"access": True})
        self.write_page("board.html", page(["one", "two", "seven", "eight"]))
        held = self.kw("once", env=self.env)
        self.assertEqual(held.returncode, 1)
        self.assertIn("kakaowatch auth", held.stderr)
        self.assertEqual(self.messages(), [])
        # still held on the next run, nothing lost, page unchanged
        again = self.kw("once", env=self.env)
        self.assertEqual(again.returncode, 1)
        self.auth_by_code()
        resumed = self.kw("once", env=self.env)
        self.assertEqual(resumed.returncode, 0, resumed.stderr)
        msgs = self.messages()
        self.assertEqual(len(msgs), 1)
        self.assertEqual([c["title"] for c in msgs[0]["contents"]],
                         ["seven", "eight"])
        self.assert_no_secrets(*self.secrets())

    def test_send_text_message_to_yourself(self):
        self.auth_by_code()
        p = self.kw("send", "--link", "https://example.com/x", "--button",
                    "보기", "안녕하세요 kakaowatch", env=self.env)
        self.assertEqual(p.returncode, 0, p.stderr)
        msgs = self.messages()
        self.assertEqual(msgs, [{
            "object_type": "text", "text": "안녕하세요 kakaowatch",
            "link": {"web_url": "https://example.com/x",
                     "mobile_web_url": "https://example.com/x"},
            "button_title": "보기"}])

    def test_without_token_file_auto_sink_prints_and_says_how_to_connect(self):
        self.assertEqual(self.kw("once", env=self.env).returncode, 0)
        self.write_page("board.html", page(["one", "two", "nine"]))
        p = self.kw("once", env=self.env)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("kakaowatch auth", p.stderr)
        self.assertEqual(len(kwtest.json_lines(p.stdout)), 1)
        self.assertEqual(self.messages(), [])


if __name__ == "__main__":
    kwtest.main()
