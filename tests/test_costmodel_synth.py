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


def test_a_constant_added_to_an_input_costs_no_lut():
    """x0 - 3.6 and friends synthesize to carry and inverter cells only: the datapath model counts such an
    adder apart (cadd_in_bits) and the shipped model predicts 0 LUTs for them, and LUTs for a constant
    added after other logic."""
    pytest.importorskip('da4ml')
    if not default_model_path('open').exists():
        pytest.skip('no shipped open-backend model (srcost fit)')
    from hls_gen import Design

    exprs = ['x0 - 3.616640531919712', '-x0 + 2.7', '0.958*x0 + 1.904']
    designs = [Design.build([e], 'ap_fixed<16,6>') for e in exprs]
    results = BackendRunner('open', batch_size=3)(designs)
    assert [r.lut for r in results[:2]] == [0, 0], results
    assert results[2].lut > 20
    pred = get_model('learned', 'open').predict(designs)
    assert list(pred['lut'][:2]) == [0, 0]
    assert pred['lut'][2] > 20
