"""bitttt: run compiled Bit-TTT models from Python.

A thin layer over the runtime's C API (runtime/include/bitttt.h) with
ctypes and numpy::

    import bitttt
    model = bitttt.Model("model.bitt", n_threads=2)
    ids = model.tokenizer.encode("Hello")
    session = model.session()
    logits = session.prefill(ids)          # numpy float32 [vocab]
    for piece in model.generate("Once upon a time", max_tokens=32, seed=1):
        print(piece, end="")

Errors raise bitttt.Error with the runtime's message (which names the file,
field or value at fault).
"""

from __future__ import annotations

import ctypes
import os
from typing import Iterable, Iterator, Optional, Sequence

import numpy as np

from ._lib import BpeTrainParams, ModelParams, TensorInfo, lib

__all__ = ["Error", "Model", "Session", "Tokenizer", "Sampler", "Trainer", "utf8_complete",
           "version"]

_DTYPES = {"F32": np.float32, "I64": np.int64, "I32": np.int32}


class Error(RuntimeError):
    """A runtime call failed; .status is the bitttt_status code."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def _check(status: int) -> None:
    if status != 0:
        raise Error(status, lib.bitttt_last_error().decode("utf-8", "replace"))


def _ids(ids) -> np.ndarray:
    a = np.ascontiguousarray(np.asarray(ids, dtype=np.int64).reshape(-1))
    if a.size and (a.min() < 0 or a.max() > 2**31 - 1):
        raise ValueError("token ids must be in [0, 2^31)")
    return a.astype(np.int32)


def _i32p(a: np.ndarray):
    return a.ctypes.data_as(ctypes.POINTER(ctypes.c_int32))


def version() -> str:
    return lib.bitttt_version().decode()


def utf8_complete(data: bytes) -> int:
    """Length of the longest prefix of `data` not ending inside a UTF-8
    character."""
    return lib.bitttt_utf8_complete(data, len(data))


class Tokenizer:
    """A byte-level BPE tokenizer (Hugging Face tokenizer.json)."""

    def __init__(self, handle, owner=None):
        self._h = handle
        self._owner = owner          # a Model keeps its tokenizer alive

    @classmethod
    def from_file(cls, path: str) -> "Tokenizer":
        h = ctypes.c_void_p()
        _check(lib.bitttt_tokenizer_load(os.fsencode(path), ctypes.byref(h)))
        return cls(h)

    @classmethod
    def from_json(cls, text: str, name: str = "<json>") -> "Tokenizer":
        data = text.encode("utf-8")
        h = ctypes.c_void_p()
        _check(lib.bitttt_tokenizer_from_json(data, len(data), name.encode(), ctypes.byref(h)))
        return cls(h)

    @classmethod
    def train(cls, files: Sequence[str], vocab_size: int = 32000,
              special_tokens: Sequence[str] = (), min_frequency: int = 2,
              show_progress: bool = False) -> "Tokenizer":
        p = lib.bitttt_bpe_train_default_params()
        p.vocab_size = vocab_size
        p.min_frequency = min_frequency
        specials = (ctypes.c_char_p * max(1, len(special_tokens)))(
            *[s.encode() for s in special_tokens])
        p.special_tokens = specials
        p.n_special = len(special_tokens)
        p.show_progress = int(show_progress)
        paths = (ctypes.c_char_p * max(1, len(files)))(*[os.fsencode(f) for f in files])
        h = ctypes.c_void_p()
        _check(lib.bitttt_tokenizer_train(paths, len(files), ctypes.byref(p), ctypes.byref(h)))
        return cls(h)

    def __del__(self):
        if getattr(self, "_owner", None) is None and getattr(self, "_h", None):
            lib.bitttt_tokenizer_free(self._h)
            self._h = None

    def __len__(self) -> int:
        return lib.bitttt_tokenizer_vocab_size(self._h)

    def save(self, path: str) -> None:
        _check(lib.bitttt_tokenizer_save(self._h, os.fsencode(path)))

    def encode(self, text, add_special: bool = False) -> np.ndarray:
        """Ids (int32 numpy) of `text` (str, or bytes: any bytes encode)."""
        data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
        out = np.empty(len(data) + 8, np.int32)
        n = ctypes.c_size_t()
        status = lib.bitttt_tokenizer_encode(self._h, data, len(data), int(add_special),
                                             _i32p(out), out.size, ctypes.byref(n))
        if status != 0 and n.value > out.size:   # a long template: retry
            out = np.empty(n.value, np.int32)
            status = lib.bitttt_tokenizer_encode(self._h, data, len(data), int(add_special),
                                                 _i32p(out), out.size, ctypes.byref(n))
        _check(status)
        return out[:n.value].copy()

    def decode_bytes(self, ids, skip_special: bool = False) -> bytes:
        a = _ids(ids)
        cap = 16 * a.size + 16
        for _ in range(2):
            buf = ctypes.create_string_buffer(cap)
            n = ctypes.c_size_t()
            status = lib.bitttt_tokenizer_decode(self._h, _i32p(a), a.size, int(skip_special),
                                                 buf, cap, ctypes.byref(n))
            if status == 0:
                return buf.raw[:n.value]
            if n.value <= cap:
                _check(status)
            cap = n.value
        _check(status)

    def decode(self, ids, skip_special: bool = False) -> str:
        """The text of `ids`; bytes that are not UTF-8 become U+FFFD, as the
        `tokenizers` package does."""
        return self.decode_bytes(ids, skip_special).decode("utf-8", "replace")

    def token_id(self, token: str) -> int:
        out = ctypes.c_int32()
        _check(lib.bitttt_tokenizer_token_id(self._h, token.encode("utf-8"), ctypes.byref(out)))
        return out.value

    def is_special(self, id: int) -> bool:
        return bool(lib.bitttt_tokenizer_is_special(self._h, int(id)))

    @property
    def eos(self) -> Optional[int]:
        out = ctypes.c_int32()
        if lib.bitttt_tokenizer_eos(self._h, ctypes.byref(out)) != 0:
            return None
        return out.value


class Sampler:
    """Temperature, top-k, top-p, min-p and repetition penalty, seeded
    (bitttt_sampler). temperature=0 is greedy."""

    def __init__(self, temperature: float = 0.8, top_k: int = 40, top_p: float = 0.95,
                 min_p: float = 0.05, repeat_penalty: float = 1.0, repeat_last_n: int = 64,
                 seed: Optional[int] = None):
        p = lib.bitttt_sampling_default_params()
        p.temperature, p.top_k, p.top_p, p.min_p = temperature, top_k, top_p, min_p
        p.repeat_penalty, p.repeat_last_n = repeat_penalty, repeat_last_n
        p.seed = int.from_bytes(os.urandom(8), "little") if seed is None else seed
        self._h = ctypes.c_void_p()
        _check(lib.bitttt_sampler_create(ctypes.byref(p), ctypes.byref(self._h)))

    def __del__(self):
        if getattr(self, "_h", None):
            lib.bitttt_sampler_free(self._h)
            self._h = None

    def reset(self) -> None:
        lib.bitttt_sampler_reset(self._h)

    def set_temperature(self, t: float) -> None:
        _check(lib.bitttt_sampler_set_temperature(self._h, t))

    def accept(self, id: int) -> None:
        _check(lib.bitttt_sampler_accept(self._h, int(id)))

    def probs(self, logits) -> np.ndarray:
        """The distribution a draw would use (float64), filters applied."""
        x = np.ascontiguousarray(logits, dtype=np.float32)
        out = np.empty(x.size, np.float64)
        _check(lib.bitttt_sampler_probs(self._h, x.ctypes.data_as(ctypes.POINTER(ctypes.c_float)),
                                        x.size, out.ctypes.data_as(ctypes.POINTER(ctypes.c_double))))
        return out

    def sample(self, logits) -> int:
        x = np.ascontiguousarray(logits, dtype=np.float32)
        out = ctypes.c_int32()
        _check(lib.bitttt_sampler_sample(self._h, x.ctypes.data_as(ctypes.POINTER(ctypes.c_float)),
                                         x.size, ctypes.byref(out)))
        return out.value


class Session:
    """One sequence's TTT state. Not for two threads at once."""

    def __init__(self, model: "Model"):
        self.model = model
        self._h = ctypes.c_void_p()
        _check(lib.bitttt_session_create(model._h, ctypes.byref(self._h)))

    def __del__(self):
        if getattr(self, "_h", None):
            lib.bitttt_session_free(self._h)
            self._h = None

    def reset(self) -> None:
        _check(lib.bitttt_session_reset(self._h))

    def logits_view(self) -> np.ndarray:
        """The last token's logits without a copy: a read-only view valid
        until the next prefill/decode/reset/load."""
        ptr = ctypes.POINTER(ctypes.c_float)()
        n = ctypes.c_size_t()
        _check(lib.bitttt_session_logits(self._h, ctypes.byref(ptr), ctypes.byref(n)))
        view = np.ctypeslib.as_array(ptr, shape=(n.value,))
        view.flags.writeable = False
        return view

    def logits(self) -> np.ndarray:
        return self.logits_view().copy()

    def prefill(self, ids) -> np.ndarray:
        """Feeds ids; returns the last one's logits (a copy)."""
        a = _ids(ids)
        _check(lib.bitttt_session_prefill(self._h, _i32p(a), a.size))
        return self.logits()

    def decode(self, id: int) -> np.ndarray:
        _check(lib.bitttt_session_decode(self._h, int(id)))
        return self.logits()

    @property
    def n_past(self) -> int:
        return lib.bitttt_session_n_past(self._h)

    def nll(self, ids) -> tuple:
        """Feeds ids; (sum of -log p of each predicted id, number of terms)."""
        a = _ids(ids)
        total, count = ctypes.c_double(0), ctypes.c_size_t(0)
        _check(lib.bitttt_session_nll(self._h, _i32p(a), a.size, ctypes.byref(total),
                                      ctypes.byref(count)))
        return total.value, count.value

    def state(self, name: str) -> np.ndarray:
        dtype, shape = self.model.states[name]
        out = np.empty(shape, _DTYPES[dtype])
        dims = (ctypes.c_int64 * max(1, len(shape)))(*shape)
        _check(lib.bitttt_session_state_get(self._h, name.encode(), out.ctypes.data,
                                            dtype.encode(), len(shape), dims))
        return out

    def set_state(self, name: str, value) -> None:
        dtype, shape = self.model.states[name]
        a = np.array(value, dtype=_DTYPES[dtype], order="C")
        dims = (ctypes.c_int64 * max(1, a.ndim))(*a.shape)
        _check(lib.bitttt_session_state_set(self._h, name.encode(), a.ctypes.data,
                                            dtype.encode(), a.ndim, dims))

    def save(self, path: str) -> None:
        _check(lib.bitttt_session_save(self._h, os.fsencode(path)))

    def load(self, path: str) -> None:
        _check(lib.bitttt_session_load(self._h, os.fsencode(path)))


class Model:
    """A compiled model (.bitt v2), its artifact for this CPU loaded."""

    def __init__(self, path: str, n_threads: int = 0, target: Optional[str] = None):
        params = lib.bitttt_model_default_params()
        params.n_threads = n_threads
        self._target = target.encode() if target else None
        params.target = self._target
        self._h = ctypes.c_void_p()
        _check(lib.bitttt_model_load(os.fsencode(path), ctypes.byref(params),
                                     ctypes.byref(self._h)))
        self.path = path
        t = lib.bitttt_model_tokenizer(self._h)
        self.tokenizer = Tokenizer(ctypes.c_void_p(t), owner=self) if t else None
        self.states = {}
        for i in range(lib.bitttt_model_state_count(self._h)):
            info = TensorInfo()
            _check(lib.bitttt_model_state_info(self._h, i, ctypes.byref(info)))
            self.states[info.name.decode()] = (info.dtype.decode(), list(info.shape[:info.ndim]))

    def __del__(self):
        if getattr(self, "_h", None):
            lib.bitttt_model_free(self._h)
            self._h = None

    @property
    def vocab_size(self) -> int:
        return lib.bitttt_model_vocab_size(self._h)

    @property
    def target(self) -> str:
        return lib.bitttt_model_target(self._h).decode()

    @property
    def n_threads(self) -> int:
        return lib.bitttt_model_n_threads(self._h)

    @property
    def identity(self) -> str:
        v = lib.bitttt_model_identity(self._h)
        if v is None:
            _check(6)
        return v.decode()

    def state_range(self, name: str):
        names = list(self.states)
        lo, hi = ctypes.c_int64(), ctypes.c_int64()
        if lib.bitttt_model_state_range(self._h, names.index(name), ctypes.byref(lo),
                                        ctypes.byref(hi)) != 0:
            return None
        return lo.value, hi.value

    def session(self) -> Session:
        return Session(self)

    def generate(self, prompt, max_tokens: int = 128, temperature: float = 0.8,
                 top_k: int = 40, top_p: float = 0.95, min_p: float = 0.05,
                 repeat_penalty: float = 1.0, repeat_last_n: int = 64,
                 seed: Optional[int] = None, stop: Iterable[str] = (),
                 ignore_eos: bool = False, session: Optional[Session] = None) -> Iterator[str]:
        """Streams the continuation of `prompt` (text, or a sequence of ids)
        as text pieces, each a whole number of UTF-8 characters; stops at
        the budget, the end-of-text token (unless ignore_eos) or a stop
        string (not included). Continues `session` when given."""
        if self.tokenizer is None:
            raise Error(1, f"{self.path}: the model has no tokenizer")
        tok = self.tokenizer
        ids = tok.encode(prompt, add_special=True) if isinstance(prompt, (str, bytes)) else _ids(prompt)
        if len(ids) == 0:
            raise ValueError("generate: the prompt is empty")
        session = session or self.session()
        sampler = Sampler(temperature, top_k, top_p, min_p, repeat_penalty, repeat_last_n, seed)
        for i in ids:
            sampler.accept(int(i))
        session.prefill(ids)
        eos = None if ignore_eos else tok.eos
        stops = [s.encode("utf-8") for s in stop]
        arr = (ctypes.c_char_p * max(1, len(stops)))(*stops)
        stream = ctypes.c_void_p()
        _check(lib.bitttt_text_stream_create(tok._h, arr, len(stops), ctypes.byref(stream)))
        text, n, hit = ctypes.c_void_p(), ctypes.c_size_t(), ctypes.c_int()
        try:
            stopped = False
            for _ in range(max_tokens):
                next_id = sampler.sample(session.logits_view())
                if next_id == eos:
                    session.decode(next_id)
                    break
                _check(lib.bitttt_text_stream_push(stream, next_id, ctypes.byref(text),
                                                   ctypes.byref(n), ctypes.byref(hit)))
                piece = ctypes.string_at(text, n.value).decode("utf-8", "replace")
                stopped = bool(hit.value)
                _check(lib.bitttt_session_decode(session._h, next_id))
                if piece:
                    yield piece
                if stopped:
                    break
            if not stopped:
                _check(lib.bitttt_text_stream_flush(stream, ctypes.byref(text), ctypes.byref(n)))
                if n.value:
                    yield ctypes.string_at(text, n.value).decode("utf-8", "replace")
        finally:
            lib.bitttt_text_stream_free(stream)


class Trainer:
    """The compiled training step of a .bitt built with ``bitttt-compile --train``
    (docs/training.md): owns the latent f32 weights, the AdamW moments, the
    step counter and the window generator; parameters update in place."""

    def __init__(self, model: Model, seed: int = 0):
        self.model = model            # the trainer borrows the model
        self._h = ctypes.c_void_p()
        _check(lib.bitttt_trainer_create(model._h, seed, ctypes.byref(self._h)))
        self.batch = lib.bitttt_trainer_batch(self._h)
        self.context = lib.bitttt_trainer_context(self._h)

    def __del__(self):
        if getattr(self, "_h", None):
            lib.bitttt_trainer_free(self._h)
            self._h = None

    @property
    def step_count(self) -> int:
        return lib.bitttt_trainer_step_count(self._h)

    @property
    def windows_drawn(self) -> int:
        return lib.bitttt_trainer_windows_drawn(self._h)

    def _tokens(self, tokens) -> np.ndarray:
        a = np.ascontiguousarray(tokens, dtype=np.int32)
        if a.shape != (self.batch, self.context + 1):
            raise ValueError(f"tokens must be [{self.batch}, {self.context + 1}], got "
                             f"{list(a.shape)}")
        return a

    def step(self, tokens, lr: float):
        """One optimizer step on a batch: (loss, grad_norm)."""
        a = self._tokens(tokens)
        loss, norm = ctypes.c_float(), ctypes.c_float()
        _check(lib.bitttt_trainer_step(self._h, _i32p(a), lr, ctypes.byref(loss),
                                       ctypes.byref(norm)))
        return loss.value, norm.value

    def accumulate(self, tokens) -> float:
        a = self._tokens(tokens)
        loss = ctypes.c_float()
        _check(lib.bitttt_trainer_accumulate(self._h, _i32p(a), ctypes.byref(loss)))
        return loss.value

    def apply(self, lr: float) -> float:
        norm = ctypes.c_float()
        _check(lib.bitttt_trainer_apply(self._h, lr, ctypes.byref(norm)))
        return norm.value

    def loss(self, tokens) -> float:
        a = self._tokens(tokens)
        loss = ctypes.c_float()
        _check(lib.bitttt_trainer_loss(self._h, _i32p(a), ctypes.byref(loss)))
        return loss.value

    def draw_windows(self, tokens: np.ndarray, windows: int) -> np.ndarray:
        t = np.ascontiguousarray(tokens)
        if t.dtype not in (np.uint16, np.uint32):
            raise ValueError("tokens must be uint16 or uint32")
        out = np.empty((windows, self.context + 1), dtype=np.int32)
        _check(lib.bitttt_trainer_draw_windows(self._h, t.ctypes.data_as(ctypes.c_void_p),
                                               t.size, t.dtype.itemsize, _i32p(out), windows))
        return out

    def param(self, name: str) -> np.ndarray:
        """A numpy view of parameter ``name`` (writes go to the trainer)."""
        data, count = ctypes.POINTER(ctypes.c_float)(), ctypes.c_int64()
        _check(lib.bitttt_trainer_param(self._h, name.encode(), ctypes.byref(data),
                                        ctypes.byref(count)))
        return np.ctypeslib.as_array(data, shape=(count.value,))

    def save(self, directory: str, file: str, extra: Optional[dict] = None) -> None:
        import json
        _check(lib.bitttt_trainer_save(self._h, os.fsencode(directory), file.encode(),
                                       json.dumps(extra).encode() if extra else None))

    def load(self, path: str) -> dict:
        import json
        extra = ctypes.c_char_p()
        _check(lib.bitttt_trainer_load(self._h, os.fsencode(path), ctypes.byref(extra)))
        return json.loads(extra.value.decode()) if extra.value else {}

    def export(self, bitt: Optional[str] = None, model_dir: Optional[str] = None) -> None:
        _check(lib.bitttt_trainer_export(self._h, os.fsencode(bitt) if bitt else None,
                                         os.fsencode(model_dir) if model_dir else None))
