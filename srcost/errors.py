"""How the CLI reports errors: one line on stderr, non-zero exit, no traceback for expected errors."""

from __future__ import annotations

import sys
from contextlib import contextmanager

import typer

from hls_gen.errors import SrcostError


@contextmanager
def cli_errors():
    try:
        yield
    except SrcostError as e:
        print(f'error: {e}', file=sys.stderr)
        raise typer.Exit(2) from None
