"""`kakaowatch auth` as a new user lives it (issue 14): 취소 ends at once, a
missing talk_message consent is explained, browser preconnects do not
delay the answer, the code comes from stdin or the environment instead of
argv, and a Python tutorial's token file comes in with `--import`.
"""
import json
import os
import re
import socket
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import kwtest  # noqa: E402

CLIENT_ID = "auth-test-rest-key-77"


class AuthTest(kwtest.KwTestCase):

    def setUp(self):
        super().setUp()
        self.start_kakao_auth(CLIENT_ID)
        self.pages = self.start_pages()
        self.write_page("board.html", "<ul><li><a href='/1'>one</a></li>"
                        "</ul>")
        self.token_file = os.path.join(self.state, "kakao_token.json")
        self.write_config("""
state_dir: %s
%swatches:
  - name: board
    url: %s
    xpath: //li/a
""" % (self.state, self.kakao_yaml(), self.pages.url("/board.html")))

    def start_listener(self):
        proc = subprocess.Popen(
            [kwtest.BINARY, "-c", self.config, "auth"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=dict(os.environ, **self.env))
        url = None
        for _ in range(20):
            line = proc.stdout.readline()
            m = re.search(r"(http://\S+/oauth/authorize\?\S+)", line)
            if m:
                url = m.group(1)
                break
        self.assertIsNotNone(url, "auth printed no authorize URL")
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port),
                                         0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        return proc, url

    def finish(self, proc, timeout=20):
        try:
            out, err = proc.communicate(timeout=timeout)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        self.logs.append(out + err)
        return out, err

    def browse(self, url):
        try:
            with urllib.request.urlopen(url, timeout=20) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def test_cancel_ends_the_listener_at_once(self):
        self.kakao.post_json("/_control/consent", {"deny": True})
        proc, url = self.start_listener()
        t0 = time.monotonic()
        status, body = self.browse(url)
        self.assertEqual(status, 400)
        self.assertIn("취소", body)
        out, err = self.finish(proc)
        self.assertLess(time.monotonic() - t0, 5, "no 5-minute wait")
        self.assertEqual(proc.returncode, 1)
        self.assertIn("access_denied", err)
        self.assertIn("kakaowatch auth", err)
        self.assertFalse(os.path.exists(self.token_file))

    def test_missing_talk_message_consent_is_explained(self):
        self.kakao.post_json("/_control/consent", {"talk_message": False})
        proc, url = self.start_listener()
        status, body = self.browse(url)
        out, err = self.finish(proc)
        self.assertEqual(proc.returncode, 1, err)
        self.assertIn("talk_message", err)
        self.assertIn("동의항목", err)
        self.assertNotIn("KakaoTalk connected", out)
        self.assertFalse(os.path.exists(self.token_file),
                         "a token that cannot send is not saved")

    def test_browser_preconnects_do_not_delay_the_answer(self):
        proc, url = self.start_listener()
        idle = [socket.create_connection(("127.0.0.1", self.port), 2)
                for _ in range(3)]
        t0 = time.monotonic()
        status, body = self.browse(url)
        took = time.monotonic() - t0
        out, err = self.finish(proc)
        for s in idle:
            s.close()
        self.assertEqual(proc.returncode, 0, err)
        self.assertEqual(status, 200, body)
        self.assertLess(took, 5, "answered while 3 connections idled")
        self.assertIn("KakaoTalk connected", out)

    def issue_code(self):
        return self.kakao.post_json("/_control/issue-code",
                                    {"redirect_uri": self.redirect})["code"]

    def test_code_from_stdin_and_from_the_environment(self):
        code = self.issue_code()
        p = self.kw("auth", "--code", "-", env=self.env, input=code + "\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("KakaoTalk connected", p.stdout)
        os.unlink(self.token_file)
        code = self.issue_code()
        p = self.kw("auth", env=dict(self.env, KAKAO_AUTH_CODE=code))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(os.path.exists(self.token_file))
        self.assert_no_secrets(code)

    def tutorial_file(self, name):
        """What the tutorials write: json.dump of Kakao's token answer."""
        code = self.issue_code()
        form = urllib.parse.urlencode({
            "grant_type": "authorization_code", "client_id": CLIENT_ID,
            "redirect_uri": self.redirect, "code": code}).encode()
        req = urllib.request.Request(
            self.kakao.base + "/oauth/token", data=form, headers={
                "Content-Type": "application/x-www-form-urlencoded"})
        with urllib.request.urlopen(req, timeout=10) as r:
            tokens = json.loads(r.read().decode())
        path = os.path.join(self.tmp, name)
        with open(path, "w") as fp:
            json.dump(tokens, fp)
        os.chmod(path, 0o644)
        return path, tokens

    def test_import_of_both_tutorial_files(self):
        for name in ("kakao_code.json", "kakao_token.json"):
            path, tokens = self.tutorial_file(name)
            before = self.kakao.get_json("/_control/tokens")["refreshes"]
            p = self.kw("auth", "--import", path, env=self.env)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("delete it", p.stdout)
            self.assertEqual(self.kakao.get_json("/_control/tokens")
                             ["refreshes"], before + 1,
                             "verified with one refresh")
            self.assertEqual(stat.S_IMODE(os.stat(self.token_file).st_mode),
                             0o600)
            with open(self.token_file) as f:
                saved = json.load(f)
            self.assertEqual(saved["refresh_token"], tokens["refresh_token"])
            self.assertNotEqual(saved["access_token"], tokens["access_token"])
            p = self.kw("send", "imported", env=self.env)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assert_no_secrets(tokens["refresh_token"],
                                   tokens["access_token"])

    def test_import_refuses_a_file_without_a_refresh_token(self):
        path = os.path.join(self.tmp, "kakao_code.json")
        with open(path, "w") as fp:
            json.dump({"access_token": "abc", "token_type": "bearer",
                       "expires_in": 21599}, fp)
        p = self.kw("auth", "--import", path, env=self.env)
        self.assertEqual(p.returncode, 1)
        self.assertIn("no refresh_token", p.stderr)
        self.assertFalse(os.path.exists(self.token_file))


if __name__ == "__main__":
    kwtest.main()
