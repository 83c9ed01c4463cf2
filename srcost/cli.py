"""The ``srcost`` command line. Each command group lives in ``srcost/commands/<name>.py`` and
registers itself here; heavy imports happen inside the commands, not at start-up."""

from __future__ import annotations

import typer

from .commands import demo, jets, model, profile, search, serve, synth, validate

app = typer.Typer(
    name='srcost',
    help='Measure, model and search the FPGA cost of symbolic-regression expressions.',
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)



@app.callback()
def _root() -> None:
    """srcost: hardware cost models for symbolic regression on FPGAs."""


for _module in (synth, profile, model, search, validate, demo, jets, serve):
    _module.register(app)


def main() -> None:  # pragma: no cover
    app()
