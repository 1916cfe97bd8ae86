"""Issue 16: `proxy:` per watch, every scheme it accepts, against proxies the
test runs on 127.0.0.1 (test_session.py covers the plain http:// proxy with
cookies).

- socks5h:// sends the host NAME to the proxy (the name below resolves
  nowhere but in the proxy: it is how Tor and SSH -D users watch a site
  their own resolver must not see), socks5:// resolves it locally and sends
  an address; a SOCKS5 user name and password reach the proxy (RFC 1929)
  and never the output;
- https:// speaks TLS to the proxy itself: a proxy whose certificate no
  trusted CA signed is refused before anything is sent through it;
- render: browser goes through the proxy too (the page and the request its
  script makes), through socks5h:// by name as well, skipped without
  chromium-headless-shell; a rendered watch's proxy with a password is
  refused by check (the browser's command line is readable by all).

The proxies resolve the made-up names themselves (NAMES) and forward to the
loopback page server, so nothing leaves 127.0.0.1.
"""
import os
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import kwtest  # noqa: E402

BROWSER = kwtest.find_browser()
OPENSSL = shutil.which("openssl")
# a name only the test proxies resolve (.invalid never resolves: RFC 2606)
HIDDEN = "board.kwtest.invalid"
NAMES = {HIDDEN: "127.0.0.1", "localhost": "127.0.0.1"}

BOARD = """<!doctype html><html><head><meta charset="utf-8"></head><body>
<ul id="posts"><li><a href="/p/1">첫 글</a></li>
<li><a href="/p/2">둘째 글</a></li></ul></body></html>"""

SCRIPT_PAGE = kwtest.script_list_page("posts")


def read_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("peer closed")
        data += chunk
    return data


def read_head(sock):
    """Reads an HTTP request head (up to the blank line); returns it and
    whatever came after it."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("peer closed")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head.decode("latin-1"), rest


def pipe(a, b):
    """Copies bytes both ways between two sockets until either side
    closes."""
    def one(src, dst):
        try:
            while True:
                chunk = src.recv(65536)
                if not chunk:
                    break
                dst.sendall(chunk)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
    t = threading.Thread(target=one, args=(b, a), daemon=True)
    t.start()
    one(a, b)
    t.join(10)


class LoopbackProxy:
    """A proxy on 127.0.0.1 that records what it was asked for in
    `self.seen` and forwards to the (loopback) origin. Kinds: "http" (a
    forward proxy: absolute-URI requests and CONNECT), "socks5"; `tls`
    wraps each connection in TLS first (an https:// proxy)."""

    def __init__(self, kind, tls=None, auth=None):
        self.kind = kind
        self.tls = tls
        self.auth = auth
        self.seen = []
        self.tls_errors = []
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.thread.join(10)

    def note(self, what):
        with self.lock:
            self.seen.append(what)

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.handle, args=(conn,),
                             daemon=True).start()

    def handle(self, conn):
        conn.settimeout(30)
        try:
            if self.tls is not None:
                try:
                    conn = self.tls.wrap_socket(conn, server_side=True)
                except (ssl.SSLError, OSError) as e:
                    with self.lock:
                        self.tls_errors.append(str(e))
                    return
            if self.kind == "socks5":
                self.socks5(conn)
            else:
                self.http(conn)
        except (OSError, ValueError):
            pass
        finally:
            conn.close()

    @staticmethod
    def resolve(host):
        return NAMES.get(host, host)

    def http(self, conn):
        head, rest = read_head(conn)
        line = head.split("\r\n", 1)[0]
        method, target, _ = line.split(" ", 2)
        if method == "CONNECT":
            self.note(line)
            host, port = target.rsplit(":", 1)
            up = socket.create_connection((self.resolve(host), int(port)),
                                          10)
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            if rest:
                up.sendall(rest)
            pipe(conn, up)
            up.close()
            return
        self.note(target)
        # absolute URI: forward to the origin as an origin-form request,
        # one request per connection
        scheme, _, hostpath = target.partition("://")
        hostport, slash, path = hostpath.partition("/")
        host, _, port = hostport.rpartition(":")
        headers = [h for h in head.split("\r\n")[1:]
                   if h.split(":", 1)[0].lower() not in
                   ("proxy-connection", "connection", "keep-alive",
                    "proxy-authorization")]
        req = "%s /%s HTTP/1.1\r\n%s\r\nConnection: close\r\n\r\n" % (
            method, path, "\r\n".join(headers))
        up = socket.create_connection((self.resolve(host), int(port)), 10)
        up.sendall(req.encode("latin-1") + rest)
        data = b""
        while True:
            chunk = up.recv(65536)
            if not chunk:
                break
            data += chunk
        up.close()
        # the origin closes after its answer; so does the proxy
        rhead, _, body = data.partition(b"\r\n\r\n")
        lines = [h for h in rhead.split(b"\r\n")
                 if not h.lower().startswith((b"connection:",
                                              b"keep-alive:"))]
        conn.sendall(b"\r\n".join(lines) + b"\r\nConnection: close\r\n\r\n" +
                     body)

    def socks5(self, conn):
        ver, n = read_exact(conn, 2)
        methods = read_exact(conn, n)
        if ver != 5:
            return
        if self.auth is not None:
            if 2 not in methods:
                conn.sendall(b"\x05\xff")
                return
            conn.sendall(b"\x05\x02")
            _, ulen = read_exact(conn, 2)
            user = read_exact(conn, ulen).decode()
            plen = read_exact(conn, 1)[0]
            password = read_exact(conn, plen).decode()
            ok = (user, password) == self.auth
            self.note(("auth", user, ok))
            conn.sendall(b"\x01\x00" if ok else b"\x01\x01")
            if not ok:
                return
        else:
            if 0 not in methods:
                conn.sendall(b"\x05\xff")
                return
            conn.sendall(b"\x05\x00")
        ver, cmd, _, atyp = read_exact(conn, 4)
        if atyp == 1:
            host = socket.inet_ntop(socket.AF_INET, read_exact(conn, 4))
            kind = "ipv4"
        elif atyp == 4:
            host = socket.inet_ntop(socket.AF_INET6, read_exact(conn, 16))
            kind = "ipv6"
        elif atyp == 3:
            host = read_exact(conn, read_exact(conn, 1)[0]).decode()
            kind = "name"
        else:
            return
        port = struct.unpack(">H", read_exact(conn, 2))[0]
        if cmd != 1:
            conn.sendall(b"\x05\x07\x00\x01" + bytes(6))
            return
        target = self.resolve(host)
        if target == "::1":
            target = "127.0.0.1"  # the page server listens on IPv4 only
        try:
            up = socket.create_connection((target, port), 10)
        except OSError:
            self.note(("connect", kind, host, port, None))
            conn.sendall(b"\x05\x04\x00\x01" + bytes(6))  # host unreachable
            return
        conn.sendall(b"\x05\x00\x00\x01" + bytes(6))
        # what went through the tunnel: the request line and Host
        head, rest = read_head(conn)
        lines = head.split("\r\n")
        hosth = [h.split(":", 1)[1].strip() for h in lines[1:]
                 if h.lower().startswith("host:")]
        self.note(("connect", kind, host, port, (lines[0], hosth[0] if
                                                  hosth else None)))
        up.sendall(head.encode("latin-1") + b"\r\n\r\n" + rest)
        pipe(conn, up)
        up.close()


class ProxyTest(kwtest.KwTestCase):

    def setUp(self):
        super().setUp()
        self.pages = self.start_pages()
        self.write_page("board.html", BOARD)
        self.write_page("list.html", SCRIPT_PAGE)
        self.write_page("items.json",
                        '[{"id": 1, "title": "아이유 콘서트"},'
                        ' {"id": 2, "title": "뮤지컬 영웅"}]')

    def proxy(self, kind, **kw):
        p = LoopbackProxy(kind, **kw)
        self.addCleanup(p.close)
        return p

    def setup_config(self, url, proxy, extra=""):
        self.write_config("""
state_dir: %s
kakao:
  sink: stdout
watches:
  - name: board
    url: %s
    xpath: //ul[@id="posts"]/li/a
    timeout: 20s
    proxy: %s
%s
""" % (self.state, url, proxy, extra))

    def once(self):
        # the environment's proxies must not matter: the watch's wins
        return self.kw("once", env={"no_proxy": "*", "NO_PROXY": "*",
                                    "http_proxy": "", "https_proxy": "",
                                    "all_proxy": "", "ALL_PROXY": ""})

    def page_requests(self, path):
        return self.pages.get_json("/count?path=" + path)["count"]

    def test_socks5h_sends_the_host_name_to_the_proxy(self):
        proxy = self.proxy("socks5")
        url = "http://%s:%d/board.html" % (HIDDEN, self.pages.port)
        self.setup_config(url, "socks5h://127.0.0.1:%d" % proxy.port)
        p = self.once()
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("board: baseline stored (2 items)", p.stdout)
        self.assertEqual(proxy.seen, [
            ("connect", "name", HIDDEN, self.pages.port,
             ("GET /board.html HTTP/1.1",
              "%s:%d" % (HIDDEN, self.pages.port)))])
        self.assertEqual(self.page_requests("/board.html"), 1)

    def test_socks5_resolves_locally_and_sends_an_address(self):
        proxy = self.proxy("socks5")
        # a name the local resolver knows: the proxy gets its address
        url = "http://localhost:%d/board.html" % self.pages.port
        self.setup_config(url, "socks5://127.0.0.1:%d" % proxy.port)
        p = self.once()
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("board: baseline stored (2 items)", p.stdout)
        self.assertEqual(len(proxy.seen), 1, proxy.seen)
        _, kind, host, port, req = proxy.seen[0]
        self.assertIn((kind, host), [("ipv4", "127.0.0.1"), ("ipv6", "::1")])
        self.assertEqual(port, self.pages.port)
        self.assertEqual(req, ("GET /board.html HTTP/1.1",
                               "localhost:%d" % self.pages.port))

        # a name only the proxy could resolve: socks5:// fails here, before
        # the proxy hears of it (the difference socks5h:// makes)
        before = list(proxy.seen)
        self.setup_config("http://%s:%d/board.html" % (HIDDEN,
                                                        self.pages.port),
                          "socks5://127.0.0.1:%d" % proxy.port)
        p = self.once()
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn(HIDDEN, p.stdout + p.stderr)
        self.assertEqual(proxy.seen, before)

    def test_socks5_user_and_password_reach_the_proxy_not_the_log(self):
        secret = "s0cks-pw-8e31c"
        proxy = self.proxy("socks5", auth=("kwuser", secret))
        url = "http://%s:%d/board.html" % (HIDDEN, self.pages.port)
        self.setup_config(url, "socks5h://kwuser:%s@127.0.0.1:%d"
                          % (secret, proxy.port))
        p = self.kw("-vvv", "once")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("board: baseline stored (2 items)", p.stdout)
        self.assertEqual(proxy.seen[0], ("auth", "kwuser", True))
        self.assertEqual(proxy.seen[1][:3], ("connect", "name", HIDDEN))
        self.assertEqual(self.kw("check").returncode, 0)

        # a wrong password: the check fails, still without the secret
        self.setup_config(url, "socks5h://kwuser:wrong-%s@127.0.0.1:%d"
                          % (secret, proxy.port))
        p = self.kw("-vvv", "once")
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertEqual(proxy.seen[-1], ("auth", "kwuser", False))
        self.assert_no_secrets(secret)

    @unittest.skipIf(OPENSSL is None, "openssl not installed")
    def test_https_proxy_with_an_untrusted_certificate_is_refused(self):
        # a self-signed certificate for 127.0.0.1, made here
        cert = os.path.join(self.tmp, "proxy.pem")
        key = os.path.join(self.tmp, "proxy.key")
        subprocess.run([OPENSSL, "req", "-x509", "-newkey", "rsa:2048",
                        "-nodes", "-keyout", key, "-out", cert, "-days",
                        "2", "-subj", "/CN=127.0.0.1", "-addext",
                        "subjectAltName=IP:127.0.0.1"],
                       check=True, capture_output=True)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        proxy = self.proxy("http", tls=ctx)

        # the certificate is sound: a client that trusts it gets through
        # this proxy (so the refusal below is about trust, nothing else)
        cctx = ssl.create_default_context(cafile=cert)
        with socket.create_connection(("127.0.0.1", proxy.port), 10) as s:
            with cctx.wrap_socket(s, server_hostname="127.0.0.1") as t:
                t.sendall(b"GET http://127.0.0.1:%d/board.html HTTP/1.1\r\n"
                          b"Host: 127.0.0.1\r\n\r\n" % self.pages.port)
                got = b""
                while b"</html>" not in got:
                    chunk = t.recv(65536)
                    if not chunk:
                        break
                    got += chunk
        self.assertIn("첫 글".encode(), got)
        self.assertEqual(self.page_requests("/board.html"), 1)
        seen = list(proxy.seen)

        self.setup_config(self.pages.url("/board.html"),
                          "https://127.0.0.1:%d" % proxy.port)
        p = self.once()
        out = p.stdout + p.stderr
        self.assertEqual(p.returncode, 1, out)
        self.assertIn("certificate", out)
        # and it says whose certificate it was
        self.assertIn("TLS to the proxy failed", out)
        # kakaowatch spoke TLS to the proxy (a handshake the proxy saw end
        # in kakaowatch's refusal of its certificate: an alert, not plain
        # HTTP bytes) and sent nothing through it
        kwtest.wait_until(lambda: proxy.tls_errors, 10,
                          "the proxy's TLS handshake to fail")
        self.assertRegex(proxy.tls_errors[0],
                         r"(?i)unknown.ca|bad.certificate|"
                         r"certificate.unknown")
        self.assertEqual(proxy.seen, seen)
        self.assertEqual(self.page_requests("/board.html"), 1)

    @unittest.skipIf(BROWSER is None, "chromium-headless-shell not installed")
    def test_render_browser_goes_through_the_http_proxy(self):
        proxy = self.proxy("http")
        url = "http://%s:%d/list.html" % (HIDDEN, self.pages.port)
        self.setup_config(url, "http://127.0.0.1:%d" % proxy.port,
                          "    render: browser\n")
        p = self.once()
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("board: baseline stored (2 items)", p.stdout)
        # the page, and the request its script made, both by the proxy
        base = "http://%s:%d" % (HIDDEN, self.pages.port)
        self.assertIn(base + "/list.html", proxy.seen)
        self.assertIn(base + "/items.json", proxy.seen)
        self.assertEqual(self.page_requests("/items.json"), 1)

    @unittest.skipIf(BROWSER is None, "chromium-headless-shell not installed")
    def test_render_browser_goes_through_a_socks5h_proxy_by_name(self):
        # Chromium knows no socks5h://: kakaowatch hands it socks5://,
        # whose names the proxy resolves (Chromium refused socks5h://
        # with ERR_NO_SUPPORTED_PROXIES on every check before)
        proxy = self.proxy("socks5")
        url = "http://%s:%d/list.html" % (HIDDEN, self.pages.port)
        self.setup_config(url, "socks5h://127.0.0.1:%d" % proxy.port,
                          "    render: browser\n")
        p = self.once()
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("board: baseline stored (2 items)", p.stdout)
        by_name = [s for s in proxy.seen
                   if s[:4] == ("connect", "name", HIDDEN, self.pages.port)]
        self.assertTrue(by_name, proxy.seen)
        self.assertEqual(self.page_requests("/items.json"), 1)

    def test_render_browser_refuses_a_proxy_with_a_password(self):
        # a browser's command line is readable by every local user, and
        # Chromium takes no proxy credentials there anyway
        secret = "pr0xy-pw-in-argv"
        self.setup_config("http://127.0.0.1:%d/list.html" % self.pages.port,
                          "http://kwuser:%s@127.0.0.1:3128" % secret,
                          "    render: browser\n")
        p = self.kw("check")
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        self.assertRegex(p.stderr, r"kakaowatch\.yaml:10:12: watch 'board': "
                         r"proxy: 'render: browser' cannot use a proxy with "
                         r"a user name or password")
        self.assertNotIn(secret, p.stdout + p.stderr)


if __name__ == "__main__":
    kwtest.main()
