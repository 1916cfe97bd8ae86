#!/usr/bin/env python3
"""kakaowatch benchmark: kakaowatch against urlwatch 2.25 and against
libxml2's own parse cost, on real HTML pages served by nginx on 127.0.0.1.

    tests/bench/run.py              # N = 100, 1000; daemon 180 s; idle 60 s
    tests/bench/run.py --big        # also N = 10000 (kakaowatch only)
    tests/bench/run.py --help

Prints one table of figures and ratios at the end (and --json/--markdown
files). Needs root to install the Debian packages it uses (nginx-light,
urlwatch, python3-doc, postgresql-doc-15, libxml2-dev, pkg-config) when they
are missing. Nothing leaves 127.0.0.1.

What is measured, per tool and N (watch count), 3 repetitions, medians:
  cold     fresh state: every page is new (200, parse, store baseline)
  warm     same state, nothing changed: every request gets a 304
  changed  10% of the pages got one new item (200 for those, 304 for rest)
CPU = user + system seconds of the tool's process (os.wait4 rusage, which
includes threads and any waited-for children), wall seconds, peak RSS. The
floor is tests/bench/xpath_floor.c: libxml2 alone parsing the same bytes
and evaluating the same compiled XPaths. The daemon part runs
`kakaowatch run` with 1000 watches on a 10 s interval and reads
/proc/PID/{stat,status}; the idle part runs 5 watches on a 1 h interval.
"""

import argparse
import datetime
import json
import os
import platform
import random
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import corpus as corpus_mod  # noqa: E402
import nginx as nginx_mod    # noqa: E402
import writers               # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
CHANGE_FRACTION = 0.10

# what the benchmark needs, and the Debian package that brings it
NEEDS = [
    ("/usr/sbin/nginx", "nginx-light"),
    ("/usr/bin/urlwatch", "urlwatch"),
    ("/usr/share/doc/python3.11/html/index.html", "python3-doc"),
    ("/usr/share/doc/postgresql-doc-15/html/index.html",
     "postgresql-doc-15"),
    ("/usr/include/libxml2/libxml/HTMLparser.h", "libxml2-dev"),
    ("/usr/bin/pkg-config", "pkg-config"),
    ("/usr/bin/cc", "gcc"),
    ("/usr/bin/time", "time"),
]


def log(msg):
    print("[bench %s] %s" % (time.strftime("%H:%M:%S"), msg),
          file=sys.stderr, flush=True)


# ------------------------------------------------------------------ set-up

def ensure_packages(allow_install):
    missing = sorted({pkg for path, pkg in NEEDS if not os.path.exists(path)})
    if not missing:
        return
    if not allow_install or os.geteuid() != 0:
        raise SystemExit("bench: missing Debian packages: %s (run as root "
                         "to let the script install them, or apt-get "
                         "install them)" % " ".join(missing))
    log("installing " + " ".join(missing))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = ["apt-get", "install", "-y", "--no-install-recommends"] + missing
    if subprocess.run(cmd, env=env).returncode != 0:
        subprocess.run(["apt-get", "update"], env=env, check=True)
        subprocess.run(cmd, env=env, check=True)
    # the nginx package may have started its own service: not ours, and
    # it does not matter (we listen on a free port), so it is left alone


def build_floor(work):
    out = os.path.join(work, "xpath_floor")
    flags = subprocess.run(["pkg-config", "--cflags", "--libs",
                            "libxml-2.0"], check=True, capture_output=True,
                           text=True).stdout.split()
    subprocess.run(["cc", "-O2", "-std=c11", "-Wall", "-Wextra", "-o", out,
                    os.path.join(HERE, "xpath_floor.c")] + flags,
                   check=True)
    return out


def find_parse_bench(kw_bin):
    """build/tests/parse_bench (old parser vs gumbo vs extract_items),
    next to the kakaowatch binary; built with cmake when missing."""
    build = os.path.dirname(kw_bin)
    path = os.path.join(build, "tests", "parse_bench")
    if not os.path.exists(path):
        log("building parse_bench in %s" % build)
        subprocess.run(["cmake", "--build", build, "-j2", "--target",
                        "parse_bench"], check=True,
                       stdout=subprocess.DEVNULL)
    return path


def parse_cpu(bench_bin, work, name, entries, mode=None, reps=1):
    """parse_bench over entries: its JSON (per pass; mode: one parser)."""
    listfile = os.path.join(work, "parse-%s.list" % name)
    corpus_mod.write_floor_list(listfile, entries)
    argv = [bench_bin] + (["-m", mode] if mode else []) + [listfile,
                                                           str(reps)]
    return json.loads(subprocess.run(argv, check=True, capture_output=True,
                                     text=True).stdout)


def find_kakaowatch(path):
    if path is None:
        path = os.path.join(REPO, "build", "kakaowatch")
        if not os.path.exists(path):
            log("building kakaowatch in build/ (cmake, RelWithDebInfo)")
            subprocess.run(["cmake", "-S", REPO, "-B",
                            os.path.join(REPO, "build")], check=True,
                           stdout=subprocess.DEVNULL)
            subprocess.run(["cmake", "--build", os.path.join(REPO, "build"),
                            "-j2", "--target", "kakaowatch"], check=True,
                           stdout=subprocess.DEVNULL)
    if not os.access(path, os.X_OK):
        raise SystemExit("bench: no kakaowatch binary at " + path)
    return os.path.abspath(path)


# ------------------------------------------------------------- measurement

def measure(argv, env, stderr_path, stdout=subprocess.DEVNULL):
    """Run argv to completion; its CPU, wall time, peak RSS, exit code.

    The tool runs under GNU time, which only reports its peak RSS: the
    rusage of a process that this (large) Python process forks would count
    our own pages, as Linux carries the pre-exec peak across exec. CPU comes
    from os.wait4 on time (it includes the tool, which time waited for:
    microseconds instead of time's 10 ms steps; time's own share is a
    millisecond)."""
    tfile = stderr_path + ".time"
    with open(stderr_path, "ab") as err:
        t0 = time.monotonic()
        p = subprocess.Popen(["/usr/bin/time", "-f", "%M %x", "-o", tfile,
                              "--"] + argv, env=env,
                             stdin=subprocess.DEVNULL, stdout=stdout,
                             stderr=err)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.monotonic() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    with open(tfile) as f:
        last = f.read().strip().splitlines()[-1].split()
    os.unlink(tfile)
    return {"cpu": ru.ru_utime + ru.ru_stime, "user": ru.ru_utime,
            "sys": ru.ru_stime, "wall": wall, "rss_kb": int(last[0]),
            "rc": int(last[1]) if p.returncode == 0 else p.returncode}


def tool_env(work):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("KAKAO", "XDG_", "http_proxy", "https_proxy",
                                "HTTP_PROXY", "HTTPS_PROXY", "no_proxy",
                                "NO_PROXY"))}
    env["HOME"] = os.path.join(work, "home")
    os.makedirs(env["HOME"], exist_ok=True)
    env["LC_ALL"] = "C.UTF-8"
    return env


class Tool:
    name = ""

    def __init__(self, work, n):
        self.work = os.path.join(work, "%s-%d" % (self.name, n))
        os.makedirs(self.work, exist_ok=True)
        self.env = tool_env(work)
        self.errlog = os.path.join(self.work, "stderr.log")

    def errors_since(self, offset):
        with open(self.errlog, "rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace").strip()

    def errlog_size(self):
        return os.path.getsize(self.errlog) if os.path.exists(
            self.errlog) else 0


class Kakaowatch(Tool):
    name = "kakaowatch"

    def __init__(self, work, n, binary, ws):
        super().__init__(work, n)
        self.binary = binary
        self.state = os.path.join(self.work, "state")
        self.config = os.path.join(self.work, "bench.yaml")
        writers.write_kakaowatch(self.config, self.state, ws)

    def fresh(self):
        shutil.rmtree(self.state, ignore_errors=True)
        os.makedirs(self.state)

    def argv(self):
        return [self.binary, "-q", "-c", self.config, "once"]

    def run(self):
        off = self.errlog_size()
        r = measure(self.argv(), self.env, self.errlog)
        r["errors"] = self.errors_since(off)
        return r

    def items_ok(self):
        """(watches with items stored, watches) from `status --json`."""
        p = subprocess.run([self.binary, "-c", self.config, "status",
                            "--json"], env=self.env, capture_output=True,
                           text=True)
        try:
            data = json.loads(p.stdout)
        except ValueError:
            return None
        watches = data.get("watches", data) if isinstance(data, dict) \
            else data
        if not isinstance(watches, list):
            return None
        ok = sum(1 for w in watches if isinstance(w, dict)
                 and (w.get("items") or w.get("item_count") or 0) > 0)
        return ok, len(watches)


class Urlwatch(Tool):
    name = "urlwatch"

    def __init__(self, work, n, ws):
        super().__init__(work, n)
        self.jobs = os.path.join(self.work, "jobs.yaml")
        self.config = os.path.join(self.work, "urlwatch.yaml")
        self.cache = os.path.join(self.work, "cache.db")
        writers.write_urlwatch_jobs(self.jobs, ws)
        writers.write_urlwatch_config(self.config)

    def fresh(self):
        for suffix in ("", "-journal", "-wal", "-shm"):
            if os.path.exists(self.cache + suffix):
                os.unlink(self.cache + suffix)

    def argv(self):
        return ["urlwatch", "--urls", self.jobs, "--config", self.config,
                "--cache", self.cache, "--hooks",
                os.path.join(self.work, "no-hooks.py")]

    def run(self):
        off = self.errlog_size()
        out = os.path.join(self.work, "stdout.log")
        with open(out, "wb") as f:
            r = measure(self.argv(), self.env, self.errlog, stdout=f)
        with open(out, "rb") as f:
            text = f.read().decode(errors="replace").strip()
        # with every reporter off urlwatch only says so; anything else is
        # an error report or a traceback
        text = "\n".join((self.errors_since(off), text))
        r["errors"] = "\n".join(
            line for line in text.splitlines()
            if line.strip() and line.strip() != "No reporters enabled.")
        return r

    def cache_rows(self):
        db = sqlite3.connect(self.cache)
        try:
            return db.execute("SELECT count(*), sum(length(data) > 0), "
                              "sum(tries) FROM CacheEntry").fetchone()
        finally:
            db.close()


def floor_cpu(floor_bin, work, name, entries, reps):
    """Median CPU seconds of one pass of the floor over entries."""
    listfile = os.path.join(work, "floor-%s.list" % name)
    corpus_mod.write_floor_list(listfile, entries)
    runs = []
    for _ in range(reps):
        out = subprocess.run([floor_bin, listfile, "1"], check=True,
                             capture_output=True, text=True).stdout
        runs.append(json.loads(out))
    return {"cpu": statistics.median(r["cpu_s_per_pass"] for r in runs),
            "pages": runs[0]["pages"], "bytes": runs[0]["bytes"],
            "nodes": runs[0]["nodes"],
            "rss_kb": statistics.median(r["maxrss_kb"] for r in runs)}


def expect_statuses(got, want):
    """'' when the nginx status counts are what the run should see."""
    got = {k: v for k, v in got.items() if v}
    want = {k: v for k, v in want.items() if v}
    if got == want:
        return ""
    return "HTTP statuses %s, expected %s" % (got, want)


def bench_once(args, work, corpus, ng, kw_bin, floor_bin, n, results,
               bench_bin=None):
    ws = writers.watches(corpus, ng, n)
    tools = [Kakaowatch(work, n, kw_bin, ws)]
    if n <= args.urlwatch_max_n and not args.no_urlwatch:
        tools.append(Urlwatch(work, n, ws))
    in_use = corpus.pages[:min(n, len(corpus.pages))]
    nchange = max(1, round(CHANGE_FRACTION * len(in_use)))
    runs = {t.name: {"cold": [], "warm": [], "changed": []} for t in tools}
    problems = []
    floor_changed = []
    floor_cold = []
    gumbo_cold = []
    changed_watches = 0
    reps = args.big_reps if n >= 10000 else args.reps
    for rep in range(reps):
        rng = random.Random(1000 * n + rep)
        changed = rng.sample(in_use, nchange)
        changed_set = {p.rel for p in changed}
        changed_watches = sum(1 for w in ws if w[3].rel in changed_set)
        order = tools if rep % 2 == 0 else list(reversed(tools))
        for tool in order:
            corpus.restore()
            tool.fresh()
            ng.take_statuses()
            log("N=%d rep %d/%d %s" % (n, rep + 1, reps, tool.name))
            for kind in ("cold", "warm", "changed"):
                if kind == "changed":
                    corpus.change(changed, time.time())
                r = tool.run()
                st = ng.take_statuses()
                r["http"] = st
                want = {"cold": {"200": n}, "warm": {"304": n},
                        "changed": {"200": changed_watches,
                                    "304": n - changed_watches}}[kind]
                bad = expect_statuses(st, want)
                if r["rc"] != 0:
                    bad += " exit status %d" % r["rc"]
                if r["errors"]:
                    bad += " errors: " + r["errors"][:300]
                if bad:
                    problems.append("%s N=%d %s rep %d:%s"
                                    % (tool.name, n, kind, rep + 1, bad))
                runs[tool.name][kind].append(r)
                if kind == "cold" and rep == 0:
                    if tool.name == "urlwatch":
                        rows = tool.cache_rows()
                        if rows[0] != n or rows[1] != n:
                            problems.append("urlwatch N=%d cold: cache "
                                            "rows %s" % (n, rows))
                    else:
                        ok = tool.items_ok()
                        results.setdefault("kw_items", {})[n] = ok
                        if ok is not None and ok[0] != n:
                            problems.append("kakaowatch N=%d cold: only "
                                            "%d/%d watches have items"
                                            % (n, ok[0], ok[1]))
            if tool is order[0]:
                # the floors are measured in every repetition, between
                # the tools' runs, so that drift hits all alike
                served = [(os.path.join(corpus.root, w[3].rel), w[3])
                          for w in ws if w[3].rel in changed_set]
                floor_changed.append(floor_cpu(floor_bin, work,
                                               "changed-%d" % n, served,
                                               1)["cpu"])
                floor_cold.append(floor_cpu(
                    floor_bin, work, "cold-%d" % n,
                    [(w[3].orig, w[3]) for w in ws], 1))
                if bench_bin:
                    gumbo_cold.append(parse_cpu(
                        bench_bin, work, "gumbo-%d" % n,
                        [(w[3].orig, w[3]) for w in ws],
                        "gumbo")["gumbo_cpu_s_per_pass"])
    corpus.restore()
    floor = dict(floor_cold[0])
    floor["cpu"] = statistics.median(f["cpu"] for f in floor_cold)
    med = {}
    for tname, kinds in runs.items():
        med[tname] = {}
        for kind, rs in kinds.items():
            med[tname][kind] = {
                k: statistics.median(r[k] for r in rs)
                for k in ("cpu", "user", "sys", "wall", "rss_kb")}
            med[tname][kind]["http"] = rs[-1]["http"]
    results["once"][n] = {
        "runs": runs, "median": med, "floor_cold": floor,
        "gumbo_cold_cpu": statistics.median(gumbo_cold) if gumbo_cold
        else None,
        "floor_changed_cpu": statistics.median(floor_changed),
        "changed_watches": changed_watches, "problems": problems}
    for p in problems:
        log("PROBLEM " + p)


# ------------------------------------------------------------------ daemon

def proc_cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state): utime is field 14, stime field 15
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(v.split()[0])
            elif k in ("voluntary_ctxt_switches",
                       "nonvoluntary_ctxt_switches"):
                out[k] = int(v)
    return out


def start_daemon(kw_bin, config, env, logpath):
    err = open(logpath, "ab")
    p = subprocess.Popen([kw_bin, "-c", config, "run"], env=env,
                         stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=err)
    err.close()
    return p


def stop_daemon(p):
    p.send_signal(signal.SIGTERM)
    try:
        return p.wait(30)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        return "killed after 30 s"


def sample(p, ng):
    s = proc_status(p.pid)
    s["cpu"] = proc_cpu_s(p.pid)
    s["t"] = time.monotonic()
    s["requests"] = ng.requests()
    return s


def bench_daemon(args, work, corpus, ng, kw_bin, results):
    n = args.daemon_watches
    d = os.path.join(work, "daemon")
    os.makedirs(d, exist_ok=True)
    env = tool_env(work)
    config = os.path.join(d, "daemon.yaml")
    writers.write_kakaowatch(config, os.path.join(d, "state"),
                             writers.watches(corpus, ng, n),
                             interval="%ds" % args.daemon_interval)
    corpus.restore()
    logpath = os.path.join(d, "stderr.log")
    log("daemon: %d watches, interval %ds, %ds"
        % (n, args.daemon_interval, args.daemon_seconds))
    p = start_daemon(kw_bin, config, env, logpath)
    samples = []
    t_start = time.monotonic()
    warmup = min(2 * args.daemon_interval + 2, args.daemon_seconds / 3)
    next_change = t_start + args.daemon_interval
    in_use = corpus.pages[:min(n, len(corpus.pages))]
    rng = random.Random(7)
    nchanges = 0
    try:
        while time.monotonic() - t_start < args.daemon_seconds:
            time.sleep(1.0)
            if p.poll() is not None:
                break
            samples.append(sample(p, ng))
            if time.monotonic() >= next_change:
                # 1% of the pages get a new item every interval: diff,
                # store and outbox work as a real day would bring
                corpus.change(rng.sample(in_use, max(1, len(in_use) // 100)),
                              time.time())
                nchanges += 1
                next_change += args.daemon_interval
    finally:
        rc = stop_daemon(p) if p.poll() is None else p.returncode
    corpus.restore()
    with open(logpath, "rb") as f:
        text = f.read().decode(errors="replace")
    bad_lines = [line for line in text.splitlines()
                 if " error" in line.lower() or "warn" in line.lower()]
    if not samples or samples[-1]["t"] - t_start < args.daemon_seconds - 5:
        results["daemon"] = {"error": "daemon exited early (rc %s): %s"
                             % (rc, text[-500:])}
        log("PROBLEM " + results["daemon"]["error"])
        return
    s0 = next(s for s in samples if s["t"] - t_start >= warmup)
    s1 = samples[-1]
    checks = s1["requests"] - s0["requests"] - (samples.index(s1)
                                                - samples.index(s0))
    total_checks = s1["requests"] - samples[0]["requests"]
    growth_kb = s1["VmRSS"] - s0["VmRSS"]
    # least-squares slope of RSS over checks after warm-up (KB per check)
    pts = [(s["requests"], s["VmRSS"]) for s in samples
           if s["t"] >= s0["t"]]
    mx = statistics.fmean(x for x, _ in pts)
    my = statistics.fmean(y for _, y in pts)
    sxx = sum((x - mx) ** 2 for x, _ in pts) or 1
    slope = sum((x - mx) * (y - my) for x, y in pts) / sxx
    results["daemon"] = {
        "watches": n, "interval_s": args.daemon_interval,
        "seconds": args.daemon_seconds, "warmup_s": warmup,
        "rss_first_kb": samples[0]["VmRSS"], "rss_start_kb": s0["VmRSS"],
        "rss_end_kb": s1["VmRSS"], "hwm_kb": s1["VmHWM"],
        "checks": checks, "checks_total": total_checks,
        "growth_kb": growth_kb,
        "growth_kb_per_1000": 1000.0 * growth_kb / max(1, checks),
        "slope_kb_per_10000": slope * 10000,
        "cpu_per_check_ms": 1000.0 * (s1["cpu"] - s0["cpu"]) / max(1,
                                                                  checks),
        "cpu_pct": 100.0 * (s1["cpu"] - s0["cpu"]) / (s1["t"] - s0["t"]),
        "page_changes": nchanges, "exit": rc,
        "log_problems": bad_lines[:5], "log_problem_count": len(bad_lines)}
    log("daemon: %d checks, RSS %d -> %d KB" % (checks, s0["VmRSS"],
                                               s1["VmRSS"]))


def bench_idle(args, work, corpus, ng, kw_bin, results):
    d = os.path.join(work, "idle")
    os.makedirs(d, exist_ok=True)
    config = os.path.join(d, "idle.yaml")
    writers.write_kakaowatch(config, os.path.join(d, "state"),
                             writers.watches(corpus, ng, 5), interval="1h")
    logpath = os.path.join(d, "stderr.log")
    log("idle: 5 watches, interval 1h, %ds" % args.idle_seconds)
    p = start_daemon(kw_bin, config, tool_env(work), logpath)
    s0 = s1 = None
    try:
        time.sleep(5)
        if p.poll() is None:
            s0 = sample(p, ng)
            time.sleep(args.idle_seconds)
        if p.poll() is None:
            s1 = sample(p, ng)
    finally:
        rc = stop_daemon(p) if p.poll() is None else p.returncode
    if s1 is None:
        with open(logpath, "rb") as f:
            text = f.read().decode(errors="replace")
        results["idle"] = {"error": "daemon exited (rc %s): %s"
                           % (rc, text[-500:])}
        log("PROBLEM " + results["idle"]["error"])
        return
    dt = s1["t"] - s0["t"]
    wake = (s1["voluntary_ctxt_switches"] - s0["voluntary_ctxt_switches"]
            + s1["nonvoluntary_ctxt_switches"]
            - s0["nonvoluntary_ctxt_switches"])
    results["idle"] = {
        "seconds": dt, "cpu_s": s1["cpu"] - s0["cpu"],
        "cpu_pct": 100.0 * (s1["cpu"] - s0["cpu"]) / dt,
        "wakeups_per_s": wake / dt, "rss_kb": s1["VmRSS"],
        "requests": s1["requests"] - s0["requests"] - 1, "exit": rc}


# ----------------------------------------------------------------- profile

def bench_profile(args, work, corpus, ng, kw_bin, results):
    if shutil.which("perf") is None:
        results["profile"] = "perf not installed (apt-get install " \
                             "linux-perf)"
        return
    n = args.profile_n
    ws = writers.watches(corpus, ng, n)
    tool = Kakaowatch(work, n, kw_bin, ws)
    tool.work = os.path.join(work, "profile")
    os.makedirs(tool.work, exist_ok=True)
    corpus.restore()
    tool.fresh()
    data = os.path.join(work, "perf.data")
    log("profile: perf record, once, %d watches, cold" % n)
    subprocess.run(["perf", "record", "-F", "2000", "-o", data,
                    "--"] + tool.argv(), env=tool.env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=False)
    rep = subprocess.run(["perf", "report", "-i", data, "--stdio",
                          "--no-children", "--sort", "dso,symbol",
                          "--percent-limit", "0.7", "-g", "none"],
                         capture_output=True, text=True).stdout
    lines = [line for line in rep.splitlines()
             if line.strip() and not line.startswith("#")]
    dsos = subprocess.run(["perf", "report", "-i", data, "--stdio",
                           "--no-children", "--sort", "dso", "-g",
                           "none"], capture_output=True, text=True).stdout
    results["profile"] = {
        "by_symbol": lines[:40],
        "by_dso": [line for line in dsos.splitlines()
                   if line.strip() and not line.startswith("#")][:12]}
    ng.take_statuses()


# ------------------------------------------------------------------- table

def fmt_ratio(a, b):
    return "%.2f" % (a / b) if b else "-"


def build_table(results, args):
    out = []
    once = results["once"]
    out.append("kakaowatch benchmark  %s  %s" % (results["date"],
                                                 results["machine"]))
    out.append("corpus: %s; medians of %d runs (%d for N >= 10000); CPU "
               "= user+sys of the tool's process"
               % (results["corpus"], args.reps, args.big_reps))
    out.append("")
    hdr = ("%-6s %-8s %-11s %8s %8s %9s %10s  %s"
           % ("N", "run", "tool", "CPU s", "wall s", "RSS MB", "ms/check",
              "HTTP"))
    out.append(hdr)
    out.append("-" * len(hdr))
    for n in sorted(once):
        o = once[n]
        med = o["median"]
        for kind in ("cold", "warm", "changed"):
            for tname in ("kakaowatch", "urlwatch"):
                if tname not in med:
                    continue
                m = med[tname][kind]
                http = " ".join("%sx%s" % (v, k) for k, v in
                                sorted(m["http"].items()))
                out.append("%-6d %-8s %-11s %8.3f %8.2f %9.1f %10.3f  %s"
                           % (n, kind, tname, m["cpu"], m["wall"],
                              m["rss_kb"] / 1024.0, 1000 * m["cpu"] / n,
                              http))
            kwm = med["kakaowatch"][kind]
            if "urlwatch" in med:
                uwm = med["urlwatch"][kind]
                out.append("%-6s %-8s %-11s %8s %8s %9s %10s"
                           % ("", "", "kw/uw", fmt_ratio(kwm["cpu"],
                                                        uwm["cpu"]),
                              fmt_ratio(kwm["wall"], uwm["wall"]),
                              fmt_ratio(kwm["rss_kb"], uwm["rss_kb"]),
                              ""))
            if kind == "cold":
                f = o["floor_cold"]["cpu"]
                out.append("%-6s %-8s %-11s %8.3f %8s %9s %10.3f  "
                           "kakaowatch = %.2fx floor"
                           % ("", "", "floor", f, "", "",
                              1000 * f / n, kwm["cpu"] / f))
                g = o.get("gumbo_cold_cpu")
                if g:
                    out.append("%-6s %-8s %-11s %8.3f %8s %9s %10.3f  "
                               "kakaowatch = %.2fx gumbo's parse"
                               % ("", "", "gumbo", g, "", "",
                                  1000 * g / n, kwm["cpu"] / g))
            if kind == "changed":
                f = o["floor_changed_cpu"]
                out.append("%-6s %-8s %-11s %8.3f %8s %9s %10s  "
                           "parse of the %d changed pages; kakaowatch "
                           "(with %d 304s) = %.2fx"
                           % ("", "", "floor", f, "", "", "",
                              o["changed_watches"], n - o["changed_watches"],
                              kwm["cpu"] / f))
        out.append("")
    pc = results.get("parsers")
    if pc:
        out.append("parsers, one interleaved run on the %d cold pages "
                   "(%.1f MB), CPU s per pass:" % (pc["pages"],
                                                   pc["bytes"] / 1e6))
        out.append("  old (libxml2 htmlReadMemory + XPath) %.3f   gumbo "
                   "parse alone %.3f   new (extract_items, HTML5 tree) %.3f"
                   % (pc["old_cpu_s_per_pass"], pc["gumbo_cpu_s_per_pass"],
                      pc["new_cpu_s_per_pass"]))
        out.append("  new/gumbo %.2f   new/old %.2f   gumbo/old %.2f"
                   % (pc["new_over_gumbo"], pc["new_over_old"],
                      pc["gumbo_over_old"]))
        out.append("")
    d = results.get("daemon")
    if d and "error" not in d:
        out.append("daemon (run): %d watches every %ds for %ds: %d checks "
                   "after %.0fs warm-up" % (d["watches"], d["interval_s"],
                                            d["seconds"], d["checks"],
                                            d["warmup_s"]))
        out.append("  RSS %.1f MB at first sample, %.1f MB after warm-up,"
                   " %.1f MB at end (peak %.1f MB)"
                   % (d["rss_first_kb"] / 1024, d["rss_start_kb"] / 1024,
                      d["rss_end_kb"] / 1024, d["hwm_kb"] / 1024))
        out.append("  RSS growth %+d KB over %d checks = %+.1f KB per 1000"
                   " checks (fitted slope %+.0f KB per 10,000 checks)"
                   % (d["growth_kb"], d["checks"], d["growth_kb_per_1000"],
                      d["slope_kb_per_10000"]))
        out.append("  CPU %.3f ms per check (%.1f%% of a core); %d page "
                   "changes; exit %s; %d log warnings/errors"
                   % (d["cpu_per_check_ms"], d["cpu_pct"],
                      d["page_changes"], d["exit"],
                      d["log_problem_count"]))
    elif d:
        out.append("daemon: " + d["error"])
    i = results.get("idle")
    if i and "error" not in i:
        out.append("idle (run, 5 watches, 1h interval, %.0fs): CPU %.3f s"
                   " = %.4f%% of a core, %.2f wakeups/s, RSS %.1f MB"
                   % (i["seconds"], i["cpu_s"], i["cpu_pct"],
                      i["wakeups_per_s"], i["rss_kb"] / 1024))
    elif i:
        out.append("idle: " + i["error"])
    out.append("")
    out.extend(targets(results))
    probs = [p for o in once.values() for p in o["problems"]]
    if probs:
        out.append("")
        out.append("PROBLEMS (runs that did not do what they should):")
        out.extend("  " + p for p in probs[:20])
    return "\n".join(out)


def targets(results):
    once = results["once"]
    out = ["targets:"]

    def line(ok, text):
        out.append("  [%s] %s" % ("met " if ok else "MISS", text))

    for n in sorted(once):
        med = once[n]["median"]
        if "urlwatch" not in med:
            continue
        for kind in ("cold", "changed"):
            r = med["kakaowatch"][kind]["cpu"] / med["urlwatch"][kind]["cpu"]
            line(r <= 0.1, "CPU per check <= 1/10 of urlwatch (N=%d, %s): "
                 "%.3f = 1/%.1f" % (n, kind, r, 1 / r if r else 0))
    if 1000 in once and "urlwatch" in once[1000]["median"]:
        med = once[1000]["median"]
        r = med["kakaowatch"]["cold"]["rss_kb"] / \
            med["urlwatch"]["cold"]["rss_kb"]
        line(r <= 0.2, "peak RSS of once, 1000 watches <= 1/5 of urlwatch:"
             " %.1f MB vs %.1f MB = 1/%.1f"
             % (med["kakaowatch"]["cold"]["rss_kb"] / 1024,
                med["urlwatch"]["cold"]["rss_kb"] / 1024, 1 / r))
    for n in sorted(once):
        o = once[n]
        f = o["floor_cold"]["cpu"]
        r = o["median"]["kakaowatch"]["cold"]["cpu"] / f
        line(r <= 1.5, "CPU <= 1.5x libxml2 floor (N=%d, cold): %.2fx"
             % (n, r))
    for n in sorted(once):
        o = once[n]
        g = o.get("gumbo_cold_cpu")
        if g:
            r = o["median"]["kakaowatch"]["cold"]["cpu"] / g
            line(r <= 1.3, "cold once <= 1.3x gumbo's parse of the same "
                 "pages (N=%d): %.2fx" % (n, r))
        med = o["median"]
        if "urlwatch" in med:
            r = med["kakaowatch"]["cold"]["cpu"] / med["urlwatch"]["cold"][
                "cpu"]
            line(r <= 1 / 6, "cold once <= 1/6 of urlwatch's CPU (N=%d): "
                 "1/%.1f" % (n, 1 / r if r else 0))
    d = results.get("daemon")
    if d and "error" not in d:
        g = d["growth_kb_per_1000"] * 10
        line(g < 1024, "run: RSS growth < 1 MB per 10,000 checks: %+.0f KB"
             " per 10,000 (measured over %d checks)" % (g, d["checks"]))
    i = results.get("idle")
    if i and "error" not in i:
        line(i["cpu_pct"] < 0.1, "run: idle CPU < 0.1%% of a core: %.4f%%"
             % i["cpu_pct"])
    if 10000 in once:
        m10 = once[10000]["median"]["kakaowatch"]["cold"]
        ok = not [p for p in once[10000]["problems"]
                  if p.startswith("kakaowatch")]
        per = ""
        if 1000 in once:
            m1 = once[1000]["median"]["kakaowatch"]["cold"]
            per = ", %.0f bytes per watch from N=1000 to 10000" % (
                (m10["rss_kb"] - m1["rss_kb"]) * 1024.0 / 9000)
        line(ok, "10,000 watches in one once: %s, peak RSS %.1f MB%s"
             % ("no error" if ok else "ERRORS", m10["rss_kb"] / 1024, per))
    return out


def machine():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return "%s, %d cores, %.0f GiB, %s %s" % (
        cpu, os.cpu_count(), mem / 2 ** 30, platform.system(),
        platform.release())


def versions(kw_bin):
    def first(argv):
        try:
            p = subprocess.run(argv, capture_output=True, text=True)
            return (p.stdout + p.stderr).strip().splitlines()[0]
        except (OSError, IndexError):
            return "?"
    return {"kakaowatch": first([kw_bin, "--version"]),
            "urlwatch": first(["urlwatch", "--version"]),
            "nginx": first(["/usr/sbin/nginx", "-v"]),
            "libxml2": first(["pkg-config", "--modversion", "libxml-2.0"])}


# -------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n", default="100,1000",
                    help="watch counts for `once` (default 100,1000)")
    ap.add_argument("--big", action="store_true",
                    help="add N=10000 (urlwatch only up to "
                    "--urlwatch-max-n)")
    ap.add_argument("--reps", type=int, default=3,
                    help="repetitions per tool, N and run (default 3)")
    ap.add_argument("--big-reps", type=int, default=1,
                    help="repetitions for N >= 10000 (default 1)")
    ap.add_argument("--urlwatch-max-n", type=int, default=1000,
                    help="largest N urlwatch is run with (default 1000)")
    ap.add_argument("--no-urlwatch", action="store_true")
    ap.add_argument("--kakaowatch", metavar="PATH",
                    help="binary (default build/kakaowatch, built with "
                    "cmake when missing)")
    ap.add_argument("--daemon-watches", type=int, default=1000)
    ap.add_argument("--daemon-interval", type=int, default=10,
                    help="seconds (default 10; jitter 10%%)")
    ap.add_argument("--daemon-seconds", type=int, default=180)
    ap.add_argument("--idle-seconds", type=int, default=60)
    ap.add_argument("--no-daemon", action="store_true",
                    help="skip the run and idle measurements")
    ap.add_argument("--profile", action="store_true",
                    help="also perf-record `once` cold and print the top "
                    "symbols")
    ap.add_argument("--profile-n", type=int, default=1000)
    ap.add_argument("--serve", type=int, metavar="N",
                    help="only start nginx with the corpus, write the "
                    "kakaowatch and urlwatch files for N watches, print "
                    "their paths and wait (for profiling by hand)")
    ap.add_argument("--no-install", action="store_true",
                    help="never apt-get install missing packages")
    ap.add_argument("--keep", action="store_true",
                    help="keep the work directory")
    ap.add_argument("--workdir", help="work directory (default: a new "
                    "temporary one)")
    ap.add_argument("--json", metavar="FILE", help="write all figures")
    ap.add_argument("--markdown", metavar="FILE",
                    help="write the table as a Markdown code block")
    args = ap.parse_args()
    ns = sorted({int(x) for x in args.n.split(",") if x.strip()})
    if args.big and 10000 not in ns:
        ns.append(10000)

    def on_term(signum, frame):
        raise KeyboardInterrupt  # so that `finally` stops nginx

    signal.signal(signal.SIGTERM, on_term)
    ensure_packages(not args.no_install)
    kw_bin = find_kakaowatch(args.kakaowatch)
    if args.workdir:
        os.makedirs(args.workdir, exist_ok=True)
        work = os.path.abspath(args.workdir)
    else:
        work = tempfile.mkdtemp(prefix="kakaowatch-bench-")
    t_begin = time.monotonic()
    ng = None
    results = {"date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
               "machine": machine(), "versions": versions(kw_bin),
               "command": " ".join(["tests/bench/run.py"] + sys.argv[1:]),
               "once": {}}
    try:
        floor_bin = build_floor(work)
        bench_bin = find_parse_bench(kw_bin)
        log("corpus: collecting and checking pages")
        corpus = corpus_mod.Corpus(work, floor_bin)
        summ = corpus.summary()
        results["corpus"] = "%d pages, %.1f MB (%s)" % (
            len(corpus.pages),
            sum(p.size for p in corpus.pages) / 1e6,
            ", ".join("%s %d" % (k, v[0]) for k, v in sorted(summ.items())))
        ng = nginx_mod.Nginx(work, corpus.root)
        port = ng.start()
        log("nginx on 127.0.0.1:%d; %s" % (port, results["corpus"]))
        if args.serve:
            ws = writers.watches(corpus, ng, args.serve)
            kw = Kakaowatch(work, args.serve, kw_bin, ws)
            kw.fresh()
            uw = Urlwatch(work, args.serve, ws)
            print("kakaowatch: %s\nurlwatch:   %s\nserving until "
                  "interrupted" % (" ".join(kw.argv()),
                                   " ".join(uw.argv())), flush=True)
            try:
                signal.pause()
            except KeyboardInterrupt:
                pass
            return 0
        for n in ns:
            bench_once(args, work, corpus, ng, kw_bin, floor_bin, n,
                       results, bench_bin)
        # the three parsers on every page of the corpus, interleaved
        log("parsers: old vs gumbo vs new on %d pages" % len(corpus.pages))
        results["parsers"] = parse_cpu(bench_bin, work, "all",
                                       [(p.orig, p) for p in corpus.pages],
                                       reps=3)
        if not args.no_daemon:
            bench_daemon(args, work, corpus, ng, kw_bin, results)
            bench_idle(args, work, corpus, ng, kw_bin, results)
        if args.profile:
            bench_profile(args, work, corpus, ng, kw_bin, results)
    finally:
        if ng is not None:
            ng.stop()
        if not args.keep and not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
    results["seconds"] = time.monotonic() - t_begin
    table = build_table(results, args)
    print(table)
    print("\nversions: %s; took %.0f s" % (
        ", ".join("%s %s" % kv for kv in results["versions"].items()),
        results["seconds"]))
    prof = results.get("profile")
    if isinstance(prof, dict):
        print("\nprofile of `once` (%d watches, cold), by DSO:"
              % args.profile_n)
        print("\n".join(prof["by_dso"]))
        print("by symbol (>= 0.7%):")
        print("\n".join(prof["by_symbol"]))
    elif prof:
        print("\nprofile: " + prof)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1, default=str)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write("```\n%s\n```\n" % table)
    if args.keep:
        print("work directory kept: " + work, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
