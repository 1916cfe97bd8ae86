#!/usr/bin/env python3
"""Soak test of `kakaowatch run`.

Runs the daemon for N minutes on a copy of the shipped config
(config/kakaowatch.yaml: the same watches, XPaths, keywords, exclude, the
EUC-KR board enabled) pointed at loopback pages and the strict fake Kakao,
with every interval at 1 s, while:
  - the pages change every 1-4 s (new items, some that keywords/exclude
    must filter out, old ones dropped), and now and then a page breaks for
    a few seconds (its XPath matches nothing);
  - Kakao fails now and then: HTTP 500, -9798 (503), a request that hangs
    (some longer than the client's 15 s timeout), -401 (refresh and retry),
    KOE237 on that refresh, and near the end -10 (quota: sending is held
    until 00:00 KST while checks go on).
At the end it checks `status --json` against the pages and the database,
stops the daemon with SIGTERM (exit 0 within 2 s), flushes what the quota
held with `kakaowatch once` (the "next day"), and asserts that every item
that should notify arrived at least once (duplicates are counted and
reported), none that should not, and that the RSS stayed flat.

  python3 tests/soak/soak.py --binary build/kakaowatch [--minutes 10]

Python 3 stdlib only; nothing leaves 127.0.0.1. Exit 0 when every
assertion held; the figures are printed either way.
"""
import json
import os
import re
import sqlite3
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from soakcommon import SOURCE, Rig, main  # noqa: E402

CLIENT_ID = "soak-rest-api-key"
PAGE_KEEP = 25  # items kept on a page; older ones drop off


# ---- the watched pages, shaped for the shipped XPaths ----

def esc(t):
    return t.replace("&", "&amp;").replace("<", "&lt;")


def page_rust(items):
    rows = "".join('<tr><td><a href="/rust/%d">%s</a></td></tr>' % (i, esc(t))
                   for i, t in items)
    return ('<html><body><main><table class="post-list">%s</table>'
            '</main></body></html>' % rows)


def page_hn(items):
    rows = "".join('<tr><td><span class="titleline"><a href="/hn/%d">%s</a>'
                   '</span></td></tr>' % (i, esc(t)) for i, t in items)
    return "<html><body><table>%s</table></body></html>" % rows


def page_geek(items):
    rows = "".join('<div class="topic"><div class="topictitle">'
                   '<a href="/geek/%d">%s</a></div></div>' % (i, esc(t))
                   for i, t in items)
    return "<html><body>%s</body></html>" % rows


def page_ppomppu(items):
    rows = "".join('<tr class="baseList"><td class="baseList-space title">'
                   '<div><div><a href="view.php?no=%d">%s</a></div></div>'
                   '</td></tr>' % (i, esc(t)) for i, t in items)
    return ('<html><head><meta charset="euc-kr"></head><body>'
            '<table id="revolution_main_table">%s</table></body></html>'
            % rows)


HN_WORDS = ["Rust", "SQLite", "Kakao", "Korea"]
PP_WORDS = ["SSD", "모니터"]


class Watch:
    def __init__(self, name, path, render, charset=None, keywords=None,
                 exclude=None):
        self.name, self.path, self.render = name, path, render
        self.charset = charset
        self.keywords = keywords or []
        self.exclude = exclude or []
        self.items = []        # (id, title) in page order
        self.expected = set()  # titles that must be notified
        self.silent = set()    # titles that must not be
        self.broken_until = 0

    def notifies(self, title):
        t = title.lower()
        if self.keywords and not any(k.lower() in t for k in self.keywords):
            return False
        return not any(x.lower() in t for x in self.exclude)


class Soak(Rig):
    name = "soak"

    def __init__(self, args):
        super().__init__(args, KAKAO_REST_API_KEY=CLIENT_ID)
        self.next_id = 1000
        self.rss = []

    # -- setup --
    def start(self):
        self.start_fakes(CLIENT_ID)
        self.watches = [
            Watch("rust-blog", "/rust-blog.html", page_rust),
            Watch("hacker-news", "/hn.html", page_hn, keywords=HN_WORDS),
            Watch("geeknews", "/geeknews.html", page_geek,
                  exclude=["광고"]),
            Watch("뽐뿌", "/ppomppu.html", page_ppomppu, charset="euc-kr",
                  keywords=PP_WORDS),
        ]
        for w in self.watches:
            for _ in range(5):
                w.items.insert(0, (self.new_id(), self.title(w, False)))
            self.write(w)
        self.write_config()
        self.authorize()

    def write_config(self):
        """The shipped config with loopback URLs and 1 s intervals."""
        with open(os.path.join(SOURCE, "config", "kakaowatch.yaml"),
                  encoding="utf-8") as f:
            text = f.read()
        urls = {w.name: self.pages.url(w.path) for w in self.watches}
        out, name = [], None
        for line in text.splitlines():
            m = re.match(r"\s*- name: (.+)$", line)
            if m:
                name = m.group(1).strip()
            if re.match(r"\s+url: ", line) and name in urls:
                line = re.sub(r"url: .*", "url: " + urls[name], line)
            line = re.sub(r"^(\s+)interval: .*", r"\1interval: 1s", line)
            line = re.sub(r"^(\s+)enabled: false", r"\1enabled: true", line)
            line = re.sub(r"^max_messages_per_day: .*",
                          "max_messages_per_day: 10000", line)
            out.append(line)
            if re.match(r"\s+redirect_uri: ", line):
                out.append("  auth_base_url: " + self.kakao.base)
                out.append("  api_base_url: " + self.kakao.base)
        with open(self.config, "w", encoding="utf-8") as f:
            f.write("\n".join(out) + "\n")
        missing = [w.name for w in self.watches if urls[w.name] not in
                   "\n".join(out)]
        if missing:
            raise SystemExit("shipped config has no watch %s" % missing)

    def new_id(self):
        self.next_id += 1
        return self.next_id

    def title(self, w, notify):
        n = self.next_id
        if w.name == "hacker-news":
            word = self.rng.choice(HN_WORDS) if notify else "Go"
            return "Show HN %d: %s news %d" % (n, word, n)
        if w.name == "뽐뿌":
            word = self.rng.choice(PP_WORDS) if notify else "키보드"
            return "[특가] %s 할인 %d호" % (word, n)
        if w.name == "geeknews":
            return ("광고 %d: 구독 혜택" % n) if not notify else \
                "긱뉴스 %d: 러스트 소식" % n
        return "Announcing Rust 1.%d" % n

    def write(self, w):
        html = w.render(w.items) if time.time() >= w.broken_until else \
            "<html><body><p>점검 중 (maintenance)</p></body></html>"
        path = os.path.join(self.root, w.path.lstrip("/"))
        data = html.encode(w.charset or "utf-8")
        with open(path + ".tmp", "wb") as f:
            f.write(data)
        os.replace(path + ".tmp", path)
        if w.charset:
            with open(path + ".charset", "w") as f:
                f.write(w.charset)

    # -- the run --
    def change_pages(self):
        while not self.stop.wait(self.rng.uniform(1.0, 4.0)):
            w = self.rng.choice(self.watches)
            if time.time() < w.broken_until:
                continue
            if self.rng.random() < 0.03:
                # the site's markup breaks for a while: XPath matches nothing
                w.broken_until = time.time() + self.rng.uniform(2, 8)
                self.write(w)
                threading.Timer(w.broken_until - time.time() + 0.1,
                                self.write, (w,)).start()
                continue
            for _ in range(self.rng.randint(1, 2)):
                notify = not w.keywords and not w.exclude or \
                    self.rng.random() < 0.7
                t = self.title(w, notify)
                self.new_id()
                (w.expected if w.notifies(t) else w.silent).add(t)
                w.items.insert(self.rng.randint(0, 2), (self.next_id, t))
            del w.items[PAGE_KEEP:]
            self.write(w)

    def inject_quota(self):
        if not self.stop.is_set():
            self.fail(code=-10)
            self.faults.append("quota -10")

    def inject_faults(self):
        kinds = ["500", "9798", "hang", "hang-long", "401", "koe237"]
        while not self.stop.wait(self.rng.uniform(35, 70)):
            k = self.rng.choice(kinds)
            if k == "500":
                self.fail(status=500, count=self.rng.randint(1, 2))
            elif k == "9798":
                self.fail(code=-9798)
            elif k == "hang":
                self.fail(hang=self.rng.uniform(2, 4))
            elif k == "hang-long":
                self.fail(hang=17)  # past the client's 15 s timeout
            elif k == "401":
                self.fail(code=-401)
            elif k == "koe237":
                self.fail(code=-401)
                self.fail(endpoint="token", error_code="KOE237")
            self.faults.append(k)

    def sample_rss(self, pid):
        while not self.stop.wait(5):
            try:
                with open("/proc/%d/status" % pid) as f:
                    for line in f:
                        if line.startswith("VmRSS:"):
                            self.rss.append((time.monotonic(),
                                             int(line.split()[1])))
            except OSError:
                return

    def run(self):
        self.start()
        proc = self.start_daemon()
        t0 = time.monotonic()
        threads = [
            threading.Thread(target=self.change_pages, daemon=True),
            threading.Thread(target=self.inject_faults, daemon=True),
            threading.Timer(self.args.minutes * 60 * 0.85,
                            self.inject_quota),
            threading.Thread(target=self.sample_rss, args=(proc.pid,),
                             daemon=True),
        ]
        self.run_threads(proc, threads, self.args.minutes, lambda: (
            "%d messages at Kakao, faults so far %s, RSS %s kB" % (
                len(self.messages()), len(self.faults),
                self.rss[-1][1] if self.rss else "?")))
        # let broken pages heal and the last changes be seen
        for w in self.watches:
            w.broken_until = 0
            self.write(w)
        time.sleep(4)
        self.check_status(proc)
        rc, took = self.stop_daemon(proc, 10)
        if rc != 0 or took >= 2:
            self.failures.append("SIGTERM: exit %s after %.2fs" % (rc, took))
        self.sigterm = (rc, took)
        held = len(self.messages())
        # the "next day": Kakao takes messages again (faults queued behind
        # the quota hold are dropped) and `once` sends what was held
        self.heal_kakao()
        p = self.kw("once")
        self.flushed = len(self.messages()) - held
        if p.returncode != 0:
            self.failures.append("the final `once` failed: " + p.stderr)
        self.verify(t0)

    # -- checks --
    def messages(self):
        return [m["template_object"] for m in self.kakao_messages()]

    def check_status(self, proc):
        p = self.kw("status", "--json")
        if p.returncode != 0:
            self.failures.append("status failed: " + p.stderr)
            return
        st = json.loads(p.stdout)
        now = time.time()
        if not st["daemon_alive"]:
            self.failures.append("status: daemon not alive")
        db = sqlite3.connect("file:%s?mode=ro" % os.path.join(
            self.state, "kakaowatch.db"), uri=True)
        pending = db.execute("SELECT count(*) FROM outbox").fetchone()[0]
        db.close()
        if st["outbox"]["pending"] != pending:
            self.failures.append("status: outbox %d, database %d" % (
                st["outbox"]["pending"], pending))
        self.status_pending = pending
        self.quota_hold = st["outbox"]["quota_hold_until"]
        for w in self.watches:
            s = [x for x in st["watches"] if x["name"] == w.name][0]
            want = len(w.items)
            problems = []
            if s["items"] != want:
                problems.append("items %s, page has %d" % (s["items"], want))
            if s["failures"] != 0:
                problems.append("failures %s (%s)" % (s["failures"],
                                                      s["last_error"]))
            if s["last_check"] is None or now - s["last_check"] > 4:
                problems.append("last check %s" % s["last_check"])
            if s["next_check"] is None or s["next_check"] > now + 3:
                problems.append("next check %s" % s["next_check"])
            if problems:
                self.failures.append("status of %s: %s" % (
                    w.name, ", ".join(problems)))
        self.status = st

    def verify(self, t0):
        msgs = self.messages()
        seen = {}
        more = 0
        notices = {"failing": 0, "recovered": 0, "other": 0}
        names = {w.name: w for w in self.watches}
        unexpected = []
        for m in msgs:
            if m["object_type"] == "list":
                head = m["header_title"]
                titles = [c["title"] for c in m["contents"]]
            else:
                lines = m["text"].split("\n")
                head, titles = lines[0], lines[1:]
            mm = re.match(r"(.+?): \d+ new( \(\+(\d+) more\))?$", head)
            if not mm:
                if "watch is failing" in head:
                    notices["failing"] += 1
                elif "recovered" in head:
                    notices["recovered"] += 1
                else:
                    notices["other"] += 1
                continue
            w = names.get(mm.group(1))
            if mm.group(3):
                more += int(mm.group(3))
            for t in titles:
                seen[t] = seen.get(t, 0) + 1
                if w is None or t not in w.expected:
                    unexpected.append(t)
        expected = set()
        silent = set()
        for w in self.watches:
            expected |= w.expected
            silent |= w.silent
        missing = expected - set(seen)
        dups = {t: n for t, n in seen.items() if n > 1}
        wrongly = silent & set(seen)
        rss = [kb for _, kb in self.rss]
        warm = [kb for t, kb in self.rss if t - t0 > 60]
        checks = self.page_requests()
        errlog = self.errlog()
        figures = {
            "minutes": self.args.minutes,
            "checks (page requests)": checks,
            "changes that must notify": len(expected),
            "filtered items (must not notify)": len(silent),
            "messages at Kakao": len(msgs),
            "sent by the final `once` (quota held)": self.flushed,
            "items delivered": len(seen),
            "missing": len(missing),
            "covered only by '(+N more)'": more,
            "duplicate items": len(dups),
            "filtered items that notified": len(wrongly),
            "notices failing/recovered/other": "%d/%d/%d" % (
                notices["failing"], notices["recovered"], notices["other"]),
            "faults injected": len(self.faults),
            "fault kinds": ",".join(sorted(set(self.faults))),
            "send retries logged": len(re.findall(r"sending failed",
                                                  errlog)),
            "outbox at the end (status = db)": self.status_pending,
            "quota hold until (unix)": self.quota_hold,
            "SIGTERM exit/seconds": "%s/%.2f" % self.sigterm,
            "RSS kB first/after 1 min/last/max": "%s/%s/%s/%s" % (
                rss[0] if rss else "?", warm[0] if warm else "?",
                rss[-1] if rss else "?", max(rss) if rss else "?"),
            "log lines": errlog.count("\n"),
            "errors in log": len(re.findall(r"Z error ", errlog)),
        }
        self.print_figures(figures)
        if len(missing) > more:
            self.failures.append("%d changes never arrived: %s" % (
                len(missing), sorted(missing)[:10]))
        if wrongly:
            self.failures.append("filtered items notified: %s"
                                 % sorted(wrongly)[:10])
        if unexpected:
            self.failures.append("unexpected items: %s" % unexpected[:10])
        if dups:
            # at-least-once: a duplicate needs a crash between Kakao's OK
            # and the commit; this run has none, so there must be none
            self.failures.append("duplicates: %s" % list(dups.items())[:10])
        with open(self.args.binary, "rb") as f:
            asan = b"AddressSanitizer" in f.read()
        if asan:
            print("(an ASan build: its quarantine makes the RSS grow; not "
                  "checked)")
        if len(warm) >= 4 and not asan:
            growth = warm[-1] - warm[0]
            if growth > 2048:
                self.failures.append("RSS grew by %d kB after warm-up"
                                     % growth)
        if self.args.minutes >= 2 and self.quota_hold is None:
            self.failures.append("the -10 quota did not hold sending")


if __name__ == "__main__":
    sys.exit(main(Soak, __doc__))
