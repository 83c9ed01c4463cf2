"""The shipped open-backend cost model on a fresh set of random expressions, synthesized now.

Designs come from the same generator as the training set (SR-shaped trees, 1 to 40 nodes, 1 to 16 inputs,
LUT and native functions, single- and multi-output) but from a seed the training set never used, so none
of them was seen in training. Each is synthesized on the open backend (batches in parallel worker
processes); then the additive (PySR-style per-node sum), analytic and shipped learned models predict
them, and the script prints the issue's acceptance figures per target.

    python benchmarks/costmodel_fresh.py [--n 100] [--seed 20261201] [--jobs 2] [--out fresh.csv] [--json]

``--out`` keeps the synthesis results: a rerun with the same file synthesizes only what is missing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FRESH_SEED = 20261201  # the shipped training set uses seed 0
CHUNK = 4  # designs per Yosys run


def synthesize_chunk(args: tuple[int, int, int]) -> list[dict]:
    """Worker: synthesize designs ``start .. start+n-1`` of the fresh stream; one row per design."""
    seed, start, n = args
    from costmodel.generator import generate_designs
    from costmodel.training import BackendRunner

    designs = generate_designs(n, seed, start=start)
    t0 = time.perf_counter()
    results = BackendRunner('open', batch_size=n)(designs)
    dt = (time.perf_counter() - t0) / max(n, 1)
    rows = []
    for i, (d, r) in enumerate(zip(designs, results)):
        row = {'index': start + i, 'design_digest': d.digest(), 'seconds': round(dt, 2)}
        if isinstance(r, Exception):
            row.update(status='failed', error=f'{type(r).__name__}: {str(r).splitlines()[0] if str(r) else ""}')
        else:
            row.update(status='ok', latency_cycles=r.latency_cycles, ii=r.ii, lut=r.lut, ff=r.ff, dsp=r.dsp,
                       bram_18k=r.bram_18k)
        rows.append(row)
    return rows


def synthesize(n: int, seed: int, jobs: int, out: Path | None) -> pd.DataFrame:
    have = pd.read_csv(out) if out and out.exists() else pd.DataFrame(columns=['index'])
    done = set(have['index'].astype(int)) if len(have) else set()
    todo = [i for i in range(n) if i not in done]
    chunks = [(seed, s, len(run)) for s, run in _runs(todo, CHUNK)]
    rows = [] if not len(have) else have.to_dict('records')
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        for k, part in enumerate(pool.map(synthesize_chunk, chunks), 1):
            rows.extend(part)
            print(f'synthesized chunk {k}/{len(chunks)}', file=sys.stderr, flush=True)
            if out:
                pd.DataFrame(rows).to_csv(out, index=False)
    df = pd.DataFrame(rows).sort_values('index').reset_index(drop=True)
    return df[df['index'] < n].reset_index(drop=True)


def _runs(indices: list[int], size: int):
    """Consecutive indices in runs of at most ``size``: (start, [indices])."""
    run: list[int] = []
    for i in indices:
        if run and (i != run[-1] + 1 or len(run) == size):
            yield run[0], run
            run = []
        run.append(i)
    if run:
        yield run[0], run


def evaluate(df: pd.DataFrame, seed: int) -> dict:
    from costmodel.api import get_model
    from costmodel.evaluation import TARGETS, compare, error_ratio
    from costmodel.generator import generate_designs

    ok = df[df['status'] == 'ok'].reset_index(drop=True)
    designs = [generate_designs(1, seed, start=int(i))[0] for i in ok['index']]
    assert [d.digest() for d in designs] == list(ok['design_digest']), 'generator stream changed'
    actual = ok[list(TARGETS)].astype(float)
    preds = {kind: get_model(kind, 'open').predict(designs) for kind in ('additive', 'analytic', 'learned')}
    metrics = compare(preds, actual)
    ratios = error_ratio(metrics, 'learned', 'additive')
    worst = {}
    for t in ('lut', 'ff'):  # where the learned model's MAPE comes from
        a, p = actual[t].to_numpy(), preds['learned'][t].to_numpy()
        ape = abs(p - a) / np.maximum(a, 1)
        order = np.argsort(-ape)[:3]
        worst[t] = {'median_ape': float(np.median(ape)),
                    'designs': [{'index': int(ok['index'][k]), 'actual': float(a[k]), 'predicted': round(float(p[k]), 1),
                                 'ape': round(float(ape[k]), 3)} for k in order]}
    return {'n_designs': len(df), 'n_ok': len(ok), 'n_failed': int((df['status'] != 'ok').sum()), 'worst': worst,
            'metrics': json.loads(metrics.to_json(orient='records')),
            'learned_over_additive': json.loads(ratios.rename_axis('target').reset_index().to_json(orient='records'))}


def acceptance(res: dict) -> list[tuple[str, float, str, bool]]:
    """The issue's lines for the learned model: (what, value, target, met)."""
    m = {(r['target']): r for r in res['metrics'] if r['model'] == 'learned'}
    ratio = {r['target']: r['mae_ratio'] for r in res['learned_over_additive']}
    lines = [('latency exact', m['latency_cycles']['exact'], '>= 0.97', m['latency_cycles']['exact'] >= 0.97),
             ('LUT MAPE', m['lut']['mape'], '<= 0.12', m['lut']['mape'] <= 0.12),
             ('FF MAPE', m['ff']['mape'], '<= 0.12', m['ff']['mape'] <= 0.12),
             ('DSP exact', m['dsp']['exact'], '>= 0.97', m['dsp']['exact'] >= 0.97),
             ('BRAM exact', m['bram_18k']['exact'], '>= 0.97', m['bram_18k']['exact'] >= 0.97)]
    for t in ('latency_cycles', 'lut', 'ff', 'dsp'):
        s = m[t]['spearman']
        lines.append((f'{t} Spearman', s, '>= 0.9', s is not None and s >= 0.9))
    for t, r in sorted(ratio.items()):
        if t in ('ii', 'bram_18k') and r == 0:
            continue  # both exact
        lines.append((f'{t} MAE learned/additive', r, '<= 0.5', r is not None and r <= 0.5))
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--n', type=int, default=100, help='fresh designs (default 100)')
    ap.add_argument('--seed', type=int, default=FRESH_SEED, help=f'generator seed (default {FRESH_SEED}; training used 0)')
    ap.add_argument('--jobs', type=int, default=os.cpu_count(), help='worker processes (default: core count)')
    ap.add_argument('--out', type=Path, default=None, help='CSV of synthesis results (reused and extended)')
    ap.add_argument('--json', action='store_true')
    a = ap.parse_args(argv)
    if a.seed == 0:
        ap.error('seed 0 is the training set: choose another')
    t0 = time.perf_counter()
    df = synthesize(a.n, a.seed, a.jobs, a.out)
    synth_s = time.perf_counter() - t0
    res = evaluate(df, a.seed) | {'seed': a.seed, 'synthesis_wall_s': round(synth_s, 1)}
    res['acceptance'] = [{'what': w, 'value': v, 'target': t, 'met': bool(ok)} for w, v, t, ok in acceptance(res)]
    if a.json:
        print(json.dumps(res, indent=1))
        return 0
    print(f'{res["n_ok"]} fresh designs synthesized ({res["n_failed"]} failed), seed {a.seed}'
          + (f'; this run synthesized for {synth_s:.0f} s wall' if synth_s >= 1 else '; all read from --out'))
    print(f'{"target":<15} {"model":<9} {"MAE":>9} {"MAPE":>7} {"R2":>7} {"Spearman":>9} {"exact":>6}')
    for r in res['metrics']:
        if r['target'] == 'ii':
            continue
        f = lambda v, p: '-' if v is None else f'{v:.{p}f}'  # noqa: E731
        print(f'{r["target"]:<15} {r["model"]:<9} {f(r["mae"], 2):>9} {f(r["mape"], 3):>7} {f(r["r2"], 3):>7} '
              f'{f(r["spearman"], 3):>9} {f(r["exact"], 3):>6}')
    for t, w in res['worst'].items():
        print(f'{t}: median APE {w["median_ape"]:.3f}; largest: '
              + ', '.join(f'#{d["index"]} {d["actual"]:g} vs {d["predicted"]:g} ({d["ape"]:.2f})' for d in w['designs']))
    print('\nacceptance (learned model):')
    for line in res['acceptance']:
        print(f'  {line["what"]:<32} {line["value"]:.3f}  target {line["target"]:<8} {"met" if line["met"] else "NOT met"}')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
