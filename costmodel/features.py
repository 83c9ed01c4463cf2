"""Features of a design for the cost models, from its expression DAG, the datapath model and a calibration.

One row per design, in four groups (``FEATURE_GROUPS``):

- ``design``: outputs, inputs, precision (width, integer bits, rounding, saturation), clock, LUT tables;
- ``dag``: distinct nodes (common subexpressions shared by sympy structure), nodes counted as a tree
  (no sharing: what PySR counts), shared nodes, depth, distinct nodes per operator kind, binary
  operations, constant adders and multipliers, nonzero canonical-signed-digit (CSD) digits of the
  multiplier constants (the shift-adds they become), power-of-two and zero constants;
- ``cal``: from a per-operator calibration (``OperatorCosts``): critical-path latency over per-operator
  latencies, and per-operator resources summed over distinct nodes (with sharing) and over the tree. A
  precision the open backend's calibration lacks comes from ``open_default_costs``: the ``dp`` group of
  single-operator designs through the open backend's analytic formulas (``open_analytic``);
- ``dp``: the open backend's datapath (``fixedpoint.Datapath``): adder, multiplier and ROM bits over the
  live nodes, da4ml latency units of the slowest output, the pipeline cutoff and stage count, and an
  estimate of the pipeline's register bits.

Everything per subtree is cached (by node id, precision and LUT specs, and calibration), so repeated
subexpressions -- the normal case inside a search -- cost a dictionary lookup.

Two engines compute the same numbers: the Python walks in this module and ``fixedpoint`` (the readable
reference, ``engine='python'``) and their compiled form (``kernels`` through ``fastpath``, the default),
which works over whole batches of arrays. ``tests/test_costmodel_kernels.py`` holds them equal.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import math
import threading
from collections.abc import Sequence

import numpy as np
import pandas as pd

from hls_gen import Design, LutSpec, Precision, SrcostError
from hls_gen.design import DEFAULT_CLOCK_NS, DEFAULT_PART
from hls_gen.operators import LUT_FUNCTIONS

from . import dag
from .calibration import CalibrationSet, OpCost, OperatorCosts, fitting_lut_spec, micro_benchmarks
from .fixedpoint import Context, Datapath, bits, csd_digits
from .fixedpoint import F as DP
from .layout import (
    CAL_FEATURES,
    DAG_FEATURES,
    DESIGN_FEATURES,
    DP_FEATURES,
    FEATURE_GROUPS,
    FEATURES,
    KIND_CODES,
    SRL_MIN_LENGTH,
    Job,
    lut_columns,
    precision_columns,
)
from .open_analytic import open_analytic_estimates

_NAN = float('nan')


def _binary_ops(table: dag.NodeTable, sid: int) -> int:
    """Two-input operations a node stands for: k-1 for a k-operand sum or product (the constant included)."""
    op = table.op[sid]
    n = len(table.children[sid]) + (0 if math.isnan(table.const[sid]) else 1)
    if op in (dag.ADD, dag.MUL):
        return max(n - 1, 0)
    if op == dag.CUBE:
        return 2
    if op == dag.POW_INT:
        return max(int(table.param[sid]) - 1, 1)
    if op in (dag.VAR, dag.CONST):
        return 0
    return 1


class FeatureExtractor:
    """Turns designs into feature rows. Keep one instance alive (its caches are the speed)."""

    def __init__(self, table: dag.NodeTable | None = None, engine: str = 'compiled'):
        """``engine``: 'compiled' (``costmodel.kernels`` through ``costmodel.fastpath``, whole batches per call)
        or 'python' (the walks below, node by node: the readable reference the compiled kernels follow)."""
        if engine not in ('compiled', 'python'):
            raise ValueError(f"engine must be 'compiled' or 'python', not {engine!r}")
        self.engine = engine
        self._compiled = None
        self._postfix = None
        # the compiled path keeps arrays that grow between kernel calls: one batch at a time (a search may
        # cost individuals from several threads)
        self._lock = threading.RLock()
        self.table = table if table is not None else dag.NodeTable()
        self.datapath = Datapath(self.table)
        self._ctx: dict[tuple, Context] = {}
        self._ctx_by_value: dict[tuple, Context] = {}
        self._struct: dict[int, tuple] = {}
        self._csd_cache: dict[tuple, int] = {}
        self._cal_node: dict[tuple, tuple] = {}
        self._cal_keys: dict[int, tuple[object, int]] = {}
        self._rows: dict[tuple, list[float]] = {}
        self._jobs: dict[tuple, Job] = {}
        self._job_bases: dict[tuple, int] = {}
        self._job_ids: dict[Job, int] = {}
        self.max_rows = 500_000
        self.errors: dict[int, str] = {}
        self._generation = self.table.generation

    # -- caches ---------------------------------------------------------------------------------------
    def _begin_batch(self) -> None:
        """Bound the memory of a long search: past ``table.max_nodes`` nodes every cache starts afresh."""
        if self.table.trim():
            self._check()
            self.datapath.sync()
        if len(self._csd_cache) > 1_000_000:
            self._csd_cache.clear()

    def _check(self) -> None:
        if self._generation != self.table.generation:
            self._struct.clear()
            self._cal_node.clear()
            self._rows.clear()
            self._generation = self.table.generation

    def context(self, design: Design | Job) -> Context:
        """The datapath context: the precision and a spec for every LUT function (the design's own, else
        hls4ml's default). Specs of functions a design does not use change nothing, so designs that differ
        only in which LUT functions they use share one context and its caches."""
        key = (design.precision, design.luts)
        ctx = self._ctx.get(key)
        if ctx is None:
            own = {s.name: s for s in design.luts}
            full = tuple(own.get(name) or _default_spec(name) for name in sorted(LUT_FUNCTIONS))
            ctx = Context(design.precision, full)
            ctx = self._ctx[key] = self._ctx_by_value.setdefault(ctx.key, ctx)
        return ctx

    def roots(self, design: Design) -> list[int]:
        return [self.table.intern(e.sympy_expr) for e in design.outputs]

    # -- the dag group ----------------------------------------------------------------------------------
    def _node_struct(self, sid: int) -> tuple:
        """(kind code, binary ops, is const add, is const mul) of one node."""
        hit = self._struct.get(sid)
        if hit is None:
            t = self.table
            op = t.op[sid]
            has_c = not math.isnan(t.const[sid])
            hit = (op, _binary_ops(t, sid), op == dag.ADD and has_c, op == dag.MUL and has_c)
            self._struct[sid] = hit
        return hit

    def _csd(self, c: float, design: Design) -> int:
        key = (c, design.precision.width, design.precision.integer, design.precision.rounding, design.precision.overflow)
        hit = self._csd_cache.get(key)
        if hit is None:
            q = float(design.precision.quantize(abs(c)))
            hit = self._csd_cache[key] = csd_digits(q) if q else 0
        return hit

    def dag_row(self, design: Design, roots: list[int]) -> list[float]:
        t = self.table
        self._check()
        sets = [t.desc[r] for r in roots]
        uniq = sets[0] if len(sets) == 1 else frozenset().union(*sets)
        kinds = dict.fromkeys(KIND_CODES, 0)
        bin_u = cadd = cmul = csd = pow2 = zero = 0
        n_vars = 0
        for s in uniq:
            op, nb, ca, cm = self._node_struct(s)
            kinds[op] += 1
            bin_u += nb
            cadd += ca
            if cm:
                cmul += 1
                c = t.const[s]
                if c != -1 and c != 1:
                    digits = self._csd(c, design)
                    csd += digits
                    pow2 += digits == 1
                    zero += digits == 0
            if op == dag.VAR:
                n_vars += 1
        tree = sum(t.size[r] for r in roots)
        bin_tree = sum(self._tree_binary(r) for r in roots)
        return [len(uniq), tree, tree - len(uniq), sum(len(s) for s in sets) - len(uniq), max(t.height[r] for r in roots),
                bin_u, bin_tree, cadd, cmul, csd, pow2, zero, *(kinds[c] for c in KIND_CODES)], n_vars

    def _tree_binary(self, sid: int) -> int:
        key = ('tb', sid)
        hit = self._struct.get(key)  # type: ignore[call-overload]
        if hit is None:
            hit = self._node_struct(sid)[1] + sum(self._tree_binary(c) for c in self.table.children[sid])
            self._struct[key] = hit  # type: ignore[index]
        return hit

    # -- the cal group ----------------------------------------------------------------------------------
    def _cal_key(self, costs: OperatorCosts) -> int:
        hit = self._cal_keys.get(id(costs))
        if hit is None or hit[0] is not costs:
            hit = (costs, len(self._cal_keys))
            self._cal_keys[id(costs)] = hit
        return hit[1]

    def _own_cost(self, sid: int, costs: OperatorCosts, ck: int, ctx: Context) -> tuple:
        """(latency through the node, lut, ff, dsp, bram, missing) the node itself adds, from ``costs``."""
        key = (sid, ck, ctx.luts_id)
        hit = self._cal_node.get(key)
        if hit is not None:
            return hit
        t = self.table
        op = t.op[sid]
        name = dag.OPS[op]
        has_c = not math.isnan(t.const[sid])
        nk = len(t.children[sid])
        missing = 0.0

        def get(o, impl='', size=None):
            nonlocal missing
            c = costs.get(o, impl, size)
            if c is None:
                missing += 1
            return c

        parts: list[tuple[object, float, float]] = []  # (cost, count, levels on the path)
        if op == dag.ADD:
            if nk > 1:
                parts.append((get('+'), nk - 1, math.ceil(math.log2(nk))))
            if has_c:
                parts.append((get('+', 'const'), 1, 1))
        elif op == dag.MUL:
            if nk > 1:
                parts.append((get('*'), nk - 1, math.ceil(math.log2(nk))))
            if has_c and abs(t.const[sid]) != 1:
                parts.append((get('*', 'const'), 1, 1))
        elif op == dag.POW_INT:
            n = int(t.param[sid])
            c = costs.get('pow_int')
            if c is None:
                parts.append((get('*'), n - 1, math.ceil(math.log2(n))))
            else:
                parts.append((c, 1, 1))
        elif op in dag.LUT_CODES:
            size = next((s.table_size for s in ctx.luts if s.name == name), None)
            parts.append((get(name, 'lut', size), 1, 1))
        elif op not in (dag.VAR, dag.CONST):
            parts.append((get(name), 1, 1))
        lat = lut = ff = dsp = bram = 0.0
        for c, count, levels in parts:
            if c is None:
                continue
            v = c.latency
            lat += 0.0 if v != v else v * levels
            lut += _z(c.lut) * count
            ff += _z(c.ff) * count
            dsp += _z(c.dsp) * count
            bram += _z(c.bram_18k) * count
        hit = (lat, lut, ff, dsp, bram, missing)
        self._cal_node[key] = hit
        return hit

    def _cp(self, sid: int, costs: OperatorCosts, ck: int, ctx: Context) -> float:
        key = ('cp', sid, ck, ctx.luts_id)
        hit = self._cal_node.get(key)
        if hit is None:
            kids = self.table.children[sid]
            below = max((self._cp(c, costs, ck, ctx) for c in kids), default=0.0)
            hit = self._own_cost(sid, costs, ck, ctx)[0] + below
            self._cal_node[key] = hit
        return hit

    def _tree_cost(self, sid: int, costs: OperatorCosts, ck: int, ctx: Context) -> tuple:
        key = ('tree', sid, ck, ctx.luts_id)
        hit = self._cal_node.get(key)
        if hit is None:
            own = self._own_cost(sid, costs, ck, ctx)
            acc = list(own[:5])
            for c in self.table.children[sid]:
                sub = self._tree_cost(c, costs, ck, ctx)
                for i in range(5):
                    acc[i] += sub[i]
            hit = tuple(acc)
            self._cal_node[key] = hit
        return hit

    def cal_row(self, design: Design, roots: list[int], costs: OperatorCosts | None) -> list[float]:
        if costs is None:
            return [_NAN] * len(CAL_FEATURES)
        self._check()
        ck = self._cal_key(costs)
        ctx = self.context(design)
        t = self.table
        sets = [t.desc[r] for r in roots]
        uniq = sets[0] if len(sets) == 1 else frozenset().union(*sets)
        lut = ff = dsp = bram = missing = 0.0
        for s in sorted(uniq):  # in id order: the compiled kernels sum in the same order
            _, a, b, c, d, m = self._own_cost(s, costs, ck, ctx)
            lut += a
            ff += b
            dsp += c
            bram += d
            missing += m
        cp = max(self._cp(r, costs, ck, ctx) for r in roots)
        trees = [self._tree_cost(r, costs, ck, ctx) for r in roots]
        tree = [sum(x[i] for x in trees) for i in range(5)]
        if costs.latency_only:
            lut = ff = dsp = bram = _NAN
            tree[1:] = [_NAN] * 4
        return [cp, tree[0], lut, ff, dsp, bram, *tree[1:], missing]

    # -- the dp group -----------------------------------------------------------------------------------
    def dp_row(self, design: Design | Job, roots: list[int]) -> list[float]:
        dp = self.datapath
        ctx = self.context(design)
        st = dp.store(ctx)
        outs = [dp.output(r, ctx) for r in roots]
        if len(roots) == 1:
            live, (acc, worst, dsp, n_mul) = dp.subtree(roots[0], ctx)
        else:
            live = frozenset().union(*(dp.live(r, ctx, st) for r in roots))
            acc, worst, dsp, n_mul = dp.aggregate(live, ctx)
        acc = acc.copy()
        wi = DP['worst_delta']
        for _, o in outs:
            acc += o
            if o[wi] > worst:
                worst = o[wi]
        worst = max(worst, 1.0)
        acc[wi] = worst
        acc[DP['node_delay']] = 0.0
        lmax = max(v.lat for v, _ in outs)
        cutoff = max(2.0 * design.clock_period_ns, math.ceil(worst))
        lats = None  # the nodes' latencies: as computed, or with the block-ROM reads aligned to stages
        if acc[DP['n_block_rom']] > 0:
            out_delays = [v.lat - dp.value(r, ctx, st).lat for r, (v, _) in zip(roots, outs)]
            lmax, lats = dp.aligned_latency(live, roots, out_delays, cutoff, st)
        stages = max(1, math.ceil(lmax / cutoff - 1e-9))
        out_bits = float(sum(bits(v) for v, _ in outs if not v.is_const))  # a constant output needs no register
        n_const = sum(1 for v, _ in outs if v.is_const)
        dsp_t, dsp_mapped, _, add_t, rom6_t, romg_t, in_bits, widths = dp.trimmed(live, roots, ctx)
        if stages > 1:
            reg, short, srl, io_srl, inner = self._registers(live, roots, st, cutoff, stages, widths, lats)
            balanced = self._registers(live, roots, st, max(lmax / stages, 1.0), stages, widths, lats)[0]
        else:
            reg = balanced = short = srl = io_srl = inner = 0.0
        fill = lmax / (cutoff * stages) if stages else 0.0
        return [*acc.tolist(), dsp, n_mul, dsp_t, dsp_mapped, add_t, rom6_t, romg_t, len(live), lmax, cutoff, stages, fill,
                in_bits, out_bits, reg, balanced, n_const, short, srl, io_srl, inner]

    def _registers(self, live, roots, st, cutoff: float, stages: int, widths: dict | None = None,
                   lats: dict[int, float] | None = None) -> tuple[float, float, float, float, float]:
        """Bits held in pipeline registers between stages: a value made in stage s and last read in stage
        s' > s is registered s' - s times (da4ml copies it forward one stage at a time). ``lats``: the live
        nodes' latencies where they are not the computed ones (block-ROM reads aligned to stages).

        - A block-ROM read holds its argument until the stage before the read starts, not into it (Yosys
          merges the address register into the block RAM); one whose address is computed in the stage of
          another block read holds it one stage (``Datapath.aligned_latency``).
        - An operand of an n-ary sum or product is read by its step of the chain, and a partial result that
          waits for a later operand is held too (``_chain``); so are the partial products of x**n that span
          stages, at the node's width.
        - A chain of ``SRL_MIN_LENGTH`` registers or more is a shift-register LUT (one per bit). An input's
          chain starts at its input register unless something in stage 0 reads the input (a register with
          another reader ends a chain); an output's chain ends at its output register.

        Returns the total, the bits in chains too short for a shift register, the bit width of the longer
        chains, the input and output register bits inside those, and the bits of partial results (part of the
        other figures)."""
        vals = st.vals
        children = self.table.children
        op, is_root = self.table.op, set(roots)
        last = stages - 1
        lat_of = (lambda k: vals[k].lat) if lats is None else (lambda k: lats.get(k, vals[k].lat))
        stage_of = lambda t: min(int(t // cutoff), last)  # noqa: E731
        stage = {s: stage_of(lat_of(s)) for s in live}
        need: dict[int, int] = dict.fromkeys(roots, last)
        first: dict[int, int] = {}  # the earliest stage that reads a value
        held: list[tuple[int, float]] = []  # (stages, bits) of the partial results held inside nodes
        width_of = lambda s: widths[s] if widths is not None and s in widths else bits(vals[s])  # noqa: E731
        for s, st_s in stage.items():
            if s in st.steps:
                uses, partials = self._chain(s, st, lat_of, stage_of, width_of(s))
                held += partials
            else:
                uses = [st_s] * len(children[s])
            block = st.blocks.get(s)
            # a block ROM's address register is the block RAM's read register: held until the stage before it
            held_to = None if block is None else round((lat_of(s) - block[1]) / cutoff) - 1
            for c, u in zip(children[s], uses):
                if c in stage:
                    first[c] = min(first.get(c, stages), u)
                    need[c] = max(need.get(c, -1), u if held_to is None else held_to)
            if self._powers(s) > 1:  # x**n: the partial products follow one another
                crossed = st_s - stage_of(max((lat_of(c) for c in children[s] if c in stage), default=0.0))
                held.append((crossed, width_of(s)))
        total = short = srl = io_srl = 0.0

        def hold(d: int, w: float, ends: int) -> None:
            """``w`` bits held ``d`` stages, ``ends`` of the input and output registers in the same chain."""
            nonlocal total, short, srl, io_srl
            if d > 0:
                total += d * w
                if d + ends >= SRL_MIN_LENGTH:  # a shift-register LUT per bit
                    srl += w
                    io_srl += ends * w
                else:
                    short += d * w

        for d, w in held:  # registers like any other
            hold(d, w, 0)
        inner = float(sum(d * w for d, w in held if d > 0))
        for s, st_s in need.items():
            if s in stage:
                held_in = op[s] == dag.VAR and first.get(s, stages) > 0
                hold(st_s - stage[s], width_of(s), held_in + (s in is_root))
        return total, short, srl, io_srl, inner

    def _chain(self, s: int, st, lat_of, stage_of, width: float) -> tuple[list[int], list[tuple[int, float]]]:
        """An n-ary sum or product (``st.steps``) replayed step by step, left to right as da4ml evaluates it: the
        stage in which each operand is read, and (stages, bits) of each partial result held until the next step
        (a partial sum one bit wider than its widest term so far, but no wider than the bits of the sum that are
        read, ``width``: carries only go up; a partial product as wide as its factors)."""
        is_mul = self.table.op[s] == dag.MUL
        uses: list[int] = []
        held: list[tuple[int, float]] = []
        t = w = 0.0
        for k, d in zip(self.table.children[s], st.steps[s]):
            lk, wk = lat_of(k), bits(st.vals[k])
            if math.isnan(d):  # the first operand: read by the first step
                t, w = lk, wk
                uses.append(-1)
                continue
            done = max(t, lk) + d  # the step's operation lies in the stage of its output (da4ml's stages)
            if uses and uses[0] == -1:
                uses[0] = stage_of(done)
            elif uses:  # the partial result so far waits for this step
                held.append((stage_of(done) - stage_of(t), w if is_mul else min(w, width)))
            uses.append(stage_of(done))
            t, w = done, (w + wk if is_mul else max(w, wk) + 1)
        return [stage_of(lat_of(s)) if u == -1 else u for u in uses], held

    def _powers(self, s: int) -> int:
        """Products in a power node: x**3 is two, x**n n - 1; none for any other node."""
        t = self.table
        o = t.op[s]
        if o == dag.CUBE:
            return 2
        if o == dag.POW_INT:
            return int(t.param[s]) - 1
        return 0

    # -- all --------------------------------------------------------------------------------------------
    def design_row(self, design: Design | Job, costs: OperatorCosts | None = None, roots: list[int] | None = None) -> list[float]:
        roots = self.roots(design) if roots is None else roots
        p = design.precision
        dag_part, n_vars = self.dag_row(design, roots)
        head = [len(roots), design.n_inputs, n_vars, *precision_columns(p, design.clock_period_ns), *lut_columns(design.luts)]
        return head + dag_part + self.cal_row(design, roots, costs) + self.dp_row(design, roots)

    def _matrix_unlocked(self, designs: Sequence[Design], calibration: CalibrationSet | None = None) -> np.ndarray:
        self._begin_batch()
        intern = self.table.intern
        jobs = []
        with _gc_paused():
            for d in designs:
                try:
                    roots = tuple(intern(e.sympy_expr) for e in d.outputs)
                except SrcostError:
                    roots = ()
                jobs.append((Job(d.precision, d.luts, d.clock_period_ns, d.n_inputs), roots))
        return self._matrix_jobs_unlocked(jobs, calibration)

    def expression_jobs(self, exprs: Sequence, precision: Precision, luts: tuple[LutSpec, ...] = (),
                        clock_period_ns: float = 5.0) -> list[tuple[Job, tuple[int, ...]]]:
        """Single-output jobs straight from expressions (``Expression`` or validated sympy objects), without
        building ``Design`` objects: inputs and the LUT functions used come from the DAG. LUT functions
        without a spec in ``luts`` get hls4ml's defaults, as ``Design.build`` gives them."""
        self._begin_batch()
        intern = self.table.intern
        jobs_cache = self._jobs
        base = self._job_bases.setdefault((precision, luts, clock_period_ns), len(self._job_bases))
        out = []
        for e in exprs:
            root = intern(getattr(e, 'sympy_expr', e))
            n_in, used = self._root_info(root)
            key = (n_in, used, base)
            job = jobs_cache.get(key)
            if job is None:
                given = {s.name: s for s in luts}
                specs = luts
                if used - given.keys():
                    specs = tuple(sorted({**{n: LutSpec.default(n[: -len('_lut')]) for n in used}, **given}.values()))
                job = jobs_cache[key] = Job(precision, specs, clock_period_ns, max(n_in, 1))
            out.append((job, (root,)))
        return out

    def _root_info(self, root: int) -> tuple[int, frozenset[str]]:
        key = ('info', root)
        hit = self._struct.get(key)  # type: ignore[call-overload]
        if hit is None:
            t = self.table
            n_in = 0
            used = set()
            for s in t.desc[root]:
                op = t.op[s]
                if op == dag.VAR:
                    n_in = max(n_in, int(t.param[s]) + 1)
                elif op in dag.LUT_CODES:
                    used.add(dag.OPS[op])
            hit = (n_in, frozenset(used))
            self._struct[key] = hit  # type: ignore[index]
        return hit

    def _expression_matrix_unlocked(self, exprs: Sequence, precision: Precision, luts: tuple[LutSpec, ...] = (),
                                    clock_period_ns: float = 5.0, calibration: CalibrationSet | None = None,
                                    datapath_only: bool = False) -> np.ndarray:
        if self.engine == 'python':
            return self._matrix_jobs_unlocked(self.expression_jobs(exprs, precision, luts, clock_period_ns), calibration)
        self._begin_batch()
        intern = self.table.intern
        with _gc_paused():
            roots = np.fromiter((intern(getattr(e, 'sympy_expr', e)) for e in exprs), np.int64, len(exprs))
            return self.compiled.expressions(roots, precision, luts, clock_period_ns,
                                             self._costs(calibration, precision, clock_period_ns), datapath_only)

    def _postfix_matrix_unlocked(self, batch, precision: Precision, luts: tuple[LutSpec, ...] = (),
                                 clock_period_ns: float = 5.0, calibration: CalibrationSet | None = None,
                                 datapath_only: bool = False) -> np.ndarray:
        from .fastpath import CompiledFeatures
        from .postfix import POSTFIX_ERRORS, PostfixTable

        if self._postfix is None:
            table = PostfixTable(self.table.max_nodes)
            self._postfix = (table, CompiledFeatures(self, table))
        table, compiled = self._postfix
        table.trim()
        roots, errs = table.intern(batch)
        good = roots >= 0
        costs = self._costs(calibration, precision, clock_period_ns)
        if good.all():
            return compiled.expressions(roots, precision, luts, clock_period_ns, costs, datapath_only)
        out = np.full((len(roots), len(FEATURES)), np.nan)
        idx = np.flatnonzero(good)
        if len(idx):
            out[idx] = compiled.expressions(roots[idx], precision, luts, clock_period_ns, costs, datapath_only)
        errors = {int(idx[i]): m for i, m in self.errors.items()}
        errors.update({int(i): f'malformed postfix expression: {POSTFIX_ERRORS.get(int(errs[i]), "unknown error")}'
                       for i in np.flatnonzero(~good)})
        self.errors = errors
        return out

    @property
    def compiled(self):
        if self._compiled is None:
            from .fastpath import CompiledFeatures

            self._compiled = CompiledFeatures(self)
        return self._compiled

    @staticmethod
    def _costs(calibration: CalibrationSet | None, precision: Precision, clock_period_ns: float) -> OperatorCosts | None:
        if calibration is None:
            return None
        try:
            return calibration.for_precision(precision, clock_period_ns, open_default_costs)
        except LookupError:
            return None

    def _matrix_jobs_unlocked(self, jobs: Sequence[tuple[Job, tuple[int, ...]]], calibration: CalibrationSet | None = None) -> np.ndarray:
        if self.engine == 'compiled':
            out, self.errors = self.compiled.jobs(jobs, calibration)
            return out
        with _gc_paused():
            return self._matrix_jobs(jobs, calibration)

    def _matrix_jobs(self, jobs: Sequence[tuple[Job, tuple[int, ...]]], calibration: CalibrationSet | None = None) -> np.ndarray:
        self._check()
        self.datapath.sync()
        out = np.empty((len(jobs), len(FEATURES)), dtype=np.float64)
        cal_cache: dict[tuple, OperatorCosts | None] = {}
        self.errors = {}
        rows = self._rows
        if len(rows) > self.max_rows:
            rows.clear()
        job_ids = self._job_ids
        local: dict[int, int] = {}
        cal_key = -1
        for i, (job, roots) in enumerate(jobs):
            if not roots:
                out[i] = np.nan
                self.errors[i] = 'the design has no outputs the cost model can read'
                continue
            jid = local.get(id(job))
            costs = None
            if jid is None:
                jid = job_ids.get(job)
                if jid is None:
                    jid = job_ids[job] = len(job_ids)
                if calibration is not None:
                    key = (job.precision, job.clock_period_ns)
                    if key not in cal_cache:
                        cal_cache[key] = self._costs(calibration, job.precision, job.clock_period_ns)
                    costs = cal_cache[key]
                cal_key = -1 if costs is None else self._cal_key(costs)
                jid = local[id(job)] = jid * 4096 + cal_key + 1
            rkey = (roots, jid)
            row = rows.get(rkey)
            if row is None:
                if calibration is not None:
                    costs = cal_cache.get((job.precision, job.clock_period_ns))
                try:
                    row = rows[rkey] = np.asarray(self.design_row(job, costs, list(roots)), dtype=np.float64)
                except SrcostError as e:
                    out[i] = np.nan
                    self.errors[i] = str(e)
                    continue
            out[i] = row
        return out

    def matrix(self, designs: Sequence[Design], calibration: CalibrationSet | None = None) -> np.ndarray:
        """Feature matrix (n_designs x len(FEATURES)), float64. A design whose features cannot be computed
        (e.g. a LUT range that does not fit its precision: no firmware either) gets a NaN row and its
        message in ``self.errors[i]``."""
        with self._lock:
            return self._matrix_unlocked(designs, calibration)

    def expression_matrix(self, exprs: Sequence, precision: Precision, luts: tuple[LutSpec, ...] = (),
                          clock_period_ns: float = 5.0, calibration: CalibrationSet | None = None,
                          datapath_only: bool = False) -> np.ndarray:
        """``matrix_jobs(expression_jobs(...))``: the feature rows of single-output designs, one per expression.
        ``datapath_only`` (without a calibration): the DAG columns may be left NaN, as the open backend's
        analytic model reads only the datapath's (the compiled engine then skips their walk)."""
        with self._lock:
            return self._expression_matrix_unlocked(exprs, precision, luts, clock_period_ns, calibration, datapath_only)

    def postfix_matrix(self, batch, precision: Precision, luts: tuple[LutSpec, ...] = (), clock_period_ns: float = 5.0,
                       calibration: CalibrationSet | None = None, datapath_only: bool = False) -> np.ndarray:
        """``expression_matrix`` of expressions given as a ``postfix.Postfix`` batch: interned and costed in
        compiled code only. A malformed expression gets a NaN row and its reason in ``self.errors``."""
        with self._lock:
            return self._postfix_matrix_unlocked(batch, precision, luts, clock_period_ns, calibration, datapath_only)

    def matrix_jobs(self, jobs: Sequence[tuple[Job, tuple[int, ...]]], calibration: CalibrationSet | None = None) -> np.ndarray:
        """Feature rows of (job, output roots) pairs (see ``matrix``)."""
        with self._lock:
            return self._matrix_jobs_unlocked(jobs, calibration)

    def features(self, designs: Sequence[Design], calibration: CalibrationSet | None = None) -> pd.DataFrame:
        return pd.DataFrame(self.matrix(designs, calibration), columns=list(FEATURES))

    def datapath_features(self, designs: Sequence[Design]) -> pd.DataFrame:
        """Only what the open backend's analytic model reads (no calibration needed)."""
        return self.features(designs, None)


def open_default_costs(precision: str | Precision, part: str = DEFAULT_PART, clock_period_ns: float = DEFAULT_CLOCK_NS) -> OperatorCosts:
    """Open-backend operator costs from the analytic datapath model of single-operator designs (what the
    profiler's micro-benchmarks measure, modelled): used until a calibration store has real records. The
    model of a ``CalibrationSet`` whose fallback is ``calibration.OPEN_MODEL`` (see ``_costs``)."""
    return _open_default_costs(str(Precision.parse(precision)), part, float(clock_period_ns))


@functools.lru_cache(maxsize=64)
def _open_default_costs(precision: str, part: str, clock_period_ns: float) -> OperatorCosts:
    p = Precision.parse(precision)
    bench = micro_benchmarks()
    designs = []
    for _, impl, text in bench:
        luts = [fitting_lut_spec(text.split('(')[0], p)] if impl == 'lut' else []
        designs.append(Design.build([text], p, luts, n_inputs=2, part=part, clock_period_ns=clock_period_ns))
    X = FeatureExtractor().datapath_features(designs)
    est = open_analytic_estimates(X)
    io = (X['dp_in_bits'] + X['dp_out_bits'] - X['dp_io_srl_bits']).to_numpy()
    costs = {}
    for i, (op, impl, _) in enumerate(bench):
        row = est.iloc[i]
        costs[(op, impl)] = OpCost(  # what the operator adds to a design: no input or output registers
            latency=float(row['latency_cycles']), ii=1.0, lut=float(row['lut']), ff=max(float(row['ff']) - float(io[i]), 0.0),
            dsp=float(row['dsp']), bram_18k=float(row['bram_18k']),
        )
    return OperatorCosts.build('open', p, costs, part=part, clock_period_ns=clock_period_ns, source='model: open datapath')


@contextlib.contextmanager
def _gc_paused():
    """Cyclic garbage collection paused for a batch (restored as it was, also on an error). The caches hold
    millions of small objects and make no reference cycles: a cyclic-GC pass over them costs more than the
    work, so collection waits until the batch is done."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


_DEFAULT_SPECS: dict[str, LutSpec] = {}


def _default_spec(lut_name: str) -> LutSpec:
    spec = _DEFAULT_SPECS.get(lut_name)
    if spec is None:
        spec = _DEFAULT_SPECS[lut_name] = LutSpec.default(lut_name[: -len('_lut')])
    return spec


def _z(v: float) -> float:
    return 0.0 if v != v else v


__all__ = ['CAL_FEATURES', 'DAG_FEATURES', 'DESIGN_FEATURES', 'DP_FEATURES', 'FEATURES', 'FEATURE_GROUPS', 'FeatureExtractor', 'Job',
           'lut_columns', 'open_default_costs', 'precision_columns']
