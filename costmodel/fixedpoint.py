"""An analytic model of the open backend's datapath: value ranges, bit widths and da4ml latency units.

The open backend traces an expression into exact fixed-point arithmetic (``hls_gen.tracing``): sums and
products grow, constants are cast to the precision, a constant multiplier becomes a chain of shift-adds
(its canonical-signed-digit form), function arguments are cast back to the precision and functions are
ROMs. da4ml then gives every operation a delay in "latency units" (an adder: 1; a multiplier: the width
of its wider operand; a ROM: its address bits - 6, at least 1), picks a pipeline cutoff of
``max(2 x clock period in ns, slowest single operation)`` units and cuts the datapath into stages.

This module replays that arithmetic on intervals (floats, no Decimal, no tables bigger than needed)
for one interned node at a time (``dag.NodeTable``), caching each node per precision and LUT specs.
What it yields per node -- the value's interval and latency, and the operations the node adds (adder
bits, multiplier widths, ROM address and data bits) -- are the analytic features of the cost model.
It is a model, not the tracer: the cost model's tests compare it with ``hls_gen.tracing`` and the
learned model corrects what it misses.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from hls_gen import Precision
from hls_gen.ir import float_function
from hls_gen.lut import LutSpec

from . import dag
from .layout import BLOCK_MIN_BITS, N_FIELDS, OP_FIELDS, F

NATIVE_MAX_ADDRESS_BITS = 12  # hls_gen.tables.NATIVE_MAX_ADDRESS_BITS (the open backend's native ROM size)
try:  # follow the backend when it is importable
    from hls_gen.tables import NATIVE_MAX_ADDRESS_BITS  # noqa: F811
except ImportError:  # pragma: no cover
    pass

# The per-node operation record (``OP_FIELDS``, what the node itself adds to the datapath, not its children)
# is ``costmodel.layout``'s, shared with the kernels.


def r_entries(a: Val) -> int:
    """Entries of a ROM addressed by ``a``: one per value ``a`` takes (da4ml's table length)."""
    return round((a.hi - a.lo) / a.step) + 1


def bram18(addr_bits: int, width: int) -> int:
    """BRAM_18K (RAMB18E2, a RAMB36E2 counting two) of a ``2**addr_bits`` x ``width`` ROM, as Yosys's
    ``memory_libmap`` maps it on UltraScale+: a RAMB18 holds 512 x 36, 1K x 18, 2K x 9, 4K x 4, 8K x 2 or
    16K x 1 and a RAMB36 twice that, except at 4K deep, where a RAMB36 holds 9 bits (its parity bit) to the
    RAMB18's 4: there every 9 bits take a RAMB36 and the rest a RAMB18 (up to 4 bits) or a RAMB36."""
    per_block = {9: 36, 10: 18, 11: 9, 12: 4, 13: 2, 14: 1}
    a = max(int(addr_bits), 9)
    w = math.ceil(width)
    if a > 14:
        return w * 2 ** (a - 14)
    if a == 12:
        r = w % 9
        return 2 * (w // 9) + (0 if r == 0 else 1 if r <= 4 else 2)
    return math.ceil(w / per_block[a])


class Val:
    """A fixed-point value: interval [lo, hi] on a grid of ``step``, ready at ``lat`` latency units."""

    __slots__ = ('lo', 'hi', 'step', 'lat', 'key', 'eff')

    def __init__(self, lo: float, hi: float, step: float, lat: float = 0.0, key: tuple | None = None):
        self.lo, self.hi, self.step, self.lat = lo, hi, step, lat
        self.key = key  # what computed it, for merging identical multipliers (Yosys opt_merge)
        self.eff = None  # bits left once Yosys drops a ROM output's constant / sign-copy top bits

    @property
    def is_const(self) -> bool:
        return self.lo == self.hi

    def __repr__(self) -> str:  # pragma: no cover
        return f'Val({self.lo}, {self.hi}, {self.step}, lat={self.lat})'


def _lsb(v: Val) -> int:
    """Position of the lowest bit (log2 of the step)."""
    if v.is_const:
        return -const_f(v.lo) if v.lo else 0
    if not (v.step > 0 and math.isfinite(v.step)):
        return 0
    return int(round(math.log2(v.step)))


def const_f(c: float) -> int:
    """The smallest f with c * 2**f an integer (da4ml's ``_const_f``, clamped to [-32, 32])."""
    if c == 0:
        return -32
    m, e = math.frexp(abs(c))
    n = int(m * 9007199254740992.0)  # 2**53
    tz = (n & -n).bit_length() - 1
    return max(-32, min(32, 53 - tz - e))


def const(c: float) -> Val:
    return Val(c, c, 2.0 ** -const_f(c), 0.0)


def kif(v: Val) -> tuple[int, int, int]:
    if v.lo == v.hi:
        if v.lo == 0:
            return 0, 0, 0
    if not (v.step > 0 and math.isfinite(v.step) and math.isfinite(v.lo) and math.isfinite(v.hi)):
        return int(v.lo < 0), 128, 0  # a degenerate interval (overflowing powers): as wide as it gets
    f = -int(round(math.log2(v.step)))
    xx = max(-v.lo, v.hi + v.step)
    i = math.ceil(math.log2(xx)) if xx > 0 else -f
    return int(v.lo < 0), i, f


def bits(v: Val) -> int:
    k, i, f = kif(v)
    return k + i + f


def add_bits(a: Val, b: Val) -> float:
    """da4ml's ``cost_add`` with adder_size 1: the accumulator width of a + b."""
    s0, s1 = a.step, b.step
    f = -math.log2(max(s0, s1))
    m = max(abs(a.lo), abs(b.lo), abs(a.hi + s0), abs(b.hi + s1))
    i = math.ceil(math.log2(m)) if m > 0 else 0
    return max(int(a.lo < 0 or b.lo < 0) + i + f, 0.0)


def csd_powers(c: float) -> list[float]:
    """Signed powers of two of the canonical signed digit form of c, most significant first
    (da4ml's ``to_csd_powers``)."""
    if c == 0:
        return []
    f = const_f(abs(c))
    x = c * 2.0**f
    s = 2.0**-f
    n = math.ceil(math.log2(abs(x) * 1.5 + 1e-19))
    out = []
    for p in range(n - 1, -1, -1):
        two = 2.0**p
        thres = two / 1.5
        bit = int(x > thres) - int(x < -thres)
        if bit:
            x -= two * bit
            out.append(two * bit * s)
    return out


def csd_digits(c: float) -> int:
    return len(csd_powers(c))


def dsp_count(wa: int, wb: int, signed_a: bool, signed_b: bool, wy: int | None = None) -> int:
    """DSP48E2 cells Yosys' ``mul2dsp`` makes of da4ml's ``multiplier`` (xcup: 27x18 signed, 18-bit partial
    products, no DSP below 2x2 operands or a 9-bit product). A signed x unsigned multiplier extends the
    unsigned side by a zero bit first, as da4ml's ``multiplier.v`` does."""
    return mul_split(wa, wb, signed_a, signed_b, wy)[0]


def _as_signed(wa: int, wb: int, signed_a: bool, signed_b: bool) -> tuple[int, int, bool, bool]:
    """The operands as da4ml's ``multiplier.v`` hands them to Yosys: a signed x unsigned multiplier extends
    the unsigned side by a zero bit and multiplies signed."""
    if signed_a == signed_b:
        return wa, wb, signed_a, signed_b
    return wa + (not signed_a), wb + (not signed_b), True, True


@functools.lru_cache(maxsize=65536)
def mul_split(wa: int, wb: int, signed_a: bool, signed_b: bool, wy: int | None = None) -> tuple[int, int, int]:
    """(DSP cells, bits of the adders that sum the partial products, bits of soft (LUT) multipliers) of a
    multiplier whose low ``wy`` product bits are read: mul2dsp's recursion (Yosys
    ``techlibs/common/mul2dsp.v`` with xcup's 27x18, 17-bit slices). Every partial product is made, each as
    wide as its slice times the other operand (the full ones capped at the product's bits), and a partial
    product narrower than 9 bits is a soft (LUT) multiplier. A partial product shifted wholly above the
    product bits read is dead logic that Yosys removes after mapping, so it is not counted."""
    a, b, sa, sb = _as_signed(wa, wb, signed_a, signed_b)
    y = a + b if wy is None else min(wy, a + b)
    d, add, soft, _, _ = _tiles(a, b, sa, sb, y, y, True)
    return d, add, soft


@functools.lru_cache(maxsize=65536)
def mul_tiles(wa: int, wb: int, signed_a: bool, signed_b: bool, y_gen: int, y_live: int) -> tuple[int, int, int]:
    """What is left of one multiplier after Yosys' ``map_dsp`` step: (DSP cells, low bits of a read, low bits
    of b read). ``mul2dsp`` cuts the product into partial products for the ``y_gen`` product bits the
    multiplier has when it runs (each partial product reads its slice of one operand); afterwards
    ``wreduce`` narrows the adders that sum them to the ``y_live`` bits still read, and a DSP whose partial
    product lands wholly above them is removed."""
    a, b, sa, sb = _as_signed(wa, wb, signed_a, signed_b)
    y_gen = min(y_gen, a + b)
    y_live = min(y_live, y_gen)
    # Measured (standalone chains of three multipliers): when the product is narrowed after mul2dsp ran, a
    # partial product of a partial product that starts exactly at the first unread bit stays.
    slack = int(y_live < y_gen)
    d, _, _, ca, cb = _tiles(a, b, sa, sb, y_gen, y_live, True, slack)
    return d, min(ca, wa), min(cb, wb)


def chain_dsp(first: int, factors: Sequence[int], widths: Sequence[int]) -> list[int]:
    """DSP cells per multiplier of a signed chain ``((first * f0) * f1) * ...``, where multiplier k's product is
    declared ``widths[k]`` bits wide (the last one: the bits read). The bits read flow backwards: each
    multiplier reads of its left operand only the slices its live partial products need (``mul_tiles``)."""
    out, live = [], widths[-1]
    for k in range(len(factors) - 1, -1, -1):
        left = first if k == 0 else widths[k - 1]
        n, live, _ = mul_tiles(left, factors[k], True, True, widths[k], live)
        out.append(n)
    return out[::-1]


def _tiles(a: int, b: int, sa: bool, sb: bool, yg: int, yl: int, top: bool, slack: int = 0) -> tuple[int, int, int, int, int]:
    """(DSP cells, bits of the adders that sum the partial products, bits of soft multipliers, low bits of a
    read, low bits of b read) of a ``yg``-bit multiplier of which the low ``yl`` bits are read."""
    if top and a < b:
        d, add, soft, cb, ca = _tiles(b, a, sb, sa, yg, yl, True, slack)
        return d, add, soft, ca, cb
    live = yl > 0 if top else yl + slack > 0
    if a < 2 or b < 2 or yg < 9:
        return 0, 0, (a * b if live else 0), a, b
    if top and not sa and not sb:
        d, add, soft, ca, cb = _tiles(a + 1, b + 1, True, True, yg, yl, True, slack)
        return d, add, soft, min(ca, a), min(cb, b)
    if a > 27 or b > 18:
        split_a = a > 27
        w, other = (a, b) if split_a else (b, a)
        cap = 27 if split_a else 18
        n = (w - cap + 18 - 1 - 1) // 17
        last = w - n * 17
        dsp = add = soft = cov_w = cov_o = 0
        for i in range(n + 1):
            off = i * 17
            if off >= yl + (0 if top else slack):  # shifted wholly above the bits read: removed
                break
            part = 18 if i < n else last
            pyg = min(yg, other + 18) if i < n else other + last
            pyl = min(yl - off, pyg)
            if split_a:
                d, ad, so, cp, co = _tiles(part, other, True if i < n else sa, sb, pyg, pyl, False, slack)
            else:
                d, ad, so, co, cp = _tiles(other, part, sa, True if i < n else sb, pyg, pyl, False, slack)
            dsp, add, soft = dsp + d, add + ad, soft + so
            if i:
                add += yl - off
            cov_w = max(cov_w, min(off + (17 if i < n else last), w))
            cov_o = max(cov_o, co)
        return (dsp, add, soft, cov_w, cov_o) if split_a else (dsp, add, soft, cov_o, cov_w)
    return int(live), 0, 0, a, b


_LUTS_IDS: dict[tuple, int] = {}


@dataclass(frozen=True)
class Context:
    """What a node's datapath depends on besides its structure: the precision and the LUT specs."""

    precision: Precision
    luts: tuple[LutSpec, ...] = ()
    key: tuple = field(default=(), compare=False, repr=False)
    luts_id: int = field(default=0, compare=False, repr=False)
    window: float = field(default=math.inf, compare=False, repr=False)

    def __post_init__(self) -> None:
        p = self.precision
        object.__setattr__(self, 'key', (p.width, p.integer, p.signed, p.rounding, p.overflow, self.luts))
        object.__setattr__(self, 'luts_id', _LUTS_IDS.setdefault(self.luts, len(_LUTS_IDS)))
        # the highest bit position a cast to the precision keeps (a wrapping cast drops every bit above it;
        # a saturating one looks at all of them)
        object.__setattr__(self, 'window', p.integer - 1 if p.overflow == 'AP_WRAP' else math.inf)


class _Rec:
    """Accumulates the operations of one node."""

    __slots__ = ('v', 'mults', 'rest', 'roms', 'arg_lsb', 'block')

    def __init__(self):
        self.v = [0.0] * N_FIELDS
        # (what is multiplied, DSP cells, (wa, wb, signed a, signed b, product bits, product lsb, lsb of the
        # factors multiplied in after it within the node))
        self.mults: list[tuple[tuple, int, tuple]] = []
        self.rest = 0
        self.roms: list[tuple[int, tuple, tuple]] = []  # (lsb position of the output, LUT6 per bit, groups per bit)
        self.arg_lsb = -math.inf  # lowest argument bit a function's ROM address keeps
        self.block: tuple[float, float] | None = None  # a block ROM read: (latency of its address, read delay)

    def delta(self, d: float) -> None:
        if d > self.v[F['worst_delta']]:
            self.v[F['worst_delta']] = d


class _Store:
    """Everything computed for one context, indexed by node id."""

    __slots__ = ('vals', 'ops', 'mults', 'live', 'agg', 'rows', 'outs', 'demand', 'trim', 'low', 'roms', 'blocks', 'steps')

    def __init__(self):
        self.vals: dict[int, Val] = {}
        self.ops: dict[int, list[float]] = {}
        self.mults: dict[int, list[tuple[tuple, int]]] = {}
        self.live: dict[int, frozenset[int]] = {}
        self.agg: dict[int, tuple] = {}
        self.outs: dict[int, tuple] = {}
        self.demand: dict[int, tuple] = {}
        self.trim: dict[int, tuple] = {}
        self.low: dict[int, tuple] = {}
        self.roms: dict[int, list] = {}
        self.blocks: dict[int, tuple[float, float]] = {}  # node id -> (address latency, read delay) of its block ROM
        self.steps: dict[int, tuple[float, ...]] = {}  # ADD / MUL node id -> per child, the delay of the chain step
        # that takes it in (NaN: the chain's first operand)
        self.rows = np.zeros((1024, N_FIELDS))

    def put_row(self, sid: int, row: list[float]) -> None:
        if sid >= len(self.rows):
            grown = np.zeros((max(2 * len(self.rows), 2 * sid + 1024), N_FIELDS))
            grown[: len(self.rows)] = self.rows
            self.rows = grown
        self.rows[sid] = row


class Datapath:
    """Node-by-node interval model of the open backend (see the module docstring). One instance serves
    many precisions; results are cached per (node id, context)."""

    def __init__(self, table: dag.NodeTable):
        self.table = table
        self._stores: dict[tuple, _Store] = {}
        self._tables: dict[tuple, tuple] = {}
        self._generation = table.generation

    def sync(self) -> None:
        """Drop what was computed for an older generation of the node table (it was cleared)."""
        if self._generation != self.table.generation:
            self._stores.clear()
            self._generation = self.table.generation

    def store(self, ctx: Context) -> _Store:
        st = self._stores.get(ctx.key)
        if st is None:
            st = self._stores[ctx.key] = _Store()
        return st

    # -- public -------------------------------------------------------------------------------------
    def value(self, sid: int, ctx: Context, st: _Store | None = None) -> Val:
        st = st or self.store(ctx)
        v = st.vals.get(sid)
        if v is None:
            v = self._eval(sid, ctx, st)
        return v

    def live(self, sid: int, ctx: Context, st: _Store | None = None) -> frozenset[int]:
        """The nodes whose operations survive in the datapath of ``sid``: a node whose value is a constant
        (a table that saturates, a product by a constant that quantizes to zero) is folded away with
        everything below it that nothing else uses (da4ml's dead-code elimination)."""
        st = st or self.store(ctx)
        hit = st.live.get(sid)
        if hit is None:
            if self.value(sid, ctx, st).is_const:
                hit = frozenset()
            else:
                kids = self.table.children[sid]
                if len(kids) == 1:
                    hit = self.live(kids[0], ctx, st) | {sid}
                else:
                    hit = frozenset().union(*(self.live(c, ctx, st) for c in kids)) | {sid}
            st.live[sid] = hit
        return hit

    def ops(self, sid: int, ctx: Context) -> list[float]:
        st = self.store(ctx)
        self.value(sid, ctx, st)
        return st.ops[sid]

    def mults(self, sid: int, ctx: Context) -> list[tuple[tuple, int]]:
        """The node's variable-by-variable multipliers as (operands signature, DSP cells): identical
        multipliers in one design are one multiplier after Yosys' opt_merge."""
        st = self.store(ctx)
        self.value(sid, ctx, st)
        return st.mults[sid]

    def aggregate(self, nodes: frozenset[int] | set[int], ctx: Context) -> tuple[np.ndarray, float, float, float]:
        """(sum of the nodes' operation records, worst single-operation delay, DSP cells and multipliers
        after merging identical multipliers) over ``nodes`` (evaluated already)."""
        st = self.store(ctx)
        if not nodes:
            return np.zeros(N_FIELDS), 0.0, 0.0, 0.0
        idx = np.fromiter(nodes, dtype=np.int64, count=len(nodes))
        rows = st.rows[idx]
        acc = rows.sum(axis=0)
        worst = float(rows[:, F['worst_delta']].max())
        dsp = n_mul = 0.0
        if acc[F['n_mul']]:
            merged: dict[tuple, int] = {}
            for s in nodes:
                for k, n, *_ in st.mults[s]:
                    merged[k] = n
            dsp, n_mul = float(sum(merged.values())), float(len(merged))
        return acc, worst, dsp, n_mul

    def aligned_latency(self, live: frozenset[int], roots: Sequence[int], out_delays: Sequence[float], cutoff: float,
                        st: _Store) -> tuple[float, dict[int, float]]:
        """The slowest output's latency once every block-ROM read starts a pipeline stage, as
        ``hls_gen.backends.roms.register_block_reads`` moves them (its address is a stage's registered input;
        what follows moves with it). Node by node: a node keeps its own delay over its slowest child, so a node
        whose children move by different amounts is placed late by at most their difference, except an ADD or
        MUL chain, replayed step by step (``_Store.steps``). A read whose address is a design input at latency
        0 stays (the input register is its register); one whose address is computed in the stage of a block
        read it depends on starts two stages on. Returns that latency and each live node's."""
        vals, children, op = st.vals, self.table.children, self.table.op
        c = cutoff + 1e-9
        new: dict[int, float] = {}
        read_stage: dict[int, float] = {}  # the latest stage of a block read a live node depends on
        for s in sorted(live):
            kids = children[s]
            read_stage[s] = max((read_stage.get(k, -1.0) for k in kids), default=-1.0)
            steps = st.steps.get(s)
            if steps is not None:
                lat = 0.0
                for k, d in zip(kids, steps):
                    nk = new.get(k, vals[k].lat)
                    lat = nk if math.isnan(d) else max(lat, nk) + d
                new[s] = lat
                continue
            old_base = max((vals[k].lat for k in kids), default=0.0)
            base = max((new.get(k, vals[k].lat) for k in kids), default=0.0)
            block = st.blocks.get(s)
            if block is None:
                new[s] = base + (vals[s].lat - old_base)
                continue
            addr_lat, d = block
            addr = base + (addr_lat - old_base)
            if not (addr == 0.0 and all(op[k] == dag.VAR for k in kids)):
                stage = math.floor(addr / c)
                addr = (stage + (2 if read_stage[s] == stage else 1)) * cutoff
            new[s] = addr + d
            read_stage[s] = math.floor(new[s] / c)
        return max(new.get(r, vals[r].lat) + dl for r, dl in zip(roots, out_delays)), new  # a constant root is not live

    def trimmed(self, live: frozenset[int], roots: Sequence[int], ctx: Context) -> tuple[float, ...]:
        """What survives Yosys' removal of logic nobody reads ('demanded bits'): a backward pass gives every
        live node the highest and the lowest bit its consumers read. A wrapping cast drops high bits, a
        truncation low ones; a bit below every other operand of an adder passes through without carry, a
        power-of-two constant shifts the window, a multiplier needs every low bit (carries). Then

        - a product whose high bits are dead loses the partial products that land wholly in them; identical
          multipliers are merged. With every dead bit gone this is a lower bound on the DSP cells;
          ``_mapped_dsp`` replays what Yosys actually removes (two ``wreduce`` passes, see
          ``_demand_pass``);
        - a ROM output bit outside the window costs nothing (its LUTs are removed);
        - an input bit outside the window is not registered.

        Returns (DSP cells if every dead partial product went, DSP cells after Yosys' map_dsp, multipliers, partial-product
        adder bits, ROM LUT6 blocks, ROM groups, input bits, {node: bits read})."""
        st = self.store(ctx)
        if len(roots) == 1:
            hit = st.trim.get(roots[0])
            if hit is not None:
                return hit
        p = ctx.precision
        out_low = -p.fractional - (1 if p.rounding != 'AP_TRN' else 0)
        high: dict[int, float] = {}
        low: dict[int, float] = {}
        for r in roots:
            if r in live:
                high[r] = max(high.get(r, -math.inf), ctx.window)
                low[r] = min(low.get(r, math.inf), out_low)
        t = self.table
        children = t.children
        merged: dict[tuple, tuple[int, int, int]] = {}
        widths: dict[int, int] = {}  # bits of each value that something reads (what a register keeps)
        rom_lut6 = rom_groups = in_bits = 0.0
        n_mults = 0
        for s in sorted(live, reverse=True):  # parents have larger ids than their children
            d = high.get(s, math.inf)
            lo = low.get(s, -math.inf)
            for c, (kind, x), lrule in zip(children[s], st.demand[s], st.low[s]):
                if c not in live:
                    continue
                dc = d + x if kind == 'rel' else x
                if dc > high.get(c, -math.inf):
                    high[c] = dc
                lk = lrule[0]
                lc = min(lo, lrule[1]) if lk == 'min' else lo + lrule[1] if lk == 'rel' else lrule[1] if lk == 'fix' else -math.inf
                if lc < low.get(c, math.inf):
                    low[c] = lc
            n_mults += len(st.mults[s])
            for key, _, (wa, wb, sa, sb, wy, lsb, rest), _ in st.mults[s]:
                # every product bit that nothing reads gone (an upper bound on what Yosys removes)
                y = wy if d == math.inf else max(min(wy, int(d - rest) - lsb + 1), 1)
                n = mul_split(wa, wb, sa, sb, y)
                # identical multipliers are one cell (opt_merge runs before wreduce): it delivers the most
                # bits any instance reads, and (DSP cells, adder bits) only grow with those bits, so the
                # largest pair wins -- not the first met, which would depend on the order of the node ids
                old = merged.get(key)
                if old is None or n[:2] > old[:2]:
                    merged[key] = n
            for lsb, bl, bg in () if s in st.blocks else st.roms[s]:  # a block ROM's bits are in block RAM, not LUTs
                j0 = 0 if lo == -math.inf else max(int(lo) - lsb, 0)
                j1 = len(bl) if d == math.inf else min(int(d) - lsb + 1, len(bl))
                if j1 > j0:
                    rom_lut6 += sum(bl[j0:j1])
                    rom_groups += sum(bg[j0:j1])
            v = st.vals[s]
            k, i, f = kif(v)
            top = min(i + k - 1, d)
            bottom = max(-f, lo)
            w = max(top - bottom + 1, 0)
            if v.eff is not None:
                w = min(w, v.eff)
            widths[s] = w
            if t.op[s] == dag.VAR:
                in_bits += w
        deep = float(sum(v[0] for v in merged.values()))
        # one multiplier: what it reads is what the first pass leaves it, the same as every dead bit gone
        mapped = deep if n_mults <= 1 else self._mapped_dsp(live, roots, ctx, st)
        out = (deep, mapped, float(len(merged)), float(sum(v[1] for v in merged.values())), float(rom_lut6), float(rom_groups),
               float(in_bits), widths)
        if len(roots) == 1:
            st.trim[roots[0]] = out
        return out

    def _demand_pass(self, live, roots, ctx: Context, st: _Store, y1: dict | None) -> dict:
        """One of Yosys' two ``wreduce`` passes over the multipliers, as the highest bit each live node must
        deliver and the product bits of each multiplier ((node, index) -> bits).

        ``y1`` is None for the first pass (``synth_xilinx``'s prepare step): it narrows a product to the
        bits its consumers read and narrows the operands of adders and registers to their result, but it
        leaves a multiplier's operands whole (``$mul`` ports are not cut to the product's width). ``mul2dsp``
        then splits each multiplier as wide as the first pass left it (``y1``). The second pass (the
        ``wreduce`` after ``mul2dsp``) sees the partial products: an operand bit above every live partial
        product's slice is unread, so the multiplier that computes it is narrowed in turn, and so on down
        the datapath. Checked against Yosys on standalone multipliers and chains of three
        (tests/test_costmodel_synth.py) and on every synthesized design of the training and fresh sets."""
        high: dict[int, float] = {}
        for r in roots:
            if r in live:
                high[r] = max(high.get(r, -math.inf), ctx.window)
        ys: dict[tuple[int, int], int] = {}
        children = self.table.children
        for s in sorted(live, reverse=True):
            d = high.get(s, math.inf)
            mults = st.mults[s]
            if not mults:
                for c, (kind, x) in zip(children[s], st.demand[s]):
                    if c in live:
                        dc = d + x if kind == 'rel' else x
                        if dc > high.get(c, -math.inf):
                            high[c] = dc
                continue
            kid_vals = [st.vals[c] for c in children[s]]
            kid_high = [-math.inf] * len(kid_vals)
            below = math.inf  # bits of the product of mults[j] read by what comes after it in the node
            for j in range(len(mults) - 1, -1, -1):
                _, _, (wa, wb, sa, sb, wy, lsb, _), (a, b, out) = mults[j]
                y = wy
                if j == len(mults) - 1 and d != math.inf:
                    y = max(min(wy, int(d) - lsb + 1), 1)
                if y1 is not None:
                    y_live = min(y, int(below)) if below != math.inf else y
                    y_gen = y1[(s, j)]
                    _, ca, cb = mul_tiles(wa, wb, sa, sb, y_gen, y_live)
                    ys[(s, j)] = y_live
                else:
                    ys[(s, j)] = y
                    ca, cb = math.inf, math.inf
                below = math.inf
                for v, cov in ((a, ca), (b, cb)):
                    hit = False
                    for i, kv in enumerate(kid_vals):
                        if v is kv:
                            kid_high[i] = max(kid_high[i], _lsb(kv) + cov - 1)
                            hit = True
                    if hit:
                        continue
                    if j and v is mults[j - 1][3][2]:
                        below = cov
                    else:  # the first kid behind a constant factor (shift-adds): read whole
                        kid_high[0] = math.inf
            for c, h in zip(children[s], kid_high):
                if c in live and h > high.get(c, -math.inf):
                    high[c] = h
        return ys

    def _mapped_dsp(self, live, roots, ctx: Context, st: _Store) -> float:
        """DSP cells after Yosys' ``map_dsp`` (see ``_demand_pass``), identical multipliers merged. Only worth
        calling with two multipliers or more: the second pass narrows one only through another's partial
        products, so a lone multiplier keeps what the first pass, and ``trimmed``'s count, give it."""
        y1 = self._demand_pass(live, roots, ctx, st, None)
        y2 = self._demand_pass(live, roots, ctx, st, y1)
        merged: dict[tuple, int] = {}
        for (s, j), yl in y2.items():
            key, _, (wa, wb, sa, sb, _, _, _), _ = st.mults[s][j]
            n = mul_tiles(wa, wb, sa, sb, y1[(s, j)], yl)[0]
            if n > merged.get(key, -1):
                merged[key] = n
        return float(sum(merged.values()))

    def subtree(self, sid: int, ctx: Context) -> tuple[frozenset[int], tuple]:
        """(live nodes, ``aggregate`` of them) of one output, cached."""
        st = self.store(ctx)
        hit = st.agg.get(sid)
        if hit is None:
            live = self.live(sid, ctx, st)
            hit = st.agg[sid] = (live, self.aggregate(live, ctx))
        return hit

    def output(self, sid: int, ctx: Context) -> tuple[Val, np.ndarray]:
        """The value of an output (cast to the precision) and the operations the cast adds (cached)."""
        st = self.store(ctx)
        hit = st.outs.get(sid)
        if hit is None:
            rec = _Rec()
            v = self.cast(self.value(sid, ctx, st), ctx, rec)
            hit = st.outs[sid] = (v, np.asarray(rec.v))
        return hit

    # -- evaluation ---------------------------------------------------------------------------------
    def _eval(self, sid: int, ctx: Context, st: _Store) -> Val:
        t = self.table
        # children first (iteratively deep trees would recurse; SR trees are shallow)
        kids = [st.vals.get(c) or self._eval(c, ctx, st) for c in t.children[sid]]
        op = t.op[sid]
        rec = _Rec()
        demand = None  # per child: ('rel', offset) -> the child's bits above (node demand + offset) are dead
        low = None  # per child, the lowest bit it must deliver, given the node's own lowest demanded bit L:
        # ('min', v) -> min(L, v); ('rel', o) -> L + o; ('fix', v) -> v; ('all',) -> every bit
        if op in (dag.ADD, dag.NEG, dag.VAR, dag.CONST):
            demand = (('rel', 0),) * len(kids)
        if op == dag.NEG:
            low = (('min', math.inf),)
        elif op == dag.ADD:
            # a bit below every other operand's lowest bit passes through the adder with no carry
            lsbs = [_lsb(k) for k in kids]
            c = t.const[sid]
            if not math.isnan(c):
                cq = self.quantize_const(c, ctx)
                if cq:
                    lsbs.append(-const_f(cq))
            low = tuple(('min', min((x for j, x in enumerate(lsbs) if j != i), default=math.inf)) for i in range(len(kids)))
        if op == dag.VAR:
            k, i, f = ctx.precision.kif
            step = 2.0**-f
            v = Val(-(2.0**i) * k, 2.0**i - step, step, 0.0)
        elif op == dag.CONST:
            v = const(self.quantize_const(t.param[sid], ctx))
        elif op == dag.ADD:
            c = t.const[sid]
            out = const(self.quantize_const(c, ctx)) if not math.isnan(c) else kids[0]
            rest = kids if not math.isnan(c) else kids[1:]
            steps = [] if not math.isnan(c) else [math.nan]
            for a in rest:
                before = out.lat
                out = self.add(out, a, rec)
                steps.append(out.lat - max(before, a.lat))
            v = out
        elif op == dag.MUL:
            c = t.const[sid]
            lsbs = [_lsb(k) for k in kids]
            suffix = [sum(lsbs[i:]) for i in range(len(lsbs) + 1)]
            if not math.isnan(c) and c != 1:
                cq = self.quantize_const(abs(c), ctx)
                out = const(cq)
                steps = []
                for i, a in enumerate(kids):
                    rec.rest = suffix[i + 1]
                    before = out.lat
                    out = self.mul(out, a, rec)
                    steps.append(out.lat - max(before, a.lat))
                v = self.neg(out) if c < 0 else out
                steps[-1] += v.lat - out.lat  # the negation: part of the last step
                c_lsb = -const_f(cq) if cq else 0
            else:
                out = kids[0]
                steps = [math.nan]
                for i, a in enumerate(kids[1:], 1):
                    rec.rest = suffix[i + 1]
                    before = out.lat
                    out = self.mul(out, a, rec)
                    steps.append(out.lat - max(before, a.lat))
                v = out
                c_lsb = 0
            total = suffix[0] + c_lsb
            demand = tuple(('rel', -(total - lsbs[i])) for i in range(len(kids)))
            var_kids = [i for i, k in enumerate(kids) if not k.is_const]
            if len(var_kids) == 1:
                factor = 1.0 if math.isnan(c) else self.quantize_const(abs(c), ctx)
                for k in kids:
                    if k.is_const:
                        factor *= abs(k.lo)
                if factor > 0 and math.log2(factor) % 1 == 0:  # a shift: the dead low bits move with it
                    shift = int(round(math.log2(factor)))
                    low = tuple(('rel', -shift) if i == var_kids[0] else ('all',) for i in range(len(kids)))
        elif op == dag.NEG:
            v = self.neg(kids[0])
        elif op in (dag.SQUARE, dag.CUBE, dag.POW_INT):
            n = 2 if op == dag.SQUARE else 3 if op == dag.CUBE else int(t.param[sid])
            base = kids[0]
            lb = _lsb(base)
            rec.rest = (n - 2) * lb
            out = self.mul(base, base, rec, same=True)
            for j in range(n - 2):
                rec.rest = (n - 3 - j) * lb
                out = self.mul(out, base, rec)
            v = out
            demand = (('rel', -(n - 1) * lb),)
        elif op == dag.ABS:
            v = self.cast(self.abs(self.cast(kids[0], ctx, rec), rec), ctx, rec)
        elif op in dag.LUT_CODES:
            v = self.lut(dag.OPS[op], kids[0], ctx, rec)
        else:
            name = dag.OPS[op]
            arg = kids[0]
            if name in ('sqrt_abs', 'log_abs', 'pow_abs'):
                arg = self.cast(self.abs(self.cast(arg, ctx, rec), rec), ctx, rec)
                name = {'sqrt_abs': 'sqrt', 'log_abs': 'log'}.get(name, name)
            v = self.native(name, t.param[sid], arg, ctx, rec)
        if demand is None:  # function arguments, abs: cast to the precision first
            demand = (('fix', ctx.window),) * len(kids)
        if low is None:
            low = (('fix', rec.arg_lsb),) * len(kids) if (op in dag.FUNC_CODES or op in dag.LUT_CODES) else (('all',),) * len(kids)
        if op in (dag.ADD, dag.MUL):
            st.steps[sid] = tuple(steps)
        base_lat = max((k.lat for k in kids), default=0.0)
        rec.v[F['node_delay']] = max(v.lat - base_lat, 0.0)
        if v.key is None:
            v.key = ('n', sid)
        st.vals[sid] = v
        st.ops[sid] = rec.v
        st.mults[sid] = rec.mults
        st.demand[sid] = demand
        st.low[sid] = low
        st.roms[sid] = rec.roms
        if rec.block is not None:
            st.blocks[sid] = rec.block
        st.put_row(sid, rec.v)
        return v

    # -- arithmetic (da4ml FixedVariable semantics on intervals) ------------------------------------
    @staticmethod
    def quantize_const(c: float, ctx: Context) -> float:
        return float(ctx.precision.quantize(c))

    @staticmethod
    def neg(a: Val) -> Val:
        return Val(-a.hi, -a.lo, a.step, a.lat)

    def add(self, a: Val, b: Val, rec: _Rec) -> Val:
        if b.is_const:
            return self.cadd(a, b.lo, rec)
        if a.is_const:
            return self.cadd(b, a.lo, rec)
        r = rec.v
        r[F['n_add']] += 1
        r[F['add_bits']] += add_bits(a, b)
        rec.delta(1.0)
        return Val(a.lo + b.lo, a.hi + b.hi, min(a.step, b.step), max(a.lat, b.lat) + 1.0)

    def cadd(self, a: Val, c: float, rec: _Rec) -> Val:
        if c == 0:
            return a
        if a.is_const:
            return const(a.lo + c)
        f = const_f(c)
        r = rec.v
        r[F['n_cadd']] += 1
        # A constant added straight to an input (or its negation or shift: latency 0) is a carry chain whose
        # sum inputs are the register bits or their inverses: no LUT at all (x0 - 3.6, -x0 + 2.7, 2*x0 + 1.3
        # synthesize to CARRY and INV cells only). After other logic it can cost LUTs (cadd_bits).
        r[F['cadd_in_bits' if a.lat == 0 else 'cadd_bits']] += max(math.ceil(math.log2(abs(c) + 2.0**-f)) + f, 0)
        return Val(a.lo + c, a.hi + c, min(a.step, 2.0**-f), a.lat)

    @staticmethod
    def scale(a: Val, p: float) -> Val:
        lo, hi = a.lo * p, a.hi * p
        if p < 0:
            lo, hi = hi, lo
        return Val(lo, hi, a.step * abs(p), a.lat)

    def mul_const(self, a: Val, c: float, rec: _Rec) -> Val:
        if c == 0:
            return const(0.0)
        if a.is_const:
            return const(a.lo * c)
        if math.log2(abs(c)) % 1 == 0:
            return self.scale(a, c)
        terms = [(self.scale(a, p), p) for p in csd_powers(c)]
        while len(terms) > 1:
            v1, p1 = terms.pop()
            v2, p2 = terms.pop()
            v = self.add(v1, v2, rec)
            p = p1 + p2
            lo, hi = sorted((a.lo * p, a.hi * p))
            step = v.step
            k = int(lo < 0)
            i = math.ceil(math.log2(max(-lo, hi + step)))
            terms.append((self.quantize(v, k, i, -int(round(math.log2(step))), 'WRAP', 'TRN', rec), p))
        out = terms[0][0]
        return Val(out.lo, out.hi, out.step, out.lat, ('c', c, a.key))

    def mul(self, a: Val, b: Val, rec: _Rec, same: bool = False) -> Val:
        if a.is_const:
            return self.mul_const(b, a.lo, rec)
        if b.is_const:
            return self.mul_const(a, b.lo, rec)
        if same:
            p0, p1 = a.lo * a.lo, a.hi * a.hi
            lo, hi = (min(p0, p1, 0.0), max(p0, p1, 0.0)) if a.lo < 0 < a.hi else (min(p0, p1), max(p0, p1))
        else:
            ps = (a.hi * b.lo, a.lo * b.hi, a.hi * b.hi, a.lo * b.lo)
            lo, hi = min(ps), max(ps)
        ka, ia, fa = kif(a)
        kb, ib, fb = kif(b)
        wa, wb = ka + ia + fa, kb + ib + fb
        d = float(max(wa, wb))  # da4ml's delay uses the declared widths
        if a.eff is not None:
            wa = min(wa, a.eff)
        if b.eff is not None:
            wb = min(wb, b.eff)
        r = rec.v
        r[F['n_mul']] += 1
        r[F['mul_bits']] += wa + wb
        out = Val(lo, hi, a.step * b.step, max(a.lat, b.lat) + d, ('*', a.key, b.key))
        n_dsp, add_b, soft = mul_split(wa, wb, bool(ka), bool(kb), bits(out))
        r[F['mul_dsp']] += n_dsp
        r[F['mul_add_bits']] += add_b
        r[F['mul_area']] += soft
        r[F['mul_maxw']] = max(r[F['mul_maxw']], d)
        rec.mults.append((out.key, n_dsp, (wa, wb, bool(ka), bool(kb), bits(out), _lsb(out), rec.rest), (a, b, out)))
        rec.delta(d)
        return out

    def mux(self, lo: float, hi: float, step: float, lat: float, cost: float, rec: _Rec, with_const: bool = False) -> Val:
        r = rec.v
        r[F['n_mux']] += 1
        r[F['mux_bits']] += cost / 2
        # hls_gen.tracing.latency_cutoff takes a constant operand (da4ml gives it its consumer's latency and
        # no inputs) as an operation as slow as that latency: a clamp against a constant sets the cutoff.
        rec.delta(lat + 1.0 if with_const else 1.0)
        return Val(lo, hi, step, lat + 1.0)

    def abs(self, a: Val, rec: _Rec) -> Val:
        if a.lo >= 0:
            return a
        if a.is_const:
            return const(abs(a.lo))
        return self.mux(0.0, max(-a.lo, a.hi), a.step, a.lat, add_bits(self.neg(a), a), rec)

    def max_of(self, a: Val, c: float, rec: _Rec) -> Val:
        if a.lo >= c:
            return a
        if a.hi <= c:
            return const(c)
        if c == 0:
            step = a.step
            return Val(0.0, math.floor(a.hi / step) * step, step, a.lat)
        cv = const(c)
        return self.mux(max(a.lo, c), max(a.hi, c), min(a.step, cv.step), a.lat, add_bits(cv, a), rec, True)

    def min_of(self, a: Val, c: float, rec: _Rec) -> Val:
        if a.hi <= c:
            return a
        if a.lo >= c:
            return const(c)
        if c == 0:
            step = a.step
            return Val(math.floor(a.lo / step) * step, 0.0, step, a.lat)
        cv = const(c)
        return self.mux(min(a.lo, c), min(a.hi, c), min(a.step, cv.step), a.lat, add_bits(a, cv), rec, True)

    def quantize(self, a: Val, k: int, i: int, f: int, over: str, rnd: str, rec: _Rec) -> Val:
        """da4ml ``FixedVariable.quantize`` (WRAP, SAT, SAT_SYM; TRN, RND) on an interval."""
        if k + i + f <= 0:
            return const(0.0)
        if a.is_const:
            if a.lo == 0:
                return a
            step = 2.0**-f
            top = 2.0**i
            low = -top * k
            val = a.lo
            if over != 'WRAP':
                val = min(max(val, low if over == 'SAT' else -(top - step) * k), top - step)
            eps = step / 2 if rnd == 'RND' else 0.0
            val = (math.floor(val / step + eps) * step - low) % (2 * top) + low
            return const(val)
        _k, _i, _f = kif(a)
        if k >= _k and i >= _i and f >= _f:
            if over != 'SAT_SYM' or i > _i:
                return a
        if f < _f and rnd == 'RND':
            return self.quantize(self.cadd(a, 2.0 ** (-f - 1), rec), k, i, f, over, 'TRN', rec)
        if over in ('SAT', 'SAT_SYM'):
            step = 2.0**-f
            top = 2.0**i
            high = top - step
            low = -top * k if over == 'SAT' else -high * k
            ff = f + 1 if rnd == 'RND' else f
            v = self.quantize(a, _k, _i, ff, 'WRAP', 'TRN', rec) if _k + _i + ff > 0 else a
            v = self.min_of(self.max_of(v, low, rec), high, rec)
            return self.quantize(v, k, i, f, 'WRAP', rnd, rec)
        f = min(f, _f)
        if i >= _i:
            k = min(k, _k)
        step = 2.0**-f
        if a.lo < 0:
            low_f = math.floor(a.lo / step) * step
            _i = max(_i, math.ceil(math.log2(-low_f)))
        i = min(i, _i + int(k == 0 and _k == 1))
        if i + k + f <= 0:
            return const(0.0)
        low = -k * 2.0**i
        high = 2.0**i - step
        if a.lo >= low and a.hi <= high:
            low = math.floor(a.lo / step) * step
            high = math.floor(a.hi / step) * step
        return Val(low, high, step, a.lat)

    def cast(self, a: Val, ctx: Context, rec: _Rec) -> Val:
        p = ctx.precision
        k, i, f = p.kif
        over = {'AP_WRAP': 'WRAP', 'AP_SAT': 'SAT', 'AP_SAT_SYM': 'SAT_SYM'}.get(p.overflow, 'WRAP')
        rnd = 'RND' if p.rounding == 'AP_RND' else 'TRN'
        return self.quantize(a, k, i, f, over, rnd, rec)

    def rom(self, a: Val, out: tuple, rec: _Rec, lut: bool) -> Val:
        lo, hi, step, lut6, chunks, groups, active, bit_lut6, bit_groups, eff = out
        if lo == hi:
            return const(lo)
        b_in = bits(a)
        out_v = Val(lo, hi, step)
        b_out = bits(out_v)
        d = float(max(b_in - 6, 1))
        cost = 2.0 ** max(b_in - 5, 0) * math.ceil(b_out / 2)
        if b_in < 5:
            cost *= b_in / 5
        r = rec.v
        r[F['n_rom']] += 1
        r[F['rom_addr_bits']] += b_in
        entries = r_entries(a)
        r[F['rom_entries']] += entries
        r[F['rom_out_bits']] += b_out
        r[F['rom_cost']] += cost
        r[F['rom_lut6']] += lut6
        r[F['rom_chunks']] += chunks
        r[F['rom_groups']] += groups
        r[F['rom_bits_active']] += active
        r[F['n_lut_rom' if lut else 'n_native_rom']] += 1
        rec.roms.append((_lsb(out_v), bit_lut6, bit_groups))
        rec.delta(d)
        if lut and entries * b_out >= BLOCK_MIN_BITS:  # hls_gen.backends.roms: block RAM, registered read
            r[F['n_block_rom']] += 1
            r[F['block_bram']] += bram18(b_in, b_out)
            rec.block = (a.lat, d)
        out_v.lat = a.lat + d
        out_v.eff = eff
        return out_v

    def native(self, name: str, param: float, arg: Val, ctx: Context, rec: _Rec) -> Val:
        x = self.cast(arg, ctx, rec)
        prec = ctx.precision
        if x.is_const:
            return const(native_value(name, param, x.lo, prec))
        k, i, f = kif(x)
        while k + i + f > NATIVE_MAX_ADDRESS_BITS and f > -i:
            f -= 1
        if (k, i, f) != kif(x):
            x = self.quantize(x, k, i, f, 'WRAP', 'TRN', rec)
        if prec.rounding == 'AP_TRN':  # truncations only: the argument's bits below the address are dead
            rec.arg_lsb = -f
        key = ('native', name, param, x.lo, x.hi, x.step, ctx.key[:5])
        out = self._tables.get(key)
        if out is None:
            out = _table_range(native_contents(name, param, x.lo, x.hi, x.step, prec))
            self._tables[key] = out
        return self.rom(x, out, rec, lut=False)

    def lut(self, name: str, arg: Val, ctx: Context, rec: _Rec) -> Val:
        spec = _spec_for(name, ctx)
        layout = _layout(spec, ctx.precision)
        x = self.cast(arg, ctx, rec)
        start, base_div, samples = layout
        n = spec.table_size
        if x.is_const:
            idx = int(np.clip(math.floor((x.lo - start) * base_div), 0, n - 1))
            return const(float(samples[idx]))
        if base_div > 0 and base_div & (base_div - 1) == 0 and ctx.precision.rounding == 'AP_TRN':
            rec.arg_lsb = -int(base_div).bit_length() + 1  # floor((x - start) * 2**s) reads x down to 2**-s
        idx = self.cadd(x, -start, rec) if start != 0 else x
        idx = self.mul_const(idx, float(base_div), rec)
        idx = self.quantize(idx, 1, 40, 0, 'WRAP', 'TRN', rec)
        idx = self.min_of(self.max_of(idx, 0.0, rec), float(n - 1), rec)
        lo, hi = int(idx.lo), int(idx.hi)
        if lo == hi:
            return const(float(samples[lo]))
        stride = max(int(round(idx.step)), 1)  # an argument coarser than the table reaches every stride-th entry
        key = ('lut', spec, ctx.key[:5], lo, hi, stride)
        out = self._tables.get(key)
        if out is None:
            out = _table_range(samples[lo : hi + 1 : stride])
            self._tables[key] = out
        return self.rom(idx, out, rec, lut=True)


def _apply(name: str, param: float, x: np.ndarray) -> np.ndarray:
    with np.errstate(all='ignore'):
        if name == 'pow_abs':
            return np.abs(x) ** param
        return float_function(name)(x)


def native_value(name: str, param: float, x: float, prec: Precision) -> float:
    """What a native function's ROM holds at the constant argument ``x``."""
    return float(_saturate(np.array([_apply(name, param, np.array([x]))[0]]), prec)[0])


def native_contents(name: str, param: float, lo: float, hi: float, step: float, prec: Precision) -> np.ndarray:
    """A native function's ROM contents over the addresses lo, lo + step, ..., hi."""
    return _saturate(native_raw(name, param, lo, hi, step), prec)


def native_raw(name: str, param: float, lo: float, hi: float, step: float) -> np.ndarray:
    """The float function over the addresses lo, lo + step, ..., hi, before saturation to the precision."""
    n = int(round((hi - lo) / step)) + 1
    return _apply(name, param, lo + np.arange(n) * step)


def _saturate(v: np.ndarray, prec: Precision) -> np.ndarray:
    v = np.where(np.isnan(v), 0.0, v)
    v = np.clip(v, prec.min_value, prec.max_value)
    return np.floor(v / prec.step) * prec.step


def _table_range(values: np.ndarray) -> tuple[float, float, float, float, float]:
    """(min, max, step, LUT6 estimate, non-constant 64-entry blocks) of a ROM's contents. The step is the
    coarsest power of two all values are on. The ROM is built from LUTs: each output bit is a function of
    the address, which splits into 64-entry blocks (one LUT6 each, unless the block is constant); identical
    blocks of one bit can share a LUT. The estimate counts the distinct non-constant blocks per bit."""
    lo, hi = float(np.min(values)), float(np.max(values))
    if lo == hi:
        return lo, hi, 1.0, 0.0, 0.0, 0.0, 0.0, (), (), None
    nz = values[values != 0]
    f = max(const_f(float(x)) for x in np.unique(nz)[:64]) if len(nz) <= 64 else _max_const_f(nz)
    step = 2.0**-f
    b_out = bits(Val(lo, hi, step))
    ints = np.round(values / step).astype(np.int64) & ((1 << b_out) - 1)
    m = -(-len(ints) // 64) * 64
    if m != len(ints):
        ints = np.concatenate([ints, np.full(m - len(ints), ints[-1])])
    # every output bit at once: bit j of entry i is cols[i, j]; pat[b, j] is bit j over block b's 64 entries
    cols = ((ints[:, None] >> np.arange(b_out)) & 1).astype(np.uint64)
    pat = (cols.reshape(-1, 64, b_out) << np.arange(64, dtype=np.uint64)[None, :, None]).sum(axis=1, dtype=np.uint64)
    ones = np.uint64(0xFFFFFFFFFFFFFFFF)
    varying = (pat != 0) & (pat != ones)
    chunks_bit = varying.sum(axis=0)
    # distinct non-constant blocks per bit: sort each bit's blocks (constants as 0) and count the changes
    srt = np.sort(np.where(varying, pat, np.uint64(0)), axis=0)
    lut6_bit = (srt[:1] != 0).sum(axis=0) + ((srt[1:] != srt[:-1]) & (srt[1:] != 0)).sum(axis=0)
    active_bit = varying.any(axis=0) | (pat != pat[:1]).any(axis=0)
    # 256-entry groups (a slice's F7/F8 multiplexers) that are not one constant
    n_groups = -(-len(pat) // 4)
    padded = np.concatenate([pat, np.repeat(pat[-1:], n_groups * 4 - len(pat), axis=0)]).reshape(n_groups, 4, b_out)
    nonuniform = (padded != padded[:, :1]).any(axis=1)
    first_varying = (padded[:, 0] != 0) & (padded[:, 0] != ones)
    groups_bit = np.where(active_bit, (nonuniform | first_varying).sum(axis=0), 0)
    bit_lut6 = [int(x) for x in lut6_bit]
    bit_groups = [int(x) for x in groups_bit]
    lut6, chunks, groups, active = sum(bit_lut6), int(chunks_bit.sum()), sum(bit_groups), int(active_bit.sum())
    # Yosys keeps the bits below the highest one that is not a copy of the bit above it (the sign) or zero
    if lo < 0:
        changes = np.flatnonzero((cols[:, :-1] != cols[:, 1:]).any(axis=0))
        eff = (int(changes[-1]) if len(changes) else -1) + 2
    else:
        nonzero = np.flatnonzero(cols.any(axis=0))
        eff = (int(nonzero[-1]) if len(nonzero) else -1) + 1
    return lo, hi, step, float(lut6), float(chunks), float(groups), float(active), tuple(bit_lut6), tuple(bit_groups), max(eff, 1)


def _max_const_f(values: np.ndarray) -> int:
    m, e = np.frexp(np.abs(values))
    n = (m * 9007199254740992.0).astype(np.int64)
    tz = np.log2((n & -n).astype(np.float64)).astype(np.int64)
    return int(np.clip(53 - tz - e, -32, 32).max())


_LAYOUTS: dict[tuple, tuple[float, int, np.ndarray]] = {}


def _layout(spec: LutSpec, prec: Precision) -> tuple[float, int, np.ndarray]:
    key = (spec, prec)
    hit = _LAYOUTS.get(key)
    if hit is None:
        from hls_gen.tables import lut_layout

        lay = lut_layout(spec, prec)
        hit = (lay.start, int(lay.base_div), np.asarray(lay.samples, dtype=np.float64))
        if len(_LAYOUTS) > 4096:
            _LAYOUTS.clear()
        _LAYOUTS[key] = hit
    return hit


def _spec_for(name: str, ctx: Context) -> LutSpec:
    for s in ctx.luts:
        if s.name == name:
            return s
    return LutSpec.default(name[: -len('_lut')])


__all__ = ['Context', 'Datapath', 'OP_FIELDS', 'Val', 'bits', 'chain_dsp', 'const_f', 'csd_digits', 'csd_powers', 'dsp_count', 'kif']
