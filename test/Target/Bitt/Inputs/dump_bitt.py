"""Prints a .bitt's header in a FileCheck-friendly form, or extracts one
artifact: dump_bitt.py FILE [--artifact TARGET OUT]."""

import sys

from bitttt_ref import bitt


def main(argv):
    version, header, tensors, _ = bitt.read(argv[1])
    b = header["bitttt"]
    if len(argv) > 2 and argv[2] == "--artifact":
        with open(argv[4], "wb") as f:
            f.write(tensors[b["artifacts"][argv[3]]["tensor"]].data)
        return 0
    print("version", version)
    for target, a in sorted(b["artifacts"].items()):
        print("artifact", target, a["kind"])
    for name, fn in sorted(b["functions"].items()):
        print("function", name, fn["symbol"], f"tokens={fn['tokens']}")
        for kind, values in (("in", fn["inputs"]), ("out", fn["outputs"])):
            for v in values:
                print(kind, v["role"], v["name"], v["dtype"], v["shape"])
    for name, p in sorted(b["packed"].items()):
        print("packed", name, f"{p['rows']}x{p['cols']}", p["layout"])
    for name, s in sorted(b["state"].items()):
        print("state", name, f"init={s['init']}")
    for name in sorted(b["packed"]):
        print("tensor", name, "present" if name in tensors else "absent")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
