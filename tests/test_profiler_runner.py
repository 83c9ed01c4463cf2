"""Running micro-benchmarks: batching, caching, failures, hangs, SIGKILL resumption, Dask.

The backends are the fakes of test_profiler_fakes.py, selected through the ``module:Class`` plugin hook
so that worker processes (local pool, Dask workers, a CLI subprocess) load them too.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from profiler.plans import make_plans
from profiler.runner import profile_ops
from profiler.store import STATUS_FAILED, STATUS_OK, CalibrationStore
from srcost.cli import app

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
FAKES = 'test_profiler_fakes'
P16 = 'ap_fixed<16,6>'


@pytest.fixture
def fakes(monkeypatch, tmp_path):
    """Make the fake backends importable here, in spawned workers and in subprocesses; count tool calls."""
    monkeypatch.syspath_prepend(str(TESTS))
    monkeypatch.setenv('PYTHONPATH', os.pathsep.join(p for p in (str(REPO), str(TESTS), os.environ.get('PYTHONPATH')) if p))
    calls = tmp_path / 'calls.txt'
    monkeypatch.setenv('SRCOST_FAKE_CALLS', str(calls))
    return calls


def _batch_sizes(calls: Path) -> list[int]:
    return [int(x) for x in calls.read_text().split()] if calls.exists() else []


def test_run_stores_every_result_batched_and_a_rerun_is_cached(fakes, tmp_path):
    plans = make_plans('fake', 'fake 1.0', ['+', 'sin'], [P16, 'ap_fixed<18,8>'], lut_sizes=[256])
    assert len(plans) == 6
    with CalibrationStore(tmp_path / 'cal.db') as store:
        s = profile_ops(plans, store, f'{FAKES}:FakeBackend', jobs=2, batch_size=3, workdir=tmp_path / 'work', progress=False)
        assert (s.ok, s.failed, s.skipped, s.batches) == (6, 0, 0, 2)
        assert sorted(_batch_sizes(fakes)) == [3, 3]  # one tool call served three designs
        recs = store.records()
        assert len(recs) == 6 and all(r.status == STATUS_OK for r in recs)
        assert {r.digest for r in recs} == {p.digest for p in plans}
        sin_lut = next(r for r in recs if r.implementation == 'lut256' and r.precision == P16)
        assert sin_lut.lut_size == 256 and sin_lut.error_max > 0 and 'fallback' in sin_lut.error_method
        assert sin_lut.design_json and json.loads(sin_lut.design_json)['luts'] == ['sin:256:-4:4']
        assert not (tmp_path / 'work').exists()  # successful runs leave no files behind

        again = profile_ops(plans, store, f'{FAKES}:FakeBackend', jobs=2, progress=False)
        assert (again.ok, again.skipped, again.batches) == (0, 6, 0)
        assert len(_batch_sizes(fakes)) == 2  # nothing ran
        forced = profile_ops(plans, store, f'{FAKES}:FakeBackend', jobs=1, force=True, progress=False)
        assert (forced.ok, forced.skipped) == (6, 0) and store.count() == 6


def test_a_failing_tool_is_stored_as_failure_and_the_exit_code_says_so(fakes, tmp_path):
    db = tmp_path / 'cal.db'
    args = ['profile-ops', '--ops', '+,tan', '--precisions', P16, '--lut-sizes', '256', '--jobs', '2',
            '--batch-size', '3', '--db', str(db), '--workdir', str(tmp_path / 'work'), '--no-progress']
    res = CliRunner().invoke(app, [*args, '--backend', f'{FAKES}:FailingBackend'])
    assert res.exit_code == 1, res.output
    assert '2 of 3 micro-benchmarks failed' in res.stderr
    assert 'failed: tan [native]' in res.stdout
    with CalibrationStore(db) as store:
        failed = store.records(status=STATUS_FAILED)
        assert sorted(r.implementation for r in failed) == ['lut256', 'native']
        assert all(r.operator == 'tan' for r in failed)
        for r in failed:
            assert 'fake tool failed on tan' in r.error and 'ERROR: fake tool crashed' in r.error  # error + log tail
            assert r.latency_worst is None and Path(r.log_path).is_file()  # the log is kept
        (ok,) = store.records(status=STATUS_OK)
        assert ok.operator == '+'  # the batch was split: the good design was not lost with the bad one
    table = CliRunner().invoke(app, ['ops', '--db', str(db)])
    assert table.exit_code == 0 and 'failed tan [native] @ ap_fixed<16,6>: SynthesisError: fake tool failed' in table.stdout
    # a rerun retries the failures only (here the tool has been fixed)
    res = CliRunner().invoke(app, [*args, '--backend', f'{FAKES}:FakeBackend', '--json'])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert (summary['skipped'], summary['ok'], summary['failed']) == (1, 2, 0)


def test_a_hanging_tool_is_killed_and_the_run_goes_on(fakes, tmp_path):
    plans = make_plans('fake', 'fake 1.0', ['+', 'tan', '*'], [P16], implementations=['native'])
    t0 = time.monotonic()
    with CalibrationStore(tmp_path / 'cal.db') as store:
        s = profile_ops(plans, store, f'{FAKES}:HangingBackend', jobs=2, batch_size=3, timeout_s=5,
                        kill_grace_s=0.5, workdir=tmp_path / 'work', progress=False)
        assert (s.ok, s.failed) == (2, 1)
        (bad,) = store.records(status=STATUS_FAILED)
        assert bad.operator == 'tan' and 'timeout' in bad.error
    assert time.monotonic() - t0 < 60


def test_sigkill_half_way_then_rerun_stores_every_benchmark_exactly_once(fakes, tmp_path):
    db = tmp_path / 'cal.db'
    cmd = [sys.executable, '-c', 'from srcost.cli import app; app()', 'profile-ops',
           '--backend', f'{FAKES}:SlowBackend', '--ops', '+,*,sin', '--precisions', f'{P16},ap_fixed<18,8>',
           '--lut-sizes', '256', '--jobs', '2', '--batch-size', '1', '--db', str(db),
           '--workdir', str(tmp_path / 'work'), '--no-progress', '--json']
    env = {**os.environ, 'SRCOST_FAKE_DELAY': '0.6'}
    total = 8
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        stored = 0
        deadline = time.monotonic() + 90
        while stored < 2 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
            stored = _count_rows(db)
        assert proc.poll() is None, proc.communicate()
        assert 2 <= stored < total, 'the kill must land half way'
        workers = _children(proc.pid)
        assert workers or not Path('/proc').is_dir()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    time.sleep(1.5)  # orphaned workers (if any) would finish their batch and try to report now
    assert not [pid for pid in workers if _alive(pid)], 'worker processes outlived the killed run'
    at_kill = _count_rows(db)
    assert at_kill < total

    rerun = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    summary = json.loads(rerun.stdout)
    assert summary['skipped'] == at_kill and summary['ok'] == total - at_kill  # nothing finished was lost

    conn = sqlite3.connect(db)
    assert conn.execute('PRAGMA integrity_check').fetchone()[0] == 'ok'
    rows = conn.execute(
        'SELECT COUNT(*), COUNT(DISTINCT digest) FROM operator_costs').fetchone()
    assert rows == (total, total)
    dupes = conn.execute(
        'SELECT COUNT(*) FROM (SELECT 1 FROM operator_costs GROUP BY backend, tool_version, part, clock_period_ns, '
        'precision, operator, implementation HAVING COUNT(*) > 1)').fetchone()[0]
    assert dupes == 0
    partial = conn.execute(
        "SELECT COUNT(*) FROM operator_costs WHERE status != 'ok' OR latency_worst IS NULL OR lut IS NULL "
        'OR ff IS NULL OR error_method IS NULL OR design_json IS NULL OR created_at IS NULL').fetchone()[0]
    assert partial == 0


def _children(pid: int) -> list[int]:
    """Child processes (Linux /proc; empty elsewhere)."""
    out = []
    for f in Path(f'/proc/{pid}/task').glob('*/children'):
        out += [int(x) for x in f.read_text().split()]
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != 'Z'


def _count_rows(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        conn = sqlite3.connect(f'file:{db}?mode=ro', uri=True, timeout=5)
        try:
            return conn.execute('SELECT COUNT(*) FROM operator_costs').fetchone()[0]
        finally:
            conn.close()
    except sqlite3.OperationalError:  # the schema is not created yet
        return 0


def test_a_run_on_a_dask_cluster(fakes, tmp_path):
    distributed = pytest.importorskip('distributed')
    plans = make_plans('fake', 'fake 1.0', ['+', 'sin', 'tan'], [P16], lut_sizes=[1024])
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=True, dashboard_address=':0') as cluster:
        with CalibrationStore(tmp_path / 'cal.db') as store:
            s = profile_ops(plans, store, f'{FAKES}:FailingBackend', scheduler=cluster.scheduler_address,
                            batch_size=2, workdir=tmp_path / 'work', progress=False)
            assert (s.ok, s.failed) == (3, 2) and s.executor.startswith('dask')
            assert {r.operator for r in store.records(status=STATUS_FAILED)} == {'tan'}
            assert store.count(STATUS_OK) == 3


def test_a_worker_with_other_tool_versions_does_not_store_under_the_wrong_key(fakes, tmp_path):
    plans = make_plans('fake', 'fake 0.9', ['+'], [P16])
    with CalibrationStore(tmp_path / 'cal.db') as store:
        s = profile_ops(plans, store, f'{FAKES}:FakeBackend', jobs=1, workdir=tmp_path / 'work', progress=False)
        assert s.failed == 1
        (r,) = store.records()
        assert r.status == STATUS_FAILED and "tool version 'fake 1.0'" in r.error


def test_backend_options_reach_the_workers(fakes, tmp_path):
    db = tmp_path / 'cal.db'
    res = CliRunner().invoke(app, ['profile-ops', '--backend', f'{FAKES}:FakeBackend', '--backend-opt', 'lut_per_char=1000',
                                   '--ops', '+', '--precisions', P16, '--jobs', '1', '--db', str(db), '--no-progress'])
    assert res.exit_code == 0, res.output
    with CalibrationStore(db) as store:
        (r,) = store.records()
        assert r.lut == 1000 * len('x0 + x1')
    res = CliRunner().invoke(app, ['profile-ops', '--backend', f'{FAKES}:FakeBackend', '--backend-opt', 'nope=1',
                                   '--db', str(db)])
    assert res.exit_code == 2 and 'cannot create backend' in res.stderr
    res = CliRunner().invoke(app, ['profile-ops', '--backend-opt', 'novalue', '--db', str(db)])
    assert res.exit_code == 2 and 'KEY=VALUE' in res.stderr


def test_unknown_backend_is_a_usage_error(tmp_path):
    res = CliRunner().invoke(app, ['profile-ops', '--backend', 'nope', '--db', str(tmp_path / 'x.db')])
    assert res.exit_code == 2 and 'unknown backend' in res.stderr
    res = CliRunner().invoke(app, ['profile-ops', '--backend', 'no_such_module:X', '--db', str(tmp_path / 'x.db')])
    assert res.exit_code == 2 and 'cannot import' in res.stderr
