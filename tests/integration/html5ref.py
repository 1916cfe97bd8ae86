"""html5ref.py: independent expectations for tests on saved real pages.

Run as a script by a Python that has html5lib and lxml (Debian's
python3-html5lib, python3-lxml): reads a JSON request on stdin,
{"file": PATH, "encoding": "utf-8" | "cp949", "xpath": EXPR}, parses the
page with html5lib (the WHATWG tree a browser builds) and prints a JSON
list of the texts of the elements EXPR selects, written the way
docs/design.md defines an item's text (whitespace collapsed; script, style,
noscript and template left out; block boundaries and <br> count as a
space), empty ones dropped. Nothing here uses kakaowatch's own code.

`interpreter()` finds such a Python for a test (this one, else
/usr/bin/python3), or returns None.
"""
import json
import os
import subprocess
import sys

SKIP = {"script", "style", "noscript", "template"}
BLOCK = {"address", "article", "aside", "blockquote", "br", "dd", "div",
         "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form",
         "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main",
         "nav", "ol", "p", "pre", "section", "table", "tbody", "td",
         "tfoot", "th", "thead", "tr", "ul"}


def element_text(el):
    out = []

    def walk(e, top):
        if isinstance(e.tag, str) and e.tag not in SKIP:
            block = e.tag in BLOCK
            if block:
                out.append(" ")
            if e.text:
                out.append(e.text)
            for c in e:
                walk(c, False)
            if block:
                out.append(" ")
        if not top and e.tail:
            out.append(e.tail)

    walk(el, True)
    return " ".join("".join(out).split())


def interpreter():
    for exe in (sys.executable, "/usr/bin/python3"):
        if not exe or not os.path.exists(exe):
            continue
        p = subprocess.run([exe, "-c", "import html5lib, lxml"],
                           capture_output=True)
        if p.returncode == 0:
            return exe
    return None


def texts(exe, path, encoding, xpath):
    """The texts `xpath` selects on `path` in html5lib's tree."""
    req = json.dumps({"file": path, "encoding": encoding, "xpath": xpath})
    p = subprocess.run([exe, "-B", os.path.abspath(__file__)], input=req,
                       capture_output=True, text=True, check=True)
    return json.loads(p.stdout)


def main():
    import warnings

    import html5lib

    warnings.simplefilter("ignore")
    req = json.load(sys.stdin)
    with open(req["file"], "rb") as f:
        raw = f.read()
    doc = html5lib.parse(raw.decode(req["encoding"], "replace"),
                         treebuilder="lxml", namespaceHTMLElements=False)
    out = [element_text(e) for e in doc.xpath(req["xpath"])]
    json.dump([t for t in out if t], sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
