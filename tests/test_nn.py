"""Quantized dense networks on the open backend (hls_gen.nn): building, the traced logic against the numpy
statement of its arithmetic, and (synth) Yosys + Verilator on a small network."""

import numpy as np
import pytest

from hls_gen.errors import ExpressionError
from hls_gen.nn import DenseNetwork, NetworkBackend, emulate_network, trace_network
from hls_gen.precision import Precision

pytest.importorskip('da4ml')


def random_net(sizes, precision='ap_fixed<16,6>', seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    ws = [rng.normal(0, scale / np.sqrt(a), (a, b)) for a, b in zip(sizes[:-1], sizes[1:])]
    bs = [rng.normal(0, 0.3 * scale, b) for b in sizes[1:]]
    return DenseNetwork.build(ws, bs, precision)


def test_build_rounds_parameters_to_the_precision_and_checks_shapes():
    net = random_net([3, 4, 2])
    p = Precision.parse('ap_fixed<16,6>')
    for a in (*net.weights, *net.biases):
        assert np.array_equal(a, p.quantize(a))
    assert net.layer_sizes == [3, 4, 2] and net.n_inputs == 3 and net.n_outputs == 2
    assert len(net.digest()) == 20 and net.digest() == random_net([3, 4, 2]).digest() != random_net([3, 4, 2], seed=1).digest()
    with pytest.raises(ExpressionError, match='do not fit'):
        DenseNetwork.build([np.zeros((3, 4))], [np.zeros(3)])
    with pytest.raises(ExpressionError, match='takes 5 inputs'):
        DenseNetwork.build([np.zeros((3, 4)), np.zeros((5, 2))], [np.zeros(4), np.zeros(2)])
    with pytest.raises(ExpressionError, match='non-finite'):
        DenseNetwork.build([np.full((2, 2), np.nan)], [np.zeros(2)])


@pytest.mark.parametrize('precision', ['ap_fixed<16,6>', 'ap_fixed<10,4,AP_RND,AP_SAT>', 'ap_fixed<8,3>'])
def test_traced_logic_equals_the_stated_arithmetic(precision):
    # scale 3: sums leave the range, so the cast after each layer wraps or saturates
    net = random_net([5, 7, 6, 3], precision, seed=2, scale=3.0)
    rng = np.random.default_rng(3)
    prec = Precision.parse(precision)
    X = rng.uniform(prec.min_value, prec.max_value, (400, 5))
    got = emulate_network(net, X)
    ref = net.reference(X)
    assert np.array_equal(got, ref)
    assert np.any(np.abs(ref) > 0)
    h = prec.quantize(prec.quantize(X) @ net.weights[0] + net.biases[0])
    assert np.any(np.abs(prec.quantize(X) @ net.weights[0] + net.biases[0] - h) > prec.step)  # the casts did act


@pytest.mark.filterwarnings('ignore::sklearn.exceptions.ConvergenceWarning')
def test_from_sklearn_keeps_the_classifier_decisions():
    from sklearn.neural_network import MLPClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 4))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int) + (X[:, 2] > 1).astype(int)
    mlp = MLPClassifier(hidden_layer_sizes=(8,), max_iter=400, random_state=0).fit(X, y)
    net = DenseNetwork.from_sklearn(mlp, 'ap_fixed<16,6>')
    assert net.layer_sizes == [4, 8, 3]
    agree = np.mean(np.argmax(net.reference(X), axis=1) == mlp.predict(X))
    assert agree > 0.97
    with pytest.raises(ExpressionError, match='ReLU'):
        DenseNetwork.from_sklearn(MLPClassifier(activation='tanh', hidden_layer_sizes=(3,), max_iter=5).fit(X, y))


def test_the_trace_has_the_networks_inputs_and_outputs():
    tr = trace_network(random_net([4, 6, 2]))
    assert tr.n_inputs == 4 and tr.n_outputs == 2
    assert len(tr.comb.ops) > 10


@pytest.mark.synth
def test_small_network_synthesizes_and_simulates_bit_accurately(tmp_path):
    net = random_net([3, 4, 2], seed=5)
    backend = NetworkBackend()
    (res,) = backend.synthesize([net], tmp_path / 'syn')  # Verilator confirms the latency against the trace
    assert res.backend == 'open' and res.lut > 0 and res.dsp == 0 and res.bram_18k == 0
    assert res.latency_cycles >= 1 and 'confirmed by Verilator' in res.latency_method
    p = backend.write(net, tmp_path / 'sim')
    rng = np.random.default_rng(1)
    X = rng.normal(0, 2, (300, 3))
    assert np.array_equal(backend.simulate(p, X), net.reference(X))
