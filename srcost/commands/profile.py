"""``srcost profile-ops``, ``srcost import-calibration`` and ``srcost ops``: measure operators, import
published calibrations, and export what the calibration store holds."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import cli_errors

_DB_HELP = 'Calibration store (SQLite). Default: $SRCOST_DB, else the user data dir (srcost/calibration.db).'
FORMATS = ('table', 'json', 'csv', 'pysr')


def profile_ops_cmd(
    ops: Annotated[Optional[list[str]], typer.Option(
        '--ops', help='Operators (srcost or PySR names; repeat or comma-separate). Default: all.')] = None,
    precisions: Annotated[Optional[list[str]], typer.Option(
        '--precisions', help='Precisions, e.g. "ap_fixed<16,6>,ap_fixed<18,8>" (repeat or comma-separate). Default: <16,6> '
        '<18,8> <24,12> <32,16>.')] = None,
    backend: Annotated[str, typer.Option('--backend', help='open, vivado_hls, vitis_hls, or module:Class for a plugin backend.')] = 'open',
    backend_opts: Annotated[Optional[list[str]], typer.Option(
        '--backend-opt', help='KEY=VALUE passed to the backend, e.g. verify_latency=false (repeatable).')] = None,
    jobs: Annotated[Optional[int], typer.Option('--jobs', '-j', min=1, help='Local worker processes. Default: the core count.')] = None,
    scheduler: Annotated[Optional[str], typer.Option(
        '--scheduler', help='Run on a Dask distributed cluster, e.g. tcp://host:8786.')] = None,
    db: Annotated[Optional[Path], typer.Option('--db', help=_DB_HELP)] = None,
    force: Annotated[bool, typer.Option('--force', help='Re-run micro-benchmarks already stored OK.')] = False,
    timeout: Annotated[float, typer.Option(
        '--timeout', min=1, help='Seconds allowed per micro-benchmark (a batch of n gets n times this).')] = 300.0,
    lut_sizes: Annotated[Optional[list[str]], typer.Option('--lut-sizes', help='LUT table sizes. Default: 256,1024,4096.')] = None,
    lut_ranges: Annotated[Optional[list[str]], typer.Option(
        '--lut-range', help='A LUT range other than the hls4ml default, e.g. sin:-8:8 (repeatable).')] = None,
    implementations: Annotated[Optional[list[str]], typer.Option(
        '--implementations', help='Only these implementations, e.g. native,lut1024.')] = None,
    part: Annotated[str, typer.Option('--part', help='FPGA part.')] = 'xcvu9p-flga2577-2-e',
    clock: Annotated[float, typer.Option('--clock', min=0.01, help='Target clock period in ns.')] = 5.0,
    batch_size: Annotated[Optional[int], typer.Option(
        '--batch-size', min=1, help='Designs per backend call (one tool process). Default: automatic, at most 13 (measured '
        'fastest on the open backend).')] = None,
    workdir: Annotated[Optional[Path], typer.Option(
        '--workdir', help='Where tool runs write their files. Default: the user cache dir.')] = None,
    keep_workdir: Annotated[bool, typer.Option(
        '--keep-workdir', help='Keep the files of successful runs too (failed ones are always kept).')] = False,
    no_progress: Annotated[bool, typer.Option('--no-progress', help='No progress bar.')] = False,
    as_json: Annotated[bool, typer.Option('--json', help='Print the run summary as JSON.')] = False,
) -> None:
    """Measure every operator at every precision, in each implementation, and store the results.

    Exit status 1 when some micro-benchmarks failed (stored as failures, retried by the next run);
    2 on a usage or tool error.
    """
    with cli_errors():
        from profiler.backends import load_backend, parse_backend_options
        from profiler.errors import ProfilerError
        from profiler.plans import DEFAULT_LUT_SIZES, make_plans, parse_lut_ranges, split_list
        from profiler.runner import profile_ops
        from profiler.store import CalibrationStore

        try:
            sizes = [int(s) for s in split_list(lut_sizes)] or list(DEFAULT_LUT_SIZES)
        except ValueError:
            raise ProfilerError(f'--lut-sizes must be integers, got {lut_sizes}') from None
        options = parse_backend_options(backend_opts)
        if backend == 'open':
            # micro-benchmark latency = da4ml pipeline stages; the RTL generator's latency is confirmed by
            # Verilator in `srcost synth` and the tests. Opt in per benchmark with verify_latency=true.
            options.setdefault('verify_latency', False)
        be = load_backend(backend, options)
        plans = make_plans(
            be.name, be.tool_version(), operators=split_list(ops) or None, precisions=split_list(precisions) or None,
            lut_sizes=sizes, lut_ranges=parse_lut_ranges(lut_ranges),
            implementations=split_list(implementations) or None, part=part, clock_period_ns=clock,
        )
        if not plans:
            raise ProfilerError('nothing to profile: the filters select no micro-benchmark')
        with CalibrationStore(db) as store:
            try:
                summary = profile_ops(
                    plans, store, backend, jobs=jobs, scheduler=scheduler, timeout_s=timeout, force=force,
                    batch_size=batch_size, workdir=workdir, keep_workdir=keep_workdir,
                    progress=not no_progress and not as_json, backend_options=options,
                )
            except KeyboardInterrupt:
                print(f'interrupted: {store.count()} results are stored in {store.path}; rerun to resume',
                      file=sys.stderr)
                raise typer.Exit(130) from None
    if as_json:
        print(json.dumps(summary.to_dict(), indent=2))
    else:
        print(f'{summary.total} micro-benchmarks: {summary.ok} ran OK, {summary.failed} failed, '
              f'{summary.skipped} already stored ({summary.duration_s:.1f} s; {summary.executor}; store {summary.db})')
        for f in summary.failures:
            log = f' (log: {f["log_path"]})' if f.get('log_path') and f['log_path'] not in f['error'] else ''
            print(f'  failed: {f["operator"]} [{f["implementation"]}] @ {f["precision"]}: {f["error"]}{log}')
    if summary.failed:
        print(f'error: {summary.failed} of {summary.ran} micro-benchmarks failed; they are stored as failures '
              f'and a rerun retries them (see `srcost ops --format table`)', file=sys.stderr)
        raise typer.Exit(1)


def import_calibration_cmd(
    file: Annotated[Path, typer.Argument(help='hls4sr-configs JSON or a CSV (part, precision, operator, latency_cycles).')],
    db: Annotated[Optional[Path], typer.Option('--db', help=_DB_HELP)] = None,
    backend: Annotated[str, typer.Option('--backend', help='Backend the numbers were measured with.')] = 'vivado_hls',
    tool_version: Annotated[str, typer.Option('--tool-version', help='Tool version the numbers were measured with.')] = '2020.1',
    clock: Annotated[Optional[float], typer.Option('--clock', help='Clock period in ns (default: the file\'s, else 5).')] = None,
    as_json: Annotated[bool, typer.Option('--json', help='Print the import summary as JSON.')] = False,
) -> None:
    """Import a published latency-only calibration (e.g. ../shared/calibration/*.csv) into the store."""
    with cli_errors():
        from profiler.calibration_io import read_calibration, store_calibration
        from profiler.store import CalibrationStore

        fmt, records = read_calibration(file, backend, tool_version, clock)  # a bad file opens no store
        with CalibrationStore(db) as store:
            s = store_calibration(file, fmt, records, store, backend, tool_version)
            path = store.path
    if as_json:
        print(json.dumps({**s.to_dict(), 'db': str(path)}, indent=2))
    else:
        print(f'imported {s.records} {s.backend} {s.tool_version} records ({len(s.precisions)} precisions) from {file} into {path}')


def ops_cmd(
    precision: Annotated[Optional[str], typer.Option('--precision', help='e.g. "ap_fixed<16,6>".')] = None,
    backend: Annotated[Optional[str], typer.Option('--backend', help='open, vivado_hls, ...')] = None,
    fmt: Annotated[str, typer.Option('--format', help='table, json, csv or pysr (complexity_of_operators).')] = 'table',
    implementation: Annotated[Optional[str], typer.Option(
        '--implementation', help='Only this implementation; for pysr: prefer it (e.g. lut1024).')] = None,
    tool_version: Annotated[Optional[str], typer.Option('--tool-version', help='Only this tool version.')] = None,
    part: Annotated[Optional[str], typer.Option('--part', help='Only this part.')] = None,
    clock: Annotated[Optional[float], typer.Option('--clock', help='Only this clock period (ns).')] = None,
    failed: Annotated[bool, typer.Option('--failed', help='Show only failed micro-benchmarks.')] = False,
    db: Annotated[Optional[Path], typer.Option('--db', help=_DB_HELP)] = None,
) -> None:
    """Print stored operator costs; ``--format pysr`` prints PySR's complexity_of_operators as JSON."""
    with cli_errors():
        from profiler.calibration_io import ops_records, records_to_csv, records_to_json, sort_records, to_pysr_complexity
        from profiler.errors import ProfilerError
        from profiler.store import STATUS_FAILED, CalibrationStore

        if fmt not in FORMATS:
            raise ProfilerError(f'unknown --format {fmt!r}; choose one of {", ".join(FORMATS)}')
        with CalibrationStore(db) as store:
            filters = dict(tool_version=tool_version, part=part, clock_period_ns=clock)
            if fmt == 'pysr':
                records = ops_records(store, precision, backend, **filters)
                if not records:
                    raise ProfilerError(_nothing_stored(precision, backend, store.path))
                print(json.dumps(to_pysr_complexity(records, implementation)))
                return
            records = sort_records(ops_records(store, precision, backend, implementation,
                                               status=STATUS_FAILED if failed else None, **filters))
        if fmt == 'csv':
            sys.stdout.write(records_to_csv(records))
        elif fmt == 'json':
            print(records_to_json(records))
        else:
            _print_table(records)


def _nothing_stored(precision, backend, path) -> str:
    what = ' '.join(x for x in (backend and f'backend {backend}', precision and f'precision {precision}') if x)
    return (f'no operator costs stored{" for " + what if what else ""} in {path}; run `srcost profile-ops` '
            f'or `srcost import-calibration FILE` first')


def _print_table(records) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(show_lines=False)
    cols = ('backend', 'precision', 'operator', 'implementation', 'status', 'latency', 'ii', 'lut', 'ff', 'dsp',
            'bram_18k', 'carry', 'clock_ns', 'err_max', 'err_mean')
    for c in cols:
        table.add_column(c, justify='right' if c not in ('backend', 'precision', 'operator', 'implementation', 'status') else 'left')

    def fmt(v, spec=''):
        return '' if v is None else format(v, spec)

    for r in records:
        table.add_row(
            escape(r.backend), escape(r.precision), escape(r.operator), escape(r.implementation),
            r.status if r.ok else f'[red]{r.status}[/]', fmt(r.latency_worst), fmt(r.ii), fmt(r.lut), fmt(r.ff),
            fmt(r.dsp), fmt(r.bram_18k), fmt(r.carry), fmt(r.clock_estimate_ns, '.2f'), fmt(r.error_max, '.3g'),
            fmt(r.error_mean, '.3g'),
        )
    console = Console(width=None if sys.stdout.isatty() else 200)
    console.print(table)
    for r in records:
        if not r.ok:
            first = (r.error or '').strip().splitlines()[:1]
            text = f'{r.operator} [{r.implementation}] @ {r.precision}: {first[0] if first else ""}'
            text += f' (log: {r.log_path})' if r.log_path and r.log_path not in text else ''
            console.print('[red]failed[/] ' + escape(text), highlight=False)
    if not records:
        print('no records match', file=sys.stderr)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command('profile-ops')(profile_ops_cmd)
    app.command('import-calibration')(import_calibration_cmd)
    app.command('ops')(ops_cmd)
