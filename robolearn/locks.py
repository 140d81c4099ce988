"""Locks between the processes that share a workspace: one writer of a thing at a time.

A run, the dashboard, a training round and a bootstrap may all start at once on one workspace.
Each thing only one of them may write (the default model, the training round, a skill's next
version) has a lock file; :func:`exclusive` holds it, either waiting for the holder or refusing
at once with a :class:`BusyError` that says who is busy with what. The locks are ``flock``s, so
the kernel frees them when a holder dies (a killed process never leaves a workspace locked),
and they are re-entrant within a thread, so a function that holds one may call another that
takes the same.

    with exclusive(workspace / "models" / ".default.lock", "building the default model"):
        ...
"""

from __future__ import annotations

import fcntl
import functools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ParamSpec, TypeVar

from robolearn.errors import UserError

POLL_S = 0.1
"""How often a waiting process tries the lock again."""
_held: dict[tuple[Path, int], int] = {}
"""(lock file, thread) → how many times that thread holds it."""
_registry = threading.Lock()


P = ParamSpec("P")
R = TypeVar("R")


class BusyError(UserError):
    """Another process holds the lock: what it is doing, and what to do meanwhile."""


@contextmanager
def exclusive(
    path: Path,
    what: str,
    *,
    wait: bool = True,
    timeout_s: float | None = None,
    error: type[BusyError] = BusyError,
) -> Iterator[None]:
    """Hold the lock file ``path`` while the block runs; ``what`` is the work it guards.

    ``wait``: wait for another holder (at most ``timeout_s`` seconds, if given); otherwise
    raise ``error`` at once, saying another process is ``what``.
    """
    key = (Path(path).absolute(), threading.get_ident())
    with _registry:
        depth = _held.get(key, 0)
        if depth:
            _held[key] = depth + 1
    if depth:
        try:
            yield
        finally:
            with _registry:
                _held[key] -= 1
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with Path(path).open("a") as handle:
        _acquire(handle, what, wait, timeout_s, error)
        with _registry:
            _held[key] = 1
        try:
            yield
        finally:
            with _registry:
                del _held[key]
            fcntl.flock(handle, fcntl.LOCK_UN)


def lock_beside(path: Path) -> Path:
    """The lock file that guards writing ``path``: a hidden sibling, ``.<name>.lock``."""
    return Path(path).with_name(f".{Path(path).name}.lock")


def locked(
    lock_of: Callable[..., Path], what: str, *, wait: bool = True
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Run the decorated function holding the lock file ``lock_of(*args, **kwargs)``.

    Example::

        @locked(lambda out, *_, **__: lock_beside(out), "building the default model", wait=False)
        def build_default_model(out: Path, ...) -> BootstrapReport: ...
    """

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(function)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            with exclusive(lock_of(*args, **kwargs), what, wait=wait):
                return function(*args, **kwargs)

        return run

    return decorate


def _acquire(
    handle: object, what: str, wait: bool, timeout_s: float | None, error: type[BusyError]
) -> None:
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if not wait or (deadline is not None and time.monotonic() >= deadline):
                waited = "" if not wait else f" (waited {timeout_s:g} s)"
                raise error(
                    f"another robolearn process is {what} in this workspace{waited}; wait for "
                    "it to finish, then try again"
                ) from None
            time.sleep(POLL_S)
