"""What the soaks (soak.py, week.py) share: a scratch directory, the
loopback fakes, `kakaowatch` runs, the daemon's start and stop, the fake
Kakao's control calls, the printed figures and the command line.

Python 3 stdlib only; nothing leaves 127.0.0.1.
"""
import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(SOURCE, "tests", "integration"))
os.environ.setdefault("KW_FAKES_DIR", os.path.join(SOURCE, "tests", "fakes"))
import kwtest  # noqa: E402,F401  (the soaks use kwtest.Server through it)

REDIRECT = "http://localhost:5000/oauth"


class Rig:
    """One soak's world: tmp/pages served by a pageserver, tmp/state,
    tmp/kakaowatch.yaml, the strict fake Kakao, and the daemon's logs in
    tmp/run.err and tmp/run.out. Subclasses set `name` (the log prefix and
    the temp dir's) and write the config."""

    name = "soak"

    def __init__(self, args, **env):
        self.args = args
        self.rng = random.Random(args.seed)
        self.tmp = tempfile.mkdtemp(prefix="kw-%s-" % self.name)
        self.root = os.path.join(self.tmp, "pages")
        os.mkdir(self.root)
        self.state = os.path.join(self.tmp, "state")
        self.config = os.path.join(self.tmp, "kakaowatch.yaml")
        self.err = os.path.join(self.tmp, "run.err")
        self.out = os.path.join(self.tmp, "run.out")
        self.servers = []
        self.faults = []
        self.failures = []
        self.stop = threading.Event()
        self.env = dict(os.environ, KAKAOWATCH_STATE_DIR=self.state, **env)
        self.env.pop("KAKAOWATCH_CONFIG", None)

    def log(self, *a):
        print("%s: %s" % (self.name, " ".join(str(x) for x in a)),
              file=sys.stderr, flush=True)

    # -- the fakes --
    def start_fakes(self, client_id, secret=None, pageservers=1):
        """self.pages (serving self.root), self.kakao and, with
        pageservers > 1, self.others: more pageservers on the same root.
        They start in parallel (each is a Python start-up: seconds on a
        loaded machine)."""
        extra = ("--client-secret", secret) if secret else ()
        specs = [("fake_kakao.py", "--client-id", client_id, *extra,
                  "--redirect-uri", REDIRECT)] + \
            [("pageserver.py", "--root", self.root)] * pageservers
        got = [None] * len(specs)

        def start(i):
            try:
                got[i] = kwtest.Server(*specs[i])
            except Exception as e:  # reported below, after the others
                got[i] = e
        ths = [threading.Thread(target=start, args=(i,))
               for i in range(len(specs))]
        for t in ths:
            t.start()
        for t in ths:
            t.join()
        self.servers += [g for g in got if isinstance(g, kwtest.Server)]
        for g in got:
            if not isinstance(g, kwtest.Server):
                raise g
        self.kakao, self.pages, self.others = got[0], got[1], got[2:]

    def authorize(self):
        """`kakaowatch check` then `auth` with a code from the fake; the
        code (a secret) is returned."""
        p = self.kw("check")
        if p.returncode != 0:
            raise SystemExit("config check failed:\n" + p.stderr + p.stdout)
        code = self.kakao.post_json("/_control/issue-code")["code"]
        p = self.kw("auth", "--code", code)
        if p.returncode != 0:
            raise SystemExit("auth failed:\n" + p.stderr)
        return code

    def fail(self, **how):
        """Queues one Kakao failure (fake_kakao.py /_control/fail)."""
        how.setdefault("endpoint", "send")
        self.kakao.post_json("/_control/fail", how)

    def heal_kakao(self):
        """Drops every queued Kakao failure."""
        urllib.request.urlopen(urllib.request.Request(
            self.kakao.url("/_control/fail"), method="DELETE"),
            timeout=10).close()

    def kakao_messages(self):
        return self.kakao.get_json("/_control/messages")["messages"]

    def page_requests(self):
        return sum(e["count"] for e in self.pages.get_json("/count").values())

    # -- kakaowatch --
    def kw(self, *args, timeout=120):
        return subprocess.run([self.args.binary, "-c", self.config, *args],
                              capture_output=True, text=True, env=self.env,
                              timeout=timeout)

    def start_daemon(self):
        self._err = open(self.err, "w")
        self._out = open(self.out, "w")
        return subprocess.Popen([self.args.binary, "-c", self.config, "run"],
                                stdout=self._out, stderr=self._err,
                                env=self.env)

    def stop_daemon(self, proc, wait=15):
        """SIGTERM; (exit code or "hung", seconds it took)."""
        proc.send_signal(signal.SIGTERM)
        t = time.monotonic()
        try:
            rc = proc.wait(wait)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            rc = "hung"
        took = time.monotonic() - t
        self._err.close()
        self._out.close()
        return rc, took

    def errlog(self):
        with open(self.err, errors="replace") as f:
            return f.read()

    def run_threads(self, proc, threads, minutes, progress):
        """Starts `threads`, watches `proc` for `minutes` (a line from
        progress() every minute), then sets self.stop and joins them."""
        for t in threads:
            t.start()
        t0 = time.monotonic()
        end = t0 + minutes * 60
        last = t0
        while time.monotonic() < end:
            time.sleep(1)
            if proc.poll() is not None:
                self.failures.append("the daemon exited early (%s)"
                                     % proc.returncode)
                break
            if time.monotonic() - last >= 60:
                last = time.monotonic()
                self.log("%3.0f s: %s" % (last - t0, progress()))
        self.stop.set()
        for t in threads:
            if isinstance(t, threading.Timer):
                t.cancel()
            t.join(10)

    # -- the report --
    @staticmethod
    def print_figures(figures):
        for k, v in figures.items():
            print("%-40s %s" % (k, v))

    def cleanup(self):
        for s in self.servers:  # all at once, then each waited for
            if s.proc.poll() is None:
                s.proc.terminate()
        for s in self.servers:
            s.stop()
        if self.args.keep or self.failures:
            self.log("kept", self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


def main(rig_class, doc, add_args=None, fix_args=None):
    """The soaks' command line: --binary, --minutes, --seed, --keep and
    what add_args(parser) adds; runs rig_class(args).run() and prints its
    failures, then PASS or FAIL. Returns the exit code (0 = PASS)."""
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("--binary", default=os.environ.get("KW_BINARY") or
                    os.path.join(SOURCE, "build", "kakaowatch"))
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--keep", action="store_true",
                    help="keep the temp dir (logs, state)")
    if add_args:
        add_args(ap)
    args = ap.parse_args()
    if fix_args:
        fix_args(args)
    rig = rig_class(args)
    rig.log("seed", args.seed, "binary", args.binary, "minutes",
            args.minutes)
    try:
        rig.run()
    finally:
        rig.cleanup()
    for f in rig.failures:
        print("FAIL: " + f)
    print("FAIL" if rig.failures else "PASS")
    return 1 if rig.failures else 0
