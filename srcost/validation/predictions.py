"""What a cost model predicted for the designs, as one dict of targets per design."""

from __future__ import annotations

from typing import Any

import numpy as np

from costmodel.targets import SEARCH_TARGETS, TARGETS

from .records import ValidationError


def normalize_predictions(pred: Any, n: int) -> list[dict[str, float]]:
    """A predictor's answer (DataFrame, list of mappings, mapping of columns) as one dict of targets per design.
    Columns are ``TARGETS``; a search target's name (``latency``, as a front's costs name it) stands for the
    target it reads where that target's own column is absent."""
    import pandas as pd

    df = pred if isinstance(pred, pd.DataFrame) else pd.DataFrame(pred)
    df = df.rename(columns={s.name: s.target for s in SEARCH_TARGETS if s.name in df.columns and s.target not in df.columns})
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
