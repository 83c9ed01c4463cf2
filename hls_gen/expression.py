"""Expressions: parsed from PySR/sympy-syntax text without evaluating Python.

The text is parsed with Python's ``ast`` module and the tree is walked with a whitelist: numbers,
variables ``x0, x1, ...``, ``+ - * / **``, unary minus and calls of operators in the operator table.
Nothing in the text is ever executed (no ``eval``, no ``sympy.parse_expr``).
"""

from __future__ import annotations

import ast
import hashlib
import re
import warnings
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import sympy
from sympy.printing.str import StrPrinter

from .errors import ExpressionError
from .ir import constant_value
from .operators import LUT_FUNCTIONS, OPERATORS, get_operator
from .precision import MAX_MAGNITUDE, MAX_WIDTH

MAX_NODES = 2000  # syntax nodes of one expression's text (docs/limits.md)
MAX_INT_POWER = 16  # largest |n| of x**n: a power is a chain of multipliers
MAX_TEXT = 20_000  # characters of one expression's text
# Every constant, written or computed from constants (exp(40)), must be below MAX_MAGNITUDE (2**64): the widest
# fixed-point type holds no more. Larger ones are refused before anything is built on them.
MAX_CONSTANT = MAX_MAGNITUDE
# Inputs x0 .. x255 of a design. The open backend's run grows steeply with the ports (one design of 256 inputs:
# about 4 minutes and 1.6 GB in Yosys and Verilator; 4,096 inputs: Yosys fails), and SR designs use a handful
# (the jet-tagging task: 16). docs/limits.md.
MAX_INPUTS = 256
_VAR = re.compile(r'^x(0|[1-9]\d{0,9})$')
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


_CHAINED = (ast.Add, ast.Sub, ast.Mult, ast.Div)
_SMALLEST_NORMAL = float(np.finfo(np.float64).tiny)  # 2**-1022


def _underflows(number: sympy.Expr, value: float) -> bool:
    """A non-zero number below the smallest normal double: it does not print and parse back exactly (sympy keeps
    1e-400 as a Float of its own exponent; float64 holds 0.0, or a subnormal with fewer bits)."""
    return abs(value) < _SMALLEST_NORMAL and not number.is_zero


class _Builder:
    def __init__(self, text: str, source: str):
        self.text = text
        self.source = source  # what ast parsed (^ written as **)
        self.count = 0
        self.values: dict = {}  # constant subtree -> float value (ir.constant_value's memo)

    def fail(self, node: ast.AST | None, why: str) -> ExpressionError:
        where = f' at column {node.col_offset + 1}' if node is not None and hasattr(node, 'col_offset') else ''
        return ExpressionError(f'{why}{where} in {self.text!r}')

    def build(self, node: ast.AST) -> sympy.Expr:
        expr = self._build(node)
        self.check_constants(node, expr)
        self.check_powers(node, expr)
        return expr

    def check_powers(self, node: ast.AST, expr: sympy.Expr) -> None:
        """Refuse integer powers beyond MAX_INT_POWER that sympy made by folding: ``x0*x0*...`` is ``x0**n``,
        ``(x0**16)**16`` is ``x0**256``."""
        for e in (expr, *(expr.args if expr.is_Mul else ())):
            if e.is_Pow and e.exp.is_Integer and abs(int(e.exp)) > MAX_INT_POWER:
                raise self.fail(node, f'integer power {e.exp} (sympy folds repeated factors and powers of powers) '
                                      f'is larger than {MAX_INT_POWER}')

    def check_constants(self, node: ast.AST, expr: sympy.Expr) -> None:
        """Refuse a constant no fixed-point type can hold: ``expr`` itself when it is constant, else the constant
        arguments sympy made by folding (``1e18*x0*1e18`` is ``1e36*x0``). Called on every node as it is built, so
        no operator is ever applied to an out-of-range constant (sympy evaluates ``f(constant)`` eagerly)."""
        value = constant_value(expr, self.values)
        if value is not None:
            if not abs(value) < MAX_CONSTANT or (expr.is_Number and _underflows(expr, value)):
                raise self.fail(node, self.out_of_range(ast.get_source_segment(self.source, node) or str(expr), value))
            return
        if expr.is_Add or expr.is_Mul:
            for a in expr.args:
                v = constant_value(a, self.values)
                if v is not None and (not abs(v) < MAX_CONSTANT or (a.is_Number and _underflows(a, v))):
                    raise self.fail(node, self.out_of_range(f'{v:.6g}' if a.is_Number else str(a), v))

    @staticmethod
    def out_of_range(what: str, value: float) -> str:
        what = what if len(what) <= 60 else what[:57] + '...'
        if np.isnan(value):
            return f'the constant {what} is not a finite real number'
        if abs(value) < _SMALLEST_NORMAL:
            return f'the constant {what} is below 2**-1022, where doubles lose their precision: write 0'
        size = f'is {value}' if np.isinf(value) else '' if what == f'{value:.6g}' else f'is {value:.3g}'
        return (f'the constant {what}{" " + size if size else ""}: no fixed-point type holds it '
                f'(constants must be below 2**{MAX_WIDTH} in magnitude)')

    def _build(self, node: ast.AST) -> sympy.Expr:
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
                if int(node.id[1:]) >= MAX_INPUTS:
                    raise self.fail(node, f'input {node.id} is out of range (a design takes x0 ... x{MAX_INPUTS - 1})')
                return sympy.Symbol(node.id, real=True)  # == variable(i)
            if node.id in _CONSTANTS:
                return _CONSTANTS[node.id]
            raise self.fail(node, f'unknown name {node.id[:40]!r}: variables are x0, x1, ... (no leading zeros)')
        if isinstance(node, ast.UnaryOp):
            arg = self.build(node.operand)
            if isinstance(node.op, ast.USub):
                return -arg
            if isinstance(node.op, ast.UAdd):
                return arg
            raise self.fail(node, f'unsupported unary operator {type(node.op).__name__}')
        if isinstance(node, ast.BinOp) and isinstance(node.op, _CHAINED):
            return self.chain(node)
        if isinstance(node, ast.BinOp):
            left, right = self.build(node.left), self.build(node.right)
            if isinstance(node.op, ast.Pow):
                return self.power(node, left, right)
            raise self.fail(node, f'unsupported operator {type(node.op).__name__}; use + - * / **')
        if isinstance(node, ast.Call):
            return self.call(node)
        raise self.fail(node, f'unsupported syntax {type(node).__name__}')

    def chain(self, node: ast.BinOp) -> sympy.Expr:
        """``a + b - c * d ...``: Python's parser nests a chain of + - * / to the left, one level per operator, so
        a sum of 600 terms would be 600 levels of recursion. The chain is walked down its left side in a loop."""
        links = []
        while isinstance(node, ast.BinOp) and isinstance(node.op, _CHAINED):
            links.append(node)
            node = node.left
        acc = self.build(node)
        for i, link in enumerate(reversed(links)):
            if i < len(links) - 1:  # the outermost link was counted (and is checked) by build()
                self.count += 1
                if self.count > MAX_NODES:
                    raise self.fail(None, f'expression has more than {MAX_NODES} nodes')
            right = self.build(link.right)
            if isinstance(link.op, ast.Add):
                acc = acc + right
            elif isinstance(link.op, ast.Sub):
                acc = acc - right
            elif isinstance(link.op, ast.Mult):
                acc = acc * right
            else:
                if right.is_zero:
                    raise self.fail(link, 'division by zero')
                acc = acc / right
            self.check_constants(link, acc)
            self.check_powers(link, acc)
        return acc

    def power(self, node: ast.AST, base: sympy.Expr, exp: sympy.Expr) -> sympy.Expr:
        if not exp.is_number:
            raise self.fail(node, 'the exponent of ** must be a number (use pow_abs(x, y) for |x|**y)')
        if exp.is_integer:
            if abs(int(exp)) > MAX_INT_POWER:
                raise self.fail(node, f'integer power {exp} is larger than {MAX_INT_POWER}')
            if base.is_zero and exp < 0:
                raise self.fail(node, 'division by zero')
            return base**exp
        if exp == sympy.Rational(1, 2) or exp == 0.5:
            return sympy.sqrt(base)
        if exp == sympy.Rational(-1, 2) or exp == -0.5:
            return 1 / sympy.sqrt(base)
        if isinstance(base, sympy.Abs):  # printed form of pow_abs; a Rational stays exact (sqrt(sqrt(|x|)) prints
            return base ** (exp if exp.is_Rational else sympy.Float(exp))  # as Abs(x)**(1/4) and must read back so)
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
    source = text.replace('^', '**')
    try:
        with warnings.catch_warnings():  # SyntaxWarning ("invalid decimal literal") would print lines of its own
            warnings.simplefilter('ignore')
            tree = ast.parse(source, mode='eval')
    except SyntaxError as e:
        raise ExpressionError(f'malformed expression {text!r}: {e.msg} at column {e.offset}') from None
    except (ValueError, RecursionError, MemoryError) as e:
        raise ExpressionError(f'malformed expression {text!r}: {e}') from None
    try:
        expr = _Builder(text, source).build(tree)
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
