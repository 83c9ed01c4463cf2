"""Lookup-table specifications, as hls4ml's ``lut_functions`` declare them."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import LutSpecError
from .operators import lut_function
from .precision import MAX_MAGNITUDE, MAX_WIDTH

# Entries of one table: an address of at most 16 bits (2**16 entries of 64 bits are 4 Mbit, a sixth of the VU9P's
# 75.9 Mbit of block RAM). hls4ml's C++ holds N in an ap_uint<16>, so its C simulation takes at most 65535
# (hls_gen.csim.check_luts). docs/limits.md.
MAX_TABLE_SIZE = 1 << 16


@dataclass(frozen=True, order=True)
class LutSpec:
    """``nnet::lookup_table<result_t, table_size, func> name(range_start, range_end)``."""

    function: str  # math function: sin, cos, exp, log, ...
    table_size: int = 1024
    range_start: float = -4.0
    range_end: float = 4.0
    name: str = ''

    def __post_init__(self) -> None:
        try:
            lut_function(self.function)
        except KeyError as e:
            raise LutSpecError(str(e.args[0])) from None
        if isinstance(self.table_size, bool) or not isinstance(self.table_size, int) or not 2 <= self.table_size <= MAX_TABLE_SIZE:
            raise LutSpecError(f'table size {self.table_size!r} must be an integer from 2 to {MAX_TABLE_SIZE}')
        for end in (self.range_start, self.range_end):
            if isinstance(end, bool) or not isinstance(end, (int, float)) or not abs(end) < MAX_MAGNITUDE:
                raise LutSpecError(f'LUT range end {end!r} must be a finite number below 2**{MAX_WIDTH} in magnitude')
        if not self.range_start < self.range_end:
            raise LutSpecError(f'LUT range [{self.range_start}, {self.range_end}] is empty: start must be below end')
        if not self.name:
            object.__setattr__(self, 'name', f'{self.function}_lut')
        object.__setattr__(self, 'range_start', float(self.range_start))
        object.__setattr__(self, 'range_end', float(self.range_end))

    @classmethod
    def default(cls, function: str, table_size: int = 1024) -> LutSpec:
        start, end = lut_function(function).lut_range
        return cls(function, table_size, start, end)

    @classmethod
    def parse(cls, text: str | LutSpec) -> LutSpec:
        """``sin:1024:-4:4`` (function:table_size:start:end) or ``sin`` for the defaults."""
        if isinstance(text, LutSpec):
            return text
        parts = str(text).strip().split(':')
        try:
            if len(parts) == 1:
                return cls.default(parts[0])
            if len(parts) == 2:
                return cls.default(parts[0], int(parts[1]))
            if len(parts) == 4:
                return cls(parts[0], int(parts[1]), float(parts[2]), float(parts[3]))
        except ValueError as e:
            if isinstance(e, LutSpecError):
                raise
            raise LutSpecError(f'cannot parse LUT spec {text!r}: {e}') from None
        except KeyError as e:
            raise LutSpecError(str(e.args[0])) from None
        raise LutSpecError(f'cannot parse LUT spec {text!r}: expected function:table_size:start:end, e.g. sin:1024:-4:4')

    def to_hls4ml(self) -> dict:
        return {
            'math_func': self.function,
            'table_size': self.table_size,
            'range_start': self.range_start,
            'range_end': self.range_end,
        }

    def __str__(self) -> str:
        return f'{self.function}:{self.table_size}:{self.range_start:g}:{self.range_end:g}'
