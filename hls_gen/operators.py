"""The one operator table of srcost.

Every operator is declared here once: its name in expressions, arity, how it becomes sympy, its PySR
and hls4ml names, its float reference, its mathematical domain and its default lookup-table range.
Other modules look operators up here; none repeats an operator string.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import sympy


@dataclass(frozen=True)
class Operator:
    name: str  # canonical srcost / PySR-syntax name
    arity: int
    kind: str  # 'arith' (adders, multipliers), 'func' (a math function: a table or a library call)
    build: Callable[..., sympy.Expr] = field(repr=False, compare=False)
    numpy_fn: Callable[..., np.ndarray] = field(repr=False, compare=False)
    pysr_name: str | None = None  # name in PySR's binary/unary operators and complexity_of_operators
    hls4ml_name: str | None = None  # what hls4ml's printer emits (hls:: math function)
    domain: tuple[float, float] = (-np.inf, np.inf)  # where the float function is defined
    lut_range: tuple[float, float] | None = None  # hls4ml-style default LUT range; None: no LUT variant
    aliases: tuple[str, ...] = ()

    @property
    def lut_name(self) -> str | None:
        return f'{self.name}_lut' if self.lut_range is not None else None

    @property
    def is_function(self) -> bool:
        return self.kind == 'func'


def _safe(fn):
    def wrapped(*args):
        with np.errstate(all='ignore'):
            return fn(*args)

    return wrapped


_S = sympy
OPERATORS: tuple[Operator, ...] = (
    Operator('+', 2, 'arith', lambda a, b: a + b, np.add, '+', '+'),
    Operator('-', 2, 'arith', lambda a, b: a - b, np.subtract, '-', '-'),
    Operator('*', 2, 'arith', lambda a, b: a * b, np.multiply, '*', '*'),
    Operator('/', 2, 'arith', lambda a, b: a / b, _safe(np.divide), '/', 'hls::recip'),
    Operator('neg', 1, 'arith', lambda a: -a, np.negative, 'neg', '-'),
    Operator('square', 1, 'arith', lambda a: a**2, np.square, 'square', '*'),
    Operator('cube', 1, 'arith', lambda a: a**3, lambda a: a**3, 'cube', '*'),
    Operator('pow_int', 2, 'arith', lambda a, n: a**n, _safe(np.power), None, '*'),
    Operator('abs', 1, 'func', _S.Abs, np.abs, 'abs', 'hls::abs', aliases=('Abs',)),
    Operator('inv', 1, 'func', lambda a: 1 / a, _safe(np.reciprocal), 'inv', 'hls::recip'),
    Operator('pow_abs', 2, 'func', lambda a, b: _S.Abs(a) ** b, _safe(lambda a, b: np.abs(a) ** b), 'pow_abs', 'hls::pow'),
    Operator('sqrt', 1, 'func', _S.sqrt, _safe(np.sqrt), 'sqrt', 'hls::sqrt', (0.0, np.inf), (0.0, 16.0)),
    Operator('sqrt_abs', 1, 'func', lambda a: _S.sqrt(_S.Abs(a)), _safe(lambda a: np.sqrt(np.abs(a))), 'sqrt_abs', 'hls::sqrt'),
    Operator('log', 1, 'func', _S.log, _safe(np.log), 'log', 'hls::log', (0.0, np.inf), (0.0, 8.0)),
    Operator('log_abs', 1, 'func', lambda a: _S.log(_S.Abs(a)), _safe(lambda a: np.log(np.abs(a))), 'log_abs', 'hls::log'),
    Operator('exp', 1, 'func', _S.exp, _safe(np.exp), 'exp', 'hls::exp', lut_range=(0.0, 16.0)),
    Operator('sin', 1, 'func', _S.sin, np.sin, 'sin', 'hls::sin', lut_range=(-4.0, 4.0)),
    Operator('cos', 1, 'func', _S.cos, np.cos, 'cos', 'hls::cos', lut_range=(-4.0, 4.0)),
    Operator('tan', 1, 'func', _S.tan, _safe(np.tan), 'tan', 'hls::tan', lut_range=(-4.0, 4.0)),
    Operator('sinh', 1, 'func', _S.sinh, _safe(np.sinh), 'sinh', 'hls::sinh', lut_range=(-4.0, 4.0)),
    Operator('cosh', 1, 'func', _S.cosh, _safe(np.cosh), 'cosh', 'hls::cosh', lut_range=(-4.0, 4.0)),
    Operator('tanh', 1, 'func', _S.tanh, np.tanh, 'tanh', 'hls::tanh', lut_range=(-4.0, 4.0)),
)

_BY_NAME: dict[str, Operator] = {}
for _op in OPERATORS:
    for _n in (_op.name, *_op.aliases):
        _BY_NAME[_n] = _op

# Math functions that may be implemented as an hls4ml lookup table (`<fn>_lut`).
LUT_FUNCTIONS: dict[str, Operator] = {op.lut_name: op for op in OPERATORS if op.lut_name}


def get_operator(name: str) -> Operator:
    """The operator called ``name`` (srcost name or alias). Raises KeyError naming the known ones."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f'unknown operator {name!r}; known: {", ".join(sorted(_BY_NAME))}') from None


def operator_names(kind: str | None = None) -> list[str]:
    return [op.name for op in OPERATORS if kind is None or op.kind == kind]


def lut_function(math_func: str) -> Operator:
    """The operator for a LUT's math function name (``sin`` for ``sin_lut``)."""
    op = get_operator(math_func)
    if op.lut_range is None:
        raise KeyError(f'{math_func!r} has no lookup-table variant; LUT functions: {", ".join(sorted(LUT_FUNCTIONS))}')
    return op
