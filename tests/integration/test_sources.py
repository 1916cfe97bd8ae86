"""Feeds, XML APIs and JSON APIs as first-class sources (issue 13).

`kakaowatch run` watches a Naver-blog-style RSS feed, a GitHub-style Atom
feed (no xpath for either), a data.go.kr-style XML API and a JSON API,
all on the loopback page server, delivering to the strict fake Kakao.
Each new entry is reported exactly once, with its title and a working
(absolute) link; a feed that turns into an HTML error page is a failed
check, not "everything removed". `test` says which parser it used and
`check` reports a bad jq program at FILE:LINE:COL.
"""
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import kwtest  # noqa: E402
from kwtest import Env, wait_until  # noqa: E402


def rss(posts):
    items = "".join(
        "<item><title><![CDATA[%s]]></title>"
        "<link><![CDATA[https://blog.naver.com/tastytrip/%s"
        "?fromRss=true&trackingCode=rss]]></link>"
        "<guid><![CDATA[https://blog.naver.com/tastytrip/%s]]></guid>"
        "<description><![CDATA[<p>%s</p>]]></description>"
        "<pubDate>Tue, 01 Dec 2026 21:10:00 +0900</pubDate></item>"
        % (t, n, n, t) for n, t in posts)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0">'
            '<channel><title>blog</title>'
            '<link>https://blog.naver.com/tastytrip</link>%s'
            '</channel></rss>' % items)


def atom(tags):
    entries = "".join(
        '<entry><id>tag:github.com,2008:Repository/1/%s</id>'
        '<updated>2026-11-06T07:14:03Z</updated>'
        '<link rel="alternate" type="text/html" href="tag/%s"/>'
        '<title>%s</title></entry>' % (t, t, t) for t in tags)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<feed xmlns="http://www.w3.org/2005/Atom" '
            'xml:base="%s">'
            '<id>x</id><title>Release notes</title>%s</feed>'
            % ("RELEASES_BASE", entries))


def g2b(bids):
    items = "".join(
        "<item><bidNtceNo>%s</bidNtceNo><bidNtceNm>%s</bidNtceNm>"
        "<bidNtceDtlUrl>/ep/bidInfoDtl.do?bidno=%s</bidNtceDtlUrl></item>"
        % (n, t, n) for n, t in bids)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<response><header>'
            '<resultCode>00</resultCode></header><body><items>%s</items>'
            '</body></response>' % items)


def cafe(articles):
    import json
    return json.dumps({"message": {"result": {"articleList": [
        {"articleId": n, "subject": t, "url": "/articles/%d" % n}
        for n, t in articles]}}}, ensure_ascii=False)


class SourcesTest(kwtest.DaemonCase):

    def write_sources(self, e, blog, releases, bids, articles):
        self.write_page("rss/tastytrip.xml", rss(blog))
        self.write_page("curl/releases.atom", atom(releases).replace(
            "RELEASES_BASE", self.pages.url("/curl/releases/")))
        self.write_page("api/bids.xml", g2b(bids))
        self.write_page("api/articles.json", cafe(articles))

    def test_run_reports_each_new_entry_once_with_title_and_link(self):
        e = Env(self, "env", self.pages)
        self.write_sources(
            e, [("100", "을지로 냉면")], ["v1.0"],
            [("2026001", "청사 청소용역")], [(1, "아이폰 팝니다")])
        e.write_config([])
        with open(e.config, "a") as f:
            f.write("""  - name: blog
    url: %s
  - name: releases
    url: %s
  - name: bids
    url: %s
    xpath: //item
    title: bidNtceNm
    link: bidNtceDtlUrl
  - name: cafe
    url: %s
    jq: '.message.result.articleList[] | {title: .subject, link: .url, key: .articleId}'
""" % (self.pages.url("/rss/tastytrip.xml"),
       self.pages.url("/curl/releases.atom"),
       self.pages.url("/api/bids.xml"),
       self.pages.url("/api/articles.json")))
        chk = self.kw("check", config=e.config, env=e.env)
        self.assertEqual(chk.returncode, 0, chk.stderr)
        e.auth()
        d = e.run("-v")
        for name in ("blog", "releases", "bids", "cafe"):
            d.wait_log(r"check: %s: baseline stored \(1 items\)" % name)
        # one new entry each; two blog posts share a title (distinct guid)
        self.write_sources(
            e, [("101", "오늘의 점심"), ("102", "오늘의 점심"),
                ("100", "을지로 냉면")],
            ["v1.1", "v1.0"],
            [("2026002", "전산장비 구매"), ("2026001", "청사 청소용역")],
            [(2, "맥북 에어"), (1, "아이폰 팝니다")])
        wait_until(lambda: len(e.messages()) >= 4, 20, "four messages")
        for name in ("blog", "releases", "bids", "cafe"):
            d.wait_checks(name)  # more checks: nothing is reported twice
        msgs = e.messages()
        by = {}
        for m in msgs:
            text = m.get("text") or m.get("header_title") or ""
            name = text.split(":")[0]
            by.setdefault(name, []).append(m)
        self.assertEqual(sorted(by), ["bids", "blog", "cafe", "releases"],
                         msgs)
        for name, ms in by.items():
            self.assertEqual(len(ms), 1, "%s reported once: %s" % (name, ms))
        blog = by["blog"][0]
        self.assertIn("2 new", blog.get("text", "") +
                      blog.get("header_title", ""))
        links = str(blog)
        self.assertIn("https://blog.naver.com/tastytrip/101?fromRss=true",
                      links)
        self.assertIn("https://blog.naver.com/tastytrip/102?fromRss=true",
                      links)
        rel = str(by["releases"][0])
        self.assertIn("v1.1", rel)
        self.assertIn(self.pages.url("/curl/releases/tag/v1.1"), rel)
        bids = str(by["bids"][0])
        self.assertIn("전산장비 구매", bids)
        self.assertIn(self.pages.url("/ep/bidInfoDtl.do?bidno=2026002"),
                      bids)
        caf = str(by["cafe"][0])
        self.assertIn("맥북 에어", caf)
        self.assertIn(self.pages.url("/articles/2"), caf)

        # the JSON API answers with an HTML error page: a failure too
        self.write_page("api/articles.json",
                        "<html><body>502 Bad Gateway</body></html>")
        d.wait_log(r"check: cafe: failed: .*(not JSON|expected JSON)")
        self.assertEqual(e.watch_status("cafe")["items"], 2)

        # the feed turns into an HTML error page: a failure, no "removed"
        self.write_page("rss/tastytrip.xml",
                        "<html><body><h1>점검 중</h1></body></html>")
        d.wait_log(r"check: blog: failed: .*HTML")
        st = e.watch_status("blog")
        self.assertEqual(st["items"], 3, "the snapshot is kept")
        self.assertEqual(len(e.messages()), len(msgs))
        rc, _ = d.stop()
        self.assertEqual(rc, 0, d.log())

    def test_test_command_names_the_parser(self):
        self.write_page("feed.xml", rss([("1", "첫 글")]))
        self.write_page("list.json", cafe([(7, "자전거")]))
        self.write_config("""
state_dir: %s
watches:
  - name: feed
    url: %s
  - name: json
    url: %s
    jq: '.message.result.articleList[] | {title: .subject, link: .url}'
""" % (self.state, self.pages.url("/feed.xml"),
       self.pages.url("/list.json")))
        p = self.kw("test", "feed")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("parser: feed", p.stdout)
        self.assertIn("1. 첫 글", p.stdout)
        self.assertIn("https://blog.naver.com/tastytrip/1?fromRss=true",
                      p.stdout)
        p = self.kw("test", "json")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("parser: json", p.stdout)
        self.assertIn("1. 자전거", p.stdout)
        self.assertIn(self.pages.url("/articles/7"), p.stdout)
        # an HTML error page where JSON was expected
        err = os.path.join(self.tmp, "error.html")
        with open(err, "w") as f:
            f.write("<html><body><h1>502 Bad Gateway</h1></body></html>")
        p = self.kw("test", "--file", err, "--jq", ".[]")
        self.assertEqual(p.returncode, 1, p.stdout)
        self.assertIn("expected JSON for the jq program, got an HTML page",
                      p.stderr)

    def test_find_says_a_feed_needs_no_xpath(self):
        self.write_page("feed.xml", rss([("1", "첫 글"), ("2", "둘째 글")]))
        self.write_page("list.json", cafe([(7, "자전거")]))
        self.write_config("watches: [{name: x, url: http://x/, "
                          "xpath: //a}]\n")
        p = self.kw("find", self.pages.url("/feed.xml"), "첫")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("parser: feed", p.stdout)
        self.assertIn("a feed of 2 entries: no xpath needed", p.stdout)
        self.assertIn("parser: feed\n", p.stdout.split("add it as:")[1])
        self.assertNotIn("xpath: /", p.stdout)
        p = self.kw("find", self.pages.url("/list.json"), "자전거")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("parser: json", p.stdout)
        self.assertIn("jq:", p.stdout)

    def test_changing_the_jq_program_rebaselines_silently(self):
        self.write_page("list.json", cafe([(1, "자전거"), (2, "킥보드")]))
        conf = """
state_dir: %s
kakao: {sink: stdout}
watches:
  - name: market
    url: %s
    jq: '%s'
"""
        url = self.pages.url("/list.json")
        self.write_config(conf % (self.state, url,
                                  ".message.result.articleList[].subject"))
        first = self.kw("once")
        self.assertEqual(first.returncode, 0, first.stderr)
        self.assertIn("market: baseline stored (2 items)", first.stdout)
        # other titles from the same document: other items, no flood
        self.write_config(conf % (
            self.state, url,
            ".message.result.articleList[] | \"#\\(.articleId) \\(.subject)\""))
        second = self.kw("once")
        self.assertEqual(second.returncode, 0, second.stderr)
        self.assertIn("market: baseline stored (2 items)", second.stdout)
        self.assertNotIn("new", second.stdout)
        self.write_page("list.json", cafe([(3, "헬멧"), (1, "자전거"),
                                           (2, "킥보드")]))
        third = self.kw("once")
        self.assertIn("market: 1 new", third.stdout)
        self.assertIn("#3 헬멧", third.stdout)

    def test_check_reports_bad_jq_and_parser_at_their_position(self):
        path = self.write_config("""watches:
  - name: a
    url: https://example.org/a.json
    jq: '.items[] | {title: .name'
  - name: b
    url: https://example.org/b
    parser: rss
    xpath: //a
  - name: c
    url: https://example.org/c.json
    jq: |
      .items[]
      | {title: .name
      | .x
""")
        p = self.kw("check")
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        self.assertRegex(p.stderr, re.escape(path) +
                         r":4:9: watch 'a': jq: .*syntax error")
        self.assertRegex(p.stderr, re.escape(path) +
                         r":7:13: watch 'b': parser: .*auto, html, xml, "
                         r"feed or json")
        # line 3 of a block program is line 14 of the file, column 7
        self.assertRegex(p.stderr, re.escape(path) +
                         r":14:7: watch 'c': jq: syntax error")

    def test_check_reports_source_key_errors(self):
        path = self.write_config("""watches:
  - name: ns
    url: https://example.org/a.xml
    namespaces: { n: "urn:x", 1bad: "urn:y" }
    xpath: //n:item
  - name: prefix
    url: https://example.org/b.xml
    xpath: //m:item
    title: m:subject
  - name: html-no-xpath
    url: https://example.org/c
    parser: html
  - name: json-xpath
    url: https://example.org/d.json
    parser: json
    xpath: //a
    jq: .[]
  - name: good
    url: https://example.org/e.xml
    namespaces: { m: "urn:m" }
    xpath: //m:item
    title: m:subject
    link: "@href"
""")
        p = self.kw("check")
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        err = p.stderr
        self.assertRegex(err, re.escape(path) + r":4:31: watch 'ns': "
                         r"namespaces: '1bad' is not a usable namespace "
                         r"prefix")
        self.assertNotIn(":5:12:", err)  # no follow-up error
        self.assertRegex(err, re.escape(path) + r":8:12: watch 'prefix': "
                         r"bad xpath '//m:item': undefined namespace "
                         r"prefix 'm'")
        self.assertRegex(err, re.escape(path) + r":9:12: watch 'prefix': "
                         r"bad title 'm:subject': undefined namespace")
        self.assertRegex(err, re.escape(path) + r":10:5: watch "
                         r"'html-no-xpath': missing required key 'xpath'")
        self.assertRegex(err, re.escape(path) + r":16:12: watch "
                         r"'json-xpath': xpath: not used with parser: json")
        self.assertNotIn("'good'", err)


if __name__ == "__main__":
    kwtest.main()
