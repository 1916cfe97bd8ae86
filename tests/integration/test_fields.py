"""fields: and when: over them, end to end (issue 17).

A hot-deal board on a loopback page server, a watch with
`fields: {price: ...}` and `when: price <= 100000`: `once` sends only the
deals under the price to the strict fake Kakao (auth by --code first), a
deal whose price is "가격문의" or missing is not sent, and a later deal is
judged on its own price. `kakaowatch test NAME` prints each item's fields
and says per item why `when` does not hold; `check` names an unknown field
at FILE:LINE:COL.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import kwtest  # noqa: E402

CLIENT_ID = "test-rest-api-key-0123"
SECRET = "client-secret-4567-abcdef"


def board(deals):
    """A board like fmkorea's: (id, title, shop, price or None) rows."""
    rows = []
    for n, title, shop, price in deals:
        info = '<span>쇼핑몰: <a class="strong">%s</a></span>' % shop
        if price is not None:
            info += ' / <span class="price">가격: <b>%s</b></span>' % price
        rows.append('<li class="deal"><h3><a href="/deal/%d">%s</a></h3>'
                    '<div class="info">%s</div>'
                    '<img class="thumb" src="/blank.gif" '
                    'data-original="/img/%d.jpg"></li>' % (n, title, info, n))
    return ('<html><head><meta charset="utf-8"></head><body>'
            '<ul id="deals">%s</ul></body></html>' % "".join(rows))


class Fields(kwtest.KwTestCase):

    def setUp(self):
        super().setUp()
        self.start_kakao_auth(CLIENT_ID, SECRET)
        self.pages = self.start_pages()

    def write_watches(self, watch):
        return self.write_config("""
state_dir: %s
%s  min_refresh_interval: 0s
max_messages_per_check: 10
watches:
%s""" % (self.state, self.kakao_yaml(), watch))

    def hotdeal(self):
        return self.write_watches("""  - name: hotdeal
    url: %s
    css: "ul#deals > li.deal"
    title: ".//h3/a"
    fields:
      shop: ".//div[@class='info']/span[1]/a"
      price: { css: "span.price > b" }
      image: { css: img.thumb }
    when: 'price <= 100000'
""" % self.pages.url("/board.html"))

    def auth(self):
        code = self.kakao.post_json("/_control/issue-code",
                                    {"redirect_uri": self.redirect})["code"]
        p = self.kw("auth", "--code", code, env=self.env)
        self.assertEqual(p.returncode, 0, p.stderr)

    ALL = ["기존 딜", "삼성 SSD 1TB", "LG 모니터 27인치", "무선 이어폰",
           "USB 허브", "기계식 키보드", "마우스패드", "노트북 파우치",
           "로봇청소기"]

    def sent_titles(self):
        """The deals named anywhere in the messages Kakao received (list,
        text or feed template alike)."""
        texts = []

        def walk(v):
            if isinstance(v, str):
                texts.append(v)
            elif isinstance(v, dict):
                for x in v.values():
                    walk(x)
            elif isinstance(v, list):
                for x in v:
                    walk(x)

        for m in self.kakao.get_json("/_control/messages")["messages"]:
            walk(m["template_object"])
        return sorted(t for t in self.ALL if any(t in s for s in texts))

    def test_only_deals_under_the_price_are_sent(self):
        self.write_page("board.html", board([(1, "기존 딜", "G마켓", "5,000원")]))
        self.hotdeal()
        self.auth()
        p = self.kw("once", env=self.env)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.sent_titles(), [], "the baseline is silent")
        self.write_page("board.html", board([
            (2, "삼성 SSD 1TB", "11번가", "89,000원"),
            (3, "LG 모니터 27인치", "쿠팡", "219,000원"),
            (4, "무선 이어폰", "네이버", "가격문의"),
            (5, "USB 허브", "G마켓", None),
            (6, "기계식 키보드", "옥션", "10만원"),
            (7, "마우스패드", "지마켓", "₩9,900"),
            (1, "기존 딜", "G마켓", "5,000원"),
        ]))
        p = self.kw("once", env=self.env)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(sorted(self.sent_titles()),
                         sorted(["삼성 SSD 1TB", "기계식 키보드", "마우스패드"]))
        # a new deal is judged on its own price; the old ones are not resent
        self.write_page("board.html", board([
            (8, "노트북 파우치", "쿠팡", "12,000원"),
            (9, "로봇청소기", "쿠팡", "399,000원"),
            (2, "삼성 SSD 1TB", "11번가", "89,000원"),
        ]))
        p = self.kw("once", env=self.env)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(sorted(self.sent_titles()),
                         sorted(["삼성 SSD 1TB", "기계식 키보드", "마우스패드",
                                 "노트북 파우치"]))

    def test_test_prints_fields_and_why_when_does_not_hold(self):
        self.write_page("board.html", board([
            (2, "삼성 SSD 1TB", "11번가", "89,000원"),
            (3, "LG 모니터", "쿠팡", "219,000원"),
            (4, "무선 이어폰", "네이버", "가격문의"),
            (5, "USB 허브", "G마켓", None),
        ]))
        self.hotdeal()
        p = self.kw("test", "hotdeal", env=self.env)
        self.assertEqual(p.returncode, 0, p.stderr)
        img = self.pages.url("/img/2.jpg")
        self.assertIn("1. 삼성 SSD 1TB\n   %s\n   shop: 11번가\n"
                      "   price: 89,000원\n   image: %s\n"
                      % (self.pages.url("/deal/2"), img), p.stdout)
        self.assertIn("   when: yes\n", p.stdout)
        self.assertIn("   when: no (price <= 100000 is false)\n", p.stdout)
        self.assertIn("   when: no (price <= 100000: price '가격문의' is not "
                      "a number)\n", p.stdout)
        self.assertIn("   when: no (price <= 100000: field 'price' is "
                      "missing)\n", p.stdout)
        self.assertEqual(p.stdout.count("   when: "), 4, p.stdout)

    def test_check_names_an_unknown_field_at_its_position(self):
        path = self.write_watches("""  - name: hotdeal
    url: http://127.0.0.1:1/
    xpath: //li
    fields:
      price: ".//b"
    when:
      - 'price <= 100000'
      - 'shop == "쿠팡" or prise < 5'
""")
        p = self.kw("check", env=self.env)
        self.assertNotEqual(p.returncode, 0)
        line, col = self.where(path, "shop ==")
        self.assertIn("%s:%d:%d: watch 'hotdeal': when: unknown field "
                      "'shop' (known: title, link, price" % (path, line, col),
                      p.stderr)
        # one error: the first unknown name of each condition
        self.assertEqual(p.stderr.count("unknown field"), 1, p.stderr)
        path = self.write_watches("""  - name: hotdeal
    url: http://127.0.0.1:1/
    xpath: //li
    fields:
      price: ".//b"
      count: ".//i"
""")
        p = self.kw("check", env=self.env)
        self.assertNotEqual(p.returncode, 0)
        line, col = self.where(path, "count:")
        self.assertIn("%s:%d:%d: watch 'hotdeal': fields: 'count' is "
                      "reserved" % (path, line, col), p.stderr)

    @staticmethod
    def where(path, text):
        """1-based line and column of `text` in the file at `path`."""
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if text in line:
                    return n, line.index(text) + 1
        raise AssertionError("%r not in %s" % (text, path))


if __name__ == "__main__":
    kwtest.main()
