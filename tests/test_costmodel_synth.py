"""A fresh set of random expressions, synthesized now by the open backend, against `srcost predict`
with the shipped learned model (the acceptance check on a small set; the metrics file has the large one)."""

import numpy as np
import pytest

from costmodel.api import default_model_path, get_model
from costmodel.generator import GeneratorConfig, generate_designs
from costmodel.training import BackendRunner

pytestmark = pytest.mark.synth


def test_fresh_designs_agree_with_the_learned_model():
    pytest.importorskip('da4ml')
    if not default_model_path('open').exists():
        pytest.skip('no shipped open-backend model (srcost fit)')
    # a seed the shipped training set (seed 0) never used; small designs keep Yosys quick
    designs = generate_designs(3, seed=20261124, config=GeneratorConfig(max_nodes=14, max_outputs=1, p_other_clock=0.0))
    results = BackendRunner('open', batch_size=3)(designs)
    ok = [(d, r) for d, r in zip(designs, results) if not isinstance(r, Exception)]
    assert len(ok) >= 2, results
    pred = get_model('learned', 'open').predict([d for d, _ in ok])
    lat = [r.latency_cycles for _, r in ok]
    assert list(pred['latency_cycles']) == lat
    assert np.mean([p == r.dsp for p, (_, r) in zip(pred['dsp'], ok)]) >= 0.6
    for t in ('lut', 'ff'):
        rel = [abs(p - getattr(r, t)) / max(getattr(r, t), 10) for p, (_, r) in zip(pred[t], ok)]
        assert np.mean(rel) <= 0.35, (t, rel)
