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

Expressions are built before timing (the search already has them as ``Expression`` objects); the time
is that of ``model.predict_expressions(exprs, precision)``: features, the analytic model, and the
learned model's boosters. Usage::

    python benchmarks/predict_speed.py [--n 2000] [--generations 10] [--repeat 1] [--json]

``--repeat N`` runs everything N times and reports each figure's median (this machine's speed drifts).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hls_gen import Expression  # noqa: E402

from costmodel.generator import GeneratorConfig, generate_designs  # noqa: E402

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
    from costmodel.features import FeatureExtractor
    from costmodel.models import AnalyticModel, LearnedModel
    from costmodel.api import default_model_path

    fx = FeatureExtractor()
    if kind == 'analytic':
        return AnalyticModel('open', extractor=fx)
    path = default_model_path('open')
    if not path.exists():
        return None
    return LearnedModel.load(path, fx)


def timed(model, exprs) -> float:
    t0 = time.perf_counter()
    out = model.predict_expressions(exprs, PRECISION)
    dt = time.perf_counter() - t0
    assert len(out) == len(exprs)
    return dt


def run(n: int, generations: int, seed: int = 0) -> dict:
    cold = population(n, seed + 1)
    pop = population(n, seed + 2)
    donors = population(max(n // 4, 50), seed + 3)
    rng = np.random.default_rng(seed)
    gens = [pop]
    for _ in range(generations):
        gens.append(mutate(gens[-1], donors, rng))
    results = {'n': n, 'generations': generations, 'precision': PRECISION}
    for kind in ('analytic', 'learned'):
        m = fresh_model(kind)
        if m is None:
            results[kind] = {'note': 'no trained open-backend model (srcost fit)'}
            continue
        m.calibration  # noqa: B018 - load the calibration outside the timing
        m.predict_expressions(population(20, seed + 9), PRECISION)  # imports, boosters, one-off tables
        r = {'cold': n / timed(m, cold)}
        m = fresh_model(kind)
        m.predict_expressions(population(20, seed + 9), PRECISION)
        t = sum(timed(m, g) for g in gens)
        r['search'] = n * len(gens) / t
        r['warm'] = n / timed(m, gens[-1])
        m = fresh_model(kind)
        m.predict_expressions(population(20, seed + 9), PRECISION)
        singles = population(min(n, 1000), seed + 4)
        t0 = time.perf_counter()
        for e in singles:
            m.predict_expressions_matrix([e], PRECISION)
        r['single'] = len(singles) / (time.perf_counter() - t0)
        results[kind] = {k: round(v) for k, v in r.items()}
    return results


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--n', type=int, default=2000)
    ap.add_argument('--generations', type=int, default=10)
    ap.add_argument('--repeat', type=int, default=1, help='runs; each figure is the median')
    ap.add_argument('--json', action='store_true')
    args = ap.parse_args(argv)
    runs = [run(args.n, args.generations) for _ in range(max(args.repeat, 1))]
    res = runs[0]
    for kind in ('analytic', 'learned'):
        if 'note' not in res[kind]:
            res[kind] = {k: round(float(np.median([r[kind][k] for r in runs]))) for k in res[kind]}
    res['repeat'] = len(runs)
    if args.json:
        print(json.dumps(res, indent=1))
    else:
        for kind in ('analytic', 'learned'):
            r = res[kind]
            if 'note' in r:
                print(f'{kind:9s} {r["note"]}')
            else:
                print(f'{kind:9s} cold {r["cold"]:>9,d}/s   search {r["search"]:>9,d}/s   warm {r["warm"]:>9,d}/s'
                      f'   single {r["single"]:>7,d}/s')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
