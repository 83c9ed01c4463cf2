"""What ``srcost serve`` keeps in the calibration store: a version-1 store migrates to version 2 without
losing a record, jobs round-trip and a restart marks running ones interrupted, tokens are stored as hashes."""

from __future__ import annotations

import sqlite3

import pytest

from profiler.errors import StoreError
from profiler.store import SCHEMA_VERSION, STATUS_OK, CalibrationStore, JobRecord, OpRecord
from srcost.service.auth import Authenticator, TokenError, create_token, revoke_token, token_hash


def _op() -> OpRecord:
    return OpRecord(digest='d1', backend='open', tool_version='t 1', part='xcvu9p-flga2577-2-e', clock_period_ns=5.0,
                    precision='ap_fixed<16,6>', operator='sin', implementation='lut1024', status=STATUS_OK,
                    latency_best=1, latency_worst=2, lut=10)


def test_a_version_1_store_is_migrated_keeping_its_records(tmp_path):
    path = tmp_path / 'cal.db'
    with CalibrationStore(path) as store:
        store.put(_op())
    conn = sqlite3.connect(path)  # make it what srcost wrote before version 2
    with conn:
        conn.execute('DROP TABLE jobs')
        conn.execute('DROP TABLE tokens')
        conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    conn.close()
    with CalibrationStore(path) as store:
        assert store.schema_version == SCHEMA_VERSION == 2
        assert store.get('d1').lut == 10
        store.put_job(JobRecord('j1', 'synth', {'kind': 'synth'}))
        assert store.get_job('j1').state == 'queued'
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT COUNT(*) FROM meta WHERE key = 'migrated_to_2_at'").fetchone()[0] == 1
    conn.close()


def test_jobs_round_trip_and_a_restart_marks_running_ones_interrupted(tmp_path):
    with CalibrationStore(tmp_path / 'cal.db') as store:
        for i, state in enumerate(('queued', 'running', 'done', 'running')):
            store.put_job(JobRecord(f'j{i}', 'synth', {'kind': 'synth', 'n': i}))
            store.update_job(f'j{i}', state=state, progress=0.5, result={'r': [i, 1.5]} if state == 'done' else None)
        store.update_job('j2', report_html='<html>r</html>')
        with pytest.raises(StoreError):
            store.update_job('j0', state='exploded')  # the CHECK constraint holds
        with pytest.raises(StoreError):
            store.update_job('j0', kind='other')  # not a field that changes
        assert store.interrupt_jobs('server stopped') == ['j1', 'j3']
        got = {j.id: j for j in store.jobs()}
        assert [got[f'j{i}'].state for i in range(4)] == ['queued', 'interrupted', 'done', 'interrupted']
        assert got['j1'].error == 'server stopped' and got['j1'].finished_at and got['j1'].finished
        assert got['j2'].result == {'r': [2, 1.5]} and got['j2'].has_report and not got['j0'].has_report
        assert store.job_report('j2') == '<html>r</html>' and store.job_report('j0') is None
        assert [j.id for j in store.jobs(state='queued')] == ['j0'] and [j.id for j in store.jobs(limit=2)] == ['j2', 'j3']
        with pytest.raises(StoreError):
            store.put_job(JobRecord('j0', 'synth', {}))


def test_tokens_are_stored_as_hashes_and_checked_against_the_store(tmp_path):
    import threading

    with CalibrationStore(tmp_path / 'cal.db', shared=True) as store:
        full = create_token(store, 'alice')
        ro = create_token(store, 'bob', read_only=True)
        assert full.startswith('srcost_') and full != ro
        with pytest.raises(StoreError, match='exists'):
            create_token(store, 'alice')
        with pytest.raises(TokenError):
            create_token(store, 'bad name!')
        rows = store.conn.execute('SELECT name, token_hash FROM tokens').fetchall()
        assert {r[1] for r in rows} == {token_hash(full), token_hash(ro)}
        auth = Authenticator(store, threading.Lock(), ttl_s=0.0)
        assert auth.principal(f'Bearer {full}').name == 'alice' and not auth.principal(f'Bearer {full}').read_only
        assert auth.principal(f'bearer {ro}').read_only
        for bad in (None, '', 'Bearer', f'Basic {full}', 'Bearer srcost_nope', f'Bearer {full}x'):
            assert auth.principal(bad) is None
        revoke_token(store, 'alice')
        assert auth.principal(f'Bearer {full}') is None
        with pytest.raises(TokenError, match='no token named'):
            revoke_token(store, 'alice')
