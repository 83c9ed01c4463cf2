"""``srcost synth``: synthesize one design (several EXPRs are its outputs) on a backend."""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from pathlib import Path
from typing import Optional

import typer

from costmodel.targets import TARGETS

from ..errors import cli_errors
from ..options import design_from_options, print_design_result

SYNTH_KEYS = (*TARGETS, 'carry', 'clock_estimate_ns')


def register(app: typer.Typer) -> None:
    @app.command()
    def synth(
        exprs: list[str] = typer.Argument(..., help='Output expressions (PySR/sympy syntax, variables x0, x1, ...)'),
        precision: str = typer.Option('ap_fixed<16,6>', '--precision', '-p', help='hls4ml precision, e.g. ap_fixed<16,6>'),
        backend: str = typer.Option('open', '--backend', '-b', help='open | vivado_hls | vitis_hls'),
        lut: list[str] = typer.Option([], '--lut', help='LUT spec function:size:start:end, e.g. sin:1024:-4:4'),
        part: str = typer.Option('xcvu9p-flga2577-2-e', '--part'),
        clock_period: float = typer.Option(5.0, '--clock-period', help='ns'),
        n_inputs: Optional[int] = typer.Option(None, '--n-inputs'),
        out: Optional[Path] = typer.Option(None, '--out', help='keep the generated project here (written only on success)'),
        timeout: float = typer.Option(600.0, '--timeout', help='seconds for the whole synthesis; past them it stops, naming the stage'),
        rom_style: str = typer.Option('auto', '--rom-style', help="tables: auto (block RAM as Vivado HLS) | block | distributed"),
        as_json: bool = typer.Option(False, '--json', help='print one JSON object'),
    ) -> None:
        """Synthesize EXPRs as one design and print latency (cycles), II, LUT, FF, DSP, BRAM."""
        with cli_errors():
            design = design_from_options(exprs, precision, lut, part, clock_period, n_inputs)
            from hls_gen.design import ROM_STYLES

            if rom_style not in ROM_STYLES:
                raise typer.BadParameter(f'--rom-style must be one of {", ".join(ROM_STYLES)}, got {rom_style[:40]!r}')
            design = dataclasses.replace(design, rom_style=rom_style)
            if out is not None and out.exists():
                raise typer.BadParameter(f'{out} exists; choose a new directory')
            from hls_gen.backends import BACKENDS, get_backend

            if backend not in BACKENDS:
                raise typer.BadParameter(f'unknown backend {backend!r}; choose one of {", ".join(BACKENDS)}')
            if not 0 < timeout < float('inf'):
                raise typer.BadParameter(f'--timeout must be a positive number of seconds, got {timeout}')

            be = get_backend(backend)
            work = Path(tempfile.mkdtemp(prefix='srcost-synth-'))
            try:
                result = be.synthesize([design], work, timeout_s=timeout)[0]
                if out is not None:
                    shutil.move(str(work), str(out))
                    work = out
            finally:
                if out is None or work != out:
                    shutil.rmtree(work, ignore_errors=True)
            d = result.to_dict()
            if out is None:
                d['log_path'] = None
            else:
                d['log_path'] = str(out / Path(result.log_path).name) if result.log_path else None
            print_design_result(d, design, backend, 'value', SYNTH_KEYS, as_json)
            if as_json:
                return
            print(f'latency: {result.latency_method}; clock: {result.clock_estimate_method}')
