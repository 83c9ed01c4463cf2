"""The backend interface and tool lookup."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from ..design import Design
from ..errors import SynthesisError, ToolNotFound
from ..result import SynthResult


class SynthesisTimeout(SynthesisError):
    """A synthesis ran past its time limit; ``stage`` names the stage it was stopped in."""

    def __init__(self, stage: str, timeout_s: float, log_path: str | None = None):
        super().__init__(f'timeout in {stage}: the synthesis did not finish within {timeout_s:.0f} s', log_path)
        self.stage = stage
        self.timeout_s = timeout_s


class Deadline:
    """The time limit of one ``synthesize`` call, shared by its stages: each tool run gets what is left."""

    def __init__(self, timeout_s: float):
        self.timeout_s = float(timeout_s)
        self.end = time.monotonic() + self.timeout_s

    def left(self, stage: str, log_path: str | None = None) -> float:
        """Seconds left for ``stage``; SynthesisTimeout naming it when none are."""
        left = self.end - time.monotonic()
        if left <= 0:
            raise SynthesisTimeout(stage, self.timeout_s, log_path)
        return left

    def expired(self, stage: str, log_path: str | None = None) -> SynthesisTimeout:
        return SynthesisTimeout(stage, self.timeout_s, log_path)


class Backend(Protocol):
    name: str

    def synthesize(self, designs: Sequence[Design], workdir: Path, timeout_s: float = 600) -> list[SynthResult]:
        """Synthesize every design (sharing tool processes where possible); one result per design, in order.
        ``timeout_s`` bounds the whole call; past it, SynthesisTimeout names the stage it was in. Raises
        SynthesisError for a failed tool, ToolNotFound for a missing one."""
        ...

    def tool_version(self) -> str: ...


def require_tool(name: str, env_var: str, hint: str) -> str:
    """Find an executable: the environment variable ``env_var`` overrides, else PATH. Raises ToolNotFound."""
    override = os.environ.get(env_var)
    if override:
        if Path(override).is_file() or shutil.which(override):
            return shutil.which(override) or override
        raise ToolNotFound(f'{env_var}={override!r} does not name an executable; {hint}')
    found = shutil.which(name)
    if not found:
        raise ToolNotFound(f'{name} not found on PATH; {hint}, or set {env_var} to its path')
    return found
