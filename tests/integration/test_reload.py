"""Live reload when the config is not edited in place.

- The config's directory is replaced (`mv conf conf.old; mv conf.new
  conf`): the new file is loaded, and later edits of it are noticed (the
  directory watch is armed again on the new directory).
- The config path is a symlink that is re-pointed to a file in another
  directory: loaded, and later edits of the new target are noticed.
- A config written in two steps (half, a pause with the file still open,
  the rest) is loaded once, whole; the half-written file never is.
- Saving an unchanged file is not a reload.
"""
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import kwtest  # noqa: E402


def page(items):
    return "<html><body><ul>%s</ul></body></html>" % "".join(
        '<li><a href="/p/%s">%s</a></li>' % (t, t) for t in items)


class Reload(kwtest.KwTestCase):

    def setUp(self):
        super().setUp()
        self.pages = self.start_pages()
        for n in "abcd":
            self.write_page(n + ".html", page([n + "1"]))
        self.proc = None

    def tearDown(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        super().tearDown()

    def text(self, names):
        return """
state_dir: %s
kakao: {sink: stdout}
defaults: {interval: 1m, timeout: 5s}
watches:
%s""" % (self.state, "".join(
            "  - {name: %s, url: '%s', xpath: //li/a}\n"
            % (n, self.pages.url("/%s.html" % n)) for n in names))

    def put(self, path, names):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path + ".tmp", "w") as f:
            f.write(self.text(names))
        os.replace(path + ".tmp", path)

    def start(self, config):
        self.err_path = os.path.join(self.tmp, "run.err")
        with open(self.err_path, "w") as err:
            self.proc = subprocess.Popen(
                [kwtest.BINARY, "-v", "-c", config, "run"],
                stdout=subprocess.DEVNULL, stderr=err)
        self.wait_log(r"run: kakaowatch .* started")

    def log(self):
        with open(self.err_path, errors="replace") as f:
            return f.read()

    def wait_log(self, pattern, timeout=30, count=1):
        def seen():
            if self.proc.poll() is not None:
                self.fail("the daemon exited:\n" + self.log())
            return len(re.findall(pattern, self.log(), re.M)) >= count
        kwtest.wait_until(seen, timeout, "/%s/ x%d in the log:\n%s" % (
            pattern, count, self.log()[-3000:]))

    def test_config_directory_replaced(self):
        conf = os.path.join(self.tmp, "conf")
        path = os.path.join(conf, "kakaowatch.yaml")
        self.put(path, "a")
        self.start(path)
        fresh = os.path.join(self.tmp, "conf.new")
        self.put(os.path.join(fresh, "kakaowatch.yaml"), "ab")
        os.rename(conf, os.path.join(self.tmp, "conf.old"))
        # part of the scenario, not a wait: the two renames are two
        # steps with a moment between them without any config directory
        # (the daemon may or may not look in between; either must work)
        time.sleep(0.2)
        os.rename(fresh, conf)
        self.wait_log(r"reload: watch 'b' added")
        # edits of the file in the new directory are seen too
        self.put(path, "abc")
        self.wait_log(r"reload: watch 'c' added")

    def test_symlinked_config_repointed(self):
        link = os.path.join(self.tmp, "kakaowatch.yaml")
        one = os.path.join(self.tmp, "v1", "kakaowatch.yaml")
        two = os.path.join(self.tmp, "v2", "kakaowatch.yaml")
        self.put(one, "a")
        os.symlink(one, link)
        self.start(link)
        self.put(two, "ab")
        os.symlink(two, link + ".new")
        os.replace(link + ".new", link)
        self.wait_log(r"reload: watch 'b' added")
        # the new target's own directory is watched now
        self.put(two, "abc")
        self.wait_log(r"reload: watch 'c' added")
        # and the old one no more matters: an edit of it is not loaded,
        # and a later edit of the new target is (that reload reads the
        # config path, so a daemon still on the old file would show 'd')
        self.put(one, "abcd")
        self.put(two, "ab")
        self.wait_log(r"reload: watch 'c' removed")
        self.assertNotIn("watch 'd' added", self.log())

    def test_two_step_write_is_loaded_once_whole(self):
        path = os.path.join(self.tmp, "kakaowatch.yaml")
        self.put(path, "ab")
        self.start(path)
        whole = self.text("abcd")
        half = self.text("abc")  # a valid config on its own
        self.assertTrue(whole.startswith(half))
        with open(path, "w") as f:
            f.write(half)
            f.flush()
            # part of the scenario: a slow writer, the file open and
            # half-written for longer than any settle time
            time.sleep(1.5)
            f.write(whole[len(half):])
        # the "in force" line is the reload's last: the "added" lines
        # come before it, so waiting for one of those and then reading
        # the log could read it between the two
        self.wait_log(r"reload: configuration .* in force, 4 watches")
        log = self.log()
        self.assertIn("reload: watch 'd' added", log)
        # a load of the half would have come before the whole one
        self.assertNotIn("in force, 3 watches", log,
                         "the half-written file was loaded")
        self.assertEqual(len(re.findall(r"reload: configuration .* in "
                                        r"force", log)), 1, log)
        # saving the same bytes again is not a reload: wait until the
        # daemon has looked at the saved file (a -v line), then count
        unchanged = r"reload: '.*' is unchanged; nothing to do"
        before = len(re.findall(unchanged, log, re.M))
        with open(path, "w") as f:
            f.write(whole)
        os.utime(path)
        self.wait_log(unchanged, count=before + 1)
        self.assertEqual(len(re.findall(r"reload: configuration .* in "
                                        r"force", self.log())), 1,
                         self.log())


if __name__ == "__main__":
    kwtest.main()
