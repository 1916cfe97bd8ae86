"""Item identity and the memory of seen items (issue 11), as a user lives it.

A gnuboard-style board (boardsim.py) is served on loopback and edited the
ways real boards change without news: a deletion lets an older post slide
back, the comment count in the title link grows, a notice is pinned and
unpinned, posts are reordered, a title is edited, the links gain paging and
sort parameters. `kakaowatch once` (stdout sink) must print exactly one
message item per new post and nothing else; `notify_on: [changed]` reports
edits with the new text. Then a scripted week of a busy board goes through
`kakaowatch run` and the strict fake Kakao: one delivered item per new
post, none for anything else.
"""
import json
import os
import random
import re
import sys

sys.path.insert(0, os.path.dirname(__file__))
import boardsim  # noqa: E402
import kwtest  # noqa: E402


def changes(msgs):
    """[(word, [titles])] of the messages: word is new, edited, removed."""
    out = []
    for m in msgs:
        if m.get("object_type") == "list":
            word = re.search(r": \d+ (\w+)", m["header_title"]).group(1)
            out.append((word, [c["title"] for c in m["contents"]]))
            continue
        lines = m.get("text", "").split("\n")
        hit = re.search(r": \d+ (new|edited|removed)$", lines[0])
        if hit:
            out.append((hit.group(1), lines[1:]))
    return out


def new_titles(msgs):
    return [t for word, ts in changes(msgs) if word == "new" for t in ts]


class IdentityOnceTest(kwtest.KwTestCase):

    def setUp(self):
        super().setUp()
        self.pages = self.start_pages()
        self.board = boardsim.Board(page_size=5)
        for t in ["첫 글", "둘째 글", "셋째 글", "넷째 글", "다섯째 글"]:
            self.board.post(t)

    def configure(self, watch_extra="", second=None):
        text = """
state_dir: %s
kakao:
  sink: stdout
history_days: 3650
defaults:
  interval: 1m
  timeout: 5s
watches:
  - name: deals
    url: %s
    xpath: %s
%s""" % (self.state, self.pages.url("/board.html"), boardsim.XPATH,
         watch_extra)
        if second:
            text += """  - name: %s
    url: %s
    xpath: %s
%s""" % (second[0], self.pages.url("/board.html"), boardsim.XPATH,
                second[1])
        self.write_config(text)

    def check(self):
        """Serves the board as it is now, runs once, returns its messages."""
        self.write_page("board.html", self.board.render())
        p = self.kw("once")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        return kwtest.json_lines(p.stdout), p.stdout

    def baseline(self):
        msgs, out = self.check()
        self.assertIn("deals: baseline stored", out)
        self.assertEqual(msgs, [])

    def assert_quiet(self, what):
        msgs, out = self.check()
        self.assertEqual(changes(msgs), [], "%s sent something:\n%s" % (
            what, out))

    def test_deleted_post_lets_an_older_one_slide_back_silently(self):
        self.configure()
        self.baseline()
        newest = self.board.post("새 특가")            # 101 slides off
        msgs, _ = self.check()
        self.assertEqual(changes(msgs), [("new", ["새 특가"])])
        self.board.delete(newest.pid)                  # 101 slides back
        self.assertIn(101, [p.pid for p in self.board.shown()])
        self.assert_quiet("an older post sliding back")
        self.board.delete(105)                         # and once more
        self.assert_quiet("a deletion")

    def test_comment_count_in_the_title_link_is_no_news(self):
        self.configure()
        self.board.find(103).comments = 3
        self.baseline()
        self.board.find(103).comments = 4
        self.board.find(104).comments = 1
        self.assert_quiet("new comments")
        self.board.find(103).comments = 0               # comments deleted
        self.assert_quiet("comments deleted")

    def test_pinned_notice_dropping_off_and_coming_back_is_no_news(self):
        self.configure()
        notice = self.board.post("[공지] 이용 규칙")  # 106, 101 slides off
        self.board.pin(notice.pid)                     # back: 101..105
        self.baseline()
        self.board.unpin(notice.pid)                   # 101 slides off
        msgs, _ = self.check()
        self.assertEqual(changes(msgs), [])
        self.board.pin(notice.pid)
        self.assert_quiet("the notice pinned again")
        self.board.pin(101)                            # an old post pinned
        self.assert_quiet("an old post pinned")

    def test_reorder_is_no_news(self):
        self.configure()
        self.baseline()
        self.board.posts.reverse()
        self.assert_quiet("a reorder")

    def test_paging_and_sort_parameters_in_links_are_no_news(self):
        self.configure()
        self.baseline()
        self.board.link_extra = "&page=1&sca=&sfl=wr_subject&stx=&sst=" \
            "wr_datetime&sod=desc#c_1"
        self.assert_quiet("links with search and sort state")
        self.board.reverse_params = True
        self.board.link_extra = "&spt=-1&page=1"
        self.assert_quiet("parameters in another order")

    def test_new_post_with_the_title_of_an_old_one_is_new(self):
        self.configure()
        self.baseline()
        self.board.post("셋째 글")                      # same title as 103
        msgs, _ = self.check()
        self.assertEqual(changes(msgs), [("new", ["셋째 글"])])

    def test_title_edit_is_silent_by_default_and_sent_with_notify_on_changed(
            self):
        self.configure(second=("edits", "    notify_on: [changed]\n"))
        self.baseline()
        self.board.find(104).title = "넷째 글 (마감)"
        self.board.find(102).comments = 7              # not an edit
        msgs, out = self.check()
        self.assertEqual(changes(msgs), [("edited", ["넷째 글 (마감)"])],
                         out)
        self.assertIn("deals: 0 new, 0 removed, 1 edited", out)
        self.assertIn("edits: 0 new, 0 removed, 1 edited", out)
        edited = [m for m in msgs if "edited" in m.get("text", "")][0]
        self.assertEqual(edited["link"]["web_url"], self.board.link(104))
        # a new post is not an edit: `edits` stays quiet, `deals` sends it
        self.board.post("여섯째 글")
        msgs, _ = self.check()
        self.assertEqual(changes(msgs), [("new", ["여섯째 글"])])
        # the edit is remembered: the same text again is no news
        self.assert_quiet("the page unchanged")

    def test_keywords_apply_to_the_edited_text(self):
        self.configure("    notify_on: [added, changed]\n"
                       "    keywords: [마감]\n")
        self.baseline()
        self.board.find(103).title = "셋째 글 수정"
        self.board.find(104).title = "넷째 글 (마감)"
        msgs, _ = self.check()
        self.assertEqual(changes(msgs), [("edited", ["넷째 글 (마감)"])])

    def test_key_pattern_for_links_that_change_each_time(self):
        # a session id in every link: only the post id names the post
        self.configure("    key_pattern: '[?&]wr_id=(\\d+)'\n",
                       second=("nokey", ""))
        self.board.link_extra = "&sid=aaa"
        self.baseline()
        self.board.link_extra = "&sid=bbb"
        msgs, out = self.check()
        self.assertIn("deals: unchanged", out)
        # without key_pattern every post looks new
        self.assertIn("nokey: 5 new, 5 removed", out)
        p = self.kw("test", "deals")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("   key: re:105\n", p.stdout)
        self.assertIn("keys: link (auto), key_pattern [?&]wr_id=(\\d+), "
                      "5 distinct", p.stdout)

    def test_javascript_links_are_keyed_by_text(self):
        self.write_page("js.html", "<ul>%s</ul>" % "".join(
            '<li><a href="javascript:view(%d)">%s</a></li>' % (i, t)
            for i, t in enumerate(["가", "나"])))
        self.write_config("""
state_dir: %s
kakao: { sink: stdout }
watches:
  - name: js
    url: %s
    xpath: //li/a
""" % (self.state, self.pages.url("/js.html")))
        self.assertEqual(self.kw("once").returncode, 0)
        self.write_page("js.html", "<ul>%s</ul>" % "".join(
            '<li><a href="javascript:view(%d)">%s</a></li>' % (i, t)
            for i, t in enumerate(["다", "가", "나"])))
        p = self.kw("once")
        self.assertEqual(changes(kwtest.json_lines(p.stdout)),
                         [("new", ["다"])])
        p = self.kw("test", "js")
        self.assertIn("   key: text+link:다 @ \n", p.stdout)
        self.assertIn("keys: text+link (auto), 3 distinct", p.stdout)

    def test_test_shows_keys_and_status_the_keys_remembered(self):
        self.configure()
        self.baseline()
        self.board.post("새 글")
        self.check()
        p = self.kw("test", "deals")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("   key: link:https://board.example/bbs/board.php?"
                      "bo_table=deal&wr_id=106\n", p.stdout)
        self.assertIn("keys: link (auto), 5 distinct", p.stdout)
        st = self.kw("status", "--json")
        self.assertEqual(st.returncode, 0, st.stderr)
        w = [w for w in json.loads(st.stdout)["watches"]
             if w["name"] == "deals"][0]
        self.assertEqual(w["items"], 5)
        self.assertEqual(w["keys_remembered"], 6)   # 101 slid off
        table = self.kw("status")
        self.assertRegex(table.stdout, r"\nWATCH .* ITEMS +KEYS ")
        self.assertRegex(table.stdout, r"\ndeals .* 5 +6 ")


class BusyWeekRunTest(kwtest.DaemonCase):
    """A week of a busy board through `kakaowatch run` and fake Kakao."""

    def test_a_busy_week_sends_one_item_per_new_post_and_nothing_else(self):
        seed = int(os.environ.get("KW_WEEK_SEED", "11"))
        rng = random.Random(seed)
        # every post has been on page 1 while the watch ran (a post older
        # than the first check that a deletion brings onto the page is new
        # to kakaowatch: docs/configuration.md says so)
        board = boardsim.Board(page_size=8)
        for i in range(8):
            board.post("지난주 글 %d" % i, comments=rng.randrange(5))
        self.write_page("board.html", board.render())
        env = self.env("week")
        env.write_config([("deals", "/board.html",
                           "    xpath: %s\n" % boardsim.XPATH)],
                         extra="history_days: 3650")
        # Env writes `xpath: //li/a`; this board needs its own
        with open(env.config) as f:
            text = f.read()
        with open(env.config, "w") as f:
            f.write(text.replace("    xpath: //li/a\n", "", 1))
        env.auth()
        d = env.run("-v")
        d.wait_log(r"check: deals: baseline stored")
        expected, log = [], []
        # the first day goes through every kind of edit once, in this
        # order; the rest of the week is random (KW_WEEK_SEED)
        script = ["post", "post", "comment", "edit", "pin", "delete",
                  "unpin", "reorder", "params", "post"]
        kinds = ["post", "post", "comment", "comment", "delete", "edit",
                 "pin", "unpin", "reorder", "params"]
        step = 0
        for day in range(7):
            for hour in range(4):
                new = []
                todo = [script[step]] if step < len(script) else []
                todo += [rng.choice(kinds)
                         for _ in range(rng.randrange(0 if todo else 1, 3))]
                step += 1
                for kind in todo:
                    log.append(self.apply(board, rng, kind, new))
                shown = {p.pid: p for p in board.shown()}
                for pid in new:
                    self.assertIn(pid, shown, "a new post is on page 1")
                    expected.append(boardsim.text_of(shown[pid]))
                self.write_page("board.html", board.render())
                # two checks ended after the write: the second began
                # after it and saw this page (counted from now, not
                # from the start: the checks go on while this loop
                # edits, and an old count can be reached by checks of
                # the page before, which the next write then replaces
                # unseen)
                d.wait_checks("deals", timeout=30)
        kwtest.wait_until(
            lambda: len(env.items()) >= len(expected), 30,
            "all %d new posts delivered" % len(expected))
        d.stop()
        got = env.items()
        self.assertEqual(sorted(got), sorted(expected),
                         "exactly the new posts, each once; events: %s"
                         % log)
        self.assertGreaterEqual(len(expected), 10)
        for kind in ("comment", "delete", "edit", "reorder", "params"):
            self.assertIn(kind, log, "the week had no %s" % kind)

    def apply(self, board, rng, kind, new):
        """One edit of the board; the pid of a new post goes to `new`."""
        shown = board.shown()
        if kind == "post" or not shown:
            title = "특가 %d호 %s" % (board.next_id,
                                     rng.choice(["라면", "커피", "모니터"]))
            if rng.random() < 0.3:
                # the title of a post already on the page: still new
                title = rng.choice(shown).title if shown else title
            new.append(board.post(title).pid)
            return "post"
        p = rng.choice(shown)
        if kind == "comment":
            p.comments += rng.randrange(1, 4)
        elif kind == "delete" and len(board.posts) > board.page_size:
            board.delete(p.pid)
            new[:] = [pid for pid in new if pid != p.pid]
        elif kind == "edit":
            p.title += rng.choice([" (마감)", " (품절)", "!"])
        elif kind == "pin" and p in board.posts and len(board.notices) < 2:
            board.pin(p.pid)
        elif kind == "unpin" and board.notices:
            board.unpin(rng.choice(board.notices).pid)
        elif kind == "reorder":
            # page 1 sorted by hits: the same posts in another order
            n = min(board.page_size, len(board.posts))
            top = board.posts[:n]
            rng.shuffle(top)
            board.posts[:n] = top
        elif kind == "params":
            board.link_extra = rng.choice([
                "&page=1", "&page=1&sca=", "&sst=wr_hit&sod=desc&page=1",
                "&page=1#c_9", "&sfl=wr_subject&stx=&page=1"])
            board.reverse_params = rng.random() < 0.5
        else:
            return "none"
        return kind


if __name__ == "__main__":
    kwtest.main()
