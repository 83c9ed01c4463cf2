"""Expressions as postfix arrays: the cost model's input form for a search loop that keeps its own trees.

A batch (``Postfix``) is four flat arrays over all nodes of all expressions and the offsets of each
expression. Node i is an operator code of ``dag.OPS`` (``op[i]``), its parameter (``param[i]``: the
variable index, the constant's value, the power of ``pow_int``, the exponent of ``pow_abs``; NaN when
unused), the numeric addend of ``+`` / coefficient of ``*`` (``const[i]``; NaN when none) and its number of
children (``nkids[i]``): the subtrees just before it, first child first. These are the nodes of
``dag.NodeTable`` written out as trees, so an expression costs the same through either form:
``Postfix.from_expressions`` writes sympy expressions this way, and the tests check that their features
are identical. ``+`` and ``*`` are n-ary, there is no binary ``-`` or ``/`` (``neg`` and ``inv``), and
constants are folded: sympy's canonical form, which a search engine that wants its costs to agree with
``srcost predict`` must produce.

Interning is compiled (``kernels.intern_postfix``): no Python object per node, so new expressions can be
costed at the rates ``benchmarks/predict_speed.py`` reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hls_gen import ExpressionError

from . import dag, layout
from . import kernels as K

POSTFIX_ERRORS = {
    layout.PF_CODE: 'an operator code that is not in costmodel.dag.OPS (or a binary - or /)',
    layout.PF_ARITY: 'an operator with the wrong number of children',
    layout.PF_STACK: 'a node with more children than there are subtrees before it',
    layout.PF_LEFT: 'more than one subtree left at the end (an expression has one root)',
    layout.PF_EMPTY: 'no nodes',
    layout.PF_PARAM: 'a parameter out of range (variable index, pow_int power or constant value)',
}


@dataclass(frozen=True)
class Postfix:
    """A batch of expressions in postfix form (see the module docstring)."""

    op: np.ndarray
    param: np.ndarray
    const: np.ndarray
    nkids: np.ndarray
    offsets: np.ndarray  # expression k is nodes offsets[k]:offsets[k + 1]

    def __post_init__(self) -> None:
        for name, dtype in (('op', np.int64), ('param', np.float64), ('const', np.float64), ('nkids', np.int64),
                            ('offsets', np.int64)):
            object.__setattr__(self, name, np.ascontiguousarray(getattr(self, name), dtype=dtype))
        n = len(self.op)
        if not (len(self.param) == len(self.const) == len(self.nkids) == n):
            raise ExpressionError('postfix arrays op, param, const and nkids must have one entry per node')
        if len(self.offsets) < 1 or self.offsets[0] != 0 or self.offsets[-1] != n or np.any(np.diff(self.offsets) < 0):
            raise ExpressionError('postfix offsets must rise from 0 to the number of nodes')

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def take(self, idx: Sequence[int]) -> Postfix:
        """The expressions at ``idx``, as a new batch."""
        parts = [np.arange(self.offsets[i], self.offsets[i + 1]) for i in idx]
        sel = np.concatenate(parts) if parts else np.zeros(0, np.int64)
        lengths = np.diff(self.offsets)[np.asarray(idx, dtype=np.int64)] if len(idx) else np.zeros(0, np.int64)
        return Postfix(self.op[sel], self.param[sel], self.const[sel], self.nkids[sel], np.concatenate(([0], np.cumsum(lengths))))

    @classmethod
    def from_expressions(cls, exprs: Sequence) -> Postfix:
        """The postfix form of ``Expression`` (or validated sympy) objects."""
        t = dag.NodeTable()
        op: list[int] = []
        param: list[float] = []
        const: list[float] = []
        nkids: list[int] = []
        offsets = [0]

        def emit(s: int) -> None:
            for c in t.children[s]:
                emit(c)
            op.append(t.op[s])
            param.append(t.param[s])
            const.append(t.const[s])
            nkids.append(len(t.children[s]))

        for e in exprs:
            emit(t.intern(getattr(e, 'sympy_expr', e)))
            offsets.append(len(op))
        return cls(np.array(op, np.int64), np.array(param), np.array(const), np.array(nkids, np.int64), np.array(offsets))


class PostfixTable:
    """Node arrays filled from postfix batches (duck-types the part of ``dag.NodeTable`` that
    ``fastpath.CompiledFeatures`` reads: ``arrays()``, ``generation``)."""

    def __init__(self, max_nodes: int = 2_000_000):
        self.max_nodes = max_nodes
        self.generation = -1
        self._fb = np.empty(1)  # scratch for the kernels' hash of a float's bits
        self.clear()

    def clear(self) -> None:
        self._arrays = dag.NodeArrays()
        self._counts = np.zeros(4, np.int64)  # nodes, edges, expressions and tokens stored
        self._hash = np.full(4096, -1, np.int64)  # open addressing: node ids (kernels.intern_postfix)
        self._key = np.zeros((len(self._arrays.op), 4), np.int64)  # each node's key in one record (kernels._same_node)
        # whole expressions seen before (a search asks again for the ones it keeps): table, records, tokens
        self._ehash = np.full(1024, -1, np.int64)
        self._exp = np.zeros((512, 4), np.int64)
        self._tok = np.zeros((8192, 3), np.int64)
        self.generation += 1

    def __len__(self) -> int:
        return int(self._counts[0])

    @property
    def n_expressions(self) -> int:
        """Distinct well-formed expressions remembered whole."""
        return int(self._counts[2])

    def arrays(self) -> dag.NodeArrays:
        return self._arrays

    def trim(self) -> bool:
        """Start afresh when the table holds more than ``max_nodes`` nodes (call between batches; True when it
        did). The whole expressions remembered hold every token again, and a search makes many expressions of
        few new nodes each: when they hold more than ``max_nodes`` tokens, they are forgotten (their nodes
        stay)."""
        if len(self) > self.max_nodes:
            self.clear()
            return True
        if self._counts[3] > self.max_nodes:
            self._counts[2:4] = 0
            self._ehash[:] = -1
        return False

    def intern(self, batch: Postfix) -> tuple[np.ndarray, np.ndarray]:
        """(root id per expression, -1 for a malformed one; error code per expression)."""
        a = self._arrays
        n = len(batch)
        roots = np.full(n, -1, np.int64)
        errs = np.zeros(n, np.int64)
        lengths = np.diff(batch.offsets)
        stack = np.zeros(max(int(lengths.max()) if n else 1, 1), np.int64)
        # room to remember every expression of the batch
        n_exp, n_tok = int(self._counts[2]), int(self._counts[3])
        if n_exp + n > len(self._exp):
            self._exp = dag.grown(self._exp, max(2 * len(self._exp), n_exp + n))
        if n_tok + len(batch.op) > len(self._tok):
            self._tok = dag.grown(self._tok, max(2 * len(self._tok), n_tok + len(batch.op)))
        if 2 * (n_exp + n) > len(self._ehash):
            self._ehash = np.full(1 << int(3 * (n_exp + n)).bit_length(), -1, np.int64)
            K.rehash_expressions(self._ehash, n_exp, self._exp)
        k = 0
        while k < n:
            k = K.intern_postfix(batch.op, batch.param, batch.const, batch.nkids, batch.offsets, k, a.op, a.param, a.const,
                                 a.ch0, a.chn, a.ch, a.size, a.height, a.nb, a.treeb, self._counts, self._hash, self._key,
                                 self._ehash, self._exp, self._tok, roots, errs, stack, self._fb)
            a.n, a.n_edges = int(self._counts[0]), int(self._counts[1])
            if k < n:  # room for the next expressions
                need = int(lengths[k:].sum())
                a._grow(a.n + max(need, a.capacity), a.n_edges + max(need, len(a.ch)))
                self._key = dag.grown(self._key, len(a.op))
                if 2 * (a.n + need) > len(self._hash):
                    size = 1 << int(3 * (a.n + need)).bit_length()
                    self._hash = np.full(size, -1, np.int64)
                    K.rehash(self._hash, a.n, self._key, a.ch)
        return roots, errs


__all__ = ['POSTFIX_ERRORS', 'Postfix', 'PostfixTable']
