"""Messages worth opening (issue 17): `message:` templates, pictures, and
`kakaowatch test NAME --messages`, against the strict fake Kakao on
loopback. The expected texts are written out here from the page the test
serves, not taken from kakaowatch's own output; what the preview prints is
compared with what the fake received, byte for byte.
"""
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import kwtest  # noqa: E402


def board(rows):
    """A hot-deal board: (title, href) rows."""
    return "<html><body><ul>%s</ul></body></html>" % "".join(
        '<li><a href="%s">%s</a></li>' % (href, title)
        for title, href in rows)


class MessagesTest(kwtest.DaemonCase):

    def test_templates_preview_equals_what_kakao_receives(self):
        e = self.env()
        self.write_page("deals.html", board([("seed", "/seed")]))
        e.write_config([("deals", "/deals.html", """    exclude: [seed]
    message:
      title: '{title} ({link})'
      description: '{name} · {{핫딜}}'
      header: '[{name}] {count}개 {change}'
""")])
        e.auth()
        p = self.kw("once", env=e.env, config=e.config)
        self.assertEqual(p.returncode, 0, p.stderr)  # the baseline
        rows = [("삼성 990 PRO 2TB", "/d/1"), ("WD SN850X", "/d/2"),
                ("seed", "/seed")]
        self.write_page("deals.html", board(rows))
        preview, _ = e.preview("deals")
        self.assertEqual(e.messages(), [], "the preview sends nothing")
        # the preview changed no state: once still sees the two as new
        p = self.kw("once", env=e.env, config=e.config)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(e.sent_raw(), preview)
        (msg,) = e.messages()
        self.assertEqual(msg["object_type"], "list")
        self.assertEqual(msg["header_title"], "[deals] 2개 new")
        link = self.pages.url("/d/1")
        self.assertEqual(msg["contents"][0]["title"],
                         "삼성 990 PRO 2TB (%s)" % link)
        self.assertEqual(msg["contents"][0]["description"], "deals · {핫딜}")
        self.assertEqual(msg["contents"][1]["link"]["web_url"],
                         self.pages.url("/d/2"))

    def test_default_messages_read_as_they_always_did(self):
        e = self.env()
        self.write_page("b.html", board([("one", "/1")]))
        e.write_config([("board", "/b.html", "    notify_on: [added, "
                         "removed]\n")])
        e.auth()
        self.assertEqual(self.kw("once", env=e.env,
                                 config=e.config).returncode, 0)
        self.write_page("b.html", board([("two", "/2")]))
        p = self.kw("once", env=e.env, config=e.config)
        self.assertEqual(p.returncode, 0, p.stderr)
        texts = sorted(m["text"] for m in e.messages())
        self.assertEqual(texts, ["board: 1 new\ntwo",
                                 "board: 1 removed\none"])

    def test_a_queued_message_survives_a_restart_as_previewed(self):
        e = self.env()
        self.write_page("deals.html", board([("seed", "/seed")]))
        e.write_config([("deals", "/deals.html", """    exclude: [seed]
    message:
      title: '특가 {title}'
      header: '{name} {count}건'
""")])
        e.auth()
        self.assertEqual(self.kw("once", env=e.env,
                                 config=e.config).returncode, 0)
        self.write_page("deals.html", board([("seed", "/seed"),
                                             ("A", "/a"), ("B", "/b"),
                                             ("C", "/c")]))
        preview, _ = e.preview("deals")
        e.fail(status=500, count=1000)
        p = self.kw("once", env=e.env, config=e.config)
        self.assertEqual(e.sent_raw(), [], p.stderr)
        self.assertEqual(e.status_json()["outbox"]["pending"], 1)
        # the templates change meanwhile; the queued message does not
        with open(e.config) as f:
            cfg = f.read().replace("특가 {title}", "{title}!")
        with open(e.config, "w") as f:
            f.write(cfg)
        urllib.request.urlopen(urllib.request.Request(
            e.kakao.url("/_control/fail"), method="DELETE"), timeout=10)
        p = self.kw("once", "--force", env=e.env, config=e.config)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(e.sent_raw(), preview)
        self.assertEqual([c["title"] for c in e.messages()[0]["contents"]],
                         ["특가 A", "특가 B", "특가 C"])

    def test_unknown_placeholder_is_a_config_error_at_its_column(self):
        e = self.env()
        e.write_config([("deals", "/deals.html", """    message:
      title: '{title} · {prise}'
""")])
        p = self.kw("check", env=e.env, config=e.config)
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        # the line of `title:` in the file, and the column of `{prise}`
        with open(e.config) as f:
            lines = f.read().split("\n")
        line = [i for i, l in enumerate(lines) if "{prise}" in l][0]
        col = lines[line].index("{prise}")
        self.assertIn("%s:%d:%d: watch 'deals': message.title: unknown "
                      "placeholder '{prise}'" % (e.config, line + 1,
                                                 col + 1), p.stderr)

    # ---- pictures (fields: image) ----

    def test_hot_deals_with_pictures_reach_kakao_as_lists_and_a_feed(self):
        """The issue's hot-deal watch: only deals under 100,000원 arrive,
        each line with its price and shop, with the product's picture."""
        e = self.env()

        def deal(title, href, price, shop, img):
            return ('<li><a href="%s">%s</a><span class="p">%s'
                    '</span><span class="s">%s</span>%s</li>' % (
                        href, title, price, shop,
                        '<img class="thumb" src="%s">' % img if img else ""))
        seed = deal("seed", "/seed", "1원", "x", None)
        self.write_page("hot.html", "<html><body><ul>%s</ul></body></html>"
                        % seed)
        e.write_config([("hot", "/hot.html", """    exclude: [seed]
    fields:
      price: "../span[@class='p']"
      shop: "../span[@class='s']"
      image: "../img[@class='thumb']"
    when: 'price <= 100000'
    message:
      title: '{title} · {price}'
      description: '{shop}'
""")])
        e.auth()
        self.assertEqual(self.kw("once", env=e.env,
                                 config=e.config).returncode, 0)
        rows = [deal("SSD 1TB", "/d/1", "89,000원", "11번가", "/img/1.jpg"),
                deal("SSD 4TB", "/d/4", "329,000원", "G마켓", "/img/4.jpg"),
                deal("USB 64GB", "/d/2", "9,900원", "쿠팡", None),
                deal("NVMe 2TB", "/d/3", "₩99,000", "옥션", "/img/3.png"),
                seed]
        self.write_page("hot.html", "<html><body><ul>%s</ul></body></html>"
                        % "".join(rows))
        preview, _ = e.preview("hot")
        p = self.kw("once", env=e.env, config=e.config)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(e.sent_raw(), preview)
        counts = e.kakao.get_json("/_control/tokens")
        self.assertEqual(counts["rejected_sends"], 0)
        (msg,) = e.messages()
        self.assertEqual(msg["object_type"], "list")
        self.assertEqual(msg["header_title"], "hot: 3 new")
        got = [(c["title"], c.get("description"), c.get("image_url"))
               for c in msg["contents"]]
        self.assertEqual(got, [
            ("SSD 1TB · 89,000원", "11번가", self.pages.url("/img/1.jpg")),
            ("USB 64GB · 9,900원", "쿠팡", None),
            ("NVMe 2TB · ₩99,000", "옥션", self.pages.url("/img/3.png"))])
        # one more deal with a picture: a feed template, accepted too
        rows.insert(0, deal("RAM 32GB", "/d/5", "79,000원", "SSG",
                            "/img/5.webp"))
        self.write_page("hot.html", "<html><body><ul>%s</ul></body></html>"
                        % "".join(rows))
        p = self.kw("once", env=e.env, config=e.config)
        self.assertEqual(p.returncode, 0, p.stderr)
        feed = e.messages()[-1]
        self.assertEqual(feed["object_type"], "feed")
        self.assertEqual(feed["content"]["title"], "RAM 32GB · 79,000원")
        self.assertEqual(feed["content"]["description"], "hot: 1 new\nSSG")
        self.assertEqual(feed["content"]["image_url"],
                         self.pages.url("/img/5.webp"))
        self.assertEqual(feed["content"]["link"]["web_url"],
                         self.pages.url("/d/5"))
        self.assertEqual(
            e.kakao.get_json("/_control/tokens")["rejected_sends"], 0)

    def test_feed_entries_show_their_pictures_and_authors(self):
        """A feed's built-in image and author, with no fields: at all."""
        e = self.env()

        def rss(entries):
            items = "".join(
                '<item><title>%s</title><link>%s</link><guid>%s</guid>'
                '<dc:creator>%s</dc:creator>%s</item>' % (
                    t, self.pages.url(h), h, a,
                    '<media:thumbnail url="%s"/>' % img if img else "")
                for t, h, a, img in entries)
            return ('<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"'
                    ' xmlns:dc="http://purl.org/dc/elements/1.1/"'
                    ' xmlns:media="http://search.yahoo.com/mrss/">'
                    '<channel><title>t</title>%s</channel></rss>' % items)
        old = ("old", "/p/0", "관리자", None)
        self.write_page("feed.xml", rss([old]))
        e.write_config([("blog", "/feed.xml", """    parser: feed
    exclude: [old]
    message:
      description: '{author}'
""")])
        # a feed needs no xpath: (Env writes one for HTML boards)
        with open(e.config) as f:
            text = f.read().replace("    xpath: //li/a\n", "")
        with open(e.config, "w") as f:
            f.write(text)
        e.auth()
        self.assertEqual(self.kw("once", env=e.env,
                                 config=e.config).returncode, 0)
        self.write_page("feed.xml", rss([
            ("새 글", "/p/1", "김철수", self.pages.url("/i/1.jpg")),
            ("둘째 글", "/p/2", "이영희", "/i/2.png"), old]))
        preview, _ = e.preview("blog")
        p = self.kw("once", env=e.env, config=e.config)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(e.sent_raw(), preview)
        (msg,) = e.messages()
        got = [(c["title"], c.get("description"), c.get("image_url"))
               for c in msg["contents"]]
        # a relative thumbnail resolves against the feed's URL
        self.assertEqual(got, [
            ("새 글", "김철수", self.pages.url("/i/1.jpg")),
            ("둘째 글", "이영희", self.pages.url("/i/2.png"))])
        self.assertEqual(
            e.kakao.get_json("/_control/tokens")["rejected_sends"], 0)

    # ---- the fake's template rules ----

    def post_template(self, e, tpl):
        with open(e.token_file) as f:
            access = json.load(f)["access_token"]
        body = urllib.parse.urlencode(
            {"template_object": json.dumps(tpl, ensure_ascii=False)})
        req = urllib.request.Request(
            e.kakao.url("/v2/api/talk/memo/default/send"),
            data=body.encode(), headers={
                "Authorization": "Bearer " + access,
                "Content-Type": "application/x-www-form-urlencoded;"
                                "charset=utf-8"})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.loads(r.read().decode())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read().decode())

    def test_fake_kakao_refuses_pictures_that_are_no_web_urls(self):
        e = self.env()
        e.write_config([("deals", "/deals.html", "")])
        e.auth()
        link = {"web_url": "https://d.example/1",
                "mobile_web_url": "https://d.example/1"}

        def lst(url):
            return {"object_type": "list", "header_title": "h",
                    "header_link": link,
                    "contents": [{"title": "a", "image_url": url,
                                  "link": link},
                                 {"title": "b", "link": link}]}
        status, ans = self.post_template(e, lst("https://img.example/a.jpg"))
        self.assertEqual((status, ans), (200, {"result_code": 0}))
        for bad in ("/a.jpg", "javascript:alert(1)", "img.example/a.jpg",
                    "https://img.example/a b.jpg", 7):
            status, ans = self.post_template(e, lst(bad))
            self.assertEqual((status, ans["code"]), (400, -2), bad)
            self.assertIn("image_url", ans["msg"])
        feed = {"object_type": "feed",
                "content": {"title": "a", "image_url": "ftp://x/a.jpg",
                            "link": link}}
        status, ans = self.post_template(e, feed)
        self.assertEqual((status, ans["code"]), (400, -2))
        self.assertIn("feed.content.image_url", ans["msg"])
        feed["content"]["image_url"] = "http://img.example/a.jpg"
        feed["content"]["image_width"] = 0
        status, ans = self.post_template(e, feed)
        self.assertEqual((status, ans["code"]), (400, -2))
        self.assertIn("image_width", ans["msg"])
        del feed["content"]["image_width"]
        self.assertEqual(self.post_template(e, feed)[0], 200)


if __name__ == "__main__":
    kwtest.main()
