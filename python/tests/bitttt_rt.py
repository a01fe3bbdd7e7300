"""ctypes bindings of the parts of libbitttt.so (runtime/include/bitttt.h)
the end-to-end tests use. The library must exist: a build that lost it fails
the tests that need it, it does not skip them."""

from __future__ import annotations

import ctypes
import os

import numpy as np

import bitt_runner

LIB = os.path.join(bitt_runner.BUILD, "lib", "libbitttt.so")
RUN = os.path.join(bitt_runner.BUILD, "bin", "bitttt-run")

P = ctypes.c_void_p
_NP = {"F32": np.float32, "I64": np.int64, "I32": np.int32}


class TensorInfo(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("dtype", ctypes.c_char_p),
                ("ndim", ctypes.c_int), ("shape", ctypes.c_int64 * 8),
                ("data", P), ("nbytes", ctypes.c_uint64)]


class ModelParams(ctypes.Structure):
    _fields_ = [("target", ctypes.c_char_p), ("n_threads", ctypes.c_int)]


def require_built():
    missing = [p for p in (LIB, RUN, bitt_runner.COMPILE) if not os.path.exists(p)]
    assert not missing, f"not built: {missing} (run scripts/build.sh)"


class Runtime:
    def __init__(self):
        require_built()
        lib = ctypes.CDLL(LIB)
        lib.bitttt_model_load.argtypes = [ctypes.c_char_p, ctypes.POINTER(ModelParams),
                                          ctypes.POINTER(P)]
        lib.bitttt_model_free.argtypes = [P]
        lib.bitttt_model_state_count.argtypes = [P]
        lib.bitttt_model_state_count.restype = ctypes.c_size_t
        lib.bitttt_model_state_info.argtypes = [P, ctypes.c_size_t, ctypes.POINTER(TensorInfo)]
        lib.bitttt_model_state_range.argtypes = [P, ctypes.c_size_t,
                                                 ctypes.POINTER(ctypes.c_int64),
                                                 ctypes.POINTER(ctypes.c_int64)]
        lib.bitttt_model_n_threads.argtypes = [P]
        lib.bitttt_session_create.argtypes = [P, ctypes.POINTER(P)]
        lib.bitttt_session_free.argtypes = [P]
        lib.bitttt_session_reset.argtypes = [P]
        lib.bitttt_session_prefill.argtypes = [P, ctypes.POINTER(ctypes.c_int32), ctypes.c_size_t]
        lib.bitttt_session_decode.argtypes = [P, ctypes.c_int32]
        lib.bitttt_session_logits.argtypes = [P, ctypes.POINTER(ctypes.POINTER(ctypes.c_float)),
                                              ctypes.POINTER(ctypes.c_size_t)]
        for fn in (lib.bitttt_session_state_get, lib.bitttt_session_state_set):
            fn.argtypes = [P, ctypes.c_char_p, P, ctypes.c_char_p, ctypes.c_int,
                           ctypes.POINTER(ctypes.c_int64)]
        lib.bitttt_last_error.restype = ctypes.c_char_p
        self.lib = lib

    def error(self):
        return self.lib.bitttt_last_error().decode()

    def check(self, status):
        assert status == 0, self.error()

    def load(self, path, n_threads=0, target=None):
        """→ (status, model handle or None); the caller frees the model."""
        params = ModelParams(target.encode() if target else None, n_threads)
        model = P()
        status = self.lib.bitttt_model_load(str(path).encode(), ctypes.byref(params),
                                            ctypes.byref(model))
        return status, (model if status == 0 else None)

    def session(self, model):
        s = P()
        self.check(self.lib.bitttt_session_create(model, ctypes.byref(s)))
        return s

    def states(self, model):
        """{name: (dtype, shape)} of every state value."""
        out = {}
        for i in range(self.lib.bitttt_model_state_count(model)):
            info = TensorInfo()
            self.check(self.lib.bitttt_model_state_info(model, i, ctypes.byref(info)))
            out[info.name.decode()] = (info.dtype.decode(), list(info.shape[:info.ndim]))
        return out

    def state_range(self, model, name):
        for i, n in enumerate(self.states(model)):
            if n == name:
                lo, hi = ctypes.c_int64(), ctypes.c_int64()
                status = self.lib.bitttt_model_state_range(model, i, ctypes.byref(lo),
                                                           ctypes.byref(hi))
                return (lo.value, hi.value) if status == 0 else None
        raise KeyError(name)

    def reset(self, session):
        self.check(self.lib.bitttt_session_reset(session))

    def prefill(self, session, ids):
        ids = np.ascontiguousarray(ids, dtype=np.int32)
        self.check(self.lib.bitttt_session_prefill(
            session, ids.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)), len(ids)))

    def decode(self, session, token):
        self.check(self.lib.bitttt_session_decode(session, int(token)))

    def logits(self, session):
        ptr = ctypes.POINTER(ctypes.c_float)()
        n = ctypes.c_size_t()
        self.check(self.lib.bitttt_session_logits(session, ctypes.byref(ptr), ctypes.byref(n)))
        return np.ctypeslib.as_array(ptr, shape=(n.value,)).copy()

    def state_get(self, session, name, dtype, shape):
        out = np.empty(shape, _NP[dtype])
        dims = (ctypes.c_int64 * max(1, len(shape)))(*shape)
        self.check(self.lib.bitttt_session_state_get(
            session, name.encode(), out.ctypes.data, dtype.encode(), len(shape), dims))
        return out

    def state_set(self, session, name, value, dtype):
        value = np.array(value, dtype=_NP[dtype], order="C")  # keeps 0-d
        dims = (ctypes.c_int64 * max(1, value.ndim))(*value.shape)
        return self.lib.bitttt_session_state_set(
            session, name.encode(), value.ctypes.data, dtype.encode(), value.ndim, dims)
