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
/usr/bin/python3), or returns None. `need_realpages(script)` is the
set-up of a test on the saved pages run in-process (test_html5_realpages,
test_fields_realpages): PAGES and BINARY say where they are.
"""
import json
import os
import subprocess
import sys

SKIP = {"script", "style", "noscript", "template"}
HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.environ.get("KW_SOURCE_DIR") or os.path.join(HERE, "..", "..")
PAGES = os.path.join(SOURCE, "..", "shared", "testdata", "realpages")
BINARY = os.environ.get("KW_BINARY") or os.path.join(
    SOURCE, "build", "kakaowatch")
EXIT_SKIP = 77
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


def _import_or_reexec(script):
    """html5lib and lxml, from Debian's python3 if ours lacks them."""
    try:
        import html5lib  # noqa: F401
        import lxml.etree  # noqa: F401
        return True
    except ImportError:
        pass
    system = "/usr/bin/python3"
    if (os.path.exists(system) and os.path.realpath(sys.executable)
            != os.path.realpath(system)
            and not os.environ.get("KW_HTML5_REEXEC")):
        os.environ["KW_HTML5_REEXEC"] = "1"
        os.execv(system, [system, "-B", os.path.abspath(script)]
                 + sys.argv[1:])
    return False


def need_realpages(script):
    """Makes html5lib and lxml importable for the test SCRIPT (its
    __file__): if this Python lacks them, re-runs SCRIPT with the same
    arguments under /usr/bin/python3 (once; it does not return then).
    Exits EXIT_SKIP (77, ctest's skip) with one line saying what is missing
    when they cannot be had or there are no saved pages at PAGES."""
    if not _import_or_reexec(script):
        print("skipped: python3-html5lib and python3-lxml are not installed "
              "(apt-get install python3-html5lib python3-lxml)")
        sys.exit(EXIT_SKIP)
    if not os.path.isdir(PAGES):
        print("skipped: no saved pages at %s (../shared/testdata/realpages)"
              % os.path.normpath(PAGES))
        sys.exit(EXIT_SKIP)


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
