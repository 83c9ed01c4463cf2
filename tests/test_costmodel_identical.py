"""The cost model's outputs on the shipped training set equal the stored snapshot exactly.

The snapshot (``tests/data/costmodel_snapshot.json``) holds the sha256 and sampled values of the compiled
engine's features and of every shipped model's predictions on the 187 designs of the shipped training set
(see ``tests/regen_costmodel_snapshot.py``). A refactoring must leave them identical. A deliberate change of
the model (a retrained ``data/costmodel`` model, a new training set) regenerates it with
``python -m tests.regen_costmodel_snapshot``, committed together with that change.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from regen_costmodel_snapshot import SNAPSHOT, digest, outputs, samples


@pytest.fixture(scope='module')
def computed() -> dict[str, np.ndarray]:
    # fresh models, as the snapshot was taken: earlier tests in the same process use (and may extend) the
    # cached instances of costmodel.api.get_model
    from costmodel import api

    api._MODELS.clear()
    try:
        return outputs()
    finally:
        api._MODELS.clear()


@pytest.fixture(scope='module')
def stored() -> dict:
    return json.loads(SNAPSHOT.read_text())['outputs']


def test_the_snapshot_covers_every_output(computed, stored):
    assert sorted(computed) == sorted(stored)


@pytest.mark.parametrize('name', ['features', 'open_learned', 'open_analytic', 'open_additive', 'vivado_hls_analytic',
                                  'open_learned_expressions', 'open_learned_postfix', 'open_analytic_expressions',
                                  'open_analytic_postfix'])
def test_outputs_on_the_training_set_equal_the_snapshot(name, computed, stored):
    a, want = computed[name], stored[name]
    assert list(a.shape) == want['shape']
    assert samples(a) == want['samples']  # the first differing value is shown here
    assert digest(a) == want['sha256']
