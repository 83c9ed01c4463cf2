"""Expressions as an interned DAG: every distinct subtree (by sympy structure) gets one integer id.

``NodeTable.intern(sympy_expr)`` reads a validated sympy tree the way ``hls_gen.ir.decompose`` names it
(``+``, ``*``, ``neg``, ``square``, ``sin_lut``...) and returns the id of its root. Children always have
smaller ids than their parents, so arrays over ids can be filled in one forward pass. Two occurrences of
the same subexpression, in one output or across outputs and designs, get the same id: that is how the
cost model sees shared subexpressions (the open backend's tracer memoizes on sympy equality too).

Numeric arguments of ``+`` and ``*`` are not children: they are kept as the node's ``const`` (sympy
folds them into at most one leading number), which is where constant adders and constant multipliers
(shift-adds) come from. ``decompose`` is the reference: nodes it does not recognise go through it.

Interning is the only part of feature extraction that walks sympy objects, so it is written for speed:
a cache keyed by object identity (holding a reference, so an id is never reused while cached) skips
subtrees already seen, which in a search loop is most of them.
"""

from __future__ import annotations

import math

import numpy as np
import sympy
from mpmath.libmp import to_float

from hls_gen.errors import ExpressionError
from hls_gen.ir import decompose
from hls_gen.operators import LUT_FUNCTIONS

from .layout import ABS, ADD, CONST, CUBE, FUNC_CODES, INV, LUT_CODES, MUL, NEG, OP_CODE, OPS, POW_ABS, POW_INT, SQUARE, VAR, Nodes

# The node vocabulary (``OPS``, ``OP_CODE`` and the codes) is ``costmodel.layout``'s, shared with the kernels.

_FUNC_BY_CLASS = {'exp', 'sin', 'cos', 'tan', 'sinh', 'cosh', 'tanh'}
_HALF = sympy.Rational(1, 2)
NAN = float('nan')


def _number(e: sympy.Basic) -> float:
    """``float(e)`` of a sympy number, without sympy's conversion machinery for the common kinds (10x faster,
    the same value): a Float of at most double precision converts its mantissa as ``Float.__float__`` does
    after a normalisation that leaves it unchanged; an Integer converts its int."""
    if e.is_Float and e._prec <= 53:
        return to_float(e._mpf_)
    if e.is_Integer:
        return float(e.p)
    return float(e)


class NodeTable:
    """Interned expression nodes. Columns are plain lists indexed by node id:

    ``op`` (code in ``OPS``), ``param`` (variable index, constant value, integer power, pow_abs exponent;
    NaN when unused), ``const`` (the numeric addend of ``+`` / coefficient of ``*``; NaN when none),
    ``children`` (tuple of ids, in sympy argument order), ``height`` (1 for a leaf) and ``size``
    (``hls_gen.ir.count_nodes`` of the subtree, i.e. counted as a tree, without sharing).
    """

    def __init__(self, max_nodes: int = 2_000_000):
        self.max_nodes = max_nodes
        self.clear()

    def clear(self) -> None:
        self._by_key: dict[tuple, int] = {}
        # by object identity: the id of the node, and the object itself (held so that its id() is not reused);
        # two dicts rather than one of (object, id) pairs, which would be one more object for the garbage
        # collector to track per subtree
        self._by_obj: dict[int, int] = {}
        self._objs: dict[int, object] = {}
        self.op: list[int] = []
        self.param: list[float] = []
        self.const: list[float] = []
        self.children: list[tuple[int, ...]] = []
        self.height: list[int] = []
        self.size: list[int] = []
        self._has_var: list[bool] = []  # the subtree holds a variable (so sympy's is_number is False)
        self.desc = _Descendants(self.children)  # desc[sid]: ids of the subtree's distinct nodes, itself included
        self.generation = getattr(self, 'generation', -1) + 1
        self._arrays: NodeArrays | None = None

    def __len__(self) -> int:
        return len(self.op)

    def trim(self) -> bool:
        """Start afresh when the table holds more than ``max_nodes`` nodes (call between batches, never while
        ids of the current batch are in use). True when it did."""
        if len(self.op) > self.max_nodes:
            self.clear()
            return True
        return False

    # -- interning ------------------------------------------------------------------------------------
    def _node(self, op: int, param: float, const: float, children: tuple[int, ...], extra_size: int = 0) -> int:
        key = (op, param, const, children)
        sid = self._by_key.get(key)
        if sid is not None:
            return sid
        sid = len(self.op)
        self._by_key[key] = sid
        self.op.append(op)
        self.param.append(param)
        self.const.append(const)
        self.children.append(children)
        height, size, has_var = self.height, self.size, self._has_var
        h, n, v = 0, 1 + extra_size, op == VAR
        for c in children:  # (a loop: faster than max() and sum() of generators for a few children)
            if height[c] > h:
                h = height[c]
            n += size[c]
            v = v or has_var[c]
        height.append(h + 1)
        size.append(n)
        has_var.append(v)
        return sid

    def _all_const(self, kids: tuple[int, ...]) -> bool:
        op = self.op
        for k in kids:
            if op[k] != CONST:
                return False
        return True

    def intern(self, e: sympy.Basic) -> int:
        """The id of ``e`` (a validated sympy tree), interning every new subtree."""
        key = id(e)
        if self._objs.get(key) is e:
            return self._by_obj[key]
        sid = self._intern(e)
        self._by_obj[key] = sid
        self._objs[key] = e
        return sid

    def _const_node(self, value: float) -> int:
        return self._node(CONST, value, NAN, ())

    def _intern(self, e: sympy.Basic) -> int:
        if e.is_Symbol:
            return self._node(VAR, float(int(e.name[1:])), NAN, ())
        if e.is_Number or e.is_NumberSymbol:
            return self._const_node(_number(e))
        if e.is_Add:
            args = e.args
            const = NAN
            if args[0].is_Number:
                const, args = _number(args[0]), args[1:]
            kids = tuple([self.intern(a) for a in args])
            if self._all_const(kids):
                return self._const_node(float(e))
            # count_nodes counts the number as a leaf child
            return self._node(ADD, NAN, const, kids, 0 if math.isnan(const) else 1)
        if e.is_Mul:
            args = e.args
            if args[0] is sympy.S.NegativeOne:
                rest = args[1:]
                if len(rest) == 1:
                    kid = self.intern(rest[0])
                else:
                    kids = tuple([self.intern(a) for a in rest])
                    if self._all_const(kids):
                        return self._const_node(float(e))
                    kid = self._node(MUL, NAN, NAN, kids)
                if self.op[kid] == CONST:
                    return self._const_node(float(e))
                return self._node(NEG, NAN, NAN, (kid,))
            const = NAN
            if args[0].is_Number:
                const, args = _number(args[0]), args[1:]
            kids = tuple([self.intern(a) for a in args])
            if self._all_const(kids):
                return self._const_node(float(e))
            return self._node(MUL, NAN, const, kids, 0 if math.isnan(const) else 1)
        if e.is_Pow:
            base, exp = e.args
            if exp.is_Integer:
                n = int(exp)
                b = self.intern(base)
                if self.op[b] == CONST:
                    return self._const_node(float(e))
                if n == -1:
                    return self._node(INV, NAN, NAN, (b,))
                if n < -1:
                    return self._node(INV, NAN, NAN, (self._power(b, -n),))
                return self._power(b, n)
            if exp == _HALF and not isinstance(base, sympy.Abs):
                b = self.intern(base)
                if self.op[b] == CONST:
                    return self._const_node(float(e))
                return self._node(OP_CODE['sqrt'], NAN, NAN, (b,))
        name = type(e).__name__
        if name in _FUNC_BY_CLASS or name in LUT_FUNCTIONS:
            b = self.intern(e.args[0])
            if self.op[b] == CONST and name in _FUNC_BY_CLASS:  # a table of a constant stays a table
                return self._const_node(float(e))
            return self._node(OP_CODE[name], NAN, NAN, (b,))
        return self._slow(e)

    def _power(self, b: int, n: int) -> int:
        if n == 2:
            return self._node(SQUARE, NAN, NAN, (b,))
        if n == 3:
            return self._node(CUBE, NAN, NAN, (b,))
        return self._node(POW_INT, float(n), NAN, (b,))

    def _slow(self, e: sympy.Basic) -> int:
        """Everything else, named by ``decompose`` (abs, log, log_abs, sqrt_abs, pow_abs). ``decompose`` first
        asks sympy whether the node is a number, which walks the whole subtree each time; so the node is named
        without that test first, and that name stands where an argument holds a variable (then it is no
        number)."""
        try:
            n = decompose(e, number_test=False)
        except ExpressionError:  # a form only a constant may take: the full test below decides
            n = None
        if n is not None:
            kids = tuple([self.intern(a) for a in n.args])
            if any(self._has_var[k] for k in kids):
                return self._node(OP_CODE[n.op], float(n.value) if n.value is not None else NAN, NAN, kids)
        n = decompose(e)
        if n.op == 'const':
            return self._const_node(float(n.value))
        kids = tuple([self.intern(a) for a in n.args])
        if self._all_const(kids):
            try:
                return self._const_node(float(e))
            except TypeError:
                pass
        param = float(n.value) if n.value is not None else NAN
        return self._node(OP_CODE[n.op], param, NAN, kids)

    def arrays(self) -> NodeArrays:
        """The columns as numpy arrays (children in CSR form), brought up to date with the lists."""
        a = self._arrays
        if a is None:
            a = self._arrays = NodeArrays()
        if a.n < len(self.op):
            a.extend(self)
        return a

    # -- views ----------------------------------------------------------------------------------------
    def op_name(self, sid: int) -> str:
        return OPS[self.op[sid]]

    def to_text(self, sid: int) -> str:
        """A readable form of a node (for debugging and error messages)."""
        op, kids, c = self.op[sid], self.children[sid], self.const[sid]
        if op == VAR:
            return f'x{int(self.param[sid])}'
        if op == CONST:
            return repr(self.param[sid])
        parts = [self.to_text(k) for k in kids]
        if op in (ADD, MUL):
            if not math.isnan(c):
                parts.insert(0, repr(c))
            return '(' + (' + ' if op == ADD else '*').join(parts) + ')'
        if op == POW_INT:
            return f'{parts[0]}**{int(self.param[sid])}'
        return f'{OPS[op]}({", ".join(parts)})'


class _Descendants:
    """``desc[sid]``: the frozenset of a subtree's distinct node ids, made when first asked (only the Python
    reference walks need them; building one per interned node cost more than the rest of interning)."""

    __slots__ = ('children', 'memo')

    def __init__(self, children: list[tuple[int, ...]]):
        self.children = children
        self.memo: dict[int, frozenset[int]] = {}

    def __getitem__(self, sid: int) -> frozenset[int]:
        hit = self.memo.get(sid)
        if hit is None:
            kids = self.children[sid]
            if not kids:
                hit = frozenset((sid,))
            elif len(kids) == 1:
                hit = self[kids[0]] | {sid}
            else:
                hit = frozenset().union(*(self[c] for c in kids)) | {sid}
            self.memo[sid] = hit
        return hit


def grown(a: np.ndarray, n: int, fill: float = 0) -> np.ndarray:
    """``a`` with at least ``n`` rows: the same array when it has them, else a copy padded with ``fill``."""
    if len(a) >= n:
        return a
    # np.zeros gets pages the kernel zeroes when first touched: np.full would write all of them now
    new = np.zeros((n, *a.shape[1:]), a.dtype) if fill == 0 else np.empty((n, *a.shape[1:]), a.dtype)
    new[: len(a)] = a
    if fill != 0:
        new[len(a) :] = fill
    return new


class NodeArrays:
    """``NodeTable``'s columns as arrays for the compiled kernels (``costmodel.kernels``): ``op``, ``param``,
    ``const``, ``size``, ``height``; children as ``ch[ch0[s] : ch0[s] + chn[s]]``; ``nb`` and ``treeb``: the
    two-input operations of the node and of its subtree counted as a tree."""

    def __init__(self):
        self.n = 0
        self.n_edges = 0
        cap = 1024
        self.op = np.zeros(cap, np.int64)
        self.param = np.zeros(cap)
        self.const = np.zeros(cap)
        self.ch0 = np.zeros(cap, np.int64)
        self.chn = np.zeros(cap, np.int64)
        self.size = np.zeros(cap)
        self.height = np.zeros(cap)
        self.nb = np.zeros(cap)
        self.treeb = np.zeros(cap)
        self.ch = np.zeros(2 * cap, np.int64)

    @property
    def capacity(self) -> int:
        return len(self.op)

    def record(self) -> Nodes:
        """The columns as the kernels take them (``layout.Nodes``)."""
        return Nodes(self.op, self.param, self.const, self.ch0, self.chn, self.ch, self.size, self.height, self.nb, self.treeb)

    def _grow(self, n: int, n_edges: int) -> None:
        if n > len(self.op):
            cap = max(2 * len(self.op), n)
            for name in ('op', 'param', 'const', 'ch0', 'chn', 'size', 'height', 'nb', 'treeb'):
                setattr(self, name, grown(getattr(self, name), cap))
        if n_edges > len(self.ch):
            self.ch = grown(self.ch, max(2 * len(self.ch), n_edges))

    def extend(self, t: NodeTable) -> None:
        from .kernels import node_struct_fill

        n0, n = self.n, len(t.op)
        kids = t.children[n0:n]
        counts = np.fromiter(map(len, kids), np.int64, n - n0)
        flat = [c for k in kids for c in k]
        e0 = self.n_edges
        self._grow(n, e0 + len(flat))
        self.op[n0:n] = t.op[n0:n]
        self.param[n0:n] = t.param[n0:n]
        self.const[n0:n] = t.const[n0:n]
        self.size[n0:n] = t.size[n0:n]
        self.height[n0:n] = t.height[n0:n]
        self.chn[n0:n] = counts
        self.ch0[n0:n] = e0 + np.concatenate(([0], np.cumsum(counts)[:-1])) if n > n0 else 0
        self.ch[e0 : e0 + len(flat)] = flat
        self.n, self.n_edges = n, e0 + len(flat)
        node_struct_fill(n0, n, self.op, self.param, self.const, self.chn, self.ch0, self.ch, self.nb, self.treeb)


__all__ = ['ABS', 'ADD', 'CONST', 'CUBE', 'FUNC_CODES', 'INV', 'LUT_CODES', 'MUL', 'NEG', 'OPS', 'OP_CODE', 'POW_ABS', 'POW_INT', 'SQUARE',
           'VAR', 'NodeArrays', 'NodeTable', 'grown']
