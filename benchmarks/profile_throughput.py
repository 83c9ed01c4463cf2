"""Throughput of ``srcost profile-ops``: the operator grid cold (empty store) and warm (rerun, all cached)
against the naive way (one synthesis process per micro-benchmark, one after another, as hls4ml's
``generate_operator_complexity`` does), on the same machine in the same run.

    python benchmarks/profile_throughput.py                      # the default grid (slow: real synthesis)
    python benchmarks/profile_throughput.py --ops +,*,sin --precisions 'ap_fixed<16,6>' --lut-sizes 256
    python benchmarks/profile_throughput.py --naive-sample 12    # time 12 naive runs, extrapolate the rest

The cold run includes what profile-ops does beyond synthesis (numeric-error emulation, the store); the
naive baseline only synthesizes, so the ratio is conservative. The warm time is the wall time of the
``srcost profile-ops`` command as a user runs it (a fresh Python process).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--ops', default=None, help='operators, comma-separated (default: all)')
    ap.add_argument('--precisions', default=None, help='precisions, comma-separated (default: the four default ones)')
    ap.add_argument('--lut-sizes', default='256,1024,4096')
    ap.add_argument('--implementations', default=None, help='e.g. native,lut1024 (default: all)')
    ap.add_argument('--backend', default='open', help='backend name or module:Class')
    ap.add_argument('--backend-opt', action='append', default=[], help='KEY=VALUE for the backend (repeatable)')
    ap.add_argument('--jobs', type=int, default=os.cpu_count(), help='profile-ops worker processes (default: core count)')
    ap.add_argument('--batch-size', type=int, default=None, help='designs per Yosys run (default: profile-ops\'s automatic choice)')
    ap.add_argument('--timeout', type=float, default=300.0, help='seconds per micro-benchmark')
    ap.add_argument('--naive-sample', type=int, default=0,
                    help='time only this many naive runs (spread over the grid) and extrapolate; 0: all of them')
    ap.add_argument('--skip-naive', action='store_true', help='only cold and warm')
    ap.add_argument('--workdir', default=None, help='scratch directory (default: a temporary one, removed)')
    ap.add_argument('--json', action='store_true', help='print the results as JSON')
    args = ap.parse_args(argv)

    from profiler.backends import load_backend, parse_backend_options
    from profiler.plans import make_plans, split_list
    from profiler.runner import profile_ops
    from profiler.store import CalibrationStore

    options = parse_backend_options(args.backend_opt)
    backend = load_backend(args.backend, options)
    version = backend.tool_version()
    plans = make_plans(backend.name, version, split_list(args.ops) or None, split_list(args.precisions) or None,
                       [int(s) for s in split_list(args.lut_sizes)], implementations=split_list(args.implementations) or None)
    tmp_ctx = tempfile.TemporaryDirectory(prefix='srcost-bench-') if args.workdir is None else None
    root = Path(args.workdir or tmp_ctx.name)
    root.mkdir(parents=True, exist_ok=True)
    db = root / 'bench.db'
    cli_args = ['profile-ops', '--backend', args.backend, '--db', str(db), '--jobs', str(args.jobs), '--json',
                '--lut-sizes', args.lut_sizes, '--timeout', str(args.timeout)]
    for opt in args.backend_opt:
        cli_args += ['--backend-opt', opt]
    for flag, value in (('--ops', args.ops), ('--precisions', args.precisions), ('--implementations', args.implementations)):
        if value:
            cli_args += [flag, value]
    print(f'{len(plans)} micro-benchmarks on {args.backend} ({version}); {args.jobs} jobs; {os.cpu_count()} cores',
          file=sys.stderr)

    # cold: empty store, the library call profile-ops makes
    t0 = time.perf_counter()
    with CalibrationStore(db) as store:
        cold = profile_ops(plans, store, args.backend, jobs=args.jobs, timeout_s=args.timeout,
                           workdir=root / 'cold', progress=sys.stderr.isatty(), backend_options=options,
                           batch_size=args.batch_size)
    cold_s = time.perf_counter() - t0
    print(f'cold: {cold_s:.1f} s ({cold.ok} ok, {cold.failed} failed, {cold.batches} batches)', file=sys.stderr)

    # warm: the command a user reruns, everything cached
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, '-c', 'from srcost.cli import app; app()', *cli_args], cwd=REPO,
                          capture_output=True, text=True, env={**os.environ, 'PYTHONPATH': os.pathsep.join(
                              p for p in (str(REPO), os.environ.get('PYTHONPATH')) if p)})
    warm_s = time.perf_counter() - t0
    warm = json.loads(proc.stdout) if proc.stdout.strip().startswith('{') else {}
    print(f'warm: {warm_s:.2f} s (skipped {warm.get("skipped")}, exit {proc.returncode})', file=sys.stderr)

    # naive: one backend call (one tool process) per micro-benchmark, one after another
    naive = None
    if not args.skip_naive:
        sample = plans
        if args.naive_sample and args.naive_sample < len(plans):
            step = len(plans) / args.naive_sample
            sample = [plans[int(i * step)] for i in range(args.naive_sample)]
        failures = 0
        t0 = time.perf_counter()
        for i, plan in enumerate(sample):
            try:
                backend.synthesize([plan.design], root / 'naive' / f'{i:04d}', timeout_s=args.timeout)
            except Exception as e:  # noqa: BLE001 - counted, as hls4ml's loop would crash or go on
                failures += 1
                print(f'naive: {plan.label} failed: {str(e).splitlines()[0]}', file=sys.stderr)
        measured = time.perf_counter() - t0
        naive = {
            'measured_s': round(measured, 2), 'runs': len(sample), 'failed': failures,
            'total_s': round(measured * len(plans) / len(sample), 2),
            'extrapolated': len(sample) < len(plans),
        }
        print(f'naive: {measured:.1f} s for {len(sample)} runs'
              + (f', extrapolated to {naive["total_s"]:.1f} s for {len(plans)}' if naive['extrapolated'] else ''),
              file=sys.stderr)

    result = {
        'micro_benchmarks': len(plans), 'backend': args.backend, 'backend_options': options,
        'tool_version': version, 'jobs': args.jobs,
        'cores': os.cpu_count(), 'cold_s': round(cold_s, 2), 'cold_ok': cold.ok, 'cold_failed': cold.failed,
        'cold_batches': cold.batches, 'batch_size': args.batch_size, 'warm_s': round(warm_s, 2), 'warm_skipped': warm.get('skipped'),
        'naive': naive, 'speedup_cold_vs_naive': round(naive['total_s'] / cold_s, 2) if naive else None,
        'speedup_warm_vs_naive': round(naive['total_s'] / warm_s, 1) if naive else None,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f'\n{len(plans)} micro-benchmarks, {args.backend}, {args.jobs} jobs on {os.cpu_count()} cores')
        print(f'  cold (empty store):       {cold_s:9.1f} s   ({cold.ok} ok, {cold.failed} failed)')
        print(f'  warm (all cached):        {warm_s:9.2f} s')
        if naive:
            label = f' (extrapolated from {naive["runs"]} runs)' if naive['extrapolated'] else ''
            print(f'  naive (1 process each):   {naive["total_s"]:9.1f} s{label}')
            print(f'  naive / cold:             {result["speedup_cold_vs_naive"]:9.2f} x')
    if tmp_ctx is not None:
        tmp_ctx.cleanup()
    return 0 if cold.failed == 0 and proc.returncode == 0 else 1


if __name__ == '__main__':
    sys.exit(main())
