#!/usr/bin/env python3
"""pageserver.py - a loopback HTTP/1.1 web server for kakaowatch's tests.

Usage:
    python3 pageserver.py --root DIR [--port 0] [--port-file F] [--verbose]
                          [--tls-cert CERT --tls-key KEY]

Binds 127.0.0.1 (port 0 = a free port), prints the port and a newline on
stdout (flushed; nothing else is ever written to stdout) and, with
--port-file, also writes it to F (atomically). Stops on SIGTERM/SIGINT.
With --tls-cert and --tls-key (PEM files) it speaks HTTPS instead.
Python 3 standard library only. HTTP/1.1 with keep-alive; every response
has a Content-Length (or is chunked), so connections are reused.

Files: GET/HEAD /NAME serves DIR/NAME (a directory or "/" serves its
index.html), re-read on every request, so a test changes a page by
rewriting the file (write a temp file and rename it over).
  - Content-Type: "text/html", plus "; charset=X" when a sidecar file
    NAME.charset holds X (e.g. "euc-kr"). Files ending in .json, .xml or
    .txt get application/json, application/xml, text/plain.
  - ETag: a hash of the content (strong, the same for the gzip form);
    Last-Modified: the file's mtime. If-None-Match (checked first, RFC 9110
    §13.2.2) and If-Modified-Since are honoured with 304. Last-Modified has
    one-second resolution: a test that rewrites a page within the same
    second must rely on the ETag.
  - gzip (Content-Encoding: gzip, Vary: Accept-Encoding) whenever the
    request's Accept-Encoding allows gzip and the file is over 1 KiB.
  - query flags: noetag=1 / nolm=1 leave out ETag / Last-Modified (and
    ignore the matching conditional header); identity=1 never gzips.

Special endpoints (any method; a request body is read and ignored unless
said otherwise):
  /status/NNN               answers status NNN (200..599), small HTML body
  /redirect/N               302 to /redirect/N-1; /redirect/0 is a 200 page
                            (?status=301|303|307|308 picks the code)
  /redirect-loop            302 to itself, forever
  /redirect-to?url=U        302 (or ?status=) to the absolute or relative U
  /slow?delay=S             waits S seconds (float) then answers a small
                            page, or the file ?page=NAME
  /trickle?bytes=N&interval=S
                            Content-Length N (default 30), then one byte
                            every S seconds (default 1)
  /big?bytes=N              N bytes of HTML with Content-Length, never
                            compressed; &chunked=1 sends it chunked
                            (no Content-Length)
  /gzip-bomb?bytes=N        a small gzip body (always Content-Encoding:
                            gzip) that inflates to N bytes
  /retry-after?status=429&after=120
                            that status with "Retry-After: 120"; &date=1
                            sends the HTTP-date 120 s from now instead
  /big-header?bytes=N       200 with one "X-Big" response header of N
                            bytes (default 204800)
  /headers                  echoes the request as JSON: {"method", "path"
                            (with query), "headers": {lower-case name:
                            value}, "body": text (UTF-8, replaced errors)}
  /hang                     reads the request and never answers (until the
                            client goes away)
  /count?path=X             JSON {"path": X, "count": requests for path X
                            (query ignored), "not_modified": 304s sent,
                            "gzip": gzip bodies sent}; without ?path= all
                            paths as {path: {...}}
  /concurrency              JSON {"max": most requests in flight at once,
                            "current": in flight now, "connections":
                            connections accepted}; ?reset=1 zeroes max and
                            connections after reporting. ?tag=T: max and
                            current of the requests with tag=T in their
                            query only (a test's own; requests of earlier
                            tests the server has not yet seen end do not
                            count). A request stops counting just before
                            the last bytes of its answer go out, so a
                            client's next request never overlaps it.
  /reset                    zeroes every counter; JSON {"ok": true}
/count, /concurrency and /reset are not counted themselves.
"""
import argparse
import email.utils
import gzip
import hashlib
import json
import os
import select
import socket
import socketserver
import sys
import threading
import time
import urllib.parse
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CONTROL_PATHS = ("/count", "/concurrency", "/reset")
CHUNK = 64 * 1024
GZIP_MIN = 1024
MAX_BIG = 1 << 31


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with self.lock:
            self.counts = {}
            self.max_in_flight = 0
            self.connections = 0
            self.in_flight = getattr(self, "in_flight", 0)
            self.tags = getattr(self, "tags", {})
            for t in self.tags.values():
                t["max"] = t["current"]

    def entry(self, path):
        e = self.counts.get(path)
        if e is None:
            e = self.counts[path] = {"count": 0, "not_modified": 0,
                                     "gzip": 0}
        return e

    def bump(self, path, key):
        with self.lock:
            self.entry(path)[key] += 1

    def enter(self, path, tag):
        with self.lock:
            self.entry(path)["count"] += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            if tag is not None:
                t = self.tags.setdefault(tag, {"current": 0, "max": 0})
                t["current"] += 1
                t["max"] = max(t["max"], t["current"])

    def leave(self, tag):
        with self.lock:
            self.in_flight -= 1
            if tag is not None:
                self.tags[tag]["current"] -= 1


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def server_bind(self):
        # HTTPServer.server_bind would call getfqdn(): a DNS lookup
        socketserver.TCPServer.server_bind(self)
        self.server_name = "127.0.0.1"
        self.server_port = self.server_address[1]

    def handle_error(self, request, client_address):
        if self.verbose:
            super().handle_error(request, client_address)


def int_arg(q, name, default, lo=0, hi=MAX_BIG):
    try:
        v = int(q.get(name, [str(default)])[0])
    except ValueError:
        v = default
    return max(lo, min(hi, v))


def float_arg(q, name, default):
    try:
        return max(0.0, float(q.get(name, [str(default)])[0]))
    except ValueError:
        return default


def accepts_gzip(value):
    for part in (value or "").split(","):
        fields = [f.strip() for f in part.split(";")]
        if fields[0].lower() not in ("gzip", "x-gzip", "*"):
            continue
        q = 1.0
        for f in fields[1:]:
            if f.lower().startswith("q="):
                try:
                    q = float(f[2:])
                except ValueError:
                    q = 0.0
        if q > 0:
            return True
    return False


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kw-pageserver/1"
    timeout = 120  # idle keep-alive connections close after this
    # headers and body go out in separate writes: without TCP_NODELAY,
    # Nagle plus the client's delayed ACK add 40 ms to every response
    disable_nagle_algorithm = True

    def setup(self):
        super().setup()
        with self.server.stats.lock:
            self.server.stats.connections += 1

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("pageserver: %s %s\n" % (
                self.address_string(), fmt % args))

    def do_GET(self):
        self.dispatch()

    def do_HEAD(self):
        self.dispatch()

    def do_POST(self):
        self.dispatch()

    def do_PUT(self):
        self.dispatch()

    def do_DELETE(self):
        self.dispatch()

    # -- helpers ---------------------------------------------------------

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            out = b""
            while True:
                line = self.rfile.readline(1024)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n",
                                                            b""):
                        pass
                    return out
                out += self.rfile.read(size)
                self.rfile.readline(16)
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def reply(self, status, body=b"", ctype="text/html; charset=utf-8",
              headers=()):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        no_body = status in (204, 304) or status < 200
        if not no_body:
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
        self.done_in_flight()
        self.end_headers()
        if not no_body and self.command != "HEAD":
            self.wfile.write(body)

    def reply_json(self, obj):
        self.reply(200, json.dumps(obj, ensure_ascii=False),
                   "application/json")

    def page(self, text):
        return ("<!DOCTYPE html>\n<html><head><title>%s</title></head>"
                "<body><p>%s</p></body></html>\n" % (text, text))

    def client_gone(self, seconds):
        """Waits up to `seconds`; True as soon as the client has closed."""
        end = time.monotonic() + seconds
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return False
            r, _, _ = select.select([self.connection], [], [], min(left, 1))
            if r:
                try:
                    data = self.connection.recv(1, socket.MSG_PEEK)
                except OSError:
                    return True
                if not data:
                    return True
                time.sleep(min(left, 0.05))

    # -- routing ---------------------------------------------------------

    def dispatch(self):
        stats = self.server.stats
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        q = urllib.parse.parse_qs(url.query)
        self.req_body = self.read_body()
        if path in CONTROL_PATHS:
            self.control(path, q)
            return
        self.tag = q.get("tag", [None])[0]
        stats.enter(path, self.tag)
        self.in_flight = True
        try:
            self.route(path, q)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            self.done_in_flight()

    def done_in_flight(self):
        """The request stops counting as in flight. reply() calls it just
        before the last bytes go out: a client that has the whole answer
        can send its next request at once, before this thread runs again,
        and /concurrency must never count the two as overlapping (under
        load it did: "max" 3 for a client that never had more than 2)."""
        if getattr(self, "in_flight", False):
            self.in_flight = False
            self.server.stats.leave(self.tag)

    def control(self, path, q):
        stats = self.server.stats
        if path == "/count":
            with stats.lock:
                if "path" in q:
                    p = q["path"][0]
                    e = dict(stats.counts.get(
                        p, {"count": 0, "not_modified": 0, "gzip": 0}))
                    e["path"] = p
                else:
                    e = {k: dict(v) for k, v in stats.counts.items()}
            self.reply_json(e)
        elif path == "/concurrency":
            with stats.lock:
                e = {"max": stats.max_in_flight,
                     "current": stats.in_flight,
                     "connections": stats.connections}
                tag = q.get("tag", [None])[0]
                if tag is not None:
                    t = stats.tags.get(tag, {"current": 0, "max": 0})
                    e["max"], e["current"] = t["max"], t["current"]
                if q.get("reset", ["0"])[0] == "1":
                    stats.max_in_flight = stats.in_flight
                    stats.connections = 0
                    for t in stats.tags.values():
                        t["max"] = t["current"]
            self.reply_json(e)
        else:
            stats.reset()
            self.reply_json({"ok": True})

    def route(self, path, q):
        if path.startswith("/status/"):
            try:
                status = int(path[len("/status/"):])
            except ValueError:
                status = 400
            if not 200 <= status <= 599:
                status = 400
            self.reply(status, self.page("status %d" % status))
        elif path.startswith("/redirect/"):
            try:
                n = int(path[len("/redirect/"):])
            except ValueError:
                n = 0
            if n <= 0:
                self.reply(200, self.page("redirect done"))
            else:
                self.redirect("/redirect/%d" % (n - 1), q)
        elif path == "/redirect-loop":
            self.redirect("/redirect-loop", q)
        elif path == "/redirect-to":
            self.redirect(q.get("url", ["/"])[0], q)
        elif path == "/slow":
            if self.client_gone(float_arg(q, "delay", 1.0)):
                self.close_connection = True
                return
            if "page" in q:
                self.serve_file("/" + q["page"][0], q)
            else:
                self.reply(200, self.page("slow"))
        elif path == "/trickle":
            self.trickle(int_arg(q, "bytes", 30, 1, 1 << 20),
                         float_arg(q, "interval", 1.0))
        elif path == "/big":
            self.big(int_arg(q, "bytes", 1 << 20),
                     q.get("chunked", ["0"])[0] == "1")
        elif path == "/gzip-bomb":
            self.gzip_bomb(int_arg(q, "bytes", 1 << 20))
        elif path == "/retry-after":
            status = int_arg(q, "status", 429, 200, 599)
            after = int_arg(q, "after", 120)
            value = str(after)
            if q.get("date", ["0"])[0] == "1":
                value = email.utils.formatdate(time.time() + after,
                                               usegmt=True)
            self.reply(status, self.page("retry later"),
                       headers=[("Retry-After", value)])
        elif path == "/big-header":
            n = int_arg(q, "bytes", 200 * 1024, 1, 1 << 24)
            self.reply(200, self.page("big header"),
                       headers=[("X-Big", "b" * n)])
        elif path == "/headers":
            self.reply_json({
                "method": self.command,
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": self.req_body.decode("utf-8", "replace"),
            })
        elif path == "/hang":
            self.client_gone(3600)
            self.close_connection = True
        else:
            self.serve_file(path, q)

    def redirect(self, location, q):
        status = int_arg(q, "status", 302, 300, 399)
        self.reply(status, self.page("moved"),
                   headers=[("Location", location)])

    def trickle(self, n, interval):
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(n))
        self.end_headers()
        self.wfile.flush()
        for _ in range(n):
            self.wfile.write(b"x")
            self.wfile.flush()
            if self.client_gone(interval):
                self.close_connection = True
                return

    def big(self, n, chunked):
        head = b"<!DOCTYPE html>\n<html><body><p>"
        tail = b"</p></body></html>\n"
        if n < len(head) + len(tail):
            head, tail = b"", b""
        fill = n - len(head) - len(tail)
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(n))
        self.end_headers()
        if self.command == "HEAD":
            return

        def write(data):
            if not data:
                return
            if chunked:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            else:
                self.wfile.write(data)

        write(head)
        block = b"a" * CHUNK
        while fill > 0:
            part = block[:min(fill, CHUNK)]
            write(part)
            fill -= len(part)
        write(tail)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")

    def gzip_bomb(self, n):
        cache = self.server.bombs
        with self.server.stats.lock:
            data = cache.get(n)
        if data is None:
            c = zlib.compressobj(9, zlib.DEFLATED, 31)
            parts = []
            block = b"a" * (1 << 20)
            left = n
            while left > 0:
                parts.append(c.compress(block[:min(left, len(block))]))
                left -= min(left, len(block))
            parts.append(c.flush())
            data = b"".join(parts)
            with self.server.stats.lock:
                cache[n] = data
        self.reply(200, data, "text/html",
                   headers=[("Content-Encoding", "gzip")])

    def serve_file(self, path, q):
        root = self.server.root
        rel = urllib.parse.unquote(path).lstrip("/")
        full = os.path.realpath(os.path.join(root, rel))
        if full != root and not full.startswith(root + os.sep):
            self.reply(404, self.page("not found"))
            return
        if os.path.isdir(full):
            full = os.path.join(full, "index.html")
        try:
            with open(full, "rb") as f:
                data = f.read()
                mtime = os.fstat(f.fileno()).st_mtime
        except OSError:
            self.reply(404, self.page("not found"))
            return
        ctype = {".json": "application/json", ".xml": "application/xml",
                 ".txt": "text/plain"}.get(
                     os.path.splitext(full)[1].lower(), "text/html")
        try:
            with open(full + ".charset") as f:
                charset = f.read().strip()
            if charset:
                ctype += "; charset=" + charset
        except OSError:
            pass
        use_etag = q.get("noetag", ["0"])[0] != "1"
        use_lm = q.get("nolm", ["0"])[0] != "1"
        etag = '"%s"' % hashlib.sha256(data).hexdigest()[:24]
        lm = email.utils.formatdate(mtime, usegmt=True)
        headers = [("Vary", "Accept-Encoding")]
        if use_etag:
            headers.append(("ETag", etag))
        if use_lm:
            headers.append(("Last-Modified", lm))

        not_modified = False
        inm = self.headers.get("If-None-Match") if use_etag else None
        ims = self.headers.get("If-Modified-Since") if use_lm else None
        if inm is not None:
            tags = [t.strip() for t in inm.split(",")]
            not_modified = "*" in tags or etag in tags or \
                ("W/" + etag) in tags
        elif ims is not None:
            try:
                since = email.utils.parsedate_to_datetime(ims).timestamp()
                not_modified = int(mtime) <= since
            except (TypeError, ValueError):
                pass
        if not_modified:
            self.server.stats.bump(path, "not_modified")
            self.reply(304, headers=headers)
            return
        if (len(data) > GZIP_MIN and q.get("identity", ["0"])[0] != "1"
                and accepts_gzip(self.headers.get("Accept-Encoding"))):
            data = gzip.compress(data, mtime=0)
            headers.append(("Content-Encoding", "gzip"))
            self.server.stats.bump(path, "gzip")
        self.reply(200, data, ctype, headers=headers)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", required=True, help="directory of pages")
    ap.add_argument("--port", type=int, default=0, help="0: a free port")
    ap.add_argument("--port-file", help="also write the port here")
    ap.add_argument("--verbose", action="store_true",
                    help="log requests and errors to stderr")
    ap.add_argument("--tls-cert", help="PEM certificate: serve HTTPS")
    ap.add_argument("--tls-key", help="PEM private key of --tls-cert")
    args = ap.parse_args()

    srv = Server(("127.0.0.1", args.port), Handler)
    if args.tls_cert:
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.root = os.path.realpath(args.root)
    srv.verbose = args.verbose
    srv.stats = Stats()
    srv.bombs = {}
    port = srv.server_address[1]
    if args.port_file:
        tmp = "%s.tmp.%d" % (args.port_file, os.getpid())
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, args.port_file)
    sys.stdout.write("%d\n" % port)
    sys.stdout.flush()
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    srv.server_close()


if __name__ == "__main__":
    main()
