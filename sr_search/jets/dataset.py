"""The generated jet set on disk: the shipped file, reading a set with its provenance, and its summary
(what ``srcost jets info`` prints)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from hls_gen.errors import SrcostError

from .generate import CLASS_COLUMN, provenance_path, sha256_file

# data/ lives at the repository root, beside the packages (as data/costmodel does)
SHIPPED_PATH = Path(__file__).resolve().parents[2] / 'data' / 'jets_generated.parquet'


class JetSetError(SrcostError, ValueError):
    """A generated jet set is missing, incomplete or does not match its provenance."""


def read_provenance(path: str | Path) -> dict:
    path = Path(path)
    prov = provenance_path(path)
    if not prov.is_file():
        raise JetSetError(f'{path}: no provenance file {prov.name} beside it; regenerate it with srcost jets generate')
    try:
        return json.loads(prov.read_text())
    except ValueError as e:
        raise JetSetError(f'{prov}: not valid JSON ({e})') from None


def read_generated(path: str | Path | None = None, *, verify: bool = True):
    """``(frame, provenance)`` of a generated set (default: the shipped one). With ``verify`` the file's
    SHA-256 must be the one its provenance records, so a partial or foreign file is never read."""
    import pandas as pd

    path = Path(path) if path is not None else SHIPPED_PATH
    if not path.is_file():
        raise JetSetError(f'no generated jet set at {path}; make one with srcost jets generate --out {path.name}')
    prov = read_provenance(path)
    if verify and sha256_file(path) != prov.get('sha256'):
        raise JetSetError(f'{path} does not match the checksum in {provenance_path(path).name}: it is incomplete or '
                          'was changed; regenerate it with the command its provenance records')
    try:
        df = pd.read_parquet(path)
    except (OSError, ValueError) as e:
        raise JetSetError(f'cannot read {path}: {e}') from None
    return df, prov


@dataclass(frozen=True)
class JetSetInfo:
    path: str
    rows: int
    class_counts: dict[str, int]
    features: list[str]
    medians: dict[str, dict[str, float]]  # class -> feature -> median
    provenance: dict

    def to_dict(self) -> dict:
        return asdict(self)


def summarize(path: str | Path | None = None) -> JetSetInfo:
    df, prov = read_generated(path)
    features = [c for c in df.columns if c != CLASS_COLUMN]
    labels = df[CLASS_COLUMN].astype(str)
    counts = {c: int(n) for c, n in labels.value_counts().sort_index().items()}
    med = df[features].astype('float64').groupby(labels).median()
    medians = {c: {f: float(med.loc[c, f]) for f in features} for c in med.index}
    return JetSetInfo(str(Path(path) if path is not None else SHIPPED_PATH), int(len(df)), counts, features, medians, prov)
