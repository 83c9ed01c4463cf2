"""The datapath model (``fixedpoint.Datapath``) and the per-design feature walks, compiled with numba.

``fixedpoint`` and ``features`` are the readable reference; this module computes the same numbers over
arrays, a whole batch per call, so a search loop can cost tens of thousands of new expressions a second.
The tests compare the two feature for feature.

Layout. Node ids come from ``dag.NodeTable`` (children before parents); its columns are mirrored as
arrays (``NodeArrays``). Per context (precision + LUT specs) a ``store`` holds, by node id, the node's
value (``V``: lo, hi, step, latency, effective bits or -1, object id, key id), its operation record
(``ROWS``, ``fixedpoint.OP_FIELDS``), its multipliers (``MULT``, one row each), its ROM (``ROM``/``BITS``)
and per edge (parent's child slot) the demanded-bits rules (``EDGE``).

Values are tuples of 7 floats. The reference compares value *objects* (``is``) in one place, to tell
which operand of a multiplier is which child: here every value made gets a fresh object id, and a value
passed through unchanged keeps its id. Multiplier keys (what Yosys' opt_merge merges) are interned
into integer ids in a map held in arrays (``fmap_find``), as are the cached tables and constants.

Anything the kernels cannot do themselves -- evaluating a math function over a ROM's address range, with
numpy's own functions so that the contents are the reference's to the bit -- is asked of Python: the
forward pass writes the request, leaves that node and the nodes above it for later, goes on with the
others, and is called again once Python has put the answers in the store's table cache. Tables are few
and cached, so this is rare after warm-up.

Numba caches compiled functions on disk (``cache=True``) but cannot cache recursive ones: the reference's
recursions (``quantize``, ``_tiles``, the per-subtree memos) are loops or fixed-depth calls here.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from numba.core.registry import CPUDispatcher

from . import layout
from .layout import (  # the layout the kernels share with the reference (op codes, fields, store columns)
    ABS,
    ADD,
    BLOCK_MIN_BITS,
    C_BITS,
    C_FCONST,
    C_KEYS,
    C_MULT,
    C_OBJ,
    C_TAB,
    C_TABBITS,
    CONST,
    CUBE,
    DIV,
    E_STEP,
    EFF,
    FUNC0,
    HI,
    I_ADD_BITS,
    I_BLOCK_BRAM,
    I_CADD_BITS,
    I_CADD_IN_BITS,
    I_MUL_ADD_BITS,
    I_MUL_AREA,
    I_MUL_BITS,
    I_MUL_DSP,
    I_MUL_MAXW,
    I_MUX_BITS,
    I_N_ADD,
    I_N_BLOCK_ROM,
    I_N_CADD,
    I_N_LUT_ROM,
    I_N_MUL,
    I_N_MUX,
    I_N_NATIVE_ROM,
    I_N_ROM,
    I_NODE_DELAY,
    I_ROM_ACTIVE,
    I_ROM_ADDR,
    I_ROM_CHUNKS,
    I_ROM_COST,
    I_ROM_ENTRIES,
    I_ROM_GROUPS,
    I_ROM_LUT6,
    I_ROM_OUT,
    I_WORST,
    KEY,
    KEY_NONE,
    LAT,
    LO,
    LOG,
    LOG_ABS,
    LUT0,
    M_A,
    M_B,
    M_DSP,
    M_KEY,
    M_LSB,
    M_OUT,
    M_REST,
    M_SA,
    M_SB,
    M_WA,
    M_WB,
    M_WY,
    MUL,
    N_FIELDS,
    N_OPS,
    NEED_GROW,
    NEED_LUT,
    NEED_NATIVE,
    NEED_NATIVE_CONST,
    NEG,
    OBJ,
    OK,
    P_F,
    P_I,
    P_K,
    P_OVER,
    P_QHI,
    P_QLO,
    P_QOVER,
    P_QRND,
    P_RND,
    P_SPAN,
    P_STEP,
    P_TRN,
    P_WINDOW,
    PF_ARITY,
    PF_CODE,
    PF_EMPTY,
    PF_LEFT,
    PF_OK,
    PF_PARAM,
    PF_STACK,
    POW_ABS,
    POW_INT,
    SQRT,
    SQRT_ABS,
    SQUARE,
    SRL_MIN_LENGTH,
    STEP,
    SUB,
    VAR,
    Scratch,
)

INF = math.inf

# Kernels that neither allocate nor touch typed dicts are compiled without numba's reference counting
# (NRT): with it, every call of a compiled function with array arguments increments and decrements their
# reference counts atomically, which took a fifth of a cold batch's time. Such a kernel must not return an
# array (the caller would release a reference it was never given).
kernel = njit(cache=True, _nrt=False)



# -- fixed-point helpers ---------------------------------------------------------------------------------

@kernel
def const_f(c):
    if c == 0:
        return -32
    m, e = math.frexp(abs(c))
    return max(-32, min(32, 53 - _trailing_zeros(np.int64(m * 9007199254740992.0)) - e))


@kernel
def _trailing_zeros(n):
    """Trailing zero bits of a positive int64 (a binary search, not a loop over the bits)."""
    tz = 0
    for w in (32, 16, 8, 4, 2, 1):
        if n & ((np.int64(1) << w) - 1) == 0:
            n >>= w
            tz += w
    return tz


@kernel
def _top_bit(x):
    """The index of the highest set bit of a positive int64 (-1 for 0)."""
    t = -1
    for w in (32, 16, 8, 4, 2, 1):
        if x >> w:
            x >>= w
            t += w
    return t + 1 if x else t


@kernel
def _log2(x):
    """``math.log2(x)``, read off the bits where x is a power of two (a fixed-point step always is; glibc's log2
    is exact there too), so without a libm call."""
    b = np.float64(x).view(np.int64)
    if b & 0x000FFFFFFFFFFFFF == 0 and 0 < (b >> 52) < 0x7FF:
        return float((b >> 52) - 1023)
    return math.log2(x)


@kernel
def _whole(y):
    """Python's ``y % 1 == 0`` for a float (numba's float ``%`` calls fmod out of line)."""
    return math.isfinite(y) and y == np.floor(y)


@kernel
def floordiv(a, b):
    """Python's ``a // b`` for floats. For a >= 0 and b > 0 that is the floor of the exact quotient, which is
    ``floor(a / b)`` wherever the rounded quotient lies clearly apart from an integer (its rounding cannot
    cross one); elsewhere numba's ``//`` (Python's algorithm, with an fmod call out of line)."""
    if a == 0 and b > 0:
        return a / b  # 0.0 or -0.0, as Python's
    if a > 0 and b > 0:
        q = a / b
        if q < 4.0e15:
            f = np.floor(q)
            d = q * 1e-14 + 1e-300
            if q - f > d and f + 1.0 - q > d:
                return f
    return a // b


@kernel
def lsb(v):
    if v[LO] == v[HI]:
        return -const_f(v[LO]) if v[LO] != 0 else 0
    if not (v[STEP] > 0 and math.isfinite(v[STEP])):
        return 0
    return int(np.rint(_log2(v[STEP])))


@kernel
def kif(v):
    lo, hi, step = v[LO], v[HI], v[STEP]
    if lo == hi and lo == 0:
        return 0, 0, 0
    if not (step > 0 and math.isfinite(step) and math.isfinite(lo) and math.isfinite(hi)):
        return (1 if lo < 0 else 0), 128, 0
    f = -int(np.rint(_log2(step)))
    xx = max(-lo, hi + step)
    i = int(np.ceil(_log2(xx))) if xx > 0 else -f
    return (1 if lo < 0 else 0), i, f


@kernel
def bits(v):
    k, i, f = kif(v)
    return k + i + f


@kernel
def add_bits(a, b):
    s0, s1 = a[STEP], b[STEP]
    f = -_log2(max(s0, s1))
    m = max(abs(a[LO]), abs(b[LO]), abs(a[HI] + s0), abs(b[HI] + s1))
    i = np.ceil(_log2(m)) if m > 0 else 0.0
    return max((1.0 if (a[LO] < 0 or b[LO] < 0) else 0.0) + i + f, 0.0)


@kernel
def csd_count(c, out):
    """Canonical signed digits of c into ``out`` (most significant first); returns how many."""
    if c == 0:
        return 0
    f = const_f(abs(c))
    x = c * 2.0**f
    s = 2.0**-f
    n = int(np.ceil(_log2(abs(x) * 1.5 + 1e-19)))
    k = 0
    for p in range(n - 1, -1, -1):
        two = 2.0**p
        thres = two / 1.5
        bit = int(x > thres) - int(x < -thres)
        if bit:
            x -= two * bit
            out[k] = two * bit * s
            k += 1
    return k


@kernel
def _tiles_leaf(a, b, sa, sb, yg, yl, top, slack):
    """``fixedpoint._tiles`` where no operand is split (a <= 27 and b <= 18, or too small for a DSP)."""
    live = yl > 0 if top else yl + slack > 0
    if a < 2 or b < 2 or yg < 9:
        return 0, 0, (a * b if live else 0), a, b
    return int(live), 0, 0, a, b


# ``fixedpoint._tiles`` recurses; numba cannot cache recursive functions, and the recursion is at most two
# splits deep (the parts of a split operand are <= 27 bits, so a part's product splits at most its other
# operand, into leaves). So the split loop is written twice: ``tiles`` splits into ``_tiles_sub`` calls,
# ``_tiles_sub`` into leaves. Both copies follow ``fixedpoint._tiles`` line for line.

@kernel
def _tiles_sub(a, b, sa, sb, yg, yl, slack):
    if a < 2 or b < 2 or yg < 9 or not (a > 27 or b > 18):
        return _tiles_leaf(a, b, sa, sb, yg, yl, False, slack)
    split_a = a > 27
    if split_a:
        w, other, cap = a, b, 27
    else:
        w, other, cap = b, a, 18
    n = (w - cap + 18 - 1 - 1) // 17
    last = w - n * 17
    dsp = add = soft = cov_w = cov_o = 0
    for i in range(n + 1):
        off = i * 17
        if off >= yl + slack:
            break
        part = 18 if i < n else last
        pyg = min(yg, other + 18) if i < n else other + last
        pyl = min(yl - off, pyg)
        if split_a:
            d, ad, so, cp, co = _tiles_leaf(part, other, True if i < n else sa, sb, pyg, pyl, False, slack)
        else:
            d, ad, so, co, cp = _tiles_leaf(other, part, sa, True if i < n else sb, pyg, pyl, False, slack)
        dsp += d
        add += ad
        soft += so
        if i:
            add += yl - off
        cov_w = max(cov_w, min(off + (17 if i < n else last), w))
        cov_o = max(cov_o, co)
    if split_a:
        return dsp, add, soft, cov_w, cov_o
    return dsp, add, soft, cov_o, cov_w


@kernel
def tiles(a, b, sa, sb, yg, yl, slack):
    """``fixedpoint._tiles`` at the top (``top=True``): (DSP cells, partial-product adder bits, soft multiplier
    bits, low bits of a read, low bits of b read)."""
    swapped = a < b
    if swapped:
        a, b, sa, sb = b, a, sb, sa
    unsigned = a >= 2 and b >= 2 and yg >= 9 and not sa and not sb
    a0, b0 = a, b
    if unsigned:
        a, b, sa, sb = a + 1, b + 1, True, True
    if a < 2 or b < 2 or yg < 9 or not (a > 27 or b > 18):
        d, add, soft, ca, cb = _tiles_leaf(a, b, sa, sb, yg, yl, True, slack)
    else:
        split_a = a > 27
        if split_a:
            w, other, cap = a, b, 27
        else:
            w, other, cap = b, a, 18
        n = (w - cap + 18 - 1 - 1) // 17
        last = w - n * 17
        d = add = soft = cov_w = cov_o = 0
        for i in range(n + 1):
            off = i * 17
            if off >= yl:
                break
            part = 18 if i < n else last
            pyg = min(yg, other + 18) if i < n else other + last
            pyl = min(yl - off, pyg)
            if split_a:
                dd, ad, so, cp, co = _tiles_sub(part, other, True if i < n else sa, sb, pyg, pyl, slack)
            else:
                dd, ad, so, co, cp = _tiles_sub(other, part, sa, True if i < n else sb, pyg, pyl, slack)
            d += dd
            add += ad
            soft += so
            if i:
                add += yl - off
            cov_w = max(cov_w, min(off + (17 if i < n else last), w))
            cov_o = max(cov_o, co)
        if split_a:
            ca, cb = cov_w, cov_o
        else:
            ca, cb = cov_o, cov_w
    if unsigned:
        ca, cb = min(ca, a0), min(cb, b0)
    if swapped:
        ca, cb = cb, ca
    return d, add, soft, ca, cb


@kernel
def as_signed(wa, wb, sa, sb):
    if sa == sb:
        return wa, wb, sa, sb
    return wa + int(not sa), wb + int(not sb), True, True


@kernel
def mul_split(wa, wb, sa, sb, wy):
    a, b, sa2, sb2 = as_signed(wa, wb, sa, sb)
    y = min(wy, a + b)
    d, add, soft, _, _ = tiles(a, b, sa2, sb2, y, y, 0)
    return d, add, soft


@kernel
def mul_tiles(wa, wb, sa, sb, y_gen, y_live):
    a, b, sa2, sb2 = as_signed(wa, wb, sa, sb)
    y_gen = min(y_gen, a + b)
    y_live = min(y_live, y_gen)
    slack = int(y_live < y_gen)
    d, _, _, ca, cb = tiles(a, b, sa2, sb2, y_gen, y_live, slack)
    return d, min(ca, wa), min(cb, wb)


@kernel
def quantize_value(x, P):
    """``Precision.quantize`` of one float (numpy's arithmetic, so the same bits)."""
    q = x / P[P_STEP]
    r = P[P_QRND]
    if r == 0:
        q = np.floor(q)
    elif r == 1:
        q = np.floor(q + 0.5)
    elif r == 2:
        q = np.trunc(q)
    else:
        q = np.rint(q)
    lo, hi = P[P_QLO], P[P_QHI]
    if P[P_QOVER] == 0:
        d = q - lo
        span = P[P_SPAN]
        q = d - np.floor(d / span) * span + lo
    else:
        low = lo if P[P_QOVER] == 1 else -hi
        q = min(max(q, low), hi)
    return q * P[P_STEP]


@kernel
def getv(V, s):
    """Node ``s``'s value as a tuple."""
    return (V[s, 0], V[s, 1], V[s, 2], V[s, 3], V[s, 4], V[s, 5], V[s, 6])


# -- values ----------------------------------------------------------------------------------------------

@kernel
def new_obj(meta):
    meta[C_OBJ] += 1
    return float(meta[C_OBJ])


@kernel
def mk(lo, hi, step, lat, meta):
    return (lo, hi, step, lat, -1.0, new_obj(meta), KEY_NONE)


@kernel
def mkc(c, meta):
    return (c, c, 2.0 ** -const_f(c), 0.0, -1.0, new_obj(meta), KEY_NONE)


@kernel
def with_key(v, key):
    return (v[0], v[1], v[2], v[3], v[4], v[5], key)


# -- hashing, and maps of float keys in arrays -------------------------------------------------------------
# (numba's typed dicts need reference counting: every lookup increments and decrements the dict's count)

@kernel
def _fkey(x):
    """A float as a dict key: every NaN alike, -0.0 as 0.0 (as Python's dict sees them)."""
    if x != x:
        return -1.2345e-308  # a subnormal no operator parameter takes
    if x == 0:
        return 0.0
    return x


@kernel
def _bits(x, fb, ib):
    """The bit pattern of ``_fkey(x)`` as an int64 (``fb``/``ib``: one float64 of scratch and its int64
    view): equal patterns for the floats Python's dict takes as equal keys."""
    fb[0] = _fkey(x)
    return ib[0]


@kernel
def _mix(h, x):
    """``h`` with the int64 ``x`` mixed in."""
    h = (h ^ np.uint64(x)) * np.uint64(0x9E3779B97F4A7C15)
    return h ^ (h >> np.uint64(29))


@kernel
def _finish(h):
    """A final mix (splitmix64's): a product's low bits depend only on its factors' low bits, and keys may
    differ only in high bits (floats 0.0, 1.0, 2.0, ...), which a table's mask would drop."""
    h ^= h >> np.uint64(31)
    h *= np.uint64(0xBF58476D1CE4E5B9)
    return h ^ (h >> np.uint64(32))


@kernel
def fmap_find(HT, KEYS, k0, k1, k2, k3, k4, fb):
    """A map of float keys (3 or 5 floats: ``KEYS.shape[1]``) held in arrays: ``KEYS`` has one row per key,
    ``HT`` is an open-addressing table of rows (-1: empty; a power of two, at most half full). Keys
    compare with ``==``, as a dict's float keys do. Returns (the key's row or -1, its slot in ``HT`` or the
    empty slot where it would go)."""
    wide = KEYS.shape[1] > 3
    ib = fb.view(np.int64)
    h = _mix(_mix(_mix(np.uint64(0), _bits(k0, fb, ib)), _bits(k1, fb, ib)), _bits(k2, fb, ib))
    if wide:
        h = _mix(_mix(h, _bits(k3, fb, ib)), _bits(k4, fb, ib))
    mask = np.uint64(len(HT) - 1)
    slot = _finish(h) & mask
    while True:
        r = HT[slot]
        if r < 0:
            return -1, slot
        if KEYS[r, 0] == k0 and KEYS[r, 1] == k1 and KEYS[r, 2] == k2 and (not wide or (KEYS[r, 3] == k3 and KEYS[r, 4] == k4)):
            return r, slot
        slot = (slot + np.uint64(1)) & mask


@kernel
def fmap_rehash(HT, KEYS, n, fb):
    """Puts rows 0..n-1 of ``KEYS`` into the empty table ``HT``."""
    wide = KEYS.shape[1] > 3
    for r in range(n):
        k3 = KEYS[r, 3] if wide else 0.0
        k4 = KEYS[r, 4] if wide else 0.0
        slot = fmap_find(HT, KEYS, KEYS[r, 0], KEYS[r, 1], KEYS[r, 2], k3, k4, fb)[1]
        HT[slot] = r


@kernel
def fmap_get(HT, KEYS, k0, k1, k2, k3, k4, fb):
    """The key's row, or -1."""
    return fmap_find(HT, KEYS, k0, k1, k2, k3, k4, fb)[0]


@kernel
def intern_key(km, meta, tag, x, y):
    """The id (1, 2, ...) of the key (tag, x, y) in the map ``km`` (see ``fmap_find``), added if new;
    ``forward`` makes sure there is room."""
    KHT, KK, fb = km
    r, slot = fmap_find(KHT, KK, tag, x, y, 0.0, 0.0, fb)
    if r >= 0:
        return float(r + 1)
    n = meta[C_KEYS]
    KHT[slot] = n
    KK[n, 0], KK[n, 1], KK[n, 2] = tag, x, y
    meta[C_KEYS] = n + 1
    return float(n + 1)


@kernel
def delta(row, d):
    if d > row[I_WORST]:
        row[I_WORST] = d


@kernel
def neg(a, meta):
    return mk(-a[HI], -a[LO], a[STEP], a[LAT], meta)


@kernel
def cadd(a, c, row, meta):
    if c == 0:
        return a
    if a[LO] == a[HI]:
        return mkc(a[LO] + c, meta)
    f = const_f(c)
    row[I_N_CADD] += 1
    w = max(np.ceil(_log2(abs(c) + 2.0**-f)) + f, 0.0)
    if a[LAT] == 0:
        row[I_CADD_IN_BITS] += w
    else:
        row[I_CADD_BITS] += w
    return mk(a[LO] + c, a[HI] + c, min(a[STEP], 2.0**-f), a[LAT], meta)


@kernel
def add(a, b, row, meta):
    if b[LO] == b[HI]:
        return cadd(a, b[LO], row, meta)
    if a[LO] == a[HI]:
        return cadd(b, a[LO], row, meta)
    row[I_N_ADD] += 1
    row[I_ADD_BITS] += add_bits(a, b)
    delta(row, 1.0)
    return mk(a[LO] + b[LO], a[HI] + b[HI], min(a[STEP], b[STEP]), max(a[LAT], b[LAT]) + 1.0, meta)


@kernel
def scale(a, p, meta):
    lo, hi = a[LO] * p, a[HI] * p
    if p < 0:
        lo, hi = hi, lo
    return mk(lo, hi, a[STEP] * abs(p), a[LAT], meta)


@kernel
def mux(lo, hi, step, lat, cost, row, meta, with_const):
    row[I_N_MUX] += 1
    row[I_MUX_BITS] += cost / 2
    delta(row, lat + 1.0 if with_const else 1.0)
    return mk(lo, hi, step, lat + 1.0, meta)


@kernel
def absval(a, row, meta):
    if a[LO] >= 0:
        return a
    if a[LO] == a[HI]:
        return mkc(abs(a[LO]), meta)
    return mux(0.0, max(-a[LO], a[HI]), a[STEP], a[LAT], add_bits(neg(a, meta), a), row, meta, False)


@kernel
def max_of(a, c, row, meta):
    if a[LO] >= c:
        return a
    if a[HI] <= c:
        return mkc(c, meta)
    if c == 0:
        step = a[STEP]
        return mk(0.0, np.floor(a[HI] / step) * step, step, a[LAT], meta)
    cv = mkc(c, meta)
    return mux(max(a[LO], c), max(a[HI], c), min(a[STEP], cv[STEP]), a[LAT], add_bits(cv, a), row, meta, True)


@kernel
def min_of(a, c, row, meta):
    if a[HI] <= c:
        return a
    if a[LO] >= c:
        return mkc(c, meta)
    if c == 0:
        step = a[STEP]
        return mk(np.floor(a[LO] / step) * step, 0.0, step, a[LAT], meta)
    cv = mkc(c, meta)
    return mux(min(a[LO], c), min(a[HI], c), min(a[STEP], cv[STEP]), a[LAT], add_bits(a, cv), row, meta, True)


@kernel
def _quantize_plain(a, k, i, f, meta):
    """The WRAP branch of ``quantize`` after the early exits (no records)."""
    _k, _i, _f = kif(a)
    f = min(f, _f)
    if i >= _i:
        k = min(k, _k)
    step = 2.0**-f
    if a[LO] < 0:
        low_f = np.floor(a[LO] / step) * step
        _i = max(_i, int(np.ceil(_log2(-low_f))))
    i = min(i, _i + int(k == 0 and _k == 1))
    if i + k + f <= 0:
        return mkc(0.0, meta)
    low = -k * 2.0**i
    high = 2.0**i - step
    if a[LO] >= low and a[HI] <= high:
        low = np.floor(a[LO] / step) * step
        high = np.floor(a[HI] / step) * step
    return mk(low, high, step, a[LAT], meta)


@kernel
def _quantize_const(a, k, i, f, over, rnd, meta):
    step = 2.0**-f
    top = 2.0**i
    low = -top * k
    val = a[LO]
    if over != 0:
        lim = low if over == 1 else -(top - step) * k
        val = min(max(val, lim), top - step)
    eps = step / 2 if rnd == 1 else 0.0
    x = np.floor(val / step + eps) * step - low
    val = x - np.floor(x / (2 * top)) * (2 * top) + low  # Python's % (the sign of the divisor)
    return mkc(val, meta)


@kernel
def _quantize_wrap_trn(a, k, i, f, meta):
    """``quantize(a, k, i, f, 'WRAP', 'TRN')``."""
    if k + i + f <= 0:
        return mkc(0.0, meta)
    if a[LO] == a[HI]:
        if a[LO] == 0:
            return a
        return _quantize_const(a, k, i, f, 0, 0, meta)
    _k, _i, _f = kif(a)
    if k >= _k and i >= _i and f >= _f:
        return a
    return _quantize_plain(a, k, i, f, meta)


@kernel
def quantize(a, k, i, f, over, rnd, row, meta):
    """``Datapath.quantize``: over 0 WRAP, 1 SAT, 2 SAT_SYM; rnd 0 TRN, 1 RND. The reference calls itself;
    here each of its tail calls restarts the loop with the new arguments (numba caches no recursion)."""
    while True:
        if k + i + f <= 0:
            return mkc(0.0, meta)
        if a[LO] == a[HI]:
            if a[LO] == 0:
                return a
            return _quantize_const(a, k, i, f, over, rnd, meta)
        _k, _i, _f = kif(a)
        if k >= _k and i >= _i and f >= _f:
            if over != 2 or i > _i:
                return a
        if f < _f and rnd == 1:
            a = cadd(a, 2.0 ** (-f - 1), row, meta)
            rnd = 0
            continue
        if over == 1 or over == 2:
            step = 2.0**-f
            top = 2.0**i
            high = top - step
            low = -top * k if over == 1 else -high * k
            ff = f + 1 if rnd == 1 else f
            v = _quantize_wrap_trn(a, _k, _i, ff, meta) if _k + _i + ff > 0 else a
            a = min_of(max_of(v, low, row, meta), high, row, meta)
            over = 0
            continue
        return _quantize_plain(a, k, i, f, meta)


@kernel
def cast(a, P, row, meta):
    return quantize(a, int(P[P_K]), int(P[P_I]), int(P[P_F]), int(P[P_OVER]), int(P[P_RND]), row, meta)


# -- multipliers -----------------------------------------------------------------------------------------

@kernel
def mul_const(a, c, row, meta, buf, km, tv):
    """``Datapath.mul_const``; ``buf`` (80) and ``tv`` (80 x 8) are scratch for the shift-add terms."""
    if c == 0:
        return mkc(0.0, meta)
    if a[LO] == a[HI]:
        return mkc(a[LO] * c, meta)
    if _whole(_log2(abs(c))):
        return scale(a, c, meta)
    n = csd_count(c, buf)
    # the terms as a stack: value (7 columns) and power of two
    for j in range(n):
        v = scale(a, buf[j], meta)
        for q in range(7):
            tv[j, q] = v[q]
        tv[j, 7] = buf[j]
    top = n
    while top > 1:
        v1 = getv(tv, top - 1)
        p1 = tv[top - 1, 7]
        v2 = getv(tv, top - 2)
        p2 = tv[top - 2, 7]
        top -= 2
        v = add(v1, v2, row, meta)
        p = p1 + p2
        x0, x1 = a[LO] * p, a[HI] * p
        lo, hi = min(x0, x1), max(x0, x1)
        step = v[STEP]
        k = int(lo < 0)
        i = int(np.ceil(_log2(max(-lo, hi + step))))
        w = quantize(v, k, i, -int(np.rint(_log2(step))), 0, 0, row, meta)
        for q in range(7):
            tv[top, q] = w[q]
        tv[top, 7] = p
        top += 1
    return (tv[0, 0], tv[0, 1], tv[0, 2], tv[0, 3], -1.0, new_obj(meta), intern_key(km, meta, 3.0, c, a[KEY]))


@kernel
def mul(a, b, same, rest, row, meta, km, M, sid, buf, tv):
    """Returns (value, status): status NEED_GROW when the multiplier table is full (nothing recorded)."""
    if a[LO] == a[HI]:
        return mul_const(b, a[LO], row, meta, buf, km, tv), OK
    if b[LO] == b[HI]:
        return mul_const(a, b[LO], row, meta, buf, km, tv), OK
    if meta[C_MULT] >= M.shape[0]:
        return a, NEED_GROW
    if same:
        p0, p1 = a[LO] * a[LO], a[HI] * a[HI]
        if a[LO] < 0 < a[HI]:
            lo, hi = min(p0, p1, 0.0), max(p0, p1, 0.0)
        else:
            lo, hi = min(p0, p1), max(p0, p1)
    else:
        x0, x1, x2, x3 = a[HI] * b[LO], a[LO] * b[HI], a[HI] * b[HI], a[LO] * b[LO]
        lo, hi = min(x0, x1, x2, x3), max(x0, x1, x2, x3)
    ka, ia, fa = kif(a)
    kb, ib, fb = kif(b)
    wa, wb = ka + ia + fa, kb + ib + fb
    d = float(max(wa, wb))
    if a[EFF] >= 0:
        wa = min(wa, int(a[EFF]))
    if b[EFF] >= 0:
        wb = min(wb, int(b[EFF]))
    row[I_N_MUL] += 1
    row[I_MUL_BITS] += wa + wb
    key = intern_key(km, meta, 2.0, a[KEY], b[KEY])
    out = (lo, hi, a[STEP] * b[STEP], max(a[LAT], b[LAT]) + d, -1.0, new_obj(meta), key)
    wy = bits(out)
    n_dsp, add_b, soft = mul_split(wa, wb, ka != 0, kb != 0, wy)
    row[I_MUL_DSP] += n_dsp
    row[I_MUL_ADD_BITS] += add_b
    row[I_MUL_AREA] += soft
    row[I_MUL_MAXW] = max(row[I_MUL_MAXW], d)
    m = meta[C_MULT]
    M[m, M_KEY] = key
    M[m, M_DSP] = n_dsp
    M[m, M_WA] = wa
    M[m, M_WB] = wb
    M[m, M_SA] = ka
    M[m, M_SB] = kb
    M[m, M_WY] = wy
    M[m, M_LSB] = lsb(out)
    M[m, M_REST] = rest
    M[m, M_A] = a[OBJ]
    M[m, M_B] = b[OBJ]
    M[m, M_OUT] = out[OBJ]
    meta[C_MULT] = m + 1
    delta(row, d)
    return out, OK


# -- ROMs ------------------------------------------------------------------------------------------------

@kernel
def bram18(addr_bits, width):
    """RAMB18E2 blocks of a ``2**addr_bits`` x ``width`` ROM (``fixedpoint.bram18``)."""
    a = max(addr_bits, 9.0)
    w = np.ceil(width)
    if a > 14:
        return w * 2.0 ** (a - 14)
    if a == 12:
        r = w % 9.0
        return 2.0 * np.floor(w / 9.0) + (0.0 if r == 0 else 1.0 if r <= 4 else 2.0)
    per_block = 36.0 if a == 9 else 18.0 if a == 10 else 9.0 if a == 11 else 4.0 if a == 12 else 2.0 if a == 13 else 1.0
    return np.ceil(w / per_block)


@kernel
def rom(a, t, TAB, TB, row, meta, is_lut, R, sid, BITS):
    """The ROM of table row ``t`` read at address ``a``; records for node ``sid`` its per-bit blocks (``R``'s
    first three columns) and, a block ROM, its address's latency and its read delay (the last two)."""
    lo, hi, step = TAB[t, 0], TAB[t, 1], TAB[t, 2]
    if lo == hi:
        return mkc(lo, meta), OK
    nb = int(TAB[t, 9])
    if meta[C_BITS] + nb > BITS.shape[0]:
        return a, NEED_GROW
    b_in = bits(a)
    out = mk(lo, hi, step, 0.0, meta)
    b_out = bits(out)
    d = float(max(b_in - 6, 1))
    cost = 2.0 ** max(b_in - 5, 0) * np.ceil(b_out / 2)
    if b_in < 5:
        cost *= b_in / 5
    row[I_N_ROM] += 1
    row[I_ROM_ADDR] += b_in
    entries = np.rint((a[HI] - a[LO]) / a[STEP]) + 1
    row[I_ROM_ENTRIES] += entries
    row[I_ROM_OUT] += b_out
    row[I_ROM_COST] += cost
    row[I_ROM_LUT6] += TAB[t, 3]
    row[I_ROM_CHUNKS] += TAB[t, 4]
    row[I_ROM_GROUPS] += TAB[t, 5]
    row[I_ROM_ACTIVE] += TAB[t, 6]
    if is_lut:
        row[I_N_LUT_ROM] += 1
    else:
        row[I_N_NATIVE_ROM] += 1
    if is_lut and entries * b_out >= BLOCK_MIN_BITS:  # hls_gen.backends.roms: block RAM, registered read
        row[I_N_BLOCK_ROM] += 1
        row[I_BLOCK_BRAM] += bram18(b_in, b_out)
        R[sid, 3] = a[LAT]
        R[sid, 4] = d
    b0 = meta[C_BITS]
    t0 = int(TAB[t, 8])
    for j in range(nb):
        BITS[b0 + j, 0] = TB[t0 + j, 0]
        BITS[b0 + j, 1] = TB[t0 + j, 1]
    meta[C_BITS] = b0 + nb
    R[sid, 0] = lsb(out)
    R[sid, 1] = b0
    R[sid, 2] = nb
    delta(row, d)
    return (lo, hi, step, a[LAT] + d, TAB[t, 7], out[OBJ], KEY_NONE), OK


@kernel
def table_row(tm, code, p0, p1, p2, p3):
    """The TAB row of the table with this key in the map ``tm`` (its rows are TAB's), or -1."""
    THT, TK, fb = tm
    return fmap_get(THT, TK, code, p0, p1, p2, p3, fb)


@kernel
def native(code, param, arg, P, row, meta, tm, TAB, TB, R, sid, BITS, fm, native_max, req):
    """(value, status, arg_lsb). ``code``: the op code of the function the ROM holds."""
    x = cast(arg, P, row, meta)
    arg_lsb = -INF
    pk = param if param == param else 0.0  # NaN (no parameter) would never match as a dict key
    if x[LO] == x[HI]:
        FHT, FK, FV, fb = fm
        r = fmap_find(FHT, FK, float(code), pk, x[LO], 0.0, 0.0, fb)[0]
        if r < 0:
            req[0], req[2], req[3], req[4], req[5], req[6] = NEED_NATIVE_CONST, code, param, x[LO], 0.0, 0.0
            return x, NEED_NATIVE_CONST, arg_lsb
        return mkc(FV[r], meta), OK, arg_lsb
    k0, i0, f0 = kif(x)
    k, i, f = k0, i0, f0
    while k + i + f > native_max and f > -i:
        f -= 1
    if f != f0:
        x = quantize(x, k, i, f, 0, 0, row, meta)
    if P[P_TRN] == 1:
        arg_lsb = float(-f)
    t = table_row(tm, float(code), pk, x[LO], x[HI], x[STEP])
    if t < 0:
        req[0], req[2], req[3], req[4], req[5], req[6] = NEED_NATIVE, code, param, x[LO], x[HI], x[STEP]
        return x, NEED_NATIVE, arg_lsb
    v, status = rom(x, t, TAB, TB, row, meta, False, R, sid, BITS)
    return v, status, arg_lsb


@kernel
def lut(code, arg, P, L, LS, row, meta, tm, TAB, TB, R, sid, BITS, req, buf, km, tv):
    """(value, status, arg_lsb) of hls4ml's lookup_table; ``L[j]``: start, base_div, size, first sample, usable."""
    j = code - LUT0
    start, base_div, n, s0 = L[j, 0], L[j, 1], int(L[j, 2]), int(L[j, 3])
    x = cast(arg, P, row, meta)
    arg_lsb = -INF
    if x[LO] == x[HI]:
        idx = int(min(max(np.floor((x[LO] - start) * base_div), 0.0), n - 1.0))
        return mkc(LS[s0 + idx], meta), OK, arg_lsb
    bd = int(base_div)
    if bd > 0 and bd & (bd - 1) == 0 and P[P_TRN] == 1:
        nbits = 0
        while bd >> nbits:
            nbits += 1
        arg_lsb = float(-nbits + 1)
    idx = cadd(x, -start, row, meta) if start != 0 else x
    idx = mul_const(idx, base_div, row, meta, buf, km, tv)
    idx = quantize(idx, 1, 40, 0, 0, 0, row, meta)
    idx = min_of(max_of(idx, 0.0, row, meta), n - 1.0, row, meta)
    lo, hi = int(idx[LO]), int(idx[HI])
    if lo == hi:
        return mkc(LS[s0 + lo], meta), OK, arg_lsb
    stride = max(int(np.rint(idx[STEP])), 1)
    t = table_row(tm, float(code), float(lo), float(hi), float(stride), 0.0)
    if t < 0:
        req[0], req[2], req[3], req[4], req[5], req[6] = NEED_LUT, code, lo, hi, stride, 0.0
        return x, NEED_LUT, arg_lsb
    v, status = rom(idx, t, TAB, TB, row, meta, True, R, sid, BITS)
    return v, status, arg_lsb




@njit(cache=True)
def needed(roots, done, CH0, CHN, CH, mark, stamp):
    """Ids of the nodes below ``roots`` not evaluated yet, ascending (what ``forward`` must evaluate)."""
    # each node pushes its children once, and is found once: both bounded by the roots and the edges
    stack = np.empty(len(roots) + len(CH), np.int64)
    found = np.empty(len(roots) + len(CH), np.int64)
    top = 0
    for r in roots:
        stack[top] = r
        top += 1
    count = 0
    lo, hi = len(done), -1
    while top > 0:
        top -= 1
        s = stack[top]
        if done[s] or mark[s] == stamp:
            continue
        mark[s] = stamp
        found[count] = s
        count += 1
        lo, hi = min(lo, s), max(hi, s)
        for e in range(CH0[s], CH0[s] + CHN[s]):
            stack[top] = CH[e]
            top += 1
    if hi - lo >= 16 * count:  # far apart: sorted
        out = found[:count].copy()
        out.sort()
        return out
    # close together (ids are given in order): read off the marks, in order
    out = np.empty(count, np.int64)
    k = 0
    for s in range(lo, hi + 1):
        if mark[s] == stamp:
            out[k] = s
            k += 1
    return out


@njit(cache=True)
def forward(order, OP, PARAM, CONSTV, CH0, CHN, CH, Q, P, L, LS, V, ROWS, MS, MN, EDGE, R, BITS, ERR, done, pend, stamp,
            meta, km, tm, TAB, TB, fm, native_max, REQS):
    """Evaluates the nodes of ``order`` (ascending ids, from ``needed``) not done yet. Returns 0 when all are
    done; else the number of requests written to ``REQS`` (rows: kind, node, op code, arguments): those
    nodes and the ones above them wait (``pend``) until Python has answered and calls again with the same
    ``order``; -1 when the multiplier, ROM-bit or key arrays must grow first. ``km``, ``tm``, ``fm``: the
    maps of multiplier keys, tables and function constants (see ``fmap_find``). Allocates the scratch,
    sized for the node with the most children, and hands it to ``_forward``, which runs without
    reference counting."""
    most = 1
    for s in order:
        most = max(most, CHN[s])
    return _forward(order, OP, PARAM, CONSTV, CH0, CHN, CH, Q, P, L, LS, V, ROWS, MS, MN, EDGE, R, BITS, ERR, done, pend, stamp,
                    meta, km, tm, TAB, TB, fm, native_max, REQS, np.empty(80), np.empty((80, 8)), np.empty(N_FIELDS),
                    np.empty(most + 2), np.empty(most + 2))


@kernel
def _forward(order, OP, PARAM, CONSTV, CH0, CHN, CH, Q, P, L, LS, V, ROWS, MS, MN, EDGE, R, BITS, ERR, done, pend, stamp,
             meta, km, tm, TAB, TB, fm, native_max, REQS, buf, tv, rowbuf, lsbuf, sufbuf):
    window = P[P_WINDOW]
    n_keys = km[1].shape[0]
    n_slots = km[0].shape[0]
    n_req = 0
    for s in order:
        if done[s]:
            continue
        op = OP[s]
        c0, nk = CH0[s], CHN[s]
        waiting = False
        for e in range(c0, c0 + nk):
            if pend[CH[e]] == stamp:
                waiting = True
        if waiting:
            pend[s] = stamp
            continue
        if n_req == len(REQS):
            pend[s] = stamp
            continue
        # room for the multiplier keys this node may add (one per product)
        room = meta[C_KEYS] + nk + 8 + (int(PARAM[s]) if op == POW_INT else 0)
        if room > n_keys or 2 * room > n_slots:
            return -1
        req = REQS[n_req]
        Q[s, 0] = quantize_value(PARAM[s], P)
        Q[s, 1] = quantize_value(CONSTV[s], P)
        Q[s, 2] = quantize_value(abs(CONSTV[s]), P)
        err = 0
        for e in range(c0, c0 + nk):
            if ERR[CH[e]] != 0:
                err = ERR[CH[e]]
        if err == 0 and op >= LUT0 and L[op - LUT0, 4] == 0:
            err = op
        if err != 0:
            ERR[s] = err  # the LUT op whose table cannot be laid out, here or below
            V[s, LO] = np.nan
            done[s] = True
            continue
        row = rowbuf
        row[:] = 0.0
        m0, b0 = meta[C_MULT], meta[C_BITS]
        req[1] = s
        status = OK
        arg_lsb = -INF
        R[s, 2] = 0
        R[s, 4] = 0.0
        # demand (0 rel, 1 fix), low (0 min, 1 rel, 2 fix, 3 all); NaN kind: the default
        for e in range(c0, c0 + nk):
            EDGE[e, 0] = np.nan
            EDGE[e, 2] = np.nan
            EDGE[e, E_STEP] = np.nan
        if op == ADD or op == NEG or op == VAR or op == CONST:
            for e in range(c0, c0 + nk):
                EDGE[e, 0], EDGE[e, 1] = 0.0, 0.0
        if op == NEG:
            EDGE[c0, 2], EDGE[c0, 3] = 0.0, INF
        elif op == ADD:
            lsbs = lsbuf
            for i in range(nk):
                lsbs[i] = lsb(getv(V, CH[c0 + i]))
            nl = nk
            c = CONSTV[s]
            if c == c:
                cq = Q[s, 1]
                if cq != 0:
                    lsbs[nk] = -const_f(cq)
                    nl = nk + 1
            for i in range(nk):
                m = INF
                for j in range(nl):
                    if j != i and lsbs[j] < m:
                        m = lsbs[j]
                EDGE[c0 + i, 2], EDGE[c0 + i, 3] = 0.0, m
        if op == VAR:
            k, i, f = P[P_K], P[P_I], P[P_F]
            step = 2.0**-f
            v = mk(-(2.0**i) * k, 2.0**i - step, step, 0.0, meta)
        elif op == CONST:
            v = mkc(Q[s, 0], meta)
        elif op == ADD:
            c = CONSTV[s]
            if c == c:
                out = mkc(Q[s, 1], meta)
                first = 0
            else:
                out = getv(V, CH[c0 + 0])
                first = 1
            for i in range(first, nk):
                a = getv(V, CH[c0 + i])
                before = out[LAT]
                out = add(out, a, row, meta)
                EDGE[c0 + i, E_STEP] = out[LAT] - max(before, a[LAT])
            v = out
        elif op == MUL:
            c = CONSTV[s]
            lsbs = lsbuf
            for i in range(nk):
                lsbs[i] = lsb(getv(V, CH[c0 + i]))
            suffix = sufbuf
            suffix[nk] = 0.0
            for i in range(nk - 1, -1, -1):
                suffix[i] = suffix[i + 1] + lsbs[i]
            if c == c and c != 1:
                cq = Q[s, 2]
                out = mkc(cq, meta)
                for i in range(nk):
                    a = getv(V, CH[c0 + i])
                    before = out[LAT]
                    out, status = mul(out, a, False, suffix[i + 1], row, meta, km, MS, s, buf, tv)
                    if status != OK:
                        break
                    EDGE[c0 + i, E_STEP] = out[LAT] - max(before, a[LAT])
                v = neg(out, meta) if c < 0 else out
                EDGE[c0 + nk - 1, E_STEP] += v[LAT] - out[LAT]  # the negation: part of the last step
                c_lsb = -const_f(cq) if cq != 0 else 0
            else:
                out = getv(V, CH[c0 + 0])
                for i in range(1, nk):
                    a = getv(V, CH[c0 + i])
                    before = out[LAT]
                    out, status = mul(out, a, False, suffix[i + 1], row, meta, km, MS, s, buf, tv)
                    if status != OK:
                        break
                    EDGE[c0 + i, E_STEP] = out[LAT] - max(before, a[LAT])
                v = out
                c_lsb = 0
            total = suffix[0] + c_lsb
            for i in range(nk):
                EDGE[c0 + i, 0], EDGE[c0 + i, 1] = 0.0, -(total - lsbs[i])
            n_var = 0
            var_i = -1
            for i in range(nk):
                if getv(V, CH[c0 + i])[LO] != getv(V, CH[c0 + i])[HI]:
                    n_var += 1
                    var_i = i
            if n_var == 1:
                factor = 1.0 if c != c else Q[s, 2]
                for i in range(nk):
                    if getv(V, CH[c0 + i])[LO] == getv(V, CH[c0 + i])[HI]:
                        factor *= abs(getv(V, CH[c0 + i])[LO])
                if factor > 0 and _whole(_log2(factor)):
                    shift = int(np.rint(_log2(factor)))
                    for i in range(nk):
                        if i == var_i:
                            EDGE[c0 + i, 2], EDGE[c0 + i, 3] = 1.0, -shift
                        else:
                            EDGE[c0 + i, 2], EDGE[c0 + i, 3] = 3.0, 0.0
        elif op == NEG:
            v = neg(getv(V, CH[c0 + 0]), meta)
        elif op == SQUARE or op == CUBE or op == POW_INT:
            n = 2 if op == SQUARE else 3 if op == CUBE else int(PARAM[s])
            base = getv(V, CH[c0 + 0])
            lb = lsb(base)
            out, status = mul(base, base, True, (n - 2) * lb, row, meta, km, MS, s, buf, tv)
            for j in range(n - 2):
                if status != OK:
                    break
                out, status = mul(out, base, False, (n - 3 - j) * lb, row, meta, km, MS, s, buf, tv)
            v = out
            EDGE[c0, 0], EDGE[c0, 1] = 0.0, -(n - 1) * lb
        elif op == ABS:
            v = cast(absval(cast(getv(V, CH[c0 + 0]), P, row, meta), row, meta), P, row, meta)
        elif op >= LUT0:
            v, status, arg_lsb = lut(op, getv(V, CH[c0 + 0]), P, L, LS, row, meta, tm, TAB, TB, R, s, BITS, req, buf, km, tv)
        else:
            arg = getv(V, CH[c0 + 0])
            code = op
            if op == SQRT_ABS or op == LOG_ABS or op == POW_ABS:
                arg = cast(absval(cast(arg, P, row, meta), row, meta), P, row, meta)
                if op == SQRT_ABS:
                    code = SQRT
                elif op == LOG_ABS:
                    code = LOG
            v, status, arg_lsb = native(code, PARAM[s], arg, P, row, meta, tm, TAB, TB, R, s, BITS, fm, native_max, req)
        if status != OK:
            meta[C_MULT], meta[C_BITS] = m0, b0
            if status == NEED_GROW:
                return -1
            pend[s] = stamp
            n_req += 1
            continue
        for e in range(c0, c0 + nk):
            if EDGE[e, 0] != EDGE[e, 0]:
                EDGE[e, 0], EDGE[e, 1] = 1.0, window
            if EDGE[e, 2] != EDGE[e, 2]:
                if op >= FUNC0 and op != ABS:
                    EDGE[e, 2], EDGE[e, 3] = 2.0, arg_lsb
                else:
                    EDGE[e, 2], EDGE[e, 3] = 3.0, 0.0
        base_lat = 0.0
        for i in range(nk):
            base_lat = max(base_lat, getv(V, CH[c0 + i])[LAT])
        row[I_NODE_DELAY] = max(v[LAT] - base_lat, 0.0)
        if v[KEY] == KEY_NONE:
            v = with_key(v, -(s + 1.0))  # the reference's ('n', s): negative, so apart from intern_key's ids
        for j in range(7):
            V[s, j] = v[j]
        for j in range(N_FIELDS):
            ROWS[s, j] = row[j]
        MS_start = m0
        MN[s, 0], MN[s, 1] = MS_start, meta[C_MULT] - m0
        ERR[s] = 0
        done[s] = True
    return n_req


# -- per-design walks --------------------------------------------------------------------------------------

@kernel
def node_struct_fill(start, end, OP, PARAM, CONSTV, CHN, CH0, CH, NB, TREEB):
    """Binary operations of each node (``features._binary_ops``) and of its subtree counted as a tree."""
    for s in range(start, end):
        op = OP[s]
        n = CHN[s] + (0 if CONSTV[s] != CONSTV[s] else 1)
        if op == ADD or op == MUL:
            nb = max(n - 1, 0)
        elif op == CUBE:
            nb = 2
        elif op == POW_INT:
            nb = max(int(PARAM[s]) - 1, 1)
        elif op == VAR or op == CONST:
            nb = 0
        else:
            nb = 1
        NB[s] = nb
        t = nb
        for e in range(CH0[s], CH0[s] + CHN[s]):
            t += TREEB[CH[e]]
        TREEB[s] = t


@kernel
def _sort(a):
    """Sorts ``a`` in place (Shell sort: numba's ``ndarray.sort`` allocates, so needs reference counting)."""
    n = len(a)
    gap = 1
    while gap < n // 3:
        gap = 3 * gap + 1
    while gap > 0:
        for i in range(gap, n):
            x = a[i]
            j = i
            while j >= gap and a[j - gap] > x:
                a[j] = a[j - gap]
                j -= gap
            a[j] = x
        gap //= 3


@kernel
def _collect(roots, CH0, CHN, CH, mark, stamp, V, only_live, out, stack):
    """Distinct nodes below ``roots`` into ``out`` (all of them, or only the live ones: a constant value folds
    its subtree); returns how many. ``stack`` needs room for the roots and every edge walked."""
    top = 0
    for r in roots:
        stack[top] = r
        top += 1
    n = 0
    while top:
        top -= 1
        s = stack[top]
        if mark[s] == stamp:
            continue
        if only_live and V[s, LO] == V[s, HI]:
            continue
        mark[s] = stamp
        out[n] = s
        n += 1
        for e in range(CH0[s], CH0[s] + CHN[s]):
            stack[top] = CH[e]
            top += 1
    return n


@kernel
def _merge(keys, vals, n, key, val):
    """Keeps the largest ``val`` per ``key`` in the first ``n`` slots of ``keys``/``vals`` (a design has few
    multipliers: a linear search beats a hash table); returns the new count."""
    for j in range(n):
        if keys[j] == key:
            if val > vals[j]:
                vals[j] = val
            return n
    keys[n] = key
    vals[n] = val
    return n + 1


@kernel
def aligned_latency(live_desc, OP, CH0, CHN, CH, V, R, EDGE, cutoff, lat, read_stage):
    """``Datapath.aligned_latency``: fills ``lat`` for the live nodes with their latency once every block-ROM
    read (``R[s, 4] > 0``) starts a pipeline stage (two stages on where its address is computed in the stage
    of a block read it depends on, ``read_stage``), ADD / MUL chains replayed step by step
    (``EDGE[:, E_STEP]``); the caller adds each output cast's delay."""
    c = cutoff + 1e-9
    for s in live_desc:  # a child that is not live (a constant) keeps its latency and depends on no read
        for e in range(CH0[s], CH0[s] + CHN[s]):
            lat[CH[e]] = V[CH[e], LAT]
            read_stage[CH[e]] = -1.0
    for q in range(len(live_desc) - 1, -1, -1):  # ascending: children first
        s = live_desc[q]
        rs = -1.0
        for e in range(CH0[s], CH0[s] + CHN[s]):
            rs = max(rs, read_stage[CH[e]])
        read_stage[s] = rs
        if OP[s] == ADD or OP[s] == MUL:
            t = 0.0
            for e in range(CH0[s], CH0[s] + CHN[s]):
                d = EDGE[e, E_STEP]
                t = lat[CH[e]] if d != d else max(t, lat[CH[e]]) + d
            lat[s] = t
            continue
        old_base = 0.0
        base = 0.0
        all_var = True
        for e in range(CH0[s], CH0[s] + CHN[s]):
            k = CH[e]
            old_base = max(old_base, V[k, LAT])
            base = max(base, lat[k])
            all_var = all_var and OP[k] == VAR
        if R[s, 4] <= 0.0:
            lat[s] = base + (V[s, LAT] - old_base)
            continue
        addr = base + (R[s, 3] - old_base)
        if not (addr == 0.0 and all_var):
            stage = np.floor(addr / c)
            addr = (stage + (2.0 if rs == stage else 1.0)) * cutoff
        lat[s] = addr + R[s, 4]
        read_stage[s] = np.floor(lat[s] / c)


@kernel
def trimmed(live_desc, roots, P, V, MS, MN, EDGE, R, BITS, OP, CH0, CHN, CH, high, low, hstamp, stamp, widths, mkeys, mvals, madd):
    """``Datapath.trimmed``: (deep DSP, multipliers merged, partial-product adder bits, ROM LUT6, ROM groups,
    input bits); fills ``widths`` for the live nodes."""
    window = P[P_WINDOW]
    out_low = -P[P_F] - (0.0 if P[P_TRN] == 1 else 1.0)
    # live nodes are those with hstamp == stamp; high unset is -inf, low unset +inf (never stored otherwise)
    for s in live_desc:
        high[s] = -INF
        low[s] = INF
    for r in roots:
        if hstamp[r] == stamp:
            high[r] = max(high[r], window)
            low[r] = min(low[r], out_low)
    n_merged = 0
    rom_lut6 = 0.0
    rom_groups = 0.0
    in_bits = 0.0
    n_mults = 0
    for s in live_desc:
        d = high[s] if high[s] != -INF else INF
        lo = low[s] if low[s] != INF else -INF
        for e in range(CH0[s], CH0[s] + CHN[s]):
            c = CH[e]
            if hstamp[c] != stamp:
                continue
            dc = d + EDGE[e, 1] if EDGE[e, 0] == 0 else EDGE[e, 1]
            if dc > high[c]:
                high[c] = dc
            lk = EDGE[e, 2]
            if lk == 0:
                lc = min(lo, EDGE[e, 3])
            elif lk == 1:
                lc = lo + EDGE[e, 3]
            elif lk == 2:
                lc = EDGE[e, 3]
            else:
                lc = -INF
            if lc < low[c]:
                low[c] = lc
        m0, mn = MN[s, 0], MN[s, 1]
        n_mults += mn
        for m in range(m0, m0 + mn):
            wy = int(MS[m, M_WY])
            y = wy if d == INF else max(min(wy, int(d - MS[m, M_REST]) - int(MS[m, M_LSB]) + 1), 1)
            n, add_b, soft = mul_split(int(MS[m, M_WA]), int(MS[m, M_WB]), MS[m, M_SA] != 0, MS[m, M_SB] != 0, y)
            k = MS[m, M_KEY]
            j = 0
            while j < n_merged and mkeys[j] != k:
                j += 1
            if j == n_merged:
                mkeys[j], mvals[j], madd[j] = k, n, add_b
                n_merged += 1
            elif n > mvals[j] or (n == mvals[j] and add_b > madd[j]):  # Datapath.trimmed: the largest pair
                mvals[j], madd[j] = n, add_b
        nbits = int(R[s, 2])
        if nbits and R[s, 4] <= 0.0:  # a block ROM's bits are in block RAM, not LUTs
            rl = int(R[s, 0])
            j0 = 0 if lo == -INF else max(int(lo) - rl, 0)
            j1 = nbits if d == INF else min(int(d) - rl + 1, nbits)
            b0 = int(R[s, 1])
            for j in range(j0, j1):
                rom_lut6 += BITS[b0 + j, 0]
                rom_groups += BITS[b0 + j, 1]
        v = (V[s, 0], V[s, 1], V[s, 2], V[s, 3], V[s, 4], V[s, 5], V[s, 6])
        k_, i_, f_ = kif(v)
        top = min(i_ + k_ - 1.0, d)
        bottom = max(float(-f_), lo)
        w = max(top - bottom + 1.0, 0.0)
        if v[EFF] >= 0:
            w = min(w, v[EFF])
        widths[s] = w
        if OP[s] == VAR:
            in_bits += w
    deep = 0.0
    addb = 0.0
    for j in range(n_merged):
        deep += mvals[j]
        addb += madd[j]
    return deep, float(n_merged), addb, rom_lut6, rom_groups, in_bits, n_mults


@kernel
def _demand_pass(live_desc, roots, P, V, MS, MN, EDGE, CH0, CHN, CH, high, hstamp, stamp, first, Y1, Y2, kh):
    """``Datapath._demand_pass``: the product bits of every multiplier (into ``Y1`` on the first pass,
    ``Y2`` on the second, which reads ``Y1``), indexed by multiplier row."""
    window = P[P_WINDOW]
    for s in live_desc:
        high[s] = -INF
    for r in roots:
        if hstamp[r] == stamp:
            high[r] = max(high[r], window)
    for s in live_desc:
        d = high[s] if high[s] != -INF else INF
        m0, mn = MN[s, 0], MN[s, 1]
        c0, nk = CH0[s], CHN[s]
        if mn == 0:
            for e in range(c0, c0 + nk):
                c = CH[e]
                if hstamp[c] == stamp:
                    dc = d + EDGE[e, 1] if EDGE[e, 0] == 0 else EDGE[e, 1]
                    if dc > high[c]:
                        high[c] = dc
            continue
        kid_high = kh  # sized by design_rows for the design's largest node
        kid_high[:nk] = -INF
        below = INF
        for j in range(mn - 1, -1, -1):
            m = m0 + j
            wy = int(MS[m, M_WY])
            y = wy
            if j == mn - 1 and d != INF:
                y = max(min(wy, int(d) - int(MS[m, M_LSB]) + 1), 1)
            if not first:
                y_live = min(y, int(below)) if below != INF else y
                y_gen = int(Y1[m])
                _, ca, cb = mul_tiles(int(MS[m, M_WA]), int(MS[m, M_WB]), MS[m, M_SA] != 0, MS[m, M_SB] != 0, y_gen, y_live)
                Y2[m] = y_live
                cov_a, cov_b = float(ca), float(cb)
            else:
                Y1[m] = y
                cov_a, cov_b = INF, INF
            below = INF
            for side in range(2):
                obj = MS[m, M_A] if side == 0 else MS[m, M_B]
                cov = cov_a if side == 0 else cov_b
                hit = False
                for i in range(nk):
                    kc = CH[c0 + i]
                    if V[kc, OBJ] == obj:
                        kv = (V[kc, 0], V[kc, 1], V[kc, 2], V[kc, 3], V[kc, 4], V[kc, 5], V[kc, 6])
                        kid_high[i] = max(kid_high[i], lsb(kv) + cov - 1)
                        hit = True
                if hit:
                    continue
                if j and obj == MS[m - 1, M_OUT]:
                    below = cov
                else:
                    kid_high[0] = INF
        for i in range(nk):
            c = CH[c0 + i]
            if hstamp[c] == stamp and kid_high[i] > high[c]:
                high[c] = kid_high[i]


@kernel
def mapped_dsp(live_desc, roots, P, V, MS, MN, EDGE, CH0, CHN, CH, high, hstamp, stamp, Y1, Y2, kh, mkeys, mvals):
    _demand_pass(live_desc, roots, P, V, MS, MN, EDGE, CH0, CHN, CH, high, hstamp, stamp, True, Y1, Y2, kh)
    _demand_pass(live_desc, roots, P, V, MS, MN, EDGE, CH0, CHN, CH, high, hstamp, stamp, False, Y1, Y2, kh)
    n_merged = 0
    for s in live_desc:
        for m in range(MN[s, 0], MN[s, 0] + MN[s, 1]):
            n = mul_tiles(int(MS[m, M_WA]), int(MS[m, M_WB]), MS[m, M_SA] != 0, MS[m, M_SB] != 0, int(Y1[m]), int(Y2[m]))[0]
            n_merged = _merge(mkeys, mvals, n_merged, MS[m, M_KEY], float(n))
    total = 0.0
    for j in range(n_merged):
        total += mvals[j]
    return total


@kernel
def registers(live_desc, roots, lat, R, V, EDGE, OP, PARAM, CH0, CHN, CH, hstamp, stamp, cutoff, stages, widths, need, first,
              stage):
    """``FeatureExtractor._registers``: pipeline register bits when the live nodes (latencies ``lat``) are cut into
    ``stages`` stages of ``cutoff`` (total, in short chains, width of the shift-register chains, input and output
    register bits inside those chains, partial results held inside nodes of several operations); a block-ROM read
    (``R[s, 4] > 0``) holds its argument until the stage before the read; ``stage`` is scratch (a node's stage, by its place in
    ``live_desc``), ``first`` too (the earliest stage reading a node)."""
    last = stages - 1
    n = len(live_desc)
    for q in range(n):
        s = live_desc[q]
        need[s] = -1
        first[s] = stages
        stage[q] = min(int(floordiv(lat[s], cutoff)), last)
    for r in roots:
        if hstamp[r] == stamp:
            need[r] = last
    total = short = srl = io_srl = inner = 0.0
    for q in range(n):
        s = live_desc[q]
        st_s = stage[q]
        block = R[s, 4] > 0.0  # its address register is the block RAM's read register
        if OP[s] == ADD or OP[s] == MUL:  # ``FeatureExtractor._chain``: replayed step by step
            t = 0.0
            w = 0.0
            e0 = CH0[s]
            pending = -1  # the first operand's edge, read by the first step
            for e in range(e0, e0 + CHN[s]):
                k = CH[e]
                d = EDGE[e, E_STEP]
                lk = lat[k] if hstamp[k] == stamp else V[k, LAT]
                wk = bits(V[k])
                if d != d:
                    t = lk
                    w = wk
                    pending = e
                    continue
                done = max(t, lk) + d  # the step's operation lies in the stage of its output (da4ml's stages)
                u = min(int(floordiv(done, cutoff)), last)
                if pending >= 0:
                    _read(CH[pending], u, hstamp, stamp, need, first, block)
                    pending = -1
                elif e > e0:
                    held = u - min(int(floordiv(t, cutoff)), last)
                    wh = min(w, widths[s]) if OP[s] == ADD else w
                    total, short, srl, io_srl = _hold(held, wh, 0, total, short, srl, io_srl)
                    inner += max(held, 0) * wh
                _read(k, u, hstamp, stamp, need, first, block)
                t = done
                w = w + wk if OP[s] == MUL else max(w, wk) + 1.0
            if pending >= 0:
                _read(CH[pending], st_s, hstamp, stamp, need, first, block)
            continue
        for e in range(CH0[s], CH0[s] + CHN[s]):
            _read(CH[e], st_s, hstamp, stamp, need, first, block)
            c = CH[e]
            if block and hstamp[c] == stamp:  # held until the stage before the read
                h = int(np.rint((lat[s] - R[s, 4]) / cutoff)) - 1
                if need[c] < h:
                    need[c] = h
        if OP[s] == CUBE or (OP[s] == POW_INT and PARAM[s] > 2):  # x**n: the partial products follow one another
            base = 0.0
            for e in range(CH0[s], CH0[s] + CHN[s]):
                c = CH[e]
                if hstamp[c] == stamp and lat[c] > base:
                    base = lat[c]
            crossed = st_s - min(int(floordiv(base, cutoff)), last)
            total, short, srl, io_srl = _hold(crossed, widths[s], 0, total, short, srl, io_srl)
            inner += max(crossed, 0) * widths[s]
    for q in range(n):
        s = live_desc[q]
        if need[s] >= 0:
            ends = 1 if OP[s] == VAR and first[s] > 0 else 0
            for r in roots:
                if r == s:
                    ends += 1
                    break
            total, short, srl, io_srl = _hold(need[s] - stage[q], widths[s], ends, total, short, srl, io_srl)
    return total, short, srl, io_srl, inner


@kernel
def _hold(d, w, ends, total, short, srl, io_srl):
    """``registers``: ``w`` bits held ``d`` stages, ``ends`` of the input and output registers in the same chain,
    added to the running figures (a chain of ``SRL_MIN_LENGTH`` or more is a shift-register LUT per bit)."""
    if d > 0:
        total += d * w
        if d + ends >= SRL_MIN_LENGTH:
            srl += w
            io_srl += ends * w
        else:
            short += d * w
    return total, short, srl, io_srl


@kernel
def _read(c, u, hstamp, stamp, need, first, block):
    """``registers``: live node ``c`` is read in stage ``u`` (by a block-ROM read: not held into that stage; the
    caller holds it until the stage before the read)."""
    if hstamp[c] == stamp:
        if first[c] > u:
            first[c] = u
        if not block and need[c] < u:
            need[c] = u


@kernel
def own_cost(s, OP, PARAM, CONSTV, CHN, CT, out):
    """``FeatureExtractor._own_cost`` from the cost table ``CT`` (rows: present, latency, lut, ff, dsp, bram;
    0 '+', 1 '+' const, 2 '*', 3 '*' const, 4 pow_int, 5 + op code: that operator)."""
    op = OP[s]
    nk = CHN[s]
    has_c = CONSTV[s] == CONSTV[s]
    for j in range(6):
        out[j] = 0.0
    if op == VAR or op == CONST:
        return
    if op == ADD:
        if nk > 1:
            _part(CT, 0, nk - 1.0, np.ceil(_log2(nk)), out)
        if has_c:
            _part(CT, 1, 1.0, 1.0, out)
    elif op == MUL:
        if nk > 1:
            _part(CT, 2, nk - 1.0, np.ceil(_log2(nk)), out)
        if has_c and abs(CONSTV[s]) != 1:
            _part(CT, 3, 1.0, 1.0, out)
    elif op == POW_INT:
        n = int(PARAM[s])
        if CT[4, 0] == 0:
            _part(CT, 2, n - 1.0, np.ceil(_log2(n)), out)
        else:
            _part(CT, 4, 1.0, 1.0, out)
    else:
        _part(CT, 5 + op, 1.0, 1.0, out)


@kernel
def _part(CT, j, count, levels, out):
    if CT[j, 0] == 0:
        out[5] += 1
        return
    v = CT[j, 1]
    out[0] += 0.0 if v != v else v * levels
    for q in range(4):
        x = CT[j, 2 + q]
        out[1 + q] += (0.0 if x != x else x) * count


@kernel
def _cp_tree(s, OP, PARAM, CONSTV, CH0, CHN, CH, CT, CPM, TREEC, own):
    """Critical path and tree-summed costs of node ``s`` into CPM / TREEC (NaN: not yet), its children's
    being there already (call in ascending id order)."""
    if CPM[s] == CPM[s]:
        return
    own_cost(s, OP, PARAM, CONSTV, CHN, CT, own)
    below = 0.0
    for q in range(5):
        TREEC[s, q] = own[q]
    for e in range(CH0[s], CH0[s] + CHN[s]):
        c = CH[e]
        below = max(below, CPM[c])
        for q in range(5):
            TREEC[s, q] += TREEC[c, q]
    CPM[s] = own[0] + below


@njit(cache=True)
def design_rows(batch, cols, nodes, store, costs, marks, stamp0, with_dag=True):
    """Feature rows (``layout.FEATURES`` order, the head's precision columns already in ``batch.out``) of the
    designs whose output roots are ``batch.roots[batch.roots0[i]:batch.roots0[i + 1]]``, over the DAG
    ``nodes`` (``layout.Nodes``) and one context's ``store`` (``layout.Store``), with the calibration
    ``costs`` (``layout.CostTable``) and the per-node ``marks`` (``layout.Marks``). Returns the last stamp
    used. ``with_dag`` False (no calibration: ``costs.table`` empty) leaves the DAG columns, and the head's
    columns derived from the DAG, NaN: the datapath alone, all the open backend's analytic model reads.
    Allocates the scratch (``layout.Scratch``), sized for the largest design of the batch (a tree count
    bounds its distinct nodes and edges), and hands it to ``_design_rows``, which runs without reference
    counting."""
    RO, RO0, SIZE = batch.roots, batch.roots0, nodes.size
    most = 1
    for i in range(len(RO0) - 1):
        t = 0
        for r in RO[RO0[i]:RO0[i + 1]]:
            t += int(SIZE[r]) + 1
        most = max(most, t)
    work = Scratch(np.empty(most, np.int64), np.empty(most + 1, np.int64), np.empty(most), np.empty(most), np.empty(most),
                   np.empty(most, np.int64), np.empty(max(64, most)), np.empty(80), np.empty(6), np.empty(N_FIELDS),
                   np.empty(N_FIELDS), np.empty(cols.n_dag - 12), np.empty(batch.lut_given.shape[0], dtype=np.bool_),
                   np.empty(5), np.empty(5), np.empty(most))
    dag_part = with_dag or costs.table.shape[0] > 0  # the calibration sums walk the DAG's nodes
    return _design_rows(batch, cols, nodes, store, costs, marks, stamp0, work, dag_part)


@kernel
def _design_rows(batch, cols, graph, store, costs, marks, stamp0, work, with_dag):
    RO, RO0, clock, expr_mode, out, errs, lut_given = batch
    n_head, n_dag, n_cal, kind_col, lut_default = cols
    OP, PARAM, CONSTV, CH0, CHN, CH, SIZE, HEIGHT, NB, TREEB = graph
    Q, P, V, ROWS, MS, MN, EDGE, R, BITS, ERR, meta, Y = store
    CT, latency_only, CPM, TREEC = costs
    mark, hstamp, high, low, widths, need, first, lat, read_stage = marks
    nodes, stack, mkeys, mvals, madd, stage, kh, cbuf, own, orow, acc, kinds, used, tot, tr, odelay = work
    stamp = stamp0
    n_kinds = n_dag - 12
    dag0 = n_head
    cal0 = n_head + n_dag
    dp0 = cal0 + n_cal
    Y1 = Y[:, 0]
    Y2 = Y[:, 1]
    for i in range(len(RO0) - 1):
        roots = RO[RO0[i]:RO0[i + 1]]
        errs[i] = 0
        for r in roots:
            if ERR[r] != 0:
                errs[i] = ERR[r]
        if errs[i] != 0:
            out[i, :] = np.nan
            continue
        row = out[i]
        row[0] = len(roots)
        nu = 0
        if not with_dag:
            # the head's columns read off the DAG (variables; in expression mode inputs and LUT specs) go too
            row[2] = np.nan
            if expr_mode:
                row[1] = row[10] = row[11] = np.nan
            for k in range(n_dag):
                row[dag0 + k] = np.nan
        else:
            # -- dag
            stamp += 1
            nu = _collect(roots, CH0, CHN, CH, mark, stamp, V, False, nodes, stack)
            kinds[:] = 0.0
            used[:] = False
            bin_u = cadd = cmul = csd = pow2 = zero = 0.0
            n_vars = 0
            n_in = 0
            for q in range(nu):
                s = nodes[q]
                op = OP[s]
                if kind_col[op] >= 0:
                    kinds[kind_col[op]] += 1
                bin_u += NB[s]
                has_c = CONSTV[s] == CONSTV[s]
                if op == ADD and has_c:
                    cadd += 1
                if op == MUL and has_c:
                    cmul += 1
                    c = CONSTV[s]
                    if c != -1 and c != 1:
                        qc = Q[s, 2]
                        digits = csd_count(qc, cbuf) if qc != 0 else 0
                        csd += digits
                        pow2 += digits == 1
                        zero += digits == 0
                if op == VAR:
                    n_vars += 1
                    n_in = max(n_in, int(PARAM[s]) + 1)
                elif op >= LUT0:
                    used[op - LUT0] = True
            tree = 0.0
            bin_tree = 0.0
            depth = 0.0
            for r in roots:
                tree += SIZE[r]
                bin_tree += TREEB[r]
                depth = max(depth, HEIGHT[r])
            per_root = 0.0
            if len(roots) == 1:
                per_root = nu
            else:
                for j in range(len(roots)):
                    stamp += 1
                    per_root += _collect(roots[j:j + 1], CH0, CHN, CH, mark, stamp, V, False, mkeys.view(np.int64), stack)
            row[2] = n_vars
            if expr_mode:
                row[1] = max(n_in, 1)
                n_specs = 0.0
                entries = 0.0
                for j in range(lut_given.shape[0]):
                    if lut_given[j] > 0:
                        n_specs += 1
                        entries += lut_given[j]
                    elif used[j]:
                        n_specs += 1
                        entries += lut_default[j]
                row[10] = n_specs
                row[11] = entries
            row[dag0 + 0] = nu
            row[dag0 + 1] = tree
            row[dag0 + 2] = tree - nu
            row[dag0 + 3] = per_root - nu
            row[dag0 + 4] = depth
            row[dag0 + 5] = bin_u
            row[dag0 + 6] = bin_tree
            row[dag0 + 7] = cadd
            row[dag0 + 8] = cmul
            row[dag0 + 9] = csd
            row[dag0 + 10] = pow2
            row[dag0 + 11] = zero
            for k in range(n_kinds):
                row[dag0 + 12 + k] = kinds[k]
        # -- cal
        if CT.shape[0] == 0:
            for k in range(n_cal):
                row[cal0 + k] = np.nan
        else:
            tot[:] = 0.0
            missing = 0.0
            ids = nodes[:nu]
            _sort(ids)  # in id order, as the reference sums; children come before their parents
            for q in range(nu):
                own_cost(ids[q], OP, PARAM, CONSTV, CHN, CT, own)
                for k in range(4):
                    tot[k] += own[1 + k]
                missing += own[5]
                _cp_tree(ids[q], OP, PARAM, CONSTV, CH0, CHN, CH, CT, CPM, TREEC, own)
            cp = -INF
            tr[:] = 0.0
            for r in roots:
                cp = max(cp, CPM[r])
                for k in range(5):
                    tr[k] += TREEC[r, k]
            row[cal0 + 0] = cp
            row[cal0 + 1] = tr[0]
            for k in range(4):
                row[cal0 + 2 + k] = np.nan if latency_only else tot[k]
                row[cal0 + 6 + k] = np.nan if latency_only else tr[1 + k]
            row[cal0 + 10] = missing
        # -- dp
        stamp += 1
        n_live = _collect(roots, CH0, CHN, CH, hstamp, stamp, V, True, nodes, stack)
        live_desc = nodes[:n_live]
        _sort(live_desc)
        live_desc = live_desc[::-1]
        acc[:] = 0.0
        worst = 0.0
        n_merged = 0
        for s in live_desc:
            for k in range(N_FIELDS):
                acc[k] += ROWS[s, k]
            worst = max(worst, ROWS[s, I_WORST])
            for m in range(MN[s, 0], MN[s, 0] + MN[s, 1]):
                n_merged = _merge(mkeys, mvals, n_merged, MS[m, M_KEY], MS[m, M_DSP])
        dsp = 0.0
        for j in range(n_merged):
            dsp += mvals[j]
        n_mul = float(n_merged)
        lmax = -INF
        out_bits = 0.0
        n_const = 0.0
        q = 0
        for r in roots:
            v = (V[r, 0], V[r, 1], V[r, 2], V[r, 3], V[r, 4], V[r, 5], V[r, 6])
            orow[:] = 0.0
            o = cast(v, P, orow, meta)
            for k in range(N_FIELDS):
                acc[k] += orow[k]
            worst = max(worst, orow[I_WORST])
            lmax = max(lmax, o[LAT])
            odelay[q] = o[LAT] - v[LAT]
            q += 1
            if o[LO] == o[HI]:
                n_const += 1
            else:
                out_bits += bits(o)
        worst = max(worst, 1.0)
        acc[I_WORST] = worst
        acc[I_NODE_DELAY] = 0.0
        cutoff = max(2.0 * clock[i], np.ceil(worst))
        aligned = acc[I_N_BLOCK_ROM] > 0
        if aligned:  # the nodes' latencies with the block-ROM reads aligned to stages
            for r in roots:  # a constant root is not live: it keeps its latency
                lat[r] = V[r, LAT]
            aligned_latency(live_desc, OP, CH0, CHN, CH, V, R, EDGE, cutoff, lat, read_stage)
            lmax = -INF
            for q in range(len(roots)):
                lmax = max(lmax, lat[roots[q]] + odelay[q])
        stages = max(1, int(np.ceil(lmax / cutoff - 1e-9)))
        deep, n_mm, add_t, rom6, romg, in_bits, n_mults = trimmed(
            live_desc, roots, P, V, MS, MN, EDGE, R, BITS, OP, CH0, CHN, CH, high, low, hstamp, stamp, widths, mkeys, mvals, madd)
        if n_mults <= 1:
            mapped = deep
        else:
            mapped = mapped_dsp(live_desc, roots, P, V, MS, MN, EDGE, CH0, CHN, CH, high, hstamp, stamp, Y1, Y2, kh, mkeys, mvals)
        if stages > 1:
            if not aligned:  # as computed
                for s in live_desc:
                    lat[s] = V[s, LAT]
            reg, short, srl, io_srl, inner = registers(live_desc, roots, lat, R, V, EDGE, OP, PARAM, CH0, CHN, CH, hstamp, stamp,
                                                       cutoff, stages, widths, need, first, stage)
            balanced = registers(live_desc, roots, lat, R, V, EDGE, OP, PARAM, CH0, CHN, CH, hstamp, stamp, max(lmax / stages, 1.0),
                                 stages, widths, need, first, stage)[0]
        else:
            reg = balanced = short = srl = io_srl = inner = 0.0
        fill = lmax / (cutoff * stages)
        for k in range(N_FIELDS):
            row[dp0 + k] = acc[k]
        row[dp0 + N_FIELDS + 0] = dsp
        row[dp0 + N_FIELDS + 1] = n_mul
        row[dp0 + N_FIELDS + 2] = deep
        row[dp0 + N_FIELDS + 3] = mapped
        row[dp0 + N_FIELDS + 4] = add_t
        row[dp0 + N_FIELDS + 5] = rom6
        row[dp0 + N_FIELDS + 6] = romg
        row[dp0 + N_FIELDS + 7] = n_live
        row[dp0 + N_FIELDS + 8] = lmax
        row[dp0 + N_FIELDS + 9] = cutoff
        row[dp0 + N_FIELDS + 10] = stages
        row[dp0 + N_FIELDS + 11] = fill
        row[dp0 + N_FIELDS + 12] = in_bits
        row[dp0 + N_FIELDS + 13] = out_bits
        row[dp0 + N_FIELDS + 14] = reg
        row[dp0 + N_FIELDS + 15] = balanced
        row[dp0 + N_FIELDS + 16] = n_const
        row[dp0 + N_FIELDS + 17] = short
        row[dp0 + N_FIELDS + 18] = srl
        row[dp0 + N_FIELDS + 19] = io_srl
        row[dp0 + N_FIELDS + 20] = inner
    return stamp


# -- ROM contents ------------------------------------------------------------------------------------------

@njit(cache=True)
def _distinct_nonzero(col):
    """How many distinct non-zero values ``col`` holds (sorted in place when it is long; a ROM of up to 4,096
    entries has at most 64 blocks, compared pairwise: faster than a sort's call)."""
    n = len(col)
    zero = np.uint64(0)
    count = 0.0
    if n > 64:
        col.sort()
        for b in range(n):
            if col[b] != zero and (b == 0 or col[b] != col[b - 1]):
                count += 1
        return count
    for b in range(n):
        c = col[b]
        if c == zero:
            continue
        seen = False
        for b2 in range(b):
            if col[b2] == c:
                seen = True
                break
        if not seen:
            count += 1
    return count


@njit(cache=True)
def saturated_table_range(raw, vmin, vmax, step):
    """``table_range`` of ``fixedpoint._saturate(raw)``: NaN as 0, clipped to [vmin, vmax], floored to the
    step (the same IEEE operations, so the same values)."""
    v = np.empty(len(raw))
    for q in range(len(raw)):
        x = raw[q]
        if x != x:
            x = 0.0
        x = min(max(x, vmin), vmax)
        v[q] = np.floor(x / step) * step
    return table_range(v)


@njit(cache=True)
def table_range(values):
    """``fixedpoint._table_range`` of a ROM's contents: (lo, hi, step, LUT6, chunks, groups, active bits,
    effective bits or -1, LUT6 per bit, groups per bit)."""
    lo = hi = values[0]
    nan = False
    for x in values:  # values.min() and .max() in one loop (numba's call them out of line, with NaN checks)
        if x < lo:
            lo = x
        elif x > hi:
            hi = x
        elif x != x:
            nan = True
    if nan:
        lo = hi = np.nan
    empty = np.zeros(0)
    if lo == hi:
        return lo, hi, 1.0, 0.0, 0.0, 0.0, 0.0, -1.0, empty, empty
    # the finest grid: max const_f(x) over x != 0. Values on the 2**-32 grid (all of them, in practice) take
    # a fast way: the trailing zeros of the OR of the values in units of 2**-32 (const_f(x) = 32 - their tz)
    grid = np.int64(0)
    for x in values:
        y = x * 4294967296.0
        if abs(y) < 4.0e18 and y == np.floor(y):
            grid |= np.int64(abs(y))
        else:
            grid = np.int64(-1)
            break
    if grid >= 0:
        f = max(-32, 32 - _trailing_zeros(grid)) if grid > 0 else -32
    else:
        f = -32
        for x in values:
            if x != 0:
                f = max(f, const_f(x))
    step = 2.0**-f
    scale = 2.0**f  # x / step, exactly (a power of two)
    b_out = bits((lo, hi, step, 0.0, -1.0, 0.0, 0.0))
    mask = (np.int64(1) << b_out) - 1
    n = len(values)
    m = -(-n // 64) * 64
    ints = np.empty(m, np.int64)
    for q in range(n):
        ints[q] = np.int64(np.rint(values[q] * scale)) & mask
    for q in range(n, m):
        ints[q] = ints[n - 1]
    nblk = m // 64
    pat = np.zeros((nblk, b_out), np.uint64)
    for b in range(nblk):
        for j in range(b_out):
            p = np.uint64(0)
            for e in range(64):
                p |= ((np.uint64(ints[b * 64 + e]) >> np.uint64(j)) & np.uint64(1)) << np.uint64(e)
            pat[b, j] = p
    ones = np.uint64(0xFFFFFFFFFFFFFFFF)
    zero = np.uint64(0)
    lut6_bit = np.zeros(b_out)
    groups_bit = np.zeros(b_out)
    chunks = 0.0
    active = 0.0
    col = np.empty(nblk, np.uint64)
    n_groups = -(-nblk // 4)
    for j in range(b_out):
        varying_any = False
        differs = False
        for b in range(nblk):
            p = pat[b, j]
            v = p != zero and p != ones
            if v:
                chunks += 1
                varying_any = True
            col[b] = p if v else zero
            if p != pat[0, j]:
                differs = True
        lut6_bit[j] = _distinct_nonzero(col)
        act = varying_any or differs
        if act:
            active += 1
            g_count = 0.0
            for g in range(n_groups):
                first = pat[min(4 * g, nblk - 1), j]
                nonuniform = False
                for q in range(1, 4):
                    if pat[min(4 * g + q, nblk - 1), j] != first:
                        nonuniform = True
                if nonuniform or (first != zero and first != ones):
                    g_count += 1
            groups_bit[j] = g_count
    # Yosys keeps the bits below the highest one that is not a copy of the bit above it (the sign) or zero
    # (over the bits 0..b_out-2 that differ from the bit above them, resp. the bits 0..b_out-1 that are set)
    acc = np.int64(0)
    if lo < 0:
        for q in range(m):
            acc |= ints[q] ^ (ints[q] >> 1)
        eff = _top_bit(acc & ((np.int64(1) << (b_out - 1)) - 1)) + 2
    else:
        for q in range(m):
            acc |= ints[q]
        eff = _top_bit(acc & mask) + 1
    return lo, hi, step, lut6_bit.sum(), chunks, groups_bit.sum(), active, float(max(eff, 1)), lut6_bit, groups_bit


@kernel
def answer_grid(REQS, idx, offs, xs):
    """The arguments at which the native-function requests ``REQS[idx]`` need their function: a table's
    addresses lo, lo + step, ..., hi (``fixedpoint.native_raw``'s arithmetic) or a constant, each request's
    into ``xs[offs[q] : offs[q + 1]]``."""
    for q in range(len(idx)):
        r = REQS[idx[q]]
        o = offs[q]
        if r[0] == NEED_NATIVE_CONST:
            xs[o] = r[4]
        else:
            lo, step = r[4], r[6]
            for j in range(offs[q + 1] - o):
                xs[o + j] = lo + float(j) * step


@njit(cache=True)
def answer_requests(REQS, offs, raw, vmin, vmax, vstep, L, LS, TAB, TB, meta, tm, fm):
    """Stores what the forward pass's requests ``REQS`` ask, the native-function ones first: native tables
    and constants from the float function's values ``raw`` (the q-th native request's at
    ``raw[offs[q] : offs[q + 1]]``; saturated as ``fixedpoint._saturate``), LUT tables from the samples ``LS``. Returns -1 when TAB
    or TB must grow
    first (requests already answered are found in the maps on the next call), else 0. The maps ``tm`` (its
    rows are TAB's) and ``fm`` (function constants: row r's value is ``FV[r]``) have room for every request."""
    THT, TK, fb = tm
    FHT, FK, FV, _ = fm
    q = 0
    for i in range(len(REQS)):
        r = REQS[i]
        kind = int(r[0])
        code = r[2]
        if kind == NEED_LUT:
            k1, k2, k3, k4 = r[3], r[4], r[5], 0.0
            slot = fmap_find(THT, TK, code, k1, k2, k3, k4, fb)
            if slot[0] >= 0:
                continue
            j = int(code) - LUT0
            s0 = int(L[j, 3])
            lo, hi, stride = int(r[3]), int(r[4]), int(r[5])
            vals = LS[s0 + lo : s0 + hi + 1 : stride].copy()
            out = table_range(vals)
        else:
            o0, o1 = offs[q], offs[q + 1]
            q += 1
            pk = r[3] if r[3] == r[3] else 0.0
            if kind == NEED_NATIVE_CONST:
                f, fslot = fmap_find(FHT, FK, code, pk, r[4], 0.0, 0.0, fb)
                if f < 0:
                    x = raw[o0]
                    if x != x:
                        x = 0.0
                    x = min(max(x, vmin), vmax)
                    n = meta[C_FCONST]
                    FHT[fslot] = n
                    FK[n, 0], FK[n, 1], FK[n, 2] = code, pk, r[4]
                    FV[n] = np.floor(x / vstep) * vstep
                    meta[C_FCONST] = n + 1
                continue
            k1, k2, k3, k4 = pk, r[4], r[5], r[6]
            slot = fmap_find(THT, TK, code, k1, k2, k3, k4, fb)
            if slot[0] >= 0:
                continue
            out = saturated_table_range(raw[o0:o1], vmin, vmax, vstep)
        t = meta[C_TAB]
        nb = len(out[8])
        b0 = meta[C_TABBITS]
        if t >= TAB.shape[0] or b0 + nb > TB.shape[0]:
            return -1
        for j in range(nb):
            TB[b0 + j, 0] = out[8][j]
            TB[b0 + j, 1] = out[9][j]
        TAB[t, 0], TAB[t, 1], TAB[t, 2], TAB[t, 3], TAB[t, 4] = out[0], out[1], out[2], out[3], out[4]
        TAB[t, 5], TAB[t, 6], TAB[t, 7], TAB[t, 8], TAB[t, 9] = out[5], out[6], out[7], b0, nb
        meta[C_TAB] = t + 1
        meta[C_TABBITS] = b0 + nb
        THT[slot[1]] = t
        TK[t, 0], TK[t, 1], TK[t, 2], TK[t, 3], TK[t, 4] = code, k1, k2, k3, k4
    return 0


# -- the postfix front end ---------------------------------------------------------------------------------



@kernel
def _node_hash(o, pb, cb, kids):
    """A hash of a node's key (op, parameter and constant bits, children ids)."""
    h = _mix(_mix(_mix(np.uint64(0), o), pb), cb)
    for c in kids:
        h = _mix(h, c)
    return _finish(h)


@kernel
def _same_node(sid, head, pb, cb, kids, KEY, CH):
    """Node ``sid`` has this key. ``KEY[sid]``: op + 256 * children, parameter bits, constant bits, first
    edge: one record, so a lookup reads one or two cache lines rather than one per column."""
    if KEY[sid, 0] != head or KEY[sid, 1] != pb or KEY[sid, 2] != cb:
        return False
    e0 = KEY[sid, 3]
    for j in range(len(kids)):
        if CH[e0 + j] != kids[j]:
            return False
    return True


@kernel
def rehash(HT, n, KEY, CH):
    """Puts nodes 0..n-1 into the empty open-addressing table ``HT`` (size a power of two)."""
    mask = np.uint64(len(HT) - 1)
    for sid in range(n):
        e0, nk = KEY[sid, 3], KEY[sid, 0] >> 8
        h = _node_hash(KEY[sid, 0] & 255, KEY[sid, 1], KEY[sid, 2], CH[e0:e0 + nk]) & mask
        while HT[h] >= 0:
            h = (h + np.uint64(1)) & mask
        HT[h] = sid


@kernel
def intern_postfix(op, param, const, nkids, expr0, first, OP, PARAM, CONSTV, CH0, CHN, CH, SIZE, HEIGHT, NB, TREEB, counts,
                   HT, KEY, EHT, EXP, TOK, roots, errs, stack, fb):
    """Hash-conses expressions given in postfix form (node i: ``op[i]``, ``param[i]``, ``const[i]`` as in
    ``dag.NodeTable``, and ``nkids[i]`` children: the subtrees just before it, first child first) into the
    node arrays, from expression ``first`` on; expression k is nodes ``expr0[k]:expr0[k + 1]``. ``HT`` is an
    open-addressing table of node ids (-1: empty) kept at most half full; ``KEY`` the nodes' keys (see
    ``_same_node``). Writes each root id (or -1 and an error code). ``counts``: nodes and edges in the
    arrays. Whole expressions seen before are found at once: ``EHT`` is an open-addressing table of them
    (-1: empty; at most half full), ``EXP`` their records (root, first token, tokens, hash) and ``TOK`` their
    tokens (op + 256 * children, parameter bits, constant bits); ``counts[2:4]``: expressions and tokens
    stored. Returns the index of the first expression not done: less than the number of expressions when
    the arrays or a hash table must grow first. ``fb``: one float64 of scratch (this kernel runs without
    reference counting, so it allocates nothing)."""
    n_expr = len(expr0) - 1
    ib = fb.view(np.int64)
    mask = np.uint64(len(HT) - 1)
    emask = np.uint64(len(EHT) - 1)
    for k in range(first, n_expr):
        a, b = expr0[k], expr0[k + 1]
        if counts[0] + (b - a) > len(OP) or counts[0] + (b - a) > len(KEY) or counts[1] + (b - a) > len(CH) \
                or 2 * (counts[0] + (b - a)) > len(HT) or counts[2] + 1 > len(EXP) or counts[3] + (b - a) > len(TOK) \
                or 2 * (counts[2] + 1) > len(EHT):
            return k
        # the whole expression, if stored: its tokens' hash, then a comparison with the stored tokens
        eh = np.uint64(b - a)
        for i in range(a, b):
            eh = _mix(_mix(_mix(eh, op[i] + 256 * nkids[i]), _bits(param[i], fb, ib)), _bits(const[i], fb, ib))
        eh = _finish(eh)
        ekey = np.int64(eh >> np.uint64(1))
        slot = np.uint64(ekey) & emask
        found = -1
        while EHT[slot] >= 0:
            x = EHT[slot]
            if EXP[x, 3] == ekey and EXP[x, 2] == b - a:
                t0 = EXP[x, 1]
                same = True
                for i in range(a, b):
                    t = t0 + i - a
                    if TOK[t, 0] != op[i] + 256 * nkids[i] or TOK[t, 1] != _bits(param[i], fb, ib) \
                            or TOK[t, 2] != _bits(const[i], fb, ib):
                        same = False
                        break
                if same:
                    found = EXP[x, 0]
                    break
            slot = (slot + np.uint64(1)) & emask
        if found >= 0:
            errs[k] = PF_OK
            roots[k] = found
            continue
        top = 0
        err = PF_OK if b > a else PF_EMPTY
        for i in range(a, b):
            o = op[i]
            nk = nkids[i]
            if o < 0 or o >= N_OPS or o == SUB or o == DIV:
                err = PF_CODE
                break
            has_c = const[i] == const[i]
            if o == VAR or o == CONST:
                ok = nk == 0
            elif o == ADD or o == MUL:
                ok = nk >= 1 and nk + (1 if has_c else 0) >= 2
            else:
                ok = nk == 1
            if not ok:
                err = PF_ARITY
                break
            if (o == VAR and not (param[i] >= 0 and param[i] == np.floor(param[i]))) or (o == POW_INT and not (param[i] >= 2)) \
                    or (o == CONST and not math.isfinite(param[i])):
                err = PF_PARAM
                break
            if nk > top:
                err = PF_STACK
                break
            kids = stack[top - nk:top]
            pb = _bits(param[i], fb, ib)
            cb = _bits(const[i], fb, ib)
            head = o + 256 * nk
            h = _node_hash(o, pb, cb, kids) & mask
            sid = -1
            while HT[h] >= 0:
                if _same_node(HT[h], head, pb, cb, kids, KEY, CH):
                    sid = HT[h]
                    break
                h = (h + np.uint64(1)) & mask
            if sid < 0:
                sid = counts[0]
                e0 = counts[1]
                OP[sid], PARAM[sid], CONSTV[sid] = o, param[i], const[i]
                CH0[sid], CHN[sid] = e0, nk
                KEY[sid, 0], KEY[sid, 1], KEY[sid, 2], KEY[sid, 3] = head, pb, cb, e0
                size = 1.0 + (1.0 if (has_c and (o == ADD or o == MUL)) else 0.0)
                height = 0.0
                for j in range(nk):
                    c = kids[j]
                    CH[e0 + j] = c
                    size += SIZE[c]
                    height = max(height, HEIGHT[c])
                SIZE[sid] = size
                HEIGHT[sid] = height + 1.0
                counts[0] = sid + 1
                counts[1] = e0 + nk
                node_struct_fill(sid, sid + 1, OP, PARAM, CONSTV, CHN, CH0, CH, NB, TREEB)
                HT[h] = sid
            top -= nk
            stack[top] = sid
            top += 1
        if err == PF_OK and top != 1:
            err = PF_LEFT
        errs[k] = err
        roots[k] = stack[0] if err == PF_OK else -1
        if err == PF_OK:  # remembered whole (``slot``: the empty one the search above ended on)
            x, t0 = counts[2], counts[3]
            for i in range(a, b):
                TOK[t0 + i - a, 0] = op[i] + 256 * nkids[i]
                TOK[t0 + i - a, 1] = _bits(param[i], fb, ib)
                TOK[t0 + i - a, 2] = _bits(const[i], fb, ib)
            EXP[x, 0], EXP[x, 1], EXP[x, 2], EXP[x, 3] = stack[0], t0, b - a, ekey
            EHT[slot] = x
            counts[2], counts[3] = x + 1, t0 + (b - a)
    return n_expr


@kernel
def rehash_expressions(EHT, n, EXP):
    """Puts the stored expressions 0..n-1 into the empty open-addressing table ``EHT``."""
    mask = np.uint64(len(EHT) - 1)
    for x in range(n):
        h = np.uint64(EXP[x, 3]) & mask
        while EHT[h] >= 0:
            h = (h + np.uint64(1)) & mask
        EHT[h] = x


# -- XGBoost trees -----------------------------------------------------------------------------------------

@njit(cache=True)
def walk_trees(X, feature, split, left, right, default_left, base):
    """``trees.TreeEnsemble.predict``: each row down every tree (float32 ``x < split``, NaN the default way),
    the leaves added in tree order in float32 from the base margin, as XGBoost's CPU predictor does."""
    n, t = X.shape[0], feature.shape[0]
    out = np.empty(n)
    for i in range(n):
        acc = np.float32(base)
        for k in range(t):
            node = 0
            while left[k, node] != node:
                x = X[i, feature[k, node]]
                if x != x:
                    go_left = default_left[k, node]
                else:
                    go_left = x < split[k, node]
                node = left[k, node] if go_left else right[k, node]
            acc = np.float32(acc + split[k, node])
        out[i] = acc
    return out


# -- the cache, keyed to the layout ------------------------------------------------------------------------

def _dispatchers() -> list:
    return [v for v in globals().values() if isinstance(v, CPUDispatcher)]


layout.key_cache_to_layout(_dispatchers(), layout.DIGEST)  # see its docstring
