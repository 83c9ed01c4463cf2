"""Design options shared by ``synth``, ``predict`` and ``validate``."""

from __future__ import annotations

from collections.abc import Sequence

from hls_gen import Design


def design_from_options(
    exprs: Sequence[str], precision: str, luts: Sequence[str], part: str, clock_period: float, n_inputs: int | None = None
) -> Design:
    return Design.build(list(exprs), precision, list(luts), n_inputs, part, clock_period)
