"""Training sets for the learned cost model: generated designs, synthesized by a runner, stored with provenance.

A training set is a CSV file (one row per design: the design as JSON, its status and its synthesis
results) beside a JSON file of provenance (schema version, generator seed and version, backend and tool
versions, date, digest of the rows). Rows are appended batch by batch, so a long run can be stopped and
resumed: ``extend_training_set`` synthesizes only the indices the file does not have yet.

The runner is any callable ``runner(designs) -> list[SynthResult | Exception]`` (one entry per design, a
failed design is an exception, never a silent gap). The profiler's runner plugs in there; the default
calls a backend directly in batches (``BackendRunner``).

Regenerate the shipped open-backend set with::

    python -m costmodel.training --backend open --n 200 --seed 0
    # or: srcost fit --backend open --n-expressions 200
"""

from __future__ import annotations

import argparse
import csv
import datetime as _dt
import functools
import hashlib
import json
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from hls_gen import Design, SrcostError, SynthesisError, SynthResult
from hls_gen.design import DEFAULT_PART

from .generator import DEFAULT_CONFIG, GENERATOR_VERSION, GeneratorConfig, generate_design
from .srepr import from_srepr
from .targets import TARGETS

SCHEMA_VERSION = 1
RESULT_COLUMNS = (*TARGETS, 'carry', 'uram', 'clock_estimate_ns', 'tool_version', 'backend_code', 'synth_seconds', 'cells')
COLUMNS = ('index', 'design_digest', 'status', 'error', 'backend', 'part', 'precision', 'clock_period_ns',
           'n_inputs', 'n_outputs', 'outputs', 'luts', 'design', *RESULT_COLUMNS)

Runner = Callable[[Sequence[Design]], 'list[SynthResult | Exception]']


@functools.lru_cache(maxsize=1)
def backend_code_digest() -> str:
    """Digest of hls_gen's sources: the tool versions do not change when the firmware generator does (e.g.
    the open backend's native ROM size), so rows record this too."""
    import hls_gen

    root = Path(hls_gen.__file__).parent
    h = hashlib.sha256()
    for f in sorted(root.rglob('*.py')):
        h.update(str(f.relative_to(root)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:12]


def data_dir() -> Path:
    """The project's ``data/costmodel`` folder (training sets and shipped models)."""
    return Path(__file__).resolve().parents[1] / 'data' / 'costmodel'


def _slug(part: str) -> str:
    return ''.join(c if c.isalnum() or c in '-_' else '_' for c in part)


def default_training_path(backend: str, part: str = DEFAULT_PART) -> Path:
    return data_dir() / f'{backend}_{_slug(part)}_training.csv'


class BackendRunner:
    """Synthesize through ``hls_gen.backends.get_backend(backend)`` in batches (one tool process per batch).
    A batch that fails is retried design by design, so one bad design is one recorded failure."""

    def __init__(self, backend: str = 'open', batch_size: int = 4, timeout_s: float = 900, workdir: Path | None = None,
                 keep: bool = False, precheck_s: float = 60, **backend_options):
        if backend == 'open':
            backend_options.setdefault('verify_latency', False)  # the latency is the pipeline's stage count
        self.backend_name = backend
        self.backend_options = backend_options
        self.batch_size = batch_size
        self.timeout_s = timeout_s
        self.workdir = workdir
        self.keep = keep
        self.precheck_s = precheck_s

    def _backend(self):
        from hls_gen.backends import get_backend

        return get_backend(self.backend_name, **self.backend_options)

    def tool_version(self) -> str:
        return self._backend().tool_version()

    def __call__(self, designs: Sequence[Design]) -> list[SynthResult | Exception]:
        backend = self._backend()
        out: list[SynthResult | Exception] = []
        for start in range(0, len(designs), self.batch_size):
            batch = list(designs[start : start + self.batch_size])
            checked = [self._precheck(d) for d in batch]
            good = [d for d, c in zip(batch, checked) if c is None]
            results = iter(self._run(backend, good) if good else [])
            out.extend(c if c is not None else next(results) for c in checked)
        return out

    def _precheck(self, design: Design) -> Exception | None:
        """The open backend traces and pipelines in-process: do that alone first (the backend's own tracing
        and pipelining, into a scratch folder), within ``precheck_s``, so that a design whose pipelining does
        not end is one recorded failure and not a lost batch."""
        if self.backend_name != 'open' or not self.precheck_s:
            return None
        try:
            with _deadline(self.precheck_s), tempfile.TemporaryDirectory(prefix='srcost-precheck-', dir=self.workdir) as tmp:
                from hls_gen.backends.base import Deadline

                self._backend().write(design, Path(tmp) / 'design', Deadline(self.precheck_s))
        except Exception as e:  # noqa: BLE001 - a design the backend cannot pipeline is a recorded failure
            return e
        return None

    def _run(self, backend, batch: list[Design]) -> list[SynthResult | Exception]:
        work = Path(tempfile.mkdtemp(prefix='srcost-train-', dir=self.workdir))
        try:
            try:
                with _deadline(self.timeout_s * len(batch)):
                    return list(backend.synthesize(batch, work, self.timeout_s))
            except Exception as e:  # noqa: BLE001 - isolate the failing design below
                if len(batch) == 1:
                    return [e]
            results: list[SynthResult | Exception] = []
            for d in batch:
                results.extend(self._run(backend, [d]))
            return results
        finally:
            if not self.keep:
                shutil.rmtree(work, ignore_errors=True)


@contextmanager
def _deadline(seconds: float):
    """Bound the Python side of a synthesis too (tracing and pipelining run in-process and may not return):
    SIGALRM raises SynthesisError in the main thread; elsewhere there is no bound beyond the tool's own."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, 'setitimer'):
        yield
        return

    def on_alarm(signum, frame):
        raise SynthesisError(f'synthesis did not finish within {seconds:.0f} s')

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@dataclass(frozen=True)
class TrainingSetSpec:
    """What a training set holds: which designs (generator seed and config) through which backend."""

    backend: str = 'open'
    part: str = DEFAULT_PART
    seed: int = 0
    generator: GeneratorConfig = DEFAULT_CONFIG

    def design(self, index: int) -> Design:
        d = generate_design(self.seed, index, self.generator)
        if d.part != self.part:
            d = Design.build(d.outputs, d.precision, d.luts, d.n_inputs, self.part, d.clock_period_ns, d.name)
        return d

    @property
    def stream(self) -> str:
        return f'generator v{GENERATOR_VERSION}, seed {self.seed}'


@dataclass(frozen=True)
class FixedDesignSpec:
    """A fixed list of designs (e.g. expressions that came out of real searches) instead of the generator."""

    designs: tuple[Design, ...]
    name: str
    backend: str = 'open'
    part: str = DEFAULT_PART
    seed: int = -1
    generator: GeneratorConfig | None = None

    def design(self, index: int) -> Design:
        return self.designs[index]

    @property
    def stream(self) -> str:
        return f'fixed set {self.name}'


def _row(index: int, design: Design, backend: str, result: SynthResult | Exception, seconds: float) -> dict:
    row = {
        'index': index, 'design_digest': design.digest(), 'backend': backend, 'part': design.part,
        'precision': str(design.precision), 'clock_period_ns': design.clock_period_ns, 'n_inputs': design.n_inputs,
        'n_outputs': len(design.outputs), 'outputs': ' ; '.join(str(e) for e in design.outputs),
        'luts': ' '.join(str(s) for s in design.luts), 'design': json.dumps(design.to_dict(), sort_keys=True),
        'synth_seconds': round(seconds, 2), 'backend_code': backend_code_digest(),
    }
    if isinstance(result, Exception):
        row.update(status='failed', error=f'{type(result).__name__}: {result}'[:500])
        return row
    row.update(status='ok', error='', tool_version=result.tool_version, carry=result.carry, uram=result.uram,
               cells=json.dumps(dict(result.cells), sort_keys=True) if result.cells else '',
               clock_estimate_ns=result.clock_estimate_ns, latency_cycles=result.latency_cycles, ii=result.ii,
               lut=result.lut, ff=result.ff, dsp=result.dsp, bram_18k=result.bram_18k)
    return row


def provenance_path(csv_path: Path) -> Path:
    return Path(csv_path).with_suffix('.json')


def rows_digest(df: pd.DataFrame) -> str:
    """Digest of what a model learns from: design digests and measured targets, in index order."""
    cols = ['index', 'design_digest', 'status', *TARGETS]
    body = df.sort_values('index')[cols].to_csv(index=False)
    return hashlib.sha256(body.encode()).hexdigest()[:20]


def load_training_set(path: Path, ok_only: bool = True) -> pd.DataFrame:
    """Rows of a training set (only successful syntheses unless ``ok_only=False``), sorted by index."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f'no training set at {path}; build one with `srcost fit --n-expressions N`')
    df = pd.read_csv(path, keep_default_na=True)
    df = df.drop_duplicates('index', keep='last').sort_values('index').reset_index(drop=True)
    if ok_only:
        df = df[df['status'] == 'ok'].reset_index(drop=True)
    return df


def read_provenance(path: Path) -> dict:
    p = provenance_path(path)
    return json.loads(p.read_text()) if p.exists() else {}


def design_from_row(d: dict) -> Design:
    """The design a training-set row was synthesized from, node for node: its outputs are rebuilt from their
    srepr (``Design.from_dict`` re-parses the printed text, which sympy may restructure), falling back to
    the text for rows without one."""
    from hls_gen import LutSpec, Precision


    reprs = d.get('outputs_srepr') or []
    try:
        outputs = tuple(from_srepr(r) for r in reprs) if reprs else None
    except SrcostError:
        outputs = None
    if outputs is None:
        return Design.from_dict(d)  # may raise ExpressionError: the text does not always parse back
    return Design(outputs, Precision.parse(d['precision']), int(d['n_inputs']), tuple(sorted(LutSpec.parse(s) for s in d.get('luts', ()))),
                  d.get('part', DEFAULT_PART), float(d.get('clock_period_ns', 5.0)), d.get('name', 'myproject'))


def designs_of(df: pd.DataFrame, spec: TrainingSetSpec | FixedDesignSpec | None = None) -> list[Design]:
    """The designs of training-set rows. With the ``spec`` that made the set, each design is made again
    (the generator is deterministic) and checked against the row's digest; otherwise, or when that check
    fails, it is rebuilt from the row (``design_from_row``)."""
    out = []
    for idx, digest, text in zip(df['index'], df['design_digest'], df['design']):
        d = None
        if spec is not None:
            try:
                d = spec.design(int(idx))
            except (IndexError, SrcostError):
                d = None
            if d is not None and d.digest() != digest:
                d = None
        out.append(d if d is not None else design_from_row(json.loads(text)))
    return out


def spec_of(path: Path, extra: dict[str, FixedDesignSpec] | None = None) -> TrainingSetSpec | FixedDesignSpec | None:
    """The spec a training set was built from, read from its provenance (None when unknown)."""
    prov = read_provenance(path)
    if not prov:
        return None
    stream = prov.get('stream') or f'generator v{prov.get("generator_version")}, seed {prov.get("seed")}'
    if stream.startswith('generator') and prov.get('generator_version') == GENERATOR_VERSION:
        return TrainingSetSpec(prov.get('backend', 'open'), prov.get('part', DEFAULT_PART), int(prov.get('seed', 0)))
    for s in (extra or {}).values():
        if s.stream == stream:
            return s
    return None


def extend_training_set(
    path: Path,
    n: int,
    spec: TrainingSetSpec | FixedDesignSpec = TrainingSetSpec(),
    runner: Runner | None = None,
    chunk: int = 4,
    progress: Callable[[str], None] | None = None,
    tool_version: str | None = None,
) -> pd.DataFrame:
    """Make the training set at ``path`` hold designs ``0 .. n-1`` of ``spec``: synthesize the missing ones
    (``chunk`` at a time, appending after each chunk) and rewrite the provenance. Returns all rows."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    prov = read_provenance(path)
    stream = prov.get('stream') or f'generator v{prov.get("generator_version")}, seed {prov.get("seed")}'
    if prov and (stream, prov.get('backend'), prov.get('part')) != (spec.stream, spec.backend, spec.part):
        raise SrcostError(f'{path} was built from another generator stream ({prov.get("backend")}, {prov.get("stream")}); '
                          'give another path or delete it')
    have = set(load_training_set(path, ok_only=False)['index']) if path.exists() else set()
    todo = [i for i in range(n) if i not in have]
    if runner is None:
        runner = BackendRunner(spec.backend)
    new_file = not path.exists()
    if not new_file:
        _upgrade_columns(path)
    for start in range(0, len(todo), chunk):
        idx = todo[start : start + chunk]
        designs = [spec.design(i) for i in idx]
        t0 = time.perf_counter()
        results = runner(designs)
        dt = (time.perf_counter() - t0) / max(len(idx), 1)
        if len(results) != len(designs):
            raise SrcostError(f'runner returned {len(results)} results for {len(designs)} designs')
        with open(path, 'a', newline='') as fh:
            w = csv.DictWriter(fh, fieldnames=COLUMNS)
            if new_file:
                w.writeheader()
                new_file = False
            for i, d, r in zip(idx, designs, results):
                w.writerow(_row(i, d, spec.backend, r, dt))
        if progress:
            progress(f'{start + len(idx)}/{len(todo)} designs synthesized ({dt:.1f} s each)')
    df = load_training_set(path, ok_only=False)
    write_provenance(path, df, spec, tool_version or getattr(runner, 'tool_version', lambda: '')())
    return df


def _upgrade_columns(path: Path) -> None:
    """Rewrite an older training set whose header lacks columns this version writes (appending with another
    header would shift every field)."""
    with open(path, newline='') as fh:
        header = next(csv.reader(fh), [])
    if list(header) != list(COLUMNS):
        df = pd.read_csv(path, keep_default_na=False, dtype=str)
        for c in COLUMNS:
            if c not in df:
                df[c] = ''
        df[list(COLUMNS)].to_csv(path, index=False)


def write_provenance(path: Path, df: pd.DataFrame, spec: TrainingSetSpec | FixedDesignSpec, tool_version: str = '') -> dict:
    import platform

    ok = df[df['status'] == 'ok']
    versions = sorted(set(ok['tool_version'].dropna().astype(str))) or ([tool_version] if tool_version else [])
    codes = sorted(set(df['backend_code'].dropna().astype(str))) if 'backend_code' in df else []
    prov = {
        'schema_version': SCHEMA_VERSION,
        'kind': 'srcost cost-model training set',
        'backend': spec.backend,
        'part': spec.part,
        'stream': spec.stream,
        'seed': spec.seed,
        'generator_version': GENERATOR_VERSION,
        'generator_config': _config_dict(spec.generator) if spec.generator is not None else None,
        'n_designs': int(len(df)),
        'n_ok': int(len(ok)),
        'n_failed': int(len(df) - len(ok)),
        'tool_versions': versions,
        'backend_code_digests': codes,
        'rows_digest': rows_digest(df),
        'created': _dt.datetime.now(_dt.timezone.utc).isoformat(timespec='seconds'),
        'python': platform.python_version(),
        'regenerate': f'srcost fit --backend {spec.backend} --n-expressions {len(df)}',
    }
    provenance_path(path).write_text(json.dumps(prov, indent=1) + '\n')
    return prov


def _config_dict(cfg: GeneratorConfig) -> dict:
    import dataclasses

    return {k: (list(map(list, v)) if isinstance(v, tuple) and v and isinstance(v[0], tuple) else v)
            for k, v in dataclasses.asdict(cfg).items()}


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description='Build or extend a cost-model training set (resumable).')
    ap.add_argument('--backend', default='open')
    ap.add_argument('--part', default=DEFAULT_PART)
    ap.add_argument('--n', type=int, default=200, help='number of designs the set should hold')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--out', type=Path, default=None)
    ap.add_argument('--batch-size', type=int, default=4)
    args = ap.parse_args(argv)
    spec = TrainingSetSpec(args.backend, args.part, args.seed)
    path = args.out or default_training_path(args.backend, args.part)
    runner = BackendRunner(args.backend, batch_size=args.batch_size)
    df = extend_training_set(path, args.n, spec, runner, chunk=args.batch_size,
                             progress=lambda m: print(m, file=sys.stderr, flush=True))
    print(f'{path}: {int((df["status"] == "ok").sum())} ok, {int((df["status"] != "ok").sum())} failed')
    return 0


if __name__ == '__main__':  # pragma: no cover
    raise SystemExit(main())
