"""The cost model's outputs on the shipped training set, as a small snapshot that
``tests/test_costmodel_identical.py`` compares against (exact equality).

The snapshot holds, for each output the package computes on the shipped training set (the compiled
engine's feature matrix; the predictions of the learned, analytic and additive models of the open backend
and of the Vivado HLS scheduling model; the learned and analytic models' predictions through the
expression and postfix paths of the single-output designs), the sha256 of its float64 values and a few
sampled values. Regenerate it after a deliberate change of the model (a retrained model, a new training
set, a changed datapath model) with::

    python -m tests.regen_costmodel_snapshot

and commit ``tests/data/costmodel_snapshot.json`` with the change that explains it.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np

SNAPSHOT = Path(__file__).with_name('data') / 'costmodel_snapshot.json'
N_SAMPLES = 40  # sampled values per output
SCHEMA = 1


def training_designs():
    """The shipped training set's designs (rebuilt node for node, as the kernels tests do)."""
    from costmodel.training import data_dir, designs_of, load_training_set, spec_of

    path = data_dir() / 'open_xcvu9p-flga2577-2-e_training.csv'
    return designs_of(load_training_set(path), spec_of(path))


def outputs() -> dict[str, np.ndarray]:
    """Every output of the snapshot, by name, as float64 matrices."""
    from costmodel.api import get_model
    from costmodel.features import FeatureExtractor
    from costmodel.postfix import Postfix

    designs = training_designs()
    out: dict[str, np.ndarray] = {}
    out['features'] = FeatureExtractor().matrix(designs)
    for kind in ('learned', 'analytic', 'additive'):
        m = get_model(kind, 'open')
        out[f'open_{kind}'] = m.predict(designs).to_numpy(np.float64)
    out['vivado_hls_analytic'] = get_model('analytic', 'vivado_hls').predict(designs).to_numpy(np.float64)
    singles = [d for d in designs if len(d.outputs) == 1 and not d.luts]
    by_prec: dict[tuple, list] = {}
    for d in singles:
        by_prec.setdefault((str(d.precision), d.clock_period_ns), []).append(d.outputs[0])
    for kind in ('learned', 'analytic'):
        m = get_model(kind, 'open')
        rows_e, rows_p = [], []
        for (prec, clock), exprs in sorted(by_prec.items()):
            rows_e.append(m.predict_expressions_matrix(exprs, prec, (), clock))
            rows_p.append(m.predict_postfix(Postfix.from_expressions(exprs), prec, (), clock))
        out[f'open_{kind}_expressions'] = np.vstack(rows_e)
        out[f'open_{kind}_postfix'] = np.vstack(rows_p)
    return {k: np.ascontiguousarray(v, dtype=np.float64) for k, v in out.items()}


def digest(a: np.ndarray) -> str:
    """sha256 of the exact float64 values (every NaN written the same way)."""
    a = np.where(np.isnan(a), np.nan, a).astype('<f8')
    return hashlib.sha256(repr(a.shape).encode() + a.tobytes()).hexdigest()


def samples(a: np.ndarray, n: int = N_SAMPLES) -> list[list]:
    """``n`` (row, column, value) triples at fixed positions; the value as ``repr`` of the float (exact)."""
    flat = a.reshape(-1)
    if not flat.size:
        return []
    idx = np.unique(np.linspace(0, flat.size - 1, n).round().astype(int))
    cols = a.shape[1] if a.ndim == 2 else 1
    return [[int(i // cols), int(i % cols), repr(float(flat[i]))] for i in idx]


def snapshot() -> dict:
    outs = outputs()
    return {'schema': SCHEMA, 'outputs': {k: {'shape': list(v.shape), 'sha256': digest(v), 'samples': samples(v)}
                                          for k, v in outs.items()}}


def main(argv: list[str] | None = None) -> int:
    path = Path((argv or sys.argv[1:] or [str(SNAPSHOT)])[0])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(snapshot(), indent=1) + '\n')
    print(f'wrote {path}')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
