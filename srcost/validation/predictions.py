"""What a cost model predicted for the designs, as one dict of targets per design."""

from __future__ import annotations

from typing import Any

import numpy as np

from .records import ValidationError

TARGETS: tuple[str, ...] = ('latency_cycles', 'ii', 'lut', 'ff', 'dsp', 'bram_18k')
_TARGET_ALIASES = {'latency': 'latency_cycles', 'latency_worst': 'latency_cycles', 'bram': 'bram_18k'}


def normalize_predictions(pred: Any, n: int) -> list[dict[str, float]]:
    """A predictor's answer (DataFrame, list of mappings, mapping of columns) as one dict of targets per design."""
    import pandas as pd

    df = pred if isinstance(pred, pd.DataFrame) else pd.DataFrame(pred)
    df = df.rename(columns={a: t for a, t in _TARGET_ALIASES.items() if a in df.columns and t not in df.columns})
    cols = [t for t in TARGETS if t in df.columns]
    if len(df.columns) == 0 and len(df) in (0, n):  # the predictor had nothing to say
        return [{} for _ in range(n)]
    if not cols:
        raise ValidationError(f'the predictor returned none of the targets {", ".join(TARGETS)} (columns: {list(df.columns)})')
    if len(df) != n:
        raise ValidationError(f'the predictor returned {len(df)} rows for {n} designs')
    rows = []
    for _, row in df.reset_index(drop=True).iterrows():
        rows.append({c: float(row[c]) for c in cols if row[c] is not None and np.isfinite(float(row[c]))})
    return rows
