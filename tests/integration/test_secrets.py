"""Secret hygiene (docs/design.md §4).

Every command runs at -vvv (debug) through its error paths: bad and used
authorization codes, a wrong client secret, KOE322, -401 loops, 500s whose
body quotes a token, malformed and rejected token responses, unreadable or
broken token files, a config that puts the client secret where errors quote
values, the daemon with a dead refresh token. No access token, refresh
token, authorization code or client secret may appear on stdout or stderr.
Also: files are 0600 in a 0700 state dir even under umask 000, and the
`auth` listener binds 127.0.0.1 only, refuses a wrong state or path, serves
one authorization and closes.
"""
import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import kwtest  # noqa: E402

CLIENT_ID = "secrets-rest-api-key-0123"
SECRET = "secrets-client-secret-4567-zz"
WRONG_SECRET = "secrets-wrong-secret-8901-yy"


def listening_on(port):
    """Local addresses (hex, as in /proc/net/tcp*) listening on `port`."""
    found = []
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            addr, hexport = cols[1].split(":")
            if int(hexport, 16) == port and cols[3] == "0A":
                found.append(addr)
    return found


def outbound_address():
    """This host's non-loopback IPv4 address, or None."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect(("192.0.2.1", 9))  # no packet is sent
        addr = s.getsockname()[0]
    except OSError:
        return None
    finally:
        s.close()
    return None if addr.startswith("127.") or addr == "0.0.0.0" else addr


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


NO_REDIRECT = urllib.request.build_opener(NoRedirect)


class Secrets(kwtest.KwTestCase):

    def setUp(self):
        super().setUp()
        self.port = kwtest.free_port()
        self.redirect = "http://127.0.0.1:%d/oauth" % self.port
        self.kakao = self.start_kakao("--client-id", CLIENT_ID,
                                      "--client-secret", SECRET,
                                      "--redirect-uri", self.redirect)
        self.pages = self.start_pages()
        self.write_page("board.html", "<ul><li><a href='/1'>one</a></li>"
                        "<li><a href='/2'>two</a></li></ul>")
        self.token_file = os.path.join(self.state, "kakao_token.json")
        self.env = {"KAKAO_REST_API_KEY": CLIENT_ID,
                    "KAKAO_CLIENT_SECRET": SECRET}
        self.known = {SECRET, WRONG_SECRET}
        self.write_config("""
state_dir: %s
kakao:
  rest_api_key: ${KAKAO_REST_API_KEY}
  client_secret: ${KAKAO_CLIENT_SECRET}
  redirect_uri: %s
  auth_base_url: %s
  api_base_url: %s
  sink: kakao
  min_refresh_interval: 0s
defaults: {timeout: 2s, interval: 2s}
watches:
  - name: board
    url: %s
    xpath: //li/a
""" % (self.state, self.redirect, self.kakao.base, self.kakao.base,
            self.pages.url("/board.html")))

    def tearDown(self):
        self.collect_tokens()
        try:
            self.assert_no_secrets(*sorted(self.known))
        finally:
            super().tearDown()

    # -- helpers --

    def collect_tokens(self):
        """Remembers every token ever stored (rotation replaces them)."""
        for path in (self.token_file, self.token_file + ".bak"):
            try:
                with open(path) as f:
                    t = json.load(f)
            except (OSError, ValueError):
                continue
            for k in ("access_token", "refresh_token", "id_token"):
                if isinstance(t.get(k), str) and len(t[k]) >= 4:
                    self.known.add(t[k])

    def run_kw(self, *args, env=None, **kw):
        p = self.kw("-vvv", *args, env=dict(self.env, **(env or {})), **kw)
        self.collect_tokens()
        return p

    def code(self):
        c = self.kakao.post_json("/_control/issue-code",
                                 {"redirect_uri": self.redirect})["code"]
        self.known.add(c)
        return c

    def fail(self, how):
        self.kakao.post_json("/_control/fail", how)

    def clear_faults(self):
        req = urllib.request.Request(self.kakao.base + "/_control/fail",
                                     method="DELETE")
        urllib.request.urlopen(req, timeout=10).read()

    def authorize(self):
        p = self.run_kw("auth", "--code", self.code())
        self.assertEqual(p.returncode, 0, p.stderr)

    def token(self, key):
        with open(self.token_file) as f:
            return json.load(f)[key]

    # -- tests --

    def test_auth_error_paths_print_no_code_or_secret(self):
        forged = "forged-code-0000abcdef"
        self.known.add(forged)
        p = self.run_kw("auth", "--code", forged)
        self.assertEqual(p.returncode, 1)
        self.assertIn("KOE320", p.stderr)
        p = self.run_kw("auth", "--code", self.code(),
                        env={"KAKAO_CLIENT_SECRET": WRONG_SECRET})
        self.assertEqual(p.returncode, 1)
        self.assertIn("KOE010", p.stderr)
        used = self.code()
        self.assertEqual(self.run_kw("auth", "--code", used).returncode, 0)
        p = self.run_kw("auth", "--redirect-url",
                        self.redirect + "?code=%s&state=x" % used)
        self.assertEqual(p.returncode, 1)
        self.assertIn("already used", p.stderr)
        p = self.run_kw("auth", "--no-listen", input=self.redirect +
                        "?error=access_denied&code=%s" % self.code())
        self.assertEqual(p.returncode, 1)
        self.assertEqual(self.run_kw("token", "status").returncode, 0)

    def test_token_refresh_error_paths_redact_tokens_kakao_echoes(self):
        self.authorize()
        rt, at = self.token("refresh_token"), self.token("access_token")
        self.fail({"endpoint": "token", "error_code": "KOE322"})
        p = self.run_kw("token", "refresh")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("kakaowatch auth", p.stderr)
        # an unknown error whose description quotes our tokens
        self.fail({"endpoint": "token", "status": 400, "body": {
            "error": "weird", "error_code": "KOE999",
            "error_description": "refresh_token=%s access=%s secret=%s"
                                 % (rt, at, SECRET)}})
        p = self.run_kw("token", "refresh")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("[redacted]", p.stderr)
        # a 200 whose token is unusable: never saved, never printed
        bad = "rejected-new-token with-space"
        self.known.add(bad)
        self.fail({"endpoint": "token", "status": 200, "body": {
            "access_token": bad, "token_type": "bearer", "expires_in": 99}})
        self.assertNotEqual(self.run_kw("token", "refresh").returncode, 0)
        self.fail({"endpoint": "token", "malformed": True})
        self.assertNotEqual(self.run_kw("token", "refresh").returncode, 0)
        self.fail({"endpoint": "token", "status": 500,
                   "raw_body": "<html>%s</html>" % rt})
        self.assertNotEqual(self.run_kw("token", "refresh").returncode, 0)
        ok = self.run_kw("token", "refresh")
        self.assertEqual(ok.returncode, 0, ok.stderr)
        self.assertEqual(self.run_kw("token", "status").returncode, 0)

    def test_send_and_once_error_paths_redact_tokens(self):
        self.authorize()
        at = self.token("access_token")
        self.fail({"endpoint": "send", "code": -401, "count": 2})
        p = self.run_kw("send", "hello")
        self.assertEqual(p.returncode, 1)
        at = self.token("access_token")
        self.fail({"endpoint": "send", "status": 500,
                   "raw_body": "bad token %s (secret %s)" % (at, SECRET)})
        p = self.run_kw("send", "hello")
        self.assertEqual(p.returncode, 1)
        self.assertIn("[redacted]", p.stderr, "the body is logged at -vvv")
        self.assertEqual(self.run_kw("once").returncode, 0)  # baseline
        self.write_page("board.html", "<ul><li><a href='/3'>three</a></li>"
                        "</ul>")
        self.fail({"endpoint": "send", "status": 400, "body": {
            "code": -2, "msg": "invalid template for %s" % at}})
        self.fail({"endpoint": "token", "error_code": "KOE322"})
        p = self.run_kw("once")
        self.assertEqual(p.returncode, 1)
        self.clear_faults()
        self.fail({"endpoint": "send", "malformed": True})
        self.assertEqual(self.run_kw("once").returncode, 1)
        # the queue now waits out its backoff (issue 14: once follows
        # the daemon's policy); --force sends regardless
        p = self.run_kw("once", "--force")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.run_kw("status").returncode, 0)
        self.assertEqual(self.run_kw("status", "--json").returncode, 0)

    def test_broken_token_files_are_refused_without_quoting_them(self):
        os.makedirs(self.state, mode=0o700, exist_ok=True)
        cases = [
            (0o644, {"refresh_token": "leak-check-rt-0001",
                     "access_token": "leak-check-at-0001"}, "chmod 600"),
            (0o600, {"refresh_token": "leak-check-rt-0002",
                     "access_token": 5}, "must be strings"),
            (0o600, {"refresh_token": "leak check rt 0003"},
             "no usable refresh_token"),
            (0o600, {"refresh_token": "leak-check-rt-0004",
                     "access_token": "leak\u00e9check-at-0004"},
             "characters a token cannot have"),
        ]
        for mode, body, why in cases:
            with self.subTest(why=why):
                for v in body.values():
                    if isinstance(v, str):
                        self.known.add(v)
                with open(self.token_file, "w") as f:
                    json.dump(body, f)
                os.chmod(self.token_file, mode)
                for args in (("token", "status"), ("token", "refresh"),
                             ("send", "x")):
                    p = self.run_kw(*args)
                    self.assertNotEqual(p.returncode, 0, args)
                    self.assertIn(why, p.stderr, args)
        self.known.add("leak-check-rt-0005")
        with open(self.token_file, "w") as f:
            f.write('{"refresh_token": "leak-check-rt-0005", "x": ')
        p = self.run_kw("token", "status")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("not valid JSON", p.stderr)

    def test_config_errors_quote_no_client_secret(self):
        path = self.write_config("""
kakao:
  client_secret: ${KAKAO_CLIENT_SECRET}
  sink: ${KAKAO_CLIENT_SECRET}
  redirect_uri: ${KAKAO_CLIENT_SECRET}
watches:
  - name: a
    url: http://x/${KAKAO_CLIENT_SECRET}
    xpath: //a[${KAKAO_CLIENT_SECRET}
    interval: ${KAKAO_CLIENT_SECRET}
    user_agent: ${KAKAO_CLIENT_SECRET}
    headers: {X-Key: "${KAKAO_CLIENT_SECRET}"}
""", name="bad.yaml")
        for cmd in (("check",), ("once",), ("test", "a"), ("run",),
                    ("auth", "--code", "x1234"), ("status",)):
            p = self.run_kw(*cmd, config=path, timeout=30)
            self.assertEqual(p.returncode, 2, cmd)
            self.assertIn("bad.yaml:", p.stderr)

    def test_run_with_a_dead_refresh_token_logs_no_secret(self):
        self.authorize()
        self.assertEqual(self.run_kw("once").returncode, 0)
        self.write_page("board.html", "<ul><li><a href='/9'>nine</a></li>"
                        "</ul>")
        self.kakao.post_json("/_control/revoke", {"access": True})
        errpath = os.path.join(self.tmp, "run.err")
        with open(errpath, "w") as errf:
            proc = subprocess.Popen(
                [kwtest.BINARY, "-vvv", "-c", self.config, "run"],
                stdout=subprocess.PIPE, stderr=errf, text=True,
                env=dict(os.environ, **self.env))

        def said_auth():  # a check, a change, a refresh that fails
            with open(errpath) as f:
                return "kakaowatch auth" in f.read()
        try:
            kwtest.wait_until(said_auth, 30, "the re-authorize error")
        finally:
            proc.send_signal(signal.SIGTERM)
            out, _ = proc.communicate(timeout=20)
        with open(errpath) as f:
            err = f.read()
        self.logs.append(out + err)
        self.assertEqual(proc.returncode, 0, err)
        self.assertIn("kakaowatch auth", err)

    def test_health_fails_while_delivery_is_held(self):
        """A dead refresh token holds delivery until `kakaowatch auth`: the
        daemon is alive and no watch fails, yet nothing can be delivered,
        so `status --health` must not say healthy."""
        self.authorize()
        self.assertEqual(self.run_kw("once").returncode, 0)
        self.write_page("board.html", "<ul><li><a href='/9'>nine</a></li>"
                        "</ul>")
        self.kakao.post_json("/_control/revoke", {"access": True})
        proc = subprocess.Popen(
            [kwtest.BINARY, "-c", self.config, "run"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=dict(os.environ, **self.env))
        try:
            def held():
                p = self.run_kw("status", "--health")
                return p if "delivery held" in p.stderr else None
            p = kwtest.wait_until(held, 30, "status --health to say "
                                  "delivery held", interval=0.5)
            self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
            self.assertIn("delivery held", p.stderr)
            self.assertNotIn("not running", p.stderr)
            j = json.loads(self.run_kw("status", "--json").stdout)
            self.assertFalse(j["healthy"])
            self.assertTrue(j["daemon_alive"])
        finally:
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=20)
        self.logs.append(out + err)

    def core_limit(self, pid):
        with open("/proc/%d/limits" % pid) as f:
            for line in f:
                if line.startswith("Max core file size"):
                    return line.split()[4]
        return None

    def test_a_crash_leaves_no_core_file_with_secrets(self):
        """kill -SEGV with core dumps enabled (ulimit -c unlimited, cwd
        writable): the daemon, holding the client secret and both tokens,
        has turned core dumps off (RLIMIT_CORE 0, not dumpable), so no
        core file appears and no file in its directory holds a secret."""
        import resource
        self.authorize()
        # a baseline now, so that the daemon's first check finds a new
        # item and sends it: the tokens are in use when it crashes
        self.assertEqual(self.run_kw("once").returncode, 0)
        self.write_page("board.html", "<ul><li><a href='/9'>nine</a></li>"
                        "</ul>")
        self.known.add(self.token("access_token"))
        self.known.add(self.token("refresh_token"))
        cores = os.path.join(self.tmp, "cores")
        os.mkdir(cores)

        def unlimited():
            resource.setrlimit(resource.RLIMIT_CORE,
                               (resource.RLIM_INFINITY,
                                resource.RLIM_INFINITY))

        with open("/proc/sys/kernel/core_pattern") as f:
            pattern = f.read().strip()
        # does this machine write core files into the cwd at all?
        probe = subprocess.run(
            [sys.executable, "-c",
             "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"],
            cwd=cores, preexec_fn=unlimited)
        dumps = sorted(n for n in os.listdir(cores) if n.startswith("core"))
        for n in dumps:
            os.unlink(os.path.join(cores, n))
        can_dump = probe.returncode == -signal.SIGSEGV and bool(dumps)

        proc = subprocess.Popen(
            [kwtest.BINARY, "-vvv", "-c", self.config, "run"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=dict(os.environ, **self.env), cwd=cores,
            preexec_fn=unlimited)
        try:
            kwtest.wait_until(lambda: self.core_limit(proc.pid) == "0", 20,
                              "core dumps turned off (RLIMIT_CORE 0)",
                              interval=0.1)
            if os.geteuid() != 0:
                # not dumpable: /proc/PID belongs to root (proc(5))
                self.assertEqual(os.stat("/proc/%d" % proc.pid).st_uid, 0)
            # a check and a send: the tokens are in use
            kwtest.wait_until(
                lambda: self.kakao.get_json("/_control/tokens")["sends"]
                >= 1, 30, "the daemon's send of the new item")
            proc.send_signal(signal.SIGSEGV)
            out, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        self.logs.append(out + err)
        self.assertNotEqual(proc.returncode, 0)
        names = sorted(os.listdir(cores))
        if can_dump:
            self.assertEqual([n for n in names if n.startswith("core")], [],
                             "a core file was written")
        else:
            print("core_pattern %r writes no core into the cwd here: "
                  "checked RLIMIT_CORE only" % pattern, file=sys.stderr)
        for name in names:
            with open(os.path.join(cores, name), "rb") as f:
                data = f.read()
            for secret in self.known:
                self.assertNotIn(secret.encode(), data,
                                 "%s holds a secret" % name)

    def test_files_are_private_even_under_umask_000(self):
        old = os.umask(0)
        try:
            self.authorize()
            self.assertEqual(self.run_kw("once").returncode, 0)
            self.assertEqual(self.run_kw("token", "refresh").returncode, 0)
        finally:
            os.umask(old)
        self.assertEqual(stat.S_IMODE(os.stat(self.state).st_mode), 0o700)
        names = sorted(os.listdir(self.state))
        for want in ("kakao_token.json", "kakao_token.json.bak",
                     "kakaowatch.db"):
            self.assertIn(want, names)
        for name in names:
            mode = stat.S_IMODE(os.stat(os.path.join(self.state,
                                                     name)).st_mode)
            self.assertEqual(mode & 0o077, 0, "%s is mode %o" % (name, mode))

    def test_auth_listener_is_loopback_only_checks_state_and_closes(self):
        proc = subprocess.Popen(
            [kwtest.BINARY, "-vvv", "-c", self.config, "auth"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=dict(os.environ, **self.env))
        try:
            url = None
            for _ in range(20):
                m = re.search(r"(http://\S+/oauth/authorize\?\S+)",
                              proc.stdout.readline())
                if m:
                    url = m.group(1)
                    break
            self.assertIsNotNone(url)
            kwtest.wait_until(lambda: listening_on(self.port), 20,
                              "the auth listener on port %d" % self.port)
            self.assertEqual(listening_on(self.port), ["0100007F"],
                             "the listener must bind 127.0.0.1 only")
            other = outbound_address()
            if other is not None:
                with self.assertRaises(OSError):
                    socket.create_connection((other, self.port), 1).close()
            for bad, status in (("?code=forged-1234&state=0000", 400),
                                ("?code=forged-5678", 400)):
                with self.assertRaises(urllib.error.HTTPError) as e:
                    urllib.request.urlopen(self.redirect + bad, timeout=5)
                self.assertEqual(e.exception.code, status)
            with self.assertRaises(urllib.error.HTTPError) as e:
                urllib.request.urlopen(
                    "http://127.0.0.1:%d/elsewhere?code=x&state=y"
                    % self.port, timeout=5)
            self.assertEqual(e.exception.code, 404)
            self.assertIsNone(proc.poll(), "a bad request ended auth")
            # the browser: the fake consents and redirects to us with a
            # code (remembered as a secret), which we follow
            with self.assertRaises(urllib.error.HTTPError) as e:
                NO_REDIRECT.open(url, timeout=20)
            self.assertEqual(e.exception.code, 302)
            location = e.exception.headers["Location"]
            self.known.add(re.search(r"code=([^&]+)", location).group(1))
            with urllib.request.urlopen(location, timeout=20) as r:
                self.assertEqual(r.status, 200)
            out, err = proc.communicate(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        self.logs.append(out + err)
        self.assertEqual(proc.returncode, 0, err)
        self.assertEqual(listening_on(self.port), [])
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", self.port), 1).close()
        codes = self.kakao.get_json("/_control/tokens")
        self.assertEqual(codes["codes_used"], 1)
        self.collect_tokens()


if __name__ == "__main__":
    kwtest.main()
