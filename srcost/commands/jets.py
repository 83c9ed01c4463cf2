"""``srcost jets generate`` and ``srcost jets info``: the physics-generated jet set (Pythia 8 + FastJet, in the
schema of OpenML ``hls4ml_lhc_jets_hlf``)."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import cli_errors

jets_app = typer.Typer(help='Generate and inspect jet sets (Pythia 8 + FastJet, OpenML hls4ml_lhc_jets_hlf schema).',
                       no_args_is_help=True)


@jets_app.command('generate')
def generate_cmd(
    per_class: Annotated[int, typer.Option('--per-class', help='Jets of each class (g, q, t, w, z).')],
    out: Annotated[Path, typer.Option('--out', help='Parquet file to write; its provenance goes beside it (.json).')],
    seed: Annotated[int, typer.Option('--seed', help='Seed: the same seed and settings give the same jets.')] = 1,
    jobs: Annotated[int, typer.Option('--jobs', '-j', help='Worker processes (one Pythia each).')] = 1,
    no_progress: Annotated[bool, typer.Option('--no-progress', help='No progress bar.')] = False,
    as_json: Annotated[bool, typer.Option('--json', help='Print the run summary as JSON.')] = False,
) -> None:
    """Generate jets with Pythia 8 (13 TeV; QCD and top pairs at pTHat 900-1100 GeV, W and Z pairs from a 2 TeV
    scalar), cluster them with FastJet (anti-kT R = 0.8), label them by matching to the hard process and
    compute the 16 OpenML features. A killed run resumes from its finished chunks when rerun with the same
    arguments."""
    with cli_errors():
        from sr_search.jets.generate import generate

        command = 'srcost ' + ' '.join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:3] == ['jets', 'generate'] else ''
        res = generate(out, per_class, seed, jobs, command=command, progress=not no_progress)
        summary = {'path': str(res.path), 'provenance': str(res.provenance_path), 'rows': res.rows,
                   'class_counts': res.class_counts, 'chunks_run': res.chunks_run, 'chunks_reused': res.chunks_reused,
                   'seconds': round(res.seconds, 1)}
        if as_json:
            print(json.dumps(summary, indent=1))
        else:
            print(f'{res.rows} jets ({", ".join(f"{c} {n}" for c, n in res.class_counts.items())}) in {res.seconds:.0f} s '
                  f'-> {res.path}')


@jets_app.command('info')
def info_cmd(
    file: Annotated[Optional[Path], typer.Argument(help='A generated set. Default: the shipped one.')] = None,
    as_json: Annotated[bool, typer.Option('--json', help='Print one JSON object.')] = False,
) -> None:
    """Rows, class counts, feature names, per-class medians and provenance of a generated jet set."""
    with cli_errors():
        from sr_search.jets.dataset import summarize

        info = summarize(file)
        if as_json:
            print(json.dumps(info.to_dict(), indent=1, sort_keys=True))
            return
        from rich.console import Console
        from rich.table import Table

        prov = info.provenance
        console = Console()
        console.print(f'[bold]{info.path}[/]: {info.rows} jets; ' + ', '.join(f'{c} {n}' for c, n in info.class_counts.items()))
        table = Table('feature', *info.medians, title='median per class')
        for f in info.features:
            table.add_row(f, *(f'{info.medians[c][f]:.4g}' for c in info.medians))
        console.print(table)
        vers = prov.get('versions', {})
        console.print(f'generated {prov.get("created", "?")} by: {prov.get("command") or "(not recorded)"}')
        console.print('seed {seed}, {per_class} per class; versions: {v}'.format(
            seed=prov.get('seed'), per_class=prov.get('per_class'),
            v=', '.join(f'{k} {vers[k]}' for k in ('pythia8mc', 'fastjet', 'numpy', 'srcost') if k in vers)))
        console.print('settings: ' + ', '.join(f'{k}={v}' for k, v in prov.get('settings', {}).items()))
        console.print(f'sha256 {prov.get("sha256")} (verified)')


def register(app: typer.Typer) -> None:
    app.add_typer(jets_app, name='jets')
