"""The cost model's outputs on the shipped training set equal the stored snapshot exactly.

The snapshot (``tests/data/costmodel_snapshot.json``) holds the sha256 and sampled values of the compiled
engine's features and of every shipped model's predictions on the designs of the shipped training set
(see ``tests/regen_costmodel_snapshot.py``). A refactoring must leave them identical. A deliberate change of
the model (a retrained ``data/costmodel`` model, a new training set) regenerates it with
``python -m tests.regen_costmodel_snapshot``, committed together with that change.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from regen_costmodel_snapshot import SNAPSHOT, digest, samples


@pytest.fixture(scope='module')
def computed(tmp_path_factory) -> dict[str, np.ndarray]:
    """The outputs of a fresh process, as the snapshot was taken, so that nothing earlier tests did in this
    process (a model fitted, a calibration store opened) can touch them."""
    out = tmp_path_factory.mktemp('snapshot') / 'outputs.npz'
    code = ('import sys, numpy as np; sys.path.insert(0, "tests"); from regen_costmodel_snapshot import outputs; '
            f'np.savez({str(out)!r}, **outputs())')
    subprocess.run([sys.executable, '-c', code], check=True, timeout=900, cwd=Path(__file__).resolve().parents[1])
    with np.load(out) as z:
        return {k: z[k] for k in z.files}


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
