"""A view of a validated sympy tree in terms of the operator table.

``decompose`` names each node by its table operator (``square``, ``log_abs``, ``sin_lut``...), so the
float evaluator, the fixed-point tracer and the cost-model features all read the tree the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy

from .errors import ExpressionError
from .operators import LUT_FUNCTIONS, get_operator

_SYMPY_FUNCS = {'exp', 'sin', 'cos', 'tan', 'sinh', 'cosh', 'tanh'}


@dataclass(frozen=True)
class Node:
    op: str  # 'var', 'const', or a table operator name (or '<fn>_lut')
    args: tuple[sympy.Expr, ...] = ()
    value: float | int | None = None  # variable index, constant value, or integer power


def decompose(e: sympy.Expr, number_test: bool = True) -> Node:
    """The table operator of ``e``'s root and its arguments. ``number_test=False`` skips asking sympy whether
    a non-Number ``e`` is a real constant (``is_number`` walks the whole subtree): for a caller that knows
    the subtree holds a variable, which makes the answer no."""
    if e.is_Symbol:
        return Node('var', (), int(e.name[1:]))
    if e.is_Number or (number_test and e.is_number and e.is_real and not e.free_symbols):
        return Node('const', (), float(e))
    if e.is_Add:
        return Node('+', tuple(e.args))
    if e.is_Mul:
        coeff, rest = e.as_coeff_Mul()
        if coeff == -1:
            return Node('neg', (rest,))
        return Node('*', tuple(e.args))
    if e.is_Pow:
        base, exp = e.args
        if exp.is_Integer:
            n = int(exp)
            if n == -1:
                return Node('inv', (base,))
            if n < -1:
                return Node('inv', (base ** (-n),))
            if n == 2:
                return Node('square', (base,))
            if n == 3:
                return Node('cube', (base,))
            return Node('pow_int', (base,), n)
        if exp.is_number and exp.is_negative:
            return Node('inv', (base ** (-exp),))
        if exp == sympy.Rational(1, 2):
            if isinstance(base, sympy.Abs):
                return Node('sqrt_abs', (base.args[0],))
            return Node('sqrt', (base,))
        if isinstance(base, sympy.Abs) and exp.is_number:
            return Node('pow_abs', (base.args[0],), float(exp))
        raise ExpressionError(f'unsupported power {e}: use an integer power, sqrt or pow_abs')
    if isinstance(e, sympy.Abs):
        return Node('abs', (e.args[0],))
    if isinstance(e, sympy.log):
        if isinstance(e.args[0], sympy.Abs):
            return Node('log_abs', (e.args[0].args[0],))
        return Node('log', (e.args[0],))
    name = type(e).__name__
    if name in _SYMPY_FUNCS:
        return Node(name, (e.args[0],))
    if name in LUT_FUNCTIONS:
        return Node(name, (e.args[0],))
    raise ExpressionError(f'unsupported node {e} ({name})')


def float_function(op: str):
    """The float reference of a unary operator or LUT function."""
    base = LUT_FUNCTIONS[op] if op in LUT_FUNCTIONS else get_operator(op)
    return base.numpy_fn


def walk_float(e: sympy.Expr, X: np.ndarray):
    n = decompose(e)
    if n.op == 'var':
        if n.value >= X.shape[1]:
            raise ExpressionError(f'x{n.value} is used but the data has only {X.shape[1]} columns')
        return X[:, n.value]
    if n.op == 'const':
        return n.value
    args = [walk_float(a, X) for a in n.args]
    if n.op == '+':
        out = args[0]
        for a in args[1:]:
            out = out + a
        return out
    if n.op == '*':
        out = args[0]
        for a in args[1:]:
            out = out * a
        return out
    if n.op == 'pow_int':
        return np.power(args[0], n.value)
    if n.op == 'pow_abs':
        return np.abs(args[0]) ** n.value
    return float_function(n.op)(args[0])


def count_nodes(e: sympy.Expr) -> int:
    n = decompose(e)
    return 1 + sum(count_nodes(a) for a in n.args)


def constant_value(e: sympy.Expr, memo: dict) -> float | None:
    """The float64 value of a constant subtree, or None when ``e`` holds a variable. Computed with numpy's float
    functions from the values of the arguments (memoized in ``memo``, keyed by subtree), never with sympy's
    arbitrary-precision ``evalf``, which raises OverflowError deep inside mpmath on ``exp(exp(exp(1000)))``.
    A value that float64 cannot hold comes back as inf or nan; so does a constant the operator table cannot read."""
    if e in memo:
        return memo[e]
    if e.is_Symbol:
        value = None
    elif e.is_Number or e in (sympy.pi, sympy.E):
        try:
            value = float(e)
        except OverflowError:
            value = float('inf')
        except (TypeError, ValueError):  # zoo, a complex number
            value = float('nan')
    else:
        try:
            n = decompose(e, number_test=False)
        except ExpressionError:
            n = None
        if n is None or n.op in ('var', 'const'):
            value = float('nan')
        else:
            args = [constant_value(a, memo) for a in n.args]
            if any(a is None for a in args):
                value = None
            else:
                with np.errstate(all='ignore'):
                    value = float(_apply_float(n, np.asarray(args, dtype=np.float64)))
    memo[e] = value
    return value


def _apply_float(n: Node, args: np.ndarray):
    if n.op == '+':
        return np.sum(args)
    if n.op == '*':
        return np.prod(args)
    if n.op == 'pow_int':
        return np.power(args[0], float(n.value))
    if n.op == 'pow_abs':
        return np.abs(args[0]) ** n.value
    return float_function(n.op)(args[0])
