"""Cost-aware against cost-blind search at the same time budget, measured on real synthesis.

For each problem, the operon engine runs twice with the same seed and budget (one core each): ``--objective latency``
(the cost model's predicted cycles) and ``--objective complexity`` (node count, cost-blind). Every member
of both fronts is synthesized on the open backend. For each accuracy level (test R2) the tables show the
measured latency and LUT count of the cheapest member reaching it (cheapest by measured latency, then LUT): once
with the R2 of the bit-accurate firmware (what was synthesized: constants and overflow as in fixed point), once
with the R2 of the float formula.

    python benchmarks/cost_aware_vs_blind.py [--budget 40] [--rows 4000] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from _common import PROBLEMS, problem_data

LEVELS = (0.9, 0.99, 0.999)


def search_one(args: tuple) -> dict:
    """Worker: one search (one core: operon runs single-threaded), its front as expressions."""
    name, objective, budget, rows, seed, precision = args
    from sr_search.estimator import CostAwareRegressor

    X, y = problem_data(name, rows, seed)
    n_train = rows * 3 // 4
    reg = CostAwareRegressor(
        binary_operators=['+', '-', '*'], unary_operators=['sin', 'cos', 'exp'], maxsize=25,
        generations=100000, budget_seconds=budget, random_state=seed, objective=objective, precision=precision,
    )
    t0 = time.perf_counter()
    reg.fit(X[:n_train], y[:n_train])
    return {'problem': name, 'objective': objective, 'fit_seconds': time.perf_counter() - t0,
            'expressions': [m.expression for m in reg.front_]}


def synth_chunk(args: tuple) -> list[dict]:
    """Worker: synthesize front members on the open backend (one Yosys run) and emulate each bit-accurately
    on the problem's test rows (the fixed-point R2 is that of the firmware that was measured)."""
    exprs, problems, precision, rows, seed = args
    from sklearn.metrics import r2_score

    from hls_gen import Design
    from hls_gen.backends import get_backend
    from hls_gen.emulate import emulate

    backend = get_backend('open', verify_latency=False)
    designs = [Design.build([e], precision, n_inputs=8, name=f'm{i}') for i, e in enumerate(exprs)]
    with tempfile.TemporaryDirectory() as tmp:
        results = backend.synthesize(designs, Path(tmp), timeout_s=3600)
    out = []
    n_train = rows * 3 // 4
    data = {name: problem_data(name, rows, seed) for name in set(problems)}
    for d, r, name in zip(designs, results, problems):
        X, y = data[name]
        try:
            fixed = emulate(d, X[n_train:], 'trace')[:, 0]
            r2_fixed = float(r2_score(y[n_train:], fixed))
        except Exception:  # noqa: BLE001 - a design the emulator cannot run has no fixed-point accuracy
            r2_fixed = float('-inf')
        out.append({'latency': r.latency_cycles, 'lut': r.lut, 'ff': r.ff, 'dsp': r.dsp, 'test_r2_fixed': r2_fixed})
    return out


def run(budget: float, rows: int, seed: int, precision: str, jobs: int) -> list[dict]:
    """Every search gets one core and the same budget (``jobs`` searches at a time); then every member of
    every front is synthesized (``jobs`` Yosys runs at a time)."""
    from concurrent.futures import ProcessPoolExecutor

    from hls_gen import Expression
    from sklearn.metrics import r2_score

    tasks = [(name, objective, budget, rows, seed, precision) for name in PROBLEMS for objective in ('latency', 'complexity')]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        fronts = list(pool.map(search_one, tasks))
        members = [(f, e) for f in fronts for e in f['expressions']]
        chunks = [members[i::2 * jobs] for i in range(2 * jobs)]
        synthesized = list(pool.map(synth_chunk, [([e for _, e in c], [f['problem'] for f, _ in c], precision, rows, seed)
                                                  for c in chunks]))
    measured = {}
    for c, res in zip(chunks, synthesized):
        for (f, e), r in zip(c, res):
            measured[(f['problem'], f['objective'], e)] = r
    out = []
    n_train = rows * 3 // 4
    for f in fronts:
        X, y = problem_data(f['problem'], rows, seed)
        for e in f['expressions']:
            pred = Expression.parse(e).evaluate(X[n_train:])
            r2 = float(r2_score(y[n_train:], pred)) if np.all(np.isfinite(pred)) else float('-inf')
            out.append({'problem': f['problem'], 'truth': PROBLEMS[f['problem']][0], 'objective': f['objective'],
                        'expression': e, 'test_r2_float': r2, **measured[(f['problem'], f['objective'], e)],
                        'fit_seconds': f['fit_seconds']})
    return out


def table(rows: list[dict], accuracy: str = 'test_r2_fixed') -> list[dict]:
    """Per problem and accuracy level, the cheapest member (by measured latency, then LUTs) of each search whose
    ``accuracy`` (``test_r2_fixed``: of the bit-accurate firmware; ``test_r2_float``: of the float formula)
    reaches the level."""
    lines = []
    for name in PROBLEMS:
        for level in LEVELS:
            line = {'problem': name, 'r2_at_least': level}
            for objective in ('latency', 'complexity'):
                ok = [r for r in rows if r['problem'] == name and r['objective'] == objective and r[accuracy] >= level]
                best = min(ok, key=lambda r: (r['latency'], r['lut'])) if ok else None
                line[f'{objective}_latency'] = best['latency'] if best else None
                line[f'{objective}_lut'] = best['lut'] if best else None
            lines.append(line)
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--budget', type=float, default=40.0, help='search seconds per front')
    ap.add_argument('--rows', type=int, default=4000)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--precision', default='ap_fixed<16,6>')
    ap.add_argument('--jobs', type=int, default=os.cpu_count(), help='searches / syntheses at a time (one core each)')
    ap.add_argument('--json', type=Path)
    a = ap.parse_args()
    rows = run(a.budget, a.rows, a.seed, a.precision, a.jobs)
    tables = {acc: table(rows, acc) for acc in ('test_r2_fixed', 'test_r2_float')}
    print(f'budget {a.budget:g} s per front (one core each), {a.rows} rows, {a.precision}, open backend (measured cycles / LUTs)')
    for name in PROBLEMS:
        n = {o: sum(1 for r in rows if r['problem'] == name and r['objective'] == o) for o in ('latency', 'complexity')}
        print(f'  {name}: front sizes cost-aware {n["latency"]}, blind {n["complexity"]}')
    for acc, lines in tables.items():
        what = 'the bit-accurate firmware' if acc == 'test_r2_fixed' else 'the float formula (what the search optimizes)'
        print(f'\naccuracy = test R2 of {what}')
        print(f'{"problem":<10} {"R2>=":>6} | {"cost-aware lat":>14} {"LUT":>6} | {"blind lat":>9} {"LUT":>6}')
        for ln in lines:
            f = lambda v: '-' if v is None else str(v)  # noqa: E731
            print(f'{ln["problem"]:<10} {ln["r2_at_least"]:>6} | {f(ln["latency_latency"]):>14} {f(ln["latency_lut"]):>6} | '
                  f'{f(ln["complexity_latency"]):>9} {f(ln["complexity_lut"]):>6}')
    if a.json:
        a.json.write_text(json.dumps({'rows': rows, 'tables': tables}, indent=2))


if __name__ == '__main__':
    main()
