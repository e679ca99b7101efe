#!/usr/bin/env python3
"""count_tests.py - counts test cases from meson's testlog.json: each cmocka
case counts once; a test that is not a cmocka executable counts as one case.
Prints the closing line 'N passed, N failed' (', N skipped' when any)."""
import json
import re
import sys

passed = failed = skipped = 0
with open(sys.argv[1], encoding="utf-8") as log:
    for line in log:
        t = json.loads(line)
        out = (t.get("stdout") or "") + (t.get("stderr") or "")
        result = t.get("result", "")
        if "[==========]" in out:
            ok = len(re.findall(r"^\[       OK \] ", out, re.M))
            bad = set(re.findall(r"^\[  FAILED  \] (test\w+)", out, re.M))
            skip = len(re.findall(r"^\[  SKIPPED \] ", out, re.M))
            passed += ok
            failed += len(bad)
            skipped += skip
            if result not in ("OK", "SKIP", "EXPECTEDFAIL") and not bad:
                failed += 1  # crashed or timed out before cmocka could report
        elif result in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif result == "SKIP":
            skipped += 1
        else:
            failed += 1
line = f"{passed} passed, {failed} failed"
if skipped:
    line += f", {skipped} skipped"
print(line)
sys.exit(1 if failed else 0)
