"""Issue 16: render: browser (headless Chromium over the DevTools pipe).

A loopback page whose list is built by a script from a JSON request: a
plain fetch sees no items, render: browser sees them; a new entry is
reported once, under `once` and under `run`; a script that never finishes
is killed at the watch's timeout (its whole process group, nothing left
running); a browser killed mid-check fails only that check while the
daemon's other watches go on being checked (the browser runs beside the
loop); browser_max: 1 never runs two browsers at once; a members-only page
shows its items with render + cookies, the cookie the site rotates kept;
wait_for waits for an element a script adds later; browser_profile: keep
keeps what the page stored between checks; a missing browser is a clear
error in `check`. Skipped when chromium-headless-shell is not installed (an
optional package: docker/install-deps.sh browser).
"""
import os
import re
import signal
import stat
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import kwtest  # noqa: E402

BROWSER = kwtest.find_browser()
if BROWSER is None:
    print("test_render: chromium-headless-shell is not installed: "
          "skipping the browser tests (docker/install-deps.sh browser)",
          file=sys.stderr)

SCRIPT_PAGE = kwtest.script_list_page("list", before="<h1>티켓</h1>")

# a script that never finishes: the renderer is busy forever
BUSY_PAGE = """<!doctype html><html><body><ul id="list"><li><a href="/a">a</a>
</li></ul><script>while (true) {}</script></body></html>"""

# a request that is never answered: the page never settles (idle)
PENDING_PAGE = """<!doctype html><html><body><ul id="list"></ul><script>
fetch('/hang').then(r => r.text());
</script></body></html>"""

# the list appears 1.5 s (real time) after the page loaded
LATE_PAGE = """<!doctype html><html><head><meta charset="utf-8"></head><body><ul id="list"></ul><script>
setTimeout(() => {
  const ul = document.getElementById('list');
  for (const t of ['늦은 글 1', '늦은 글 2']) {
    const li = document.createElement('li');
    li.className = 'post';
    li.textContent = t;
    ul.appendChild(li);
  }
}, 1500);
</script></body></html>"""

# remembers a visit in a cookie the page's script sets
VISIT_PAGE = """<!doctype html><html><head><meta charset="utf-8"></head><body><ul id="list"></ul><script>
const ul = document.getElementById('list');
function add(t) {
  const li = document.createElement('li');
  li.textContent = t;
  ul.appendChild(li);
}
add('첫 방문');
if (document.cookie.indexOf('visited=1') >= 0) add('다시 방문');
document.cookie = 'visited=1; max-age=86400; path=/';
</script></body></html>"""

FIRST_SID = "exported-9d2b7c41e0a5f386"


def browsers(state):
    """pid -> args of each browser kakaowatch started under `state` (the
    group leaders: the browser or its wrapper script)."""
    out = subprocess.run(["ps", "-eo", "pid,pgid,args"], capture_output=True,
                         text=True).stdout
    found = {}
    for line in out.splitlines():
        f = line.split(None, 2)
        if len(f) == 3 and f[0] == f[1] and state in f[2] and \
                "--remote-debugging-pipe" in f[2]:
            found[int(f[0])] = f[2]
    # ps reads /proc one process after another: a browser that ended
    # while it read, and the next one started meanwhile, can both be in
    # its list. Kept are those still running after the whole list was
    # read: each was then alive from its listing to its re-check, and all
    # listings come before all re-checks, so they ran at one moment.
    return {pid: args for pid, args in found.items() if running(pid)}


def running(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def any_browser_process(state):
    out = subprocess.run(["ps", "-eo", "args"], capture_output=True,
                         text=True).stdout
    return [l for l in out.splitlines() if state in l and "chrom" in l]


@unittest.skipIf(BROWSER is None, "chromium-headless-shell not installed")
class RenderTest(kwtest.DaemonCase):

    def setUp(self):
        super().setUp()
        self.write_page("list.html", SCRIPT_PAGE)
        self.write_items(2)

    def write_items(self, n):
        titles = ["아이유 콘서트", "뮤지컬 영웅", "임영웅 전국투어"]
        self.write_page("items.json", "[%s]" % ", ".join(
            '{"id": %d, "title": "%s"}' % (i + 1, titles[i])
            for i in range(n)))

    def setup_config(self, page, extra, timeout="30s"):
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

        # an error page the browser shows fails as a fetch's would
        self.setup_config("missing.html", "    render: browser\n")
        p = self.kw("once")
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("tickets: failed: HTTP 404", p.stdout)

        self.setup_config("list.html", "    render: browser\n")
        self.assertEqual(self.kw("check").returncode, 0)
        # `test` renders too, and writes nothing
        before = sorted(os.listdir(self.state))
        p = self.kw("test", "tickets")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("아이유 콘서트", p.stdout)
        self.assertIn(self.pages.url("/show/2"), p.stdout)
        self.assertIn("rendered in the browser", p.stderr)
        self.assertEqual(sorted(os.listdir(self.state)), before)

        t0 = time.monotonic()
        p = self.kw("once")
        first = time.monotonic() - t0
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("tickets: baseline stored (2 items)", p.stdout)

        self.write_items(3)
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
                          if n.startswith("browser")], [])
        self.assertEqual(any_browser_process(self.state), [])
        print("render: browser, first check %.2fs" % first,
              file=sys.stderr)

    def test_script_that_never_finishes_stops_at_the_timeout(self):
        self.setup_config("busy.html", "    render: browser\n",
                          timeout="3s")
        self.write_page("busy.html", BUSY_PAGE)
        t0 = time.monotonic()
        p = self.kw("once")
        took = time.monotonic() - t0
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("did not finish within 3s", p.stdout + p.stderr)
        self.assertLess(took, 30)
        kwtest.wait_until(lambda: any_browser_process(self.state) == [], 10,
                          "the browser's processes to be gone")

    def test_browser_max_one_never_runs_two_browsers(self):
        self.write_page("pending.html", PENDING_PAGE)
        self.write_config("""
state_dir: %s
browser_max: 1
kakao:
  sink: stdout
watches:
  - name: first
    url: %s
    xpath: //li
    render: browser
    timeout: 4s
  - name: second
    url: %s?2
    xpath: //li
    render: browser
    timeout: 4s
""" % (self.state, self.pages.url("/pending.html"),
       self.pages.url("/pending.html")))
        e = dict(os.environ)
        e.pop("KAKAOWATCH_CONFIG", None)
        proc = subprocess.Popen([kwtest.BINARY, "-c", self.config, "once"],
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=e)
        seen, most = set(), 0
        try:
            while proc.poll() is None:
                now = browsers(self.state)
                most = max(most, len(now))
                seen.update(now)
                time.sleep(0.05)
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        self.assertEqual(proc.returncode, 1, out + err)
        self.assertIn("first: failed: the browser did not finish within 4s",
                      out)
        self.assertIn("second: failed: the browser did not finish within "
                      "4s", out)
        # both ran, one after the other
        self.assertEqual(len(seen), 2, seen)
        self.assertEqual(most, 1)

    def test_daemon_renders_beside_its_loop(self):
        self.write_page("pending.html", PENDING_PAGE)
        self.write_page("plain.html", "<ul><li><a href='/p'>plain</a></li>"
                        "</ul>")
        self.write_config("""
state_dir: %s
browser_max: 2
kakao:
  sink: stdout
watches:
  - name: hang
    url: %s
    xpath: //li
    render: browser
    interval: 2s
    timeout: 120s
  - name: plain
    url: %s
    xpath: //li/a
    interval: 1s
  - name: tickets
    url: %s
    xpath: //ul[@id="list"]/li/a
    render: browser
    interval: 2s
    timeout: 60s
""" % (self.state, self.pages.url("/pending.html"),
       self.pages.url("/plain.html"), self.pages.url("/list.html")))
        d = kwtest.Daemon(self, self.config, args=("-v",))
        d.wait_log(r"tickets: baseline stored \(2 items\)", timeout=60)

        def hang_browser():
            for pid, args in browsers(self.state).items():
                if "browser-hang-" in args:
                    return pid
            return None
        pid = kwtest.wait_until(hang_browser, 60, "the browser of 'hang'")
        # the loop goes on while that browser runs: other checks finish
        n = d.matches("plain: unchanged")
        d.wait_log("plain: unchanged", timeout=60, count=n + 3)
        self.assertEqual(hang_browser(), pid)
        self.assertNotIn("hang: ", d.log())
        # SIGUSR1's summary counts the browsers
        d.proc.send_signal(signal.SIGUSR1)
        kwtest.wait_until(lambda: re.search(
            r"status: [12] browsers? running, \d+ waiting "
            r"\(browser_max 2\)", d.log()), 20, "the status lines")

        self.write_items(3)
        d.wait_log("tickets: 1 new, 0 removed", timeout=60)

        # a browser killed mid-check fails that check only
        # (counted from here: tickets was "unchanged" before the change
        # too, and a count from the start proves no check after it)
        t = d.matches("tickets: unchanged")
        os.kill(pid, signal.SIGKILL)
        d.wait_log(r"hang: failed: the browser crashed \(signal 9\)",
                   timeout=60)
        n = d.matches("plain: unchanged")
        d.wait_log("plain: unchanged", timeout=60, count=n + 1)
        d.wait_log("tickets: unchanged", timeout=60, count=t + 1)
        msgs = kwtest.json_lines(d.stdout())
        self.assertEqual(len(msgs), 1, msgs)
        self.assertIn("임영웅 전국투어", str(msgs[0]))

        # a stop takes the running browsers along
        kwtest.wait_until(lambda: hang_browser() not in (None, pid), 60,
                          "a new browser of 'hang'")
        d.proc.send_signal(signal.SIGTERM)
        self.assertEqual(d.proc.wait(20), 0, d.log())
        kwtest.wait_until(lambda: any_browser_process(self.state) == [], 10,
                          "no browser left after the stop")

    def test_cookies_reach_the_browser_and_the_rotated_one_is_kept(self):
        board = kwtest.Server("sessionserver.py", "--sid", FIRST_SID)
        self.servers.append(board)
        cookies = os.path.join(self.tmp, "cookies.txt")
        kwtest.write_cookies_txt(cookies, FIRST_SID)
        self.write_config("""
state_dir: %s
kakao:
  sink: stdout
watches:
  - name: members
    url: %s
    xpath: //ul[@id="posts"]/li/a
    render: browser
    cookies: cookies.txt
    timeout: 30s
""" % (self.state, board.url("/board")))
        p = self.kw("-vv", "once")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("members: baseline stored (2 items)", p.stdout)
        reqs = board.get_json("/requests")
        self.assertIn("sid=" + FIRST_SID, reqs[0]["cookie"])
        self.assertIn("theme=dark", reqs[0]["cookie"])
        rotated = board.get_json("/sid")["sid"]
        self.assertNotEqual(rotated, FIRST_SID)
        jar = os.path.join(self.state, "cookies", "members.txt")
        self.assertEqual(stat.S_IMODE(os.stat(jar).st_mode), 0o600)
        with open(jar) as f:
            self.assertIn(rotated, f.read())

        # only the kept cookie still works
        board.post_json("/add?title=third%20post")
        p = self.kw("-vv", "once")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("members: 1 new, 0 removed", p.stdout)
        self.assertIn("third post", p.stdout)
        reqs = board.get_json("/requests")
        self.assertIn("sid=" + rotated, reqs[-1]["cookie"])
        self.assertNotIn(FIRST_SID, reqs[-1]["cookie"])
        self.assert_no_secrets(FIRST_SID, rotated,
                               board.get_json("/sid")["sid"])

        # a newer export with a dead session: the login page, a failure
        # that says so
        with open(cookies, "w") as f:
            f.write("127.0.0.1\tFALSE\t/\tFALSE\t0\tsid\tlogged-out\n")
        p = self.kw("once")
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("members: failed: the xpath matched nothing: the "
                      "session may have expired", p.stdout)

    def test_wait_for_an_element_added_later(self):
        self.write_page("late.html", LATE_PAGE)
        self.write_config("""
state_dir: %s
browser_max: 2
kakao:
  sink: stdout
watches:
  - name: late
    url: %s
    xpath: //li
    render: browser
    wait_for: ul#list > li.post
    timeout: 30s
  - name: never
    url: %s?never
    xpath: //li
    render: browser
    wait_for: //li[@class="nothing-like-it"]
    timeout: 4s
""" % (self.state, self.pages.url("/late.html"),
       self.pages.url("/late.html")))
        p = self.kw("once")
        self.assertIn("late: baseline stored (2 items)", p.stdout,
                      p.stdout + p.stderr)
        self.assertIn("never: failed: the browser did not finish within 4s "
                      "(timeout; wait_for matched nothing)", p.stdout)

    def test_kept_profile_keeps_what_the_page_stored(self):
        self.write_page("visit.html", VISIT_PAGE)
        self.write_config("""
state_dir: %s
kakao:
  sink: stdout
watches:
  - name: visits
    url: %s
    xpath: //li
    render: browser
    browser_profile: keep
    timeout: 30s
""" % (self.state, self.pages.url("/visit.html")))
        p = self.kw("once")
        self.assertIn("visits: baseline stored (1 items)", p.stdout,
                      p.stdout + p.stderr)
        profile = os.path.join(self.state, "browser", "visits")
        self.assertEqual(stat.S_IMODE(os.stat(profile).st_mode), 0o700)
        p = self.kw("once")
        self.assertIn("visits: 1 new, 0 removed", p.stdout,
                      p.stdout + p.stderr)
        self.assertIn("다시 방문", p.stdout)
        self.assertTrue(os.path.isdir(profile))

    def test_missing_browser_and_bad_keys_are_errors_in_check(self):
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

        self.write_config("""
state_dir: %s
watches:
  - name: plain
    url: %s
    xpath: //li/a
    wait_for: li.post
  - name: badcss
    url: %s
    xpath: //li/a
    render: browser
    wait_for: li[
""" % (self.state, self.pages.url("/list.html"),
       self.pages.url("/list.html")))
        p = self.kw("check")
        self.assertEqual(p.returncode, 2)
        self.assertRegex(p.stderr, r"kakaowatch\.yaml:7:15: .*wait_for.*"
                         r"needs 'render: browser'")
        self.assertRegex(p.stderr, r"kakaowatch\.yaml:12:\d+: .*bad css "
                         r"'li\['")


class SweepTest(kwtest.KwTestCase):
    """Fresh profiles a killed kakaowatch left go at the next start."""

    def test_profiles_of_dead_kakaowatches_are_removed(self):
        pages = self.start_pages()
        self.write_page("plain.html", "<ul><li><a href='/p'>p</a></li></ul>")
        self.write_config("""
state_dir: %s
kakao:
  sink: stdout
watches:
  - name: plain
    url: %s
    xpath: //li/a
""" % (self.state, pages.url("/plain.html")))
        gone = subprocess.Popen(["true"])
        gone.wait()
        made = {}
        for name, owner in (("browser-old-a1b2c3", gone.pid),
                            ("browser-live-d4e5f6", os.getpid()),
                            ("browser", None)):
            d = os.path.join(self.state, name, "Default")
            os.makedirs(d)
            if owner:
                with open(os.path.join(self.state, name,
                                       "kakaowatch.pid"), "w") as f:
                    f.write("%d\n" % owner)
            made[name] = d
        p = self.kw("once")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertFalse(os.path.exists(os.path.join(
            self.state, "browser-old-a1b2c3")))
        self.assertTrue(os.path.isdir(made["browser-live-d4e5f6"]))
        self.assertTrue(os.path.isdir(made["browser"]))


if __name__ == "__main__":
    kwtest.main()
