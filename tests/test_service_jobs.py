"""Jobs of ``srcost serve`` against a real server: synthesis jobs survive a SIGKILL of the server (every
finished job and result is kept, running ones are marked interrupted and can be resubmitted), cancel stops a
running job, and profile and validate jobs write the store and the report. Each runs real synthesis on the
open backend (small designs, no Verilator run)."""

from __future__ import annotations

import time

import pytest
from service_server import ServerProcess

from profiler.store import CalibrationStore
from srcost.client import Client
from srcost.service.auth import create_token

pytestmark = pytest.mark.synth

FAST = {'backend_options': {'verify_latency': False}, 'precision': 'ap_fixed<8,3>'}


def _until(cond, timeout_s: float, what: str, poll_s: float = 0.1):
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        got = cond()
        if got:
            return got
        time.sleep(poll_s)
    raise AssertionError(f'timed out waiting for {what}')


def _alive(pid: int) -> bool:
    try:
        with open(f'/proc/{pid}/stat') as f:
            return f.read().split(')')[-1].split()[0] != 'Z'
    except OSError:
        return False


@pytest.fixture
def store_and_token(tmp_path):
    db = tmp_path / 'cal.db'
    with CalibrationStore(db) as store:
        token = create_token(store, 'alice')
    return db, token


def test_a_sigkilled_server_restarts_with_every_finished_job_and_marks_running_ones_interrupted(tmp_path, store_and_token):
    db, token = store_and_token
    srv = ServerProcess(db, tmp_path / 'server.log', '--workers', '4').start()
    try:
        with Client(srv.url, token) as c:
            first = c.submit('synth', expressions=['x0*x1'], **FAST)
            before = c.wait(first, timeout_s=900)
            assert before.state == 'done', before
            assert before.result['designs'][0]['result']['dsp'] == 1
            ids = [c.submit('synth', expressions=[e], **FAST) for e in ('x0 + x1', 'x0 - x1', 'x0*x0', 'x0 + 0.5')]
            _until(lambda: all(c.job(i, result=False).state == 'running' for i in ids), 300, 'four running jobs')
            snapshot = {i: c.job(i) for i in ids}
            workers = srv.children()
        assert len(workers) >= 4
        srv.kill()
    finally:
        srv.stop()
    _until(lambda: not any(_alive(p) for p in workers), 30, 'the job workers to die with the server')

    srv = ServerProcess(db, tmp_path / 'server2.log', '--workers', '2').start()
    try:
        with Client(srv.url, token) as c:
            after = c.job(first)
            assert after.state == 'done' and after.result == before.result and after.finished_at == before.finished_at
            for i in ids:
                j = c.job(i)
                if snapshot[i].state == 'done':
                    assert j.result == snapshot[i].result
                else:
                    assert j.state == 'interrupted' and 'resubmit' in j.error, j
            again = c.resubmit(ids[0])
            j = c.wait(again, timeout_s=900)
            assert j.state == 'done' and j.resubmitted_from == ids[0]
            assert j.result['designs'][0]['expressions'] == ['x0 + x1']
            assert c.job(first).result == before.result  # still there after more work
    finally:
        srv.stop()


def test_cancel_stops_a_running_job_and_a_queued_one(tmp_path, store_and_token):
    db, token = store_and_token
    srv = ServerProcess(db, tmp_path / 'server.log', '--workers', '1').start()
    try:
        with Client(srv.url, token) as c:
            running = c.submit('synth', expressions=['x0*x1*x2'], **FAST)
            queued = c.submit('synth', expressions=['x0*x2'], **FAST)
            _until(lambda: c.job(running, result=False).state == 'running', 300, 'the job to start')
            assert c.job(queued, result=False).state == 'queued'
            workers = srv.children()
            assert c.cancel(queued) == 'cancelled'
            assert c.cancel(running) == 'cancelled'
            _until(lambda: not any(_alive(p) for p in workers), 30, 'the cancelled job\'s worker to stop')
            for i in (running, queued):
                j = c.job(i)
                assert j.state == 'cancelled' and 'alice' in j.error and j.result is None
            with pytest.raises(Exception) as e:
                c.cancel(running)
            assert getattr(e.value, 'status', None) == 409
            # the pool goes on with new work
            j = c.wait(c.submit('synth', expressions=['x0 + x2'], **FAST), timeout_s=900)
            assert j.state == 'done'
    finally:
        srv.stop()


def test_profile_and_validate_jobs_write_the_store_and_the_report(tmp_path, store_and_token):
    db, token = store_and_token
    srv = ServerProcess(db, tmp_path / 'server.log', '--workers', '2').start()
    try:
        with Client(srv.url, token) as c:
            before = c.predict(['x0 + x1'], precision='ap_fixed<8,3>')
            prof = c.submit('profile', ops=['+'], precisions=['ap_fixed<8,3>'], implementations=['native'])
            val = c.submit('validate', expressions=['x0*x1 + x2'], precisions=['ap_fixed<10,4>'], n_samples=64,
                           backend_options={'verify_latency': False})
            p = c.wait(prof, timeout_s=900)
            assert p.state == 'done' and p.result['ok'] == 1 and p.result['failed'] == 0, p
            ops = c.ops(backend='open', precision='ap_fixed<8,3>')
            assert [r['operator'] for r in ops] == ['+'] and ops[0]['status'] == 'ok'
            # the server predicts with the new calibration, as a fresh `srcost predict --db` does
            from costmodel.api import clear_cache, get_model
            from hls_gen import Design

            clear_cache()
            m = get_model('auto', 'open', 'xcvu9p-flga2577-2-e', str(db))
            lib = m.predict([Design.build(['x0 + x1'], 'ap_fixed<8,3>')]).iloc[0]
            after = _until(lambda: (r := c.predict(['x0 + x1'], precision='ap_fixed<8,3>')).calibration_digest
                           != before.calibration_digest and r, 30, 'the server to load the new calibration')
            assert after.designs[0].costs() == {k: float(lib[k]) for k in lib.index}
            again = c.wait(c.submit('profile', ops=['+'], precisions=['ap_fixed<8,3>'], implementations=['native']),
                           timeout_s=300)
            assert again.state == 'done' and again.result['skipped'] == 1 and again.result['ran'] == 0
            v = c.wait(val, timeout_s=900)
            assert v.state == 'done', v
            assert v.has_report and v.result['summary'][0]['status'] == 'ok'
            html = c.report(val)
            assert html.lstrip().lower().startswith('<!doctype html') and 'x0*x1 + x2' in html
    finally:
        srv.stop()
    assert not (db.parent / 'cal-serve-work' / prof).exists()  # a job that went well leaves no files


def test_jobs_run_on_a_dask_cluster_with_scheduler(tmp_path, store_and_token):
    import socket
    import subprocess
    import sys

    from service_server import free_port

    db, token = store_and_token
    port = free_port()
    quiet = dict(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sched = subprocess.Popen([sys.executable, '-m', 'distributed.cli.dask_scheduler', '--host', '127.0.0.1', '--port',
                              str(port), '--no-dashboard'], **quiet)
    worker = srv = None
    try:
        def listening():
            with socket.socket() as s:
                return s.connect_ex(('127.0.0.1', port)) == 0

        _until(listening, 120, 'the Dask scheduler')
        worker = subprocess.Popen([sys.executable, '-m', 'distributed.cli.dask_worker', f'tcp://127.0.0.1:{port}',
                                   '--nthreads', '1', '--no-dashboard'], **quiet)
        srv = ServerProcess(db, tmp_path / 'server.log', '--scheduler', f'tcp://127.0.0.1:{port}').start()
        with Client(srv.url, token) as c:
            assert c.health()['executor'].startswith(f'dask tcp://127.0.0.1:{port}')
            j = c.wait(c.submit('synth', expressions=['x0*x1', 'x0 + x1'], separate=True, **FAST), timeout_s=900)
        assert j.state == 'done', j
        assert [d['result']['dsp'] for d in j.result['designs']] == [1, 0]
    finally:
        for p in (srv,):
            if p is not None:
                p.stop()
        for p in (worker, sched):
            if p is not None:
                p.terminate()
                p.wait(timeout=60)


def test_a_search_job_returns_its_front(tmp_path, store_and_token):
    import numpy as np

    db, token = store_and_token
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, (300, 3))
    y = 2.5 * X[:, 0] * X[:, 1] + np.sin(X[:, 2])
    csv = 'x0,x1,x2,y\n' + '\n'.join(','.join(f'{v:.6g}' for v in row) for row in np.column_stack([X, y]))
    srv = ServerProcess(db, tmp_path / 'server.log').start()
    try:
        with Client(srv.url, token) as c:
            with pytest.raises(Exception) as e:
                c.submit('search', data_csv=csv, target='z', budget_seconds=3)
            assert getattr(e.value, 'status', None) == 422 and 'column(s) z not in data_csv' in str(e.value)
            j = c.wait(c.submit('search', data_csv=csv, target='y', budget_seconds=3, generations=30), timeout_s=900)
    finally:
        srv.stop()
    assert j.state == 'done', j
    (front,) = j.result['fronts']
    assert front['members'] and j.result['summary']['task'] == 'regression'
    assert j.result['summary']['members'] == len(front['members'])
    assert 'data_csv' in j.spec and j.spec['data_csv'].startswith('<')  # the table is not echoed back
