"""hls_gen: expression IR, precisions, LUT specs, firmware generation, synthesis backends, emulation."""

from .design import Design
from .errors import ExpressionError, LutSpecError, PrecisionError, ReportParseError, SrcostError, SynthesisError, ToolNotFound
from .expression import Expression
from .lut import LutSpec
from .precision import Precision
from .result import SynthResult

__all__ = [
    'Design', 'Expression', 'ExpressionError', 'LutSpec', 'LutSpecError', 'Precision', 'PrecisionError',
    'ReportParseError', 'SrcostError', 'SynthResult', 'SynthesisError', 'ToolNotFound',
]
