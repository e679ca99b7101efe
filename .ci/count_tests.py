#!/usr/bin/env python3
"""count_tests.py - counts test cases from meson's testlog.json files: each cmocka
case counts once; a test that is not a cmocka executable counts as one case.
A missing log (its build failed) counts as one failure.
Prints the closing line 'N passed, N failed' (', N skipped' when any)."""
import json
import re
import sys


def count(test):
    """(passed, failed, skipped) for one meson test record."""
    out = (test.get("stdout") or "") + (test.get("stderr") or "")
    result = test.get("result", "")
    if result == "SKIP":  # exit 77, e.g. a known bug that names itself: its cmocka lines do not count
        return 0, 0, 1
    if "[==========]" not in out:
        if result in ("OK", "EXPECTEDFAIL"):
            return 1, 0, 0
        return (0, 0, 1) if result == "SKIP" else (0, 1, 0)
    ok = len(re.findall(r"^\[       OK \] ", out, re.M))
    bad = len(set(re.findall(r"^\[  FAILED  \] (test\w+)", out, re.M)))
    skip = len(re.findall(r"^\[  SKIPPED \] ", out, re.M))
    if result not in ("OK", "SKIP", "EXPECTEDFAIL") and not bad:
        bad = 1  # crashed or timed out before cmocka could report
    return ok, bad, skip


totals = [0, 0, 0]
for path in sys.argv[1:]:
    try:
        with open(path, encoding="utf-8") as log:
            for line in log:
                for i, n in enumerate(count(json.loads(line))):
                    totals[i] += n
    except OSError as err:
        print(f"count_tests: {err}", file=sys.stderr)
        totals[1] += 1
passed, failed, skipped = totals
summary = f"{passed} passed, {failed} failed"
if skipped:
    summary += f", {skipped} skipped"
print(summary)
sys.exit(1 if failed else 0)
