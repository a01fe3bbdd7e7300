"""pip install ./python: the metadata is in pyproject.toml; this only puts
the runtime library that the build made (../build/lib/libbitttt.so, or
$BITTTT_BUILD/lib) inside the installed package, so `import bitttt` works
from any directory. Without a build the package still installs and looks
for libbitttt.so at import (BITTTT_LIB, then the system's library path)."""

import os
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))


class BuildPyWithRuntime(build_py):
    def run(self):
        super().run()
        build = os.environ.get("BITTTT_BUILD", os.path.join(HERE, "..", "build"))
        lib = os.path.join(build, "lib", "libbitttt.so")
        if os.path.exists(lib):
            dest = os.path.join(self.build_lib, "bitttt", "libbitttt.so")
            shutil.copyfile(os.path.realpath(lib), dest)
            print(f"bitttt: bundled {lib}")
        else:
            print(f"bitttt: {lib} not found; the package will look for "
                  "libbitttt.so at import (BITTTT_LIB or the library path)")


setup(cmdclass={"build_py": BuildPyWithRuntime})
