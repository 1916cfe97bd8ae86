#!/usr/bin/env python3
"""make_v1_db.py - make the state database of kakaowatch 0.1 (schema 1).

Usage: make_v1_db.py OLD_BINARY OUT_DIR

OLD_BINARY is `kakaowatch` built from commit 0dc9784 (the release before
item keys: `git worktree add /tmp/old 0dc9784`, build it there). Runs it
against the loopback page server and the fake Kakao (sends failing with
HTTP 500, so the messages stay queued) for three `once` checks of two
watches, and writes OUT_DIR/v1-0dc9784.db (the database, checkpointed into
one file) and OUT_DIR/v1-0dc9784.json (what the test needs to know: the
page server's address then, and the boards' final state). Used once to
make the committed fixture; kept so that it can be made again.
"""
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "integration"))
os.environ.setdefault("KW_FAKES_DIR", os.path.join(HERE, "..", "..", "fakes"))
import boardsim  # noqa: E402
import kwtest  # noqa: E402

CLIENT_ID = "fixture-client-id"
REDIRECT = "http://localhost:5000/oauth"


def js_page(titles):
    rows = "\n".join('<li><a href="javascript:void(0)">%s</a></li>' % t
                     for t in titles)
    return "<html><body><ul class='n'>%s</ul></body></html>" % rows


def main():
    binary, out_dir = sys.argv[1], sys.argv[2]
    tmp = tempfile.mkdtemp(prefix="kw-v1-")
    root = os.path.join(tmp, "pages")
    os.mkdir(root)
    state = os.path.join(tmp, "state")
    pages = kwtest.Server("pageserver.py", "--root", root)
    kakao = kwtest.Server("fake_kakao.py", "--client-id", CLIENT_ID,
                          "--redirect-uri", REDIRECT)

    def write(name, text):
        with open(os.path.join(root, name + ".tmp"), "w") as f:
            f.write(text)
        os.replace(os.path.join(root, name + ".tmp"),
                   os.path.join(root, name))

    config = os.path.join(tmp, "kakaowatch.yaml")
    with open(config, "w") as f:
        f.write("""
state_dir: %s
kakao:
  rest_api_key: %s
  redirect_uri: %s
  auth_base_url: %s
  api_base_url: %s
  sink: kakao
defaults:
  interval: 1m
  timeout: 5s
watches:
  - name: deals
    url: %s
    xpath: %s
  - name: jsboard
    url: %s
    xpath: //ul[@class='n']/li/a
""" % (state, CLIENT_ID, REDIRECT, kakao.base, kakao.base,
            pages.url("/board.html"), boardsim.XPATH,
            pages.url("/js.html")))

    def kw(*args):
        p = subprocess.run([binary, "-c", config, *args],
                           capture_output=True, text=True, timeout=60)
        print("$ kakaowatch", *args, "->", p.returncode)
        print(p.stdout + p.stderr)
        return p

    board = boardsim.Board(page_size=5)
    for i, t in enumerate(["오늘의 특가", "라면 한 박스", "무선 이어폰",
                           "커피 원두 1kg", "모니터 27인치"]):
        board.post(t, comments=i % 3)
    js = ["알림 하나", "알림 둘"]
    write("board.html", board.render())
    write("js.html", js_page(js))

    code = kakao.post_json("/_control/issue-code")["code"]
    assert kw("auth", "--code", code).returncode == 0
    kakao.post_json("/_control/fail",
                    {"endpoint": "send", "status": 500, "count": 1000})
    assert kw("once").returncode == 0          # baseline

    board.post("신상 특가 A")                   # 106; 101 slides off
    write("board.html", board.render())
    kw("once")

    board.find(103).comments += 1              # a comment: old "new"
    board.post("신상 특가 B", comments=1)       # 107; 102 slides off
    js.append("알림 셋")
    write("board.html", board.render())
    write("js.html", js_page(js))
    kw("once")

    pages.stop()
    kakao.stop()
    db = os.path.join(state, "kakaowatch.db")
    con = sqlite3.connect(db)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.execute("PRAGMA journal_mode=DELETE")
    con.close()
    os.makedirs(out_dir, exist_ok=True)
    shutil.copyfile(db, os.path.join(out_dir, "v1-0dc9784.db"))
    with open(os.path.join(out_dir, "v1-0dc9784.json"), "w") as f:
        json.dump({
            "made_by": "kakaowatch 0dc9784 (schema 1), make_v1_db.py",
            "page_base": pages.base,
            "deals": [{"pid": p.pid, "title": p.title,
                       "comments": p.comments} for p in board.posts],
            "deals_page_size": board.page_size,
            "jsboard": js,
        }, f, ensure_ascii=False, indent=1)
        f.write("\n")
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
