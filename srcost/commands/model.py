"""``srcost fit`` and ``srcost predict``: train the cost model, and predict what designs cost."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from costmodel.targets import TARGETS

from ..errors import cli_errors
from ..options import design_from_options, print_design_result

_DB_HELP = 'Calibration store (SQLite). Default: $SRCOST_DB; without one, the built-in calibration of the backend.'


def _num(v):
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else (int(v) if float(v).is_integer() else round(float(v), 4))


def fit_cmd(
    backend: Annotated[str, typer.Option('--backend', '-b', help='open | vivado_hls | vitis_hls')] = 'open',
    n_expressions: Annotated[Optional[int], typer.Option(
        '--n-expressions', '-n', min=20, help='Designs the training set should hold; missing ones are generated and synthesized '
        '(resumable). Default: use the set as it is.')] = None,
    part: Annotated[str, typer.Option('--part')] = 'xcvu9p-flga2577-2-e',
    training_set: Annotated[Optional[Path], typer.Option(
        '--training-set', help='CSV training set. Default: data/costmodel/<backend>_<part>_training.csv')] = None,
    out: Annotated[Optional[Path], typer.Option(
        '--out', help='Where to save the model. Default: data/costmodel/<backend>_<part>_model.json')] = None,
    seed: Annotated[int, typer.Option('--seed', help='Generator seed of a new training set.')] = 0,
    db: Annotated[Optional[Path], typer.Option('--db', help=_DB_HELP)] = None,
    no_save: Annotated[bool, typer.Option('--no-save', help='Evaluate only; do not write the model.')] = False,
    as_json: Annotated[bool, typer.Option('--json', help='Print one JSON object.')] = False,
) -> None:
    """Train the learned cost model of BACKEND and report held-out metrics (MAE, MAPE, R2, Spearman,
    exact-match rate) per target for the additive, analytic and learned models."""
    with cli_errors():
        from costmodel.fit import fit

        report = fit(backend, part, n_expressions, training_set, out, seed=seed, db=str(db) if db else None,
                     save=not no_save, progress=None if as_json else (lambda m: print(m, file=sys.stderr, flush=True)))
        if as_json:
            print(json.dumps(report.to_dict(), indent=1))
            return
        from rich.console import Console
        from rich.table import Table

        con = Console()
        t = Table(title=f'{backend} on {part}: {report.n_test} designs, each predicted by a model trained without it '
                        f'(cross-validation; about {report.n_train} designs per model)')
        for c in ('model', 'target', 'n', 'MAE', 'MAPE', 'R2', 'Spearman', 'exact'):
            t.add_column(c, justify='left' if c in ('model', 'target') else 'right')
        for r in report.metrics.itertuples():
            t.add_row(r.model, r.target, str(r.n), *(_fmt(v) for v in (r.mae, r.mape, r.r2, r.spearman, r.exact)))
        con.print(t)
        if report.real_metrics is not None:
            t = Table(title='designs from real searches')
            for c in ('model', 'target', 'n', 'MAE', 'MAPE', 'R2', 'Spearman', 'exact'):
                t.add_column(c, justify='left' if c in ('model', 'target') else 'right')
            for r in report.real_metrics.itertuples():
                t.add_row(r.model, r.target, str(r.n), *(_fmt(v) for v in (r.mae, r.mape, r.r2, r.spearman, r.exact)))
            con.print(t)
        for note in report.notes:
            print(note)
        if report.model_path:
            print(f'model saved to {report.model_path}')


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return '-'
    return f'{v:.3g}'


def predict_cmd(
    exprs: Annotated[list[str], typer.Argument(help='Output expressions of one design (PySR/sympy syntax, variables x0, x1, ...)')],
    precision: Annotated[str, typer.Option('--precision', '-p', help='hls4ml precision, e.g. ap_fixed<16,6>')] = 'ap_fixed<16,6>',
    backend: Annotated[str, typer.Option('--backend', '-b', help='open | vivado_hls | vitis_hls')] = 'open',
    model: Annotated[str, typer.Option(
        '--model', '-m', help='auto | additive | analytic | learned (auto: learned when trained, else analytic)')] = 'auto',
    lut: Annotated[Optional[list[str]], typer.Option('--lut', help='LUT spec function:size:start:end, e.g. sin:1024:-4:4')] = None,
    part: Annotated[str, typer.Option('--part')] = 'xcvu9p-flga2577-2-e',
    clock_period: Annotated[float, typer.Option('--clock-period', help='ns')] = 5.0,
    n_inputs: Annotated[Optional[int], typer.Option('--n-inputs')] = None,
    db: Annotated[Optional[Path], typer.Option('--db', help=_DB_HELP)] = None,
    model_path: Annotated[Optional[Path], typer.Option('--model-path', help='A saved learned model other than the shipped one.')] = None,
    server: Annotated[Optional[str], typer.Option(
        '--server', help='Ask `srcost serve` at this URL (its store and model) instead of predicting here.')] = None,
    token: Annotated[Optional[str], typer.Option('--token', help='Bearer token for --server. Default: $SRCOST_TOKEN.')] = None,
    lut_impl: Annotated[str, typer.Option('--lut-impl', help='vivado_hls/vitis_hls: what a sin_lut/cos_lut is. auto: hls4ml\'s '
                                          'built-in table when it has the default spec, else nnet::lookup_table; builtin; table')] = 'auto',
    as_json: Annotated[bool, typer.Option('--json', help='Print one JSON object.')] = False,
) -> None:
    """Predict latency (cycles), II, LUT, FF, DSP and BRAM of EXPRs as one design, without synthesis. For
    vivado_hls / vitis_hls also a band per metric (lut_low, lut_high, ...) from the model's cross-validation."""
    with cli_errors():
        design = design_from_options(exprs, precision, lut or [], part, clock_period, n_inputs)
        if server is not None:
            _predict_remote(server, token, design, exprs, precision, backend, model, lut or [], part, clock_period, n_inputs,
                            db, model_path, as_json, lut_impl)
            return
        from costmodel.api import get_model

        m = get_model(model, backend, part, str(db) if db else None, model_path)
        from costmodel.vivado import VivadoModel

        row = (m.predict([design], lut_impl) if isinstance(m, VivadoModel) else m.predict([design])).iloc[0]
        errors = getattr(m.extractor, 'errors', {})
        if errors:
            from hls_gen import SrcostError

            raise SrcostError(next(iter(errors.values())))
        d = {k: _num(row[k]) for k in row.index}
        d.update(backend=backend, part=part, precision=str(design.precision), clock_period_ns=design.clock_period_ns,
                 model=m.name)
        if m.name == 'learned':
            d['model_provenance'] = m.provenance.to_dict()
        if isinstance(m, VivadoModel):
            d['lut_impl'] = lut_impl
            d['model_provenance'] = {k: m.provenance.get(k) for k in ('created', 'tool', 'command', 'designs')}
        if m.latency_only:
            d['note'] = 'the calibration has latency only: resources are not predicted'
        print_design_result(d, design, f'{m.name} model, {backend}', 'predicted',
                            TARGETS, as_json)
        if as_json:
            return
        if 'note' in d:
            print(d['note'])


def _predict_remote(server, token, design, exprs, precision, backend, model, luts, part, clock_period, n_inputs, db,
                    model_path, as_json, lut_impl='auto') -> None:
    """``srcost predict --server URL``: the same output, from the server's store and model."""
    from hls_gen import SrcostError

    from ..client import Client

    if db is not None or model_path is not None:
        raise SrcostError('--db and --model-path name local files; with --server the server\'s store and model are used')
    with Client(server, token) as c:
        res = c.predict(exprs, precision, backend, model, luts, separate=False, part=part, clock_period_ns=clock_period,
                        n_inputs=n_inputs, lut_impl=lut_impl)
    p = res.designs[0]
    values = {**p.costs(), **(p.bands or {})}
    d = {k: _num(float('nan') if v is None else v) for k, v in values.items()}
    d.update(backend=backend, part=part, precision=str(design.precision), clock_period_ns=design.clock_period_ns,
             model=res.model)
    if res.lut_impl is not None:
        d['lut_impl'] = res.lut_impl
    if res.model_provenance is not None:
        d['model_provenance'] = res.model_provenance
    if res.note:
        d['note'] = res.note
    print_design_result(d, design, f'{res.model} model, {backend} (server {server})', 'predicted', TARGETS, as_json)
    if not as_json and 'note' in d:
        print(d['note'])


def register(app: typer.Typer) -> None:
    """Add ``fit`` and ``predict`` to ``app``."""
    app.command('fit')(fit_cmd)
    app.command('predict')(predict_cmd)
