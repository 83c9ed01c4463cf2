"""The backend interface and tool lookup."""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from ..design import Design
from ..errors import ToolNotFound
from ..result import SynthResult


class Backend(Protocol):
    name: str

    def synthesize(self, designs: Sequence[Design], workdir: Path, timeout_s: float = 600) -> list[SynthResult]:
        """Synthesize every design (sharing tool processes where possible); one result per design, in order.
        Raises SynthesisError for a failed or hung tool, ToolNotFound for a missing one."""
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
