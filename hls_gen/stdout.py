"""Redirecting ``print`` output per thread.

``contextlib.redirect_stdout`` swaps the process-wide ``sys.stdout``: when two threads (``srcost validate``
synthesizes designs in a thread pool) enter and leave it interleaved, the last one out restores the other's
redirection and ``sys.stdout`` stays pointed at stderr for good (``--json`` then printed to stderr). Here the
first entrant installs a proxy that sends each thread's writes to that thread's target, and the last one out
puts the original stream back.
"""

from __future__ import annotations

import contextlib
import io
import sys
import threading
from collections.abc import Iterator
from typing import TextIO

_LOCK = threading.Lock()
_STATE: dict = {'depth': 0, 'original': None, 'proxy': None}


class _PerThreadStdout(io.TextIOBase):
    def __init__(self, default: TextIO):
        self.default = default
        self.local = threading.local()

    def _target(self) -> TextIO:
        stack = getattr(self.local, 'stack', None)
        return stack[-1] if stack else self.default

    def write(self, s: str) -> int:
        return self._target().write(s)

    def flush(self) -> None:
        self._target().flush()

    def writable(self) -> bool:
        return True


@contextlib.contextmanager
def redirect_stdout(target: TextIO) -> Iterator[TextIO]:
    """Like ``contextlib.redirect_stdout(target)``, for the calling thread only; safe across threads."""
    with _LOCK:
        if _STATE['depth'] == 0:
            _STATE['original'] = sys.stdout
            _STATE['proxy'] = _PerThreadStdout(sys.stdout)
            sys.stdout = _STATE['proxy']
        _STATE['depth'] += 1
        proxy: _PerThreadStdout = _STATE['proxy']
    stack = proxy.local.__dict__.setdefault('stack', [])
    stack.append(target)
    try:
        yield target
    finally:
        stack.pop()
        with _LOCK:
            _STATE['depth'] -= 1
            if _STATE['depth'] == 0:
                if sys.stdout is _STATE['proxy']:
                    sys.stdout = _STATE['original']
                _STATE['original'] = _STATE['proxy'] = None
