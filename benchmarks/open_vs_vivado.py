"""The open backend against real Vivado HLS 2020.1 reports: every design of ``../shared/fixtures/vivado_hls*``.

Each design (its expressions, precision and LUT specs, as ``costmodel.vivado_reports`` reads them) is
synthesized on the open backend in a fresh process of its own, stopped after ``--timeout`` seconds; the
script prints each design's synthesis time and numbers beside Vivado's, then per metric (latency, LUT,
FF, DSP, BRAM) the Spearman rank correlation over the designs (``scipy.stats.spearmanr``) and the median
and spread (10th-90th percentile) of Vivado / open over the designs where both are non-zero.

    python benchmarks/open_vs_vivado.py [--timeout 300] [--rom-style auto] [--only NAME ...] [--json]

Needs ``../shared`` (or ``$SRCOST_SHARED``); without it the script says so and exits 2.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

GRACE_S = 30.0
METRICS = (('latency', 'latency_worst'), ('lut', 'lut'), ('ff', 'ff'), ('dsp', 'dsp'), ('bram_18k', 'bram_18k'))


def synthesize_one(name: str, rom_style: str, timeout: float) -> dict:
    """In the worker process: synthesize the shared design ``name``; its open-backend numbers."""
    from costmodel.vivado_reports import shared_reports
    from hls_gen.backends import get_backend

    report = next(r for r in shared_reports() if r.name == name)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix='srcost-ovv-') as work:
        r = get_backend('open', rom_style=rom_style).synthesize([report.design], Path(work), timeout_s=timeout)[0]
    return {'seconds': round(time.perf_counter() - t0, 1), **{k: getattr(r, f) for k, f in METRICS}}


def run_one(name: str, rom_style: str, timeout: float) -> dict:
    """The worker stops itself at ``timeout`` (the backend's deadline names the stage); its process group is
    killed ``GRACE_S`` later if it has not (a stage in Python that does not return)."""
    t0 = time.perf_counter()
    cmd = [sys.executable, __file__, '--worker', name, '--rom-style', rom_style, '--timeout', str(timeout)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout + GRACE_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return {'status': 'timeout (killed)', 'seconds': round(time.perf_counter() - t0, 1)}
    seconds = round(time.perf_counter() - t0, 1)
    if proc.returncode != 0:
        tail = (err.strip().splitlines() or ['no output'])[-1]
        status = 'timeout' if 'SynthesisTimeout' in tail else 'failed'
        return {'status': status, 'detail': tail[:300], 'seconds': seconds}
    return {'status': 'ok', **json.loads(out.strip().splitlines()[-1]), 'seconds': seconds}


def summary(rows: list[dict]) -> dict:
    from scipy.stats import spearmanr

    ok = [r for r in rows if r['status'] == 'ok']
    out = {}
    for k, _ in METRICS:
        viv = np.array([r['vivado'][k] for r in ok], dtype=float)
        opn = np.array([r['open'][k] for r in ok], dtype=float)
        rho = spearmanr(viv, opn).statistic if len(ok) > 2 and np.ptp(viv) > 0 and np.ptp(opn) > 0 else float('nan')
        both = (viv > 0) & (opn > 0)
        ratio = viv[both] / opn[both]
        out[k] = {
            'spearman': round(float(rho), 3),
            'ratio_median': round(float(np.median(ratio)), 2) if both.any() else None,
            'ratio_p10': round(float(np.percentile(ratio, 10)), 2) if both.any() else None,
            'ratio_p90': round(float(np.percentile(ratio, 90)), 2) if both.any() else None,
            'n_ratio': int(both.sum()),
            'exact': int(np.sum(viv == opn)),
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--timeout', type=float, default=300.0, help='seconds per design (the whole synthesis)')
    ap.add_argument('--rom-style', default='auto', choices=('auto', 'block', 'distributed'))
    ap.add_argument('--only', nargs='*', default=None, help='report folder names to run')
    ap.add_argument('--json', action='store_true')
    ap.add_argument('--worker', help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        print(json.dumps(synthesize_one(a.worker, a.rom_style, a.timeout)))
        return

    from costmodel.vivado_reports import shared_reports

    reports = [r for r in shared_reports() if not a.only or r.name in a.only]
    if not reports:
        print('no shared Vivado reports: ../shared/fixtures/vivado_hls* is absent (set SRCOST_SHARED)', file=sys.stderr)
        raise SystemExit(2)
    rows = []
    for rep in reports:
        res = run_one(rep.name, a.rom_style, a.timeout)
        row = {'name': rep.name, 'variant': rep.variant, 'precision': rep.precision, 'status': res.pop('status'),
               'seconds': res.pop('seconds'), 'vivado': {k: getattr(rep, k) for k, _ in METRICS},
               'detail': res.pop('detail', ''), 'open': res}
        rows.append(row)
        if not a.json:
            o = row['open']
            got = (' '.join(f'{k}={o[k]}/{row["vivado"][k]}' for k, _ in METRICS) if row['status'] == 'ok'
                   else f'{row["status"]}: {row["detail"]}')
            print(f'{rep.name:38s} {row["seconds"]:7.1f} s  {got}  (open/vivado)', flush=True)
    result = {'rom_style': a.rom_style, 'timeout_s': a.timeout, 'designs': rows, 'n': len(rows),
              'n_ok': sum(r['status'] == 'ok' for r in rows), 'n_timeout': sum(r['status'].startswith('timeout') for r in rows),
              'max_seconds': max(r['seconds'] for r in rows), 'metrics': summary(rows)}
    if a.json:
        print(json.dumps(result, indent=1))
        return
    print(f'\n{result["n_ok"]} of {result["n"]} synthesized, {result["n_timeout"]} timed out (limit {a.timeout:.0f} s); '
          f'slowest {result["max_seconds"]:.1f} s')
    print(f'{"metric":10s} {"spearman":>9s} {"viv/open median":>16s} {"p10-p90":>14s} {"exact":>6s}')
    for k, m in result['metrics'].items():
        spread = f'{m["ratio_p10"]}-{m["ratio_p90"]}' if m['n_ratio'] else '-'
        print(f'{k:10s} {m["spearman"]:9.3f} {str(m["ratio_median"]):>16s} {spread:>14s} {m["exact"]:>4d}/{result["n_ok"]}')


if __name__ == '__main__':
    main()
