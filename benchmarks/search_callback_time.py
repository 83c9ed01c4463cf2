"""Where the operon search's time per individual goes: tree conversion against the cost model.

Every individual operon makes is converted (``tree_to_sympy``, linear scaling made explicit, the text
round trip through ``Expression.parse`` that validates it) and then costed by the objective. The script
runs ``srcost search`` in this process on the 'paper' problem (8 features) with timers around each step,
for the objectives given, and prints seconds, calls and milliseconds per call. The timers add a few
microseconds per call.

    python benchmarks/search_callback_time.py [--budget 30] [--rows 3000] [--objectives latency,complexity]
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import threading
import time
from pathlib import Path

from _common import problem_data, write_csv

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

STEPS = ('tree_to_sympy', 'scale_offset', '_apply_scale', '_is_finite_expr', 'expression_to_text', 'count_nodes')


def timed_run(objective: str, budget: float, data: Path, out: Path) -> dict[str, tuple[float, int]]:
    import contextlib
    import io

    import sr_search.estimator as est
    import sr_search.operon_engine as oe
    from hls_gen import Expression
    from srcost.cli import app

    totals: dict[str, float] = collections.defaultdict(float)
    calls: collections.Counter = collections.Counter()
    lock = threading.Lock()

    def timer(name, fn):
        def wrapped(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                with lock:
                    totals[name] += time.perf_counter() - t0
                    calls[name] += 1
        return wrapped

    saved = {n: getattr(oe, n) for n in STEPS}
    saved_parse, saved_run = Expression.__dict__['parse'], est.run_operon
    try:
        for n in STEPS:
            setattr(oe, n, timer(n, saved[n]))
        Expression.parse = classmethod(timer('Expression.parse', saved_parse.__func__))
        est.run_operon = lambda X, y, cost, settings=None: saved_run(X, y, timer('objective (cost)', cost), settings)
        with contextlib.redirect_stdout(io.StringIO()):
            app(['search', str(data), '--target', 'y', '--objective', objective, '--budget-seconds', f'{budget:g}',
                 '--unary-operators', 'sin,exp', '--out', str(out)], standalone_mode=False)
    finally:
        for n, f in saved.items():
            setattr(oe, n, f)
        Expression.parse, est.run_operon = saved_parse, saved_run
    return {k: (totals[k], calls[k]) for k in totals}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--budget', type=float, default=30.0)
    ap.add_argument('--rows', type=int, default=3000)
    ap.add_argument('--objectives', default='latency,complexity')
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix='srcost-cbtime-') as tmp:
        X, y = problem_data('paper', a.rows, seed=0, n_features=8)
        write_csv(Path(tmp) / 'data.csv', X, y, digits=7)
        for objective in a.objectives.split(','):
            res = timed_run(objective, a.budget, Path(tmp) / 'data.csv', Path(tmp) / f'{objective}.json')
            n = res.get('objective (cost)', (0.0, 0))[1]
            print(f'--objective {objective}: {n} individuals costed in a {a.budget:g} s search')
            for k, (t, c) in sorted(res.items(), key=lambda kv: -kv[1][0]):
                print(f'  {k:18s} {t:7.2f} s  {c:7d} calls  {1e3 * t / max(c, 1):6.3f} ms/call')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
