"""Sum JUnit XML reports (lit, GoogleTest, pytest) into one closing line.

Prints a line per suite, every skipped test by name with its reason, and
then `N passed, N failed, N skipped`. Exits 1 when anything failed, a
report is missing (a suite that did not run is a failure, not a silent
zero), or a test was skipped for a reason other than the hardware: skips
are reserved for what a machine may lack (a GPU, an ISA, ptxas), and a
pytest or gtest skip says so with a reason starting "hardware:"; lit skips
only through REQUIRES features.
"""

import os
import sys
import xml.etree.ElementTree as ET


def count(path, suite):
    root = ET.parse(path).getroot()
    passed, failed, skipped = 0, 0, []
    for case in root.iter("testcase"):
        tags = {child.tag: child for child in case}
        if "failure" in tags or "error" in tags:
            failed += 1
        elif "skipped" in tags or case.get("status") == "notrun":
            node = tags.get("skipped")
            reason = (node.get("message") or node.text or "") if node is not None else ""
            name = f"{case.get('classname', '')}.{case.get('name', '')}".strip(".")
            skipped.append((name, reason.strip()))
        else:
            passed += 1
    return passed, failed, skipped


def allowed(suite, reason):
    if suite.endswith("lit"):
        return True   # UNSUPPORTED: a REQUIRES feature (cuda, ptxas) is absent
    return reason.startswith("hardware:")


def main(paths):
    total_passed = total_failed = total_skipped = 0
    ok = True
    for path in paths:
        suite = os.path.splitext(os.path.basename(path))[0]
        if not os.path.exists(path):
            print(f"{suite}: no report ({path}); the suite did not run")
            total_failed += 1
            ok = False
            continue
        p, f, skipped = count(path, suite)
        print(f"{suite}: {p} passed, {f} failed, {len(skipped)} skipped")
        for name, reason in skipped:
            verdict = "" if allowed(suite, reason) else "  <- not a hardware skip: counted as a failure"
            print(f"  skipped {suite}: {name}: {reason or 'no reason given'}{verdict}")
            if not allowed(suite, reason):
                f += 1
        total_passed += p
        total_failed += f
        total_skipped += len(skipped)
        ok = ok and f == 0
    print(f"{total_passed} passed, {total_failed} failed, {total_skipped} skipped")
    return 0 if ok and total_passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
