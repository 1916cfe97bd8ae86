"""Delivery you can trust (issue 14).

Each test reproduces one way a change, once seen, failed to reach KakaoTalk
(or the daemon around it broke), against the strict fake Kakao on
loopback: a token file moved aside under `sink: auto`, a rotated refresh
token on a full disk, two processes refreshing at once, a slow Kakao, a
transient failure and message order, `once` during a hold, templates
without a link, -2 and the dead letters, SIGHUP storms, SIGTERM during a
send, an outage across many watches. Every wait polls with a deadline.
"""
import calendar
import json
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import kwtest  # noqa: E402
from kwtest import page, wait_until  # noqa: E402


def printed(text):
    """Template objects the stdout sink printed."""
    return kwtest.json_lines(text)


class DeliveryTest(kwtest.DaemonCase):

    # ---- 1. the sink never drops ----

    def test_token_file_moved_aside_under_auto_sink_holds_not_prints(self):
        e = self.board_env(sink="auto")
        d = e.run("-v")
        d.wait_log(r"check: board: baseline stored")
        self.write_page("board.html", page(["one", "two", "three"]))
        wait_until(lambda: e.items() == ["three"], 15, "the first change")
        # the user moves the token file aside, say before a fresh auth
        os.rename(e.token_file, e.token_file + ".aside")
        self.write_page("board.html", page(["one", "two", "three", "four"]))
        d.wait_log(r"check: board: 1 new", count=2)
        d.wait_log(r"error kakao: .*kakaowatch auth")
        d.wait_checks("board")  # more turns: still nothing printed
        self.assertEqual(printed(d.stdout()), [],
                         "a Kakao state dir must not print and delete")
        self.assertEqual(e.status_json()["outbox"]["pending"], 1)
        self.assertEqual(e.items(), ["three"])
        # the token file comes back: the held message goes to KakaoTalk
        os.rename(e.token_file + ".aside", e.token_file)
        wait_until(lambda: e.items() == ["three", "four"], 30,
                   "the held message after the token file came back")
        self.assertEqual(printed(d.stdout()), [])
        self.assert_stops_cleanly(d)

    def test_once_without_token_file_after_kakao_delivery_keeps_messages(
            self):
        e = self.board_env(sink="auto")
        self.assertEqual(e.once().returncode, 0)
        self.write_page("board.html", page(["one", "two", "three"]))
        p = e.once()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(e.items(), ["three"])
        os.unlink(e.token_file)
        self.write_page("board.html", page(["one", "two", "three", "four"]))
        p = e.once()
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertEqual(printed(p.stdout), [])
        self.assertIn("kakaowatch auth", p.stderr)
        self.assertEqual(e.status_json()["outbox"]["pending"], 1)

    def test_explicit_stdout_sink_still_prints(self):
        e = self.env()
        self.write_page("board.html", page(["one", "two"]))
        e.write_config([("board", "/board.html", "")], sink="stdout")
        self.assertEqual(e.once().returncode, 0)
        self.write_page("board.html", page(["one", "two", "three"]))
        p = e.once()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(len(printed(p.stdout)), 1)

    # ---- 2. the refresh token is never lost ----

    def rotate_window(self, e):
        """Moves the fake's clock into the refresh token's last month."""
        e.kakao.post_json("/_control/clock", {"advance": 31 * 86400})

    def live_refresh_tokens(self, e):
        return e.kakao.get_json("/_control/tokens")["live_refresh_tokens"]

    def test_rotation_on_a_full_disk_keeps_a_working_refresh_token(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to mount a small tmpfs")
        mnt = os.path.join(self.tmp, "small")
        os.mkdir(mnt)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k",
                            "tmpfs", mnt], capture_output=True, text=True)
        if r.returncode != 0:
            self.skipTest("cannot mount a tmpfs: %s" % r.stderr.strip())
        self.addCleanup(subprocess.run, ["umount", "-l", mnt])
        e = self.env()
        e.state = os.path.join(mnt, "state")
        e.token_file = os.path.join(e.state, "kakao_token.json")
        self.write_page("board.html", page(["one", "two"]))
        e.write_config([("board", "/board.html", "")])
        e.auth()
        # fill the disk to the last byte
        filler = os.path.join(mnt, "filler")
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
        for chunk in (65536, 4096, 1):
            try:
                while True:
                    os.write(fd, b"x" * chunk)
            except OSError:
                pass
        os.close(fd)
        self.rotate_window(e)
        p = self.kw("token", "refresh", env=e.env, config=e.config)
        self.assertNotEqual(p.returncode, 0, "the disk is full")
        self.assertIn("No space left", p.stderr)
        self.assertEqual(e.kakao.get_json("/_control/tokens")["rotations"],
                         0, "no refresh while the new token cannot be "
                         "written")
        # whatever happened, the token file holds a refresh token Kakao
        # still accepts once space is back
        os.unlink(filler)
        with open(e.token_file) as f:
            tok = json.load(f)
        self.assertGreaterEqual(self.live_refresh_tokens(e), 1)
        self.write_page("board.html", page(["one", "two"]))
        self.assertEqual(e.once().returncode, 0)
        self.write_page("board.html", page(["one", "two", "three"]))
        p = e.once()
        self.assertEqual(p.returncode, 0, p.stderr + json.dumps(tok)[:0])
        self.assertEqual(e.items(), ["three"])

    def test_refresh_is_not_tried_when_the_new_token_cannot_be_written(
            self):
        """The new token file is prepared (written and synced) before the
        refresh: when that fails nothing is sent to Kakao, so the old
        refresh token stays the live one."""
        e = self.board_env()
        before = self.file_refresh_token(e)
        self.rotate_window(e)
        # a directory where the prepared file goes blocks the save
        os.mkdir(e.token_file + ".new")
        p = self.kw("token", "refresh", env=e.env, config=e.config)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("not refreshing", p.stderr)
        self.assertEqual(e.kakao.get_json("/_control/tokens")["rotations"],
                         0)
        self.assertEqual(self.file_refresh_token(e), before)
        os.rmdir(e.token_file + ".new")
        p = self.kw("token", "refresh", env=e.env, config=e.config)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(e.kakao.get_json("/_control/tokens")["rotations"],
                         1)
        self.assertNotEqual(self.file_refresh_token(e), before)
        p = self.kw("token", "refresh", env=e.env, config=e.config)
        self.assertEqual(p.returncode, 0, p.stderr)

    def file_refresh_token(self, e):
        with open(e.token_file) as f:
            return json.load(f)["refresh_token"]

    def test_two_processes_refreshing_at_once_keep_a_live_token(self):
        e = self.board_env()
        self.rotate_window(e)
        # a slow token endpoint makes the two refreshes overlap
        e.kakao.post_json("/_control/slow", {"endpoint": "token",
                                             "seconds": 1.5})
        procs = []
        for _ in range(2):
            procs.append(subprocess.Popen(
                [kwtest.BINARY, "-c", e.config, "token", "refresh"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                env=dict(os.environ, **e.env)))
        outs = [p.communicate(timeout=60) for p in procs]
        for p, (out, err) in zip(procs, outs):
            self.logs.append(out + err)
            self.assertEqual(p.returncode, 0, err)
        e.kakao.post_json("/_control/slow", {"endpoint": "token",
                                             "seconds": 0})
        self.assertNotIn("KOE322", "".join(o + r for o, r in outs))
        # the file's refresh token is the live one: a forced refresh works
        p = self.kw("token", "refresh", env=e.env, config=e.config)
        self.assertEqual(p.returncode, 0, p.stderr)

    # ---- 6. valid templates, kept evidence ----

    def test_send_without_link_sends_a_valid_template(self):
        e = self.env()
        e.write_config([("board", "/board.html", "")])
        e.auth()
        p = self.kw("send", "hello from the quick start", env=e.env,
                    config=e.config)
        self.assertEqual(p.returncode, 0, p.stderr)
        msgs = e.messages()
        self.assertEqual(len(msgs), 1)
        self.assertTrue(msgs[0]["link"].get("web_url"), msgs[0])
        # and it counts in max_messages_per_day
        self.assertEqual(e.status_json()["today_kst"]["sent"], 1)

    def test_minus_2_twice_goes_to_dead_letters_that_outbox_handles(self):
        e = self.board_env()
        self.assertEqual(e.once().returncode, 0)
        # refused as it is and as plain text
        e.fail(code=-2, count=2)
        self.write_page("board.html", page(["one", "two", "three"]))
        p = e.once()
        self.assertIn("dead letters", p.stderr)
        self.assertEqual(e.messages(), [])
        st = e.status_json()["outbox"]
        self.assertEqual(st["dead_letters"], 1)
        self.assertEqual(st["pending"], 0)
        self.assertIn("dead letters: 1", e.status().stdout)
        lst = self.kw("outbox", "list", env=e.env, config=e.config)
        self.assertEqual(lst.returncode, 0, lst.stderr)
        m = re.search(r"^(\d+) 'board' .*refused", lst.stdout, re.M)
        self.assertIsNotNone(m, lst.stdout)
        self.assertIn("three", lst.stdout)
        r = self.kw("outbox", "retry", m.group(1), env=e.env,
                    config=e.config)
        self.assertEqual(r.returncode, 0, r.stderr)
        p = e.once()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(e.items(), ["three"])
        self.assertEqual(e.status_json()["outbox"]["dead_letters"], 0)
        bad = self.kw("outbox", "drop", m.group(1), env=e.env,
                      config=e.config)
        self.assertEqual(bad.returncode, 1)
        self.assertIn("no dead letter", bad.stderr)

    def test_minus_2_once_is_sent_again_as_plain_text(self):
        e = self.board_env()
        self.assertEqual(e.once().returncode, 0)
        e.fail(code=-2, count=1)
        self.write_page("board.html", page(["one", "two", "three", "four"]))
        p = e.once()
        self.assertEqual(p.returncode, 0, p.stderr)
        msgs = e.messages()
        self.assertEqual(len(msgs), 1)
        self.assertEqual(msgs[0]["object_type"], "text")
        self.assertIn("board: 2 new", msgs[0]["text"])
        self.assertEqual(msgs[0]["link"]["web_url"],
                         self.pages.url("/board.html"))

    # ---- 4. one ordered queue ----

    def test_messages_after_a_transient_failure_wait_behind_the_head(self):
        e = self.board_env()
        d = e.run("-v")
        d.wait_log(r"check: board: baseline stored")
        e.fail(status=500)
        self.write_page("board.html", page(["one", "two", "A"]))
        fail_line = r"kakao: sending failed \(attempt 1\).*retrying in [56]s"
        d.wait_log(fail_line)
        self.write_page("board.html", page(["one", "two", "A", "B"]))
        d.wait_log(r"check: board: 1 new", count=2)
        wait_until(lambda: len(e.messages()) >= 2, 30, "both messages")
        # the failure's time is its log line's (whole seconds: it was
        # logged before stamp + 1), the sends' the fake's: not when this
        # test saw them, which a loaded machine delays
        stamp = re.search(r"^(\S+) .*" + fail_line, d.log(), re.M).group(1)
        failed_by = calendar.timegm(time.strptime(
            stamp, "%Y-%m-%dT%H:%M:%SZ")) + 1
        sent_at = [m["at"] for m in e.kakao.get_json(
            "/_control/messages")["messages"]]
        self.assertGreater(min(sent_at) - failed_by, 3.5,
                           "the backlog waited out the backoff")
        self.assertEqual(e.items(), ["A", "B"], "in order, each once")
        wait_until(lambda: e.status_json()["outbox"]["pending"] == 0, 30,
                   "an empty outbox")
        d.wait_checks("board")
        self.assertEqual(e.items(), ["A", "B"])
        self.assert_stops_cleanly(d)

    # ---- 5. once follows the same policy ----

    def test_once_during_a_quota_hold_sends_nothing_unless_forced(self):
        e = self.board_env()
        self.assertEqual(e.once().returncode, 0)
        e.fail(code=-10)
        self.write_page("board.html", page(["one", "two", "three"]))
        p = e.once()
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("-10", p.stderr)
        # cron runs again: the fake would accept, but the hold lasts
        self.write_page("board.html", page(["one", "two", "three", "four"]))
        p = e.once()
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("until 00:00 Korea time", p.stderr)
        self.assertEqual(e.messages(), [])
        self.assertEqual(e.status_json()["outbox"]["pending"], 2)
        p = e.once("--force")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("--force", p.stderr)
        self.assertEqual(e.items(), ["three", "four"])

    def test_once_during_a_backoff_waits_for_it(self):
        e = self.board_env()
        self.assertEqual(e.once().returncode, 0)
        e.fail(status=503)
        self.write_page("board.html", page(["one", "two", "three"]))
        p = e.once()
        self.assertEqual(p.returncode, 1, p.stderr)
        p = e.once()
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertRegex(p.stderr, r"next try is in [1-6]s")
        self.assertEqual(e.messages(), [])
        # status says when (whole seconds, rounded down): wait that out
        due = e.status_json()["outbox"]["next_attempt"]
        wait_until(lambda: time.time() >= due + 1, 10, "the next try")
        p = e.once()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(e.items(), ["three"])

    def test_once_respects_the_daily_budget(self):
        e = self.env()
        self.write_page("a.html", page(["one", "two"]))
        self.write_page("b.html", page(["one", "two"]))
        e.write_config([("a", "/a.html", ""), ("b", "/b.html", "")],
                       extra="")
        with open(e.config) as f:
            text = f.read().replace("max_messages_per_day: 1000",
                                    "max_messages_per_day: 1")
        with open(e.config, "w") as f:
            f.write(text)
        e.auth()
        self.assertEqual(e.once().returncode, 0)
        self.write_page("a.html", page(["one", "two", "x"]))
        self.write_page("b.html", page(["one", "two", "y"]))
        p = e.once()
        self.assertEqual(len(e.messages()), 1, p.stderr)
        self.assertIn("max_messages_per_day", p.stderr)

    # ---- grouped failure notices ----

    def outage_env(self, window):
        """25 watches on a page that is gone (max_failures: 1) and one
        working board, max_messages_per_day: 2."""
        e = self.env()
        self.write_page("board.html", page(["one", "two"]))
        watches = [("board", "/board.html", "")]
        watches += [("w%02d" % i, "/gone.html?%d" % i,
                     "    max_failures: 1\n") for i in range(1, 26)]
        e.write_config(watches, extra="notice_window: %d" % window)
        with open(e.config) as f:
            text = f.read().replace("max_messages_per_day: 1000",
                                    "max_messages_per_day: 2")
        with open(e.config, "w") as f:
            f.write(text)
        e.auth()
        return e

    def notices(self, e):
        return [m.get("text", "") for m in e.messages()
                if "failing" in m.get("text", "")
                or "recovered" in m.get("text", "")]

    def test_an_outage_of_25_watches_sends_one_notice_under_once(self):
        e = self.outage_env(60)
        p = e.once()
        self.assertEqual(p.returncode, 1, p.stderr)  # 25 checks failed
        notes = self.notices(e)
        self.assertEqual(len(notes), 1, notes)
        self.assertTrue(notes[0].startswith("25 watches are failing: "),
                        notes[0])
        for i in range(1, 26):
            self.assertRegex(notes[0].split("\n")[0], r"\bw%02d\b" % i)
        self.assertIn("HTTP 404", notes[0])
        self.assertEqual(e.status_json()["outbox"]["pending"], 0)
        # the notice left the whole budget (2) to real changes
        self.write_page("board.html", page(["one", "two", "three"]))
        p = e.once()
        self.assertEqual(e.items(), ["three"], p.stderr)
        p = e.once()
        self.assertEqual(len(self.notices(e)), 1, "failing is said once")
        # the site is back: one grouped "recovered" message
        self.write_page("gone.html", page(["x"]))
        p = e.once()
        self.assertEqual(p.returncode, 0, p.stderr)
        notes = self.notices(e)
        self.assertEqual(len(notes), 2, notes)
        self.assertTrue(notes[1].startswith("25 recovered: "), notes[1])
        for i in range(1, 26):
            self.assertRegex(notes[1], r"\bw%02d\b" % i)
        # and the second real change of the day still fits the budget
        self.write_page("board.html", page(["one", "two", "three", "4"]))
        p = e.once()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(e.items(), ["three", "4"], p.stderr)
        self.assertEqual(e.status_json()["today_kst"]["sent"], 2)

    def test_an_outage_of_25_watches_sends_one_notice_under_run(self):
        e = self.outage_env(10)
        d = e.run("-v")
        d.wait_log(r"check: board: baseline stored")
        wait_until(lambda: len(self.notices(e)) >= 1, 30, "the notice")
        notes = self.notices(e)
        self.assertEqual(len(notes), 1, notes)
        self.assertTrue(notes[0].startswith("25 watches are failing: "),
                        notes[0])
        for i in range(1, 26):
            self.assertRegex(notes[0].split("\n")[0], r"\bw%02d\b" % i)
        # two real changes still arrive today (max_messages_per_day: 2)
        self.write_page("board.html", page(["one", "two", "three"]))
        wait_until(lambda: e.items() == ["three"], 15, "the first change")
        self.write_page("board.html", page(["one", "two", "three", "4"]))
        wait_until(lambda: e.items() == ["three", "4"], 15,
                   "the second change")
        d.wait_checks("board")
        self.assertEqual(len(self.notices(e)), 1, self.notices(e))
        self.assertEqual(e.status_json()["today_kst"]["sent"], 2)
        self.assert_stops_cleanly(d)

    # ---- 7. SIGHUP ----

    def test_sighup_storm_releases_no_hold_and_asks_kakao_nothing(self):
        e = self.board_env()
        d = e.run("-v")
        d.wait_log(r"check: board: baseline stored")
        e.kakao.post_json("/_control/revoke", {"access": True})
        self.write_page("board.html", page(["one", "two", "three"]))
        d.wait_log(r"error kakao: Kakao KOE322")
        before = e.kakao.get_json("/_control/tokens")
        for _ in range(30):
            os.kill(d.proc.pid, signal.SIGHUP)
            time.sleep(0.02)
        d.wait_log(r"reload: .* is unchanged", count=1)
        d.wait_checks("board")  # turns after the storm
        after = e.kakao.get_json("/_control/tokens")
        self.assertEqual(after["token_requests"], before["token_requests"])
        self.assertEqual(after["send_requests"], before["send_requests"])
        self.assertEqual(len(re.findall(r"KOE322", d.log())), 1)
        self.assertEqual(e.status_json()["send_hold"], "reauth")
        # an edit of a watch reloads, and still holds
        with open(e.config) as f:
            text = f.read()
        with open(e.config + ".tmp", "w") as f:
            f.write(text.replace("interval: 1s", "interval: 2s"))
        os.replace(e.config + ".tmp", e.config)
        d.wait_log(r"reload: configuration .* in force")
        d.wait_checks("board", timeout=20)  # 2 s now
        self.assertEqual(e.kakao.get_json("/_control/tokens")
                         ["token_requests"], before["token_requests"])
        # a new token file releases it
        e.auth()
        wait_until(lambda: e.items() == ["three"], 30, "the held message")
        self.assert_stops_cleanly(d)

    # ---- 3. checks never wait on Kakao ----

    def test_a_slow_kakao_does_not_stop_the_checks(self):
        e = self.env()
        self.write_page("board.html", page(["one", "two"]))
        self.write_page("fast.html", page(["x", "y"]))
        e.write_config([("board", "/board.html", ""),
                        ("fast", "/fast.html", "")])
        e.auth()
        d = e.run()
        d.wait_log(r"check: fast: baseline stored")
        d.wait_log(r"check: board: baseline stored")
        e.kakao.post_json("/_control/slow", {"endpoint": "send",
                                             "seconds": 8})
        sends = e.send_requests()
        self.write_page("board.html", page(["one", "two", "three"]))
        d.wait_log(r"check: board: 1 new")
        t0 = time.monotonic()
        wait_until(lambda: e.send_requests() > sends, 30,
                   "the send at Kakao")

        def fetches():
            return self.pages.get_json("/count?path=/fast.html")["count"]
        fetches0 = fetches()
        wait_until(lambda: fetches() - fetches0 >= 4 or e.messages(), 20,
                   "four checks of the 1 s watch")
        self.assertEqual(e.messages(), [],
                         "the 1 s watch went on being checked (%d times) "
                         "while Kakao took 8 s" % (fetches() - fetches0))
        st = e.status_json()
        self.assertTrue(st["daemon_alive"], "the heartbeat goes on")
        # the one request, answered after 8 s: no second try (a retry
        # would come after a 5 s backoff and take 8 s more)
        wait_until(lambda: e.items() == ["three"],
                   max(1.0, t0 + 20 - time.monotonic()), "the slow send")
        self.assertEqual(e.kakao.get_json("/_control/tokens")["sends"], 1)
        self.assertEqual(e.send_requests(), sends + 1)
        e.kakao.post_json("/_control/slow", {"endpoint": "send",
                                             "seconds": 0})
        self.assert_stops_cleanly(d)

    def test_sigterm_during_a_send_waits_for_it_and_does_not_repeat_it(
            self):
        e = self.board_env()
        d = e.run()
        d.wait_log(r"check: board: baseline stored")
        e.kakao.post_json("/_control/slow", {"endpoint": "send",
                                             "seconds": 2.5})
        sends = e.send_requests()
        self.write_page("board.html", page(["one", "two", "three"]))
        d.wait_log(r"check: board: 1 new")
        wait_until(lambda: e.send_requests() > sends, 30,
                   "the send at Kakao")
        rc, took = d.stop()
        self.assertEqual(rc, 0, d.log()[-2000:])
        self.assertLess(took, 5.0)
        self.assertIn("waiting up to 5s for the message being sent",
                      d.log())
        self.assertEqual(e.items(), ["three"])
        e.kakao.post_json("/_control/slow", {"endpoint": "send",
                                             "seconds": 0})
        self.assertEqual(e.status_json()["outbox"]["pending"], 0)
        d = e.run("-v")
        d.wait_log(r"run: kakaowatch .* started")
        d.wait_checks("board")
        self.assertEqual(e.items(), ["three"], "not sent again")
        self.assert_stops_cleanly(d)

    # ---- 9. web domains ----

    def test_check_lists_the_web_domains_and_names_the_missing_ones(self):
        e = self.env()
        e.write_config([("a", "/a.html", ""), ("b", "/b.html", "")])
        p = self.kw("check", env=e.env, config=e.config)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"\[웹 도메인\].*: 127\.0\.0\.1\n")
        self.assertIn("kakao.web_domains", p.stdout)
        with open(e.config) as f:
            text = f.read()
        with open(e.config, "w") as f:
            f.write(text.replace("  sink: kakao\n", "  sink: kakao\n"
                                 "  web_domains: [example.com]\n"))
        p = self.kw("check", env=e.env, config=e.config)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("not in kakao.web_domains (register them): "
                      "127.0.0.1", p.stdout)
        with open(e.config, "w") as f:
            f.write(text.replace("  sink: kakao\n", "  sink: kakao\n"
                                 "  web_domains: [127.0.0.1]\n"))
        p = self.kw("check", env=e.env, config=e.config)
        self.assertIn("all of them are in kakao.web_domains", p.stdout)


if __name__ == "__main__":
    kwtest.main()
