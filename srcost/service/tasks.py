"""The work of a job, as it runs in a worker process of the local pool or on a Dask worker.

Each task is a frozen dataclass that pickles small and has ``run() -> result`` (plain, JSON-ready data) and
``deadline_s``; ``run_task`` is the function the pools call. Tasks never touch the server's store: the
server writes what they return, so a Dask worker on another machine needs nothing but srcost and the tools.
Heavy modules are imported inside ``run``.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

GRACE_S = 120.0  # on top of a task's own tool timeouts, before the pool gives up on it


def run_task(task):
    """What the pools run: the task's ``run()``."""
    return task.run()


def _failure_text(exc: BaseException) -> str:
    return f'{type(exc).__name__}: {exc}'


@dataclass(frozen=True)
class SynthTask:
    """Synthesize a batch of designs in one backend call; a batch that fails is retried design by design, so
    one bad design fails alone. Returns one ``{'status': 'ok', 'result': SynthResult.to_dict()}`` or
    ``{'status': 'failed', 'error': ...}`` per design."""

    backend: str
    backend_options: tuple[tuple[str, object], ...]
    designs: tuple[dict, ...]  # Design.to_dict()
    workdir: str
    timeout_s: float

    @property
    def deadline_s(self) -> float:
        return 2.0 * self.timeout_s * len(self.designs) + GRACE_S

    def run(self) -> list[dict]:
        from hls_gen import Design
        from hls_gen.errors import SrcostError, ToolNotFound
        from profiler.backends import load_backend

        be = load_backend(self.backend, dict(self.backend_options))
        designs = [Design.from_dict(d) for d in self.designs]
        work = Path(self.workdir)
        work.mkdir(parents=True, exist_ok=True)
        try:
            results = [{'status': 'ok', 'result': r.to_dict()} for r in be.synthesize(designs, work, timeout_s=self.timeout_s)]
        except ToolNotFound:
            raise
        except SrcostError as batch_error:
            if len(designs) == 1:
                results = [{'status': 'failed', 'error': _failure_text(batch_error),
                            'log_path': getattr(batch_error, 'log_path', None)}]
            else:
                results = []
                for i, d in enumerate(designs):
                    try:
                        r = be.synthesize([d], work / f'retry_{i}', timeout_s=self.timeout_s)[0]
                        results.append({'status': 'ok', 'result': r.to_dict()})
                    except ToolNotFound:
                        raise
                    except SrcostError as e:
                        results.append({'status': 'failed', 'error': _failure_text(e), 'log_path': getattr(e, 'log_path', None)})
        if all(r['status'] == 'ok' for r in results):
            shutil.rmtree(work, ignore_errors=True)
            for r in results:
                r['result']['log_path'] = None  # its folder is gone
        return results


@dataclass(frozen=True)
class ProfileTask:
    """One batch of micro-benchmarks (``profiler.runner.run_batch``); returns its outcomes."""

    batch: object  # profiler.runner.BatchTask

    @property
    def deadline_s(self) -> float:
        return self.batch.deadline_s

    def run(self):
        from profiler.runner import run_batch

        return run_batch(self.batch)


@dataclass(frozen=True)
class ValidateTask:
    """``srcost validate`` of some designs: synthesis, bit-accurate emulation, accuracy, the report. The server
    computed the predictions (its warm model) and the calibration rows of the heatmap. Returns
    ``{'report': the report's numbers, 'html': the report}``."""

    designs: tuple[dict, ...]
    labels: tuple[str, ...]
    backend: str
    backend_options: tuple[tuple[str, object], ...]
    predictions: tuple[dict, ...] | None
    predictor_name: str | None
    calibration_rows: tuple[dict, ...]
    data_csv: str | None
    target: tuple[str, ...]
    task: str
    n_samples: int
    seed: int
    emulation: str
    timeout_s: float
    hls4ml: bool
    workdir: str
    command: str

    @property
    def deadline_s(self) -> float:
        return 3.0 * self.timeout_s * max(1, len(self.designs)) + GRACE_S

    def run(self) -> dict:
        import json

        import pandas as pd

        from hls_gen import Design

        from ..report import CALIBRATION_COLUMNS, write_report
        from ..validation import validate

        work = Path(self.workdir)
        work.mkdir(parents=True, exist_ok=True)
        X = y = None
        info: dict = {}
        if self.data_csv is not None:
            X, y, cols = read_table(self.data_csv, list(self.target))
            info = {'source': 'data_csv of the job', 'n_samples': int(len(X)), 'features': ', '.join(cols),
                    'target': ', '.join(self.target) or None}
        predictor = None
        if self.predictions is not None:
            answers = [dict(p) for p in self.predictions]

            def predictor(designs):
                return answers

            predictor.name = self.predictor_name or 'server cost model'
        run = validate(
            [Design.from_dict(d) for d in self.designs], X, y, backend=self.backend, predictor=predictor, workdir=work,
            write_hls4ml=self.hls4ml, emulation=self.emulation, task=self.task, n_samples=self.n_samples, seed=self.seed,
            timeout_s=self.timeout_s, commands=[self.command], data_info=info, labels=list(self.labels),
            backend_options=dict(self.backend_options),
        )
        cal = pd.DataFrame(list(self.calibration_rows),
                           columns=list(CALIBRATION_COLUMNS))
        html_path, json_path = write_report(run, work / 'report.html', cal if len(cal) else None)
        out = {'report': json.loads(json_path.read_text()), 'html': html_path.read_text(encoding='utf-8')}
        shutil.rmtree(work, ignore_errors=True)
        return out


@dataclass(frozen=True)
class SearchTask:
    """``srcost search`` on a table given as CSV text, or on the built-in jet sample. Returns the summary and
    the front(s) as ``ParetoFront.to_json`` documents."""

    params: tuple[tuple[str, object], ...]  # the SearchJob fields other than the data
    data_csv: str | None
    data: str | None
    target: str | None

    @property
    def deadline_s(self) -> float:
        p = dict(self.params)
        per_class = 5 if self.data == 'jets-sample' else 1
        return 3.0 * float(p['budget_seconds']) * per_class + 600.0

    def run(self) -> dict:
        import json

        from sr_search.estimator import CostAwareRegressor

        p = dict(self.params)
        objective = p['objective']
        if '=' in objective:
            objective = {k.strip(): float(v) for k, _, v in (part.partition('=') for part in objective.split(','))}
        reg = CostAwareRegressor(
            binary_operators=list(p['binary_operators']), unary_operators=list(p['unary_operators']),
            maxsize=p['maxsize'], generations=p['generations'], budget_seconds=p['budget_seconds'],
            random_state=p['seed'], precision=p['precision'], backend=p['backend'], objective=objective,
            engine=p['engine'],
        )
        summary: dict = {'engine': p['engine'], 'objective': p['objective'], 'precision': p['precision'],
                         'backend': p['backend']}
        if self.data_csv is not None:
            from sr_search.tasks import run_regression

            X, y, names = read_table(self.data_csv, [self.target])
            res = run_regression(X, y, reg, random_state=p['seed'])
            front = res['front']
            front.metadata.update(precision=p['precision'], backend=p['backend'], objective=p['objective'],
                                  features=list(names))
            summary.update(task='regression', expression=res['expression'], test_r2=res['test_r2'],
                           test_mse=res['test_mse'], members=len(front.members))
            return {'summary': json.loads(json.dumps(summary, default=str)), 'fronts': [json.loads(front.to_json())]}
        from sr_search.data import load_jets_sample
        from sr_search.tasks import run_classification

        res = run_classification(load_jets_sample(), reg, max_train_rows=p.get('max_train_rows'), random_state=p['seed'])
        fronts = []
        for front in res['fronts']:
            front.metadata.update(precision=p['precision'], backend=p['backend'], objective=p['objective'])
            fronts.append(json.loads(front.to_json()))
        summary.update(task='jets-sample', classes=res['classes'], expressions=res['expressions'], sr=res['sr'], mlp=res['mlp'])
        return {'summary': json.loads(json.dumps(summary, default=str)), 'fronts': fronts}


def read_table(csv_text: str, targets: list[str]):
    """(X, y or None, feature names) of a CSV text, as ``srcost validate --data`` reads a file: features are
    the columns x0, x1, ... if present, else every column that is not a target."""
    import io

    import numpy as np
    import pandas as pd

    from hls_gen.errors import SrcostError

    try:
        df = pd.read_csv(io.StringIO(csv_text), comment='#')
    except (ValueError, pd.errors.ParserError) as e:
        raise SrcostError(f'data_csv is not a readable CSV table: {e}') from None
    missing = [t for t in targets if t not in df.columns]
    if missing:
        raise SrcostError(f'target column(s) {", ".join(missing)} not in data_csv (columns: {", ".join(map(str, df.columns))})')
    xcols = sorted((c for c in df.columns if isinstance(c, str) and c[:1] == 'x' and c[1:].isdigit()), key=lambda c: int(c[1:]))
    if not xcols:
        xcols = [c for c in df.columns if c not in targets]
    try:
        X = df[xcols].to_numpy(dtype=np.float64)
        y = df[list(targets)].to_numpy(dtype=np.float64) if targets else None
    except ValueError as e:
        raise SrcostError(f'data_csv has non-numeric values: {e}') from None
    if not np.isfinite(X).all() or (y is not None and not np.isfinite(y).all()):
        raise SrcostError('data_csv has missing or non-finite values')
    if y is not None and y.shape[1] == 1:
        y = y[:, 0]
    return X, y, [str(c) for c in xcols]


def scratch_dir(root: Path, prefix: str) -> str:
    root.mkdir(parents=True, exist_ok=True)
    return tempfile.mkdtemp(prefix=prefix, dir=root)
