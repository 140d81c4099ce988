"""Importing pybullet without its build-time banner on the terminal.

pybullet's C code prints "pybullet build time: ..." on import, which would land in the middle
of robolearn's own output (and in front of ``--json``). The banner is sent to /dev/null.
"""

from __future__ import annotations

import ctypes
import importlib
import os
import sys
from types import ModuleType


def quiet_import(name: str) -> ModuleType:
    """Import module ``name`` with the process's stdout and stderr silenced meanwhile."""
    if name in sys.modules:
        return sys.modules[name]
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        module = importlib.import_module(name)
        ctypes.CDLL(None).fflush(None)  # C's buffered banner goes out while still silenced
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, devnull):
            os.close(fd)
    return module
