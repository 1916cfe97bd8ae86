"""Feed entries as an independent reader sees them (issue 13).

For every feed in tests/data/feeds/, python3-lxml (libxml2's XML parser
from Python, with its own xml:base handling, and lxml.html for titles of
type html) computes each entry's title and link; `kakaowatch test --file
F --parser feed --url URL` must print exactly those, in order. Skips with
a clear line when lxml is not installed.
"""
import os
import re
import subprocess
import sys
import unittest
from urllib.parse import urljoin

sys.path.insert(0, os.path.dirname(__file__))
import kwtest  # noqa: E402

try:
    from lxml import etree, html as lxml_html
except ImportError:  # a Python of its own (pyenv): Debian's python3-lxml
    sys.path.append("/usr/lib/python3/dist-packages")
    try:
        from lxml import etree, html as lxml_html
    except ImportError:
        etree = None

FEEDS = os.path.join(kwtest.DATA, "feeds")
ATOM = "{http://www.w3.org/2005/Atom}"
RSS1 = "{http://purl.org/rss/1.0/}"
RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"

CASES = [
    ("naver-blog-rss2.xml", "https://rss.blog.naver.com/tastytrip.xml",
     "utf-8"),
    ("gnuboard-dup-guid.xml",
     "http://board.example/bbs/rss.php?bo_table=free", "utf-8"),
    ("euckr-rss2.xml", "http://old.example.co.kr/rss.xml", "cp949"),
    ("rss1.rdf", "http://news.example/index.rdf", "utf-8"),
    ("github-releases.atom", "https://github.com/curl/curl/releases.atom",
     "utf-8"),
]


def norm(s):
    return " ".join((s or "").split())


def html_text(s):
    if "<" not in s and "&" not in s:
        return norm(s)
    return norm(lxml_html.fromstring("<div>%s</div>" % s).text_content())


def expected(name, url, charset):
    with open(os.path.join(FEEDS, name), "rb") as f:
        text = f.read().decode(charset)
    text = re.sub(r"^<\?xml[^>]*\?>", "", text)  # decoded already
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    root = etree.fromstring(text.encode("utf-8"), parser, base_url=url)
    out = []
    if root.tag == ATOM + "feed":
        for e in root.findall(ATOM + "entry"):
            t = e.find(ATOM + "title")
            kind = t.get("type", "text")
            title = html_text(t.text or "") if kind == "html" else \
                norm("".join(t.itertext()))
            link = None
            for ln in e.findall(ATOM + "link"):
                if ln.get("rel", "alternate") == "alternate" and \
                        ln.get("href") is not None:
                    link = urljoin(ln.base, ln.get("href"))
                    break
            out.append((title, link))
        return out
    items = root.findall(RSS1 + "item") if root.tag == RDF + "RDF" else \
        root.findall("channel/item")
    for it in items:
        ns = RSS1 if root.tag == RDF + "RDF" else ""
        t = it.find(ns + "title")
        ln = it.find(ns + "link")
        link = urljoin(ln.base, ln.text.strip()) if ln is not None else None
        if link is None:
            g = it.find("guid")
            if g is not None and g.get("isPermaLink") != "false" and \
                    g.text.strip().startswith("http"):
                link = g.text.strip()
        if t is not None and norm(t.text):
            title = html_text(t.text)
        else:
            d = it.find(ns + "description")
            title = html_text(d.text)[:100]
        out.append((title, link))
    return out


def ours(name, url):
    p = subprocess.run([kwtest.BINARY, "test", "--file",
                        os.path.join(FEEDS, name), "--parser", "feed",
                        "--url", url], capture_output=True, text=True)
    if p.returncode != 0:
        raise AssertionError("%s: %s" % (name, p.stderr))
    out = []
    for line in p.stdout.splitlines():
        m = re.match(r"^\d+\. (.*)$", line)
        if m:
            out.append([m.group(1), None])
        elif line.startswith("   ") and \
                not re.match(r"^   [A-Za-z_]\w*: ", line) and out:
            out[-1][1] = line.strip()
    return [tuple(x) for x in out]


@unittest.skipIf(etree is None, "python3-lxml is not installed")
class FeedsAgainstLxml(unittest.TestCase):

    def test_every_feed_fixture_reads_as_lxml_reads_it(self):
        for name, url, charset in CASES:
            with self.subTest(feed=name):
                want = expected(name, url, charset)
                self.assertTrue(want, name)
                self.assertEqual(ours(name, url), want)


if __name__ == "__main__":
    kwtest.main()
