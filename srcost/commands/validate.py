"""``srcost validate``: synthesize chosen designs, check predicted against actual, write the report."""

from __future__ import annotations

import json
import shlex
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Optional

import typer

from hls_gen.errors import InputFileError, SrcostError, file_problem, read_text

from ..errors import cli_errors

FRONT_SUFFIXES = ('.csv', '.json')
DEFAULT_PRECISION = 'ap_fixed<16,6>'
PREDICT_CHOICES = ('auto', 'model', 'front', 'none')


def split_precisions(values: Sequence[str]) -> list[str]:
    """``ap_fixed<16,6>,ap_fixed<18,8>`` (commas inside <> belong to the type) from one or more options."""
    out: list[str] = []
    for text in values:
        depth, cur = 0, ''
        for ch in text:
            if ch == '<':
                depth += 1
            elif ch == '>':
                depth -= 1
            if ch == ',' and depth == 0:
                if cur.strip():
                    out.append(cur.strip())
                cur = ''
            else:
                cur += ch
        if cur.strip():
            out.append(cur.strip())
    return out


def spread(n_total: int, n_keep: int | None) -> list[int]:
    """Indices of ``n_keep`` members spread evenly over a front of ``n_total`` (both ends kept)."""
    if n_keep is None or n_keep >= n_total:
        return list(range(n_total))
    if n_keep <= 1:
        return [0]
    return sorted({round(i * (n_total - 1) / (n_keep - 1)) for i in range(n_keep)})


def load_front(path: Path) -> tuple[list[str], list[str], list[dict], dict]:
    """(expressions, labels, predicted costs per member, metadata) of a front file."""
    try:
        from sr_search.front import ParetoFront
    except ImportError:
        ParetoFront = None
    if ParetoFront is not None:
        read_text(path, InputFileError)  # not UTF-8, NUL bytes, unreadable: the same line as every file reader
        try:
            front = ParetoFront.load(path)
        except SrcostError:
            raise
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as e:  # pandas', json's, a field's
            raise InputFileError(file_problem(path, e)) from None
        exprs = [m.expression for m in front]
        labels = [f'front[{i}] loss={m.loss:.4g} complexity={m.complexity}' for i, m in enumerate(front)]
        return exprs, labels, [dict(m.cost) for m in front], dict(front.metadata)
    import pandas as pd

    df = _read_csv(path) if path.suffix.lower() == '.csv' else pd.DataFrame(
        json.loads(read_text(path, InputFileError)).get('members', []))
    if 'expression' not in df.columns:
        raise typer.BadParameter(f'{path} has no "expression" column')
    exprs = [str(e) for e in df['expression']]
    return exprs, [f'front[{i}]' for i in range(len(exprs))], [{} for _ in exprs], {}


def _read_csv(path: Path):
    """pandas' frame of a CSV, or one line naming what is wrong with the file."""
    import pandas as pd

    read_text(path, InputFileError)
    try:
        return pd.read_csv(path, comment='#')
    except (ValueError, OSError) as e:  # pandas' EmptyDataError and ParserError are ValueErrors
        raise InputFileError(file_problem(path, e)) from None


def load_data(path: Path, targets: Sequence[str]):
    """(X, y or None, feature names) from a CSV: features are the columns x0, x1, ... if present, else every
    column that is not a target, in file order."""
    import numpy as np

    if not path.is_file():
        raise typer.BadParameter(f'no data file at {path}')
    df = _read_csv(path)
    missing = [t for t in targets if t not in df.columns]
    if missing:
        raise typer.BadParameter(f'target column(s) {", ".join(missing)} not in {path} (columns: {", ".join(map(str, df.columns))})')
    xcols = sorted((c for c in df.columns if isinstance(c, str) and c[:1] == 'x' and c[1:].isdigit()), key=lambda c: int(c[1:]))
    if not xcols:
        xcols = [c for c in df.columns if c not in targets]
    try:
        X = df[xcols].to_numpy(dtype=np.float64)
        y = df[list(targets)].to_numpy(dtype=np.float64) if targets else None
    except (TypeError, ValueError) as e:
        raise InputFileError(f'{path}: the feature and target columns must be numbers ({e})') from None
    if y is not None and y.shape[1] == 1:
        y = y[:, 0]
    return X, y, xcols


def calibration_frame(path: Optional[Path], db: Optional[Path], backend: str):
    """Calibration records for the heatmap: a CSV (operator, precision[, implementation, latency_cycles, lut]),
    else the calibration store (``--db``, $SRCOST_DB or the default) when it exists; None when there is none."""
    import pandas as pd

    if path is not None:
        if not path.is_file():
            raise typer.BadParameter(f'no calibration file at {path}')
        return _read_csv(path)
    try:
        from profiler.store import CalibrationStore, default_db_path
    except ImportError:
        return None
    where = default_db_path(db)
    if not where.is_file():
        if db is not None:
            raise typer.BadParameter(f'no calibration store at {where}')
        return None
    from ..report import CALIBRATION_COLUMNS

    with CalibrationStore(where) as store:
        recs = store.records(backend=backend, status='ok')
    rows = [{'operator': r.operator, 'precision': r.precision, 'implementation': r.implementation,
             'latency_cycles': r.latency_worst, 'lut': r.lut} for r in recs]
    return pd.DataFrame(rows, columns=list(CALIBRATION_COLUMNS))


def _command_line(ctx) -> str:
    """The command as the user could retype it (non-default parameters only)."""
    args = ['srcost', ctx.info_name or 'validate']
    for p in ctx.command.params:
        v = ctx.params.get(p.name)
        if getattr(p, 'param_type_name', '') == 'argument':
            args += [str(x) for x in (v or [])]
            continue
        if v is None or v == p.default or (p.multiple and not v) or p.name == 'help':
            continue
        opt = max(p.opts, key=len)
        if getattr(p, 'is_flag', False):
            if p.secondary_opts and not v:
                args.append(max(p.secondary_opts, key=len))
            elif v:
                args.append(opt)
        elif p.multiple:
            for x in v:
                args += [opt, str(x)]
        else:
            args += [opt, str(v)]
    return shlex.join(args)


def _print_summary(data: dict, html_path: Path | None, run_path: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    from ..report import PLOT_TARGETS, TARGET_LABELS, fmt

    con = Console()
    acc = data['accuracy']
    has_pred = data['prediction']['available']
    t = Table(title=data['title'])
    for c in ('#', 'expressions', 'precision', 'status', 'latency', 'LUT', 'FF', 'DSP'):
        t.add_column(c, justify='left' if c in ('expressions', 'precision', 'status') else 'right')
    if has_pred:
        t.add_column('pred. latency', justify='right')
        t.add_column('pred. LUT', justify='right')
    metric = acc['metric_label'] if acc['task'] != 'none' else 'fixed vs float RMSE'
    if acc['task'] != 'none':
        t.add_column(f'float {metric}', justify='right')
    t.add_column(f'fixed {metric}' if acc['task'] != 'none' else metric, justify='right')
    for row in data['summary']:
        cells = [fmt(row['index']), row['expressions'], row['precision'], row['status'], fmt(row['latency_cycles']),
                 fmt(row['lut']), fmt(row['ff']), fmt(row['dsp'])]
        if has_pred:
            cells += [fmt(row.get('predicted_latency_cycles')), fmt(row.get('predicted_lut'))]
        if acc['task'] != 'none':
            cells.append(fmt(row['float_metric']))
        cells.append(fmt(row['fixed_metric']))
        t.add_row(*cells)
    con.print(t)
    if has_pred:
        e = Table(title=f'predicted ({data["run"]["predictor"]}) against actual ({data["run"]["backend"]})')
        for c in ('target', 'n', 'MAE', 'MAPE %', 'exact match'):
            e.add_column(c, justify='right')
        for tg in PLOT_TARGETS:
            x = data['prediction']['targets'][tg]
            e.add_row(TARGET_LABELS[tg], fmt(x['n']), fmt(x['mae']), fmt(x['mape_pct']), fmt(x['exact_match_rate']))
        con.print(e)
    for n in data['run']['notes']:
        print(f'note: {n}')
    print(f'run: {run_path}')
    if html_path is not None:
        print(f'report: {html_path}')


def register(app: typer.Typer) -> None:
    @app.command()
    def validate(
        ctx: typer.Context,
        inputs: list[str] = typer.Argument(..., help='A front file (.csv/.json from `srcost search`) or expressions'),
        backend: str = typer.Option('open', '--backend', '-b', help='open | vivado_hls | vitis_hls'),
        precisions: list[str] = typer.Option([], '--precisions', '-p',
                                             help='precision(s), comma-separated: each design is built at each one'),
        lut: list[str] = typer.Option([], '--lut', help='LUT spec function:size:start:end, e.g. sin:1024:-4:4'),
        part: str = typer.Option('xcvu9p-flga2577-2-e', '--part'),
        clock_period: float = typer.Option(5.0, '--clock-period', help='ns'),
        separate: bool = typer.Option(False, '--separate',
                                      help='each EXPR is its own design (default: the EXPRs are the outputs of one design)'),
        data: Optional[Path] = typer.Option(None, '--data', help='test data CSV (features x0, x1, ... or all non-target columns)'),
        target: Optional[str] = typer.Option(None, '--target', help='label column(s) in --data, comma-separated'),
        task: str = typer.Option('auto', '--task', help='auto | regression | classification'),
        n_samples: int = typer.Option(2048, '--n-samples', help='generated inputs per design when there is no --data'),
        seed: int = typer.Option(0, '--seed'),
        emulation: str = typer.Option('trace', '--emulation', help='trace (fast, equal to the RTL) | open (Verilator) | hls4ml'),
        predict: str = typer.Option('auto', '--predict',
                                    help='auto (cost model if installed, else the front\'s costs) | model | front | none'),
        calibration: Optional[Path] = typer.Option(None, '--calibration', help='CSV of operator calibration for the heatmap'),
        db: Optional[Path] = typer.Option(None, '--db', help='calibration store (default: $SRCOST_DB or the user store)'),
        record: bool = typer.Option(False, '--record', help='add the synthesized designs to the calibration store'),
        report: Optional[Path] = typer.Option(None, '--report', help='write the HTML report here (and .json beside it)'),
        workdir: Optional[Path] = typer.Option(None, '--workdir', help='where projects go (default: a new ./srcost-validate-*)'),
        max_designs: Optional[int] = typer.Option(None, '--max-designs', help='validate at most N front members, spread over the front'),
        hls4ml: bool = typer.Option(True, '--hls4ml/--no-hls4ml', help='write each design\'s hls4ml project'),
        timeout: float = typer.Option(600.0, '--timeout', help='seconds per tool run'),
        as_json: bool = typer.Option(False, '--json', help='print the report numbers as one JSON object'),
    ) -> None:
        """Synthesize and emulate designs; compare actual cost with the cost model and fixed point with float."""
        with cli_errors():
            from hls_gen import Design
            from hls_gen.backends import BACKENDS

            from ..report import report_data, write_report
            from ..validation import validate as run_validation

            if backend not in BACKENDS:
                raise typer.BadParameter(f'unknown backend {backend!r}; choose one of {", ".join(BACKENDS)}')
            if predict not in PREDICT_CHOICES:
                raise typer.BadParameter(f'--predict must be one of {", ".join(PREDICT_CHOICES)}')
            if max_designs is not None and max_designs < 1:
                raise typer.BadParameter('--max-designs must be at least 1')
            precs = split_precisions(precisions)
            is_front = len(inputs) == 1 and Path(inputs[0]).suffix.lower() in FRONT_SUFFIXES
            if is_front and not Path(inputs[0]).is_file():
                raise typer.BadParameter(f'no front file at {inputs[0]}')
            if any(Path(x).suffix.lower() in FRONT_SUFFIXES for x in inputs) and not is_front:
                raise typer.BadParameter('give one front file, or expressions, not both')

            front_costs: list[dict] = []
            if is_front:
                exprs, labels, costs, meta = load_front(Path(inputs[0]))
                if not exprs:
                    raise typer.BadParameter(f'the front {inputs[0]} has no members')
                keep = spread(len(exprs), max_designs)
                groups = [[exprs[i]] for i in keep]
                group_labels = [labels[i] for i in keep]
                group_costs = [costs[i] for i in keep]
                if not precs:
                    precs = [str(meta.get('precision') or DEFAULT_PRECISION)]
            else:
                groups = [[e] for e in inputs] if separate else [list(inputs)]
                group_labels = [''] * len(groups)
                group_costs = [{} for _ in groups]
                precs = precs or [DEFAULT_PRECISION]
            designs, labels_out = [], []
            for g, lab, cost in zip(groups, group_labels, group_costs):
                for p in precs:
                    designs.append(Design.build(g, p, lut, None, part, clock_period))
                    labels_out.append(lab if len(precs) == 1 else f'{lab} @ {p}'.strip())
                    front_costs.append(cost)
            if not is_front and max_designs is not None:
                designs, labels_out, front_costs = designs[:max_designs], labels_out[:max_designs], front_costs[:max_designs]

            X = y = None
            data_info: dict = {}
            if data is not None:
                targets = [t.strip() for t in (target or '').split(',') if t.strip()]
                X, y, cols = load_data(data, targets)
                data_info = {'source': str(data), 'n_samples': int(len(X)), 'features': ', '.join(map(str, cols)),
                             'target': ', '.join(targets) or None}
            elif target:
                raise typer.BadParameter('--target needs --data')

            predictor, notes = _predictor(predict, front_costs, precs, is_front)
            work = workdir or Path(tempfile.mkdtemp(prefix='srcost-validate-', dir='.'))
            cmd = _command_line(ctx)
            try:
                run = run_validation(
                    designs, X, y, backend=backend, predictor=predictor, workdir=work, write_hls4ml=hls4ml,
                    emulation=emulation, task=task, n_samples=n_samples, seed=seed, timeout_s=timeout, commands=[cmd],
                    data_info=data_info, labels=labels_out,
                )
            except BaseException:
                if workdir is None and work.is_dir() and not any(work.iterdir()):
                    work.rmdir()  # refused before anything was written: leave no empty folder behind
                raise
            run.notes[:0] = notes
            if record:
                run.notes.append(_record(run, db))
            run_path = run.save(Path(run.workdir) / 'validation.json')
            cal = calibration_frame(calibration, db, backend)
            html_path = None
            if report is not None:
                html_path, json_path = write_report(run, report, cal)
                out = json.loads(json_path.read_text())
            else:
                out = report_data(run, cal)
            if as_json:
                out['files'] = {'run': str(run_path), 'report': str(html_path) if html_path else None,
                                'report_json': str(html_path.with_suffix('.json')) if html_path else None}
                print(json.dumps(out, indent=2))
                return
            _print_summary(out, html_path, run_path)


def _predictor(mode: str, front_costs: list[dict], precs: list[str], is_front: bool):
    """(predictor or None, notes) for --predict. ``notes`` is filled in as the predictor runs."""
    notes: list[str] = []
    has_front = is_front and any(front_costs)

    def from_front(designs):
        return [dict(c) for c in front_costs]

    from_front.name = 'front (costs predicted during the search)'
    if has_front and len(precs) > 1 and mode in ('auto', 'front'):
        notes.append('front costs were predicted at the search precision; they are compared at every precision')
    model = None
    if mode in ('auto', 'model'):
        try:
            from costmodel import predict as model  # type: ignore[attr-defined]
        except ImportError as e:
            if mode == 'model':
                from hls_gen.errors import SrcostError

                raise SrcostError(f'--predict model: the cost model is not available ({e})') from None
            notes.append(f'no cost model available ({e})')
    if model is not None:
        if mode == 'model':
            def predictor(designs):
                return model(designs)

            predictor.name = 'costmodel.predict'
            return predictor, notes

        def predictor(designs):  # auto: fall back to the front's costs when the model cannot answer
            try:
                out = model(designs)
                predictor.name = 'costmodel.predict'
                return out
            except Exception as e:
                notes.append(f'the cost model failed ({type(e).__name__}: {e})')
                if not has_front:
                    return [{} for _ in designs]
                predictor.name = from_front.name
                return from_front(designs)

        predictor.name = 'costmodel.predict'
        return predictor, notes
    if mode in ('auto', 'front') and has_front:
        return from_front, notes
    if mode == 'front':
        notes.append('the front records no predicted costs')
    return None, notes


def _record(run, db: Optional[Path]) -> str:
    """Put the run's synthesized designs into the calibration store as training records."""
    from profiler.store import CalibrationStore, DesignRecord

    n = 0
    with CalibrationStore(db) as store:
        for r in run.records:
            if not r.ok:
                continue
            store.put_design(DesignRecord(
                design_digest=r.digest, backend=r.backend, tool_version=r.actual.get('tool_version', ''), design=r.design,
                results=r.actual, provenance={'source': 'srcost validate', 'commands': run.commands,
                                              'run_started_at': run.started_at, 'tool_versions': run.tool_versions},
            ))
            n += 1
        where = store.path
    return f'recorded {n} design(s) in the calibration store {where}'
