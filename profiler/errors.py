"""Typed errors of the profiler. All derive from ``SrcostError`` so the CLI prints them as one line."""

from __future__ import annotations

from hls_gen.errors import SrcostError


class ProfilerError(SrcostError, ValueError):
    """A profiling request is invalid (unknown operator, malformed option, unknown backend)."""


class StoreError(SrcostError, RuntimeError):
    """The calibration store cannot be opened or has an incompatible schema."""


class CalibrationFormatError(SrcostError, ValueError):
    """A calibration file to import is malformed."""
