"""Shared helpers for kakaowatch's integration tests (Python 3 stdlib only).

Each test starts its own loopback servers from tests/fakes/ on free ports,
writes a config into a temporary directory and runs the real binary
($KW_BINARY). Nothing here reaches beyond 127.0.0.1.
"""
import json
import os
import shutil
import signal
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


def main():
    unittest.main(verbosity=2)
