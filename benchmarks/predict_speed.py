"""Prediction speed of the cost models, in expressions per second, in one process.

Three situations of a search loop, each with a fresh process state (new feature caches):

- ``cold``: every expression is new and shares nothing with earlier ones but what random trees share
  (variables, common constants): the worst case;
- ``search``: a population evolves: each generation keeps half the expressions and replaces the other
  half by mutants (a random subtree or constant replaced), as a genetic-programming search does; every
  generation is predicted as one batch;
- ``warm``: the same population predicted again (an SR engine re-scoring its front);
- ``single``: new expressions asked one at a time through ``predict_expressions_matrix``, as the operon
  engine's per-individual cost callback does.

Each is run with two input forms of the same expressions, made before timing: ``Expression`` objects
(sympy trees; ``model.predict_expressions``) and ``postfix`` arrays (``costmodel.postfix.Postfix``;
``model.predict_postfix``), the form for a search loop that keeps its own trees. Both give the same
predictions (tests/test_costmodel_kernels.py); the sympy form pays a Python walk of every new tree. The
time is that of the model call: interning, features, the analytic model and the learned model's
boosters. Before anything is timed, one batch of the timed size on a model of its own loads every compiled
kernel from numba's disk cache, and each timed model first predicts 200 other expressions. Usage::

    python benchmarks/predict_speed.py [--n 2000] [--generations 10] [--repeat 1] [--json]

``--repeat N`` runs everything N times and reports each figure's median and its best run (this machine's
speed drifts by tens of percent from minute to minute; the best run is the least disturbed one). ``system``
is the share of the batches' wall time the operating system spent for the process, mostly on page faults: new
nodes fill fresh memory, whose pages the kernel must clear first.
``--breakdown`` prints instead where a cold postfix batch's time goes (interning, forward pass, walks).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from costmodel.generator import GeneratorConfig, generate_designs  # noqa: E402
from hls_gen import Expression  # noqa: E402

PRECISION = 'ap_fixed<16,6>'


def population(n: int, seed: int) -> list[Expression]:
    cfg = GeneratorConfig(max_outputs=1, p_default_precision=1.0, p_other_clock=0.0, p_saturate=0.0, p_round=0.0,
                          p_custom_lut=0.0)
    return [d.outputs[0] for d in generate_designs(n, seed, cfg)]


def mutate(exprs: list[Expression], donors: list[Expression], rng: np.random.Generator) -> list[Expression]:
    """Half of the population replaced by mutants: a random subexpression swapped for a donor's subtree."""
    import sympy

    out = list(exprs)
    for i in rng.choice(len(exprs), len(exprs) // 2, replace=False):
        e = exprs[i].sympy_expr
        nodes = list(sympy.preorder_traversal(e))
        target = nodes[int(rng.integers(len(nodes)))]
        donor_nodes = list(sympy.preorder_traversal(donors[int(rng.integers(len(donors)))].sympy_expr))
        graft = donor_nodes[int(rng.integers(len(donor_nodes)))]
        try:
            new = Expression.from_sympy(e.xreplace({target: graft}))
            from hls_gen.ir import count_nodes

            if count_nodes(new.sympy_expr) <= 60 and new.variables:
                out[i] = new
        except Exception:  # noqa: BLE001 - an invalid mutant is simply not taken
            pass
    return out


def fresh_model(kind: str):
    from costmodel.api import default_model_path
    from costmodel.features import FeatureExtractor
    from costmodel.models import AnalyticModel, LearnedModel

    fx = FeatureExtractor()
    if kind == 'analytic':
        return AnalyticModel('open', extractor=fx)
    path = default_model_path('open')
    if not path.exists():
        return None
    return LearnedModel.load(path, fx)


def timed(fn, clock: Clock | None = None) -> float:
    """Wall seconds of ``fn()``; ``clock`` also adds them up, with the process's system CPU time."""
    s0 = resource.getrusage(resource.RUSAGE_SELF).ru_stime if clock is not None else 0.0
    t0 = time.perf_counter()
    fn()
    dt = time.perf_counter() - t0
    if clock is not None:
        clock.wall += dt
        clock.system += resource.getrusage(resource.RUSAGE_SELF).ru_stime - s0
    return dt


class Clock:
    """Wall time and the part of it the operating system spent for the process (page faults, mostly)."""

    def __init__(self) -> None:
        self.wall = 0.0
        self.system = 0.0


def run(n: int, generations: int, seed: int = 0) -> dict:
    from costmodel.postfix import Postfix

    cold = population(n, seed + 1)
    pop = population(n, seed + 2)
    donors = population(max(n // 4, 50), seed + 3)
    rng = np.random.default_rng(seed)
    gens = [pop]
    for _ in range(generations):
        gens.append(mutate(gens[-1], donors, rng))
    singles = population(min(n, 1000), seed + 4)
    warmup = population(200, seed + 9)
    # a batch as large as the timed ones, on a model of its own: loads every kernel a batch of this size
    # reaches (growing a table, for one) before anything is timed, as a search's first generation would
    loader = population(n, seed + 8)
    # the same expressions as postfix arrays (made before timing, as the Expression objects are)
    forms = {
        'Expression': (lambda m, x: m.predict_expressions(x, PRECISION),
                       lambda m, x: m.predict_expressions_matrix(x, PRECISION),
                       cold, gens, [[e] for e in singles], warmup, loader),
        'postfix': (lambda m, x: m.predict_postfix(x, PRECISION), lambda m, x: m.predict_postfix(x, PRECISION),
                    Postfix.from_expressions(cold), [Postfix.from_expressions(g) for g in gens],
                    [Postfix.from_expressions([e]) for e in singles], Postfix.from_expressions(warmup),
                    Postfix.from_expressions(loader)),
    }
    results = {'n': n, 'generations': generations, 'precision': PRECISION}
    for kind in ('analytic', 'learned'):
        for form, (batch, one, c, gs, ones, wu, ld) in forms.items():
            key = f'{kind} {form}'
            m = fresh_model(kind)
            if m is None:
                results[key] = {'note': 'no trained open-backend model (srcost fit)'}
                continue
            batch(m, ld)
            m = fresh_model(kind)
            m.calibration  # noqa: B018 - load the calibration outside the timing
            batch(m, wu)  # imports, boosters, compiled kernels, one-off tables
            clock = Clock()
            r = {'cold': n / timed(lambda m=m, batch=batch, c=c: batch(m, c), clock)}
            m = fresh_model(kind)
            batch(m, wu)
            t = sum(timed(lambda g=g, m=m, batch=batch: batch(m, g), clock) for g in gs)
            r['search'] = n * len(gs) / t
            r['warm'] = n / timed(lambda m=m, batch=batch, g=gs[-1]: batch(m, g), clock)
            m = fresh_model(kind)
            batch(m, wu)
            r['system_pct'] = 100 * clock.system / clock.wall  # of the batches (cold, search, warm)
            r['single'] = len(ones) / timed(lambda m=m, one=one, ones=ones: [one(m, x) for x in ones])
            results[key] = {k: round(v) for k, v in r.items()}
    return results


def breakdown(n: int, seed: int = 0) -> dict:
    """Where a cold postfix batch's time goes, per expression (analytic model): compiled interning, the
    forward pass (and within it, Python computing ROM contents for new address ranges), the feature walks."""
    from costmodel.fastpath import precision_head
    from costmodel.features import Job
    from costmodel.postfix import Postfix
    from hls_gen import Precision

    fresh_model('analytic').predict_postfix(Postfix.from_expressions(population(n, seed + 8)), PRECISION)  # every kernel
    m = fresh_model('analytic')
    m.predict_postfix(Postfix.from_expressions(population(200, seed + 9)), PRECISION)  # tables
    cold = Postfix.from_expressions(population(n, seed + 1))
    table, compiled = m.extractor._postfix
    p = Precision.parse(PRECISION)
    ctx = m.extractor.context(Job(p, (), 5.0, 1))
    st = compiled.store(ctx)
    spent = [0.0]
    answer = st.answer

    def timed_answer(req):
        t0 = time.perf_counter()
        answer(req)
        spent[0] += time.perf_counter() - t0

    st.answer = timed_answer
    t_intern = timed(lambda: table.intern(cold))
    roots, _ = table.intern(cold)  # all known now: the same roots
    t_forward = timed(lambda: st.forward(table.arrays(), roots))
    t_rows = timed(lambda: compiled.rows(ctx, roots, np.arange(n + 1), precision_head(p, 5.0, n), np.full(n, 5.0), None, True))
    us = 1e6 / n
    return {'n': n, 'nodes_per_expression': round(len(cold.op) / n, 1), 'intern_us': round(t_intern * us, 1),
            'intern_ns_per_node': round(t_intern * 1e9 / len(cold.op)), 'forward_us': round(t_forward * us, 1),
            'forward_rom_contents_us': round(spent[0] * us, 1), 'walks_us': round(t_rows * us, 1)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--n', type=int, default=2000)
    ap.add_argument('--generations', type=int, default=10)
    ap.add_argument('--repeat', type=int, default=1, help='runs; each figure is the median')
    ap.add_argument('--json', action='store_true')
    ap.add_argument('--breakdown', action='store_true', help='only the per-stage split of a cold postfix batch')
    args = ap.parse_args(argv)
    if args.breakdown:
        print(json.dumps(breakdown(args.n), indent=1))
        return 0
    runs = [run(args.n, args.generations) for _ in range(max(args.repeat, 1))]
    res = runs[0]
    keys = [k for k in res if k.startswith(('analytic', 'learned'))]
    best = {}
    for k in keys:
        if 'note' not in res[k]:
            best[k] = {x: max(r[k][x] for r in runs) for x in res[k] if x != 'system_pct'}
            res[k] = {x: round(float(np.median([r[k][x] for r in runs]))) for x in res[k]}
    res['repeat'] = len(runs)
    if len(runs) > 1:
        res['best'] = best
    if args.json:
        print(json.dumps(res, indent=1))
    else:
        for k in keys:
            print(_line(k, res[k]))
        if len(runs) > 1:
            print(f'medians of {len(runs)} runs; the best run of each (the speed of this machine drifts; the best is '
                  'the least disturbed):')
            for k in best:
                print(_line(k, best[k]))
    return 0


def _line(key: str, r: dict) -> str:
    if 'note' in r:
        return f'{key:20s} {r["note"]}'
    line = (f'{key:20s} cold {r["cold"]:>9,d}/s   search {r["search"]:>9,d}/s   warm {r["warm"]:>9,d}/s'
            f'   single {r["single"]:>7,d}/s')
    return line + (f'   system {r["system_pct"]}%' if 'system_pct' in r else '')


if __name__ == '__main__':
    raise SystemExit(main())
