"""The documentation stays true to the tree: `cmake --install` puts the
binary, both man pages and the systemd unit in place; every configuration
key of docs/configuration.md is in kakaowatch.yaml(5); every command of
`kakaowatch --help` is in the README and kakaowatch(1); every "docs/X.md §N"
a comment cites exists; every relative link of the README and docs/ leads
to a file."""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import kwtest  # noqa: E402

SRC = os.environ.get("KW_SOURCE_DIR") or os.path.join(
    os.path.dirname(__file__), "..", "..")
BUILD = os.path.dirname(os.path.abspath(kwtest.BINARY))


def read(*parts):
    with open(os.path.join(SRC, *parts), encoding="utf-8") as f:
        return f.read()


def config_keys():
    """The keys in the first column of docs/configuration.md's tables."""
    keys = []
    for line in read("docs", "configuration.md").splitlines():
        m = re.match(r"^\| (`[^|]*`) \|", line)
        if m:
            keys += re.findall(r"`([a-z_]+)`", m.group(1))
    return keys


def sections(doc):
    """The section numbers of a docs/ file: its numbered headings ("2",
    "2.1"), and "N.k" for item k of a numbered list in section N."""
    found, top = set(), None
    for line in read("docs", doc).splitlines():
        m = re.match(r"^#+ (\d+(?:\.\d+)?)[. ]", line)
        if m:
            found.add(m.group(1))
            top = m.group(1).split(".")[0]
            continue
        m = re.match(r"^(\d+)\. ", line)
        if m and top is not None:
            found.add("%s.%s" % (top, m.group(1)))
    return found


def module_rows():
    """docs/design.md §1's module table, low to high: {module: row}."""
    text = read("docs", "design.md")
    table = text[text.index("## 1. Modules"):text.index("## 2.")]
    rows = {}
    for line in table.splitlines():
        m = re.match(r"^\| ([a-z_0-9*, ]+) \|", line)
        if m and m.group(1).strip() != "module":
            for name in m.group(1).split(","):
                rows[name.strip().rstrip("_*")] = len(set(rows.values()))
    return rows


def module_of(path, rows):
    """The module a source file or header belongs to: its name, or the
    MODULE of MODULE_*.c; main.c is cmd's."""
    base = os.path.basename(path).rsplit(".", 1)[0]
    if base == "main":
        return "cmd"
    while base not in rows and "_" in base:
        base = base.rsplit("_", 1)[0]
    return base


class DocsTest(unittest.TestCase):

    def test_cmake_install_puts_binary_man_pages_and_unit_in_place(self):
        cmake = shutil.which("cmake")
        if cmake is None:
            self.skipTest("cmake is not on PATH")
        dest = tempfile.mkdtemp(prefix="kw-install-")
        try:
            p = subprocess.run(
                [cmake, "--install", BUILD, "--prefix", "/usr"],
                env=dict(os.environ, DESTDIR=dest), capture_output=True,
                text=True)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            binary = os.path.join(dest, "usr", "bin", "kakaowatch")
            self.assertTrue(os.access(binary, os.X_OK))
            v = subprocess.run([binary, "--version"], capture_output=True,
                               text=True)
            self.assertRegex(v.stdout, r"^kakaowatch \d+\.\d+\.\d+\n$")
            man = os.path.join(dest, "usr", "share", "man")
            for page in ("man1/kakaowatch.1", "man5/kakaowatch.yaml.5"):
                with open(os.path.join(man, page), encoding="utf-8") as f:
                    self.assertTrue(f.read().startswith(".TH "), page)
            unit = os.path.join(dest, "usr", "lib", "systemd", "system",
                                "kakaowatch.service")
            with open(unit, encoding="utf-8") as f:
                text = f.read()
            self.assertIn("\nExecStart=/usr/bin/kakaowatch run ", text)
            self.assertIn("\nExecReload=/bin/kill -HUP $MAINPID", text)
        finally:
            shutil.rmtree(dest)

    def test_man_pages_render_without_warnings(self):
        groff = shutil.which("groff")
        if groff is None:
            self.skipTest("groff is not installed")
        for page in ("kakaowatch.1", "kakaowatch.yaml.5"):
            p = subprocess.run(
                [groff, "-man", "-Tutf8", "-ww", "-z",
                 os.path.join(SRC, "res", page)],
                capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(p.stderr, "", page)

    def test_every_configuration_key_is_in_the_man_page(self):
        keys = config_keys()
        self.assertGreater(len(keys), 25)  # the tables were found
        man = read("res", "kakaowatch.yaml.5")
        documented = set(re.findall(r"^\.B (\S+)$", man, re.M))
        missing = [k for k in keys if k not in documented]
        self.assertEqual(missing, [], "keys of docs/configuration.md "
                         "missing from res/kakaowatch.yaml.5 (as '.B key')")

    def test_every_command_is_in_the_readme_and_the_man_page(self):
        p = subprocess.run([kwtest.BINARY, "--help"], capture_output=True,
                           text=True)
        self.assertEqual(p.returncode, 0)
        block = p.stdout.split("commands:\n", 1)[1].split("\n\n", 1)[0]
        commands = [line.split()[0] for line in block.splitlines()]
        self.assertIn("run", commands)
        readme = read("README.md")
        man = read("res", "kakaowatch.1")
        for c in commands:
            self.assertIn("| `kakaowatch %s" % c, readme,
                          "README's Commands table lacks '%s'" % c)
            self.assertTrue(re.search(r"(?m)^\.BR? %s\b" % c, man),
                            "kakaowatch(1) lacks '%s'" % c)

    def test_every_docs_section_a_comment_cites_exists(self):
        known = {d: sections(d) for d in ("design.md", "kakao.md")}
        self.assertIn("2.2", known["kakao.md"])
        cite = re.compile(r"(?:docs/)?(design|kakao)\.md((?:,? ?§[\d.]+"
                          r"(?:-§[\d.]+)?)+)")
        bad = []
        for top in ("src", "include", "tests"):
            for root, dirs, files in os.walk(os.path.join(SRC, top)):
                dirs[:] = [d for d in dirs if d != "corpus"]
                for name in files:
                    if not name.endswith((".c", ".h", ".py", ".dict",
                                          ".md", ".txt")):
                        continue
                    path = os.path.join(root, name)
                    with open(path, encoding="utf-8",
                              errors="replace") as f:
                        # comments wrap: join continuation lines
                        text = re.sub(r"\n\s*(?:\*|#)?\s*", " ", f.read())
                    for m in cite.finditer(text):
                        doc = m.group(1) + ".md"
                        for sec in re.findall(r"§(\d+(?:\.\d+)?)",
                                              m.group(2)):
                            if sec not in known[doc]:
                                bad.append("%s: %s §%s" % (
                                    os.path.relpath(path, SRC), doc, sec))
        self.assertEqual(bad, [])

    def test_modules_include_only_the_modules_below_them(self):
        rows = module_rows()
        self.assertLess(rows["util"], rows["config"])
        self.assertLess(rows["config"], rows["sched"])
        bad = []
        for top in ("src", os.path.join("include", "kakaowatch")):
            for name in sorted(os.listdir(os.path.join(SRC, top))):
                if not name.endswith((".c", ".h")):
                    continue
                mod = module_of(name, rows)
                if mod not in rows:
                    bad.append("%s/%s: module %s has no row in "
                               "docs/design.md §1" % (top, name, mod))
                    continue
                for inc in re.findall(r'^#include "(?:kakaowatch/)?'
                                      r'([a-z_0-9]+)\.h"',
                                      read(top, name), re.M):
                    dep = module_of(inc, rows)
                    if dep not in rows or rows[dep] > rows[mod]:
                        bad.append("%s/%s (%s) includes %s.h" % (
                            top, name, mod, inc))
        self.assertEqual(bad, [], "docs/design.md §1 orders the modules")

    def test_relative_links_of_readme_and_docs_lead_to_files(self):
        docs = [("README.md",), ("tests", "bench", "README.md")] + [
            ("docs", n) for n in os.listdir(os.path.join(SRC, "docs"))
            if n.endswith(".md")]
        bad = []
        for parts in docs:
            here = os.path.dirname(os.path.join(SRC, *parts))
            for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)",
                                     read(*parts)):
                if re.match(r"^[a-z]+:", target):
                    continue
                if not os.path.exists(os.path.join(here, target)):
                    bad.append("%s -> %s" % ("/".join(parts), target))
        self.assertEqual(bad, [])


if __name__ == "__main__":
    kwtest.main()
