"""The commands as a user types them: check, test, --version, exit codes,
and the state-dir lock between two processes."""
import os
import subprocess
import sys
import time
import unicodedata

sys.path.insert(0, os.path.dirname(__file__))
import kwtest  # noqa: E402

CONF = os.path.join(kwtest.DATA, "config")
HTML = os.path.join(kwtest.DATA, "html")


class CliTest(kwtest.KwTestCase):

    def test_version_and_help(self):
        p = subprocess.run([kwtest.BINARY, "--version"], capture_output=True,
                           text=True)
        self.assertEqual(p.returncode, 0)
        self.assertRegex(p.stdout, r"^kakaowatch \d+\.\d+\.\d+\n$")
        p = subprocess.run([kwtest.BINARY, "--help"], capture_output=True,
                           text=True)
        self.assertEqual(p.returncode, 0)
        for cmd in ("run", "once", "check", "test", "auth", "send", "token",
                    "status"):
            self.assertIn("  " + cmd, p.stdout)
        p = subprocess.run([kwtest.BINARY, "frobnicate"], capture_output=True,
                           text=True)
        self.assertEqual(p.returncode, 2)
        self.assertIn("'frobnicate' is not a command", p.stderr)

    def test_check_reports_every_error_with_its_position(self):
        path = os.path.join(CONF, "three_errors.yaml")
        p = self.kw("check", config=path)
        self.assertEqual(p.returncode, 2)
        lines = p.stderr.strip().splitlines()
        self.assertEqual([line.split(": ")[0] for line in lines], [
            path + ":3:5", path + ":8:15", path + ":9:1"])
        self.assertIn("did you mean 'history_days'", lines[2])

    def test_check_bad_xpath_names_its_position(self):
        path = os.path.join(CONF, "bad_xpath.yaml")
        p = self.kw("check", config=path)
        self.assertEqual(p.returncode, 2)
        self.assertRegex(p.stderr, r"bad_xpath\.yaml:7:12: watch 'broken': "
                                   r"bad xpath")

    def test_check_ok_on_the_shipped_config(self):
        shipped = os.path.join(os.environ.get("KW_SOURCE_DIR", ""), "config",
                               "kakaowatch.yaml")
        p = self.kw("check", config=shipped,
                    env={"KAKAOWATCH_STATE_DIR": self.state})
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("configuration OK", p.stdout)
        self.assertIn("rust-blog: https://blog.rust-lang.org/ every 1h",
                      p.stdout)

    def test_test_command_prints_items_without_touching_state(self):
        pages = self.start_pages()
        with open(os.path.join(HTML, "cp949-board.html"), "rb") as f:
            self.write_page("free/list.html", f.read())
        with open(os.path.join(self.root, "free/list.html.charset"),
                  "w") as f:
            f.write("euc-kr")
        self.write_config("""
state_dir: %s
watches:
  - name: free
    url: %s
    xpath: //td/a
""" % (self.state, pages.url("/free/list.html")))
        p = self.kw("test", "free")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("1. 똠양꿍 맛집 추천 부탁드려요", p.stdout)
        self.assertIn(pages.url("/free/read.php?id=free&no=1027&page=1"),
                      p.stdout)
        self.assertFalse(os.path.exists(self.state),
                         "test must not create or touch the state")
        # the same page from a file, with the charset it does not declare
        f = self.kw("test", "--file", os.path.join(HTML, "cp949-board.html"),
                    "--xpath", "//td/a", "--encoding", "euc-kr", "--url",
                    "https://board.example/free/")
        self.assertEqual(f.returncode, 0, f.stderr)
        self.assertIn("햏자들 정모 후기", f.stdout)
        self.assertIn("https://board.example/free/read.php?id=free&no=1026",
                      f.stdout)
        none = self.kw("test", "--file", os.path.join(HTML, "broken.html"),
                       "--xpath", "//article")
        self.assertEqual(none.returncode, 1)
        self.assertIn("matched nothing", none.stderr)

    def test_undeclared_page_reads_as_cp949_or_default_encoding(self):
        # the board declares no charset (no header, no <meta>) and is not
        # UTF-8: read as CP949, as a browser in a Korean locale does
        pages = self.start_pages()
        with open(os.path.join(HTML, "cp949-board.html"), "rb") as f:
            self.write_page("free/list.html", f.read())
        config = """
state_dir: %s
%%swatches:
  - name: free
    url: %s
    xpath: //td/a
""" % (self.state, pages.url("/free/list.html"))
        self.write_config(config % "")
        p = self.kw("test", "free")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("1. 똠양꿍 맛집 추천 부탁드려요", p.stdout)
        # default_encoding: says otherwise (here: wrongly, visibly)
        self.write_config(config % "default_encoding: windows-1252\n")
        p = self.kw("test", "free")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn("똠양꿍", p.stdout)
        self.assertIn("1. ", p.stdout)
        self.write_config(config % "default_encoding: klingon\n")
        p = self.kw("check")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(":3:19: default_encoding: unknown character encoding "
                      "'klingon'", p.stderr)

    def test_status_table_aligns_hangul_watch_names(self):
        pages = self.start_pages()
        self.write_page("a.html", "<a href='/x'>x</a><a href='/y'>y</a>")
        self.write_config("""
state_dir: %s
kakao: {sink: stdout}
watches:
  - {name: 학과공지, url: "%s", xpath: //a, interval: 1h}
  - {name: rust-blog, url: "%s", xpath: //a, interval: 1h}
  - {name: 공지-notice, url: "%s", xpath: //a, interval: 1h}
""" % (self.state, pages.url("/a.html"), pages.url("/a.html"),
            pages.url("/a.html")))
        self.assertEqual(self.kw("once").returncode, 0)
        p = self.kw("status")
        self.assertEqual(p.returncode, 0, p.stderr)

        def width(text):  # terminal columns, from Python's Unicode data
            return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1
                       for c in text)

        rows = [line for line in p.stdout.splitlines()
                if line.startswith(("WATCH", "학과공지", "rust-blog",
                                    "공지-notice"))]
        self.assertEqual(len(rows), 4, p.stdout)
        # the second column starts at the same terminal column everywhere
        starts = set()
        for row in rows:
            name = row.split(" ")[0]
            rest = row[len(name):]
            starts.add(width(name) + len(rest) - len(rest.lstrip(" ")))
        self.assertEqual(starts, {21}, p.stdout)

    def test_second_process_on_the_same_state_dir_refuses(self):
        pages = self.start_pages()
        self.write_page("a.html", "<a href='/x'>x</a>")
        self.write_config("""
state_dir: %s
kakao: {sink: stdout}
watches:
  - name: a
    url: %s
    xpath: //a
    interval: 1h
""" % (self.state, pages.url("/a.html")))
        daemon = subprocess.Popen([kwtest.BINARY, "-c", self.config, "run"],
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        try:
            lock = os.path.join(self.state, "kakaowatch.lock")

            def holds_lock():  # the lock file names the daemon's pid
                try:
                    with open(lock) as f:
                        return f.read().strip() == str(daemon.pid)
                except FileNotFoundError:
                    return False
            kwtest.wait_until(holds_lock, 10, "the daemon's lock")
            p = self.kw("once")
            self.assertEqual(p.returncode, 1)
            self.assertIn("another kakaowatch", p.stderr)
            self.assertIn(str(daemon.pid), p.stderr)
        finally:
            daemon.terminate()
            daemon.communicate(timeout=10)
        self.assertEqual(daemon.returncode, 0)
        p = self.kw("once")
        self.assertEqual(p.returncode, 0, p.stderr)


if __name__ == "__main__":
    kwtest.main()
