"""Rebuild a sympy tree exactly from its ``srepr`` text, without evaluating any code.

A design's printed text does not always parse back to the same tree (``0.5*(a + b)/c`` prints as
``0.5*(a + b)/c`` but re-parses as ``(0.5*a + 0.5*b)/c``, which is other hardware), so training sets keep
``Design.to_dict()['outputs_srepr']`` and read it back here: the text is walked with ``ast`` and only the
constructors below are called. A canonical sympy tree rebuilt bottom-up from its own nodes is the same
tree (nothing is left to combine or distribute); ``from_srepr`` checks that and raises otherwise.
"""

from __future__ import annotations

import ast

import sympy

from hls_gen import Expression, ExpressionError
from hls_gen.operators import LUT_FUNCTIONS

_OPS = {'Add': sympy.Add, 'Mul': sympy.Mul, 'Pow': sympy.Pow}
_FUNCS = {'Abs': sympy.Abs, 'log': sympy.log, 'exp': sympy.exp, 'sin': sympy.sin, 'cos': sympy.cos, 'tan': sympy.tan,
          'sinh': sympy.sinh, 'cosh': sympy.cosh, 'tanh': sympy.tanh}
_SINGLETONS = {'Half': sympy.S.Half, 'One': sympy.S.One, 'Zero': sympy.S.Zero, 'NegativeOne': sympy.S.NegativeOne,
               'Pi': sympy.pi, 'Exp1': sympy.E}
_SYMBOL_FLAGS = ('real', 'positive', 'integer', 'nonnegative')


def _walk(node: ast.AST):
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str, bool)):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
        return -node.operand.value
    if not isinstance(node, ast.Call):
        raise ExpressionError(f'unexpected {type(node).__name__} in a srepr')
    if isinstance(node.func, ast.Call):  # Function('sin_lut')(x)
        fn = _walk(node.func)
        return fn(*[_walk(a) for a in node.args])
    if not isinstance(node.func, ast.Name):
        raise ExpressionError('unexpected call in a srepr')
    name = node.func.id
    args = [_walk(a) for a in node.args]
    kw = {k.arg: _walk(k.value) for k in node.keywords}
    if name in _OPS:
        return _OPS[name](*args)
    if name in _FUNCS:
        return _FUNCS[name](*args)
    if name == 'Symbol':
        if not (isinstance(args[0], str) and args[0][:1] == 'x' and args[0][1:].isdigit()):
            raise ExpressionError(f'unexpected symbol {args[0]!r}')
        return sympy.Symbol(args[0], **{k: bool(v) for k, v in kw.items() if k in _SYMBOL_FLAGS})
    if name == 'Integer':
        return sympy.Integer(int(args[0]))
    if name == 'Float':
        return sympy.Float(str(args[0]), precision=int(kw.get('precision', 53)))
    if name == 'Rational':
        return sympy.Rational(int(args[0]), int(args[1]))
    if name in _SINGLETONS and not args:
        return _SINGLETONS[name]
    if name == 'Function' and len(args) == 1 and args[0] in LUT_FUNCTIONS:
        return sympy.Function(args[0])
    raise ExpressionError(f'unexpected constructor {name!r} in a srepr')


def from_srepr(text: str) -> Expression:
    """The ``Expression`` whose ``canonical`` (srepr) is ``text``, rebuilt node for node."""
    try:
        tree = ast.parse(text, mode='eval').body
    except SyntaxError as e:
        raise ExpressionError(f'malformed srepr: {e.msg}') from None
    out = Expression(_walk(tree))
    if out.canonical != text:
        raise ExpressionError('the srepr did not rebuild to the same tree')
    return out


__all__ = ['from_srepr']
