"""The kernels' on-disk cache is keyed to ``costmodel.layout``: numba keys it to the kernel's own source file
only, so a changed layout constant would otherwise come back compiled with its old value.

The mechanism (``kernels.key_cache_to_layout``) is checked on a one-line kernel in a temporary package (the
real kernels' cache is shared and takes tens of seconds to rebuild): a constant read from another file,
compiled and cached; changed with the digest, the kernel is compiled again and returns the new value;
changed without it, numba alone would serve the stale one.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

KERNEL = """
from numba import njit
from probe_layout import VALUE


@njit(cache=True)
def read():
    return VALUE
"""

RUN = """
import json, sys
sys.path.insert(0, sys.argv[1])
from costmodel.layout import key_cache_to_layout
import probe_kernel
flushed = key_cache_to_layout([probe_kernel.read], sys.argv[2]) if sys.argv[2] else False
value = probe_kernel.read()
print(json.dumps({'value': value, 'flushed': flushed, 'hits': len(probe_kernel.read.stats.cache_hits)}))
"""


def _run(where: Path, value: int, digest: str) -> dict:
    (where / 'probe_layout.py').write_text(f'VALUE = {value}\n')
    r = subprocess.run([sys.executable, '-c', RUN, str(where), digest], capture_output=True, text=True, timeout=120,
                       cwd=Path(__file__).resolve().parents[1])
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_a_changed_layout_digest_recompiles_the_kernels(tmp_path):
    (tmp_path / 'probe_kernel.py').write_text(KERNEL)
    assert _run(tmp_path, 1, 'a') == {'value': 1, 'flushed': True, 'hits': 0}  # no mark yet: compiled
    assert _run(tmp_path, 1, 'a') == {'value': 1, 'flushed': False, 'hits': 1}  # same layout: from the cache
    assert _run(tmp_path, 2, 'b') == {'value': 2, 'flushed': True, 'hits': 0}  # new layout: compiled again
    assert (tmp_path / '__pycache__' / 'kernels.layout').read_text().strip() == 'b'


def test_without_the_key_numba_serves_the_stale_constant(tmp_path):
    (tmp_path / 'probe_kernel.py').write_text(KERNEL)
    assert _run(tmp_path, 1, '')['value'] == 1
    assert _run(tmp_path, 2, '') == {'value': 1, 'flushed': False, 'hits': 1}  # what the key is for


def test_the_real_kernels_carry_the_layout_digest():
    from costmodel import kernels, layout

    mark = Path(kernels.design_rows.stats.cache_path) / layout.LAYOUT_MARK
    assert mark.read_text().strip() == layout.DIGEST
