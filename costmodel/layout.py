"""The cost model's node layout, defined once for its two engines.

Both engines (the reference, ``fixedpoint`` + ``features``, and the compiled kernels, ``kernels`` through
``fastpath``) read the same numbers by the same indices; this module owns them:

- **operation codes**: ``OPS`` (leaves, every operator of ``hls_gen.operators``, every LUT function) and
  the code of each, as ``dag.NodeTable`` stores them. The kernels compare codes with these names and rely
  on the order checked below (functions, then LUT functions, last);
- **the operation record**: ``OP_FIELDS``, what one node adds to the datapath, and its column indices
  (``I_*``);
- **the feature row**: ``FEATURES`` in groups (design, DAG, calibration, datapath), the columns both engines
  fill, and the helpers for the design group's columns;
- **the kernels' stores**: the columns of their per-context arrays (values ``V``, multipliers ``M_*``,
  edges, tables, counters, the precision record) and their status and error codes;
- **the records** the kernels take (``Nodes``, ``Store``, ``CostTable``, ``Marks``, ``Batch``,
  ``Columns``, ``Scratch``): named tuples of arrays, so a kernel call names what it passes.

``DIGEST`` is a hash of every constant here. numba caches compiled kernels keyed to their own source file
only, and compiles the values of this module's constants into them: ``kernels`` drops its cache when the
digest it was compiled with differs (``key_cache_to_layout``, called by ``kernels`` at import).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from hls_gen import LutSpec, Precision
from hls_gen.backends.roms import BLOCK_MIN_BITS  # noqa: F401 - the backend's rule: a <fn>_lut table of this many bits is a block ROM
from hls_gen.operators import LUT_FUNCTIONS, OPERATORS

# -- operation codes --------------------------------------------------------------------------------------

# The node vocabulary: leaves, then every table operator, then every LUT function. Binary '-' and '/'
# never appear (sympy writes them as + neg and * inv) but keep their slots so codes follow the table.
OPS: tuple[str, ...] = ('var', 'const', *(op.name for op in OPERATORS), *sorted(LUT_FUNCTIONS))
OP_CODE: dict[str, int] = {name: i for i, name in enumerate(OPS)}
VAR, CONST, ADD, SUB, MUL, DIV, NEG = (OP_CODE[n] for n in ('var', 'const', '+', '-', '*', '/', 'neg'))
SQUARE, CUBE, POW_INT, INV, ABS, POW_ABS = (OP_CODE[n] for n in ('square', 'cube', 'pow_int', 'inv', 'abs', 'pow_abs'))
SQRT, SQRT_ABS, LOG, LOG_ABS = (OP_CODE[n] for n in ('sqrt', 'sqrt_abs', 'log', 'log_abs'))
LUT_CODES = frozenset(OP_CODE[n] for n in LUT_FUNCTIONS)
FUNC_CODES = frozenset(OP_CODE[op.name] for op in OPERATORS if op.is_function) - {ABS}
FUNC0 = min(FUNC_CODES)  # the first function code: the kernels treat FUNC0 <= code < LUT0 (but ABS) as functions
LUT0 = min(LUT_CODES)  # LUT functions are the codes LUT0 .. N_OPS - 1, in sorted name order
N_OPS = len(OPS)
LUT_NAMES: tuple[str, ...] = tuple(sorted(LUT_FUNCTIONS))  # LUT function j has code LUT0 + j

# operator kinds counted in the DAG feature group (leaves are counted as distinct variables / constants)
KIND_OPS: tuple[str, ...] = tuple(op for op in OPS if op not in ('-', '/'))
KIND_CODES: tuple[int, ...] = tuple(OP_CODE[o] for o in KIND_OPS)

# -- the operation record ---------------------------------------------------------------------------------

# Per-node operation record: what the node itself adds to the datapath (not its children).
OP_FIELDS: tuple[str, ...] = (
    'n_add', 'add_bits', 'n_cadd', 'cadd_bits', 'cadd_in_bits', 'n_mux', 'mux_bits', 'n_mul', 'mul_bits', 'mul_area', 'mul_dsp',
    'mul_maxw', 'mul_add_bits', 'n_rom', 'rom_addr_bits', 'rom_entries', 'rom_out_bits', 'rom_cost', 'rom_lut6', 'rom_chunks',
    'rom_groups', 'rom_bits_active',
    'n_lut_rom', 'n_native_rom', 'n_block_rom', 'block_bram',
    'worst_delta', 'node_delay',
)
F: dict[str, int] = {name: i for i, name in enumerate(OP_FIELDS)}
N_FIELDS = len(OP_FIELDS)
I_N_ADD, I_ADD_BITS, I_N_CADD, I_CADD_BITS, I_CADD_IN_BITS = (F[k] for k in ('n_add', 'add_bits', 'n_cadd', 'cadd_bits', 'cadd_in_bits'))
I_N_MUX, I_MUX_BITS, I_N_MUL, I_MUL_BITS, I_MUL_AREA, I_MUL_DSP, I_MUL_MAXW, I_MUL_ADD_BITS = (
    F[k] for k in ('n_mux', 'mux_bits', 'n_mul', 'mul_bits', 'mul_area', 'mul_dsp', 'mul_maxw', 'mul_add_bits'))
I_N_ROM, I_ROM_ADDR, I_ROM_ENTRIES, I_ROM_OUT, I_ROM_COST, I_ROM_LUT6, I_ROM_CHUNKS, I_ROM_GROUPS, I_ROM_ACTIVE = (
    F[k] for k in ('n_rom', 'rom_addr_bits', 'rom_entries', 'rom_out_bits', 'rom_cost', 'rom_lut6', 'rom_chunks', 'rom_groups',
                   'rom_bits_active'))
I_N_LUT_ROM, I_N_NATIVE_ROM, I_WORST, I_NODE_DELAY = (F[k] for k in ('n_lut_rom', 'n_native_rom', 'worst_delta', 'node_delay'))
I_N_BLOCK_ROM, I_BLOCK_BRAM = F['n_block_rom'], F['block_bram']

# -- the feature row --------------------------------------------------------------------------------------

DESIGN_FEATURES: tuple[str, ...] = ('n_outputs', 'n_inputs', 'n_vars_used', 'width', 'integer', 'fractional', 'signed', 'rnd',
                                    'sat', 'clock_period_ns', 'n_lut_specs', 'lut_table_entries')
DAG_FEATURES: tuple[str, ...] = ('nodes_unique', 'nodes_tree', 'nodes_shared', 'shared_across_outputs', 'depth', 'binary_ops_unique',
                                 'binary_ops_tree', 'const_adds', 'const_muls', 'csd_digits', 'pow2_consts', 'zero_consts',
                                 *(f'n_{o}' for o in KIND_OPS))
CAL_FEATURES: tuple[str, ...] = ('cal_latency_cp', 'cal_latency_tree', 'cal_lut', 'cal_ff', 'cal_dsp', 'cal_bram_18k', 'cal_lut_tree',
                                 'cal_ff_tree', 'cal_dsp_tree', 'cal_bram_18k_tree', 'cal_missing')
DP_FEATURES: tuple[str, ...] = (*(f'dp_{f}' for f in OP_FIELDS), 'dp_mul_dsp_merged', 'dp_mul_merged', 'dp_mul_dsp_trimmed',
                                'dp_mul_dsp_mapped', 'dp_mul_add_bits_trimmed', 'dp_rom_lut6_trimmed', 'dp_rom_groups_trimmed',
                                'dp_live_nodes', 'dp_lmax', 'dp_cutoff', 'dp_stages', 'dp_stage_fill',
                                'dp_in_bits', 'dp_out_bits', 'dp_reg_bits', 'dp_reg_bits_balanced', 'dp_const_outputs',
                                'dp_reg_short_bits', 'dp_reg_srl_bits', 'dp_io_srl_bits', 'dp_reg_inner_bits')
SRL_MIN_LENGTH = 3  # Yosys synth_xilinx: `shregmap -tech xilinx -minlen 3` maps longer register chains to SRL16E/SRLC32E
FEATURE_GROUPS: dict[str, tuple[str, ...]] = {'design': DESIGN_FEATURES, 'dag': DAG_FEATURES, 'cal': CAL_FEATURES, 'dp': DP_FEATURES}
FEATURES: tuple[str, ...] = (*DESIGN_FEATURES, *DAG_FEATURES, *CAL_FEATURES, *DP_FEATURES)


class Job(NamedTuple):
    """What the features of a design depend on besides its output expressions (duck-types ``Design``)."""

    precision: Precision
    luts: tuple[LutSpec, ...]
    clock_period_ns: float
    n_inputs: int


def precision_columns(p: Precision, clock_period_ns: float) -> tuple[float, ...]:
    """The design group's precision and clock columns (width .. clock_period_ns)."""
    return (p.width, p.integer, p.fractional, float(p.signed), float(p.rounding != 'AP_TRN'), float(p.overflow != 'AP_WRAP'),
            clock_period_ns)


def lut_columns(luts: Sequence[LutSpec]) -> tuple[float, float]:
    """The design group's LUT columns (n_lut_specs, lut_table_entries)."""
    return len(luts), float(sum(s.table_size for s in luts))


# -- the kernels' stores ----------------------------------------------------------------------------------

KEY_NONE = 0.0
# V columns (a value: lo, hi, step, latency, effective bits or -1, object id, key id)
LO, HI, STEP, LAT, EFF, OBJ, KEY = range(7)
V_COLS = 7
# MULT columns: key, dsp, wa, wb, sa, sb, wy, lsb, rest, a obj, b obj, out obj
M_KEY, M_DSP, M_WA, M_WB, M_SA, M_SB, M_WY, M_LSB, M_REST, M_A, M_B, M_OUT = range(12)
M_COLS = 12
# EDGE columns: demand kind (0 rel, 1 fix), demand value, low kind (0 min, 1 rel, 2 fix, 3 all), low value,
# the delay of the chain step (ADD / MUL) that takes this child in (NaN: the chain's first operand, or no chain)
E_COLS = 5
E_STEP = 4
# ROM columns (one per node at most): lsb, first bit row in BITS, bits, a block ROM's address latency and
# read delay (0: no block ROM)
# TAB columns (a ROM's contents): lo, hi, step, lut6, chunks, groups, active, eff, first bit row, bits
T_COLS = 10
# META counters
C_OBJ, C_MULT, C_BITS, C_TAB, C_TABBITS, C_KEYS, C_FCONST = range(7)
# forward-pass status
OK, NEED_NATIVE, NEED_LUT, NEED_NATIVE_CONST, NEED_GROW = range(5)
# precision record (P): k, i, f, over (0 WRAP, 1 SAT, 2 SAT_SYM), rnd (0 TRN, 1 RND), truncating (AP_TRN), window
P_K, P_I, P_F, P_OVER, P_RND, P_TRN, P_WINDOW = range(7)
# ... and for ``Precision.quantize`` of constants: step, min and max in steps, 2**width, rounding (0 floor,
# 1 floor(x + 1/2), 2 toward zero, 3 half to even), overflow (0 wrap, 1 clip, 2 symmetric clip)
P_STEP, P_QLO, P_QHI, P_SPAN, P_QRND, P_QOVER = range(7, 13)
N_P = 13
# error codes of kernels.intern_postfix, per expression
PF_OK, PF_CODE, PF_ARITY, PF_STACK, PF_LEFT, PF_EMPTY, PF_PARAM = range(7)

# -- the kernels' records ---------------------------------------------------------------------------------


class Nodes(NamedTuple):
    """``dag.NodeArrays``' columns: op code, param, const, children as ``ch[ch0[s] : ch0[s] + chn[s]]``, tree
    size, height, two-input operations of the node and of its subtree counted as a tree."""

    op: np.ndarray
    param: np.ndarray
    const: np.ndarray
    ch0: np.ndarray
    chn: np.ndarray
    ch: np.ndarray
    size: np.ndarray
    height: np.ndarray
    nb: np.ndarray
    treeb: np.ndarray


class Store(NamedTuple):
    """One context's datapath store, by node id (see ``kernels``): demanded bits ``Q``, the precision record
    ``P``, values ``V``, operation records ``ROWS``, multipliers ``MS`` (and each node's first and count,
    ``MN``), ``EDGE`` rules, ROMs ``R`` / ``BITS``, errors ``ERR``, counters ``meta``, multiplier scratch ``Y``."""

    Q: np.ndarray
    P: np.ndarray
    V: np.ndarray
    ROWS: np.ndarray
    MS: np.ndarray
    MN: np.ndarray
    EDGE: np.ndarray
    R: np.ndarray
    BITS: np.ndarray
    ERR: np.ndarray
    meta: np.ndarray
    Y: np.ndarray


class CostTable(NamedTuple):
    """A calibration in one context: the per-operator ``table`` (``kernels.own_cost``), whether it has
    latency only, and the per-node memos of the critical path (``cp``) and tree-summed costs (``tree``)."""

    table: np.ndarray
    latency_only: bool
    cp: np.ndarray
    tree: np.ndarray


class Marks(NamedTuple):
    """Per-node scratch kept between calls (stamped, so never cleared): visit marks, demand stamps, demanded
    high and low bits, widths, register needs, first readers, latencies with block-ROM reads aligned to stages and
    the latest stage of a block-ROM read each value depends on."""

    mark: np.ndarray
    hstamp: np.ndarray
    high: np.ndarray
    low: np.ndarray
    widths: np.ndarray
    need: np.ndarray
    first: np.ndarray
    lat: np.ndarray
    read_stage: np.ndarray


class Batch(NamedTuple):
    """The designs of one call: design i's outputs are ``roots[roots0[i]:roots0[i + 1]]``; its clock, the
    feature rows to fill (``out``) and error codes (``errs``), whether it is in expression mode (inputs and
    LUT specs derived from the DAG) and the LUT sizes given (0: the default)."""

    roots: np.ndarray
    roots0: np.ndarray
    clock: np.ndarray
    expr_mode: bool
    out: np.ndarray
    errs: np.ndarray
    lut_given: np.ndarray


class Columns(NamedTuple):
    """The feature row's groups as the kernels fill them: sizes of the design, DAG and calibration groups,
    each op code's column among the DAG group's kinds (-1: none), each LUT function's default size."""

    n_head: int
    n_dag: int
    n_cal: int
    kind_col: np.ndarray
    lut_default: np.ndarray


class Scratch(NamedTuple):
    """Per-call scratch of ``kernels.design_rows``, sized for the batch's largest design."""

    nodes: np.ndarray
    stack: np.ndarray
    mkeys: np.ndarray
    mvals: np.ndarray
    madd: np.ndarray
    stage: np.ndarray
    kh: np.ndarray
    cbuf: np.ndarray
    own: np.ndarray
    orow: np.ndarray
    acc: np.ndarray
    kinds: np.ndarray
    used: np.ndarray
    tot: np.ndarray
    tr: np.ndarray
    odelay: np.ndarray  # each output cast's delay


# -- the kernels' cache, keyed to the layout ------------------------------------------------------------

LAYOUT_MARK = 'kernels.layout'  # beside numba's cache files: the layout digest they were compiled with


def key_cache_to_layout(dispatchers, digest: str) -> bool:
    """Drop the on-disk cache of ``dispatchers`` when it was compiled under another layout than ``digest``.

    numba keys a cached kernel to its own source file (path, time, size) and signature, but compiles the
    values of the globals it reads (here ``costmodel.layout``'s constants) into it: after a change of the
    layout alone the cache would hand back kernels built on the old one. The digest they were compiled
    with is kept in a file beside the cache; when it differs, every dispatcher's index is flushed (numba
    then compiles afresh on the next call and writes a new cache) and the mark rewritten. True when it
    flushed."""
    dispatchers = [d for d in dispatchers if d.stats.cache_path]
    if not dispatchers:
        return False
    mark = os.path.join(dispatchers[0].stats.cache_path, LAYOUT_MARK)
    try:
        with open(mark) as f:
            if f.read().strip() == digest:
                return False
    except OSError:
        pass
    for d in dispatchers:
        d._cache.flush()  # numba's own: rewrites the function's cache index empty
    try:
        os.makedirs(os.path.dirname(mark), exist_ok=True)
        with open(mark, 'w') as f:
            f.write(digest + '\n')
    except OSError:  # pragma: no cover - a read-only cache: numba then caches elsewhere or not at all
        pass
    return True


def _check() -> None:
    """The order the kernels rely on (a change of the operator table that breaks it fails at import)."""
    if not (VAR, CONST) == (0, 1) or LUT_CODES != frozenset(range(LUT0, N_OPS)):
        raise RuntimeError('costmodel.layout: leaves must be codes 0 and 1 and LUT functions the last codes')
    if FUNC_CODES != frozenset(range(FUNC0, LUT0)) or not ABS < FUNC0:
        raise RuntimeError('costmodel.layout: function codes must run from FUNC0 to LUT0 - 1, abs before them')


_check()


def _digest() -> str:
    """sha256 over every constant of this module (names and values) and the records' field names."""
    consts = sorted((k, repr(v)) for k, v in globals().items()
                    if k[:1].isupper() and isinstance(v, (int, float, str, tuple, frozenset, dict)) and k != 'DIGEST')
    consts = [(k, repr(sorted(v)) if isinstance(v, frozenset) else r) for k, r in consts for v in [globals()[k]]]
    records = [(c.__name__, c._fields) for c in (Nodes, Store, CostTable, Marks, Batch, Columns, Scratch, Job)]
    return hashlib.sha256(repr((consts, records)).encode()).hexdigest()[:16]


DIGEST = _digest()
