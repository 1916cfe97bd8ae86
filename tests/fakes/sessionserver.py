#!/usr/bin/env python3
"""sessionserver.py - a loopback members-only board for kakaowatch's tests.

Usage:
    python3 sessionserver.py --sid SID [--port 0]

Binds 127.0.0.1 (port 0 = a free port) and prints the port and a newline on
stdout (nothing else is written there). Stops on SIGTERM/SIGINT. Python 3
standard library only.

A session is the cookie "sid". The server knows one valid sid at a time,
first --sid. Every page served to a valid session ROTATES it: the response
sets "sid=NEW; Path=/; HttpOnly" and from then on only NEW is valid (as
sites do that renew their session cookie on each visit), so a client that
does not keep the cookie it was given is logged out on its next visit.

  GET /board        valid session: <ul id="posts"><li><a>TITLE</a></li>...
                    (the posts, newest last); otherwise a login page with no
                    <li> at all
  POST /add?title=T adds post T; JSON {"ok": true}
  GET /requests     JSON list, one entry per /board request in order:
                    {"path", "cookie": the Cookie header or null,
                     "headers": {lower-case name: value}}
  GET /sid          JSON {"sid": the valid sid now}
/add, /requests and /sid are not recorded.
"""
import argparse
import json
import secrets
import signal
import socketserver
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def server_bind(self):
        socketserver.TCPServer.server_bind(self)
        self.server_name = "127.0.0.1"
        self.server_port = self.server_address[1]

    def handle_error(self, request, client_address):
        pass


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def send(self, status, body, ctype, extra=()):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def session_ok(self):
        cookie = self.headers.get("Cookie") or ""
        for part in cookie.split(";"):
            name, _, value = part.strip().partition("=")
            if name == "sid" and value == self.server.sid:
                return True
        return False

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/add":
            q = urllib.parse.parse_qs(url.query)
            with self.server.lock:
                self.server.posts.append(q.get("title", ["?"])[0])
            return self.send(200, '{"ok": true}', "application/json")
        self.send(404, "not found", "text/plain")

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        srv = self.server
        if url.path == "/requests":
            with srv.lock:
                body = json.dumps(srv.requests)
            return self.send(200, body, "application/json")
        if url.path == "/sid":
            with srv.lock:
                body = json.dumps({"sid": srv.sid})
            return self.send(200, body, "application/json")
        if url.path != "/board":
            return self.send(404, "not found", "text/plain")
        with srv.lock:
            srv.requests.append({
                "path": self.path,
                "cookie": self.headers.get("Cookie"),
                "headers": {k.lower(): v for k, v in self.headers.items()},
            })
            ok = self.session_ok()
            extra = []
            if ok:
                srv.sid = "rot-" + secrets.token_hex(8)
                extra.append(("Set-Cookie",
                              "sid=%s; Path=/; HttpOnly" % srv.sid))
                lis = "".join('<li><a href="/post/%d">%s</a></li>' % (i, t)
                              for i, t in enumerate(srv.posts))
                body = ('<!doctype html><html><body><h1>members</h1>'
                        '<ul id="posts">%s</ul></body></html>' % lis)
            else:
                body = ('<!doctype html><html><body><h1>로그인</h1>'
                        '<form action="/login"><input name="id">'
                        '</form></body></html>')
        self.send(200, body, "text/html; charset=utf-8", extra)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--sid", required=True)
    args = ap.parse_args()
    srv = Server(("127.0.0.1", args.port), Handler)
    srv.lock = threading.Lock()
    srv.sid = args.sid
    srv.posts = ["first post", "second post"]
    srv.requests = []
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    print(srv.server_port, flush=True)
    try:
        srv.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass


if __name__ == "__main__":
    main()
