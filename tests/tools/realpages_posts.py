#!/usr/bin/env python3
"""realpages_posts.py - which posts the saved boards hold, found without kakaowatch.

Usage: realpages_posts.py DIR   (DIR: ../shared/testdata/realpages)

For each saved board below it selects the post titles with the board's XPath
in two trees, lxml's libxml2 HTML parser and html5lib's HTML5 tree builder
(both must select the same number of elements: the XPaths avoid tbody and
anything else the two trees build differently), and reads each post's id
out of the title's href with a site-specific regular expression (the way
Korean board bots dedupe: wr_id, no, document_srl, article ids). Prints one
JSON object: {"boards": [{"file", "url", "xpath", "posts": [{"id", "text",
"href", "link" (href resolved against url)}], "html5_count"}]}, posts in
document order. test_key.c compares kakaowatch's item keys with
these ids: equal keys exactly for equal ids, on each page and between two
saved moments of one board. Needs python3-lxml and python3-html5lib.
"""
import json
import os
import re
import sys

import urllib.parse
import warnings

import html5lib
import lxml.html

# file, the site URL it was saved from (tests/../shared/testdata/README.md),
# the XPath of the post titles, and the post id regex (groups joined by "/")
BOARDS = [
    ("ko-fmkorea-hotdeal-2023.html", "https://www.fmkorea.com/hotdeal",
     "//h3[contains(@class,'title')]/a",
     r"^/(\d+)$|document_srl=(\d+)"),
    ("ko-fmkorea-hotdeal-2026a.html", "https://www.fmkorea.com/hotdeal",
     "//h3[contains(@class,'title')]/a",
     r"^/(\d+)$|document_srl=(\d+)"),
    ("ko-fmkorea-hotdeal-2026b.html", "https://www.fmkorea.com/hotdeal",
     "//h3[contains(@class,'title')]/a",
     r"^/(\d+)$|document_srl=(\d+)"),
    ("ko-quasarzone-saleinfo-2026a.html",
     "https://quasarzone.com/bbs/qb_saleinfo",
     "//p[contains(@class,'tit')]/a[contains(@class,'subject-link')]",
     r"/bbs/(\w+)/views/(\d+)"),
    ("ko-quasarzone-saleinfo-2026b.html",
     "https://quasarzone.com/bbs/qb_saleinfo",
     "//p[contains(@class,'tit')]/a[contains(@class,'subject-link')]",
     r"/bbs/(\w+)/views/(\d+)"),
    ("ko-ruliweb-1020-2026a.html", "https://bbs.ruliweb.com/market/board/1020",
     "//a[contains(concat(' ',@class,' '),' subject_link ')]",
     r"/board/(\d+)/read/(\d+)"),
    ("ko-ruliweb-1020-2026b.html", "https://bbs.ruliweb.com/market/board/1020",
     "//a[contains(concat(' ',@class,' '),' subject_link ')]",
     r"/board/(\d+)/read/(\d+)"),
    ("ko-ruliweb-1020-2026c.html", "https://bbs.ruliweb.com/market/board/1020",
     "//a[contains(concat(' ',@class,' '),' subject_link ')]",
     r"/board/(\d+)/read/(\d+)"),
    ("ko-dealbada-2020.html",
     "http://www.dealbada.com/bbs/board.php?bo_table=deal_domestic",
     "//td[@class='td_subject']/a",
     r"bo_table=(\w+)&wr_id=(\d+)"),
    ("ko-ppomppu-zboard-2026.euckr.html",
     "https://www.ppomppu.co.kr/zboard/zboard.php?id=ppomppu",
     "//a[@class='baseList-title']",
     r"[?&]id=(\w+)&(?:.*&)?no=(\d+)"),
    ("ko-clien-park-2026.html", "https://www.clien.net/service/board/park",
     "//div[contains(@class,'list_title')]/a[@class='list_subject']",
     r"/service/board/(\w+)/(\d+)"),
    ("ko-clien-jirum-2020.html", "https://www.clien.net/service/board/jirum",
     "//span[@class='list_subject']/a[not(contains(@class,'list_reply'))]",
     r"/service/board/(\w+)/(\d+)"),
    ("ko-todayhumor-bob-2026.html",
     "https://www.todayhumor.co.kr/board/list.php?table=bestofbest",
     "//td[@class='subject']/a",
     r"table=(\w+)&no=(\d+)"),
    ("ko-slrclub-2026.html",
     "https://www.slrclub.com/bbs/zboard.php?id=hot_article",
     "//td[@class='sbj']/a",
     r"id=(\w+)&no=(\d+)"),
    ("ko-mlbpark-bullpen-2026.html",
     "https://mlbpark.donga.com/mp/b.php?b=bullpen",
     "//div[@class='tit']/a[@class='txt']",
     r"[?&]id=(\d+)&(?:.*&)?b=(\w+)"),
    ("ko-bobaedream-best-2026.html",
     "https://www.bobaedream.co.kr/list?code=best",
     "//td[@class='pl14']/a[@class='bsubject']",
     r"code=(\w+)&No=(\d+)"),
    ("ko-humoruniv-pds-2026.euckr.html",
     "https://web.humoruniv.com/board/humor/list.html?table=pds&st=day",
     "//td[@class='li_sbj']/a",
     r"table=(\w+)&.*number=(\d+)"),
    ("ko-theqoo-hot-2026.html", "https://theqoo.net/hot",
     "//td[@class='title']/a[not(@class)]",
     r"^/(\w+)/(\d+)$"),
    ("ko-arca-hotdeal-2026.html", "https://arca.live/b/hotdeal",
     "//a[contains(@class,'hybrid-title')]",
     r"/b/(\w+)/(\d+)"),
]


def post_id(pattern, href):
    m = re.search(pattern, href)
    if m is None:
        return None
    return "/".join(g for g in m.groups() if g is not None)


def main():
    warnings.simplefilter("ignore")  # html5lib's DataLossWarning
    root = sys.argv[1]
    out = []
    for name, url, xpath, pattern in BOARDS:
        path = os.path.join(root, name)
        if not os.path.exists(path):
            continue
        with open(path, "rb") as f:
            data = f.read()
        # lxml guesses no charset from <meta>: decode as the README says
        text = data.decode("cp949" if ".euckr." in name else "utf-8",
                           errors="replace")
        doc = lxml.html.document_fromstring(text)
        posts = []
        for a in doc.xpath(xpath):
            href = a.get("href") or ""
            posts.append({"id": post_id(pattern, href), "href": href,
                          "link": urllib.parse.urljoin(url, href),
                          "text": a.text_content().strip()})
        tree = html5lib.parse(data, treebuilder="lxml",
                              namespaceHTMLElements=False)
        out.append({"file": name, "url": url, "xpath": xpath,
                    "posts": posts, "html5_count": len(tree.xpath(xpath))})
    json.dump({"boards": out}, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
