"""What the search scores inside its loop: each candidate as firmware, without sympy.

An operon tree is rewritten straight into the cost model's postfix form (``costmodel.postfix.Postfix``) in the
canonical form sympy would give the exported expression (so that the constants the firmware holds are the
ones the final ``Expression`` holds): sums and products flattened, numbers folded into one addend and one
coefficient, like terms and like factors combined (``w1*x0 + w2*x0 -> (w1 + w2)*x0``, ``x*x -> x**2``), a
coefficient distributed over a sum factor, ``-`` and ``/`` as negation and inverse, odd functions pulling a
negative sign out, functions of constants folded. That postfix goes to the compiled fixed-point evaluator
(``costmodel.fxeval``: the loss is computed on what the firmware computes) and to the cost model
(``predict_postfix``). The rules cover what sympy does to operon's trees; where they miss one of its rewrites
the loop's numbers differ slightly from the exported expression's, so the final front is scored again from
the exported expressions (``sr_search.operon_engine``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from costmodel import dag
from costmodel.postfix import Postfix
from hls_gen.errors import ExpressionError, SrcostError
from hls_gen.ir import float_function
from hls_gen.precision import Precision

NAN = float('nan')
# canonical nodes (hashable tuples):
#   ('v', index) | ('c', value) | ('+', addend or nan, terms) | ('*', coefficient or nan, factors)
#   ('neg', x) | ('pow', n, x) (n >= 2) | ('inv', x) | ('f', op code, x)
_ODD = frozenset(dag.OP_CODE[n] for n in ('sin', 'tan', 'sinh', 'tanh'))
_EVEN = frozenset(dag.OP_CODE[n] for n in ('cos', 'cosh'))
_ABS = dag.ABS
_SQRT, _SQRT_ABS, _LOG_ABS = dag.OP_CODE['sqrt'], dag.OP_CODE['sqrt_abs'], dag.OP_CODE['log_abs']
MAX_CONSTANT = 1e4  # |constant| a math function may be applied to (no fixed-point type holds exp(1e4))


def const(v: float) -> tuple:
    v = float(v)
    if not math.isfinite(v):
        raise ExpressionError(f'a constant {v} is not finite')
    return ('c', v)


def _split_coeff(t: tuple) -> tuple[float, tuple | None]:
    """A term as (numeric coefficient, the rest); the rest is None for a number."""
    if t[0] == 'c':
        return t[1], None
    if t[0] == '*' and not math.isnan(t[1]):
        fs = t[2]
        return t[1], (fs[0] if len(fs) == 1 else ('*', NAN, fs))
    if t[0] == 'neg':
        c, rest = _split_coeff(t[1])
        return -c, rest
    return 1.0, t


def add(terms) -> tuple:
    addend = 0.0
    groups: dict[tuple, float] = {}
    for t in terms:
        stack = [t]
        while stack:
            u = stack.pop()
            if u[0] == '+':
                if not math.isnan(u[1]):
                    addend += u[1]
                stack.extend(reversed(u[2]))
                continue
            c, rest = _split_coeff(u)
            if rest is None:
                addend += c
            else:
                groups[rest] = groups.get(rest, 0.0) + c
    kids = [scale(rest, c) for rest, c in groups.items() if c != 0]
    if not kids:
        return const(addend)
    if len(kids) == 1 and addend == 0:
        return kids[0]
    return ('+', addend if addend != 0 else NAN, tuple(kids))


_ATOMS = frozenset(('v', 'f'))


def scale(t: tuple, c: float) -> tuple:
    """``mul([('c', c), t])``, written out where ``t`` is a variable, a function or a product of those (most terms
    a sum holds; tests/test_sr_firmware.py checks the two agree)."""
    if c == 1:
        return t
    kind = t[0]
    if c != 0 and math.isfinite(c) and (kind in _ATOMS or (kind == '*' and math.isnan(t[1]) and all(f[0] in _ATOMS for f in t[2]))):
        body = (t,) if kind in _ATOMS else t[2]
        if c == -1:
            return ('neg', body[0] if len(body) == 1 else t)
        return ('*', c, body)
    return mul([('c', c), t])


def _factors(t: tuple, power: int, out: dict, coeff: list) -> None:
    kind = t[0]
    if kind == 'c':
        if power < 0 and t[1] == 0:
            raise ExpressionError('division by zero')
        coeff[0] *= t[1] ** power
    elif kind == '*':
        if not math.isnan(t[1]):
            if power < 0 and t[1] == 0:
                raise ExpressionError('division by zero')
            coeff[0] *= t[1] ** power
        for f in t[2]:
            _factors(f, power, out, coeff)
    elif kind == 'neg':
        coeff[0] *= (-1.0) ** power
        _factors(t[1], power, out, coeff)
    elif kind == 'pow':
        _factors(t[2], power * t[1], out, coeff)
    elif kind == 'inv':
        _factors(t[1], -power, out, coeff)
    else:
        out[t] = out.get(t, 0) + power


def mul(factors, power: int = 1) -> tuple:
    coeff = [1.0]
    bases: dict[tuple, int] = {}
    for f in factors:
        _factors(f, power, bases, coeff)
    c = coeff[0]
    if not math.isfinite(c):
        raise ExpressionError('a coefficient overflows')
    if c == 0:
        return const(0.0)
    fs = []
    for b, n in bases.items():
        if n == 0:
            continue
        p = b if n == 1 else ('pow', n, b) if n > 1 else ('inv', b if n == -1 else ('pow', -n, b))
        fs.append(p)
    if not fs:
        return const(c)
    if c != 1:
        for i, f in enumerate(fs):
            if f[0] == '+':  # sympy distributes a number over a sum factor
                fs[i] = add([scale(t, c) for t in f[2]] + ([('c', f[1] * c)] if not math.isnan(f[1]) else []))
                c = 1.0
                break
        if len(fs) == 1 and c == 1:
            return fs[0]
    if len(fs) == 1:
        return fs[0] if c == 1 else ('neg', fs[0]) if c == -1 else ('*', c, (fs[0],))
    body = tuple(fs)
    if c == 1:
        return ('*', NAN, body)
    if c == -1:
        return ('neg', ('*', NAN, body))
    return ('*', c, body)


def neg(t: tuple) -> tuple:
    return mul([('c', -1.0), t])


def _negative(t: tuple) -> bool:
    return t[0] == 'neg' or (t[0] == '*' and not math.isnan(t[1]) and t[1] < 0) or (t[0] == 'c' and t[1] < 0)


def func(code: int, arg: tuple, is_lut: bool, param: float = NAN) -> tuple:
    if arg[0] == 'c' and not is_lut:
        x = arg[1]
        if abs(x) > MAX_CONSTANT:
            raise ExpressionError(f'{dag.OPS[code]} of the constant {x:g} is out of any fixed-point range')
        with np.errstate(all='ignore'):
            v = float(float_function(dag.OPS[code])(np.array([x]))[0])
        return const(v)
    if not is_lut:
        if code in _ODD and _negative(arg):
            return neg(('f', code, neg(arg)))
        if code in _EVEN and _negative(arg):
            arg = neg(arg)
        if code in (_ABS, _SQRT_ABS, _LOG_ABS, _SQRT):
            c, rest = _split_coeff(arg)
            if rest is not None and c != 1 and (c > 0 or code != _SQRT):
                # sympy takes a number out of abs (|c*x| = |c|*|x|) and out of a square root (sqrt(c*x) = sqrt(c)*sqrt(x), c > 0)
                if code == _ABS:
                    return scale(('f', code, rest), abs(c))
                if code in (_SQRT, _SQRT_ABS):
                    return scale(('f', code, rest), math.sqrt(abs(c)))
                return ('f', code, scale(rest, abs(c)))  # log|c*x| keeps c inside, sign dropped
            if code in (_ABS, _SQRT_ABS, _LOG_ABS) and _negative(arg):
                arg = neg(arg)
    return ('f', code, arg)


def emit(t: tuple, op: list, param: list, cst: list, nk: list, casts=None) -> None:
    """Append the postfix nodes of ``t``; with ``casts`` (``constant_casts``), constants as the firmware holds them."""
    kind = t[0]
    if kind == 'v':
        op.append(dag.VAR), param.append(float(t[1])), cst.append(NAN), nk.append(0)
    elif kind == 'c':
        op.append(dag.CONST), param.append(casts[0](t[1]) if casts else t[1]), cst.append(NAN), nk.append(0)
    elif kind in ('+', '*'):
        for u in t[2]:
            emit(u, op, param, cst, nk, casts)
        c = t[1]
        if casts and c == c:
            c = casts[0](c) if kind == '+' else casts[1](c)
        op.append(dag.ADD if kind == '+' else dag.MUL), param.append(NAN), cst.append(c), nk.append(len(t[2]))
    elif kind == 'neg':
        emit(t[1], op, param, cst, nk, casts)
        op.append(dag.NEG), param.append(NAN), cst.append(NAN), nk.append(1)
    elif kind == 'pow':
        emit(t[2], op, param, cst, nk, casts)
        n = t[1]
        code = dag.SQUARE if n == 2 else dag.CUBE if n == 3 else dag.POW_INT
        op.append(code), param.append(float(n) if code == dag.POW_INT else NAN), cst.append(NAN), nk.append(1)
    elif kind == 'inv':
        emit(t[1], op, param, cst, nk, casts)
        op.append(dag.INV), param.append(NAN), cst.append(NAN), nk.append(1)
    else:
        emit(t[2], op, param, cst, nk, casts)
        op.append(t[1]), param.append(NAN), cst.append(NAN), nk.append(1)


def constant_casts(precision: Precision):
    """How the firmware at ``precision`` holds a tree's constants, as hls4ml casts them (and ``costmodel.fxeval``
    and the cost model's features read them): (a constant node or a sum's addend: cast to the precision; a
    product's coefficient: its sign times its magnitude cast)."""
    q = precision.quantize_one
    return q, lambda c: math.copysign(q(abs(c)), c)


def to_postfix(trees: list[tuple], precision: Precision | None = None) -> Postfix:
    """The postfix batch of canonical trees; with ``precision``, each constant as that precision's firmware holds it
    (see ``as_firmware``)."""
    op: list[int] = []
    param: list[float] = []
    cst: list[float] = []
    nk: list[int] = []
    offsets = [0]
    casts = constant_casts(precision) if precision is not None else None
    for t in trees:
        emit(t, op, param, cst, nk, casts)
        offsets.append(len(op))
    return Postfix(np.array(op, np.int64), np.array(param), np.array(cst), np.array(nk, np.int64), np.array(offsets))


def count_nodes(t: tuple) -> int:
    """``hls_gen.ir.count_nodes`` of the canonical tree (a number of ``+``/``*`` counts as a leaf)."""
    kind = t[0]
    if kind in ('v', 'c'):
        return 1
    if kind in ('+', '*'):
        return 1 + (0 if math.isnan(t[1]) else 1) + sum(count_nodes(u) for u in t[2])
    if kind in ('neg', 'inv'):
        return 1 + count_nodes(t[1])
    return 1 + count_nodes(t[2])


class TreeConverter:
    """operon trees -> canonical trees. ``variable_index`` maps a variable node's hash to its column; ``names``
    maps operon node names to srcost operator names (``sr_search.operon_engine._OPERON_NAME``) and ``lut`` a
    math function to the LUT function to emit instead (``{'sin': 'sin_lut'}``)."""

    def __init__(self, variable_index: Mapping[int, int], names: Mapping[str, str], lut: Mapping[str, str] | None = None):
        self.var = dict(variable_index)
        self.codes: dict[str, tuple[int, bool]] = {}
        lut = dict(lut or {})
        for oname, sname in names.items():
            if sname in ('+', '-', '*', '/', 'square'):
                continue
            target = lut.get(sname, sname)
            self.codes[oname] = (dag.OP_CODE[target], target in lut.values())

    def convert(self, nodes) -> tuple:
        """The canonical tree of an operon tree's ``Nodes`` (postfix: a node's first child just before it)."""
        n = len(nodes)
        if not n:
            raise ExpressionError('malformed operon tree: no nodes')
        info = [(nd.Name, nd.Value, nd.HashValue, nd.Arity, nd.Length) for nd in nodes]
        return self._build(info, n - 1)

    def _build(self, info, i: int) -> tuple:
        name, value, h, arity, _length = info[i]
        if name == 'constant':
            return const(value)
        if name == 'variable':
            try:
                v = ('v', self.var[h])
            except KeyError:
                raise ExpressionError(f'tree uses a variable (hash {h}) that is not an input') from None
            return v if value == 1.0 else mul([const(value), v])
        args = []
        j = i - 1
        for _ in range(arity):
            if j < 0:
                raise ExpressionError(f'malformed operon tree: {name} needs {arity} arguments')
            args.append(self._build(info, j))
            j -= info[j][4] + 1
        if name == '+':
            return add(args)
        if name == '*':
            return mul(args)
        if name == '-':
            return add([args[0], neg(args[1])]) if arity == 2 else neg(args[0])
        if name == '/':
            return mul([args[0], ('inv', args[1])]) if arity == 2 else mul([('inv', args[0])])
        if name == 'square':
            return mul([args[0], args[0]])
        hit = self.codes.get(name)
        if hit is None or arity != 1:
            raise ExpressionError(f'operon node {name!r} with {arity} arguments has no srcost operator')
        return func(hit[0], args[0], hit[1])


class DataRangeError(SrcostError, ValueError):
    """The data does not fit the precision the firmware would read it in."""


def check_range(X: np.ndarray, precision: str | Precision, names=None) -> None:
    """Raise ``DataRangeError`` naming the first column whose values the precision cannot hold (the firmware's
    inputs would wrap or saturate: its loss would say nothing about the data)."""
    p = Precision.parse(precision)
    X = np.asarray(X, dtype=np.float64)
    lo, hi = X.min(axis=0), X.max(axis=0)
    for j in range(X.shape[1]):
        if lo[j] < p.min_value or hi[j] > p.max_value + p.step:
            name = names[j] if names is not None else f'x{j}'
            raise DataRangeError(
                f'column {name} ranges over [{lo[j]:.6g}, {hi[j]:.6g}] but {p} holds [{p.min_value:g}, {p.max_value:g}]: '
                'scale the data or give the precision more integer bits')


_TEXT = {'log_abs': 'log(Abs({}))', 'sqrt_abs': 'sqrt(Abs({}))', 'abs': 'Abs({})'}


def to_text(t: tuple) -> str:
    """PySR/sympy-syntax text of a canonical tree (constants exact), for ``hls_gen.Expression.parse``."""
    kind = t[0]
    if kind == 'v':
        return f'x{t[1]}'
    if kind == 'c':
        return f'({t[1]!r})'
    if kind == '+':
        parts = [to_text(u) for u in t[2]] + ([repr(t[1])] if not math.isnan(t[1]) else [])
        return '(' + ' + '.join(parts) + ')'
    if kind == '*':
        parts = ([f'({t[1]!r})'] if not math.isnan(t[1]) else []) + [to_text(u) for u in t[2]]
        return '(' + '*'.join(parts) + ')'
    if kind == 'neg':
        return f'(-{to_text(t[1])})'
    if kind == 'pow':
        return f'({to_text(t[2])})**{t[1]}'
    if kind == 'inv':
        return f'(1/{to_text(t[1])})'
    name = dag.OPS[t[1]]
    return _TEXT.get(name, name + '({})').format(to_text(t[2]))


def as_firmware(batch: Postfix, precision: Precision) -> Postfix:
    """A ``Postfix`` batch with every constant as the firmware at ``precision`` holds it (``constant_casts``). The
    evaluator computes the same bits on either batch (casting twice is casting once); the cost model, whose
    structural features compare constants as written, sees the design the synthesis would see. Two candidates
    whose constants differ by less than a step of the precision (operon's local optimization makes them all the
    time) become one batch, so a search scores them once (``design_key``)."""
    plain, coefficient = constant_casts(precision)
    param, cst = batch.param.copy(), batch.const.copy()
    for j, code in enumerate(batch.op.tolist()):
        if code == dag.CONST:
            param[j] = plain(param[j])
        c = cst[j]
        if c == c and code in (dag.ADD, dag.MUL):
            cst[j] = plain(c) if code == dag.ADD else coefficient(c)
    return Postfix(batch.op, param, cst, batch.nkids, batch.offsets)


def design_key(batch: Postfix) -> bytes:
    """The bytes of a batch (``as_firmware``'s output): equal keys, equal designs."""
    return b''.join((batch.op.tobytes(), batch.nkids.tobytes(), batch.param.tobytes(), batch.const.tobytes()))


def csd_round(v: float, digits: int) -> float:
    """``v`` to at most ``digits`` signed powers of two (greedy: the nearest power of two of what is left, each
    time), the form in which a constant multiplier is fewest shift-adds."""
    r, rest = 0.0, float(v)
    for _ in range(int(digits)):
        if rest == 0.0 or not math.isfinite(rest):
            break
        r += math.copysign(2.0 ** round(math.log2(abs(rest))), rest)
        rest = v - r
    return r


def map_constants(t: tuple, f) -> tuple:
    """``t`` with every constant ``c`` (numbers, addends, coefficients; not exponents) replaced by ``f(c)``, in
    canonical form again (a coefficient that becomes 1 or 0 folds away)."""
    kind = t[0]
    if kind == 'v':
        return t
    if kind == 'c':
        return const(f(t[1]))
    if kind == '+':
        terms = [map_constants(u, f) for u in t[2]]
        return add(terms + ([] if math.isnan(t[1]) else [const(f(t[1]))]))
    if kind == '*':
        factors = [map_constants(u, f) for u in t[2]]
        return mul(([] if math.isnan(t[1]) else [const(f(t[1]))]) + factors)
    if kind == 'neg':
        return neg(map_constants(t[1], f))
    if kind == 'pow':
        return mul([map_constants(t[2], f)], t[1])
    if kind == 'inv':
        return mul([map_constants(t[1], f)], -1)
    return func(t[1], map_constants(t[2], f), t[1] in dag.LUT_CODES)


def scaled(t: tuple, a: float, b: float) -> tuple:
    """``a*t + b`` in canonical form (operon's linear scaling made explicit, as the exported expression has it)."""
    out = t if a == 1.0 else mul([const(a), t])
    return out if b == 0.0 else add([out, const(b)])


__all__ = ['DataRangeError', 'TreeConverter', 'check_range', 'add', 'as_firmware', 'constant_casts', 'count_nodes', 'csd_round',
           'design_key', 'func', 'map_constants', 'mul', 'neg', 'scaled', 'to_postfix', 'to_text']
