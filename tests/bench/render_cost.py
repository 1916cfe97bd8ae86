#!/usr/bin/env python3
"""render_cost.py - what one `render: browser` check costs (issue 16).

Usage: tests/bench/render_cost.py [--runs N] [--kakaowatch PATH]

Serves a script-built list (tests/fakes/pageserver.py on 127.0.0.1: an
HTML page whose script fetches /items.json and builds 20 <li>) and runs
`kakaowatch -q once` on one watch N times (default 7) with `render:
browser`, then N times without it on the same list as plain HTML, the two
interleaved. Per run: wall seconds; CPU seconds of kakaowatch and every
process under it (the browser, its zygote, renderer and utility
processes: RUSAGE_CHILDREN of this script, which waits for kakaowatch,
which reaps its browser; this script is a child subreaper, so the
browser's processes orphaned by the kill of their group are reaped here
and counted too); and the memory of the whole process tree,
sampled every 20 ms from /proc: the peak of the summed RSS (counts shared
pages once per process, an upper bound) and the peak of the summed PSS
(shared pages divided among the processes that map them: what the tree
really adds). Prints medians. Needs chromium-headless-shell.
"""
import argparse
import ctypes
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
FAKES = os.path.join(ROOT, "tests", "fakes")
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import kwtest  # noqa: E402

SCRIPT_PAGE = kwtest.script_list_page("list", head='<meta charset="utf-8">')


def tree(pid):
    """pid and all its descendants (from /proc/*/stat)."""
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                s = f.read()
        except OSError:
            continue
        ppid = int(s[s.rindex(")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def mem(pid):
    """(RSS KiB, PSS KiB) of one process, 0 when it is gone."""
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            rss = pss = 0
            for line in f:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
            return rss, pss
    except OSError:
        return 0, 0


def run_once(cmd, keep):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    peak = [0, 0]
    done = threading.Event()

    def sample():
        while not done.is_set():
            rss = pss = 0
            for q in tree(p.pid):
                r, s = mem(q)
                rss += r
                pss += s
            peak[0] = max(peak[0], rss)
            peak[1] = max(peak[1], pss)
            time.sleep(0.02)
    th = threading.Thread(target=sample)
    th.start()
    err = p.stderr.read()
    p.wait()
    wall = time.monotonic() - t0
    done.set()
    th.join()
    # the browser's processes, orphaned when their group was killed, come
    # to this subreaper: reap them so that their CPU time counts
    while True:
        left = [q for q in tree(os.getpid()) if q not in keep]
        if not left:
            break
        try:
            os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        time.sleep(0.01)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + \
        (after.ru_stime - before.ru_stime)
    if p.returncode != 0:
        sys.exit("kakaowatch failed (%d): %s" % (p.returncode, err))
    return wall, cpu, peak[0] / 1024, peak[1] / 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--kakaowatch",
                    default=os.path.join(ROOT, "build", "kakaowatch"))
    a = ap.parse_args()
    if kwtest.find_browser() is None:
        sys.exit("chromium-headless-shell is not installed")
    # PR_SET_CHILD_SUBREAPER: orphans of the tree are reparented here
    ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)
    tmp = tempfile.mkdtemp(prefix="kw-render-bench-")
    pages = os.path.join(tmp, "pages")
    os.mkdir(pages)
    items = ", ".join('{"id": %d, "title": "공연 %d"}' % (i, i)
                      for i in range(20))
    with open(os.path.join(pages, "list.html"), "w") as f:
        f.write(SCRIPT_PAGE)
    with open(os.path.join(pages, "items.json"), "w") as f:
        f.write("[%s]" % items)
    with open(os.path.join(pages, "plain.html"), "w") as f:
        f.write("<ul id=list>%s</ul>" % "".join(
            "<li><a href='/show/%d'>공연 %d</a></li>" % (i, i)
            for i in range(20)))
    srv = subprocess.Popen([sys.executable, "-B",
                            os.path.join(FAKES, "pageserver.py"), "--root",
                            pages, "--port", "0"], stdout=subprocess.PIPE,
                           text=True)
    port = int(srv.stdout.readline())
    try:
        configs = {}
        for kind, page, extra in (("render", "list.html",
                                   "    render: browser\n"),
                                  ("plain", "plain.html", "")):
            path = os.path.join(tmp, kind + ".yaml")
            with open(path, "w") as f:
                f.write("state_dir: %s/state-%s\nkakao:\n  sink: stdout\n"
                        "watches:\n  - name: w\n    url: "
                        "http://127.0.0.1:%d/%s\n    xpath: "
                        "//ul[@id='list']/li/a\n    timeout: 60s\n%s"
                        % (tmp, kind, port, page, extra))
            configs[kind] = path
        res = {"render": [], "plain": []}
        for _ in range(a.runs):
            for kind in ("render", "plain"):
                res[kind].append(run_once([a.kakaowatch, "-q", "-c",
                                           configs[kind], "once"],
                                          (os.getpid(), srv.pid)))
        print("%d runs each, medians (chromium-headless-shell %s)" % (
            a.runs, subprocess.run(["chromium-headless-shell", "--version"],
                                   capture_output=True, text=True)
            .stdout.strip() or "?"))
        print("%-8s %8s %8s %12s %12s" % ("check", "wall s", "CPU s",
                                         "peak RSS MB", "peak PSS MB"))
        for kind in ("render", "plain"):
            cols = list(zip(*res[kind]))
            print("%-8s %8.2f %8.2f %12.1f %12.1f" % (
                kind, *(statistics.median(c) for c in cols)))
            print("%-8s %8s %8s %12s %12s" % (
                "", "%.2f-%.2f" % (min(cols[0]), max(cols[0])),
                "%.2f-%.2f" % (min(cols[1]), max(cols[1])),
                "%.0f-%.0f" % (min(cols[2]), max(cols[2])),
                "%.0f-%.0f" % (min(cols[3]), max(cols[3]))))
    finally:
        srv.terminate()
        srv.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
