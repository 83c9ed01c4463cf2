"""How the CLI reports errors: one line on stderr, non-zero exit, no traceback for expected errors."""

from __future__ import annotations

import sys
from contextlib import contextmanager

import typer

from hls_gen.errors import SrcostError


def one_line(message: str) -> str:
    """``message`` on one line (its lines joined), so stderr holds exactly one line per error."""
    return ' '.join(part.strip() for part in str(message).splitlines() if part.strip())


@contextmanager
def cli_errors():
    """Print srcost's errors, and usage errors a command raises in its body (``typer.BadParameter``), as one line
    ``error: ...`` on stderr and exit 2. Anything else is a bug and keeps its traceback."""
    import click

    try:
        yield
    except SrcostError as e:
        print(f'error: {one_line(e)}', file=sys.stderr)
        raise typer.Exit(2) from None
    except (typer.BadParameter, click.UsageError) as e:  # typer carries a click of its own: both kinds
        print(f'error: {one_line(e.format_message())}', file=sys.stderr)
        raise typer.Exit(2) from None
