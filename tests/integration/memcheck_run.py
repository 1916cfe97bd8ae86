"""`kakaowatch run` under valgrind memcheck with faults.

Not a test_*.py file: it is registered by tests/fuzz/CMakeLists.txt as the
CTest test `memcheck_run` with the label `valgrind` (`ctest -L valgrind`).

The daemon runs for ~20 s under memcheck, checking every second: a page
that keeps changing, pages that hang, answer 500, loop redirects, inflate
a gzip bomb, send 100 MB, invalid UTF-8 and NUL bytes, JSON instead of
HTML; Kakao (the fake, sink kakao) answers -401, 500, malformed JSON and
KOE322 now and then; the config is rewritten once (a reload that adds and
removes watches). Then SIGTERM. The run must stop cleanly with no memcheck
error (invalid reads or writes, uninitialised values) and no definite or
indirect leak (--error-exitcode=99).

Exits 77 (CTest: skipped) when valgrind is missing or KW_BINARY is a
sanitizer build (ASan and valgrind do not mix).
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
import kwtest  # noqa: E402

SKIP = 77
DURATION = float(os.environ.get("KW_MEMCHECK_SECONDS", "20"))
CLIENT_ID = "memcheck-rest-api-key-01"
SECRET = "memcheck-client-secret-02"


def skip_reason():
    if shutil.which("valgrind") is None:
        return "valgrind is not installed"
    if not os.path.exists(kwtest.BINARY):
        return None
    with open(kwtest.BINARY, "rb") as f:
        exe = f.read()
    if b"__asan_init" in exe or b"__ubsan_handle" in exe or \
            b"__tsan_init" in exe:
        return "%s is a sanitizer build" % kwtest.BINARY
    try:
        libs = subprocess.run(["ldd", kwtest.BINARY], capture_output=True,
                              text=True).stdout
    except OSError:
        libs = ""
    if "libasan" in libs or "libubsan" in libs:
        return "%s links a sanitizer runtime" % kwtest.BINARY
    return None


def page(items):
    return "<html><body><ul>%s</ul></body></html>" % "".join(
        '<li><a href="/p/%s">%s</a></li>' % (t, t) for t in items)


class Memcheck(kwtest.KwTestCase):

    def config_text(self, extra_watch):
        p = self.pages
        watches = [
            ("news", p.url("/news.html")),
            ("hang", p.url("/hang")),
            ("error500", p.url("/status/500")),
            ("loop", p.url("/redirect-loop")),
            ("bomb", p.url("/gzip-bomb?bytes=50000000")),
            ("big", p.url("/big?bytes=20000000")),
            ("bytes", p.url("/bytes.html")),
            ("json", p.url("/data.json")),
            ("refused", "http://127.0.0.1:9/"),
        ]
        if extra_watch:
            watches = watches[:3] + [("added", p.url("/news.html"))] + \
                watches[5:]
        return """
state_dir: %s
kakao:
  rest_api_key: %s
  client_secret: %s
  auth_base_url: %s
  api_base_url: %s
  sink: kakao
  min_refresh_interval: 0s
max_messages_per_day: 10000
defaults: {interval: 1s, jitter: 10%%, timeout: 1s, max_bytes: 1MiB,
           max_failures: 3}
watches:
%s""" % (self.state, CLIENT_ID, SECRET, self.kakao.base, self.kakao.base,
         "".join("  - {name: %s, url: '%s', xpath: //li/a}\n" % w
                 for w in watches))

    def news_checked(self):
        p = self.kw("status", "--json")
        if p.returncode != 0:
            return False
        for w in json.loads(p.stdout).get("watches", []):
            if w.get("name") == "news":
                return bool(w.get("last_check"))
        return False

    def test_run_under_memcheck_with_faults(self):
        self.pages = self.start_pages()
        self.kakao = self.start_kakao("--client-id", CLIENT_ID,
                                      "--client-secret", SECRET,
                                      "--redirect-uri",
                                      "http://localhost:5000/oauth")
        self.write_page("news.html", page(["n0"]))
        self.write_page("bytes.html", b"<ul><li><a href='/\xff'>x\x00y "
                        b"\xed\xa0\x80</a></li></ul>")
        self.write_page("data.json", '{"items": [1, 2]}')
        self.write_config(self.config_text(False))
        code = self.kakao.post_json("/_control/issue-code", {})["code"]
        self.assertEqual(self.kw("auth", "--code", code).returncode, 0)

        log = os.path.join(self.tmp, "memcheck.log")
        cmd = ["valgrind", "--tool=memcheck", "--error-exitcode=99",
               "--leak-check=full", "--show-leak-kinds=definite,indirect",
               "--errors-for-leak-kinds=definite,indirect",
               "--track-origins=yes", "--log-file=" + log,
               "--suppressions=" + os.path.join(
                   os.path.dirname(os.path.abspath(__file__)),
                   "valgrind.supp"),
               kwtest.BINARY, "-v", "-c", self.config, "run"]
        errpath = os.path.join(self.tmp, "daemon.err")
        errf = open(errpath, "w")
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=errf,
                                text=True)
        out = {}
        reader = threading.Thread(target=lambda: out.update(
            zip(("stdout", "stderr"), proc.communicate())))
        reader.start()

        def daemon_said(text):
            with open(errpath) as f:
                return text in f.read()
        try:
            # valgrind can take many seconds to start on a busy machine:
            # the fault loop runs from the daemon's first check on
            kwtest.wait_until(lambda: self.news_checked(), 180,
                              "the first check under valgrind")
            start = time.monotonic()
            faults = [{"endpoint": "send", "code": -401},
                      {"endpoint": "send", "status": 500},
                      {"endpoint": "send", "malformed": True},
                      {"endpoint": "token", "error_code": "KOE322"},
                      {"endpoint": "token", "malformed": True}]
            n = 0
            while time.monotonic() - start < DURATION:
                n += 1
                self.write_page("news.html", page(
                    ["n%d" % i for i in range(n + 1)]))
                if faults and n % 2 == 0:
                    self.kakao.post_json("/_control/fail", faults.pop(0))
                if n == 6:
                    self.write_config(self.config_text(True))
                time.sleep(2)
            # the rewrite's reload, however slow valgrind is (not a
            # fixed share of DURATION)
            kwtest.wait_until(lambda: daemon_said("reload: configuration"),
                              120, "the reload under valgrind")
        finally:
            proc.send_signal(signal.SIGTERM)
            reader.join(timeout=120)
            if reader.is_alive():
                proc.kill()
                reader.join()
        with open(log) as f:
            report = f.read()
        errf.close()
        with open(errpath) as f:
            stderr = f.read()
        self.logs.append(out.get("stdout", "") + stderr)
        self.assertIn("run: stopping", stderr)
        self.assertIn("reload:", stderr)
        self.assertIn("check: news", stderr)
        self.assertNotIn("Invalid read", report)
        self.assertNotIn("Invalid write", report)
        self.assertNotIn("uninitialised", report)
        self.assertNotIn("definitely lost in", report)
        self.assertNotIn("indirectly lost in", report)
        self.assertEqual(proc.returncode, 0, report[-6000:])


if __name__ == "__main__":
    why = skip_reason()
    if why:
        print("skipped: " + why)
        sys.exit(SKIP)
    kwtest.main()
