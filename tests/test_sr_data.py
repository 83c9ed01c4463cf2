"""Datasets: jets from a local file in the OpenML schema, the synthetic sample, generic tables."""

import numpy as np
import pandas as pd
import pytest

from sr_search.data import JET_CLASSES, JET_FEATURES, SAMPLE_PATH, DataError, DataUnavailable, load_jets, load_jets_sample, load_table
from sr_search.make_jets_sample import make_sample


def jets_frame(n=60, seed=0):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(rng.normal(size=(n, len(JET_FEATURES))) * 3 + 5, columns=list(JET_FEATURES))
    df['class'] = np.array(JET_CLASSES)[np.arange(n) % 5]
    return df


@pytest.mark.parametrize('suffix', ['.csv', '.parquet'])
def test_load_jets_from_local_file(tmp_path, suffix):
    df = jets_frame()
    path = tmp_path / f'jets{suffix}'
    df.to_csv(path, index=False) if suffix == '.csv' else df.to_parquet(path)
    d = load_jets(path, test_size=0.25, random_state=1)
    assert d.X_train.shape == (45, 16) and d.X_test.shape == (15, 16)
    assert d.classes == ('g', 'q', 't', 'w', 'z') and d.feature_names == JET_FEATURES
    np.testing.assert_allclose(d.X_train.mean(axis=0), 0, atol=1e-12)  # scaler fitted on train only
    np.testing.assert_allclose(d.X_train.std(axis=0), 1, atol=1e-12)
    assert abs(d.X_test.mean()) > 1e-6
    assert set(np.unique(d.y_train)) == set(range(5))
    # labels follow the sorted (LabelEncoder) order; rows keep their class through the split
    back = d.scaler.inverse_transform(d.X_test)
    for row, label in zip(back, d.y_test):
        match = np.flatnonzero(np.all(np.isclose(df[list(JET_FEATURES)].to_numpy(), row), axis=1))
        assert df['class'].iloc[match[0]] == JET_CLASSES[label]


def test_original_schema_with_prefix_and_one_hot(tmp_path):
    df = jets_frame()
    onehot = pd.get_dummies(df.pop('class')).astype(int)
    df = df.rename(columns={c: f'j_{c}' for c in df.columns})
    df = pd.concat([df, onehot.rename(columns=lambda c: f'j_{c}')], axis=1)
    path = tmp_path / 'orig.csv'
    df.to_csv(path, index=False)
    d = load_jets(path)
    assert d.X_train.shape[1] == 16 and len(d.y_train) + len(d.y_test) == 60


def test_missing_values_and_columns_are_named(tmp_path):
    df = jets_frame()
    df.loc[[3, 7], 'mass_mmdt'] = np.nan
    path = tmp_path / 'nan.csv'
    df.to_csv(path, index=False)
    with pytest.raises(DataError, match=r"'mass_mmdt' has 2 missing"):
        load_jets(path)
    df = jets_frame().drop(columns=['multiplicity'])
    df.to_csv(path, index=False)
    with pytest.raises(DataError, match='multiplicity'):
        load_jets(path)
    df = jets_frame()
    df.loc[0, 'class'] = 'b'
    df.to_csv(path, index=False)
    with pytest.raises(DataError, match="unknown class"):
        load_jets(path)


def test_openml_failure_is_a_clear_error(monkeypatch, tmp_path):
    import sklearn.datasets

    def offline(*args, **kwargs):
        raise OSError('Temporary failure in name resolution')

    monkeypatch.setattr(sklearn.datasets, 'fetch_openml', offline)
    with pytest.raises(DataUnavailable, match='pass a local file'):
        load_jets(cache_dir=tmp_path)


def test_openml_frame_is_used(monkeypatch):
    import sklearn.datasets
    from sklearn.utils import Bunch

    df = jets_frame(50)
    seen = {}

    def fake(**kwargs):
        seen.update(kwargs)
        return Bunch(frame=df, data=df[list(JET_FEATURES)], target=df['class'])

    monkeypatch.setattr(sklearn.datasets, 'fetch_openml', fake)
    d = load_jets(cache_dir='/tmp/cache-here')
    assert seen['name'] == 'hls4ml_lhc_jets_hlf' and seen['data_home'] == '/tmp/cache-here'
    assert d.source == 'openml:hls4ml_lhc_jets_hlf' and len(d.y_test) == 10


def test_synthetic_sample_is_labelled_and_reproducible():
    first = SAMPLE_PATH.read_text().splitlines()[0]
    assert first.startswith('#') and 'SYNTHETIC' in first and 'NOT real jet data' in first
    d = load_jets_sample(max_rows=500)
    assert d.X_train.shape == (400, 16) and d.info['synthetic']
    pd.testing.assert_frame_equal(make_sample(100), make_sample(100))
    full = pd.read_csv(SAMPLE_PATH, comment='#')
    assert list(full.columns) == [*JET_FEATURES, 'class'] and len(full) == 2000


def test_load_table_formats_and_nan_checks(tmp_path):
    rng = np.random.default_rng(0)
    df = pd.DataFrame({'a': rng.normal(size=20), 'b': rng.normal(size=20)})
    df['y'] = 2 * df['a']
    df.to_csv(tmp_path / 't.csv', index=False)
    X, y, names = load_table(tmp_path / 't.csv', 'y')
    assert X.shape == (20, 2) and names == ['a', 'b'] and np.allclose(y, 2 * X[:, 0])
    df.to_parquet(tmp_path / 't.parquet')
    assert load_table(tmp_path / 't.parquet', 'y', features=['b'])[0].shape == (20, 1)
    np.savez(tmp_path / 't.npz', X=X, y=y)
    X2, y2, names2 = load_table(tmp_path / 't.npz', 'y')
    assert np.array_equal(X2, X) and names2 == ['x0', 'x1']
    df.loc[[1, 2, 5], 'b'] = np.nan
    df.to_csv(tmp_path / 'bad.csv', index=False)
    with pytest.raises(DataError, match=r"column 'b' has 3 missing"):
        load_table(tmp_path / 'bad.csv', 'y')
    with pytest.raises(DataError, match="no target column 'z'"):
        load_table(tmp_path / 't.csv', 'z')
    with pytest.raises(FileNotFoundError):
        load_table(tmp_path / 'nope.csv', 'y')
