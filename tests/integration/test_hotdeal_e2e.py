"""Issue 17's "done when", tried as a new user would, end to end.

One hot-deal watch on a loopback board with Korean prices (`12,900원`,
`1.2만원`, `₩99,000`, `가격문의`), shops and pictures, read with `fields:`,
filtered by `when: price <= 100000`, written with a `message:` template
whose description is `{price} · {shop}`, under `quiet_hours: 23:00-07:00`
Korea time; `kakaowatch run` under libfaketime (kwtest.FakeClockCase) against
the strict fake Kakao:

- at noon a change delivers ONE list with only the cheap deals, each
  content with its price · shop line, its picture and its link; the
  preview (`test hot --messages`) is byte for byte what Kakao received;
- deals posted at 23:30 and 02:00 are held (nothing arrives);
- after 07:00 exactly ONE digest arrives with exactly the cheap night deals,
  each still with its picture, link and price · shop line
  (docs/design.md §2.8), and nothing else follows.

Expected texts are written out here from the page the test serves. Every
wait polls with a deadline. Skips cleanly without libfaketime.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import kwtest  # noqa: E402

wait_until = kwtest.wait_until

WATCH = """    fields:
      price: "../span[@class='price']"
      shop: "../span[@class='shop']"
      image: "../img[@class='thumb']"
    when: 'price <= 100000'
    message:
      title: '{title}'
      description: '{price} · {shop}'
"""


def board(deals):
    """A hot-deal board: (slug, title, price, shop, picture or None)."""
    rows = "".join(
        '<li><a href="/deal/%s">%s</a> <span class="price">%s</span>'
        '<span class="shop">%s</span>%s</li>' % (
            slug, title, price, shop,
            '<img class="thumb" src="/img/%s">' % img if img else "")
        for slug, title, price, shop, img in deals)
    return ("<html><head><meta charset='utf-8'><title>핫딜</title></head>"
            "<body><ul class='hotdeal'>%s</ul></body></html>" % rows)


# the board, newest first; the cheap ones are <= 100,000원
OLD = [("1", "RTX 4090 그래픽카드", "2,390,000원", "컴퓨존", "1.jpg"),
       ("2", "공기청정기 문의", "가격문의", "하이마트", "2.jpg")]
DAY = [("3", "삼성 990 PRO 1TB", "12,900원", "쿠팡", "3.jpg"),
       ("4", "LG 27인치 모니터", "329,000원", "G마켓", "4.jpg"),
       ("5", "USB-C 케이블 3개", "1.2만원", "11번가", "5.png"),
       ("6", "기계식 키보드", "₩99,000", "옥션", "6.webp")]
NIGHT1 = [("7", "샌디스크 SD카드 256GB", "15,900원", "SSG", "7.jpg"),
          ("8", "맥북 프로 14", "1,290,000원", "애플", "8.jpg")]
NIGHT2 = [("9", "고속 충전기 65W", "2.5만원", "네이버", "9.jpg"),
          ("10", "OLED TV 65인치", "가격문의", "롯데ON", "10.jpg"),
          ("11", "멀티탭 6구", "3,500원", "다이소", "11.jpg")]


class HotDealEndToEnd(kwtest.FakeClockCase):

    def expect(self, deals):
        """The list contents Kakao must get for these deals."""
        out = []
        for slug, title, price, shop, img in deals:
            link = self.pages.url("/deal/" + slug)
            out.append({"title": title,
                        "description": "%s · %s" % (price, shop),
                        "image_url": self.pages.url("/img/" + img),
                        "link": {"web_url": link, "mobile_web_url": link}})
        return out

    def pending(self, e):
        p = self.kw("status", "--json", env=e.env, config=e.config)
        self.assertEqual(p.returncode, 0, p.stderr)
        return json.loads(p.stdout)["outbox"]["pending"]

    def rejected(self, e):
        return e.kakao.get_json("/_control/tokens")["rejected_sends"]

    def test_cheap_deals_by_day_and_one_morning_digest(self):
        e = self.env()
        self.write_page("hot.html", board(OLD))
        e.write_config([("hot", "/hot.html", WATCH)],
                       extra="quiet_hours: '23:00-07:00'\n"
                             "timezone: Asia/Seoul")
        p = self.kw("check", env=e.env, config=e.config)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        e.auth()
        self.on_fake_clock(e)

        # noon: only the cheap deals, each with price · shop and picture
        self.clock.set_kst("2026-12-01 12:00:00")
        d = e.run("-v")
        d.wait_log(r"check: hot: baseline stored", timeout=60)
        self.write_page("hot.html", board(DAY + OLD))
        wait_until(lambda: e.messages(), 60, "the noon deals")
        (msg,) = e.messages()
        self.assertEqual(msg["object_type"], "list", msg)
        self.assertEqual(msg["header_title"], "hot: 3 new")
        cheap = [DAY[0], DAY[2], DAY[3]]
        self.assertEqual(msg["contents"], self.expect(cheap))
        self.assertEqual(self.rejected(e), 0)
        # the preview shows the very template object that was sent
        raw, out = e.preview("hot")
        self.assertEqual(len(raw), 1, out)
        self.assertEqual(raw, e.sent_raw(), out)
        # and says why the others do not match
        self.assertIn("price '가격문의' is not a number", out)
        self.assertIn("price <= 100000 is false", out)

        # 23:30 and 02:00: checks go on, nothing arrives
        self.clock.set_kst("2026-12-01 23:30:00")
        self.write_page("hot.html", board(NIGHT1 + DAY + OLD))
        d.wait_log(r"outbox: 1 message held for quiet hours until 07:00 "
                   r"\(Asia/Seoul\)", timeout=60)
        self.clock.set_kst("2026-12-02 02:00:00")
        self.write_page("hot.html", board(NIGHT2 + NIGHT1 + DAY + OLD))
        wait_until(lambda: self.pending(e) == 2, 60, "two held messages")
        d.wait_checks("hot", 2, timeout=60)
        self.assertEqual(len(e.messages()), 1, e.items())
        self.assertEqual(self.pending(e), 2)

        # 07:00: one digest with exactly the cheap night deals
        self.clock.set_kst("2026-12-02 07:00:01")
        wait_until(lambda: len(e.messages()) >= 2, 90, "the digest")
        wait_until(lambda: self.pending(e) == 0, 60, "an empty outbox")
        d.wait_log(r"outbox: 2 messages made in quiet hours 23:00-07:00 "
                   r"folded into one digest", timeout=30)
        d.wait_checks("hot", 2, timeout=60)
        msgs = e.messages()
        self.assertEqual(len(msgs), 2, msgs)
        digest = msgs[1]
        self.assertEqual(digest["object_type"], "list", digest)
        self.assertEqual(digest["header_title"],
                         "Quiet hours 23:00-07:00: 3 items from hot")
        self.assertEqual(digest["contents"],
                         self.expect([NIGHT1[0], NIGHT2[0], NIGHT2[2]]))
        self.assertEqual(self.rejected(e), 0)
        self.assert_no_secrets(kwtest.CLIENT_ID)


if __name__ == "__main__":
    kwtest.main()
