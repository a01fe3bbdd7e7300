"""Edit or damage a safetensors file in place, for bitttt-compile's error tests.

Well-formed edits go through the `safetensors` package (an independent
writer); damage is done on the raw bytes.

  edit_safetensors.py FILE drop NAME              remove tensor NAME
  edit_safetensors.py FILE reshape NAME D0,D1,..  replace NAME by zeros of that shape
  edit_safetensors.py FILE cast NAME DTYPE        convert NAME to f16|f64|i32
  edit_safetensors.py FILE add NAME D0,D1,..      add an f32 tensor of zeros
  edit_safetensors.py FILE truncate N             cut the last N bytes off
  edit_safetensors.py FILE truncate-to N          keep only the first N bytes
  edit_safetensors.py FILE set-entry NAME JSON    set header entry NAME (a
                                                  tensor or __metadata__) to
                                                  JSON; the data stays as is
  edit_safetensors.py FILE corrupt-header         overwrite the header's first
                                                  byte ('{') with '#'
  edit_safetensors.py FILE header-length N        set the u64 header length to N
"""

import json
import struct
import sys

import numpy as np
from safetensors.numpy import load_file, save_file


def parse_shape(text):
    return tuple(int(d) for d in text.split(",") if d != "")


def rewrite(path, edit):
    tensors = load_file(path)
    edit(tensors)
    save_file(tensors, path)


def main(argv):
    path, op, args = argv[1], argv[2], argv[3:]
    if op == "drop":
        rewrite(path, lambda t: t.pop(args[0]))
    elif op == "reshape":
        rewrite(path, lambda t: t.__setitem__(
            args[0], np.zeros(parse_shape(args[1]), np.float32)))
    elif op == "cast":
        dtype = {"f16": np.float16, "f64": np.float64, "i32": np.int32}[args[1]]
        rewrite(path, lambda t: t.__setitem__(args[0], t[args[0]].astype(dtype)))
    elif op == "add":
        rewrite(path, lambda t: t.__setitem__(
            args[0], np.zeros(parse_shape(args[1]), np.float32)))
    elif op == "truncate":
        with open(path, "rb") as fh:
            data = fh.read()
        with open(path, "wb") as fh:
            fh.write(data[: len(data) - int(args[0])])
    elif op == "truncate-to":
        with open(path, "rb") as fh:
            data = fh.read()
        with open(path, "wb") as fh:
            fh.write(data[: int(args[0])])
    elif op == "set-entry":
        with open(path, "rb") as fh:
            data = fh.read()
        (n,) = struct.unpack("<Q", data[:8])
        header = json.loads(data[8 : 8 + n])
        header[args[0]] = json.loads(args[1])
        text = json.dumps(header).encode()
        with open(path, "wb") as fh:
            fh.write(struct.pack("<Q", len(text)) + text + data[8 + n :])
    elif op == "corrupt-header":
        with open(path, "r+b") as fh:
            fh.seek(8)
            assert fh.read(1) == b"{"
            fh.seek(8)
            fh.write(b"#")
    elif op == "header-length":
        with open(path, "r+b") as fh:
            fh.write(struct.pack("<Q", int(args[0])))
    else:
        sys.exit(f"unknown operation {op!r}")


if __name__ == "__main__":
    main(sys.argv)
