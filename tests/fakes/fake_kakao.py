#!/usr/bin/env python3
"""A strict fake of Kakao's kauth + kapi for the "send to me" flow.

Follows docs/kakao.md (the project's Kakao contract). One
process plays both hosts on 127.0.0.1: point kakao.auth_base_url and
kakao.api_base_url at it. Python 3 stdlib only. State is in memory (and in
--state-file when given). See tests/fakes/README.md for the control API.

  python3 fake_kakao.py --client-id ID [--client-secret S]
      --redirect-uri URI [--redirect-uri URI2 ...] [--port 0]
      [--port-file F] [--state-file F] [--verbose]

Prints the port on the first stdout line.
"""
import argparse
import json
import os
import secrets
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ACCESS_TTL = 21599            # observed REST API access token lifetime (§2.1)
REFRESH_TTL = 5183999         # observed refresh token lifetime (§2.1)
ROTATE_BELOW = 30 * 86400     # rotate when under 1 month is left (§2.2)
CODE_TTL = 600                # authorization code lifetime (3rd party, §8.2)
KST = 9 * 3600                # daily quotas reset at KST midnight (assumed)
FORM = "application/x-www-form-urlencoded"

# kauth error table (docs/kakao.md §6.3): code -> (HTTP status, error class,
# description). Statuses are UNCONFIRMED per code; 400 is typical, 401 for
# invalid_client as a Kakao SDK test mock does.
KOE = {
    "KOE001": (400, "invalid_request", "bad request"),
    "KOE003": (500, "server_error", "temporary server error"),
    "KOE004": (400, "misconfigured", "kakao login is not enabled"),
    "KOE006": (400, "misconfigured", "redirect uri is not registered"),
    "KOE009": (400, "misconfigured", "unregistered platform"),
    "KOE010": (401, "invalid_client", "Bad client credentials"),
    "KOE101": (401, "invalid_client", "invalid app key"),
    "KOE201": (400, "invalid_request", "Unsupported response type"),
    "KOE202": (400, "invalid_request", "implicit grant is not supported"),
    "KOE237": (400, "invalid_request", "token request rate limit exceeded"),
    "KOE303": (400, "invalid_grant", "Redirect URI mismatch."),
    "KOE319": (400, "invalid_grant", "refresh_token is required"),
    "KOE320": (400, "invalid_grant", "authorization code not found"),
    "KOE322": (400, "invalid_grant", "expired_or_invalid_refresh_token"),
}

# kapi error table (docs/kakao.md §6.2): code -> (HTTP status, msg)
KAPI = {
    -1: (400, "internal error"),
    -2: (400, "invalid parameter"),
    -3: (403, "App disabled [talk_message] scopes for "
              "[TALK_MEMO_DEFAULT_SEND] API on developers.kakao.com. "
              "Enable it first."),
    -7: (400, "service is under maintenance"),
    -10: (400, "API limit has been exceeded."),
    -11: (400, "paid API limit has been exceeded."),
    -401: (401, "this access token does not exist"),
    -402: (403, "insufficient scopes."),
    -532: (400, "daily message limit exceeded"),
    -536: (400, "daily message limit between sender and receiver "
                "exceeded"),
    -9798: (503, "서비스 점검중"),
}

KNOWN_SCOPES = {"talk_message", "profile_nickname", "profile_image",
                "account_email", "openid"}


class Invalid(Exception):
    """A template validation failure -> {"code":-2,"msg":...}."""


class State:
    """Everything the fake knows; guarded by `lock`."""

    def __init__(self, args):
        self.lock = threading.Lock()
        self.client_id = args.client_id
        self.client_secret = args.client_secret
        self.redirect_uris = list(args.redirect_uri)
        self.state_file = args.state_file
        self.offset = 0.0             # fake clock = time.time() + offset
        self.codes = {}               # code -> dict
        self.access = {}              # token -> {expires_at, scopes}
        self.refresh = {}             # token -> {expires_at, scopes}
        self.messages = []            # accepted template objects
        self.fails = []               # injected failures, in order
        self.access_times = []        # issued access tokens (rate limit)
        self.refresh_times = []       # successful refreshes (rate limit)
        self.access_limit = args.access_limit
        self.refresh_limit = args.refresh_limit
        self.daily_limit = args.daily_limit
        self.talk_message_enabled = True   # app-level consent item (-3)
        self.grant_talk_message = True     # user ticks the box (-402)
        self.deny = False                  # user presses 취소
        self.slow = {}                     # endpoint -> seconds per answer
        self.counts = {"codes_issued": 0, "codes_used": 0,
                       "access_tokens_issued": 0, "refreshes": 0,
                       "rotations": 0, "sends": 0, "rejected_sends": 0,
                       "token_requests": 0, "send_requests": 0}
        self.load()

    def now(self):
        return time.time() + self.offset

    # --state-file: survive a restart of the fake
    def load(self):
        if not self.state_file or not os.path.exists(self.state_file):
            return
        with open(self.state_file, encoding="utf-8") as f:
            d = json.load(f)
        for k in ("offset", "codes", "access", "refresh", "messages",
                  "access_times", "refresh_times", "counts",
                  "talk_message_enabled", "grant_talk_message", "deny"):
            if k in d:
                setattr(self, k, d[k])

    def save(self):
        if not self.state_file:
            return
        d = {k: getattr(self, k) for k in (
            "offset", "codes", "access", "refresh", "messages",
            "access_times", "refresh_times", "counts",
            "talk_message_enabled", "grant_talk_message", "deny")}
        tmp = self.state_file + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(d, f)
        os.replace(tmp, self.state_file)

    def take_fail(self, endpoint):
        for f in self.fails:
            if f["endpoint"] != endpoint:
                continue
            if f["skip"] > 0:
                f["skip"] -= 1
                return None
            f["count"] -= 1
            if f["count"] <= 0:
                self.fails.remove(f)
            return f
        return None

    def new_code(self, redirect_uri, scopes):
        code = secrets.token_urlsafe(48)
        self.codes[code] = {"redirect_uri": redirect_uri,
                            "scopes": sorted(scopes),
                            "expires_at": self.now() + CODE_TTL,
                            "used": False}
        self.counts["codes_issued"] += 1
        return code

    def rate_limited(self, times, limit):
        n, window = limit
        now = self.now()
        times[:] = [t for t in times if t > now - window]
        return len(times) >= n


def parse_limit(s):
    n, _, w = s.partition("/")
    return (int(n), int(w))


def abs_http_url(v):
    if not isinstance(v, str):
        return False
    u = urllib.parse.urlsplit(v)
    return u.scheme in ("http", "https") and bool(u.netloc) and \
        not any(c in v for c in " \t\r\n")


def check_keys(obj, allowed, where):
    if not isinstance(obj, dict):
        raise Invalid("%s must be an object" % where)
    for k in obj:
        if k not in allowed:
            raise Invalid("%s: unknown field '%s'" % (where, k))


def check_str(obj, key, where, required=False, max_len=None):
    if key not in obj:
        if required:
            raise Invalid("%s.%s is required" % (where, key))
        return
    v = obj[key]
    if not isinstance(v, str):
        raise Invalid("%s.%s must be a string" % (where, key))
    if required and v == "":
        raise Invalid("%s.%s must not be empty" % (where, key))
    if max_len is not None and len(v) > max_len:
        raise Invalid("%s.%s is longer than %d characters (%d)" % (
            where, key, max_len, len(v)))


def check_int(obj, key, where):
    if key in obj and (not isinstance(obj[key], int) or
                       isinstance(obj[key], bool)):
        raise Invalid("%s.%s must be an integer" % (where, key))


def check_link(link, where):
    """Link (§5.7): all optional but at least one; web URLs absolute."""
    check_keys(link, ("web_url", "mobile_web_url",
                      "android_execution_params", "ios_execution_params"),
               where)
    if not link:
        raise Invalid("%s: a link needs at least one field" % where)
    for k in ("web_url", "mobile_web_url"):
        if k in link and not abs_http_url(link[k]):
            raise Invalid("%s.%s must be an absolute http(s) URL" % (
                where, k))
    for k in ("android_execution_params", "ios_execution_params"):
        check_str(link, k, where)


def check_buttons(t, where, max_n=2):
    check_str(t, "button_title", where)
    if "buttons" not in t:
        return
    b = t["buttons"]
    if not isinstance(b, list) or len(b) > max_n:
        raise Invalid("%s.buttons must be a list of at most %d" % (
            where, max_n))
    for i, btn in enumerate(b):
        w = "%s.buttons[%d]" % (where, i)
        check_keys(btn, ("title", "link"), w)
        check_str(btn, "title", w, required=True)
        if "link" not in btn:
            raise Invalid("%s.link is required" % w)
        check_link(btn["link"], w + ".link")


def check_content(c, where, need_title=False):
    """Content (§5.7): link required; title etc. optional."""
    check_keys(c, ("title", "image_url", "image_width", "image_height",
                   "description", "link"), where)
    check_str(c, "title", where, required=need_title)
    check_str(c, "description", where)
    # image_url: a picture Kakao's server fetches from the web (docs/kakao.md
    # §5.7, S9): an absolute http(s) URL, a string
    if "image_url" in c and not abs_http_url(c["image_url"]):
        raise Invalid("%s.image_url must be an absolute http(s) URL" % where)
    for k in ("image_width", "image_height"):
        check_int(c, k, where)
        if k in c and c[k] <= 0:
            raise Invalid("%s.%s must be a positive number of pixels" % (
                where, k))
    if "link" not in c:
        raise Invalid("%s.link is required" % where)
    check_link(c["link"], where + ".link")


def validate_template(t):
    """Default templates text, feed, list per docs/kakao.md §5."""
    if not isinstance(t, dict):
        raise Invalid("template_object must be a JSON object")
    kind = t.get("object_type")
    if kind == "text":
        check_keys(t, ("object_type", "text", "link", "button_title",
                       "buttons"), "text")
        check_str(t, "text", "text", required=True, max_len=200)
        if "link" not in t:
            raise Invalid("text.link is required")
        check_link(t["link"], "text.link")
        check_buttons(t, "text")
    elif kind == "feed":
        check_keys(t, ("object_type", "content", "item_content", "social",
                       "button_title", "buttons"), "feed")
        if "content" not in t:
            raise Invalid("feed.content is required")
        check_content(t["content"], "feed.content")
        if "item_content" in t and not isinstance(t["item_content"], dict):
            raise Invalid("feed.item_content must be an object")
        if "social" in t:
            check_keys(t["social"], ("like_count", "comment_count",
                                     "shared_count", "view_count",
                                     "subscriber_count"), "feed.social")
            for k in t["social"]:
                check_int(t["social"], k, "feed.social")
        check_buttons(t, "feed")
    elif kind == "list":
        check_keys(t, ("object_type", "header_title", "header_link",
                       "contents", "button_title", "buttons"), "list")
        check_str(t, "header_title", "list", required=True, max_len=200)
        if "header_link" not in t:
            raise Invalid("list.header_link is required")
        check_link(t["header_link"], "list.header_link")
        c = t.get("contents")
        if not isinstance(c, list) or not 2 <= len(c) <= 3:
            raise Invalid("list.contents must hold 2 to 3 contents")
        for i, item in enumerate(c):
            check_content(item, "list.contents[%d]" % i, need_title=True)
        check_buttons(t, "list")
    else:
        raise Invalid("object_type must be text, feed or list (this fake "
                      "does not model the others)")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-kakao/1"

    # ---- plumbing ----
    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("fake_kakao: " + (fmt % args) + "\n")

    def send_raw(self, status, body, ctype, headers=()):
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def send_json(self, status, obj, headers=()):
        self.send_raw(status, json.dumps(obj, ensure_ascii=False),
                      "application/json;charset=UTF-8", headers)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def read_form(self, raw):
        """Strict form parsing; returns dict or None (bad form)."""
        try:
            text = raw.decode("utf-8")
            pairs = urllib.parse.parse_qsl(text, keep_blank_values=True,
                                           strict_parsing=bool(text),
                                           errors="strict")
        except (UnicodeDecodeError, ValueError):
            return None
        form = {}
        for k, v in pairs:
            if k in form:
                return None
            form[k] = v
        return form

    def is_form(self):
        ct = (self.headers.get("Content-Type") or "").split(";")[0]
        return ct.strip().lower() == FORM

    def koe(self, code, desc=None):
        status, error, d = KOE[code]
        self.send_json(status, {"error": error,
                                "error_description": desc or d,
                                "error_code": code})

    def kapi_error(self, code, extra=None):
        status, msg = KAPI.get(code, (400, "error"))
        body = {"msg": msg, "code": code}
        body.update(extra or {})
        headers = ()
        if code == -401:
            headers = (("WWW-Authenticate", "Bearer error=invalid_token"),)
        self.send_json(status, body, headers)

    def error_page(self, code, what):
        """Errors at authorize are shown on Kakao's page (§1.2, §6.3)."""
        html = ("<!DOCTYPE html><html><head><meta charset=\"utf-8\">"
                "<title>Error</title></head><body><h1>잘못된 요청 (%s)</h1>"
                "<p>%s</p></body></html>" % (code, what))
        self.send_raw(400, html, "text/html;charset=utf-8")

    def injected(self, f):
        """Answer a request with an injected failure."""
        if f.get("hang"):
            time.sleep(float(f["hang"]))
            self.close_connection = True
            return
        if f.get("malformed"):
            self.send_raw(int(f.get("status") or 200), '{"result_code":',
                          "application/json;charset=UTF-8")
            return
        if "error_code" in f:
            self.koe(f["error_code"])
            return
        if "code" in f:
            self.kapi_error(int(f["code"]))
            return
        status = int(f.get("status") or 500)
        if "body" in f:
            self.send_json(status, f["body"])
        else:
            self.send_raw(status, f.get("raw_body", "Internal Server Error"),
                          f.get("content_type", "text/plain"))

    # ---- dispatch ----
    def do_GET(self):
        self.route("GET")

    def do_POST(self):
        self.route("POST")

    def do_DELETE(self):
        self.route("DELETE")

    def route(self, method):
        url = urllib.parse.urlsplit(self.path)
        body = self.read_body()
        st = self.server.state
        if url.path.startswith("/_control/"):
            return self.control(method, url.path[len("/_control/"):],
                                url.query, body)
        table = {
            ("GET", "/oauth/authorize"): self.authorize,
            ("POST", "/oauth/token"): self.token,
            ("POST", "/v2/api/talk/memo/default/send"): self.memo_send,
        }
        fn = table.get((method, url.path))
        if fn is None:
            if any(p == url.path for _, p in table):
                self.send_json(405, {"msg": "method not allowed",
                                     "code": -2})
            else:
                self.send_json(404, {"msg": "not found", "code": -9})
            return
        endpoint = {"/oauth/token": "token",
                    "/oauth/authorize": "authorize"}.get(url.path, "send")
        with st.lock:
            if endpoint in ("token", "send"):
                st.counts.setdefault(endpoint + "_requests", 0)
                st.counts[endpoint + "_requests"] += 1
            f = st.take_fail(endpoint)
            delay = float(st.slow.get(endpoint, 0))
        if delay > 0:
            time.sleep(delay)           # a slow Kakao (outside the lock)
        if f is not None:
            return self.injected(f)
        with st.lock:
            fn(url.query, body)
            st.save()

    # ---- kauth ----
    def authorize(self, query, _body):
        st = self.server.state
        q = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
        if q.get("client_id") != st.client_id:
            return self.error_page("KOE101", "앱 키가 잘못되었습니다")
        ru = q.get("redirect_uri")
        if ru not in st.redirect_uris:
            return self.error_page(
                "KOE006", "등록되지 않은 리다이렉트 URI를 사용해 "
                "인가 코드를 요청했습니다 (redirect uri not registered)")
        rt = q.get("response_type")
        if rt == "token":
            return self.error_page("KOE202", "implicit grant")
        if rt != "code":
            return self.error_page("KOE201", "Unsupported response type")
        scopes = set(s for s in q.get("scope", "").split(",") if s)
        bad = scopes - KNOWN_SCOPES
        if bad:
            return self.error_page("KOE205", "잘못된 요청 (unknown scope "
                                   "%s)" % ",".join(sorted(bad)))
        sep = "&" if "?" in ru else "?"
        if st.deny:
            loc = ru + sep + urllib.parse.urlencode(
                {"error": "access_denied",
                 "error_description": "User denied access"},
                quote_via=urllib.parse.quote)
        else:
            granted = {"profile_nickname"}
            if st.grant_talk_message and st.talk_message_enabled:
                granted |= scopes & {"talk_message"}
            params = {"code": st.new_code(ru, granted)}
            if "state" in q:
                params["state"] = q["state"]
            loc = ru + sep + urllib.parse.urlencode(params)
        self.send_raw(302, "", "text/html;charset=utf-8",
                      (("Location", loc),))

    def token(self, _query, raw):
        st = self.server.state
        if not self.is_form():
            return self.koe("KOE001", "content type must be " + FORM)
        form = self.read_form(raw)
        if form is None:
            return self.koe("KOE001", "malformed form body")
        if form.get("client_id") != st.client_id:
            return self.koe("KOE101")
        if st.client_secret is not None and \
                form.get("client_secret") != st.client_secret:
            return self.koe("KOE010")
        grant = form.get("grant_type")
        if grant == "authorization_code":
            return self.grant_code(form)
        if grant == "refresh_token":
            return self.grant_refresh(form)
        self.send_json(400, {"error": "unsupported_grant_type",
                             "error_description": "grant_type",
                             "error_code": "KOE001"})

    def issue_access(self, scopes):
        st = self.server.state
        tok = secrets.token_urlsafe(40)
        st.access[tok] = {"expires_at": st.now() + ACCESS_TTL,
                          "scopes": sorted(scopes)}
        st.access_times.append(st.now())
        st.counts["access_tokens_issued"] += 1
        return tok

    def issue_refresh(self, scopes):
        st = self.server.state
        tok = secrets.token_urlsafe(40)
        st.refresh[tok] = {"expires_at": st.now() + REFRESH_TTL,
                           "scopes": sorted(scopes)}
        return tok

    def grant_code(self, form):
        st = self.server.state
        code = form.get("code", "")
        c = st.codes.get(code)
        if c is None or c["used"] or c["expires_at"] <= st.now():
            return self.koe("KOE320", "authorization code not found for "
                            "code=" + code)
        if form.get("redirect_uri") != c["redirect_uri"]:
            return self.koe("KOE303")
        if st.rate_limited(st.access_times, st.access_limit):
            return self.koe("KOE237")
        c["used"] = True
        st.counts["codes_used"] += 1
        scopes = c["scopes"]
        self.send_json(200, {
            "token_type": "bearer",
            "access_token": self.issue_access(scopes),
            "expires_in": ACCESS_TTL,
            "refresh_token": self.issue_refresh(scopes),
            "refresh_token_expires_in": REFRESH_TTL,
            "scope": " ".join(scopes),
        })

    def grant_refresh(self, form):
        st = self.server.state
        if "refresh_token" not in form or form["refresh_token"] == "":
            return self.koe("KOE319")
        old = form["refresh_token"]
        r = st.refresh.get(old)
        if r is None or r["expires_at"] <= st.now():
            st.refresh.pop(old, None)
            return self.koe("KOE322")
        if st.rate_limited(st.refresh_times, st.refresh_limit) or \
                st.rate_limited(st.access_times, st.access_limit):
            return self.koe("KOE237")
        st.refresh_times.append(st.now())
        st.counts["refreshes"] += 1
        resp = {"access_token": self.issue_access(r["scopes"]),
                "token_type": "bearer", "expires_in": ACCESS_TTL}
        if r["expires_at"] - st.now() < ROTATE_BELOW:
            del st.refresh[old]         # the old one dies (§2.2, S5)
            resp["refresh_token"] = self.issue_refresh(r["scopes"])
            resp["refresh_token_expires_in"] = REFRESH_TTL
            st.counts["rotations"] += 1
        self.send_json(200, resp)

    # ---- kapi ----
    def memo_send(self, _query, raw):
        st = self.server.state
        auth = self.headers.get("Authorization") or ""
        if not auth.startswith("Bearer "):
            return self.kapi_error(-401)
        a = st.access.get(auth[len("Bearer "):])
        if a is None or a["expires_at"] <= st.now():
            return self.kapi_error(-401)
        if not st.talk_message_enabled:
            return self.kapi_error(-3)
        if "talk_message" not in a["scopes"]:
            return self.kapi_error(-402, {
                "api_type": "TALK_MEMO_DEFAULT_SEND",
                "required_scopes": ["talk_message"],
                "allowed_scopes": a["scopes"]})
        if not self.is_form():
            return self.reject("content type must be " + FORM)
        form = self.read_form(raw)
        if form is None:
            return self.reject("malformed form body")
        if "template_object" not in form:
            return self.reject("template_object is required")
        text = form["template_object"]
        try:
            tpl = json.loads(text)
        except ValueError as e:
            return self.reject("template_object is not valid JSON: %s" % e)
        try:
            validate_template(tpl)
        except Invalid as e:
            return self.reject(str(e))
        if st.daily_limit > 0:
            day = int((st.now() + KST) // 86400)
            sent = sum(1 for m in st.messages
                       if int((m["at"] + KST) // 86400) == day)
            if sent >= st.daily_limit:
                return self.kapi_error(-10)
        st.messages.append({"template_object": tpl, "raw": text,
                            "at": st.now()})
        st.counts["sends"] += 1
        self.send_json(200, {"result_code": 0})

    def reject(self, why):
        self.server.state.counts["rejected_sends"] += 1
        self.send_json(400, {"msg": why, "code": -2})

    # ---- control API (tests only) ----
    def control(self, method, what, query, raw):
        st = self.server.state
        try:
            arg = json.loads(raw.decode("utf-8")) if raw.strip() else {}
        except ValueError:
            return self.send_json(400, {"error": "body must be JSON"})
        if not isinstance(arg, dict):
            return self.send_json(400, {"error": "body must be an object"})
        with st.lock:
            try:
                out = self.control_locked(method, what, arg)
            except (KeyError, ValueError, TypeError) as e:
                return self.send_json(400, {"error": "bad request: %s" % e})
            st.save()
        if out is None:
            return self.send_json(404, {"error": "no such control "
                                        "endpoint: %s %s" % (method, what)})
        self.send_json(200, out)

    def control_locked(self, method, what, arg):
        st = self.server.state
        if (method, what) == ("GET", "messages"):
            return {"messages": st.messages}
        if (method, what) in (("DELETE", "messages"),
                              ("POST", "messages/clear")):
            st.messages.clear()
            return {"ok": True}
        if (method, what) == ("POST", "fail"):
            ep = arg.get("endpoint", "send")
            if ep not in ("send", "token", "authorize"):
                raise ValueError("endpoint is send, token or authorize")
            f = {"endpoint": ep, "count": int(arg.get("count", 1)),
                 "skip": int(arg.get("skip", 0))}
            for k in ("status", "code", "error_code", "body", "raw_body",
                      "content_type", "hang", "malformed"):
                if k in arg:
                    f[k] = arg[k]
            if "error_code" in f and f["error_code"] not in KOE:
                raise ValueError("unknown error_code %s" % f["error_code"])
            st.fails.append(f)
            return {"ok": True, "pending": len(st.fails)}
        if (method, what) == ("DELETE", "fail"):
            st.fails.clear()
            return {"ok": True}
        if (method, what) == ("POST", "slow"):
            ep = arg.get("endpoint", "send")
            if ep not in ("send", "token", "authorize"):
                raise ValueError("endpoint is send, token or authorize")
            st.slow[ep] = float(arg.get("seconds", 0))
            return {"ok": True, "slow": st.slow}
        if (method, what) == ("GET", "clock"):
            return {"now": st.now(), "offset": st.offset}
        if (method, what) == ("POST", "clock"):
            st.offset += float(arg["advance"])
            return {"now": st.now(), "offset": st.offset}
        if (method, what) == ("POST", "revoke"):
            n = len(st.refresh)
            st.refresh.clear()
            if arg.get("access"):
                st.access.clear()
            return {"revoked": n}
        if (method, what) == ("GET", "tokens"):
            now = st.now()
            d = dict(st.counts)
            d["live_refresh_tokens"] = sum(
                1 for r in st.refresh.values() if r["expires_at"] > now)
            d["live_access_tokens"] = sum(
                1 for a in st.access.values() if a["expires_at"] > now)
            return d
        if (method, what) == ("POST", "issue-code"):
            ru = arg.get("redirect_uri", st.redirect_uris[0])
            if ru not in st.redirect_uris:
                raise ValueError("redirect_uri is not registered")
            scopes = set(s for s in arg.get("scope", "talk_message")
                         .split(",") if s)
            if not st.grant_talk_message or not st.talk_message_enabled:
                scopes.discard("talk_message")
            scopes.add("profile_nickname")
            return {"code": st.new_code(ru, scopes), "redirect_uri": ru}
        if (method, what) == ("POST", "consent"):
            if "talk_message" in arg:
                st.grant_talk_message = bool(arg["talk_message"])
            if "deny" in arg:
                st.deny = bool(arg["deny"])
            return {"talk_message": st.grant_talk_message, "deny": st.deny}
        if (method, what) == ("POST", "app"):
            if "talk_message" in arg:
                st.talk_message_enabled = bool(arg["talk_message"])
            return {"talk_message": st.talk_message_enabled}
        return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--client-id", required=True)
    ap.add_argument("--client-secret", default=None,
                    help="when set, token requests must carry it (KOE010)")
    ap.add_argument("--redirect-uri", action="append", required=True,
                    help="registered redirect URI (repeatable)")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--state-file")
    ap.add_argument("--access-limit", type=parse_limit, default="20/600",
                    help="access tokens per user per window: N/SECONDS")
    ap.add_argument("--refresh-limit", type=parse_limit, default="30/3600",
                    help="refreshes per user per window: N/SECONDS")
    ap.add_argument("--daily-limit", type=int, default=0,
                    help="accepted sends per KST day, then -10 (0: none)")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()

    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    srv.state = State(args)
    srv.verbose = args.verbose
    port = srv.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, args.port_file)
    sys.stdout.write("%d\n" % port)
    sys.stdout.flush()
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    srv.server_close()


if __name__ == "__main__":
    main()
