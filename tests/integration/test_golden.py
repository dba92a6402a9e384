#!/usr/bin/env python3
"""Golden outputs: the text timeline and summary of listed captures, compared byte for byte.

usage: test_golden.py SEGSCOPE SOURCE_DIR [--update]
The list is tests/golden/GOLDENS; with --update the expected files are
rewritten (review the diff before committing it).
"""
import difflib
import os
import shlex
import subprocess
import sys

binary, src = sys.argv[1], sys.argv[2]
update = "--update" in sys.argv[3:]
gdir = os.path.join(src, "tests", "golden")
failed = passed = 0
env = dict(os.environ, LC_ALL="C.UTF-8")
env.pop("NO_COLOR", None)
env.pop("LANGUAGE", None)  # English unless a golden asks for --lang
for line in open(os.path.join(gdir, "GOLDENS"), encoding="utf-8"):
    if not line.strip() or line.startswith("#"):
        continue
    name, inp, args = (line.rstrip("\n").split("\t") + [""])[:3]
    # Run from the source tree, so that paths in the arguments (e.g. --app-trace) are relative to it.
    p = subprocess.run([os.path.abspath(binary), "-r", inp, "--no-color", *shlex.split(args)],
                       capture_output=True, env=env, cwd=src)
    out = p.stdout.decode("utf-8")
    path = os.path.join(gdir, name + ".txt")
    if update:
        if p.returncode != 0 or not out:
            print(f"NOT updated {path}: exit {p.returncode}, {len(out)} bytes: {p.stderr.decode(errors='replace')[:300]}")
            failed += 1
            continue
        with open(path, "w", encoding="utf-8") as f:
            f.write(out)
        print("updated", path)
        continue
    want = open(path, encoding="utf-8").read() if os.path.exists(path) else ""
    if not out:
        failed += 1
        print(f"FAIL {name}: no output (exit {p.returncode}): {p.stderr.decode(errors='replace')[:300]}")
    elif p.returncode != 0 or out != want:
        failed += 1
        print(f"FAIL {name} (exit {p.returncode})")
        sys.stdout.writelines(list(difflib.unified_diff(want.splitlines(True), out.splitlines(True),
                                                        "expected", "actual", n=1))[:60])
    else:
        passed += 1
if not update:
    print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
