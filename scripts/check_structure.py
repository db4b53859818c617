#!/usr/bin/python3
"""Structure checks of lib/ (run by tests/structure_test.sh):

1. The dependency rule.  lib/README.md's table gives, for each folder of lib/, the folders it may
   include ("may include" column: a comma-separated list of folder names, or "nothing of ours").
   Every `#include "folder/..."` in lib/<folder>/*.[ch] must name the folder itself or one it may
   include.  The table is the rule; this check keeps the code to it.
2. Function length.  No function in lib/ is longer than MAX_LINES lines (definition line to closing
   brace), except the ones listed in EXCEPTIONS with their reason.

usage: check_structure.py [ROOT]   exit 0 when both hold; prints every breach.
"""
import re
import sys
from pathlib import Path

MAX_LINES = 150
# "file:function": why it stays long (keep this list short and each reason true)
EXCEPTIONS = {}


def rule_table(readme):
    rules = {}
    for line in readme.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^\|\s*`([a-z_]+)/`\s*\|.*\|\s*([^|]*?)\s*\|\s*$", line)
        if not m:
            continue
        allowed = m.group(2).strip()
        rules[m.group(1)] = set() if allowed == "nothing of ours" else {
            a.strip().split()[0] for a in allowed.split(",") if a.strip()}
    return rules


def check_includes(lib, rules):
    bad = []
    folders = {p.name for p in lib.iterdir() if p.is_dir()}
    for folder in sorted(folders):
        if folder not in rules:
            bad.append(f"lib/{folder}/ is not in lib/README.md's table")
            continue
        for src in sorted((lib / folder).glob("*.[ch]")):
            for no, line in enumerate(src.read_text(encoding="utf-8").splitlines(), 1):
                m = re.match(r'\s*#\s*include\s+"([a-z_]+)/', line)
                if not m or m.group(1) == folder:
                    continue
                dep = m.group(1)
                if dep not in rules[folder]:
                    bad.append(f"{src.relative_to(lib.parent)}:{no}: includes {dep}/, which lib/README.md does not "
                               f"allow {folder}/ (allowed: {', '.join(sorted(rules[folder])) or 'nothing of ours'})")
    return bad


def long_functions(lib):
    bad = []
    head = re.compile(r"^[A-Za-z_][^;()]*\b([A-Za-z_][A-Za-z0-9_]*)\s*\(")
    for src in sorted(lib.rglob("*.c")):
        lines = src.read_text(encoding="utf-8").splitlines()
        i = 0
        while i < len(lines):
            m = head.match(lines[i])
            if m and not lines[i].startswith(("typedef", "static const", "const ")) and "=" not in lines[i].split("(")[0]:
                # the body opens on this line or a following one (parameters may wrap) and closes at column 0
                j = i
                while j < len(lines) and not lines[j].rstrip().endswith("{") and not lines[j].rstrip().endswith(";"):
                    j += 1
                if j < len(lines) and lines[j].rstrip().endswith("{"):
                    k = j + 1
                    while k < len(lines) and lines[k] != "}":
                        k += 1
                    n = k - i + 1
                    key = f"{src.relative_to(lib.parent)}:{m.group(1)}"
                    if n > MAX_LINES and key not in EXCEPTIONS:
                        bad.append(f"{key}: {n} lines (at most {MAX_LINES})")
                    i = k + 1
                    continue
            i += 1
    return bad


def main(root):
    lib = root / "lib"
    rules = rule_table(lib / "README.md")
    bad = check_includes(lib, rules) + long_functions(lib)
    for line in bad:
        print(line)
    print(f"structure: {len(rules)} folders in the rule table, {len(bad)} breaches")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent)))
