"""``srcost jets generate``: a jet set in the OpenML ``hls4ml_lhc_jets_hlf`` schema, from Pythia 8 and FastJet.

The work is cut into chunks (one class, ``Settings.chunk_jets`` jets, its own Pythia seed derived from the
user's seed, the class and the chunk's index), so the result depends on the seed and the settings only,
not on ``jobs`` or on interruptions. Finished chunks are kept under ``<out>.parts/`` with a manifest
(checksums, settings, versions); a rerun of the same command resumes from them, a rerun with other
settings starts clean. The data file and its provenance JSON (``<out>`` with suffix ``.json``) are written
to temporary files and renamed into place, so a killed run never leaves a partial data file behind, and the
loader refuses a data file whose checksum is not the one its provenance records.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import math
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hls_gen.errors import SrcostError

from .events import CLASSES, Settings

SCHEMA_VERSION = 1
CLASS_COLUMN = 'class'
MAX_EVENTS_PER_JET = 200  # a chunk that needs more events than this per jet is misconfigured


class JetGenerationError(SrcostError, ValueError):
    """Bad arguments to the jet generator, or a generator run that cannot proceed."""


@dataclass(frozen=True)
class ChunkSpec:
    cls: str
    index: int
    n_jets: int
    pythia_seed: int

    @property
    def key(self) -> str:
        return f'{self.cls}-{self.index:04d}-{self.n_jets}'


@dataclass
class ChunkResult:
    spec: ChunkSpec
    features: np.ndarray  # (n_jets, 16)
    events: int
    jets_in_window: int
    jets_matched: int
    seconds: float

    def stats(self) -> dict:
        return {'events': self.events, 'jets_in_window': self.jets_in_window, 'jets_matched': self.jets_matched,
                'seconds': round(self.seconds, 2)}


@dataclass
class GenerationResult:
    path: Path
    provenance_path: Path
    rows: int
    class_counts: dict[str, int]
    chunks_run: int
    chunks_reused: int
    seconds: float
    provenance: dict = field(repr=False, default_factory=dict)


def chunk_seed(seed: int, cls: str, index: int) -> int:
    """Pythia's ``Random:seed`` (1..900,000,000) for one chunk."""
    h = hashlib.sha256(f'srcost-jets:{int(seed)}:{cls}:{int(index)}'.encode()).digest()
    return 1 + int.from_bytes(h[:8], 'big') % 900_000_000


def plan_chunks(per_class: int, seed: int, settings: Settings, classes: Sequence[str] = CLASSES) -> list[ChunkSpec]:
    """The chunks of a run, interleaved over the classes (so a partial run has some of every class)."""
    per_cls = []
    for cls in classes:
        n = math.ceil(per_class / settings.chunk_jets)
        sizes = [settings.chunk_jets] * (n - 1) + [per_class - settings.chunk_jets * (n - 1)]
        per_cls.append([ChunkSpec(cls, i, s, chunk_seed(seed, cls, i)) for i, s in enumerate(sizes)])
    out = []
    for k in range(max(len(c) for c in per_cls)):
        out += [c[k] for c in per_cls if k < len(c)]
    return out


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {'python': platform.python_version()}
    for pkg in ('pythia8mc', 'fastjet', 'numpy', 'numba', 'awkward', 'pandas', 'pyarrow', 'srcost'):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = 'absent'
    return out


# -- one chunk --------------------------------------------------------------------------------------
def run_chunk(spec: ChunkSpec, settings: Settings, progress: Callable[[int], None] | None = None) -> ChunkResult:
    """Generate one chunk: Pythia events until ``spec.n_jets`` jets of the class are found (in event order)."""
    import pythia8mc

    from .events import batch_records, c_stdout_to_stderr, cluster, match
    from .features import jet_features

    t0 = time.perf_counter()
    pythia = pythia8mc.Pythia('', False)
    for command in settings.pythia_commands(spec.cls, spec.pythia_seed):
        if not pythia.readString(command):
            raise JetGenerationError(f'Pythia rejected the setting {command!r}')
    with c_stdout_to_stderr():
        if not pythia.init():
            raise JetGenerationError(f'Pythia failed to initialize for class {spec.cls!r}')
    rows: list[np.ndarray] = []
    events = in_window = matched = 0
    while len(rows) < spec.n_jets:
        if events > MAX_EVENTS_PER_JET * spec.n_jets:
            raise JetGenerationError(f'{events} events gave only {len(rows)} {spec.cls!r} jets: check the settings')
        records = batch_records(pythia.nextBatch(settings.batch_events))
        if not records:
            raise JetGenerationError(f'Pythia produced no events for class {spec.cls!r}')
        jets = cluster([r.visible() for r in records], settings)
        for rec, event_jets in zip(records, jets):
            events += 1
            in_window += len(event_jets)
            kept = match(event_jets, rec.truth(spec.cls), settings)
            matched += len(kept)
            rows += [jet_features(j, settings.z_cut) for j in kept]
            if len(rows) >= spec.n_jets:
                break
        if progress is not None:
            progress(min(len(rows), spec.n_jets))
    return ChunkResult(spec, np.array(rows[: spec.n_jets]), events, in_window, matched, time.perf_counter() - t0)


def _run_chunk_task(task: tuple[ChunkSpec, dict]) -> dict:
    """Worker entry point (profiler.executors.LocalPool): plain data in, plain data out."""
    spec, settings = task
    r = run_chunk(spec, Settings(**settings))
    return {'features': r.features, **r.stats()}


# -- files ------------------------------------------------------------------------------------------
def provenance_path(path: Path) -> Path:
    return Path(path).with_suffix('.json')


def parts_dir(path: Path) -> Path:
    path = Path(path)
    return path.with_name(path.name + '.parts')


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, 'rb') as fh:
        for block in iter(lambda: fh.read(1 << 20), b''):
            h.update(block)
    return h.hexdigest()


def _write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    tmp = path.with_name(f'.{path.name}.tmp-{os.getpid()}')
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _write_json(path: Path, obj: dict) -> None:
    _write_atomic(path, lambda p: p.write_text(json.dumps(obj, indent=1, sort_keys=True) + '\n'))


def check_arguments(out: Path, per_class: int, seed: int, jobs: int) -> Path:
    """Validate before anything is written; returns the absolute output path."""
    for name, value, low in (('--per-class', per_class, 1), ('--seed', seed, 0), ('--jobs', jobs, 1)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise JetGenerationError(f'{name} must be an integer >= {low}, got {value!r}')
    out = Path(out).expanduser().absolute()
    if out.suffix.lower() not in ('.parquet', '.pq'):
        raise JetGenerationError(f'--out must name a .parquet file, got {out.name!r}')
    if out.is_dir():
        raise JetGenerationError(f'--out {out} is a directory; name a .parquet file')
    parent = out.parent
    if not parent.is_dir():
        raise JetGenerationError(f'cannot write {out}: the directory {parent} does not exist')
    try:  # the real test (os.access says yes to root everywhere): create and remove a file there
        with tempfile.NamedTemporaryFile(dir=parent, prefix=f'.{out.name}.probe-'):
            pass
    except OSError as e:
        raise JetGenerationError(f'cannot write {out}: {e.strerror or e}') from None
    if out.exists() and not os.access(out, os.W_OK):
        raise JetGenerationError(f'cannot write {out}: permission denied')
    return out


@dataclass
class _Manifest:
    path: Path
    identity: dict
    chunks: dict[str, dict]

    @classmethod
    def open(cls, work: Path, identity: dict, say: Callable[[str], None]) -> _Manifest:
        path = work / 'manifest.json'
        if path.exists():
            try:
                old = json.loads(path.read_text())
            except (OSError, ValueError):
                old = {}
            if old.get('identity') == identity:
                chunks = {}
                for key, c in old.get('chunks', {}).items():
                    f = work / c.get('file', '')
                    if f.is_file() and sha256_file(f) == c.get('sha256'):
                        chunks[key] = c
                say(f'resuming: {len(chunks)} finished chunk(s) found in {work}')
                return cls(path, identity, chunks)
            say(f'{work} holds a run with other settings: starting clean')
            shutil.rmtree(work)
        work.mkdir()
        m = cls(path, identity, {})
        m.save()
        return m

    def save(self) -> None:
        _write_json(self.path, {'schema_version': SCHEMA_VERSION, 'identity': self.identity, 'chunks': self.chunks})

    def add(self, spec: ChunkSpec, features: np.ndarray, stats: dict) -> None:
        name = f'{spec.key}.npy'
        stored = np.ascontiguousarray(features, dtype=np.float32)  # the set's precision, so chunk checksums are too

        def write(path: Path) -> None:
            with path.open('wb') as fh:
                np.save(fh, stored, allow_pickle=False)

        _write_atomic(self.path.parent / name, write)
        self.chunks[spec.key] = {'file': name, 'sha256': sha256_file(self.path.parent / name),
                                 'pythia_seed': spec.pythia_seed, **stats}
        self.save()

    def features(self, spec: ChunkSpec) -> np.ndarray:
        return np.load(self.path.parent / self.chunks[spec.key]['file'], allow_pickle=False)


def _frame(specs: list[ChunkSpec], manifest: _Manifest, classes: Sequence[str]):
    import pandas as pd

    from .features import FEATURES

    blocks, labels = [], []
    for cls in classes:
        for spec in (s for s in specs if s.cls == cls):
            f = manifest.features(spec)
            blocks.append(f)
            labels += [cls] * len(f)
    df = pd.DataFrame(np.vstack(blocks).astype(np.float32), columns=list(FEATURES))
    df[CLASS_COLUMN] = pd.Categorical(labels, categories=sorted(set(classes)))
    return df


def generate(
    out: str | Path,
    per_class: int,
    seed: int = 1,
    jobs: int = 1,
    *,
    settings: Settings | None = None,
    classes: Sequence[str] = CLASSES,
    command: str | None = None,
    progress: bool = True,
    say: Callable[[str], None] | None = None,
    on_chunk: Callable[[ChunkSpec], None] | None = None,
) -> GenerationResult:
    """Generate ``per_class`` jets of each class into the Parquet file ``out`` (+ its provenance JSON)."""
    settings = settings or Settings()
    out = check_arguments(Path(out), per_class, seed, jobs)
    unknown = sorted(set(classes) - set(CLASSES))
    if unknown or not classes:
        raise JetGenerationError(f'unknown class(es) {unknown}; choose among {", ".join(CLASSES)}')
    classes = tuple(sorted(set(classes)))
    say = say or (lambda msg: print(msg, file=sys.stderr, flush=True))
    t0 = time.perf_counter()
    vers = versions()
    identity = run_identity(int(seed), settings, classes, vers)
    specs = plan_chunks(int(per_class), int(seed), settings, classes)
    work = parts_dir(out)
    manifest = _Manifest.open(work, identity, say)
    todo = [s for s in specs if s.key not in manifest.chunks]
    reused = len(specs) - len(todo)
    _run_chunks(todo, specs, manifest, settings, int(jobs), progress, on_chunk)

    df = _frame(specs, manifest, classes)
    import pyarrow  # noqa: F401 - the Parquet engine

    prov_path = provenance_path(out)
    tmp_prov = prov_path.with_name(f'.{prov_path.name}.tmp-{os.getpid()}')
    tmp_data = out.with_name(f'.{out.name}.tmp-{os.getpid()}')
    try:
        df.to_parquet(tmp_data, compression='zstd', compression_level=19, index=False)
        counts = {c: int(n) for c, n in df[CLASS_COLUMN].value_counts().sort_index().items()}
        stats = {cls: _class_stats(manifest, [s for s in specs if s.cls == cls]) for cls in classes}
        prov = {
            'schema_version': SCHEMA_VERSION,
            'dataset': 'jets generated by srcost in the schema of OpenML hls4ml_lhc_jets_hlf',
            'file': out.name,
            'sha256': sha256_file(tmp_data),
            'rows': int(len(df)),
            'class_counts': counts,
            'features': [c for c in df.columns if c != CLASS_COLUMN],
            'class_column': CLASS_COLUMN,
            'command': command or '',
            'created': datetime.date.today().isoformat(),
            'seed': int(seed),
            'per_class': int(per_class),
            'jobs': int(jobs),
            'settings': settings.to_dict(),
            'pythia_commands': {cls: [c for c in settings.pythia_commands(cls, 0) if not c.startswith('Random:seed')]
                                for cls in classes},
            'generator': 'Pythia 8 (default tune: Monash 2013; showers, MPI, hadronization on), anti-kT with FastJet; '
                         'features as sr_search/jets/features.py defines them',
            'versions': vers,
            'chunks': {s.key: manifest.chunks[s.key] for s in specs},
            'per_class_stats': stats,
        }
        tmp_prov.write_text(json.dumps(prov, indent=1, sort_keys=True) + '\n')
        os.replace(tmp_data, out)
        os.replace(tmp_prov, prov_path)
    finally:
        for tmp in (tmp_data, tmp_prov):
            if tmp.exists():
                tmp.unlink()
    shutil.rmtree(work)
    return GenerationResult(out, prov_path, int(len(df)), counts, len(todo), reused, time.perf_counter() - t0, prov)


def run_identity(seed: int, settings: Settings, classes: Sequence[str], vers: dict[str, str]) -> dict:
    """What finished chunks must share with a run that reuses them: seed, settings, Pythia commands, versions."""
    return {'seed': int(seed), 'settings': settings.to_dict(), 'versions': {k: v for k, v in vers.items() if k != 'srcost'},
            'pythia_commands': {cls: settings.pythia_commands(cls, 0) for cls in classes}}


def _class_stats(manifest: _Manifest, specs: list[ChunkSpec]) -> dict:
    tot = {'events': 0, 'jets_in_window': 0, 'jets_matched': 0, 'seconds': 0.0}
    for s in specs:
        for k in tot:
            tot[k] += manifest.chunks[s.key].get(k, 0)
    tot['seconds'] = round(tot['seconds'], 1)
    return tot


def _run_chunks(todo: list[ChunkSpec], specs: list[ChunkSpec], manifest: _Manifest, settings: Settings, jobs: int,
                progress: bool, on_chunk: Callable[[ChunkSpec], None] | None) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    total = sum(s.n_jets for s in specs)
    done = total - sum(s.n_jets for s in todo)
    columns = (TextColumn('[bold]jets[/] {task.description}'), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TimeRemainingColumn())
    from rich.console import Console

    with Progress(*columns, console=Console(stderr=True), disable=not progress, transient=False) as bar:
        task = bar.add_task('', total=total, completed=done)

        def finished(spec: ChunkSpec, features: np.ndarray, stats: dict) -> None:
            manifest.add(spec, features, stats)
            if on_chunk is not None:
                on_chunk(spec)

        if jobs == 1 or len(todo) <= 1:
            for spec in todo:
                base = bar.tasks[0].completed
                bar.update(task, description=f'{spec.cls} chunk {spec.index}')
                r = run_chunk(spec, settings, progress=lambda n, base=base: bar.update(task, completed=base + n))
                finished(spec, r.features, r.stats())
                bar.update(task, completed=base + spec.n_jets)
            return
        from profiler.executors import LocalPool

        pool = LocalPool(_run_chunk_task, jobs=jobs)
        try:
            ids = {pool.submit((s, settings.to_dict()), deadline_s=24 * 3600): s for s in todo}
            bar.update(task, description=f'{len(todo)} chunks on {jobs} workers')
            while pool.pending():
                for f in pool.poll():
                    spec = ids[f.job_id]
                    if f.status != 'ok':
                        raise JetGenerationError(f'chunk {spec.key} failed ({f.status}): {f.payload}')
                    payload = dict(f.payload)
                    features = payload.pop('features')
                    finished(spec, features, payload)
                    bar.advance(task, spec.n_jets)
        finally:
            pool.close()
