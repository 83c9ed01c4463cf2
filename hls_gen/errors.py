"""Typed errors of srcost. Every user-facing failure is one of these, with a message that says what to do."""

from __future__ import annotations


class SrcostError(Exception):
    """Base class of every error srcost raises on purpose."""


class ExpressionError(SrcostError, ValueError):
    """An expression could not be parsed or is not supported in firmware."""


class PrecisionError(SrcostError, ValueError):
    """A fixed-point precision string is malformed or impossible."""


class LutSpecError(SrcostError, ValueError):
    """A lookup-table specification is malformed."""


class ToolNotFound(SrcostError, RuntimeError):
    """A synthesis or simulation tool is not installed; the message says what to install or set."""


class SynthesisError(SrcostError, RuntimeError):
    """A synthesis or simulation tool ran and failed (or hung). ``log_path`` points at its log."""

    def __init__(self, message: str, log_path: str | None = None):
        super().__init__(message if log_path is None else f'{message} (log: {log_path})')
        self.log_path = log_path


class ReportParseError(SrcostError, ValueError):
    """A synthesis report is missing a field srcost needs."""


class InputFileError(SrcostError, ValueError):
    """A file given to srcost cannot be read, is not UTF-8 text, or is not in the expected format."""


def file_problem(path, exc: BaseException) -> str:
    """One line naming what is wrong with reading ``path``: the same wording for every file reader (calibration
    files, data tables, fronts). ``exc`` is what the reading raised (OSError, UnicodeDecodeError, a parser's
    error); its message is cut to its first line."""
    if isinstance(exc, UnicodeDecodeError):
        return f'{path} is not UTF-8 text (it holds the byte 0x{exc.object[exc.start]:02x}): is it a binary file? save it as UTF-8'
    if isinstance(exc, FileNotFoundError):
        return f'no file at {path}'
    if isinstance(exc, IsADirectoryError):
        return f'{path} is a directory, not a file'
    if isinstance(exc, OSError):
        return f'cannot read {path}: {exc.strerror or exc}'
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return f'{path} is not in the expected format: {first}'


def read_text(path, error: type[SrcostError] = InputFileError) -> str:
    """The UTF-8 text of ``path`` (a byte-order mark is dropped), or ``error`` with :func:`file_problem`'s line.
    NUL bytes are refused too: no text format srcost reads contains them, and they mean a binary file."""
    from pathlib import Path

    try:
        data = Path(path).read_bytes()
        text = data.decode('utf-8-sig')
    except (OSError, UnicodeDecodeError) as e:
        raise error(file_problem(path, e)) from None
    if '\x00' in text:
        raise error(f'{path} is not UTF-8 text (it holds the byte 0x00): is it a binary file? save it as UTF-8')
    return text
