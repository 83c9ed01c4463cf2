"""The calibration store: round trip, schema version, keys, constraints, training-design records."""

from __future__ import annotations

import dataclasses
import sqlite3

import pytest

from profiler.errors import StoreError
from profiler.store import SCHEMA_VERSION, STATUS_FAILED, STATUS_OK, CalibrationStore, DesignRecord, OpRecord, default_db_path


def _record(**kw) -> OpRecord:
    base = dict(
        digest='d1', backend='open', tool_version='t 1', part='xcvu9p-flga2577-2-e', clock_period_ns=5.0,
        precision='ap_fixed<16,6>', operator='sin', implementation='lut1024', status=STATUS_OK, pysr_name='sin',
        lut_size=1024, lut_range_start=-4.0, lut_range_end=4.0, notes='n', latency_best=1, latency_worst=2, ii=1,
        lut=100, ff=20, dsp=0, bram_18k=0, uram=0, carry=3, clock_estimate_ns=2.5, clock_estimate_method='estimate',
        latency_method='sim', error_max=0.01, error_mean=0.002, error_points=1025, error_domain_start=-4.0,
        error_domain_end=4.0, error_method='bit-accurate emulation', duration_s=1.5, design_json='{}',
    )
    base.update(kw)
    return OpRecord(**base)


def test_round_trip_and_schema_version(tmp_path):
    path = tmp_path / 'cal.db'
    rec = _record()
    with CalibrationStore(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        store.put(rec)
    with CalibrationStore(path) as store:  # reopened: the data and the version persist
        assert store.schema_version == SCHEMA_VERSION
        (got,) = store.records(backend='open', precision='ap_fixed<16,6>')
        assert dataclasses.replace(got, created_at='') == rec
        assert got.created_at
        assert store.get('d1') == got
        assert store.completed_digests() == {'d1'}
    conn = sqlite3.connect(path)
    assert conn.execute('PRAGMA journal_mode').fetchone()[0] == 'wal'
    assert conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == str(SCHEMA_VERSION)


def test_a_newer_schema_is_refused(tmp_path):
    path = tmp_path / 'cal.db'
    CalibrationStore(path).close()
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),))
    conn.close()
    with pytest.raises(StoreError, match='newer'):
        CalibrationStore(path)


def test_not_a_database_is_a_clear_error(tmp_path):
    bad = tmp_path / 'bad.db'
    bad.write_text('this is not sqlite' * 100)
    with pytest.raises(StoreError, match='not a usable'):
        CalibrationStore(bad)


def test_one_row_per_key_and_failed_rows_are_not_completed(tmp_path):
    with CalibrationStore(tmp_path / 'cal.db') as store:
        store.put(_record(digest='old', status=STATUS_FAILED, error='boom', latency_worst=None))
        assert store.completed_digests() == set()
        # the same natural key under a new digest replaces the old row
        store.put(_record(digest='new'))
        assert store.count() == 1 and store.completed_digests() == {'new'}
        store.put(_record(digest='other', precision='ap_fixed<18,8>'))
        assert store.count() == 2
        assert [r.precision for r in store.records()] == ['ap_fixed<16,6>', 'ap_fixed<18,8>']


def test_incomplete_rows_are_refused(tmp_path):
    with CalibrationStore(tmp_path / 'cal.db') as store:
        with pytest.raises(StoreError):
            store.put(_record(latency_worst=None))  # an ok row needs its latency
        with pytest.raises(StoreError):
            store.put(_record(status=STATUS_FAILED, error=None))  # a failure needs its error
        with pytest.raises(StoreError):  # all or nothing
            store.put_many([_record(digest='a'), _record(digest='b', operator='cos', latency_worst=None)])
        assert store.count() == 0


def test_design_records_round_trip(tmp_path):
    rec = DesignRecord('abc', 'open', 't 1', {'outputs': ['x0+x1']}, [{'lut': 3}], provenance={'by': 'test'})
    with CalibrationStore(tmp_path / 'cal.db') as store:
        store.put_design(rec)
        store.put_design(dataclasses.replace(rec, results=[{'lut': 4}]))  # same key: replaced
        (got,) = store.designs(backend='open')
        assert got.results == [{'lut': 4}] and got.design == {'outputs': ['x0+x1']} and got.provenance == {'by': 'test'}
        assert store.completed_designs('open', 't 1') == {'abc'}


def test_default_db_path(monkeypatch, tmp_path):
    monkeypatch.setenv('SRCOST_DB', str(tmp_path / 'env.db'))
    assert default_db_path() == tmp_path / 'env.db'
    assert default_db_path(tmp_path / 'x.db') == tmp_path / 'x.db'
    monkeypatch.delenv('SRCOST_DB')
    p = default_db_path()
    assert p.name == 'calibration.db' and 'srcost' in str(p)
