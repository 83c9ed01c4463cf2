"""``srcost demo``: the main job on the embedded defaults."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from ..errors import cli_errors


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        out: Path = typer.Option(Path('srcost-demo'), '--out', help='directory for the store, fronts and report'),
        budget_seconds: float = typer.Option(8.0, '--budget-seconds', help='search seconds per class'),
        n_designs: int = typer.Option(4, '--n-designs', help='classifier designs to synthesize and validate'),
        jobs: Optional[int] = typer.Option(None, '--jobs', '-j'),
        db: Optional[Path] = typer.Option(None, '--db', help='calibration store (default: $SRCOST_DB, else OUT/calibration.db)'),
        as_json: bool = typer.Option(False, '--json', help='print the result (files, profile summary, accuracy) as JSON'),
    ) -> None:
        """Profile, predict, search, synthesize and validate; print the report's path."""
        with cli_errors():
            from ..demo import run_demo

            res = run_demo(out, budget_seconds=budget_seconds, n_designs=n_designs, jobs=jobs, db=db)
            if as_json:
                print(json.dumps(res.to_dict(), indent=2))
                return
            print(f'validated {res.n_designs} designs in {res.seconds:.0f} s; calibration store {res.db}')
            print(res.report)
