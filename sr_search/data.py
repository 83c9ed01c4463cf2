"""Datasets: the hls4ml LHC jet-tagging high-level features, and generic regression tables.

Jets: OpenML ``hls4ml_lhc_jets_hlf`` (16 features, classes g, q, t, w, z) from a local CSV/Parquet copy
in the same schema (the ``j_`` prefixed names of the original HDF5 files and one-hot label columns are
accepted too), from OpenML's caches, or, where neither is found, the jet set srcost ships: the same
features of Pythia 8 + FastJet jets (``data/jets_generated.parquet``, made by ``srcost jets generate``;
see :mod:`sr_search.jets.sources` for the order). The preprocessing is the one of the hls4ml tutorial
and arXiv 2305.04099: labels encoded in sorted order, an 80/20 train/test split (``random_state=42``),
then a ``StandardScaler`` fitted on the training part only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hls_gen.errors import SrcostError, file_problem
from hls_gen.expression import MAX_INPUTS

OPENML_NAME = 'hls4ml_lhc_jets_hlf'
OPENML_VERSION = 1
JET_FEATURES: tuple[str, ...] = (
    'zlogz', 'c1_b0_mmdt', 'c1_b1_mmdt', 'c1_b2_mmdt', 'c2_b1_mmdt', 'c2_b2_mmdt', 'd2_b1_mmdt',
    'd2_b2_mmdt', 'd2_a1_b1_mmdt', 'd2_a1_b2_mmdt', 'm2_b1_mmdt', 'm2_b2_mmdt', 'n2_b1_mmdt',
    'n2_b2_mmdt', 'mass_mmdt', 'multiplicity',
)
JET_CLASSES: tuple[str, ...] = ('g', 'q', 't', 'w', 'z')  # sorted: LabelEncoder order
CLASS_COLUMN = 'class'
SAMPLE_PATH = Path(__file__).resolve().parent.parent / 'data' / 'jets_generated.parquet'  # the shipped generated set


class DataError(SrcostError, ValueError):
    """A data file is missing columns, has missing values, or cannot be read."""


class DataFileNotFound(DataError, FileNotFoundError):
    """No data file at the path given."""


# Rows a regression table needs: `srcost search` holds a fifth of them (at least one) out for testing and fits on
# the rest, and a fit needs two distinct targets. docs/limits.md.
MIN_ROWS = 3
# Feature columns a table may have: each feature is an input of the designs the search builds (MAX_INPUTS);
# the header is read first, so a file of a million columns is refused before it is parsed.
MAX_FEATURES = MAX_INPUTS
HEADER_BYTES = 1 << 24  # longest header line read to count the columns


class DataUnavailable(SrcostError, RuntimeError):
    """A dataset could not be fetched (e.g. no internet) and no local file was given."""


@dataclass
class JetData:
    """A train/test split of the jet data, features standardized with the training statistics."""

    X_train: np.ndarray
    X_test: np.ndarray
    y_train: np.ndarray  # integer labels, index into ``classes``
    y_test: np.ndarray
    classes: tuple[str, ...] = JET_CLASSES
    feature_names: tuple[str, ...] = JET_FEATURES
    scaler: object = None
    source: str = ''
    info: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
def _read_frame(path: Path):
    import pandas as pd

    if not path.exists():
        raise DataFileNotFound(f'no data file at {path}')
    suffix = ''.join(path.suffixes[-2:]).lower() if path.suffix.lower() in ('.gz', '.bz2', '.zip', '.xz') else path.suffix.lower()
    try:
        if suffix in ('.parquet', '.pq'):
            return pd.read_parquet(path)
        if suffix.startswith('.csv') or suffix.startswith('.txt') or suffix.startswith('.tsv'):
            sep = '\t' if suffix.startswith('.tsv') else ','
            if suffix in ('.csv', '.txt', '.tsv'):
                _check_header(path, sep)
            return pd.read_csv(path, comment='#', sep=sep)
    except DataError:
        raise
    except (ValueError, TypeError, OSError, ImportError) as e:  # pandas' and pyarrow's errors, UnicodeDecodeError
        raise DataError(file_problem(path, e)) from None
    raise DataError(f'unknown data file type {path.name!r}: use .csv, .tsv, .parquet or .npz')


def _check_header(path: Path, sep: str) -> None:
    """Refuse a text table whose header names more than MAX_FEATURES + 1 columns, before pandas parses it (a
    header of 10**6 columns takes pandas minutes and gigabytes)."""
    import csv

    with path.open('rb') as f:
        for raw in iter(lambda: f.readline(HEADER_BYTES), b''):
            line = raw.decode('utf-8-sig').strip()  # UnicodeDecodeError: reported by the caller
            if line and not line.startswith('#'):
                break
        else:
            return  # no header: pandas reports the empty file
    if len(raw) >= HEADER_BYTES and not raw.endswith(b'\n'):
        raise DataError(f'{path}: the header line is longer than {HEADER_BYTES} bytes')
    n = len(next(csv.reader([line], delimiter=sep), []))
    if n > MAX_FEATURES + 1:
        raise DataError(f'{path} has {n} columns: srcost takes at most {MAX_FEATURES} features (design inputs) and a target')


def _check_table(path, X: np.ndarray, y: np.ndarray, target) -> None:
    """The sizes a regression needs: MIN_ROWS rows, at most MAX_FEATURES features, a target that varies."""
    if len(y) < MIN_ROWS:
        raise DataError(f'{path} has {len(y)} data row(s): a regression needs at least {MIN_ROWS} '
                        f'(a fifth are held out for testing)')
    if X.shape[1] > MAX_FEATURES:
        raise DataError(f'{path} has {X.shape[1]} features: srcost takes at most {MAX_FEATURES} (design inputs)')
    if np.ptp(y) == 0:
        raise DataError(f'{path}: the target {target!r} is {y[0]:g} in every row: there is nothing to fit')


def _check_finite(df, columns, path) -> None:
    for c in columns:
        col = df[c]
        bad = col.isna()
        if not bad.any():
            try:
                bad = ~np.isfinite(col.to_numpy(dtype=np.float64))
            except (TypeError, ValueError):
                raise DataError(f'{path}: column {c!r} is not numeric') from None
        n = int(np.sum(bad))
        if n:
            rows = np.flatnonzero(np.asarray(bad))[:5].tolist()
            raise DataError(
                f'{path}: column {c!r} has {n} missing or non-finite value(s) (rows {rows}{"..." if n > 5 else ""}); '
                'drop or impute them first'
            )


def load_table(
    path: str | Path,
    target: str | int,
    features: list[str] | None = None,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """A regression table: ``(X, y, feature_names)`` from CSV/TSV/Parquet (``target`` is a column
    name) or NPZ (arrays ``X`` and ``y``, or ``target`` naming the y array; column ``target`` of a
    2-D array ``data`` when ``target`` is an int). Raises :class:`DataError` on missing values."""
    path = Path(path)
    if path.suffix.lower() == '.npz':
        if not path.exists():
            raise DataFileNotFound(f'no data file at {path}')
        try:
            X, y = _npz_arrays(path, target)
        except DataError:
            raise
        except Exception as e:  # noqa: BLE001 - not a zip (BadZipFile), object arrays, shapes: all "not this format"
            raise DataError(file_problem(path, e)) from None
        if X.ndim != 2 or y.ndim != 1 or X.shape[0] != y.shape[0]:
            raise DataError(f'{path}: X must be (n, d) and y (n,), got {X.shape} and {y.shape}')
        for name, arr in (('y', y[:, None]), *((f'X[:, {j}]', X[:, [j]]) for j in range(X.shape[1]))):
            n = int(np.sum(~np.isfinite(arr)))
            if n:
                raise DataError(f'{path}: {name} has {n} missing or non-finite value(s)')
        _check_table(path, X, y, target)
        return X, y, features or [f'x{j}' for j in range(X.shape[1])]
    df = _read_frame(path)
    if isinstance(target, int):
        if not -len(df.columns) <= target < len(df.columns):
            raise DataError(f'{path}: no column {target}: it has {len(df.columns)}')
        target = df.columns[target]
    if target not in df.columns:
        raise DataError(f'{path}: no target column {target!r}; columns: {", ".join(map(str, df.columns))}')
    feats = list(features) if features is not None else [c for c in df.columns if c != target]
    missing = [c for c in feats if c not in df.columns]
    if missing:
        raise DataError(f'{path}: no column(s) {", ".join(missing)}')
    if not feats:
        raise DataError(f'{path}: no feature columns besides {target!r}')
    _check_finite(df, [*feats, target], path)
    X, y = df[feats].to_numpy(dtype=np.float64), df[target].to_numpy(dtype=np.float64)
    if y.ndim != 1:
        raise DataError(f'{path}: the target name {target!r} names more than one column')
    _check_table(path, X, y, target)
    return X, y, [str(c) for c in feats]


def _npz_arrays(path: Path, target: str | int) -> tuple[np.ndarray, np.ndarray]:
    with np.load(path, allow_pickle=False) as z:
        names = list(z.files)
        if 'X' in names and ('y' in names or (isinstance(target, str) and target in names)):
            X = np.asarray(z['X'], dtype=np.float64)
            y = np.asarray(z[target if isinstance(target, str) and target in names else 'y'], dtype=np.float64)
        elif 'data' in names and isinstance(target, int):
            data = np.asarray(z['data'], dtype=np.float64)
            if data.ndim != 2 or not -data.shape[1] <= target < data.shape[1]:
                raise DataError(f'{path}: data must be (n, d) with a column {target}, got {data.shape}')
            y = data[:, target]
            X = np.delete(data, target, axis=1)
        else:
            raise DataError(f'{path}: expected arrays X and y (found {", ".join(names)})')
    return X, y


# ---------------------------------------------------------------------------------------------
def _normalise_jet_frame(df, source: str):
    """Map a frame in the OpenML (or original ``j_``) schema to (features frame, class labels)."""
    rename = {}
    for c in df.columns:
        name = str(c).strip()
        if name.startswith('j_'):
            name = name[2:]
        rename[c] = name
    df = df.rename(columns=rename)
    missing = [f for f in JET_FEATURES if f not in df.columns]
    if missing:
        raise DataError(
            f'{source}: missing jet feature column(s) {", ".join(missing)}; '
            f'expected the {OPENML_NAME} schema: {", ".join(JET_FEATURES)}, {CLASS_COLUMN}'
        )
    if CLASS_COLUMN in df.columns:
        labels = df[CLASS_COLUMN]
        if labels.isna().any():
            raise DataError(f'{source}: column {CLASS_COLUMN!r} has {int(labels.isna().sum())} missing value(s)')
        labels = labels.map(lambda v: v.decode() if isinstance(v, bytes) else v)
        from pandas.api.types import is_numeric_dtype

        if is_numeric_dtype(labels):
            codes = labels.to_numpy()
            if not np.all(np.isin(codes, np.arange(len(JET_CLASSES)))):
                raise DataError(f'{source}: numeric {CLASS_COLUMN!r} values must be 0..{len(JET_CLASSES) - 1}')
            labels = np.asarray(JET_CLASSES, dtype=object)[codes.astype(int)]
        else:
            labels = labels.astype(str).str.strip().to_numpy(dtype=object)
    elif all(c in df.columns for c in JET_CLASSES):  # one-hot label columns (the original HDF5 files)
        onehot = df[list(JET_CLASSES)].to_numpy(dtype=np.float64)
        if not np.all(onehot.sum(axis=1) == 1):
            raise DataError(f'{source}: one-hot label columns {", ".join(JET_CLASSES)} must sum to 1 in every row')
        labels = np.asarray(JET_CLASSES, dtype=object)[onehot.argmax(axis=1)]
    else:
        raise DataError(f'{source}: no {CLASS_COLUMN!r} column (or one-hot columns {", ".join(JET_CLASSES)})')
    unknown = sorted(set(labels) - set(JET_CLASSES))
    if unknown:
        raise DataError(f'{source}: unknown class label(s) {unknown}; expected {", ".join(JET_CLASSES)}')
    _check_finite(df, JET_FEATURES, source)
    return df[list(JET_FEATURES)].astype(np.float64), labels


def _fetch_openml(cache_dir):
    from sklearn.datasets import fetch_openml

    try:
        bunch = fetch_openml(name=OPENML_NAME, version=OPENML_VERSION, data_home=cache_dir, as_frame=True, parser='auto')
    except Exception as e:  # noqa: BLE001 - URLError, OSError, HTTP errors... all mean "not here"
        raise DataUnavailable(
            f'could not fetch the OpenML dataset {OPENML_NAME!r} ({type(e).__name__}: {e}). Without internet, pass '
            f'a local file in its schema: load_jets(path="jets.csv" or ".parquet") with columns '
            f'{", ".join(JET_FEATURES)}, {CLASS_COLUMN}; or use the shipped generated set, load_jets_sample().'
        ) from None
    frame = bunch.frame if bunch.frame is not None else bunch.data.assign(**{CLASS_COLUMN: bunch.target})
    if CLASS_COLUMN not in frame.columns:
        frame = frame.assign(**{CLASS_COLUMN: bunch.target})
    return frame


def load_jets(
    path: str | Path | None = None,
    *,
    cache_dir: str | Path | None = None,
    test_size: float = 0.2,
    random_state: int = 42,
    max_rows: int | None = None,
    standardize: bool = True,
    source: str = 'auto',
    verbose: bool = False,
) -> JetData:
    """The jet-tagging data, split and standardized as in the paper.

    ``path``: a local CSV/Parquet file in the OpenML schema. None: the file ``$SRCOST_JETS`` names, else
    OpenML's caches (scikit-learn's under ``cache_dir`` or its data home, the ``openml`` package's), else the
    shipped generated set; ``source='openml'`` downloads OpenML ``hls4ml_lhc_jets_hlf`` when no cache holds
    it, ``source='generated'`` takes the shipped set. ``JetData.source`` and ``info['dataset']`` ('file',
    'openml' or 'generated') say which was loaded; ``verbose`` also prints it on stderr. ``max_rows``
    draws a stratified random subset first (SR on all 830k jets is slow).
    """
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    from .jets.sources import locate

    if not 0.0 < float(test_size) < 1.0:
        raise ValueError(f'test_size must be between 0 and 1, got {test_size}')
    found = locate(path, source, cache_dir)
    frame, source = found.frame, found.source
    if verbose:
        import sys

        print(f'jets: {source}', file=sys.stderr, flush=True)
    features, labels = _normalise_jet_frame(frame, source)
    X = features.to_numpy(dtype=np.float64)
    y = np.searchsorted(np.asarray(JET_CLASSES), labels.astype(str))
    if max_rows is not None and max_rows < len(y):
        if max_rows < 2 * len(JET_CLASSES):
            raise ValueError(f'max_rows must be at least {2 * len(JET_CLASSES)}')
        idx, _ = train_test_split(np.arange(len(y)), train_size=int(max_rows), random_state=random_state, stratify=y)
        idx = np.sort(idx)
        X, y = X[idx], y[idx]
    present = np.unique(y)
    stratify = y if np.min(np.bincount(y)[present]) >= 2 else None
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=test_size, random_state=random_state, stratify=stratify
    )
    scaler = None
    if standardize:
        scaler = StandardScaler().fit(X_train)
        X_train = scaler.transform(X_train)
        X_test = scaler.transform(X_test)
    return JetData(
        X_train, X_test, y_train.astype(int), y_test.astype(int), JET_CLASSES, JET_FEATURES, scaler, source,
        {'rows': int(len(y)), 'test_size': float(test_size), 'random_state': random_state,
         'dataset': found.kind, 'synthetic': False},
    )


def load_jets_sample(**kwargs) -> JetData:
    """The jet set srcost ships (``data/jets_generated.parquet``: Pythia 8 + FastJet jets with the OpenML
    features; ``srcost jets info`` describes it), whatever OpenML copies exist."""
    return load_jets(source='generated', **kwargs)
