"""`kakaowatch find` as a new user runs it: on loopback copies of saved
boards (../shared/testdata/realpages, served in place), given one title
they can see, the first proposal must list the board's posts, which are
computed independently (html5lib + lxml and an XPath written for each
board by reading the page, see BOARDS); `--add` appends a watch to a
commented config keeping every other byte, and refuses files it cannot
edit safely."""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import html5ref  # noqa: E402
import kwtest  # noqa: E402

REALPAGES = os.path.join(os.environ.get("KW_SOURCE_DIR", os.path.join(
    os.path.dirname(__file__), "..", "..")), "..", "shared", "testdata",
    "realpages")

# file, charset, the board's posts (one element per post title)
BOARDS = [
    ("ko-ruliweb-1020-2026a.html", "utf-8",
     "//tr[contains(@class,'table_body') and contains(@class,'normal')]"
     "//a[contains(@class,'subject_link')]"),
    ("ko-clien-park-2026.html", "utf-8",
     "//div[contains(@class,'list_item') and contains(@class,'symph_row')]"
     "//span[@class='subject_fixed']"),
    ("ko-fmkorea-hotdeal-2026a.html", "utf-8",
     "//div[contains(@class,'fm_best_widget')]//li"
     "//h3[contains(@class,'title')]/a"),
    ("ko-theqoo-hot-2026.html", "utf-8", "//td[@class='title']/a[1]"),
    ("ko-humoruniv-pds-2026.euckr.html", "cp949",
     "//table[@id='post_list']//td[@class='li_sbj']/a"),
    ("ko-ppomppu-zboard-2026.euckr.html", "cp949",
     "//tr[contains(@class,'baseList')]//a[contains(@class,'baseList-title')]"),
    ("ko-quasarzone-saleinfo-2026a.html", "utf-8",
     "//div[@class='list-wrapper']//a[contains(@class,'item')]/h3"),
    ("ko-dealbada-2020.html", "utf-8", "//td[@class='td_subject']/a"),
    ("ko-slrclub-2026.html", "utf-8", "//td[@class='sbj']/a"),
    ("ko-todayhumor-bob-2026.html", "utf-8",
     "//tr[contains(@class,'view')]/td[@class='subject']/a"),
    ("ko-bobaedream-best-2026.html", "utf-8",
     "//table[@id='boardlist']//a[@class='bsubject']"),
    ("ko-inven-hot-2026.html", "utf-8",
     "//div[@id='hotven-list']//div[@class='title']/a"),
]

CANDIDATE = re.compile(r"^(\d+)\. (\d+) items", re.M)


def candidates(out):
    """[(n items, css, xpath)] from find's output, in rank order."""
    found = []
    for block in re.split(r"\n(?=\d+\. )", out):
        m = CANDIDATE.match(block)
        if not m:
            continue
        css = re.search(r"^   css:   (.*)$", block, re.M)
        xp = re.search(r"^   xpath: (.*)$", block, re.M)
        found.append((int(m.group(2)), css.group(1) if css else None,
                      xp.group(1)))
    return found


def items_of(test_output):
    """The item texts `kakaowatch test` printed ("N. text" lines)."""
    return [m.group(1) for m in re.finditer(r"^\d+\. (.*)$", test_output,
                                            re.M)]


class FindTest(kwtest.KwTestCase):

    def setUp(self):
        super().setUp()
        if not os.path.isdir(REALPAGES):
            self.skipTest("no saved pages at %s (../shared/testdata)"
                          % REALPAGES)
        self.py = html5ref.interpreter()
        if self.py is None:
            self.skipTest("no Python with html5lib and lxml for the "
                          "independent expectations")
        self.write_config("state_dir: %s\nwatches:\n  - name: x\n"
                          "    url: http://127.0.0.1:1/\n"
                          "    xpath: //a\n" % self.state)

    def serve_realpages(self):
        s = kwtest.Server("pageserver.py", "--root", REALPAGES)
        self.servers.append(s)
        return s

    def same_posts(self, got, want, what):
        """Each item is the post at its place: its text is within the
        post's title element's text or holds it."""
        self.assertEqual(len(got), len(want), "%s: %d items, want %d posts:"
                         "\n%s\nwant\n%s" % (what, len(got), len(want),
                                             got, want))
        for g, w in zip(got, want):
            self.assertTrue(g and (g in w or w in g),
                            "%s: item %r is not post %r" % (what, g, w))

    def test_find_proposes_the_posts_of_each_board(self):
        pages = self.serve_realpages()
        for name, charset, xpath in BOARDS:
            with self.subTest(board=name):
                path = os.path.join(REALPAGES, name)
                if not os.path.exists(path):
                    self.skipTest("missing saved page " + name)
                posts = html5ref.texts(self.py, path, charset, xpath)
                self.assertGreaterEqual(len(posts), 10, name)
                title = posts[len(posts) // 2]
                p = self.kw("find", pages.url("/" + name), title)
                self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
                cands = candidates(p.stdout)
                self.assertTrue(cands, p.stdout)
                n, css, xp = cands[0]
                # the XPath's items, extracted as a check would
                t = self.kw("test", "--file", path, "--xpath", xp)
                self.assertEqual(t.returncode, 0, t.stderr)
                got = items_of(t.stdout)
                self.assertEqual(len(got), n)
                self.same_posts(got, posts, name)
                # the CSS selector is printed only when it selects the same
                self.assertIsNotNone(css, p.stdout)

    def test_find_with_two_titles_and_no_match(self):
        pages = self.serve_realpages()
        name, charset, xpath = BOARDS[0]
        path = os.path.join(REALPAGES, name)
        posts = html5ref.texts(self.py, path, charset, xpath)
        # case and width do not matter, as for keywords
        p = self.kw("find", pages.url("/" + name), posts[1].upper(),
                    posts[-2])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("2 of the 2 texts among them", p.stdout)
        p = self.kw("find", pages.url("/" + name),
                    "no board has this title 12345")
        self.assertEqual(p.returncode, 1)
        self.assertIn("no element's text contains", p.stderr)
        p = self.kw("find", pages.url("/no-such-page.html"), "x")
        self.assertEqual(p.returncode, 1)
        self.assertIn("HTTP 404", p.stderr)

    def test_add_appends_the_watch_and_keeps_every_other_byte(self):
        pages = self.serve_realpages()
        name, charset, xpath = BOARDS[5]  # ppomppu, EUC-KR
        path = os.path.join(REALPAGES, name)
        posts = html5ref.texts(self.py, path, charset, xpath)
        before = (
            "# my watches  \n"
            "state_dir: %s   # where state lives\n"
            "\n"
            "defaults:\n"
            "  interval: 10m\n"
            "watches:\n"
            "  # the first one\n"
            "  - name: first\n"
            "    url: \"http://127.0.0.1:1/a\"   # trailing comment\n"
            "    xpath: '//h1'\n"
            "\n"
            "  - name: 둘째\n"
            "    url: http://127.0.0.1:1/b\n"
            "    xpath: //h2\n"
            "# the end, no newline after this" % self.state)
        with open(self.config, "w") as f:
            f.write(before)
        os.chmod(self.config, 0o640)
        url = pages.url("/" + name)
        p = self.kw("find", url, posts[3], "--add", "뽐뿌")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("added watch '뽐뿌'", p.stdout)
        self.assertIn("configuration OK", p.stdout)
        with open(self.config, encoding="utf-8") as f:
            after = f.read()
        self.assertTrue(after.startswith(before + "\n"), after)
        added = after[len(before) + 1:]
        self.assertRegex(added, r'^  - name: "뽐뿌"\n    url: "%s"\n'
                         r'    (xpath|css): ".+"\n$' % re.escape(url))
        self.assertEqual(os.stat(self.config).st_mode & 0o777, 0o640)
        self.assertEqual([f for f in os.listdir(self.tmp)
                          if f.startswith(".")], [])
        # the new watch works as a watch
        t = self.kw("test", "뽐뿌")
        self.assertEqual(t.returncode, 0, t.stderr)
        self.same_posts(items_of(t.stdout), posts, name)
        c = self.kw("check")
        self.assertEqual(c.returncode, 0, c.stderr)
        # the same name again: check's error, the file left alone
        p = self.kw("find", url, posts[3], "--add", "뽐뿌")
        self.assertEqual(p.returncode, 2)
        self.assertIn("was left as it was", p.stderr)
        with open(self.config, encoding="utf-8") as f:
            self.assertEqual(f.read(), after)

    def test_add_refuses_files_it_cannot_edit_safely(self):
        pages = self.serve_realpages()
        name, charset, xpath = BOARDS[0]
        path = os.path.join(REALPAGES, name)
        posts = html5ref.texts(self.py, path, charset, xpath)
        w = "  - name: a\n    url: http://127.0.0.1:1/\n    xpath: //a\n"
        cases = {
            "flow": "state_dir: %s\nwatches: [{name: a, url: "
                    "'http://127.0.0.1:1/', xpath: //a}]\n",
            "not-last": "watches:\n" + w + "state_dir: %s\n",
            "tabs": "state_dir: %s\t# tab\nwatches:\n" + w,
            "uneven": "state_dir: %s\nwatches:\n" + w +
                      "  -   name: b\n      url: http://127.0.0.1:1/\n"
                      "      xpath: //a\n",
        }
        for what, text in cases.items():
            with self.subTest(case=what):
                text = text % self.state
                with open(self.config, "w") as f:
                    f.write(text)
                p = self.kw("find", pages.url("/" + name), posts[0],
                            "--add", "new")
                self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
                self.assertIn("cannot add the watch safely", p.stderr)
                with open(self.config) as f:
                    self.assertEqual(f.read(), text)

    def test_run_picks_up_the_added_watch_by_itself(self):
        pages = self.serve_realpages()
        name, charset, xpath = BOARDS[4]  # humoruniv, EUC-KR
        path = os.path.join(REALPAGES, name)
        posts = html5ref.texts(self.py, path, charset, xpath)
        self.write_config(
            "# a daemon is running with this file\n"
            "state_dir: %s\n"
            "kakao:\n"
            "  sink: stdout\n"
            "watches:\n"
            "  - name: one\n"
            "    url: %s\n"
            "    css: a.subject_link\n" % (self.state,
                                         pages.url("/" + BOARDS[0][0])))
        err_path = os.path.join(self.tmp, "run.err")
        with open(err_path, "w") as err, open(os.devnull, "w") as out:
            run = subprocess.Popen([kwtest.BINARY, "-c", self.config, "run"],
                                   stdout=out, stderr=err)
        try:
            def log():
                with open(err_path, errors="replace") as f:
                    return f.read()
            kwtest.wait_until(lambda: "check: one: baseline stored" in log(),
                              15, "the daemon's first check:\n" + log())
            p = self.kw("find", pages.url("/" + name), posts[2], "--add",
                        "humor")
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            kwtest.wait_until(
                lambda: re.search(r"check: humor: baseline stored \(%d "
                                  r"items\)" % len(posts), log()), 20,
                "the new watch's first check:\n" + log())
            self.assertIsNone(run.poll(), log())
        finally:
            run.terminate()
            run.wait(10)


if __name__ == "__main__":
    kwtest.main()
