"""Quiet hours (issue 17), with a controlled clock.

`kakaowatch run` under Debian's libfaketime (FAKETIME_TIMESTAMP_FILE, the
monotonic clock left alone) against the strict fake Kakao: a change at
22:55 KST is delivered at once; changes at 23:30 and at 02:00 KST are held
(also across a kill -9 and a restart), while a watch with
`quiet_hours: off` still delivers at 02:00; after 07:00 the held changes
arrive as ONE digest that names every item; `status` says delivery is in
quiet hours until 07:00. `once` during the window keeps the messages and
says why, `once --force` sends them. Every wait polls with a deadline.
Skips cleanly when libfaketime is not installed.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import kwtest  # noqa: E402

page = kwtest.page
wait_until = kwtest.wait_until


class QuietHoursTest(kwtest.FakeClockCase):

    def setup_env(self):
        e = self.env()
        self.write_page("deals.html", page(["old deal"]))
        self.write_page("news.html", page(["old news"]))
        e.write_config([("deals", "/deals.html", ""),
                        ("news", "/news.html", "    quiet_hours: off\n")],
                       extra="quiet_hours: '23:00-07:00'\n"
                             "timezone: Asia/Seoul")
        e.auth()
        return self.on_fake_clock(e)

    def status(self, e):
        p = self.kw("status", env=e.env, config=e.config)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout

    def test_night_changes_arrive_as_one_digest_after_0700(self):
        e = self.setup_env()
        self.clock.set_kst("2026-12-01 22:50:00")
        d = kwtest.Daemon(self, e.config, e.env)
        d.wait_log(r"check: deals: baseline stored")
        d.wait_log(r"check: news: baseline stored")
        # before the window: delivered at once
        self.write_page("deals.html", page(["evening deal", "old deal"]))
        wait_until(lambda: "evening deal" in e.items(), 20, "22:50 change")
        self.assertEqual(len(e.messages()), 1)
        self.assertIn("quiet hours: 23:00-07:00 (Asia/Seoul)",
                      self.status(e))

        # 23:30: held
        self.clock.set_kst("2026-12-01 23:30:00")
        self.write_page("deals.html", page(["night deal 1", "evening deal",
                                            "old deal"]))
        d.wait_log(r"outbox: 1 message held for quiet hours until 07:00 "
                   r"\(Asia/Seoul\)", timeout=30)
        out = self.status(e)
        self.assertIn("delivery: in quiet hours until 07:00", out)
        self.assertIn("1 message waiting", out)
        # a restart in the night keeps it held (state in the database)
        d.kill9()
        self.clock.set_kst("2026-12-02 02:00:00")
        d = kwtest.Daemon(self, e.config, e.env)
        self.write_page("deals.html", page([
            "night deal 2 ₩12,900", "night deal 3", "night deal 1",
            "evening deal", "old deal"]))
        self.write_page("news.html", page(["night news", "old news"]))
        # the watch with quiet_hours: off delivers at 02:00
        wait_until(lambda: "night news" in e.items(), 30, "02:00 news")
        d.wait_log(r"outbox: 1 message held for quiet hours until 07:00",
                   timeout=30)
        held = wait_until(lambda: json.loads(self.kw(
            "status", "--json", env=e.env, config=e.config).stdout)
            ["outbox"]["pending"] == 2 or None, 30, "two held messages")
        self.assertTrue(held)
        titles = e.items()
        self.assertEqual(len(e.messages()), 2, titles)
        for t in ("night deal 1", "night deal 2 ₩12,900", "night deal 3"):
            self.assertNotIn(t, titles, "delivered inside quiet hours")
        st = json.loads(self.kw("status", "--json", env=e.env,
                                config=e.config).stdout)
        self.assertEqual(st["outbox"]["quiet_hours"], "23:00-07:00")
        self.assertIsNotNone(st["outbox"]["quiet_until"])

        # 07:00: one digest with every night item, nothing else
        self.clock.set_kst("2026-12-02 07:00:01")
        wait_until(lambda: len(e.messages()) >= 3, 60, "the digest")
        msgs = e.messages()
        self.assertEqual(len(msgs), 3, msgs)
        digest = msgs[2]
        self.assertEqual(digest["object_type"], "list", digest)
        self.assertEqual(digest["header_title"],
                         "Quiet hours 23:00-07:00: 3 items from deals")
        self.assertEqual([c["title"] for c in digest["contents"]],
                         ["night deal 1", "night deal 2 ₩12,900",
                          "night deal 3"])
        self.assertEqual(digest["contents"][0]["link"]["web_url"],
                         self.pages.url("/p/night-deal-1"))
        wait_until(lambda: json.loads(self.kw(
            "status", "--json", env=e.env, config=e.config).stdout)
            ["outbox"]["pending"] == 0, 30, "an empty outbox")
        self.assertNotIn("delivery: in quiet hours", self.status(e))
        d.wait_log(r"outbox: 2 messages made in quiet hours 23:00-07:00 "
                   r"folded into one digest")
        # after the window a change goes out at once, after the digest
        self.write_page("deals.html", page([
            "morning deal", "night deal 2 ₩12,900", "night deal 3",
            "night deal 1", "evening deal", "old deal"]))
        wait_until(lambda: "morning deal" in e.items(), 30, "07:00 change")
        self.assertEqual(len(e.messages()), 4)
        self.assert_no_secrets(kwtest.CLIENT_ID)

    def test_once_holds_in_the_window_and_force_sends(self):
        e = self.setup_env()
        self.clock.set_kst("2026-12-02 00:30:00")
        p = self.kw("once", env=e.env, config=e.config)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.write_page("deals.html", page(["late deal", "old deal"]))
        p = self.kw("once", env=e.env, config=e.config)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("1 message held: quiet hours until 07:00 "
                      "(Asia/Seoul), then sent as one digest", p.stderr)
        self.assertEqual(e.messages(), [])
        p = self.kw("once", "--force", env=e.env, config=e.config)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("quiet hours", p.stderr)
        msgs = e.messages()
        self.assertEqual(len(msgs), 1, msgs)
        self.assertEqual(msgs[0]["text"], "deals: 1 new\nlate deal")


if __name__ == "__main__":
    kwtest.main()
