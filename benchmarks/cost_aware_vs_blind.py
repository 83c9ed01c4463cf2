"""Cost-aware against cost-blind and the paper's latency-aware search, measured as firmware.

For each problem, the operon engine runs four searches with the same seed: ``--objective lut`` (the learned cost
model's LUTs), ``--objective latency`` (its cycles, ties broken by LUTs), ``--objective complexity`` (node count:
cost-blind) and ``--objective additive`` (the paper's latency-aware training: per-operator cycles from the
published Vivado HLS table, summed over the nodes). All four optimize the firmware loss (the bit-accurate
fixed-point output at the design precision). They run twice: at equal wall time (``--budget`` seconds, one core
each) and at equal evaluations (``--generations`` generations of 500 individuals each). Every member of every front is synthesized
on the open backend and emulated bit-accurately on the held-out quarter of the rows (members whose held-out firmware
R2 is below the lowest level cannot enter the table and are not synthesized). Per firmware-R2 level, the table
gives each search's cheapest member reaching it (fewest measured LUTs, then cycles): cycles / LUTs.

The problems: the three formulas of ``_common.PROBLEMS`` (8 inputs uniform on [-2, 2], firmware R2 levels 0.9 /
0.99 / 0.999) and ``jets-top``, top-quark jets against light-quark jets of the shipped Pythia 8 + FastJet set (16
standardized features, target +1 / -1, as ``srcost search --task classification`` fits each class), whose levels
are the firmware's held-out accuracy (output > 0 means top): 0.8 / 0.85 / 0.9.

    python benchmarks/cost_aware_vs_blind.py [--budget 30] [--generations 20] [--rows 4000] [--json out.json]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import PROBLEMS, problem_data

LEVELS = (0.9, 0.99, 0.999)
JET_LEVELS = (0.8, 0.85, 0.9)
JET_PROBLEM = 'jets-top'
SEARCHES = ('lut', 'latency', 'complexity', 'additive')
MODES = ('time', 'generations')


@functools.cache  # read once per process: every front member is scored on the same rows
def task_data(name: str, rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(X, y) of a problem: a formula's, or for ``jets-top`` the first ``rows`` top and light-quark jets of the
    shipped set (its standardized features; y = +1 for top, -1 for light quark)."""
    if name != JET_PROBLEM:
        return problem_data(name, rows, seed)
    from sr_search.data import load_jets_sample

    data = load_jets_sample()
    X = np.vstack([data.X_train, data.X_test])
    y = np.concatenate([data.y_train, data.y_test])
    t, q = data.classes.index('t'), data.classes.index('q')
    keep = np.flatnonzero((y == t) | (y == q))
    keep = np.random.default_rng(seed).permutation(keep)[:rows]
    return X[keep], np.where(y[keep] == t, 1.0, -1.0)


def levels_of(name: str) -> tuple[float, ...]:
    return JET_LEVELS if name == JET_PROBLEM else LEVELS


def score(name: str, y: np.ndarray, q: np.ndarray) -> float:
    """The level metric of firmware outputs ``q``: held-out accuracy for the jet task, R2 otherwise."""
    from sklearn.metrics import r2_score

    return float(np.mean((q > 0) == (y > 0))) if name == JET_PROBLEM else float(r2_score(y, q))


def search_one(args: tuple) -> dict:
    """Worker: one search (one core: operon runs single-threaded), its front as expressions."""
    name, objective, mode, budget, generations, rows, seed, precision = args
    from sr_search.estimator import CostAwareRegressor

    X, y = task_data(name, rows, seed)
    n_train = len(y) * 3 // 4
    reg = CostAwareRegressor(
        binary_operators=['+', '-', '*'], unary_operators=['sin', 'cos', 'exp'], maxsize=25,
        generations=100000 if mode == 'time' else generations, budget_seconds=budget if mode == 'time' else None,
        random_state=seed, objective=objective, precision=precision,
    )
    t0 = time.perf_counter()
    reg.fit(X[:n_train], y[:n_train])
    return {'problem': name, 'objective': objective, 'mode': mode, 'fit_seconds': time.perf_counter() - t0,
            'evaluations': reg.stats_['evaluations'],
            'expressions': [m.expression for m in reg.front_], 'float_r2': [m.metrics.get('float_r2') for m in reg.front_]}


def synth_chunk(args: tuple) -> list[dict]:
    """Worker: synthesize expressions on the open backend (one Yosys run) and emulate each bit-accurately on the
    problem's held-out rows (the R2 of the firmware that was measured)."""
    items, precision, rows, seed = args
    from hls_gen import Design
    from hls_gen.backends import get_backend
    from hls_gen.emulate import emulate

    backend = get_backend('open', verify_latency=False)
    data = {name: task_data(name, rows, seed) for name in {p for p, _ in items}}
    designs = [Design.build([e], precision, n_inputs=data[p][0].shape[1], name=f'm{i}') for i, (p, e) in enumerate(items)]
    with tempfile.TemporaryDirectory() as tmp:
        results = backend.synthesize(designs, Path(tmp), timeout_s=3600)
    out = []
    for d, r, (name, _) in zip(designs, results, items):
        X, y = data[name]
        n_train = len(y) * 3 // 4
        try:
            r2 = score(name, y[n_train:], emulate(d, X[n_train:], 'trace')[:, 0])
        except Exception:  # noqa: BLE001 - a design the emulator cannot run has no firmware accuracy
            r2 = float('-inf')
        out.append({'latency': r.latency_cycles, 'lut': r.lut, 'ff': r.ff, 'dsp': r.dsp, 'firmware_r2': r2,
                    'ok': r.ok if hasattr(r, 'ok') else True})
    return out


def held_out_firmware_r2(problem: str, expr: str, rows: int, seed: int, precision: str) -> float:
    """The level metric (R2, or accuracy for the jet task) of ``expr`` as firmware on the held-out rows."""
    from costmodel.fxeval import evaluate_expressions

    X, y = task_data(problem, rows, seed)
    n_train = len(y) * 3 // 4
    try:
        return score(problem, y[n_train:], evaluate_expressions([expr], X[n_train:], precision)[:, 0])
    except Exception:  # noqa: BLE001 - not computable as firmware
        return float('-inf')


def run(budget: float, generations: int, rows: int, seed: int, precision: str, jobs: int,
        problems=(*PROBLEMS, JET_PROBLEM)) -> list[dict]:
    """The searches (``jobs`` at a time, one core each), then every member that reaches the lowest level as
    firmware on the held-out rows is synthesized (the others cannot appear in the table)."""
    from concurrent.futures import ProcessPoolExecutor

    tasks = [(name, obj, mode, budget, generations, rows, seed, precision)
             for mode in MODES for name in problems for obj in SEARCHES]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        fronts = list(pool.map(search_one, tasks))
        r2 = {(f['problem'], e): held_out_firmware_r2(f['problem'], e, rows, seed, precision)
              for f in fronts for e in f['expressions']}
        unique = sorted(k for k, v in r2.items() if v >= min(levels_of(k[0])))
        chunks = [unique[i::2 * jobs] for i in range(2 * jobs)]
        synthesized = list(pool.map(synth_chunk, [(c, precision, rows, seed) for c in chunks if c]))
    measured = {item: r for c, res in zip([c for c in chunks if c], synthesized) for item, r in zip(c, res)}
    none = {'latency': None, 'lut': None, 'ff': None, 'dsp': None}
    return [{'problem': f['problem'], 'objective': f['objective'], 'mode': f['mode'], 'expression': e,
             'evaluations': f['evaluations'], 'fit_seconds': f['fit_seconds'], 'float_r2': fr,
             **measured.get((f['problem'], e), {**none, 'firmware_r2': r2[(f['problem'], e)]})}
            for f in fronts for e, fr in zip(f['expressions'], f['float_r2'])]


def table(rows: list[dict], mode: str) -> list[dict]:
    lines = []
    for name in dict.fromkeys(r['problem'] for r in rows):
        for level in levels_of(name):
            line = {'problem': name, 'r2_at_least': level}
            for obj in SEARCHES:
                ok = [r for r in rows if r['problem'] == name and r['objective'] == obj and r['mode'] == mode
                      and r['firmware_r2'] >= level]
                best = min(ok, key=lambda r: (r['lut'], r['latency'])) if ok else None
                line[obj] = (best['latency'], best['lut']) if best else None
            lines.append(line)
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--budget', type=float, default=30.0, help='search seconds per front at equal wall time')
    ap.add_argument('--generations', type=int, default=20,
                    help='generations per front at equal evaluations (500 individuals each, after 500 initial ones)')
    ap.add_argument('--rows', type=int, default=4000)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--precision', default='ap_fixed<16,6>')
    ap.add_argument('--jobs', type=int, default=os.cpu_count(), help='searches / syntheses at a time (one core each)')
    ap.add_argument('--problems', default=','.join([*PROBLEMS, JET_PROBLEM]),
                    help='comma-separated subset of ' + ', '.join([*PROBLEMS, JET_PROBLEM]))
    ap.add_argument('--json', type=Path)
    a = ap.parse_args()
    problems = tuple(p for p in a.problems.split(',') if p)
    rows = run(a.budget, a.generations, a.rows, a.seed, a.precision, a.jobs, problems)
    print(f'{a.rows} rows (3/4 train), {a.precision}, open backend; cell: measured cycles / LUTs of the member with the '
          f'fewest LUTs reaching the held-out firmware R2 level ({JET_PROBLEM}: accuracy level) (- : none)')
    out = {}
    for mode in MODES:
        what = (f'equal wall time ({a.budget:g} s, one core each)' if mode == 'time'
                else f'equal evaluations ({a.generations} generations: {500 * (a.generations + 1)} individuals)')
        print(f'\n{what}')
        for name in problems:
            sizes = {o: sum(1 for r in rows if r['problem'] == name and r['objective'] == o and r['mode'] == mode) for o in SEARCHES}
            evals = {o: next((r['evaluations'] for r in rows if r['problem'] == name and r['objective'] == o and r['mode'] == mode), 0)
                     for o in SEARCHES}
            print(f'  {name}: front sizes {sizes}, individuals {evals}')
        print(f'{"problem":<10} {"R2>=":>6} | ' + ' | '.join(f'{o:>14}' for o in SEARCHES))
        lines = table(rows, mode)
        out[mode] = lines
        for ln in lines:
            cells = ['-' if ln[o] is None else f'{ln[o][0]} / {ln[o][1]:g}' for o in SEARCHES]
            print(f'{ln["problem"]:<10} {ln["r2_at_least"]:>6} | ' + ' | '.join(f'{c:>14}' for c in cells))
    if a.json:
        a.json.write_text(json.dumps({'rows': rows, 'tables': out}, indent=2))


if __name__ == '__main__':
    main()
