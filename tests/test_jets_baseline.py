"""The paper's NN baseline (16-64-32-32-5, ReLU) on the shipped generated jets: trained here, then quantized to
the design precision as the firmware computes it (hls_gen.nn)."""

import warnings

import numpy as np

from hls_gen.nn import DenseNetwork
from sr_search.data import load_jets_sample


def test_the_nn_baseline_reaches_070_on_the_shipped_set_in_float_and_quantized():
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    d = load_jets_sample()
    assert len(d.y_train) == 40_000 and len(d.y_test) == 10_000
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', ConvergenceWarning)
        mlp = MLPClassifier(hidden_layer_sizes=(64, 32, 32), max_iter=30, random_state=0).fit(d.X_train, d.y_train)
    float_acc = mlp.score(d.X_test, d.y_test)
    net = DenseNetwork.from_sklearn(mlp, 'ap_fixed<16,6>')
    fixed_acc = float(np.mean(np.argmax(net.reference(d.X_test), axis=1) == d.y_test))
    assert float_acc >= 0.70 and fixed_acc >= 0.70
    assert abs(fixed_acc - float_acc) < 0.01
