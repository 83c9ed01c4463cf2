"""Pipelining traced logic into register stages: da4ml's ``to_pipeline`` with a retiming search that ends.

da4ml 0.6.0's ``retime_pipeline`` (unchanged upstream) bisects a latency cutoff between
``cutoff_low`` and ``cutoff_high``, re-tracing the pipeline at each trial cutoff to balance the
stages at the same stage count. A trial cutoff below the design's slowest single operation (a wide
multiplier) fails da4ml's assertion and raises ``cutoff_low`` to the trial; the trial is
``(low + high) // 2``, floored, so once ``high - low`` is in (1, 2) the trial can land on ``low``
itself and the bisection repeats the same state forever. That is how a 5-output sincos design at
``ap_fixed<14,6>`` (317 operations, cutoff 57 units set by a multiplier) ran for more than 30
minutes: each trial takes about 0.1 s, but there is no last one.

``pipeline`` runs the same bisection with the same trials, so every design whose da4ml search ends
gets the same stages as before, bit for bit, and stops where da4ml's would repeat a state, keeping
the best pipeline found so far (the one-pass split when no trial succeeded). The latency (number of
stages) is the one-pass split's either way: retiming only balances the stages it already has.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PipelineResult:
    pipe: object  # da4ml Pipeline
    trials: int  # re-traces of the retiming search
    stalled: bool  # the search stopped where da4ml's would repeat a state


def pipeline(comb, latency_cutoff: float, retime: bool = True, deadline=None) -> PipelineResult:
    """Split ``comb`` (a da4ml CombLogic) into stages of at most ``latency_cutoff`` latency units, then (with
    ``retime``) search for the smallest cutoff that keeps the stage count, as da4ml's ``retime_pipeline``.
    ``deadline`` (hls_gen.backends.base.Deadline) is checked before each trial."""
    from da4ml.trace import FixedVariable, HWConfig, comb_trace, to_pipeline

    csol = to_pipeline(comb, latency_cutoff, retiming=False, verbose=False)
    if not retime:
        return PipelineResult(csol, 0, False)
    n_stages = len(csol[0])
    high = max(max(sol.out_latency) / (i + 1) for i, sol in enumerate(csol[0]))
    low = max(csol.out_latencies) / n_stages
    adder_size, carry_size = csol[0][0].adder_size, csol[0][0].carry_size
    best, trials, seen = csol, 0, set()
    while high - low > 1:
        if (low, high) in seen:  # da4ml's loop would run forever from here
            return PipelineResult(best, trials, True)
        seen.add((low, high))
        if deadline is not None:
            deadline.left('pipelining')
        cutoff = (high + low) // 2
        hwconf = HWConfig(adder_size, carry_size, cutoff)
        inp = [FixedVariable(*qint, hwconf=hwconf) for qint in csol.inp_qint]
        trials += 1
        try:
            out = list(csol(inp))
        except AssertionError:  # an operation is slower than the trial cutoff
            low = cutoff
            continue
        trial = to_pipeline(comb_trace(inp, out), cutoff, retiming=False, verbose=False)
        if len(trial[0]) > n_stages:
            low = cutoff
        else:
            high = cutoff
            best = trial
    return PipelineResult(best, trials, False)
