# -*- Python -*-
# lit configuration for the bitttt FileCheck suite.

import os
import shutil
import subprocess

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "bitttt"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "Inputs", "unit", "fuzz"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.bitttt_obj_root, "test")

config.substitutions.append(("%PATH%", config.environment["PATH"]))
config.substitutions.append(("%bitttt_src_root", config.bitttt_src_root))
config.substitutions.append(("%bitttt_obj_root", config.bitttt_obj_root))

llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.add_tool_substitutions(
    [
        ToolSubst("bitttt-opt", unresolved="fatal"),
        ToolSubst("bitttt-compile", unresolved="fatal"),
    ],
    [config.bitttt_tools_dir],
)

# %python: the repository's venv (torch, numpy, safetensors) with the
# reference model (python/bitttt_ref) importable. It replaces the %python
# (lit's own interpreter) that use_default_substitutions() added.
config.substitutions = [s for s in config.substitutions if s[0] != "%python"]
_venv_python = os.path.join(config.bitttt_src_root, ".venv", "bin", "python")
config.substitutions.append(
    (
        "%python",
        "env PYTHONPATH=%s %s"
        % (os.path.join(config.bitttt_src_root, "python"), _venv_python),
    )
)


def _has_cuda_device():
    """A CUDA device is usable when the driver library loads and sees a GPU."""
    smi = shutil.which("nvidia-smi")
    if not smi:
        return False
    try:
        out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and "GPU" in out.stdout


def _find_ptxas():
    return shutil.which("ptxas") or next(
        (p for p in ["/usr/local/cuda/bin/ptxas"] if os.access(p, os.X_OK)), None
    )


if _has_cuda_device():
    config.available_features.add("cuda")
ptxas = _find_ptxas()
if ptxas:
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", ptxas))
