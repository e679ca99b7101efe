#!/usr/bin/env python3
"""readme_sync.py - the README's first C block must be examples/readme.c, word for word."""
import re
import sys

readme, example = sys.argv[1], sys.argv[2]
with open(readme, encoding="utf-8") as f:
    blocks = re.findall(r"```c\n(.*?)```", f.read(), re.S)
with open(example, encoding="utf-8") as f:
    code = f.read()
if not blocks or blocks[0] != code:
    print(f"the first C block of {readme} differs from {example}", file=sys.stderr)
    sys.exit(1)
print("README example matches examples/readme.c")
