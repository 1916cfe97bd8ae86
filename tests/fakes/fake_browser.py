#!/usr/bin/env python3
"""fake_browser.py - a stand-in for Chromium's --remote-debugging-pipe.

Started by kakaowatch's render module as the browser (tests/test_render.c
gives its path as `browser:`). Reads NUL-terminated DevTools commands on
fd 3, writes replies and events on fd 4, as Chromium does, for the subset
render.c sends. What the page does comes from its URL (Page.navigate):

  ...hang...      never answers Page.navigate (the render times out)
  ...crash...     dies of SIGSEGV on Page.navigate
  ...status=N...  the document's HTTP status is N (default 200)
  ...late...      wait_for matches from the third try on

The DOM is <html><body><ul><li>fake N</li></ul></body></html>, N from
?items=N (default 2). Storage.getCookies gives one cookie "sid" = "rotated".
With FAKE_BROWSER_LOG set, appends one line per command to that file
("METHOD" and, for Storage.setCookies, "cookie NAME DOMAIN-or-URL"), and
"argv ARG" lines for its arguments. Python 3 standard library only.
"""
import json
import os
import re
import signal
import sys
import time

LOG = os.environ.get("FAKE_BROWSER_LOG")


def log(line):
    if LOG:
        with open(LOG, "a") as f:
            f.write(line + "\n")


def send(obj):
    data = json.dumps(obj).encode() + b"\0"
    while data:
        n = os.write(4, data)
        data = data[n:]


def main():
    for a in sys.argv[1:]:
        log("argv " + a)
    buf = b""
    url = ""
    tries = 0
    while True:
        chunk = os.read(3, 65536)
        if not chunk:
            return
        buf += chunk
        while b"\0" in buf:
            raw, buf = buf.split(b"\0", 1)
            m = json.loads(raw)
            method, mid = m["method"], m["id"]
            params = m.get("params", {})
            sid = m.get("sessionId")
            log(method)
            reply = {"id": mid, "result": {}}
            if sid:
                reply["sessionId"] = sid
            if method == "Target.createTarget":
                reply["result"] = {"targetId": "T1"}
            elif method == "Target.attachToTarget":
                reply["result"] = {"sessionId": "S1"}
            elif method == "Storage.setCookies":
                for c in params["cookies"]:
                    log("cookie %s %s" % (c["name"],
                                          c.get("domain") or c.get("url")))
            elif method == "Page.navigate":
                url = params["url"]
                if "hang" in url:
                    while True:
                        time.sleep(60)
                if "crash" in url:
                    os.kill(os.getpid(), signal.SIGSEGV)
                st = re.search(r"status=(\d+)", url)
                send({"method": "Network.responseReceived", "sessionId": sid,
                      "params": {"type": "Document", "frameId": "T1",
                                 "response": {"url": url, "status": int(
                                     st.group(1)) if st else 200}}})
                reply["result"] = {"frameId": "T1", "loaderId": "L1"}
            elif method == "Emulation.setVirtualTimePolicy":
                send(reply)
                send({"method": "Emulation.virtualTimeBudgetExpired",
                      "sessionId": sid, "params": {}})
                continue
            elif method == "Runtime.evaluate":
                if "outerHTML" in params["expression"]:
                    n = re.search(r"items=(\d+)", url)
                    lis = "".join("<li>fake %d</li>" % i for i in range(
                        int(n.group(1)) if n else 2))
                    value = "<html><body><ul>%s</ul></body></html>" % lis
                else:
                    tries += 1
                    value = "late" not in url or tries >= 3
                reply["result"] = {"result": {"type": "string", "value":
                                              value}}
            elif method == "Storage.getCookies":
                reply["result"] = {"cookies": [{
                    "name": "sid", "value": "rotated", "domain": "127.0.0.1",
                    "path": "/", "expires": -1, "session": True,
                    "httpOnly": True, "secure": False}]}
            elif method == "Browser.close":
                send(reply)
                return
            send(reply)


if __name__ == "__main__":
    main()
