"""Where ``sr_search.data.load_jets`` finds the jet data, in this order:

1. a file the caller names (``path=``), or the one ``$SRCOST_JETS`` names: a local copy of OpenML
   ``hls4ml_lhc_jets_hlf`` (or any CSV/Parquet file in its schema);
2. OpenML's own caches, read without a network connection: scikit-learn's (``fetch_openml`` under
   ``cache_dir`` or scikit-learn's data home) and the ``openml`` package's (``~/.cache/openml``,
   ``~/.openml/cache``);
3. the jet set srcost ships, generated with Pythia 8 and FastJet (``data/jets_generated.parquet``).

``source='openml'`` downloads the OpenML set when no cache holds it; ``source='generated'`` skips to 3.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ENV_VAR = 'SRCOST_JETS'
OPENML_NAME = 'hls4ml_lhc_jets_hlf'
OPENML_VERSION = 1
OPENML_DATA_ID = 42468
SOURCES = ('auto', 'openml', 'generated')


@dataclass(frozen=True)
class Located:
    frame: object  # pandas DataFrame in the OpenML (or original j_-prefixed) schema
    source: str  # what was read, for messages and JetData.source
    kind: str  # 'file', 'openml' or 'generated'


def sklearn_cache_has_openml(cache_dir: str | Path | None) -> bool:
    """Whether scikit-learn's OpenML cache holds the data set's lookup (what fetch_openml reads first)."""
    from sklearn.datasets import get_data_home

    home = Path(get_data_home(None if cache_dir is None else str(cache_dir)))
    lookup = home / 'openml' / 'openml.org' / 'api/v1/json/data/list/data_name' / OPENML_NAME / 'limit/2/data_version'
    return (lookup / f'{OPENML_VERSION}.gz').is_file()


def openml_package_cache_file() -> Path | None:
    """The data set's file in the ``openml`` package's cache, if one is there."""
    roots = [Path(os.environ.get('XDG_CACHE_HOME', Path.home() / '.cache')) / 'openml', Path.home() / '.openml' / 'cache']
    for root in roots:
        d = root / 'org' / 'openml' / 'www' / 'datasets' / str(OPENML_DATA_ID)
        for name in ('dataset.pq', 'dataset.parquet', 'dataset.arff'):
            if (d / name).is_file():
                return d / name
    return None


def _read_arff(path: Path):
    import pandas as pd
    from scipy.io import arff

    data, _meta = arff.loadarff(str(path))
    return pd.DataFrame(data)


def locate(path: str | Path | None, source: str, cache_dir: str | Path | None) -> Located:
    from ..data import DataError, DataUnavailable, _fetch_openml, _read_frame

    if source not in SOURCES:
        raise DataError(f'unknown jet data source {source!r}: use {", ".join(SOURCES)}')
    if path is None and os.environ.get(ENV_VAR):
        path = Path(os.environ[ENV_VAR]).expanduser()
        if not path.is_file():
            raise DataUnavailable(f'${ENV_VAR} names {path}, which is not a file')
        return Located(_read_frame(path), f'{path} (from ${ENV_VAR})', 'file')
    if path is not None:
        return Located(_read_frame(Path(path)), str(path), 'file')
    notes = []
    if source in ('auto', 'openml'):
        if sklearn_cache_has_openml(cache_dir) or source == 'openml':
            try:
                return Located(_fetch_openml(None if cache_dir is None else str(cache_dir)), f'openml:{OPENML_NAME}', 'openml')
            except DataUnavailable as e:
                if source == 'openml':
                    raise
                notes.append(f'the scikit-learn cache is incomplete ({e})')
        cached = openml_package_cache_file()
        if cached is not None:
            frame = _read_arff(cached) if cached.suffix == '.arff' else _read_frame(cached)
            return Located(frame, f'openml:{OPENML_NAME} ({cached})', 'openml')
    from .dataset import SHIPPED_PATH, JetSetError, read_generated

    try:
        frame, _prov = read_generated(SHIPPED_PATH)
    except JetSetError as e:
        raise DataUnavailable(f'no OpenML copy or cache found, and the shipped generated set cannot be read: {e}') from None
    why = '' if source == 'generated' else '; no OpenML copy or cache found' + (f', {notes[0]}' if notes else '')
    return Located(frame, f'generated:{SHIPPED_PATH.name} (Pythia 8 + FastJet{why})', 'generated')
