#!/usr/bin/env python3
"""make_seeds.py: (re)writes the seed inputs of tests/fuzz/corpus/.

Seeds are named seed-*; inputs a fuzzer found (crash-*, regress-*) are
left alone. The corpora libFuzzer grows are kept outside the tree
(tests/fuzz/run.sh, CORPUS=DIR).
The seeds come from tests/data/ (real pages, configs, token files) and
from the Kakao responses documented in docs/kakao.md, each with the
selector bytes the target's header describes. Python 3 standard library only.

    python3 tests/fuzz/make_seeds.py
"""
import glob
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
DATA = os.path.join(SRC, "tests", "data")
CORPUS = os.path.join(HERE, "corpus")


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def clean(target):
    for p in glob.glob(os.path.join(CORPUS, target, "seed-*")):
        os.remove(p)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def config_seeds():
    clean("fuzz_config")
    for p in sorted(glob.glob(os.path.join(DATA, "config", "*.yaml")) +
                    glob.glob(os.path.join(SRC, "config", "*.yaml")) +
                    glob.glob(os.path.join(SRC, "config", "*", "*.yaml"))):
        write("fuzz_config", os.path.basename(p), read(p))
    write("fuzz_config", "env.yaml", """
state_dir: ~/state
kakao:
  rest_api_key: ${KAKAO_REST_API_KEY}
  client_secret: ${KAKAO_CLIENT_SECRET:-}
  token_file: ../tok/${KW_FUZZ_EMPTY:-kakao_token.json}
  sink: kakao
defaults: &d
  interval: 1h30m
  jitter: 2.5%
  timeout: 500ms
  max_bytes: 64KiB
  headers: { Accept-Language: ko-KR, X-Literal: "$${NOT_A_VAR}" }
watches:
  - name: 공지사항
    url: ${KW_FUZZ_URL}
    xpath: //td[@class='subject']/a
    keywords: [보안, release]
    exclude: sponsored
    notify_on: [added, removed]
    encoding: euc-kr
  - name: post-api
    url: ${KW_FUZZ_NESTED:-http://x}
    method: post
    body: "q=${KW_FUZZ_EMPTY}&page=1"
    xpath: string(//h1)
    enabled: off
    ssl_verify: no
max_messages_per_check: 100
history_days: 3650
""")
    write("fuzz_config", "alias.yaml", """
kw: &k [a, b, c]
watches:
  - &w {name: one, url: "http://127.0.0.1:1/", xpath: //a, keywords: *k}
  - {name: two, url: "https://h/", xpath: "//a[contains(., 'x')]", exclude: *k}
""")


def extract_seeds():
    clean("fuzz_extract")
    pages = sorted(glob.glob(os.path.join(DATA, "html", "*.html")))
    # (content type, encoding, xpath, page url) indexes, see fuzz_extract.c
    combos = [(0, 0, 0, 1), (1, 0, 1, 2), (3, 4, 3, 1), (2, 0, 20, 3),
              (7, 0, 16, 4), (0, 0, 18, 7)]
    for i, p in enumerate(pages):
        body = read(p)
        for j, c in enumerate(combos[:3] if len(body) > 20000 else combos):
            write("fuzz_extract", "%s-%d" % (os.path.basename(p), j),
                  bytes(c) + body)
    small = {
        "nul-invalid": b"<ul><li><a href='/a\x00b'>one\x00two</a></li>"
                       b"<li><a href='/\xff'>\xc3\x28 \xed\xa0\x80 x</a>"
                       b"</li></ul>",
        "json": b'{"items":[{"title":"<a href=\\"/x\\">x</a>"}]}',
        "bom16be": b"\xfe\xff\x00<\x00a\x00>\x00x\x00<\x00/\x00a\x00>",
        "meta": b'<meta http-equiv="Content-Type" content="text/html; '
                b'charset=euc-kr"><a href="/%B0%A1">\xb0\xa1\xb3\xaa</a>',
        "base": b'<base href="//other.example/dir/"><a href=" \tjava'
                b'\nscript:alert(1)">x</a><a href="../up?q=1#a#b">'
                b'y&nbsp;&#150;&#x3000;z</a><a href="data:,x">d</a>',
        "script": b"<li>a<script>x</script><style>y</style>"
                  b"<br>b<td>c</td></li><!-- comment --><?pi x?>",
        "deep": b"<div>" * 3000 + b"<a href=x>deep</a>",
        "ws": "<a href='/ a b'>\u00a0\u3000 spaced\u2028 out \t</a>".encode(),
    }
    for name, body in small.items():
        for c in ((0, 0, 0, 1), (3, 0, 15, 0), (0, 5, 9, 5)):
            write("fuzz_extract", "%s-%d%d%d%d" % ((name,) + c),
                  bytes(c) + body)
    write("fuzz_extract", "custom-xpath",
          b"\x00\x00\xff\x01//li[position() > 1]/a | //td\n<li><a>x</a></li>")


def token_seeds():
    clean("fuzz_token")
    head = bytes([2]) + struct.pack(">q", 12345)
    for p in sorted(glob.glob(os.path.join(DATA, "token", "*.json"))):
        write("fuzz_token", os.path.basename(p), head + read(p))
        write("fuzz_token", "open-" + os.path.basename(p),
              bytes([3]) + head[1:] + read(p))
    write("fuzz_token", "huge-expiry.json", head + json.dumps({
        "access_token": "a" * 20, "refresh_token": "r" * 20,
        "expires_in": 9223372036854775807,
        "refresh_token_expires_in": 9223372036854775807}).encode())
    write("fuzz_token", "expired.json", bytes([0]) +
          struct.pack(">q", -1) + json.dumps({
              "access_token": "abcd1234", "refresh_token": "efgh5678",
              "expires_in": 1, "access_token_expires_at": 1,
              "refresh_token_expires_at": 9223372036854775807}).encode())


def kakao_seeds():
    clean("fuzz_kakao_response")
    now = struct.pack(">q", 1700000000)
    bodies = [
        (0, 200, {"token_type": "bearer", "access_token": "newAccess1234",
                  "expires_in": 43199, "refresh_token": "newRefresh5678",
                  "refresh_token_expires_in": 5184000,
                  "scope": "account_email profile"}),
        (0, 200, {"access_token": "newAccess1234", "token_type": "bearer",
                  "expires_in": 43199, "id_token": "idtok.en.x"}),
        (0, 200, {"access_token": "oldAccessTokenAAAA1111",
                  "expires_in": 9223372036854775807,
                  "refresh_token_expires_in": 9223372036854775807,
                  "refresh_token": "oldRefreshTokenRRRR2222"}),
        (0, 200, {"access_token": "bad token", "expires_in": 1}),
        (1, 400, {"error": "invalid_grant",
                  "error_description": "expired_or_invalid_refresh_token",
                  "error_code": "KOE322"}),
        (1, 400, {"error": "invalid_request", "error_code": "KOE237",
                  "error_description": "token request rate limit exceeded"}),
        (1, 401, {"error": "invalid_client", "error_code": "KOE010",
                  "error_description": "Bad client credentials"}),
        (1, 400, {"error": "invalid_grant", "error_code": "KOE320",
                  "error_description": "authorization code not found for "
                  "code=oldRefreshTokenRRRR2222"}),
        (1, 502, {"error": "weird", "error_description":
                  "clientSecretSSSS3333 " + "x" * 300}),
        (1, 400, {"error": "invalid_grant", "error_code": "KOE303"}),
        (2, 401, {"code": -401, "msg": "InvalidTokenException"}),
        (2, 400, {"code": -10, "msg": "API limit has been exceeded."}),
        (2, 403, {"msg": "insufficient scopes.", "code": -402,
                  "api_type": "TALK_MEMO_DEFAULT_SEND",
                  "required_scopes": ["talk_message"],
                  "allowed_scopes": ["profile"]}),
        (2, 400, {"code": -2, "msg": "oldAccessTokenAAAA1111 template"}),
        (2, 503, {"code": -9798, "msg": "maintenance"}),
        (2, 500, {"code": 12345678901234, "msg": "?"}),
    ]
    for i, (mode, status, body) in enumerate(bodies):
        write("fuzz_kakao_response", "json-%02d" % i,
              bytes([mode]) + struct.pack(">H", status) + now +
              json.dumps(body, ensure_ascii=False).encode())
    raw = [(0, 200, b'{"result_code":'), (1, 500, b"Internal Server Error"),
           (2, 500, b"<html>bad gateway</html>"), (2, 200, b""),
           (1, 400, b'{"error_code":"KOE322","error_code":"KOE237"}'),
           (2, 400, b'[{"code":-401}]'), (0, 200, b'{"access_token":1}'),
           (2, 401, b'{"code":-401.0}')]
    for i, (mode, status, body) in enumerate(raw):
        write("fuzz_kakao_response", "raw-%02d" % i,
              bytes([mode]) + struct.pack(">H", status) + now + body)


def message_seeds():
    clean("fuzz_message")

    def b(s):
        return s if isinstance(s, bytes) else s.encode()

    def items(pairs):
        return b"\x00".join(b(t) + b"\x00" + b(l) for t, l in pairs)
    write("fuzz_message", "one", b"\x02" + b"rust-blog\x00" +
          items([("Rust 1.80 released", "https://blog.rust-lang.org/x")]))
    family = "\U0001F468\u200d\U0001F469\u200d\U0001F467\U0001F1F0\U0001F1F7"
    write("fuzz_message", "korean", b"\x02" + "공지사항\x00".encode() + items(
        [("똠방각하 햏님 공지 " * 20, "/relative"),
         ("보안 업데이트 " + family, "http://example.com/보안"),
         ("", ""), ("\t\r\n", "javascript:alert(1)")]))
    many = [("item %d" % i, "https://example.com/%d" % i) for i in range(50)]
    write("fuzz_message", "many", b"\x0a" + b"news\x00" + items(many))
    write("fuzz_message", "page-from-input", b"\x13" + b"w\x00" +
          b"http://x\\y\x00" + items([("a", ""), ("b", "https://ok/")]))
    write("fuzz_message", "invalid-utf8", b"\x07" + b"\xff\xfe name\x00" +
          items([(b"\xed\xa0\x80 \xc3", b"https://h/\xc3\x28"),
                 ("e\u0301" * 90, "HTTPS://H/"),
                 ("x" * 5000, "http://" + "a" * 2100)]))
    # grapheme clusters at the cut lengths: Thai, Bengali, Tamil, jamo,
    # emoji sequences, each long enough to be cut (bits 5-7: cut length)
    scripts = [("น้ำสวัสดี" * 30, "https://th.example/"),
               ("বাংলা ভাষা " * 25, "https://bn.example/"),
               ("தமிழ் கொடி " * 25, "https://ta.example/"),
               ("\u1112\u1161\u11ab\u1100\u1173\u11af" * 60, ""),
               ("\U0001F44D\U0001F3FD\U0001F1F0\U0001F1F7" * 40,
                "https://e.example/")]
    write("fuzz_message", "clusters", b"\xe3" + "학과공지\x00".encode() +
          items(scripts))
    write("fuzz_message", "clusters-removed", b"\x4a" + "ভাষা\x00".encode() +
          items(scripts[:2] + [("x", "https://x/")] * 3))
    # templates: the name is also the title and header template, the last
    # field the description template
    write("fuzz_message", "templates", b"\x02" +
          "{name}: {count}개 {change} {{x}}\x00".encode() +
          items([("삼성 SSD " * 12, "https://d.example/1"),
                 ("WD", "https://d.example/2"),
                 ("{title} · {link} {date} {summary} {price", "")]))
    write("fuzz_message", "templates-bad", b"\x0b" +
          "핫딜 } {title {} {{{count}}}\x00".encode() +
          items([("한" * 90, "https://d.example/1")] * 5 +
                [("{x}", "{summary}")]))


SELECTORS = [
    "p", "div > a", "#main .box", "a[href^='http']", "a[href$=\".pdf\" i]",
    "[lang|=en]", "[class~=x]", "[title*=\"it's \\\"x\\\"\"]",
    "li:nth-child(2n+1)", "li:nth-last-child(-n+3)", "li:nth-child(odd of .x)",
    "p:nth-of-type(2)", "p:first-of-type", "span:only-of-type", ":root",
    ":empty", "li:first-child, li:last-child", "p:not(.a, #b)",
    "li:is(.x, :only-child)", "div:has(> a.title)", "p:has(+ span)",
    "h1 + p ~ ul > li", "a:link", "p:contains('\ud55c\uae00')",
    "td > a::attr(href)", "p::text", "#\\31 23 .a\\:b",
    "#revolution_main_table > tbody > tr > td:nth-child(3) > a",
    "body > div:nth-child(2) > table > tbody > tr:nth-child(5) > td > a",
    "\ud55c\uae00 > [x", "a:hover", "svg|rect", "a[x='abc", "p >> a",
    "*:first-of-type", "a:not(:not(:not(b)))",
]


def select_seeds():
    clean("fuzz_select")
    for i, sel in enumerate(SELECTORS):
        write("fuzz_select", "%02d" % i, sel)


FEED_INLINE = [
    b'<rss><channel><item><title>a</title><link>javascript:alert(1)</link>'
    b'</item></channel></rss>',
    b'<?xml version="1.0" encoding="ISO-2022-KR"?><feed><entry>'
    b'<title type="xhtml"><div>x</div></title></entry></feed>',
    b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY % p "<!ENTITY x \'y\'>">'
    b' %p;]><a>&x;&unknown;&nbsp;</a>',
    b'\xef\xbb\xbf<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-'
    b'syntax-ns#"><item rdf:about="data:x"><title></title></item></rdf:RDF>',
    b'<feed xmlns="http://www.w3.org/2005/Atom" xml:base="javascript:/">'
    b'<entry><link href="x"/><summary>' + b'\xea\xb0\x80' * 300 +
    b'</summary></entry></feed>',
]


def feed_seeds():
    """fuzz_feed: (parser + content type, xpath, fields, url) bytes."""
    clean("fuzz_feed")
    heads = ([0, 0, 0, 1], [3, 1, 1, 1], [6, 9, 3, 2], [1, 4, 4, 0],
             [2, 0, 0, 1], [23, 3, 2, 1])
    paths = sorted(p for p in glob.glob(os.path.join(DATA, "feeds", "*"))
                   if not p.endswith(".md"))
    for i, p in enumerate(paths):
        data = read(p)
        for j, h in enumerate(heads):
            head = bytes([(h[0] + i) % 256, h[1], h[2], h[3]])
            write("fuzz_feed", "%s-%d" % (os.path.basename(p), j),
                  head + data)
    for i, doc in enumerate(FEED_INLINE):
        for h in ([0, 0, 0, 1], [3, 1, 1, 2], [2, 4, 3, 1]):
            write("fuzz_feed", "inline-%d-%d" % (i, h[0]), bytes(h) + doc)


COND_SEEDS = [
    (0, "price <= 300000", "12,900원"),
    (1, 'ship == 0 and not (title ~ "(SSD|NVMe)")', "무료"),
    (0, '(a < 1.2만원 or b >= ₩3,000) and c != "x"', "1억 2,000만원"),
    (0, 'title ~ "가(" or', None),
    (0, 'not not ((x !~ "\\"a\\\\")) or y > 3천원', "문의"),
]


def cond_seeds():
    clean("fuzz_cond")
    for i, (flags, expr, field) in enumerate(COND_SEEDS):
        data = bytes([flags]) + expr.encode()
        if field is not None:
            data += b"\x00" + field.encode()
        write("fuzz_cond", "%02d" % i, data)


if __name__ == "__main__":
    config_seeds()
    extract_seeds()
    token_seeds()
    kakao_seeds()
    message_seeds()
    select_seeds()
    feed_seeds()
    cond_seeds()
