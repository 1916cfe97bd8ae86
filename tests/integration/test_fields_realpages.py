"""fields: on saved Korean hot-deal boards (issue 17).

For fmkorea, quasarzone, arca, ppomppu and ruliweb pages saved in
../shared/testdata/realpages, a watch declares the fields a hot-deal reader
wants (price, shop, shipping, comment count, picture) as XPaths and CSS
selectors, and `kakaowatch test NAME --file PAGE` must print, for every
item, the fields that an independent reading gives: html5lib (the WHATWG
tree builder) parses the page, lxml evaluates the same XPaths relative to
each item (for a CSS field, an XPath written by hand for the same elements,
not kakaowatch's translation), the text is taken as docs/design.md defines
item text (html5ref.element_text), an `image` field is the element's
data-original / data-src / data-lazy-src / src resolved with urljoin. The
`when:` verdict each item gets (`price <= LIMIT`) is checked against the
price read here with a parser of this file's own.

Skips (exit 77) with a clear line when the pages or html5lib/lxml are
missing.
"""
import os
import re
import subprocess
import sys
import tempfile
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import html5ref                                # noqa: E402
from html5ref import BINARY, PAGES             # noqa: E402

html5ref.need_realpages(__file__)

import warnings                                # noqa: E402

import html5lib                                # noqa: E402

from html5ref import element_text              # noqa: E402


def css_class(name):
    return ("contains(concat(' ', normalize-space(@class), ' '), ' %s ')"
            % name)


# Each board: the page, its URL, the item XPath, the title XPath, the
# fields as the config writes them and, for each, the XPath the reference
# evaluates (the same one for XPath fields; a hand-written one for CSS).
BOARDS = [
    {
        "name": "fmkorea",
        "pages": ["ko-fmkorea-hotdeal-2026a.html",
                  "ko-fmkorea-hotdeal-2026b.html"],
        "url": "https://www.fmkorea.com/hotdeal",
        "xpath": "//li[contains(@class, 'li_best2_pop0')]",
        "title": ".//h3[@class='title']/a",
        "fields": [
            ("shop", "\".//div[@class='hotdeal_info']/span[1]/a\"",
             ".//div[@class='hotdeal_info']/span[1]/a"),
            ("price", "{ css: 'div.hotdeal_info > span:nth-of-type(2) > a' }",
             "descendant-or-self::div[%s]/span[2]/a"
             % css_class("hotdeal_info")),
            ("shipping", "\".//div[@class='hotdeal_info']/span[3]/a\"",
             ".//div[@class='hotdeal_info']/span[3]/a"),
            ("comments",
             "\"translate(.//span[@class='comment_count'], '[]', '')\"",
             "translate(.//span[@class='comment_count'], '[]', '')"),
            ("image", "{ css: img.thumb }",
             "descendant-or-self::img[%s]" % css_class("thumb")),
        ],
        "limit": 20000,
    },
    {
        "name": "quasarzone",
        "pages": ["ko-quasarzone-saleinfo-2026a.html",
                  "ko-quasarzone-saleinfo-2026b.html"],
        "url": "https://quasarzone.com/bbs/qb_saleinfo",
        "xpath": "//div[@class='market-info-list']",
        "title": ".//span[@class='ellipsis-with-reply-cnt']",
        "fields": [
            ("price", "\".//span[@class='text-orange']\"",
             ".//span[@class='text-orange']"),
            ("category", "{ css: span.category }",
             "descendant-or-self::span[%s]" % css_class("category")),
            ("shop", "\"substring-before(substring-after("
             ".//span[@class='ellipsis-with-reply-cnt'], '['), ']')\"",
             "substring-before(substring-after("
             ".//span[@class='ellipsis-with-reply-cnt'], '['), ']')"),
            ("image", "{ css: img.maxImg }",
             "descendant-or-self::img[%s]" % css_class("maxImg")),
        ],
        "limit": 100000,
    },
    {
        "name": "arca",
        "pages": ["ko-arca-hotdeal-2026.html"],
        "url": "https://arca.live/b/hotdeal",
        "xpath": "//div[contains(@class, 'vrow') and "
                 "contains(@class, 'hybrid')]",
        "title": ".//a[contains(@class, 'hybrid-title')]",
        "fields": [
            ("price", "{ css: span.deal-price }",
             "descendant-or-self::span[%s]" % css_class("deal-price")),
            ("shipping", "{ css: span.deal-delivery }",
             "descendant-or-self::span[%s]" % css_class("deal-delivery")),
            ("shop", "{ css: span.deal-store }",
             "descendant-or-self::span[%s]" % css_class("deal-store")),
            ("comments",
             "\"translate(.//span[@class='comment-count'], '[]', '')\"",
             "translate(.//span[@class='comment-count'], '[]', '')"),
            ("image", "{ css: '.vrow-preview img' }",
             "descendant-or-self::*[%s]/descendant::img"
             % css_class("vrow-preview")),
        ],
        "limit": 10000,
    },
    {
        "name": "ppomppu",
        "pages": ["ko-ppomppu-zboard-2026.euckr.html"],
        "url": "https://www.ppomppu.co.kr/zboard/zboard.php?id=ppomppu",
        "xpath": "//tr[contains(@class, 'baseList')]"
                 "[.//a[@class='baseList-title']]",
        "title": ".//a[@class='baseList-title']",
        "fields": [
            ("shop", "\".//em[contains(@class, 'subject_preface')]\"",
             ".//em[contains(@class, 'subject_preface')]"),
            ("comments", "{ css: span.baseList-c }",
             "descendant-or-self::span[%s]" % css_class("baseList-c")),
            ("category", "{ css: small.baseList-small }",
             "descendant-or-self::small[%s]" % css_class("baseList-small")),
            ("thumb", "{ css: 'a.baseList-thumb', attr: tooltip }",
             "(descendant-or-self::a[%s])/@tooltip"
             % css_class("baseList-thumb")),
            ("image", "{ css: 'a.baseList-thumb > img' }",
             "descendant-or-self::a[%s]/img" % css_class("baseList-thumb")),
        ],
        "limit": None,
    },
    {
        "name": "ruliweb",
        "pages": ["ko-ruliweb-1020-2026a.html", "ko-ruliweb-1020-2026b.html"],
        "url": "https://bbs.ruliweb.com/market/board/1020",
        "xpath": "//tr[contains(@class, 'table_body')]"
                 "[not(contains(@class, 'notice'))]",
        "title": ".//a[contains(@class, 'subject_link')]",
        "fields": [
            ("comments", "\"translate(.//a[@class='num_reply'], ' ()', '')\"",
             "translate(.//a[@class='num_reply'], ' ()', '')"),
            ("price", "\"substring-before(substring-after("
             ".//a[contains(@class, 'subject_link')], '('), '/')\"",
             "substring-before(substring-after("
             ".//a[contains(@class, 'subject_link')], '('), '/')"),
            ("views", "{ css: td.hit }",
             "descendant-or-self::td[%s]" % css_class("hit")),
        ],
        "limit": 30000,
    },
]

IMAGE_ATTRS = ("data-original", "data-src", "data-lazy-src", "src", "href",
               "url")


def collapse(s):
    return " ".join(s.split())


def reference(board, page):
    """[(title, {field: value})] read with html5lib + lxml."""
    with open(os.path.join(PAGES, page), "rb") as f:
        raw = f.read()
    enc = "cp949" if ".euckr." in page else "utf-8"
    warnings.simplefilter("ignore")
    doc = html5lib.parse(raw.decode(enc, "replace"), treebuilder="lxml",
                         namespaceHTMLElements=False)
    bases = doc.xpath("//base/@href")
    base = urllib.parse.urljoin(board["url"], bases[0]) if bases \
        else board["url"]
    out = []
    for item in doc.xpath(board["xpath"]):
        t = item.xpath(board["title"])
        title = element_text(t[0]) if t else ""
        if not title:
            continue
        fields = {}
        for name, _, xp in board["fields"]:
            r = item.xpath(xp)
            if isinstance(r, list):
                if not r:
                    continue
                r = r[0]
                if name == "image":
                    v = next((r.get(a).strip() for a in IMAGE_ATTRS
                              if r.get(a)), "")
                    # urljoin would drop an empty query ("x.png?"),
                    # which RFC 3986 keeps: absolute URLs stay as written
                    if v and not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", v):
                        v = urllib.parse.urljoin(base, v)
                    value = v
                elif isinstance(r, str):      # an attribute
                    value = collapse(r)
                else:
                    value = element_text(r)
            else:
                value = collapse(str(r))
            if value:
                fields[name] = value
        out.append((title, fields))
    return out


def price_of(text):
    """A price as the boards write it, read here independently."""
    if text is None:
        return None
    t = text.strip()
    if t == "무료":
        return 0
    t = re.sub(r"\s*(\(KRW\)|KRW)$", "", t)
    t = re.sub(r"원$", "", t).strip()
    t = re.sub(r"^[￦₩]\s*", "", t)
    if not re.fullmatch(r"\d{1,3}(,\d{3})*|\d+", t):
        return None
    return int(t.replace(",", ""))


def config_for(board, tmp):
    lines = ["kakao: { sink: stdout }",
             "state_dir: %s" % os.path.join(tmp, "state"),
             "watches:",
             "  - name: %s" % board["name"],
             "    url: %s" % board["url"],
             "    xpath: \"%s\"" % board["xpath"],
             "    title: \"%s\"" % board["title"],
             "    fields:"]
    for name, conf, _ in board["fields"]:
        lines.append("      %s: %s" % (name, conf))
    if board["limit"] is not None:
        lines.append("    when: 'price <= %d'" % board["limit"])
    path = os.path.join(tmp, "watches.yaml")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return path


def ours(cfg, board, page):
    """[(title, {field: value}, when)] as `kakaowatch test` prints them."""
    p = subprocess.run([BINARY, "-c", cfg, "test", board["name"], "--file",
                        os.path.join(PAGES, page), "--url", board["url"]],
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise AssertionError("%s: %s" % (page, p.stderr))
    names = {f[0] for f in board["fields"]}
    out = []
    for line in p.stdout.splitlines():
        m = re.match(r"^\d+\. (.*)$", line)
        if m:
            out.append([m.group(1), {}, None])
            continue
        m = re.match(r"^   ([A-Za-z_]\w*): (.*)$", line)
        if m and out:
            if m.group(1) == "when":
                out[-1][2] = m.group(2)
            elif m.group(1) in names:
                out[-1][1][m.group(1)] = m.group(2)
    return out


class FieldsOnRealPages(unittest.TestCase):

    def test_fields_and_when_as_html5lib_and_lxml_read_them(self):
        with tempfile.TemporaryDirectory() as tmp:
            for board in BOARDS:
                cfg = config_for(board, tmp)
                for page in board["pages"]:
                    with self.subTest(page=page):
                        self.check_page(cfg, board, page)

    def check_page(self, cfg, board, page):
        want = reference(board, page)
        got = ours(cfg, board, page)
        self.assertGreaterEqual(len(want), 5, "too few items to mean "
                                "anything on %s" % page)
        self.assertEqual([g[0] for g in got], [w[0] for w in want])
        for (title, wf), (_, gf, when) in zip(want, got):
            self.assertEqual(gf, wf, title)
        # every declared field is found on some item of the page
        for name, _, _ in board["fields"]:
            self.assertTrue(any(name in w[1] for w in want),
                            "%s: no item has %s" % (page, name))
        if board["limit"] is None:
            return
        verdicts = set()
        for (title, wf), (_, _, when) in zip(want, got):
            price = price_of(wf.get("price"))
            if price is None:
                self.assertTrue(when.startswith("no ("), (title, when))
                self.assertRegex(when, r"is missing|is not a number",
                                 title)
                verdicts.add("unreadable")
            elif price <= board["limit"]:
                self.assertEqual(when, "yes", (title, wf.get("price")))
                verdicts.add("yes")
            else:
                self.assertEqual(when, "no (price <= %d is false)"
                                 % board["limit"], title)
                verdicts.add("no")
        # the page has both cheap and dear deals: the test can fail
        self.assertTrue({"yes", "no"} <= verdicts, (page, verdicts))


if __name__ == "__main__":
    unittest.main()
