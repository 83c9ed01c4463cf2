"""Expressions: parsed from PySR/sympy-syntax text without evaluating Python.

The text is parsed with Python's ``ast`` module and the tree is walked with a whitelist: numbers,
variables ``x0, x1, ...``, ``+ - * / **``, unary minus and calls of operators in the operator table.
Nothing in the text is ever executed (no ``eval``, no ``sympy.parse_expr``).
"""

from __future__ import annotations

import ast
import hashlib
import re
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import sympy
from sympy.printing.str import StrPrinter

from .errors import ExpressionError
from .operators import LUT_FUNCTIONS, OPERATORS, get_operator

MAX_NODES = 2000
MAX_INT_POWER = 16
MAX_TEXT = 20_000
_VAR = re.compile(r'^x(\d+)$')
_CONSTANTS = {'pi': sympy.pi, 'E': sympy.E}

# sympy's own printed names and PySR names that map onto table operators
_CALLABLE: dict[str, str] = {}
for _op in OPERATORS:
    if _op.kind == 'func' or _op.name in ('neg', 'square', 'cube'):
        for _n in (_op.name, *_op.aliases):
            _CALLABLE[_n] = _op.name


def variable(index: int) -> sympy.Symbol:
    """The sympy symbol of input ``x<index>`` (declared real, as every firmware input is)."""
    return sympy.Symbol(f'x{index}', real=True)


def lut_symbol(name: str) -> sympy.FunctionClass:
    """The sympy function that stands for a lookup-table function (``sin_lut``)."""
    return sympy.Function(name)


class _Builder:
    def __init__(self, text: str):
        self.text = text
        self.count = 0

    def fail(self, node: ast.AST | None, why: str) -> ExpressionError:
        where = f' at column {node.col_offset + 1}' if node is not None and hasattr(node, 'col_offset') else ''
        return ExpressionError(f'{why}{where} in {self.text!r}')

    def build(self, node: ast.AST) -> sympy.Expr:
        self.count += 1
        if self.count > MAX_NODES:
            raise self.fail(None, f'expression has more than {MAX_NODES} nodes')
        if isinstance(node, ast.Expression):
            return self.build(node.body)
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
                raise self.fail(node, f'unsupported constant {node.value!r}')
            if isinstance(node.value, float) and not np.isfinite(node.value):
                raise self.fail(node, 'non-finite constant')
            return sympy.Integer(node.value) if isinstance(node.value, int) else sympy.Float(node.value)
        if isinstance(node, ast.Name):
            if _VAR.match(node.id):
                return sympy.Symbol(node.id, real=True)  # == variable(i)
            if node.id in _CONSTANTS:
                return _CONSTANTS[node.id]
            raise self.fail(node, f'unknown name {node.id!r}: variables are x0, x1, ...')
        if isinstance(node, ast.UnaryOp):
            arg = self.build(node.operand)
            if isinstance(node.op, ast.USub):
                return -arg
            if isinstance(node.op, ast.UAdd):
                return arg
            raise self.fail(node, f'unsupported unary operator {type(node.op).__name__}')
        if isinstance(node, ast.BinOp):
            left, right = self.build(node.left), self.build(node.right)
            if isinstance(node.op, ast.Add):
                return left + right
            if isinstance(node.op, ast.Sub):
                return left - right
            if isinstance(node.op, ast.Mult):
                return left * right
            if isinstance(node.op, ast.Div):
                if right == 0:
                    raise self.fail(node, 'division by zero')
                return left / right
            if isinstance(node.op, ast.Pow):
                return self.power(node, left, right)
            raise self.fail(node, f'unsupported operator {type(node.op).__name__}; use + - * / **')
        if isinstance(node, ast.Call):
            return self.call(node)
        raise self.fail(node, f'unsupported syntax {type(node).__name__}')

    def power(self, node: ast.AST, base: sympy.Expr, exp: sympy.Expr) -> sympy.Expr:
        if not exp.is_number:
            raise self.fail(node, 'the exponent of ** must be a number (use pow_abs(x, y) for |x|**y)')
        if exp.is_integer:
            if abs(int(exp)) > MAX_INT_POWER:
                raise self.fail(node, f'integer power {exp} is larger than {MAX_INT_POWER}')
            if base == 0 and exp < 0:
                raise self.fail(node, 'division by zero')
            return base**exp
        if exp == sympy.Rational(1, 2) or exp == 0.5:
            return sympy.sqrt(base)
        if exp == sympy.Rational(-1, 2) or exp == -0.5:
            return 1 / sympy.sqrt(base)
        if isinstance(base, sympy.Abs):  # printed form of pow_abs
            return base ** sympy.Float(exp)
        raise self.fail(node, f'non-integer power {exp}: use sqrt(x) or pow_abs(x, {exp})')

    def call(self, node: ast.Call) -> sympy.Expr:
        if not isinstance(node.func, ast.Name):
            raise self.fail(node, 'only calls of named operators are allowed, e.g. sin(x0)')
        if node.keywords:
            raise self.fail(node, 'keyword arguments are not allowed')
        name = node.func.id
        args = [self.build(a) for a in node.args]
        if name in LUT_FUNCTIONS:
            if len(args) != 1:
                raise self.fail(node, f'{name} takes 1 argument, got {len(args)}')
            return lut_symbol(name)(args[0])
        if name not in _CALLABLE:
            known = sorted(set(_CALLABLE) | set(LUT_FUNCTIONS))
            raise self.fail(node, f'unknown operator {name!r}; known: {", ".join(known)}')
        op = get_operator(_CALLABLE[name])
        if len(args) != op.arity:
            raise self.fail(node, f'{name} takes {op.arity} argument(s), got {len(args)}')
        if op.name == 'pow_abs':
            if not args[1].is_number:
                raise self.fail(node, 'pow_abs needs a numeric exponent in firmware')
            return self.power(node, sympy.Abs(args[0]), args[1])
        if op.name in ('log', 'sqrt') and args[0].is_number:
            bad = args[0] <= 0 if op.name == 'log' else args[0] < 0
            if bad:
                raise self.fail(node, f'{name} of the constant {args[0]} is not a finite real number')
        return op.build(*args)


def parse_expression(text: str) -> sympy.Expr:
    """Parse PySR/sympy-syntax text into a sympy expression without running any code from it."""
    if not isinstance(text, str):
        raise ExpressionError(f'expected an expression string, got {type(text).__name__}')
    text = text.strip()
    if not text:
        raise ExpressionError('empty expression: give e.g. "2.1*x0*x1 + sin_lut(x2)"')
    if len(text) > MAX_TEXT:
        raise ExpressionError(f'expression is longer than {MAX_TEXT} characters')
    try:
        tree = ast.parse(text.replace('^', '**'), mode='eval')
    except SyntaxError as e:
        raise ExpressionError(f'malformed expression {text!r}: {e.msg} at column {e.offset}') from None
    except (ValueError, RecursionError, MemoryError) as e:
        raise ExpressionError(f'malformed expression {text!r}: {e}') from None
    try:
        expr = _Builder(text).build(tree)
    except RecursionError:
        raise ExpressionError(f'expression {text!r} is nested too deeply') from None
    if expr.has(sympy.I, sympy.zoo, sympy.oo, sympy.nan, -sympy.oo):
        raise ExpressionError(f'expression {text!r} is not a finite real number expression (log or sqrt of a negative?)')
    return expr


class _ExactPrinter(StrPrinter):
    def _print_Float(self, expr: sympy.Float) -> str:
        if expr._prec == 53:  # a double: repr round-trips exactly
            return repr(float(expr))
        return super()._print_Float(expr)


@dataclass(frozen=True)
class Expression:
    """One output expression: a sympy tree over variables ``x0, x1, ...`` and table operators."""

    sympy_expr: sympy.Expr

    @classmethod
    def parse(cls, text: str | sympy.Expr | Expression) -> Expression:
        if isinstance(text, Expression):
            return text
        if isinstance(text, sympy.Basic):
            return cls.from_sympy(text)
        return cls(parse_expression(text))

    @classmethod
    def from_sympy(cls, expr: sympy.Basic) -> Expression:
        """Validate a sympy object (e.g. from PySR's ``sympy()``) by re-reading its printed form."""
        return cls(parse_expression(_ExactPrinter().doprint(expr)))

    def __str__(self) -> str:
        return sympy.sstr(self.sympy_expr, full_prec=False)

    @property
    def text(self) -> str:
        """Printed form that parses back to this exact expression: every 53-bit constant printed as Python's
        shortest round-trip ``repr`` (sympy's own printer stops at 15 digits, which moves the last bits and,
        through the order of the terms, can change the firmware). What designs serialize and commands print."""
        return _ExactPrinter().doprint(self.sympy_expr)

    @cached_property
    def canonical(self) -> str:
        return sympy.srepr(self.sympy_expr)

    @property
    def variables(self) -> list[int]:
        return sorted(int(_VAR.match(s.name).group(1)) for s in self.sympy_expr.free_symbols)

    @property
    def n_inputs(self) -> int:
        v = self.variables
        return v[-1] + 1 if v else 0

    @property
    def lut_functions(self) -> set[str]:
        return {f.func.__name__ for f in self.sympy_expr.atoms(sympy.Function) if f.func.__name__ in LUT_FUNCTIONS}

    def digest(self) -> str:
        return hashlib.sha256(self.canonical.encode()).hexdigest()

    def evaluate(self, X: np.ndarray) -> np.ndarray:
        """Float64 reference value on rows of X (``*_lut`` functions as their exact math function)."""
        return evaluate_float(self.sympy_expr, np.asarray(X, dtype=np.float64))


def evaluate_float(expr: sympy.Expr, X: np.ndarray) -> np.ndarray:
    """Evaluate a validated sympy tree with numpy by walking it (no code generation, no eval)."""
    from .ir import walk_float

    with np.errstate(all='ignore'):
        out = walk_float(expr, X)
    return np.broadcast_to(np.asarray(out, dtype=np.float64), (X.shape[0],)).copy()
