"""`kakaowatch run`, the daemon.

Starts the real binary against loopback pages and the strict fake Kakao
with 1 s intervals and no jitter, and drives it through what a user lives
through: a change delivered, Kakao failing (500, a request that hangs) and
recovering, kill -9 at random moments, live edits of the YAML (good and
broken), SIGTERM during slow work, a dead refresh token and a new
`kakaowatch auth`, Kakao's quota, the expiry reminder, and `status` telling
the truth. Every wait polls for its condition with a deadline.
"""
import json
import os
import random
import re
import signal
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import kwtest  # noqa: E402
from kwtest import (  # noqa: E402
    items_of, page, wait_until)


class DaemonTest(kwtest.DaemonCase):

    # ---- tests ----

    def test_run_delivers_a_change_and_status_tells_the_truth(self):
        e = self.env()
        self.write_page("board.html", page(["one", "two"]))
        self.write_page("broken.html", page(["x", "y"]))
        e.write_config([("board", "/board.html", ""),
                        ("broken", "/broken.html", "    max_failures: 2\n")],
                       extra="notice_window: 1")
        e.auth()
        d = e.run()
        d.wait_log(r"check: board: baseline stored \(2 items\)")
        d.wait_log(r"check: broken: baseline stored")
        self.write_page("board.html", page(["three", "one", "two"]))
        os.unlink(os.path.join(self.root, "broken.html"))
        wait_until(lambda: len(e.messages()) >= 2, 15,
                   "the change and the failing notice")
        texts = [m.get("text", "") for m in e.messages()]
        self.assertIn("board: 1 new\nthree", texts)
        self.assertTrue(any(t.startswith("broken: watch is failing")
                            and "HTTP 404" in t for t in texts), texts)

        # the times status shows are checked against the moments around
        # its run (under ASan on a loaded machine `status` alone can take
        # seconds): the last check is the one before (or during) it, the
        # next is the planned one, 1 s after the last
        before = time.time()
        st = e.status_json()
        after = time.time()
        self.assertTrue(st["daemon_alive"])
        board = [w for w in st["watches"] if w["name"] == "board"][0]
        broken = [w for w in st["watches"] if w["name"] == "broken"][0]
        self.assertEqual(board["items"], 3)
        self.assertEqual(board["failures"], 0)
        self.assertIsNone(board["last_error"])
        self.assertGreaterEqual(board["last_check"], int(before) - 3)
        self.assertLessEqual(board["last_check"], after + 1)
        self.assertLessEqual(abs(board["last_change"] - before), 10)
        # the next check is the one the daemon planned: about 1 s ahead
        self.assertGreaterEqual(board["next_check"], int(before) - 2)
        self.assertLessEqual(board["next_check"], after + 3)
        self.assertGreaterEqual(broken["failures"], 2)
        self.assertTrue(broken["failing"])
        self.assertIn("HTTP 404", broken["last_error"])
        self.assertEqual(broken["items"], 2, "a failure keeps the snapshot")
        self.assertEqual(st["outbox"]["pending"], 0)
        # the failing notice does not count in max_messages_per_day
        self.assertEqual(st["today_kst"]["sent"], 1)
        self.assertTrue(st["token"]["present"])
        self.assertGreater(st["token"]["refresh_token_expires_at"],
                           before + 59 * 86400)
        human = e.status()
        self.assertEqual(human.returncode, 0, human.stderr)
        self.assertIn("daemon: running", human.stdout)
        self.assertRegex(human.stdout, r"broken .*HTTP 404")
        self.assertRegex(human.stdout, r"board +\d+s ago +(in \ds|due) ")
        # a watch at max_failures makes the container unhealthy ...
        self.assertEqual(e.status("--health").returncode, 1)
        # ... until it recovers (and says so once)
        self.write_page("broken.html", page(["x", "y"]))
        wait_until(lambda: e.status("--health").returncode == 0, 30,
                   "healthy again")
        wait_until(lambda: any("broken: recovered" in m.get("text", "")
                               for m in e.messages()), 30, "recovered")

        self.assert_stops_cleanly(d)
        self.assertEqual(e.status("--health").returncode, 1,
                         "a stopped daemon is not healthy")
        self.assertIn("daemon: not running", e.status().stdout)
        texts = [m.get("text", "") for m in e.messages()]
        self.assertEqual(texts.count("board: 1 new\nthree"), 1)
        self.assertEqual(sum("recovered" in t for t in texts), 1)
        self.assertEqual(sum("watch is failing" in t for t in texts), 1)

    def test_kakao_500_or_hang_then_recovery_delivers_each_once(self):
        # the two run side by side: each waits out one 5 s backoff
        cases = [("e500", {"status": 500}), ("ehang", {"hang": 2})]
        envs, daemons = [], []
        for name, how in cases:
            e = self.env(name)
            self.write_page(name + ".html", page(["a", "b"]))
            e.write_config([("w", "/%s.html" % name, "")])
            e.auth()
            envs.append(e)
            daemons.append(e.run("-v"))
        for (name, how), e, d in zip(cases, envs, daemons):
            d.wait_log(r"check: w: baseline stored")
            e.fail(**how)
            self.write_page(name + ".html", page(["a", "b", "c", "d"]))
        for e, d in zip(envs, daemons):
            d.wait_log(r"kakao: sending failed \(attempt 1\).*retrying in "
                       r"[56]s")
            st = e.status_json()["outbox"]
            self.assertEqual(st["pending"], 1)
            self.assertEqual(st["attempts"], 1)
            self.assertIsNotNone(st["last_error"])
        for e, d in zip(envs, daemons):
            wait_until(lambda: e.messages(), 45, "the retry")
        # would a duplicate follow? the sent row is gone, and checks and
        # outbox turns go on
        for e, d in zip(envs, daemons):
            wait_until(lambda: e.status_json()["outbox"]["pending"] == 0, 30,
                       "an empty outbox")
            d.wait_checks("w")
        for e, d in zip(envs, daemons):
            self.assertEqual(e.items(), ["c", "d"], d.log()[-2000:])
            self.assert_stops_cleanly(d)

    def test_kill_9_at_random_moments_loses_no_change(self):
        e = self.env()
        names = ["n0", "n1", "n2"]
        pages = {n: ["%s-base-%d" % (n, i) for i in range(2)] for n in names}
        for n in names:
            self.write_page(n + ".html", page(pages[n]))
        e.write_config([(n, "/%s.html" % n, "") for n in names])
        e.auth()
        d = e.run()
        for n in names:
            d.wait_log(r"check: %s: baseline stored" % n)
        d.kill9()
        added = []
        rng = random.Random(int(os.environ.get("KW_SEED", "4242")))

        def add_item():
            n = rng.choice(names)
            t = "%s-new-%d" % (n, len(added))
            pages[n].insert(rng.randrange(len(pages[n]) + 1), t)
            self.write_page(n + ".html", page(pages[n]))
            added.append(t)

        for i in range(20):
            add_item()
            d = e.run()
            time.sleep(rng.uniform(0.05, 0.6))
            add_item()
            time.sleep(rng.uniform(0.05, 0.9))
            d.kill9()
        # a final clean run delivers everything that is left
        d = e.run()
        wait_until(lambda: set(added) <= set(e.items()), 60,
                   "every added item at Kakao")
        wait_until(lambda: e.status_json()["outbox"]["pending"] == 0, 30,
                   "an empty outbox")
        self.assert_stops_cleanly(d)
        got = e.items()
        dups = len(got) - len(set(got))
        print("kill -9 x20: %d changes, %d messages, %d duplicate items"
              % (len(added), len(e.messages()), dups), file=sys.stderr)
        self.assertEqual(set(got) - set(added), set(),
                         "only added items were reported")
        db = sqlite3.connect("file:%s?mode=ro" % os.path.join(
            e.state, "kakaowatch.db"), uri=True)
        try:
            self.assertEqual(db.execute("PRAGMA integrity_check").fetchall(),
                             [("ok",)])
            self.assertEqual(db.execute("SELECT count(*) FROM outbox")
                             .fetchone()[0], 0)
        finally:
            db.close()
        with open(e.token_file) as f:
            self.assertIn("refresh_token", json.load(f))

    def test_editing_the_yaml_adds_edits_and_removes_watches_live(self):
        e = self.env()
        self.write_page("a.html", page(["a1", "a2"]))
        self.write_page("b.html", page(["b1", "b2"]))
        e.write_config([("a", "/a.html", "")], sink="stdout")
        d = e.run()
        d.wait_log(r"check: a: baseline stored")
        # an editor that writes a temp file and renames it over the config
        e.write_config([("a", "/a.html", ""), ("b", "/b.html", "")],
                       sink="stdout")
        d.wait_log(r"reload: watch 'b' added")
        t0 = time.monotonic()
        d.wait_log(r"check: b: baseline stored \(2 items\)", timeout=8)
        self.assertLess(time.monotonic() - t0, 6.5,
                        "a new watch gets its baseline within ~5 s")
        # edit b in place (open, truncate, write): only keyword items now
        with open(e.config) as f:
            text = f.read()
        text = text.replace("b.html\n    xpath: //li/a\n",
                            "b.html\n    xpath: //li/a\n"
                            "    keywords: [urgent]\n")
        with open(e.config, "w") as f:
            f.write(text)
        d.wait_log(r"reload: watch 'b' changed")
        d.wait_log(r"reload: configuration .* in force", count=2)
        self.write_page("b.html", page(["b1", "b2", "lunch menu",
                                        "URGENT: server down"]))
        d.wait_log(r"check: b: 2 new")
        wait_until(lambda: "URGENT" in d.stdout(), 15, "b's message")
        msgs = kwtest.json_lines(d.stdout())
        self.assertEqual([items_of(m) for m in msgs],
                         [["URGENT: server down"]],
                         "the edited keywords apply; history is kept "
                         "(no second baseline)")
        self.assertEqual(len(re.findall(r"check: b: baseline", d.log())), 1)
        # remove a: it is checked no more
        e.write_config([("b", "/b.html", "    keywords: [urgent]\n")],
                       sink="stdout")
        d.wait_log(r"reload: watch 'a' removed")

        def count(path):
            return self.pages.get_json("/count?path=" + path)["count"]
        # a check in flight at the swap may still finish: once b has been
        # fetched again, a's count is final; b goes on, a stays
        b0 = count("/b.html")
        wait_until(lambda: count("/b.html") >= b0 + 1, 30, "b's next check")
        n = count("/a.html")
        wait_until(lambda: count("/b.html") >= b0 + 3, 15,
                   "two more checks of b")
        self.assertEqual(count("/a.html"), n,
                         "a removed watch is no longer fetched")
        self.assertGreater(count("/b.html"), 3, "the others go on")
        # b moves to another page: its items are a new baseline, not news
        self.write_page("c.html", page(["c1", "c2", "c3"]))
        e.write_config([("b", "/c.html", "    keywords: [urgent]\n")],
                       sink="stdout")
        d.wait_log(r"check: b: baseline stored \(3 items\)")
        self.assertEqual(len(kwtest.json_lines(d.stdout())), 1)
        self.assert_stops_cleanly(d)

    def test_reload_while_checks_are_in_flight(self):
        e = self.env()
        self.write_page("a.html", page(["a1", "a2"]))
        self.write_page("s.html", page(["s1", "s2"]))
        slow = ("slow", "/slow?delay=1.5&page=s.html", "")
        e.write_config([("a", "/a.html", ""), slow], sink="stdout")
        d = e.run("-v")
        d.wait_log(r"check: slow: baseline stored")
        wait_until(lambda: self.pages.get_json("/count?path=/slow")["count"]
                   >= 2, 15, "slow's second check in flight")
        # removed while its check runs: the check ends on the old config
        e.write_config([("a", "/a.html", "")], sink="stdout")
        d.wait_log(r"reload: watch 'slow' removed")
        # and back, edited, before that check is over: never two at once
        e.write_config([("a", "/a.html", ""),
                        ("slow", "/slow?delay=1.5&page=s.html",
                         "    interval: 2s\n")], sink="stdout")
        d.wait_log(r"reload: watch 'slow' added")
        n = self.pages.get_json("/count?path=/slow")["count"]
        self.write_page("s.html", page(["s1", "s2", "s3"]))
        # the old check ends (1.5 s), the new watch's first may have
        # begun before the write (1.5 s), its next 2 s later (1.5 s)
        d.wait_log(r"check: slow: 1 new", timeout=30)
        self.assertLessEqual(
            self.pages.get_json("/count?path=/slow")["count"], n + 3)
        self.assertEqual(len(re.findall(r"check: slow: baseline",
                                        d.log())), 1)
        os.kill(d.proc.pid, signal.SIGUSR1)
        d.wait_log(r"status: 2 watches, \d+ checks since start")
        d.wait_log(r"status: 'slow': (next check in \d+s|checking now)")
        self.assert_stops_cleanly(d)

    def test_broken_edit_is_logged_with_its_position_and_the_old_config_stays(
            self):
        e = self.env()
        self.write_page("a.html", page(["a1", "a2"]))
        e.write_config([("a", "/a.html", "")], sink="stdout")
        d = e.run()
        d.wait_log(r"check: a: baseline stored")
        with open(e.config) as f:
            good = f.read()
        broken = good.replace("interval: 1s", "interval: 1 fortnight")
        self.assertNotEqual(broken, good)
        line = broken[:broken.index("1 fortnight")].count("\n") + 1
        with open(e.config, "w") as f:
            f.write(broken)
        d.wait_log(r"error reload: %s:%d:\d+: .*duration" % (
            re.escape(e.config), line))
        d.wait_log(r"previous configuration stays in force")
        # the old configuration still works: a change is still reported
        self.write_page("a.html", page(["a1", "a2", "a3"]))
        wait_until(lambda: "a: 1 new" in d.stdout(), 15, "a's change")
        self.assertEqual(len(re.findall(r"error reload: .*duration",
                                        d.log())), 1,
                         "the same broken file is reported once")
        # and fixing the file brings the new config in
        with open(e.config, "w") as f:
            f.write(good.replace("interval: 1s", "interval: 2s"))
        d.wait_log(r"reload: configuration .* in force")
        # SIGHUP reads the file, but an unchanged one is not loaded again
        # (issue 14: a SIGHUP storm must not release holds or hit Kakao)
        os.kill(d.proc.pid, signal.SIGHUP)
        d.wait_log(r"reload: SIGHUP")
        d.wait_log(r"reload: .* is unchanged; nothing to do")
        self.assertEqual(len(re.findall(r"reload: configuration .* in "
                                        r"force", d.log())), 1)
        self.assert_stops_cleanly(d)

    def test_sigterm_exits_0_within_2s_during_a_slow_fetch_and_a_slow_send(
            self):
        e = self.env()
        self.write_page("ok.html", page(["a", "b"]))
        e.write_config([("slow", "/hang", "    timeout: 60s\n"),
                        ("ok", "/ok.html", "")])
        e.auth()
        d = e.run()
        d.wait_log(r"check: ok: baseline stored")
        wait_until(lambda: self.pages.get_json("/count?path=/hang")["count"],
                   10, "the fetch of /hang")
        took = self.assert_stops_cleanly(d)
        self.assertRegex(d.log(), r"run: stopping \([12] checks? in flight "
                                  r"abandoned")
        # a send Kakao never answers (the client would wait 15 s): the
        # stop waits a bounded 5 s for it (issue 14), then gives up
        e.write_config([("ok", "/ok.html", "")])
        d = e.run()
        d.wait_log(r"run: kakaowatch .* started")
        e.fail(hang=60)
        sends = e.send_requests()
        self.write_page("ok.html", page(["a", "b", "c"]))
        d.wait_log(r"check: ok: 1 new")
        wait_until(lambda: e.send_requests() > sends, 30,
                   "the send at Kakao")
        rc, took2 = d.stop()
        self.assertEqual(rc, 0, d.log()[-2000:])
        self.assertLess(took2, 7.0, "SIGTERM took %.2fs" % took2)
        self.assertIn("run: waiting up to 5s for the message being sent",
                      d.log())
        self.assertIn("Kakao did not answer in time", d.log())
        self.assertNotIn("sending failed", d.log(),
                         "an aborted send is not a failed attempt")
        print("SIGTERM took %.2fs (slow fetch), %.2fs (slow send)"
              % (took, took2), file=sys.stderr)
        # nothing was lost: the next run sends it (and the hang was used
        # up by the send SIGTERM interrupted, or this would hang again)
        d = e.run()
        wait_until(lambda: e.items() == ["c"], 15, "the message after "
                   "the restart")
        self.assert_stops_cleanly(d)

    def test_dead_refresh_token_holds_sending_until_a_new_auth(self):
        e = self.board_env()
        d = e.run("-v")
        d.wait_log(r"check: board: baseline stored")
        e.kakao.post_json("/_control/revoke", {"access": True})
        self.write_page("board.html", page(["one", "two", "three"]))
        d.wait_log(r"error kakao: Kakao KOE322: .*kakaowatch auth")
        # checks go on and queue more; no new error line per turn
        self.write_page("board.html", page(["one", "two", "three", "four"]))
        d.wait_log(r"check: board: 1 new", count=2)
        d.wait_checks("board")
        self.assertEqual(len(re.findall(r"KOE322", d.log())), 1, d.log())
        self.assertEqual(e.messages(), [])
        st = e.status_json()
        self.assertEqual(st["send_hold"], "reauth")
        self.assertEqual(st["outbox"]["pending"], 2)
        self.assertIn("kakaowatch auth", e.status().stdout)
        # the user authorizes again while the daemon runs
        e.auth()
        d.wait_log(r"the token file changed, sending again")
        wait_until(lambda: e.items() == ["three", "four"], 30,
                   "the held messages, in order")
        self.assertIsNone(e.status_json()["send_hold"])
        self.assert_stops_cleanly(d)

    def test_kakao_quota_holds_sending_until_korean_midnight(self):
        e = self.board_env()
        d = e.run()
        d.wait_log(r"check: board: baseline stored")
        e.fail(code=-10)
        self.write_page("board.html", page(["one", "two", "three"]))
        d.wait_log(r"kakao: Kakao API error -10: .*held until 00:00 Korea")
        before = e.watch_status("board")["last_check"]
        self.write_page("board.html", page(["one", "two", "three", "four"]))
        d.wait_log(r"check: board: 1 new", count=2)
        wait_until(lambda: e.watch_status("board")["last_check"] > before,
                   5, "checks going on")
        st = e.status_json()
        self.assertEqual(st["outbox"]["pending"], 2)
        # 00:00 KST is 15:00 UTC
        until = st["outbox"]["quota_hold_until"]
        self.assertEqual(until % 86400, 15 * 3600)
        self.assertTrue(0 < until - time.time() <= 86400)
        self.assertEqual(e.messages(), [], "nothing is tried until then")
        self.assertIn("Kakao's daily quota is used up", e.status().stdout)
        self.assertEqual(len(re.findall(r"API error -10", d.log())), 1)
        self.assert_stops_cleanly(d)

    def test_expiring_refresh_token_sends_one_reminder(self):
        e = self.board_env()
        with open(e.token_file) as f:
            tok = json.load(f)
        tok["refresh_token_expires_at"] = int(time.time()) + 3 * 86400 + 600
        with open(e.token_file + ".new", "w") as f:
            json.dump(tok, f)
        os.chmod(e.token_file + ".new", 0o600)
        os.replace(e.token_file + ".new", e.token_file)
        d = e.run()
        wait_until(lambda: e.messages(), 30, "the reminder")
        self.assertRegex(d.log(), r"warn kakao: the refresh token expires "
                                  r"in 3 days")
        self.assert_stops_cleanly(d)
        # once per refresh token, not once per start
        d = e.run("-v")
        d.wait_log(r"run: .* started")
        d.wait_log(r"kakao: the refresh token expires in 3 days; reminded "
                   r"already")
        self.assert_stops_cleanly(d)
        msgs = [m.get("text", "") for m in e.messages()]
        self.assertEqual(len(msgs), 1, msgs)
        self.assertIn("kakaowatch auth", msgs[0])
        self.assertIn("in 3 days", msgs[0])


if __name__ == "__main__":
    kwtest.main()
