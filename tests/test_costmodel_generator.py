"""The random SR-shaped design generator."""

import re

import numpy as np

from costmodel.generator import GeneratorConfig, generate_design, generate_designs, random_constant
from hls_gen import Design
from hls_gen.ir import count_nodes


def test_deterministic_and_prefix_stable():
    a = generate_designs(12, seed=5)
    b = generate_designs(20, seed=5)
    assert [d.digest() for d in a] == [d.digest() for d in b[:12]]
    assert generate_design(5, 7).digest() == a[7].digest()
    assert generate_designs(12, seed=6)[0].digest() != a[0].digest()


def test_shapes_like_sr_output():
    designs = generate_designs(60, seed=1)
    sizes = [count_nodes(e.sympy_expr) for d in designs for e in d.outputs]
    assert min(sizes) >= 1 and max(sizes) <= 40
    assert all(1 <= d.n_inputs <= 16 for d in designs)
    assert any(len(d.outputs) > 1 for d in designs) and any(len(d.outputs) == 1 for d in designs)
    texts = ' '.join(str(e) for d in designs for e in d.outputs)
    assert '_lut(' in texts and re.search(r'\b(sin|cos|exp|log|tanh)\(', texts)
    assert any(d.luts for d in designs)
    assert len({str(d.precision) for d in designs}) > 5
    for d in designs:  # every design is a valid, serializable Design
        assert isinstance(d, Design)
        again = Design.from_dict(d.to_dict())
        assert (again.precision, again.luts, again.n_inputs, len(again.outputs)) == (d.precision, d.luts, d.n_inputs, len(d.outputs))
        for s in d.luts:  # LUT ranges fit the precision (hls4ml computes end - start in the table type)
            assert s.range_end - s.range_start <= d.precision.max_value


def test_constants_are_realistic():
    rng = np.random.default_rng(0)
    cs = [random_constant(rng) for _ in range(400)]
    pow2 = [c for c in cs if c != 0 and float(np.log2(abs(c))).is_integer()]
    short = [c for c in cs if len(f'{abs(c):.10g}'.replace('.', '').strip('0')) <= 4]
    assert len(pow2) > 20 and len(short) > 150 and any(abs(c) < 0.02 for c in cs) and any(c < 0 for c in cs)


def test_config_restricts_outputs_and_size():
    cfg = GeneratorConfig(max_outputs=1, max_nodes=8)
    designs = generate_designs(15, seed=2, config=cfg)
    assert all(len(d.outputs) == 1 for d in designs)
    assert all(count_nodes(d.outputs[0].sympy_expr) <= 8 for d in designs)
