"""The tokenizer tests' (and bench/tokenizer.py's) view of python/bitttt's
Tokenizer: plain lists of ids and raw bytes, the shapes the `tokenizers`
package's results compare with. No bindings of its own: everything goes
through the bitttt package's ctypes over libbitttt.so."""

from __future__ import annotations

import bitttt
from bitttt import _lib

TokenizerError = bitttt.Error
utf8_complete = bitttt.utf8_complete


def lib():
    return _lib.lib


class Tokenizer:
    """A bitttt.Tokenizer whose encode gives a list and decode bytes."""

    def __init__(self, tok: bitttt.Tokenizer):
        self.tok = tok
        self.handle = tok._h

    @classmethod
    def load(cls, path):
        return cls(bitttt.Tokenizer.from_file(path))

    @classmethod
    def from_json(cls, text, name="inline.json"):
        return cls(bitttt.Tokenizer.from_json(text, name))

    @classmethod
    def train(cls, files, vocab_size, min_frequency=2, special_tokens=(),
              show_progress=False):
        return cls(bitttt.Tokenizer.train(files, vocab_size, special_tokens,
                                          min_frequency, show_progress))

    def save(self, path):
        self.tok.save(path)

    @property
    def vocab_size(self):
        return len(self.tok)

    def encode(self, text, add_special=False):
        return self.tok.encode(text, add_special).tolist()

    def decode(self, ids, skip_special=False) -> bytes:
        return self.tok.decode_bytes(ids, skip_special)

    def token_id(self, token):
        return self.tok.token_id(token)

    def is_special(self, i):
        return self.tok.is_special(i)
