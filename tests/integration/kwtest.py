"""Shared helpers for kakaowatch's integration tests (Python 3 stdlib only).

Each test starts its own loopback servers from tests/fakes/ on free ports,
writes a config into a temporary directory and runs the real binary
($KW_BINARY). Nothing here reaches beyond 127.0.0.1.
"""
import calendar
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

FAKES = os.environ.get("KW_FAKES_DIR") or os.path.join(
    os.path.dirname(__file__), "..", "fakes")
DATA = os.environ.get("KW_DATA_DIR") or os.path.join(
    os.path.dirname(__file__), "..", "data")
BINARY = os.environ.get("KW_BINARY") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "kakaowatch")


class Server:
    """A fake server process that prints its port on its first stdout line."""

    def __init__(self, script, *args):
        self.proc = subprocess.Popen(
            [sys.executable, "-B", os.path.join(FAKES, script), "--port", "0",
             *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.strip().isdigit():
            self.proc.kill()
            raise RuntimeError("%s did not start: %r %s" % (
                script, line, self.proc.stderr.read()))
        self.port = int(line)
        self.base = "http://127.0.0.1:%d" % self.port

    def url(self, path):
        return self.base + path

    def get_json(self, path):
        with urllib.request.urlopen(self.base + path, timeout=10) as r:
            return json.loads(r.read().decode())

    def post_json(self, path, obj=None):
        data = json.dumps(obj or {}).encode()
        req = urllib.request.Request(
            self.base + path, data=data,
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            body = r.read().decode()
            return json.loads(body) if body else None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()


class KwTestCase(unittest.TestCase):
    """Gives each test a temp dir, a page root and a runner for kakaowatch."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="kw-it-")
        self.root = os.path.join(self.tmp, "pages")
        os.mkdir(self.root)
        self.state = os.path.join(self.tmp, "state")
        self.servers = []
        self.logs = []

    def tearDown(self):
        for s in self.servers:
            s.stop()
        if os.environ.get("KW_KEEP_TMP"):
            print("kept", self.tmp, file=sys.stderr)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def start_pages(self):
        s = Server("pageserver.py", "--root", self.root)
        self.servers.append(s)
        return s

    def start_kakao(self, *args):
        s = Server("fake_kakao.py", *args)
        self.servers.append(s)
        return s

    def start_kakao_auth(self, client_id, secret=None):
        """The set-up of a test of `auth` against the strict fake Kakao:
        sets self.port (a free loopback port for `auth`'s own listener),
        self.redirect (http://127.0.0.1:PORT/oauth), self.kakao (the fake,
        knowing CLIENT_ID, SECRET if given, and that redirect URI) and
        self.env (KAKAO_REST_API_KEY, and KAKAO_CLIENT_SECRET if SECRET)
        for the config's ${...}; kakao_yaml() is the matching block."""
        self.port = free_port()
        self.redirect = "http://127.0.0.1:%d/oauth" % self.port
        args = ["--client-id", client_id]
        self.env = {"KAKAO_REST_API_KEY": client_id}
        if secret is not None:
            args += ["--client-secret", secret]
            self.env["KAKAO_CLIENT_SECRET"] = secret
        self.kakao = self.start_kakao(*(args + ["--redirect-uri",
                                                self.redirect]))
        return self.kakao

    def kakao_yaml(self):
        """The `kakao:` config block for start_kakao_auth's fake (keys from
        self.env's variables, never the values)."""
        text = "kakao:\n  rest_api_key: ${KAKAO_REST_API_KEY}\n"
        if "KAKAO_CLIENT_SECRET" in self.env:
            text += "  client_secret: ${KAKAO_CLIENT_SECRET}\n"
        return text + ("  redirect_uri: %s\n  auth_base_url: %s\n"
                       "  api_base_url: %s\n" % (
                           self.redirect, self.kakao.base, self.kakao.base))

    def write_page(self, name, text, charset=None):
        path = os.path.join(self.root, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        data = text.encode(charset or "utf-8") if isinstance(text, str) \
            else text
        with open(path + ".tmp", "wb") as f:
            f.write(data)
        os.replace(path + ".tmp", path)
        if charset:
            with open(path + ".charset", "w") as f:
                f.write(charset)

    def write_config(self, text, name="kakaowatch.yaml"):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        self.config = path
        return path

    def kw(self, *args, env=None, input=None, timeout=120, config=None):
        """Runs kakaowatch; returns CompletedProcess (text)."""
        e = dict(os.environ)
        e.pop("KAKAOWATCH_CONFIG", None)
        e.update(env or {})
        cmd = [BINARY, "-c", config or self.config, *args]
        p = subprocess.run(cmd, capture_output=True, text=True, env=e,
                           input=input, timeout=timeout)
        self.logs.append(p.stdout + p.stderr)
        return p

    def assert_no_secrets(self, *secrets):
        for log in self.logs:
            for s in secrets:
                if s:
                    self.assertNotIn(s, log, "a secret leaked into output")


def ephemeral_ports():
    """The kernel's range for ports it picks itself (bind to port 0, the
    local end of a connection): ip_local_port_range."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low, high = (int(x) for x in f.read().split())
        return low, high
    except (OSError, ValueError):
        return 32768, 60999


def free_port():
    """A TCP port free on 127.0.0.1 now, for a listener the program under
    test opens later itself (the auth listener of a redirect URI fixed in
    the config). Picked below the kernel's ephemeral range: a port from
    that range, free now, can be handed out again before the program
    binds it, to a fake server of a test running beside (they bind port
    0) or as the local port of any connection, and the bind then fails
    with "Address already in use"."""
    low, _ = ephemeral_ports()
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(max(1024, low - 12000), low)
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            s.close()
        return port
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_until(cond, timeout, what, interval=0.05):
    """Polls cond() until it returns something true, and returns that;
    fails the test after `timeout` seconds naming `what`. Tests wait for
    what they need this way, never for a fixed time."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.0fs waiting for %s"
                                 % (timeout, what))
        time.sleep(interval)


def json_lines(text):
    """The JSON objects printed one per line by the stdout sink."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


# ---- the browser (render: browser): test_render, test_proxy, bench ----

BROWSER_NAME = "chromium-headless-shell"


def find_browser():
    """The path of chromium-headless-shell on $PATH, or None if it is not
    installed (the browser tests then skip)."""
    return shutil.which(BROWSER_NAME)


def script_list_page(list_id="list", head="", before=""):
    """An HTML page whose <ul id=LIST_ID> is empty in the HTML and filled
    by a script from GET /items.json (a JSON array of {id, title}): one
    <li><a href="/show/ID">TITLE</a> per item. Only a browser sees items.
    HEAD goes into <head>, BEFORE into <body> before the list."""
    return ("""<!doctype html><html><head>%s</head><body>%s<ul id="%s"></ul>
<script>
fetch('/items.json').then(r => r.json()).then(items => {
  const ul = document.getElementById('%s');
  for (const it of items) {
    const li = document.createElement('li');
    const a = document.createElement('a');
    a.href = '/show/' + it.id;
    a.textContent = it.title;
    li.appendChild(a);
    ul.appendChild(li);
  }
});
</script></body></html>""" % (head, before, list_id, list_id))


def write_cookies_txt(path, sid):
    """Writes to `path` what a browser extension exports ("Get
    cookies.txt") after a login to tests/fakes/sessionserver.py: Netscape
    format, tab separated, the HttpOnly session cookie sid=SID (prefixed
    #HttpOnly_) and one more, theme=dark."""
    with open(path, "w") as f:
        f.write("# Netscape HTTP Cookie File\n"
                "#HttpOnly_127.0.0.1\tFALSE\t/\tFALSE\t0\tsid\t%s\n"
                "127.0.0.1\tFALSE\t/\tFALSE\t0\ttheme\tdark\n" % sid)


# ---- the daemon against fake Kakao (test_daemon, test_delivery, ...) ----

CLIENT_ID = "daemon-test-rest-key-42"
REDIRECT = "http://localhost:5000/oauth"


def page(titles):
    return "<html><body><ul>%s</ul></body></html>" % "".join(
        '<li><a href="/p/%s">%s</a></li>' % (t.replace(" ", "-"), t)
        for t in titles)


def items_of(msg):
    """The item titles a message shows (list contents or a text's item)."""
    if msg.get("object_type") == "list":
        return [c["title"] for c in msg["contents"]]
    lines = msg.get("text", "").split("\n")
    if len(lines) > 1 and re.search(r": \d+ new", lines[0]):
        return lines[1:]
    return []


class Daemon:
    """One `kakaowatch run` with its stdout and stderr in files."""

    count = 0

    def __init__(self, tc, config, env=None, args=()):
        Daemon.count += 1
        base = os.path.join(tc.tmp, "run%d" % Daemon.count)
        self.out_path, self.err_path = base + ".out", base + ".err"
        e = dict(os.environ)
        e.pop("KAKAOWATCH_CONFIG", None)
        e.update(env or {})
        with open(self.out_path, "w") as out, \
                open(self.err_path, "w") as err:
            self.proc = subprocess.Popen(
                [BINARY, "-c", config, *args, "run"], stdout=out,
                stderr=err, env=e)
        tc.daemons.append(self)

    def log(self):
        with open(self.err_path, errors="replace") as f:
            return f.read()

    def stdout(self):
        with open(self.out_path, errors="replace") as f:
            return f.read()

    def checks(self, name):
        """How many checks of watch `name` the log shows: every outcome
        has a line, a check that found nothing new only under -v."""
        return len(re.findall(r"^.*check: '?%s'?: " % re.escape(name),
                              self.log(), re.M))

    def wait_checks(self, name, more=2, timeout=30):
        """Waits until `more` checks of `name` ended after this call (the
        first may already be under way, so `more` >= 2 means at least one
        whole check ran). Needs the daemon run with -v."""
        start = self.checks(name)
        self.wait_log(r"check: '?%s'?: " % re.escape(name), timeout,
                      count=start + more)

    def matches(self, pattern):
        """How often `pattern` (a regex, re.M) matches the log so far;
        fails the test when the daemon has exited."""
        if self.proc.poll() is not None:
            raise AssertionError("the daemon exited (%s):\n%s" % (
                self.proc.returncode, self.log()))
        return len(re.findall(pattern, self.log(), re.M))

    def wait_log(self, pattern, timeout=30, count=1):
        """Waits until `pattern` (a regex) matched `count` log lines. The
        deadline is generous (ASan on a loaded 2-core machine): a wait
        ends as soon as the line is there."""
        wait_until(lambda: self.matches(pattern) >= count, timeout,
                   "/%s/ x%d in the log:\n%s" % (
                       pattern, count, self.log()[-3000:]))

    def stop(self, sig=signal.SIGTERM):
        """Sends `sig`; returns (exit status, seconds until it exited)."""
        t0 = time.monotonic()
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = "hung"
        return rc, time.monotonic() - t0

    def kill9(self):
        self.proc.kill()
        self.proc.wait()


class Env:
    """A fake Kakao, a state dir and a config of watches on loopback."""

    def __init__(self, tc, name, pages, kakao_args=()):
        self.tc = tc
        self.dir = os.path.join(tc.tmp, name)
        os.mkdir(self.dir)
        self.state = os.path.join(self.dir, "state")
        self.config = os.path.join(self.dir, "kakaowatch.yaml")
        self.token_file = os.path.join(self.state, "kakao_token.json")
        self.pages = pages
        self.kakao = tc.start_kakao("--client-id", CLIENT_ID,
                                    "--redirect-uri", REDIRECT, *kakao_args)
        self.env = {"KAKAO_REST_API_KEY": CLIENT_ID}

    def write_config(self, watches, extra="", sink="kakao"):
        text = """
state_dir: %s
kakao:
  rest_api_key: ${KAKAO_REST_API_KEY}
  redirect_uri: %s
  auth_base_url: %s
  api_base_url: %s
  sink: %s
max_messages_per_day: 1000
%s
defaults:
  interval: 1s
  jitter: 0%%
  timeout: 5s
watches:
""" % (self.state, REDIRECT, self.kakao.base, self.kakao.base, sink, extra)
        for name, path, more in watches:
            text += "  - name: %s\n    url: %s\n    xpath: //li/a\n%s" % (
                name, self.pages.url(path), more)
        tmp = self.config + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, self.config)

    def auth(self):
        code = self.kakao.post_json("/_control/issue-code")["code"]
        p = self.tc.kw("auth", "--code", code, env=self.env,
                       config=self.config)
        self.tc.assertEqual(p.returncode, 0, p.stderr)

    def run(self, *args):
        return Daemon(self.tc, self.config, self.env, args)

    def messages(self):
        return [m["template_object"] for m in
                self.kakao.get_json("/_control/messages")["messages"]]

    def items(self):
        out = []
        for m in self.messages():
            out += items_of(m)
        return out

    def sent_raw(self):
        """The template objects the fake Kakao accepted, each the JSON
        text exactly as it was sent."""
        return [m["raw"] for m in
                self.kakao.get_json("/_control/messages")["messages"]]

    def preview(self, name):
        """`kakaowatch test NAME --messages`: (the template objects it
        would send, one JSON text a line after its 'messages: N' line; its
        whole stdout). Fails the test unless it exits 0 and prints one
        'messages: N' line followed by N objects."""
        p = self.tc.kw("test", name, "--messages", env=self.env,
                       config=self.config)
        self.tc.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        lines = p.stdout.splitlines()
        at = [i for i, l in enumerate(lines) if l.startswith("messages: ")]
        self.tc.assertEqual(len(at), 1, p.stdout)
        n = int(lines[at[0]].split()[1])
        raw = lines[at[0] + 1:]
        self.tc.assertEqual(len(raw), n, p.stdout)
        return raw, p.stdout

    def send_requests(self):
        """How many memo sends reached the fake Kakao (answered or not:
        counted when the request arrives)."""
        return self.kakao.get_json("/_control/tokens").get("send_requests",
                                                           0)

    def once(self, *args):
        """Runs `kakaowatch once` (args go after it)."""
        return self.tc.kw("once", *args, env=self.env, config=self.config)

    def status(self, *args):
        return self.tc.kw("status", *args, env=self.env, config=self.config)

    def status_json(self):
        p = self.status("--json")
        self.tc.assertEqual(p.returncode, 0, p.stderr)
        return json.loads(p.stdout)

    def watch_status(self, name):
        for w in self.status_json()["watches"]:
            if w["name"] == name:
                return w
        raise AssertionError("no watch %s in status" % name)

    def fail(self, **how):
        how.setdefault("endpoint", "send")
        self.kakao.post_json("/_control/fail", how)


class DaemonCase(KwTestCase):
    """A KwTestCase with the page server, daemons killed at the end, and
    Envs: for tests that run `kakaowatch run` against fake Kakao."""

    def setUp(self):
        super().setUp()
        self.daemons = []
        self.pages = self.start_pages()

    def tearDown(self):
        for d in self.daemons:
            if d.proc.poll() is None:
                d.kill9()
        super().tearDown()

    def env(self, name="e", **kw):
        return Env(self, name, self.pages, **kw)

    def board_env(self, **config):
        """An authorized Env with one watch, `board`, on board.html (one,
        two); `config` goes to Env.write_config (sink=, extra=)."""
        e = self.env()
        self.write_page("board.html", page(["one", "two"]))
        e.write_config([("board", "/board.html", "")], **config)
        e.auth()
        return e

    def assert_stops_cleanly(self, d):
        # a SIGTERM before the daemon set its handlers up (a loaded
        # machine can take seconds to get there) kills it the default
        # way: what is tested is the stop of a running daemon
        d.wait_log(r"run: kakaowatch \S+ started", timeout=60)
        rc, took = d.stop()
        self.assertEqual(rc, 0, d.log()[-2000:])
        self.assertLess(took, 2.0, "SIGTERM took %.2fs" % took)
        self.assertIn("run: stopping", d.log())
        return took


# ---- libfaketime: kakaowatch under a wall clock the test sets
# (test_quiet, test_hotdeal_e2e, test_clock, test_bounded, soak/week.py) ----

FAKETIME_LIBS = ("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
                 "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
                 "/usr/lib/faketime/libfaketime.so.1")
FAKETIME_MISSING = "libfaketime is not installed (Debian package libfaketime)"


def faketime_lib():
    """The path of Debian's libfaketime.so.1, or None where it is not
    installed (the tests that need it then skip, saying FAKETIME_MISSING)."""
    return next((x for x in FAKETIME_LIBS if os.path.exists(x)), None)


def faketime_env(**faketime):
    """The environment variables that run a program under libfaketime, with
    FAKETIME_* = `faketime` (FAKETIME="+1d", or FAKETIME_TIMESTAMP_FILE=
    path and FAKETIME_NO_CACHE="1"), or None where libfaketime is not
    installed. Only the wall clock is faked: the monotonic clock (the
    daemon's deadlines) is left alone and not reset, and an ASan build is
    told to accept the preloaded library (ASAN_OPTIONS from the
    environment, plus verify_asan_link_order=0)."""
    lib = faketime_lib()
    if lib is None:
        return None
    asan = os.environ.get("ASAN_OPTIONS", "")
    return dict({"LD_PRELOAD": lib, "FAKETIME_DONT_FAKE_MONOTONIC": "1",
                 "FAKETIME_DONT_RESET": "1",
                 "ASAN_OPTIONS": (asan + ":" if asan else "") +
                 "verify_asan_link_order=0"}, **faketime)


def kst_to_faketime(kst):
    """'2026-12-01 23:30:00' Korea time -> that instant as libfaketime's
    absolute '@YYYY-MM-DD HH:MM:SS' (UTC)."""
    s = calendar.timegm(time.strptime(kst, "%Y-%m-%d %H:%M:%S")) - 9 * 3600
    return "@" + time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(s))


class FakeClock:
    """A wall clock in a file (FAKETIME_TIMESTAMP_FILE) that a test moves
    while kakaowatch runs under libfaketime: every clock read of the
    program reads the file again (FAKETIME_NO_CACHE). Needs libfaketime
    (faketime_lib() not None)."""

    def __init__(self, path):
        self.path = path

    def env(self):
        """The variables that run a program on this clock."""
        e = faketime_env(FAKETIME_TIMESTAMP_FILE=self.path,
                         FAKETIME_NO_CACHE="1")
        if e is None:
            raise RuntimeError(FAKETIME_MISSING)
        return e

    def set(self, spec):
        """Sets the clock to libfaketime's `spec` ('@2026-12-01 14:30:00'
        UTC, or an offset such as '+4h'); written whole (temp + rename),
        so a program never reads half of it."""
        with open(self.path + ".tmp", "w") as f:
            f.write(spec + "\n")
        os.replace(self.path + ".tmp", self.path)

    def set_kst(self, kst):
        """Sets the clock to `kst` ('2026-12-01 23:30:00'), Korea time."""
        self.set(kst_to_faketime(kst))


class FakeClockCase(DaemonCase):
    """A DaemonCase whose kakaowatch runs see a wall clock the test sets,
    self.clock (a FakeClock in the temp dir); the whole test is skipped,
    before anything starts, where libfaketime is not installed."""

    def setUp(self):
        if faketime_lib() is None:
            self.skipTest(FAKETIME_MISSING)
        super().setUp()
        self.clock = FakeClock(os.path.join(self.tmp, "faketime"))

    def on_fake_clock(self, e):
        """From now on Env e's runs (e.run, e.once, self.kw(env=e.env),
        Daemon(self, e.config, e.env)) are on self.clock."""
        e.env = dict(e.env, **self.clock.env())
        return e


def main():
    unittest.main(verbosity=2)
