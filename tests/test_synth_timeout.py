"""A synthesis past its time limit is stopped and reported as a timeout naming its stage; the store keeps a
failure record, never a half-written result."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from hls_gen import Design
from hls_gen.backends import SynthesisTimeout, get_backend
from hls_gen.tools import yosys_version

REPO = Path(__file__).resolve().parents[1]


def _fake_yosys(path: Path) -> str:
    """A Yosys that answers -V and otherwise hangs."""
    path.write_text('#!/bin/sh\nif [ "$1" = "-V" ]; then echo "Yosys 0.0 (hanging fake)"; exit 0; fi\nsleep 60\n')
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


@pytest.fixture
def hanging_yosys(tmp_path, monkeypatch):
    monkeypatch.setenv('SRCOST_YOSYS', _fake_yosys(tmp_path / 'yosys'))
    yosys_version.cache_clear()
    yield
    yosys_version.cache_clear()


def test_a_hanging_yosys_is_stopped_at_the_limit_and_named(hanging_yosys, tmp_path):
    t0 = time.monotonic()
    with pytest.raises(SynthesisTimeout) as e:
        get_backend('open').synthesize([Design.build('x0*x1 + x2')], tmp_path / 'w', timeout_s=3)
    assert e.value.stage == 'Yosys'
    assert str(e.value).startswith('timeout in Yosys: the synthesis did not finish within 3 s')
    assert e.value.log_path and Path(e.value.log_path).name == 'yosys.log'
    assert time.monotonic() - t0 < 30


def test_a_limit_spent_before_yosys_names_the_python_stage(tmp_path):
    with pytest.raises(SynthesisTimeout) as e:
        get_backend('open').synthesize([Design.build('x0 + x1')], tmp_path / 'w', timeout_s=1e-9)
    assert e.value.stage == 'tracing and pipelining'
    assert not list((tmp_path / 'w').glob('*/src'))  # stopped before any project was written


def test_profile_ops_stores_a_timeout_as_a_failure_naming_the_stage(hanging_yosys, tmp_path, monkeypatch):
    from profiler.plans import make_plans
    from profiler.runner import profile_ops
    from profiler.store import STATUS_FAILED, CalibrationStore

    monkeypatch.setenv('PYTHONPATH', os.pathsep.join(p for p in (str(REPO), os.environ.get('PYTHONPATH')) if p))
    be = get_backend('open')
    plans = make_plans('open', be.tool_version(), ['+'], ['ap_fixed<8,3>'], implementations=['native'])
    with CalibrationStore(tmp_path / 'cal.db') as store:
        s = profile_ops(plans, store, 'open', jobs=1, timeout_s=3, kill_grace_s=5, workdir=tmp_path / 'work', progress=False)
        assert (s.ok, s.failed) == (0, len(plans))
        records = store.records()
        assert [r.status for r in records] == [STATUS_FAILED] * len(plans)
        assert all('timeout in Yosys' in r.error for r in records)
        assert all(r.latency_worst is None and r.lut is None for r in records)
