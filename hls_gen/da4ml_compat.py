"""Where da4ml 0.6.0 needs help with words wider than 127 bits.

hls4ml's arithmetic is exact, so an SR formula such as ``x0**12`` at ``ap_fixed<16,6>`` carries a word of
about 200 bits before the output cast. da4ml's compiled ``cost_add`` (``_binary/cmvm/state_opr.cc``)
computes an adder's width in 32-bit floats, whose largest value is below 2**128: past 127 bits it returns
``inf`` for the adder's delay and cost, and the design cannot be timed or pipelined.
:func:`cost_add` is the same formula in 64-bit floats, used only where the compiled one is not finite
(tests/test_wide_words.py checks that the two agree elsewhere). :func:`install` puts it where da4ml's
tracer looks it up; it is idempotent and changes nothing for designs whose words fit in 127 bits.
"""

from __future__ import annotations

import math


def cost_add(q0, q1, shift: int, sub: bool, adder_size: int, carry_size: int) -> tuple[float, float]:
    """(delay, cost) of adding ``q1 * 2**shift`` to (or subtracting it from) ``q0``, as da4ml's C++."""
    if adder_size < 0 and carry_size < 0:
        return 1.0, 1.0
    adder_size = 65535 if adder_size < 0 else adder_size
    carry_size = 65535 if carry_size < 0 else carry_size
    min0, max0, step0 = (float(v) for v in q0)
    min1, max1, step1 = (float(v) for v in q1)
    if sub:
        min1, max1 = max1, min1
    scale = 2.0**shift
    min1, max1, step1 = min1 * scale, max1 * scale, step1 * scale
    max0 += step0
    max1 += step1
    top = max(abs(min0), abs(min1), abs(max0), abs(max1))
    if not math.isfinite(top):  # past 2**1024: no float holds the range, and the design cannot be timed
        return math.inf, math.inf
    f = -math.log2(max(step0, step1))
    i = math.ceil(math.log2(top))
    k = 1 if (float(q0[0]) < 0 or float(q1[0]) < 0) else 0
    n = k + i + f
    return float(math.ceil(n / carry_size)), float(math.ceil(n / adder_size))


def _cost_add_checked(compiled):
    def checked(q0, q1, shift, sub, adder_size, carry_size):
        delay, cost = compiled(q0, q1, shift, sub, adder_size, carry_size)
        if math.isfinite(delay) and math.isfinite(cost):
            return delay, cost
        return cost_add(q0, q1, shift, sub, adder_size, carry_size)

    checked.srcost_wide = True
    return checked


def install() -> None:
    """Let da4ml's tracer time and cost adders wider than 127 bits."""
    import da4ml.trace.fixed_variable as fv

    if not getattr(fv.cost_add, 'srcost_wide', False):
        fv.cost_add = _cost_add_checked(fv.cost_add)
