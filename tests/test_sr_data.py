"""Datasets: jets from a local file in the OpenML schema, OpenML's caches or the shipped generated set; generic tables."""

import numpy as np
import pandas as pd
import pytest

from sr_search.data import JET_CLASSES, JET_FEATURES, SAMPLE_PATH, DataError, DataUnavailable, load_jets, load_jets_sample, load_table
from sr_search.jets.dataset import read_generated


@pytest.fixture
def no_openml(monkeypatch, tmp_path):
    """No $SRCOST_JETS, empty OpenML caches (scikit-learn's and the openml package's)."""
    monkeypatch.delenv('SRCOST_JETS', raising=False)
    monkeypatch.setenv('SCIKIT_LEARN_DATA', str(tmp_path / 'sklearn-home'))
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'xdg-cache'))
    monkeypatch.setenv('HOME', str(tmp_path / 'home'))
    return tmp_path


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


def test_openml_failure_is_a_clear_error(monkeypatch, no_openml):
    import sklearn.datasets

    def offline(*args, **kwargs):
        raise OSError('Temporary failure in name resolution')

    monkeypatch.setattr(sklearn.datasets, 'fetch_openml', offline)
    with pytest.raises(DataUnavailable, match='pass a local file'):
        load_jets(cache_dir=no_openml, source='openml')
    assert load_jets(cache_dir=no_openml).info['dataset'] == 'generated'  # auto never downloads


def _fake_openml(monkeypatch, df):
    import sklearn.datasets
    from sklearn.utils import Bunch

    seen = {}

    def fake(**kwargs):
        seen.update(kwargs)
        return Bunch(frame=df, data=df[list(JET_FEATURES)], target=df['class'])

    monkeypatch.setattr(sklearn.datasets, 'fetch_openml', fake)
    return seen


def test_openml_frame_is_used(monkeypatch, no_openml):
    seen = _fake_openml(monkeypatch, jets_frame(50))
    d = load_jets(cache_dir=no_openml / 'cache-here', source='openml')
    assert seen['name'] == 'hls4ml_lhc_jets_hlf' and seen['data_home'] == str(no_openml / 'cache-here')
    assert d.source == 'openml:hls4ml_lhc_jets_hlf' and len(d.y_test) == 10 and d.info['dataset'] == 'openml'


def test_load_jets_order_file_then_caches_then_the_generated_set(monkeypatch, no_openml, capsys):
    # nothing there: the shipped generated set, and it says so
    d = load_jets(max_rows=500, verbose=True)
    assert d.info['dataset'] == 'generated' and d.source.startswith('generated:jets_generated.parquet')
    assert 'no OpenML copy or cache found' in capsys.readouterr().err
    # scikit-learn's cache holds the set: fetch_openml reads it from there
    seen = _fake_openml(monkeypatch, jets_frame(40))
    home = no_openml / 'sk'
    lookup = home / 'openml/openml.org/api/v1/json/data/list/data_name/hls4ml_lhc_jets_hlf/limit/2/data_version/1.gz'
    lookup.parent.mkdir(parents=True)
    lookup.write_bytes(b'')
    assert load_jets(cache_dir=home).info['dataset'] == 'openml' and seen['data_home'] == str(home)
    # the openml package's cache (no scikit-learn cache under the default home)
    pq = no_openml / 'xdg-cache/openml/org/openml/www/datasets/42468/dataset.pq'
    pq.parent.mkdir(parents=True)
    jets_frame(30).to_parquet(pq)
    d = load_jets()
    assert d.info['dataset'] == 'openml' and str(pq) in d.source and len(d.y_test) == 6
    # $SRCOST_JETS wins over every cache; a path wins over $SRCOST_JETS
    local = no_openml / 'local.csv'
    jets_frame(25).to_csv(local, index=False)
    monkeypatch.setenv('SRCOST_JETS', str(local))
    d = load_jets()
    assert d.info['dataset'] == 'file' and '$SRCOST_JETS' in d.source and len(d.y_test) == 5
    other = no_openml / 'other.csv'
    jets_frame(60).to_csv(other, index=False)
    assert len(load_jets(other).y_test) == 12
    monkeypatch.setenv('SRCOST_JETS', str(no_openml / 'missing.csv'))
    with pytest.raises(DataUnavailable, match='not a file'):
        load_jets()
    monkeypatch.delenv('SRCOST_JETS')
    with pytest.raises(DataError, match='unknown jet data source'):
        load_jets(source='kaggle')


def test_the_shipped_set_is_generated_jets_with_provenance():
    df, prov = read_generated(SAMPLE_PATH)  # its checksum is the one the provenance records
    assert list(df.columns) == [*JET_FEATURES, 'class']
    counts = df['class'].astype(str).value_counts()
    assert set(counts.index) == set(JET_CLASSES) and counts.min() >= 10_000 and len(df) >= 50_000
    assert prov['rows'] == len(df) and prov['command'].startswith('srcost jets generate')
    assert prov['versions']['pythia8mc'] == '8.317.2' and prov['versions']['fastjet'] == '3.5.2.0'
    assert SAMPLE_PATH.stat().st_size <= 15 * 2**20
    d = load_jets_sample(max_rows=500)
    assert d.X_train.shape == (400, 16) and d.info['dataset'] == 'generated' and not d.info['synthetic']
    med = df.groupby('class', observed=True)['mass_mmdt'].median()
    assert 65 <= med['w'] <= 95 and 75 <= med['z'] <= 105 and 140 <= med['t'] <= 200


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
