"""Fuzzed files through the library's readers: data tables (load_table), published calibrations (read and import
into a real SQLite store) and fronts (what ``srcost validate`` reads). Each one is read, or refused with srcost's
error type in one line; an import that is refused leaves the store as it was."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from fuzz_corpus import assert_no_canary, calibration_file, data_file, front_file, fuzz_settings, refused_or_ok
from hypothesis import given

from hls_gen.errors import SrcostError
from hls_gen.expression import MAX_INPUTS
from profiler.calibration_io import import_calibration
from profiler.store import CalibrationStore
from sr_search.data import MIN_ROWS, load_table


def _write(tmp: Path, suffix: str, content: bytes, stem: str = 'f') -> Path:
    path = tmp / f'{stem}{suffix}'
    path.write_bytes(content)
    return path


@fuzz_settings(300)
@given(data_file())
def test_data_tables_load_or_are_refused(file):
    suffix, content = file
    with tempfile.TemporaryDirectory() as tmp:
        path = _write(Path(tmp), suffix, content)
        got = refused_or_ok(load_table, path, 'y')
    if got is not None:
        X, y, names = got
        assert X.shape == (len(y), len(names)) and len(y) >= MIN_ROWS and X.shape[1] <= MAX_INPUTS
        assert np.all(np.isfinite(X)) and np.all(np.isfinite(y)) and np.ptp(y) > 0


def test_a_table_of_a_million_columns_is_refused_from_its_header(tmp_path):
    path = tmp_path / 'wide.csv'
    n = 10**6
    path.write_text(','.join(f'c{i}' for i in range(n)) + ',y\n' + ','.join('1' for _ in range(n + 1)) + '\n')
    with pytest.raises(SrcostError, match='1000001 columns'):
        load_table(path, 'y')


@pytest.mark.parametrize('rows, ok', [(1, False), (MIN_ROWS - 1, False), (MIN_ROWS, True)])
def test_tables_need_min_rows(tmp_path, rows, ok):
    path = tmp_path / 't.csv'
    path.write_text('x0,y\n' + ''.join(f'{i},{i * i}\n' for i in range(rows)))
    if ok:
        assert load_table(path, 'y')[0].shape == (rows, 1)
    else:
        with pytest.raises(SrcostError, match=f'at least {MIN_ROWS}'):
            load_table(path, 'y')


@fuzz_settings(300)
@given(calibration_file())
def test_calibrations_import_whole_or_not_at_all(tmp_path_factory, file):
    suffix, content = file
    tmp = tmp_path_factory.mktemp('cal')
    path = _write(tmp, suffix, content, 'cal')
    with CalibrationStore(tmp / 'store.db') as store:
        before = store.count()
        summary = refused_or_ok(import_calibration, path, store)
        after = store.count()
    if summary is None:
        assert after == before
    else:
        assert summary.records >= 1 and after >= before
    assert_no_canary()


def _load_front(path: Path):
    from srcost.commands.validate import load_front

    return load_front(path)


@fuzz_settings(250)
@given(front_file())
def test_fronts_load_or_are_refused(file):
    suffix, content = file
    with tempfile.TemporaryDirectory() as tmp:
        path = _write(Path(tmp), suffix, content, 'front')
        got = refused_or_ok(_load_front, path)
    if got is not None:
        exprs, labels, costs, meta = got
        assert len(exprs) == len(labels) == len(costs) and all(isinstance(e, str) for e in exprs)
    assert_no_canary()
