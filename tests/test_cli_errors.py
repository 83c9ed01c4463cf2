"""Bad input to `srcost synth`: non-zero exit, one line naming the problem, no code run, nothing left behind."""

import os
import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    'args, needle',
    [
        (["__import__('os').system('touch PWNED')"], 'named operators'),
        (['x0 +* x1'], 'malformed'),
        (['foo(x0)'], "unknown operator 'foo'"),
        (['x0', '--precision', 'ap_fixed<4,9000>'], 'integer bits 9000'),
        ([''], 'empty expression'),
        (['sin_lut(x0)', '--lut', 'sin:1024:4:-4'], 'range'),
    ],
)
def test_synth_rejects_bad_input(tmp_path, args, needle):
    out = tmp_path / 'out'
    r = subprocess.run(
        [sys.executable, '-m', 'srcost', 'synth', *args, '--out', str(out)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert r.returncode != 0
    lines = [ln for ln in r.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, r.stderr
    assert needle in lines[0]
    assert not out.exists()
    assert not (tmp_path / 'PWNED').exists()
    assert os.listdir(tmp_path) == []
