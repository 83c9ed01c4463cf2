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
