"""The one-shot and REPL paths import none of Jupyter: only `omegacli kernel` and the kernel do."""

from __future__ import annotations

import subprocess
import sys

JUPYTER = ("ipykernel", "jupyter_client", "jupyter_core", "zmq", "IPython", "traitlets",
           "tornado")
CHECK = """
import sys
{imports}
found = sorted({{m.split(".")[0] for m in sys.modules}} & set({jupyter!r}))
print(",".join(found))
"""


def jupyter_imported_by(*modules: str) -> str:
    code = CHECK.format(imports="\n".join(f"import {m}" for m in modules), jupyter=JUPYTER)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=True)
    return done.stdout.strip()


def test_one_shot_and_repl_paths_import_no_jupyter():
    assert jupyter_imported_by("omegacli.__main__", "omegacli.sessions", "omegacli.repl.app",
                               "omegacli.syntax") == ""


def test_the_kernel_does():  # the check above can see an import
    assert "ipykernel" in jupyter_imported_by("omegacli.kernel.kernel")
