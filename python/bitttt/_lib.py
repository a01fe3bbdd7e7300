"""ctypes declarations of libbitttt.so (runtime/include/bitttt.h).

The library is found, in order: $BITTTT_LIB; the build tree next to this
package's source checkout (../../build/lib/libbitttt.so, $BITTTT_BUILD
overrides the build dir); the system's library path."""

from __future__ import annotations

import ctypes
import ctypes.util
import os

P = ctypes.c_void_p
C = ctypes.c_char_p
SZ = ctypes.c_size_t
I32 = ctypes.c_int32
PI32 = ctypes.POINTER(ctypes.c_int32)


class TensorInfo(ctypes.Structure):
    _fields_ = [("name", C), ("dtype", C), ("ndim", ctypes.c_int),
                ("shape", ctypes.c_int64 * 8), ("data", P), ("nbytes", ctypes.c_uint64)]


class ModelParams(ctypes.Structure):
    _fields_ = [("target", C), ("n_threads", ctypes.c_int)]


class SamplingParams(ctypes.Structure):
    _fields_ = [("temperature", ctypes.c_float), ("top_k", ctypes.c_int32),
                ("top_p", ctypes.c_float), ("min_p", ctypes.c_float),
                ("repeat_penalty", ctypes.c_float), ("repeat_last_n", ctypes.c_int32),
                ("seed", ctypes.c_uint64)]


class BpeTrainParams(ctypes.Structure):
    _fields_ = [("vocab_size", SZ), ("min_frequency", ctypes.c_uint64),
                ("special_tokens", ctypes.POINTER(C)), ("n_special", SZ),
                ("show_progress", ctypes.c_int)]


def _candidates():
    env = os.environ.get("BITTTT_LIB")
    if env:
        yield env
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(os.path.dirname(here))
    build = os.environ.get("BITTTT_BUILD", os.path.join(repo, "build"))
    # The source tree's build first (PYTHONPATH=python), then the copy that
    # `pip install ./python` puts in the package (python/setup.py).
    yield os.path.join(build, "lib", "libbitttt.so")
    yield os.path.join(here, "libbitttt.so")
    found = ctypes.util.find_library("bitttt")
    if found:
        yield found


def _load():
    tried = []
    for path in _candidates():
        tried.append(path)
        if os.path.sep not in path or os.path.exists(path):
            try:
                return ctypes.CDLL(path)
            except OSError as exc:
                tried[-1] += f" ({exc})"
    raise ImportError("bitttt: cannot find libbitttt.so (tried: " + "; ".join(tried) +
                      "); build the project or set BITTTT_LIB")


lib = _load()

_SIGNATURES = {
    "bitttt_last_error": (C, []),
    "bitttt_version": (C, []),
    "bitttt_model_default_params": (ModelParams, []),
    "bitttt_model_load": (ctypes.c_int, [C, ctypes.POINTER(ModelParams), ctypes.POINTER(P)]),
    "bitttt_model_free": (None, [P]),
    "bitttt_model_target": (C, [P]),
    "bitttt_model_vocab_size": (SZ, [P]),
    "bitttt_model_prefill_tokens": (SZ, [P]),
    "bitttt_model_n_threads": (ctypes.c_int, [P]),
    "bitttt_model_state_count": (SZ, [P]),
    "bitttt_model_state_info": (ctypes.c_int, [P, SZ, ctypes.POINTER(TensorInfo)]),
    "bitttt_model_state_range": (ctypes.c_int, [P, SZ, ctypes.POINTER(ctypes.c_int64),
                                                ctypes.POINTER(ctypes.c_int64)]),
    "bitttt_model_tokenizer": (P, [P]),
    "bitttt_model_identity": (C, [P]),
    "bitttt_session_create": (ctypes.c_int, [P, ctypes.POINTER(P)]),
    "bitttt_session_free": (None, [P]),
    "bitttt_session_reset": (ctypes.c_int, [P]),
    "bitttt_session_prefill": (ctypes.c_int, [P, PI32, SZ]),
    "bitttt_session_decode": (ctypes.c_int, [P, I32]),
    "bitttt_session_logits": (ctypes.c_int, [P, ctypes.POINTER(ctypes.POINTER(ctypes.c_float)),
                                             ctypes.POINTER(SZ)]),
    "bitttt_session_n_past": (SZ, [P]),
    "bitttt_session_state_get": (ctypes.c_int, [P, C, P, C, ctypes.c_int,
                                                ctypes.POINTER(ctypes.c_int64)]),
    "bitttt_session_state_set": (ctypes.c_int, [P, C, P, C, ctypes.c_int,
                                                ctypes.POINTER(ctypes.c_int64)]),
    "bitttt_session_nll": (ctypes.c_int, [P, PI32, SZ, ctypes.POINTER(ctypes.c_double),
                                          ctypes.POINTER(SZ)]),
    "bitttt_session_save": (ctypes.c_int, [P, C]),
    "bitttt_session_load": (ctypes.c_int, [P, C]),
    "bitttt_tokenizer_load": (ctypes.c_int, [C, ctypes.POINTER(P)]),
    "bitttt_tokenizer_from_json": (ctypes.c_int, [C, SZ, C, ctypes.POINTER(P)]),
    "bitttt_tokenizer_free": (None, [P]),
    "bitttt_tokenizer_save": (ctypes.c_int, [P, C]),
    "bitttt_tokenizer_vocab_size": (SZ, [P]),
    "bitttt_tokenizer_encode": (ctypes.c_int, [P, C, SZ, ctypes.c_int, PI32, SZ,
                                               ctypes.POINTER(SZ)]),
    "bitttt_tokenizer_decode": (ctypes.c_int, [P, PI32, SZ, ctypes.c_int, C, SZ,
                                               ctypes.POINTER(SZ)]),
    "bitttt_tokenizer_token_id": (ctypes.c_int, [P, C, PI32]),
    "bitttt_tokenizer_is_special": (ctypes.c_int, [P, I32]),
    "bitttt_tokenizer_eos": (ctypes.c_int, [P, PI32]),
    "bitttt_bpe_train_default_params": (BpeTrainParams, []),
    "bitttt_tokenizer_train": (ctypes.c_int, [ctypes.POINTER(C), SZ,
                                              ctypes.POINTER(BpeTrainParams), ctypes.POINTER(P)]),
    "bitttt_utf8_complete": (SZ, [C, SZ]),
    "bitttt_sampling_default_params": (SamplingParams, []),
    "bitttt_sampler_create": (ctypes.c_int, [ctypes.POINTER(SamplingParams), ctypes.POINTER(P)]),
    "bitttt_sampler_free": (None, [P]),
    "bitttt_sampler_reset": (None, [P]),
    "bitttt_sampler_set_temperature": (ctypes.c_int, [P, ctypes.c_float]),
    "bitttt_sampler_accept": (ctypes.c_int, [P, I32]),
    "bitttt_sampler_probs": (ctypes.c_int, [P, ctypes.POINTER(ctypes.c_float), SZ,
                                            ctypes.POINTER(ctypes.c_double)]),
    "bitttt_sampler_sample": (ctypes.c_int, [P, ctypes.POINTER(ctypes.c_float), SZ, PI32]),
    "bitttt_text_stream_create": (ctypes.c_int, [P, ctypes.POINTER(C), SZ, ctypes.POINTER(P)]),
    "bitttt_text_stream_free": (None, [P]),
    "bitttt_text_stream_push": (ctypes.c_int, [P, I32, ctypes.POINTER(ctypes.c_void_p),
                                               ctypes.POINTER(SZ), ctypes.POINTER(ctypes.c_int)]),
    "bitttt_text_stream_flush": (ctypes.c_int, [P, ctypes.POINTER(ctypes.c_void_p),
                                                ctypes.POINTER(SZ)]),
    "bitttt_trainer_create": (ctypes.c_int, [P, ctypes.c_uint64, ctypes.POINTER(P)]),
    "bitttt_trainer_free": (None, [P]),
    "bitttt_trainer_batch": (ctypes.c_int64, [P]),
    "bitttt_trainer_context": (ctypes.c_int64, [P]),
    "bitttt_trainer_step_count": (ctypes.c_int64, [P]),
    "bitttt_trainer_windows_drawn": (ctypes.c_int64, [P]),
    "bitttt_trainer_accumulate": (ctypes.c_int, [P, PI32, ctypes.POINTER(ctypes.c_float)]),
    "bitttt_trainer_apply": (ctypes.c_int, [P, ctypes.c_float, ctypes.POINTER(ctypes.c_float)]),
    "bitttt_trainer_step": (ctypes.c_int, [P, PI32, ctypes.c_float,
                                           ctypes.POINTER(ctypes.c_float),
                                           ctypes.POINTER(ctypes.c_float)]),
    "bitttt_trainer_loss": (ctypes.c_int, [P, PI32, ctypes.POINTER(ctypes.c_float)]),
    "bitttt_trainer_draw_windows": (ctypes.c_int, [P, P, ctypes.c_int64, ctypes.c_int32,
                                                   PI32, ctypes.c_int64]),
    "bitttt_trainer_save": (ctypes.c_int, [P, C, C, C]),
    "bitttt_trainer_load": (ctypes.c_int, [P, C, ctypes.POINTER(C)]),
    "bitttt_trainer_export": (ctypes.c_int, [P, C, C]),
    "bitttt_trainer_param": (ctypes.c_int, [P, C, ctypes.POINTER(ctypes.POINTER(ctypes.c_float)),
                                            ctypes.POINTER(ctypes.c_int64)]),
}

for _name, (_res, _args) in _SIGNATURES.items():
    _fn = getattr(lib, _name)
    _fn.restype = _res
    _fn.argtypes = _args
