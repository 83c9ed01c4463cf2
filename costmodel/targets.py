"""The cost targets, named once for the whole code base.

``TARGETS`` are the columns of every cost: what the cost model predicts, what a synthesis measures (the
training set's and the store's columns), what validation compares and the service returns, in this order:
the timing targets, then the resources. ``TARGET_LABELS`` is how a report or a table names each one.

A search minimizes some of them. Its objectives keep the short names users type (``--objective latency``,
front members' costs, selection budgets ``{'latency': 10}``); ``SEARCH_TARGETS`` declares each one with
the target it reads, so a search looks a value up by ``SearchTarget.target`` and nothing converts names
back and forth. This module imports nothing: every layer may use it.
"""

from __future__ import annotations

from dataclasses import dataclass

TIMING_TARGETS: tuple[str, ...] = ('latency_cycles', 'ii')  # in clock cycles
RESOURCE_TARGETS: tuple[str, ...] = ('lut', 'ff', 'dsp', 'bram_18k')  # a latency-only calibration leaves them NaN
TARGETS: tuple[str, ...] = (*TIMING_TARGETS, *RESOURCE_TARGETS)
INTEGER_TARGETS: tuple[str, ...] = ('latency_cycles', 'ii', 'dsp', 'bram_18k')  # counts: exact-match rates apply
# the targets that differ between pipelined designs (hls4ml's io_parallel pipelines take a sample per cycle:
# II is 1 for all of them), so the ones a fit of real reports is scored on and an uncertainty band is given for
BAND_TARGETS: tuple[str, ...] = tuple(t for t in TARGETS if t != 'ii')
# how reports and tables name each target, in the order of TARGETS
TARGET_LABELS: dict[str, str] = dict(zip(TARGETS, ('latency (cycles)', 'II', 'LUT', 'FF', 'DSP', 'BRAM 18K'), strict=True))


@dataclass(frozen=True)
class SearchTarget:
    """One target a search can minimize: ``name`` is the objective's name in a search, ``target`` the
    column of ``TARGETS`` it reads, ``discrete`` whether it takes only a few integer values over SR-sized
    expressions (the search then breaks ties by LUTs)."""

    name: str
    target: str
    discrete: bool = False

    def __post_init__(self) -> None:
        if self.target not in TARGETS:
            raise ValueError(f'search target {self.name!r} reads {self.target!r}, which is not one of {", ".join(TARGETS)}')


SEARCH_TARGETS: tuple[SearchTarget, ...] = (
    SearchTarget('latency', 'latency_cycles', discrete=True),
    SearchTarget('lut', 'lut'),
    SearchTarget('dsp', 'dsp', discrete=True),
    SearchTarget('ff', 'ff'),
)


def search_target(name: str) -> SearchTarget:
    """The search target called ``name`` (its objective name, e.g. ``latency``, or the column it reads,
    e.g. ``latency_cycles``); ValueError naming the choices otherwise."""
    for s in SEARCH_TARGETS:
        if name in (s.name, s.target):
            return s
    raise ValueError(f'unknown cost target {name!r}; targets: {", ".join(s.name for s in SEARCH_TARGETS)}')


def column_value(row, s: SearchTarget, default=None):
    """The value of search target ``s`` in a mapping keyed by target columns or by search names (a cost
    function may answer either way); ``default`` when it holds neither."""
    if s.target in row:
        return row[s.target]
    return row.get(s.name, default) if hasattr(row, 'get') else default


__all__ = ['BAND_TARGETS', 'INTEGER_TARGETS', 'RESOURCE_TARGETS', 'SEARCH_TARGETS', 'TARGETS', 'TARGET_LABELS',
           'TIMING_TARGETS', 'SearchTarget', 'column_value', 'search_target']
