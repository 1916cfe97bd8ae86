#!/usr/bin/env python3
"""min_lines.py: pick the fewest fuzz inputs that run every line of src/
that a larger corpus runs, beyond what the tree's corpus already runs.

    cmake -S . -B build-cov -DCMAKE_BUILD_TYPE=Debug \\
        -DCMAKE_C_FLAGS='--coverage -O0' -DCMAKE_EXE_LINKER_FLAGS=--coverage
    cmake --build build-cov --target fuzz_config
    tests/fuzz/min_lines.py build-cov fuzz_config DIR... [--copy]
    tests/fuzz/min_lines.py build-cov fuzz_config DIR... --measure

Each input of DIR... (e.g. run.sh's grown corpus) is replayed alone by the
gcc --coverage replay driver of BUILD; gcov (JSON) says which lines of
src/*.c it ran. A greedy set cover then picks, one at a time, the input
that adds the most lines not yet run by tests/fuzz/corpus/TARGET/ and the
inputs already picked, until none adds any. It prints the picks (and with
--copy copies them into tests/fuzz/corpus/TARGET/min-SHA1 so that CTest
replays them). --measure prints the lines of src/ that the replay of
tests/fuzz/corpus/TARGET/ and DIR... runs, over the lines of the files
the target links. Python 3 standard library and gcov only.
"""
import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def lines_run(build, target, paths):
    """{(file, line)} of src/ that replaying `paths` runs; also the
    {(file, line)} of every executable line of the files it links."""
    objs = os.path.join(build, "CMakeFiles", "kakaowatch_core.dir", "src")
    for g in glob.glob(os.path.join(objs, "*.gcda")):
        os.remove(g)
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")
    subprocess.run([os.path.join(build, "tests", "fuzz", target)] + paths,
                   capture_output=True, env=env, timeout=600)
    gcda = glob.glob(os.path.join(objs, "*.gcda"))
    run, total = set(), set()
    if not gcda:
        return run, total
    out = subprocess.run(["gcov", "--json-format", "--stdout"] + gcda,
                         cwd=objs, capture_output=True, text=True).stdout
    for doc in out.splitlines():
        if not doc.strip():
            continue
        for f in json.loads(doc)["files"]:
            if "/src/" not in f["file"]:
                continue
            name = os.path.basename(f["file"])
            for ln in f["lines"]:
                total.add((name, ln["line_number"]))
                if ln["count"] > 0:
                    run.add((name, ln["line_number"]))
    return run, total


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    build, target = argv[0], argv[1]
    copy = "--copy" in argv
    measure = "--measure" in argv
    dirs = [a for a in argv[2:] if not a.startswith("--")]
    tree_dir = os.path.join(HERE, "corpus", target)
    tree = sorted(glob.glob(os.path.join(tree_dir, "*")))
    if measure:
        run, total = lines_run(build, target, [tree_dir] + dirs)
        print("%s: %d of %d lines (%.1f%%)" % (
            target, len(run), len(total), 100.0 * len(run) / len(total)))
        return 0
    have = {hashlib.sha1(open(p, "rb").read()).hexdigest() for p in tree}
    cands = {}
    for d in dirs:
        for p in sorted(glob.glob(os.path.join(d, "*"))):
            h = hashlib.sha1(open(p, "rb").read()).hexdigest()
            if h not in have and h not in cands:
                cands[h] = p
    got = set()
    for p in tree:
        got |= lines_run(build, target, [p])[0]
    base = len(got)
    runs = {h: lines_run(build, target, [p])[0] for h, p in cands.items()}
    picked = []
    while runs:
        h = max(runs, key=lambda k: len(runs[k] - got))
        if not runs[h] - got:
            break
        got |= runs.pop(h)
        picked.append(h)
    for h in picked:
        print(cands[h])
        if copy:
            shutil.copy(cands[h], os.path.join(tree_dir, "min-" + h[:16]))
    print("%s: the tree's %d inputs run %d lines; %d of %d candidates add "
          "%d" % (target, len(tree), base, len(picked), len(cands),
                  len(got) - base), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
