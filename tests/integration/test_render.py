"""Issue 16: render: browser (headless Chromium, --dump-dom).

A loopback page whose list is built by a script from a JSON request: a
plain fetch sees no items, render: browser sees them; a new entry is
reported once; a script that never finishes is killed at the watch's
timeout (its whole process group, nothing left running); a missing browser
is a clear error in `check`. Skipped when chromium-headless-shell is not
installed (it is an optional package: docker/install-deps.sh).
"""
import os
import shutil
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import kwtest  # noqa: E402

BROWSER = shutil.which("chromium-headless-shell")

SCRIPT_PAGE = """<!doctype html><html><body><h1>티켓</h1><ul id="list"></ul>
<script>
fetch('/items.json').then(r => r.json()).then(items => {
  const ul = document.getElementById('list');
  for (const it of items) {
    const li = document.createElement('li');
    const a = document.createElement('a');
    a.href = '/show/' + it.id;
    a.textContent = it.title;
    li.appendChild(a);
    ul.appendChild(li);
  }
});
</script></body></html>"""

HANG_PAGE = """<!doctype html><html><body><ul id="list"><li><a href="/a">a</a>
</li></ul><script>while (true) {}</script></body></html>"""


def browsers_under(path):
    out = subprocess.run(["ps", "-eo", "args"], capture_output=True,
                         text=True).stdout
    return [l for l in out.splitlines() if path in l and "chrom" in l]


@unittest.skipIf(BROWSER is None, "chromium-headless-shell not installed")
class RenderTest(kwtest.KwTestCase):

    def setUp(self):
        super().setUp()
        self.pages = self.start_pages()
        self.write_page("list.html", SCRIPT_PAGE)
        self.write_page("items.json",
                        '[{"id": 1, "title": "아이유 콘서트"},'
                        ' {"id": 2, "title": "뮤지컬 영웅"}]')

    def setup_config(self, page, extra, timeout="20s"):
        self.write_config("""
state_dir: %s
kakao:
  sink: stdout
watches:
  - name: tickets
    url: %s
    xpath: //ul[@id="list"]/li/a
    timeout: %s
%s
""" % (self.state, self.pages.url("/" + page), timeout, extra))

    def test_script_built_list_needs_render_browser(self):
        self.setup_config("list.html", "")
        p = self.kw("once")
        self.assertEqual(p.returncode, 1)
        self.assertIn("the xpath matched nothing", p.stdout + p.stderr)

        self.setup_config("list.html", "    render: browser\n")
        self.assertEqual(self.kw("check").returncode, 0)
        t0 = time.monotonic()
        p = self.kw("once")
        first = time.monotonic() - t0
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("tickets: baseline stored (2 items)", p.stdout)

        self.write_page("items.json",
                        '[{"id": 1, "title": "아이유 콘서트"},'
                        ' {"id": 2, "title": "뮤지컬 영웅"},'
                        ' {"id": 3, "title": "임영웅 전국투어"}]')
        p = self.kw("once")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("tickets: 1 new, 0 removed", p.stdout)
        msgs = kwtest.json_lines(p.stdout)
        self.assertEqual(len(msgs), 1)
        self.assertIn("임영웅 전국투어", str(msgs[0]))
        self.assertIn(self.pages.url("/show/3"), str(msgs[0]))
        p = self.kw("once")
        self.assertIn("tickets: unchanged", p.stdout)
        self.assertEqual(kwtest.json_lines(p.stdout), [])
        # profiles are fresh each time and removed
        self.assertEqual([n for n in os.listdir(self.state)
                          if n.startswith("browser-")], [])
        print("render: browser, first check %.2fs" % first,
              file=sys.stderr)

    def test_script_that_never_finishes_stops_at_the_timeout(self):
        self.setup_config("hang.html", "    render: browser\n",
                          timeout="3s")
        self.write_page("hang.html", HANG_PAGE)
        t0 = time.monotonic()
        p = self.kw("once")
        took = time.monotonic() - t0
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("did not finish within 3s", p.stdout + p.stderr)
        self.assertLess(took, 15)
        self.assertEqual(browsers_under(self.state), [])

    def test_browser_killed_mid_check_fails_only_that_check(self):
        self.write_page("hang.html", HANG_PAGE)
        self.write_config("""
state_dir: %s
kakao:
  sink: stdout
watches:
  - name: hang
    url: %s
    xpath: //li/a
    render: browser
    timeout: 60s
  - name: tickets
    url: %s
    xpath: //ul[@id="list"]/li/a
    render: browser
    timeout: 20s
""" % (self.state, self.pages.url("/hang.html"),
       self.pages.url("/list.html")))
        e = dict(os.environ)
        e.pop("KAKAOWATCH_CONFIG", None)
        proc = subprocess.Popen([kwtest.BINARY, "-c", self.config, "once"],
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=e)
        try:
            def main_browser():
                out = subprocess.run(["ps", "-eo", "pid,pgid,args"],
                                     capture_output=True,
                                     text=True).stdout
                for line in out.splitlines():
                    f = line.split(None, 2)
                    # the group leader: the browser kakaowatch started
                    if len(f) == 3 and f[0] == f[1] and \
                            self.state in f[2] and "hang.html" in f[2]:
                        return int(f[0])
                return None
            pid = kwtest.wait_until(main_browser, 20, "the browser")
            os.kill(pid, 9)
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        self.assertEqual(proc.returncode, 1, out + err)
        self.assertRegex(out + err, r"hang: failed: the browser "
                         r"(crashed|gave no page)")
        self.assertIn("tickets: baseline stored (2 items)", out)
        self.assertEqual(browsers_under(self.state), [])

    def test_missing_browser_is_an_error_in_check(self):
        self.write_config("""
state_dir: %s
browser: no-such-chromium
watches:
  - name: tickets
    url: %s
    xpath: //li/a
    render: browser
""" % (self.state, self.pages.url("/list.html")))
        p = self.kw("check")
        self.assertEqual(p.returncode, 2)
        self.assertIn("watch 'tickets' has render: browser: browser "
                      "'no-such-chromium' not found on PATH", p.stderr)
        p = self.kw("once")
        self.assertEqual(p.returncode, 1)
        self.assertIn("not found on PATH", p.stdout + p.stderr)


if __name__ == "__main__":
    kwtest.main()
