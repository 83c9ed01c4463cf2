"""Feature rows through the compiled kernels (``costmodel.kernels``): the stores they work in, the answers
to their requests (ROM contents), and row caches.

``CompiledFeatures`` computes exactly what ``FeatureExtractor``'s Python walks compute (the tests compare
them feature for feature); ``FeatureExtractor`` hands its batches here unless built with
``engine='python'``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hls_gen import LutSpec, Precision, SrcostError

from . import dag, layout
from . import kernels as K
from .calibration import OperatorCosts
from .dag import grown as _grown
from .fixedpoint import NATIVE_MAX_ADDRESS_BITS, Context, _apply, _layout
from .layout import CAL_FEATURES, DAG_FEATURES, DESIGN_FEATURES, FEATURES, KIND_CODES, N_FIELDS, Job, lut_columns, precision_columns

_LUT_NAMES = layout.LUT_NAMES
_OVER = {'AP_WRAP': 0, 'AP_SAT': 1, 'AP_SAT_SYM': 2}


@dataclass
class _CostMemo:
    """One calibration entry's costs in one context: the per-operator table for ``kernels.own_cost`` and the
    per-node memos of the critical path (``cp``) and the tree-summed costs (``tree``), NaN until computed."""

    costs: OperatorCosts | None
    table: np.ndarray
    latency_only: bool
    cp: np.ndarray
    tree: np.ndarray

    def record(self) -> layout.CostTable:
        return layout.CostTable(self.table, self.latency_only, self.cp, self.tree)

    def grow(self, n: int) -> None:
        if self.costs is not None and len(self.cp) < n:
            self.cp = _grown(self.cp, n, np.nan)
            self.tree = _grown(self.tree, n, np.nan)


@dataclass
class _RowCache:
    """Rows already computed for single-output designs in one setting: ``index[root]`` is the row + 1 (0:
    none yet, so that a grown index is zeros the kernel clears only where written)."""

    costs: OperatorCosts | None
    index: np.ndarray = field(default_factory=lambda: np.zeros(1024, np.int64))
    rows: np.ndarray = field(default_factory=lambda: np.zeros((64, 0)))
    n: int = 0
    errors: dict[int, str] = field(default_factory=dict)


class _Store:
    """Everything the kernels keep for one context (precision + LUT specs), by node id."""

    def __init__(self, ctx: Context):
        self.ctx = ctx
        p = ctx.precision
        k, i, f = p.kif
        self.P = np.array([k, i, f, _OVER.get(p.overflow, 0), 1 if p.rounding == 'AP_RND' else 0,
                           1 if p.rounding == 'AP_TRN' else 0, ctx.window,
                           p.step, p.min_value / p.step, p.max_value / p.step, 2.0**p.width,
                           {'AP_TRN': 0, 'AP_RND': 1, 'AP_TRN_ZERO': 2}.get(p.rounding, 3),
                           {'AP_WRAP': 0, 'AP_SAT_SYM': 2}.get(p.overflow, 1)], dtype=np.float64)
        assert len(self.P) == layout.N_P
        # LUT layouts: start, base_div, size, first sample in LS, usable
        self.L = np.zeros((len(_LUT_NAMES), 5))
        samples = []
        self.lut_errors: dict[int, str] = {}
        off = 0
        specs = {s.name: s for s in ctx.luts}
        for j, name in enumerate(_LUT_NAMES):
            spec = specs.get(name) or LutSpec.default(name[: -len('_lut')])
            try:
                start, base_div, smp = _layout(spec, p)
            except SrcostError as e:
                self.lut_errors[layout.LUT0 + j] = str(e)
                continue
            self.L[j] = (start, base_div, spec.table_size, off, 1)
            samples.append(smp)
            off += len(smp)
        self.LS = np.concatenate(samples) if samples else np.zeros(1)
        self._alloc_nodes(1024)
        self.EDGE = np.zeros((2048, layout.E_COLS))
        self.MS = np.zeros((1024, layout.M_COLS))
        self.Y = np.zeros((1024, 2))  # product bits of each multiplier in the two wreduce passes (scratch)
        self.BITS = np.zeros((4096, 2))
        self.TAB = np.zeros((64, layout.T_COLS))
        self.TB = np.zeros((4096, 2))
        self.meta = np.zeros(8, np.int64)
        # maps of float keys in arrays (kernels.fmap_find): multiplier keys; tables (rows as TAB's); constants
        self.fb = np.zeros(1)
        self.KHT, self.KK = np.full(2048, -1, np.int64), np.zeros((1024, 3))
        self.THT, self.TK = np.full(2 * len(self.TAB), -1, np.int64), np.zeros((len(self.TAB), 5))
        self.FHT, self.FK, self.FV = np.full(128, -1, np.int64), np.zeros((64, 3)), np.zeros(64)
        self.reqs = np.zeros((256, 8))  # the forward pass's requests (see kernels.forward)
        self.stamp = 0
        self.cal: dict[int, _CostMemo] = {}

    def _alloc_nodes(self, cap: int) -> None:
        old = {name: getattr(self, name, None) for name in ('V', 'ROWS', 'MN', 'R', 'ERR', 'done', 'mark', 'pend', 'hstamp', 'Q', 'high',
                                                               'low', 'widths', 'need', 'first', 'lat', 'read_stage')}
        self.V = np.zeros((cap, 7))
        self.ROWS = np.zeros((cap, N_FIELDS))
        self.MN = np.zeros((cap, 2), np.int64)
        self.R = np.zeros((cap, 5))  # per node: ROM bits' lsb, first and count; block read's address latency, delay
        self.ERR = np.zeros(cap, np.int64)
        self.done = np.zeros(cap, np.bool_)
        self.mark = np.zeros(cap, np.int64)
        self.pend = np.zeros(cap, np.int64)
        self.hstamp = np.zeros(cap, np.int64)
        self.Q = np.zeros((cap, 3))
        self.high = np.zeros(cap)
        self.low = np.zeros(cap)
        self.widths = np.zeros(cap)
        self.need = np.zeros(cap, np.int64)
        self.first = np.zeros(cap, np.int64)
        self.lat = np.zeros(cap)
        self.read_stage = np.zeros(cap)
        if old['V'] is not None:
            for name, arr in old.items():
                getattr(self, name)[: len(arr)] = arr
        for memo in getattr(self, 'cal', {}).values():
            memo.grow(cap)

    def sync(self, na: dag.NodeArrays) -> None:
        """Room for the nodes the table has gained."""
        n = na.n
        if n > len(self.V):
            self._alloc_nodes(max(2 * len(self.V), n))
        if na.n_edges > len(self.EDGE):
            self.EDGE = _grown(self.EDGE, max(2 * len(self.EDGE), na.n_edges), 0.0)

    @property
    def km(self) -> tuple:
        return self.KHT, self.KK, self.fb

    @property
    def tm(self) -> tuple:
        return self.THT, self.TK, self.fb

    @property
    def fm(self) -> tuple:
        return self.FHT, self.FK, self.FV, self.fb

    def table_of(self, key: tuple) -> int:
        """The TAB row of a cached table (key: op code and four floats, as the forward pass asks), or -1."""
        return int(K.fmap_get(self.THT, self.TK, *map(float, key), self.fb))

    def constant_of(self, key: tuple) -> float | None:
        """The cached value of a native function at a constant (key: op code, parameter, argument)."""
        r = int(K.fmap_get(self.FHT, self.FK, *map(float, key), 0.0, 0.0, self.fb))
        return None if r < 0 else float(self.FV[r])

    def _grow_map(self, which: str, rows: int) -> None:
        """Room for ``rows`` keys in map ``which`` ('K', 'T' or 'F'), its hash table at most half full."""
        HT, KEYS = getattr(self, which + 'HT'), getattr(self, which + 'K')
        n = {'K': layout.C_KEYS, 'T': layout.C_TAB, 'F': layout.C_FCONST}[which]
        used = int(self.meta[n])
        if rows > len(KEYS):
            setattr(self, which + 'K', _grown(KEYS, max(2 * len(KEYS), rows), 0.0))
            if which == 'F':
                self.FV = _grown(self.FV, len(self.FK), 0.0)
        if 2 * rows > len(HT):
            HT = np.full(1 << int(4 * rows - 1).bit_length(), -1, np.int64)
            K.fmap_rehash(HT, getattr(self, which + 'K'), used, self.fb)
            setattr(self, which + 'HT', HT)

    # -- answers to the forward pass's requests ---------------------------------------------------------
    def answer(self, reqs: np.ndarray) -> None:
        """Computes what the forward pass's requests ask (ROM contents, functions of constants): the float
        functions in one numpy call per function over all the requests' arguments, the rest in compiled code."""
        # nodes of one round often ask for the same table (sin(x0), sin(x3): every input has the same range):
        # each is computed once. The key is the maps' (a NaN parameter as 0; unused fields are 0)
        key = reqs[:, [0, 2, 3, 4, 5, 6]]
        key[:, 2] = np.where(np.isnan(key[:, 2]), 0.0, key[:, 2])
        srt = np.lexsort(key.T)
        k = key[srt]
        new = np.ones(len(k), np.bool_)
        new[1:] = (k[1:] != k[:-1]).any(axis=1)
        if not new.all():
            reqs = reqs[np.sort(srt[new])]
        nat = np.flatnonzero(reqs[:, 0] != layout.NEED_LUT)
        raw, offs = np.zeros(1), np.zeros(1, np.int64)
        if len(nat):
            # the requests of one function (and parameter) next to each other: one numpy call each
            nat = nat[np.lexsort((reqs[nat, 3], reqs[nat, 2]))]
            counts = np.ones(len(nat), np.int64)
            tab = reqs[nat, 0] == layout.NEED_NATIVE
            r = reqs[nat[tab]]
            counts[tab] = np.rint((r[:, 5] - r[:, 4]) / r[:, 6]).astype(np.int64) + 1  # native_raw's count
            offs = np.zeros(len(nat) + 1, np.int64)
            np.cumsum(counts, out=offs[1:])
            xs = np.empty(int(offs[-1]))
            K.answer_grid(reqs, nat, offs, xs)
            raw = np.empty_like(xs)
            code, param = reqs[nat, 2], reqs[nat, 3]
            same = (code[1:] == code[:-1]) & ((param[1:] == param[:-1]) | (np.isnan(param[1:]) & np.isnan(param[:-1])))
            starts = np.concatenate(([0], np.flatnonzero(~same) + 1, [len(nat)])).tolist()
            for g0, g1 in zip(starts[:-1], starts[1:]):
                a, b = offs[g0], offs[g1]
                raw[a:b] = _apply(dag.OPS[int(code[g0])], float(param[g0]), xs[a:b])
        prec = self.ctx.precision
        room = int(self.meta[layout.C_TAB]) + len(reqs)
        if room > len(self.TAB):
            self.TAB = _grown(self.TAB, max(2 * len(self.TAB), room), 0.0)
        self._grow_map('T', room)
        self._grow_map('F', int(self.meta[layout.C_FCONST]) + len(reqs))
        # the native requests first, in the order of their values in ``raw``; then the LUT ones
        order = np.concatenate((nat, np.flatnonzero(reqs[:, 0] == layout.NEED_LUT)))
        R = np.ascontiguousarray(reqs[order])
        while K.answer_requests(R, offs, raw, prec.min_value, prec.max_value, prec.step, self.L, self.LS, self.TAB,
                                self.TB, self.meta, self.tm, self.fm) < 0:
            self.TB = _grown(self.TB, 2 * len(self.TB), 0.0)

    def forward(self, na: dag.NodeArrays, roots: np.ndarray) -> None:
        self.sync(na)
        self.stamp += 1
        order = K.needed(roots, self.done, na.ch0, na.chn, na.ch, self.mark, self.stamp)
        if not len(order):
            return
        # room for what these nodes typically add (a cold batch: 0.35 multipliers, 0.5 keys and 3.8 ROM bits per
        # node); the kernel stops and asks for more when that is not enough
        n = len(order)
        if self.meta[layout.C_MULT] + n > len(self.MS):
            self.MS = _grown(self.MS, max(2 * len(self.MS), int(self.meta[layout.C_MULT]) + n), 0.0)
        if self.meta[layout.C_BITS] + 4 * n > len(self.BITS):
            self.BITS = _grown(self.BITS, max(2 * len(self.BITS), int(self.meta[layout.C_BITS]) + 4 * n), 0.0)
        self._grow_map('K', int(self.meta[layout.C_KEYS]) + n + 64)
        for _ in range(10_000):
            self.stamp += 1
            n = K.forward(order, na.op, na.param, na.const, na.ch0, na.chn, na.ch, self.Q, self.P, self.L, self.LS, self.V,
                          self.ROWS, self.MS, self.MN, self.EDGE, self.R, self.BITS, self.ERR, self.done, self.pend,
                          self.stamp, self.meta, self.km, self.tm, self.TAB, self.TB, self.fm, NATIVE_MAX_ADDRESS_BITS,
                          self.reqs)
            if n == 0:
                return
            if n < 0:
                self.MS = _grown(self.MS, 2 * len(self.MS), 0.0)
                self.BITS = _grown(self.BITS, 2 * len(self.BITS), 0.0)
                self._grow_map('K', 2 * len(self.KK))
                continue
            self.answer(self.reqs[:n])
            if n == len(self.reqs):  # more may be waiting: ask for them in fewer rounds
                self.reqs = np.zeros((4 * n, self.reqs.shape[1]))
        raise RuntimeError('costmodel.kernels: the forward pass did not finish')  # pragma: no cover

    def cost_memo(self, costs: OperatorCosts | None) -> _CostMemo:
        """The memo of a calibration entry's operator costs in this context (an empty one for None)."""
        if costs is None:
            return _CostMemo(None, np.zeros((0, 6)), False, np.zeros(1), np.zeros((1, 5)))
        hit = self.cal.get(id(costs))
        if hit is not None and hit.costs is costs:
            hit.grow(len(self.V))
            return hit
        memo = _CostMemo(costs, cost_table(costs, self.ctx), bool(costs.latency_only), np.full(len(self.V), np.nan),
                         np.full((len(self.V), 5), np.nan))
        self.cal[id(costs)] = memo
        return memo


def cost_table(costs: OperatorCosts, ctx: Context) -> np.ndarray:
    """Per-operator costs for ``kernels.own_cost``: rows 0 '+', 1 '+' const, 2 '*', 3 '*' const, 4 pow_int,
    5 + op code; columns present, latency, lut, ff, dsp, bram_18k."""
    CT = np.zeros((5 + len(dag.OPS), 6))
    sizes = {s.name: s.table_size for s in ctx.luts}

    def put(j, c):
        if c is not None:
            CT[j] = (1.0, c.latency, c.lut, c.ff, c.dsp, c.bram_18k)

    put(0, costs.get('+'))
    put(1, costs.get('+', 'const'))
    put(2, costs.get('*'))
    put(3, costs.get('*', 'const'))
    put(4, costs.get('pow_int'))
    for code, name in enumerate(dag.OPS):
        if code in dag.LUT_CODES:
            put(5 + code, costs.get(name, 'lut', sizes.get(name)))
        elif name not in ('var', 'const'):
            put(5 + code, costs.get(name))
    return CT


class CompiledFeatures:
    """Feature matrices of many designs per kernel call, for a ``FeatureExtractor`` (its node table and
    contexts); see the module docstring."""

    def __init__(self, extractor, table=None):
        """``table``: the node table the roots index (the extractor's by default; a ``postfix.PostfixTable``)."""
        self.fx = extractor
        self.table = extractor.table if table is None else table
        self._stores: dict[tuple, _Store] = {}
        self._generation = self.table.generation
        self._row_caches: dict[tuple, _RowCache] = {}
        self.n_head, self.n_dag, self.n_cal = len(DESIGN_FEATURES), len(DAG_FEATURES), len(CAL_FEATURES)
        self.n_features = len(FEATURES)
        self.kind_col = np.full(len(dag.OPS), -1, np.int64)
        for j, code in enumerate(KIND_CODES):
            self.kind_col[code] = j
        self.lut_default = np.array([LutSpec.default(n[: -len('_lut')]).table_size for n in _LUT_NAMES], np.float64)
        self.columns = layout.Columns(self.n_head, self.n_dag, self.n_cal, self.kind_col, self.lut_default)

    def _sync(self) -> dag.NodeArrays:
        if self._generation != self.table.generation:
            self._stores.clear()
            self._row_caches.clear()
            self._generation = self.table.generation
        return self.table.arrays()

    def store(self, ctx: Context) -> _Store:
        st = self._stores.get(ctx.key)
        if st is None:
            st = self._stores[ctx.key] = _Store(ctx)
        return st

    def rows(self, ctx: Context, roots: np.ndarray, roots0: np.ndarray, head: np.ndarray, clock: np.ndarray,
             costs: OperatorCosts | None, expr_mode: bool, luts: tuple[LutSpec, ...] = (),
             datapath_only: bool = False) -> tuple[np.ndarray, dict[int, str]]:
        """Feature rows of designs in one context: design i's outputs are ``roots[roots0[i]:roots0[i + 1]]``;
        ``head`` (filled in place and returned) holds the design columns the kernel does not fill: in
        expression mode it derives the inputs and LUT specs from the DAG, given the specs ``luts``.
        ``datapath_only`` (with ``costs`` None): the DAG columns are left NaN (see ``kernels.design_rows``).
        Returns (rows, {row: error message})."""
        na = self._sync()
        st = self.store(ctx)
        st.forward(na, roots)  # makes room for the table's new nodes first
        if len(st.Y) < len(st.MS):
            st.Y = np.zeros((len(st.MS), 2))
        memo = st.cost_memo(costs)
        given = {s.name: s.table_size for s in luts}
        lut_given = np.array([given.get(n, 0) for n in _LUT_NAMES], np.float64)
        errs = np.zeros(len(roots0) - 1, np.int64)
        batch = layout.Batch(roots, roots0, clock, expr_mode, head, errs, lut_given)
        store = layout.Store(st.Q, st.P, st.V, st.ROWS, st.MS, st.MN, st.EDGE, st.R, st.BITS, st.ERR, st.meta, st.Y)
        marks = layout.Marks(st.mark, st.hstamp, st.high, st.low, st.widths, st.need, st.first, st.lat, st.read_stage)
        st.stamp = K.design_rows(batch, self.columns, na.record(), store, memo.record(), marks, st.stamp, not datapath_only)
        errors = {int(i): st.lut_errors.get(int(errs[i]), 'a LUT table cannot be laid out at this precision')
                  for i in np.flatnonzero(errs)}
        return head, errors

    def expressions(self, roots: np.ndarray, precision: Precision, luts: tuple[LutSpec, ...], clock_period_ns: float,
                    costs: OperatorCosts | None, datapath_only: bool = False) -> np.ndarray:
        """Rows of single-output designs (one per root), as ``FeatureExtractor.expression_jobs`` makes them;
        rows already computed for a root in this setting come from a cache. ``datapath_only``: see ``rows``."""
        ctx = self.fx.context(Job(precision, luts, clock_period_ns, 1))
        self._sync()
        datapath_only = datapath_only and costs is None
        key = (ctx.key, luts, clock_period_ns, id(costs), datapath_only)
        cache = self._row_caches.get(key)
        if cache is None or cache.costs is not costs:
            cache = self._row_caches[key] = _RowCache(costs, rows=np.zeros((64, self.n_features)))
        n_nodes = self.table.arrays().n
        if len(cache.index) < n_nodes:
            cache.index = _grown(cache.index, max(2 * len(cache.index), n_nodes), 0)
        idx = cache.index[roots] - 1
        miss = idx < 0
        if miss.any():
            new = np.unique(roots[miss])
            n0 = cache.n
            if n0 + len(new) > len(cache.rows):
                cache.rows = _grown(cache.rows, max(2 * len(cache.rows), n0 + len(new)), 0.0)
            # the kernel writes the new rows into the cache itself
            head = precision_head(precision, clock_period_ns, len(new), out=cache.rows[n0 : n0 + len(new)])
            _, errors = self.rows(ctx, new, np.arange(len(new) + 1), head, np.full(len(new), float(clock_period_ns)), costs,
                                  True, luts, datapath_only)
            cache.index[new] = np.arange(n0 + 1, n0 + len(new) + 1)
            cache.n = n0 + len(new)
            for i, msg in errors.items():
                cache.errors[n0 + i] = msg
            idx = cache.index[roots] - 1
        out = cache.rows[idx]
        self.fx.errors = {i: cache.errors[j] for i, j in enumerate(idx.tolist()) if j in cache.errors} if cache.errors else {}
        return out

    def jobs(self, jobs, calibration) -> tuple[np.ndarray, dict[int, str]]:
        """``FeatureExtractor.matrix_jobs``: designs grouped by context and calibration entry, one kernel call
        per group."""
        out = np.full((len(jobs), self.n_features), np.nan)
        errors: dict[int, str] = {}
        groups: dict[tuple, list[int]] = {}
        ctxs: dict[tuple, tuple] = {}
        cal_cache: dict[tuple, OperatorCosts | None] = {}
        for i, (job, roots) in enumerate(jobs):
            if not roots:
                errors[i] = 'the design has no outputs the cost model can read'
                continue
            ck = (job.precision, job.clock_period_ns)
            if ck not in cal_cache:
                cal_cache[ck] = self.fx._costs(calibration, job.precision, job.clock_period_ns)
            ctx = self.fx.context(job)
            g = (ctx.key, id(cal_cache[ck]))
            if g not in groups:
                groups[g] = []
                ctxs[g] = (ctx, cal_cache[ck])
            groups[g].append(i)
        for g, members in groups.items():
            ctx, costs = ctxs[g]
            roots = np.array([r for i in members for r in jobs[i][1]], np.int64)
            roots0 = np.concatenate(([0], np.cumsum([len(jobs[i][1]) for i in members]))).astype(np.int64)
            head = np.zeros((len(members), self.n_features))
            for q, i in enumerate(members):
                job = jobs[i][0]
                head[q, 1] = job.n_inputs
                head[q, 3:12] = (*precision_columns(job.precision, job.clock_period_ns), *lut_columns(job.luts))
            clock = np.array([jobs[i][0].clock_period_ns for i in members], np.float64)
            rows, errs = self.rows(ctx, roots, roots0, head, clock, costs, False)
            out[members] = rows
            for q, msg in errs.items():
                errors[members[q]] = msg
        return out, errors


def precision_head(precision: Precision, clock_period_ns: float, n: int, out: np.ndarray | None = None) -> np.ndarray:
    """A feature matrix of ``n`` rows (``out`` when given) with the precision and clock columns of the design
    group filled. In expression mode ``kernels.design_rows`` writes every other column, so ``out`` need
    not be cleared (a test checks)."""
    head = np.zeros((n, len(FEATURES))) if out is None else out
    head[:, 3:10] = precision_columns(precision, clock_period_ns)
    return head


__all__ = ['CompiledFeatures', 'cost_table', 'precision_head']
