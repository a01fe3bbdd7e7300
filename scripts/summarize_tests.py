"""Sum JUnit XML reports (lit, GoogleTest, pytest) into one closing line.

Prints a line per suite and then `N passed, N failed, N skipped`; exits 1
when anything failed or a report is missing (a suite that did not run is a
failure, not a silent zero).
"""

import os
import sys
import xml.etree.ElementTree as ET


def count(path):
    root = ET.parse(path).getroot()
    passed = failed = skipped = 0
    for case in root.iter("testcase"):
        tags = {child.tag for child in case}
        if tags & {"failure", "error"}:
            failed += 1
        elif "skipped" in tags or case.get("status") == "notrun":
            skipped += 1
        else:
            passed += 1
    return passed, failed, skipped


def main(paths):
    total = [0, 0, 0]
    ok = True
    for path in paths:
        name = os.path.splitext(os.path.basename(path))[0]
        if not os.path.exists(path):
            print(f"{name}: no report ({path}); the suite did not run")
            total[1] += 1
            ok = False
            continue
        p, f, s = count(path)
        print(f"{name}: {p} passed, {f} failed, {s} skipped")
        total = [total[0] + p, total[1] + f, total[2] + s]
        ok = ok and f == 0
    print(f"{total[0]} passed, {total[1]} failed, {total[2]} skipped")
    return 0 if ok and total[0] > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
