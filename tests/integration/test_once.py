"""`kakaowatch once` against real pages served on loopback.

Runs the binary twice (and more) with pages changed in between and asserts
what a user sees: the one-line summaries and the exact messages printed by
the stdout sink.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import kwtest  # noqa: E402


def slug(title):
    return "".join(c if c.isalnum() else "-" for c in title)


def news_page(titles, base=""):
    # links follow the story, not its position: reordering is no change
    lis = "\n".join(
        '<li><a href="%s/story/%s">%s</a></li>' % (base, slug(t), t)
        for t in titles)
    return """<!doctype html><html><head><title>news</title></head>
<body><h1>News</h1><ul id="news">
%s
</ul><p>footer <a href="/about">about</a></p></body></html>""" % lis


def notice_page(titles):
    rows = "\n".join(
        '<tr><td class="subject"><a href="view.php?no=%d">%s</a></td></tr>'
        % (100 + i, t) for i, t in enumerate(titles))
    return """<html><head><title>공지사항</title></head><body>
<table id="board">%s</table></body></html>""" % rows


class OnceTest(kwtest.KwTestCase):

    def config(self, watches, extra=""):
        return self.write_config("""
state_dir: %s
kakao:
  sink: stdout
defaults:
  interval: 1m
  timeout: 5s
  max_failures: 2
%s
watches:
%s
""" % (self.state, extra, watches))

    def setUp(self):
        super().setUp()
        self.pages = self.start_pages()

    def test_second_run_reports_exactly_the_added_items(self):
        self.write_page("news.html", news_page(["alpha", "beta", "gamma"]))
        self.write_page("notice.html", notice_page(["첫 공지", "둘째 공지"]),
                        charset="cp949")
        self.config("""
  - name: news
    url: %s
    xpath: //ul[@id='news']/li/a
  - name: notice
    url: %s
    xpath: //td[@class='subject']/a
""" % (self.pages.url("/news.html"), self.pages.url("/notice.html")))

        first = self.kw("once")
        self.assertEqual(first.returncode, 0, first.stderr)
        self.assertIn("news: baseline stored (3 items)", first.stdout)
        self.assertIn("notice: baseline stored (2 items)", first.stdout)
        self.assertEqual(kwtest.json_lines(first.stdout), [],
                         "the first check must be a silent baseline")

        # reordered + two new stories; one new notice with CP949-only
        # syllables (똠, 햏) served as "euc-kr" like real Korean boards
        self.write_page("news.html", news_page(
            ["gamma", "delta", "alpha", "beta", "epsilon"]))
        self.write_page("notice.html", notice_page(
            ["첫 공지", "둘째 공지", "똠방각하 햏님 공지"]), charset="cp949")
        with open(os.path.join(self.root, "notice.html.charset"), "w") as f:
            f.write("euc-kr")

        second = self.kw("once")
        self.assertEqual(second.returncode, 0, second.stderr)
        msgs = kwtest.json_lines(second.stdout)
        self.assertEqual(len(msgs), 2, second.stdout)
        news = [m for m in msgs if m["object_type"] == "list"][0]
        self.assertEqual(news["header_title"], "news: 2 new")
        self.assertEqual(
            [(c["title"], c["link"]["web_url"]) for c in news["contents"]],
            [("delta", self.pages.url("/story/delta")),
             ("epsilon", self.pages.url("/story/epsilon"))])
        self.assertEqual(news["header_link"]["web_url"],
                         self.pages.url("/news.html"))
        notice = [m for m in msgs if m["object_type"] == "text"][0]
        self.assertIn("notice: 1 new", notice["text"])
        self.assertIn("똠방각하 햏님 공지", notice["text"])
        self.assertEqual(notice["link"]["web_url"],
                         self.pages.url("/view.php?no=102"))
        self.assertIn("news: 2 new, 0 removed", second.stdout)

        third = self.kw("once")
        self.assertEqual(third.returncode, 0, third.stderr)
        self.assertEqual(kwtest.json_lines(third.stdout), [])
        self.assertIn("news: unchanged", third.stdout)
        self.assertIn("not modified", third.stdout,
                      "an unchanged page must be answered by a 304")

    def test_real_pages_report_added_items_in_the_right_encoding(self):
        # a real HTML documentation page (urlwatch, from Debian) and a
        # Korean notice board declared euc-kr by <meta> only
        with open(os.path.join(kwtest.DATA, "html",
                               "urlwatch-introduction.html"), "rb") as f:
            doc = f.read()
        with open(os.path.join(kwtest.DATA, "html", "euckr-notice.html"),
                  "rb") as f:
            board = f.read()
        self.write_page("docs/introduction.html", doc)
        self.write_page("board/list.html", board)
        self.config("""
  - name: docs
    url: %s
    xpath: //div[@class='body']//h2
  - name: board
    url: %s
    xpath: //td[@class='subject']/a
""" % (self.pages.url("/docs/introduction.html"),
            self.pages.url("/board/list.html")))
        first = self.kw("once")
        self.assertEqual(first.returncode, 0, first.stderr)
        self.assertIn("docs: baseline stored (4 items)", first.stdout)

        doc2 = doc.replace(
            b'<h2>Reporters<a',
            b'<h2>Hooks and Plugins<a class="headerlink" '
            b'href="#hooks" title="Permalink">\xc2\xb6</a></h2>\n<h2>Reporters<a')
        row = ('<tr><td class="subject"><a href="view.php?bo_table=notice'
               '&amp;wr_id=413">2025학년도 장학금 신청 안내</a></td></tr>\n')
        marker = '<td class="subject"><a href="view.php?bo_table=notice'
        board2 = board.replace(marker.encode("cp949"),
                               row.encode("cp949") + marker.encode("cp949"),
                               1)
        self.assertNotEqual(board2, board)
        self.write_page("docs/introduction.html", doc2)
        self.write_page("board/list.html", board2)
        second = self.kw("once")
        self.assertEqual(second.returncode, 0, second.stderr)
        msgs = {m["text"].split(":")[0]: m
                for m in kwtest.json_lines(second.stdout)}
        self.assertEqual(sorted(msgs), ["board", "docs"], second.stdout)
        self.assertEqual(msgs["docs"]["text"], "docs: 1 new\nHooks and Plugins¶")
        self.assertEqual(msgs["docs"]["link"]["web_url"],
                         self.pages.url("/docs/introduction.html#hooks"))
        self.assertEqual(msgs["board"]["text"],
                         "board: 1 new\n2025학년도 장학금 신청 안내")
        self.assertEqual(msgs["board"]["link"]["web_url"], self.pages.url(
            "/board/view.php?bo_table=notice&wr_id=413"))

        third = self.kw("once")
        self.assertEqual(kwtest.json_lines(third.stdout), [])
        self.assertIn("docs: unchanged", third.stdout)
        self.assertIn("board: unchanged", third.stdout)

    def test_failing_page_keeps_snapshot_and_others_run(self):
        self.write_page("news.html", news_page(["a1", "a2"]))
        self.write_page("other.html", news_page(["o1", "o2"]))
        self.config("""
  - name: news
    url: %s
    xpath: //ul[@id='news']/li/a
  - name: other
    url: %s
    xpath: //ul[@id='news']/li/a
""" % (self.pages.url("/news.html"), self.pages.url("/other.html")))
        self.assertEqual(self.kw("once").returncode, 0)

        # the page breaks (500), then its markup changes so the xpath
        # matches nothing: neither may replace the snapshot
        news_path = os.path.join(self.root, "news.html")
        os.rename(news_path, news_path + ".saved")
        self.write_page("other.html", news_page(["o1", "o2", "o3"]))
        broken = self.kw("once")
        self.assertEqual(broken.returncode, 1)
        self.assertIn("news: failed: HTTP 404", broken.stdout)
        self.assertIn("other: 1 new", broken.stdout)

        self.write_page("news.html", "<html><body><p>maintenance</p>"
                        "</body></html>")
        empty = self.kw("once")
        self.assertEqual(empty.returncode, 1)
        self.assertIn("news: failed: the xpath matched nothing", empty.stdout)
        # after max_failures (2) one "watch is failing" message
        failing = [m for m in kwtest.json_lines(empty.stdout)
                   if "failing" in m.get("text", "")]
        self.assertEqual(len(failing), 1, empty.stdout)

        # the page comes back with one new item: only that item is new,
        # and a single "recovered" message follows
        self.write_page("news.html", news_page(["a1", "a2", "a3"]))
        back = self.kw("once")
        self.assertEqual(back.returncode, 0, back.stderr)
        msgs = kwtest.json_lines(back.stdout)
        texts = [m.get("text", "") for m in msgs]
        self.assertTrue(any("news: 1 new" in t and "a3" in t for t in texts),
                        back.stdout)
        self.assertTrue(any("recovered" in t for t in texts), back.stdout)
        self.assertIn("news: 1 new, 0 removed", back.stdout)

    def test_keywords_and_exclude_filter_messages(self):
        self.write_page("news.html", news_page(["start"]))
        self.config("""
  - name: news
    url: %s
    xpath: //ul[@id='news']/li/a
    keywords: [RELEASE, 보안]
    exclude: [beta]
""" % self.pages.url("/news.html"))
        self.assertEqual(self.kw("once").returncode, 0)
        self.write_page("news.html", news_page(
            ["start", "Rust 1.90 release", "release beta 2", "긴급 보안 패치",
             "unrelated"]))
        p = self.kw("once")
        self.assertEqual(p.returncode, 0, p.stderr)
        msgs = kwtest.json_lines(p.stdout)
        self.assertEqual(len(msgs), 1, p.stdout)
        self.assertEqual([c["title"] for c in msgs[0]["contents"]],
                         ["Rust 1.90 release", "긴급 보안 패치"])

    def test_when_conditions_filter_messages(self):
        self.write_page("news.html", news_page(["start"]))
        self.config("""
  - name: shop
    url: %s
    xpath: //ul[@id='news']/li/a
    keywords: [특가]
    when:
      - 'title ~ "(SSD|NVMe)"'
      - 'not title ~ "(?i)refurb" or title ~ "새상품"'
""" % self.pages.url("/news.html"))
        self.assertEqual(self.kw("once").returncode, 0)
        self.write_page("news.html", news_page(
            ["start", "특가 삼성 SSD 1TB", "특가 NVMe Refurb", "특가 HDD",
             "NVMe 2TB", "특가 NVMe refurb 새상품"]))
        p = self.kw("once")
        self.assertEqual(p.returncode, 0, p.stderr)
        msgs = kwtest.json_lines(p.stdout)
        self.assertEqual(len(msgs), 1, p.stdout)
        self.assertEqual([c["title"] for c in msgs[0]["contents"]],
                         ["특가 삼성 SSD 1TB", "특가 NVMe refurb 새상품"])

    def test_retry_after_is_honoured_on_the_next_run(self):
        self.config("""
  - name: limited
    url: %s
    xpath: //a
""" % self.pages.url("/retry-after?status=429&after=120"))
        first = self.kw("once")
        self.assertEqual(first.returncode, 1)
        self.assertIn("HTTP 429", first.stdout)
        second = self.kw("once")
        self.assertIn("limited: skipped", second.stdout)
        count = self.pages.get_json("/count?path=/retry-after")
        self.assertEqual(count["count"], 1,
                         "the second run must not fetch the page again")

    def test_named_watch_only_and_unknown_name(self):
        self.write_page("news.html", news_page(["a"]))
        self.config("""
  - name: news
    url: %s
    xpath: //ul[@id='news']/li/a
  - name: off
    url: %s
    xpath: //ul[@id='news']/li/a
    enabled: false
""" % (self.pages.url("/news.html"), self.pages.url("/news.html")))
        p = self.kw("once", "off")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("off: baseline", p.stdout)
        self.assertNotIn("news:", p.stdout)
        bad = self.kw("once", "nope")
        self.assertEqual(bad.returncode, 2)
        self.assertIn("no watch named 'nope'", bad.stderr)


if __name__ == "__main__":
    kwtest.main()
