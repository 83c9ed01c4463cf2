"""``srcost search``: cost-aware symbolic regression on a data file or a built-in task."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from hls_gen.errors import SrcostError

from ..errors import cli_errors

TASKS = ('regression', 'jets', 'jets-sample')


class BadOption(SrcostError, ValueError):
    """A bad option value, reported in one line by ``cli_errors``."""


def _bad(message: str) -> BadOption:
    return BadOption(message)


def _objective(text: str):
    """'latency', 'lut', ... or a weighted mix 'lut=1,dsp=100'."""
    if '=' not in text:
        return text
    out = {}
    for part in text.split(','):
        k, _, v = part.partition('=')
        try:
            out[k.strip()] = float(v)
        except ValueError:
            raise _bad(f'--objective: the weight of {k.strip()!r} must be a number, got {v!r}') from None
    return out


def split_precisions(text: str) -> list[str]:
    """'ap_fixed<10,5>,ap_fixed<16,6>' -> the precisions (their own commas stay inside the brackets)."""
    parts, depth, cur = [], 0, ''
    for ch in text:
        depth += (ch == '<') - (ch == '>')
        if ch == ',' and depth == 0:
            parts.append(cur.strip())
            cur = ''
        else:
            cur += ch
    parts.append(cur.strip())
    parts = [q for q in parts if q]
    if not parts:
        raise _bad('--precisions: give e.g. "ap_fixed<10,5>,ap_fixed<16,6>"')
    return parts


def register(app: typer.Typer) -> None:
    @app.command()
    def search(
        data: str = typer.Argument(..., help='CSV/Parquet/NPZ file, or jets-sample (the shipped Pythia 8 jet set: srcost jets info)'),
        target: Optional[str] = typer.Option(None, '--target', help='target column (regression)'),
        task: Optional[str] = typer.Option(None, '--task', help='regression | jets | jets-sample (default: from DATA)'),
        engine: str = typer.Option('operon', '--engine', help='operon | pysr'),
        objective: str = typer.Option('latency', '--objective', help='latency | lut | dsp | ff | complexity | additive | lut=1,dsp=100'),
        budget_seconds: float = typer.Option(60.0, '--budget-seconds', help='search time (per class for classification)'),
        generations: int = typer.Option(1000, '--generations'),
        maxsize: int = typer.Option(25, '--maxsize'),
        binary_operators: str = typer.Option('+,-,*', '--binary-operators'),
        unary_operators: str = typer.Option('sin,exp', '--unary-operators', help='e.g. sin,exp or sin_lut,exp_lut'),
        precision: str = typer.Option('ap_fixed<16,6>', '--precision', '-p'),
        precisions: Optional[str] = typer.Option(None, '--precisions',
                                                 help='search several, one front across them: "ap_fixed<10,5>,ap_fixed<16,6>"'),
        loss_on: str = typer.Option('firmware', '--loss-on', help='firmware (bit-accurate fixed point, default) | float'),
        loss_rows: int = typer.Option(1000, '--loss-rows', help='rows the in-loop firmware loss uses (the front is scored on all)'),
        cost_server: Optional[str] = typer.Option(None, '--cost-server',
                                                  help='an srcost serve URL: its cost model is downloaded once and run here'),
        token: Optional[str] = typer.Option(None, '--token', envvar='SRCOST_TOKEN', help='bearer token for --cost-server'),
        backend: str = typer.Option('open', '--backend', '-b'),
        seed: int = typer.Option(0, '--seed'),
        max_train_rows: Optional[int] = typer.Option(None, '--max-train-rows'),
        out: Path = typer.Option(Path('front.json'), '--out', help='front file (.json or .csv); one per class for jets'),
        as_json: bool = typer.Option(False, '--json'),
    ) -> None:
        """Search expressions trading accuracy against predicted hardware cost; write the Pareto front."""
        with cli_errors():
            from hls_gen import Precision
            from sr_search.estimator import CostAwareRegressor

            kind = task or ('jets-sample' if data in ('jets-sample', 'jets') else 'regression')
            if kind not in TASKS:
                raise typer.BadParameter(f'unknown task {kind!r}; choose one of {", ".join(TASKS)}')
            if loss_on not in ('firmware', 'float'):
                raise _bad(f'--loss-on must be firmware or float, got {loss_on!r}')
            plist = [str(Precision.parse(q)) for q in split_precisions(precisions)] if precisions else [precision]
            precision = plist[0] if len(plist) == 1 else ','.join(plist)
            cost_fn = None
            if cost_server:
                from srcost.client import Client

                cost_fn = Client(cost_server, token).cost_fn(backend, plist[0])
            reg = CostAwareRegressor(
                binary_operators=[s for s in binary_operators.split(',') if s],
                unary_operators=[s for s in unary_operators.split(',') if s],
                maxsize=maxsize, generations=generations, budget_seconds=budget_seconds, random_state=seed,
                precision=plist if len(plist) > 1 else plist[0], backend=backend, objective=_objective(objective),
                engine=engine, loss_on=loss_on, loss_rows=loss_rows, cost_fn=cost_fn,
            )
            try:
                reg._validated()
            except (ValueError, TypeError) as e:
                raise _bad(str(e)) from None
            if kind == 'regression' and Path(out).suffix.lower() not in ('.json', '.csv'):
                raise _bad(f'--out {out}: a front file is .json or .csv')
            summary: dict = {'task': kind, 'data': data, 'engine': engine, 'objective': objective, 'precision': precision,
                             'backend': backend}
            if kind == 'regression':
                from sr_search.data import load_table
                from sr_search.tasks import run_regression

                if target is None:
                    raise typer.BadParameter('regression needs --target COLUMN')
                X, y, names = load_table(Path(data), target)
                if loss_on == 'firmware' and engine == 'operon':
                    from sr_search.firmware import check_range

                    for q in plist:
                        check_range(X, q, names)
                res = run_regression(X, y, reg, random_state=seed)
                front = res['front']
                front.metadata.update(precision=precision, backend=backend, objective=objective, features=list(names))
                front.save(out)
                summary.update(expression=res['expression'], selected_precision=res['selected'].precision,
                               test_r2=res['test_r2'], test_firmware_r2=res.get('test_firmware_r2'),
                               test_mse=res['test_mse'], front=str(out), members=len(front.members))
            else:
                from sr_search.data import load_jets, load_jets_sample
                from sr_search.tasks import run_classification

                jets = load_jets_sample() if kind == 'jets-sample' else load_jets(None if data == 'jets' else Path(data))
                res = run_classification(jets, reg, max_train_rows=max_train_rows, random_state=seed)
                files = []
                for front in res['fronts']:
                    cls = front.metadata.get('class', 'class')
                    front.metadata.update(precision=precision, backend=backend, objective=objective)
                    path = out.with_name(f'{out.stem}_{cls}{out.suffix or ".json"}')
                    front.save(path)
                    files.append(str(path))
                summary.update(classes=res['classes'], expressions=res['expressions'], sr=res['sr'], mlp=res['mlp'],
                               fronts=files)
                if res['mlp']:
                    summary['accuracy_relative_to_mlp'] = res['sr']['accuracy'] / res['mlp']['accuracy']
            if as_json:
                print(json.dumps(summary, indent=2, default=str))
            else:
                for k, v in summary.items():
                    print(f'{k}: {v}')
