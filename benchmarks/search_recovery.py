"""Does ``srcost search`` recover a known formula, in time, and do its front's costs equal ``srcost predict``?

The problem: y = 2.5*x0*x1 - sin(x2) + exp(0.3*x3) + N(0, sigma) (``--noise``, default 0.05), 16 features uniform
on [-2, 2], 10,000 rows. The script writes it to CSV, runs (a fresh process each, as a user would)

    srcost search data.csv --target y --objective latency --budget-seconds B --unary-operators sin,exp --json

and prints the wall time, the held-out R2 of the selected expression's firmware (bit-accurate at the precision)
and of its float formula (``srcost search`` holds out 20% of the rows), and, for every front member, its cost
columns against ``srcost predict EXPR --precision P --json``.

    python benchmarks/search_recovery.py [--budget 60] [--rows 10000] [--noise 0.05] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from _common import problem_data, srcost_json, write_csv

from costmodel.targets import SEARCH_TARGETS

COLUMNS = {t.name: t.target for t in SEARCH_TARGETS}  # front cost key -> predict key


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--budget', type=float, default=60.0, help='search seconds')
    ap.add_argument('--noise', type=float, default=0.05, help='standard deviation of the noise on y')
    ap.add_argument('--rows', type=int, default=10_000)
    ap.add_argument('--precision', default='ap_fixed<16,6>')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--out', type=Path, default=Path('srcost-search-recovery'))
    a = ap.parse_args(argv)
    out = a.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    import numpy as np

    X, y = problem_data('paper', a.rows, seed=a.seed, n_features=16)
    y = y + np.random.default_rng(a.seed + 1).normal(0, np.sqrt(max(a.noise**2 - 0.01**2, 0.0)), len(y))
    write_csv(out / 'data.csv', X, y, digits=7)

    t0 = time.perf_counter()
    summary = srcost_json('search', 'data.csv', '--target', 'y', '--objective', 'latency', '--budget-seconds', f'{a.budget:g}',
                     '--unary-operators', 'sin,exp', '--precision', a.precision, '--seed', str(a.seed),
                     '--out', 'front.json', cwd=out)
    wall = time.perf_counter() - t0
    front = json.loads((out / 'front.json').read_text())
    mismatches = []
    for m in front['members']:
        pred = srcost_json('predict', '--precision', a.precision, '--', m['expression'], cwd=out)
        for key, col in COLUMNS.items():
            if key in m['cost'] and m['cost'][key] != pred[col]:
                mismatches.append((m['expression'], key, m['cost'][key], pred[col]))
    print(f'srcost search: {wall:.1f} s wall (budget {a.budget:g} s), {a.rows} rows, 16 features')
    print(f'selected: {summary["expression"]}')
    fw = summary.get('test_firmware_r2')
    print(f'held-out firmware R2: {fw:.6f} (float formula: {summary["test_r2"]:.6f}); target firmware R2 >= 0.99: '
          f'{"met" if fw is not None and fw >= 0.99 else "NOT met"}')
    n_cost = sum(1 for m in front['members'] for k in COLUMNS if k in m['cost'])
    print(f'front: {len(front["members"])} members; {n_cost} cost values compared with `srcost predict`: '
          f'{len(mismatches)} differ')
    for e, k, f, p in mismatches[:10]:
        print(f'  {k}: front {f} predict {p}  {e}')
    return 0 if not mismatches and (fw or 0) >= 0.99 else 1


if __name__ == '__main__':
    raise SystemExit(main())
