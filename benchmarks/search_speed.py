"""Individuals per second: srcost's search (learned cost model + firmware loss) against pyoperon alone.

Both run pyoperon 0.6.2's NSGA2 with the same settings (population and pool 500, 10 Levenberg-Marquardt steps,
maxsize 25, max depth 10, operators + - * sin exp, one thread) on the same data (the 'paper' problem, 8
features, 4,000 rows) for the same time. pyoperon alone optimizes (MSE after linear scaling, tree length),
with no Python callback. srcost's search optimizes (firmware loss, predicted latency with the LUT tie-break):
each individual goes operon tree -> canonical postfix -> compiled fixed-point evaluator (on a subsample of
``--loss-rows`` rows) and the learned cost model, in a Python callback. Individuals are counted the same way
for both: the initial population plus a pool per generation. Runs alternate, so that both see the same
machine: compare the ratio, not the rates.

    python benchmarks/search_speed.py [--budget 20] [--repeat 3] [--rows 4000] [--loss-rows 1000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import problem_data  # noqa: E402

POP = 500
MAXSIZE = 25


def operon_alone(X: np.ndarray, y: np.ndarray, budget: int, seed: int) -> float:
    """Individuals per second of pyoperon's NSGA2 over (MSE with linear scaling, length), no callback."""
    import pyoperon as op

    data = np.asfortranarray(np.column_stack((X, y)))
    ds = op.Dataset(data)
    variables = sorted(ds.Variables, key=lambda v: v.Index)
    inputs = [v.Hash for v in variables[:-1]]
    tr, te = op.Range(0, ds.Rows), op.Range(ds.Rows - 1, ds.Rows)
    problem = op.Problem(ds)
    problem.TrainingRange, problem.TestRange, problem.Target, problem.InputHashes = tr, te, variables[-1], inputs
    bits = int(op.NodeType.Constant) | int(op.NodeType.Variable)
    for a in ('Add', 'Sub', 'Mul', 'Sin', 'Exp'):
        bits |= int(getattr(op.NodeType, a))
    problem.ConfigurePrimitiveSet(bits)
    pset = problem.PrimitiveSet
    creator = op.BalancedTreeCreator(pset, inputs, 0.0)
    ci = op.NormalCoefficientInitializer()
    ci.ParameterizeDistribution(0, 1)
    dtable = op.DispatchTable()
    optimizer = op.LMOptimizer(dtable, problem, 10, 0)
    metric = op.MSE()
    loss = op.Evaluator(problem, dtable, metric, True)
    loss.Budget = 10**9
    length = op.LengthEvaluator(problem)
    length.Budget = 10**9
    ev = op.MultiEvaluator(problem)
    ev.Add(loss)
    ev.Add(length)
    ev.Budget = 10**9
    cmp = op.CrowdedComparison()
    fs, ms = op.TournamentSelector(cmp), op.TournamentSelector(cmp)
    fs.TournamentSize = ms.TournamentSize = 5
    rein = op.KeepBestReinserter(cmp)
    cx = op.SubtreeCrossover(0.9, 10, MAXSIZE)
    mut = op.MultiMutation()
    m1 = op.NormalOnePointMutation()
    m1.ParameterizeDistribution(0, 1)
    m2, m3 = op.ChangeVariableMutation(inputs), op.ChangeFunctionMutation(pset)
    m4 = op.ReplaceSubtreeMutation(creator, ci, 10, MAXSIZE)
    m5 = op.InsertSubtreeMutation(creator, ci, 10, MAXSIZE)
    m6 = op.RemoveSubtreeMutation(pset)
    for m in (m1, m2, m3, m4, m5, m6):
        mut.Add(m, 1.0)
    co = op.CoefficientOptimizer(optimizer)
    gen = op.BasicOffspringGenerator(ev, cx, mut, fs, ms, co)
    ti = op.UniformLengthTreeInitializer(creator)
    ti.ParameterizeDistribution(2, 10)
    ti.MinDepth, ti.MaxDepth = 1, 1000
    cfg = op.GeneticAlgorithmConfig(generations=10**6, max_evaluations=10**9, local_iterations=10, population_size=POP,
                                    pool_size=POP, p_crossover=1.0, p_mutation=0.25, p_local=1.0, p_lamarck=1.0,
                                    epsilon=1e-5, seed=seed, max_time=budget)
    sorter = op.RankSorter()
    gp = op.NSGA2Algorithm(cfg, problem, ti, ci, gen, rein, sorter)
    rng = op.RandomGenerator(np.uint64(seed))
    t0 = time.perf_counter()
    gp.Run(rng, lambda: None, 1, False)
    dt = time.perf_counter() - t0
    n = POP + POP * int(gp.Generation)
    del gp, gen, ev, loss, length
    return n / dt


def srcost_search(X: np.ndarray, y: np.ndarray, budget: int, seed: int, loss_rows: int) -> tuple[float, dict]:
    from sr_search.estimator import CostAwareRegressor

    reg = CostAwareRegressor(binary_operators=['+', '-', '*'], unary_operators=['sin', 'exp'], maxsize=MAXSIZE,
                             generations=10**6, population_size=POP, budget_seconds=budget, random_state=seed,
                             objective='latency', loss_on='firmware', loss_rows=loss_rows)
    reg.fit(X, y)
    st = reg.stats_
    n = POP + POP * int(st['generations'])
    return n / st['search_seconds'], st


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--budget', type=int, default=20)
    ap.add_argument('--repeat', type=int, default=3)
    ap.add_argument('--rows', type=int, default=4000)
    ap.add_argument('--loss-rows', type=int, default=1000)
    a = ap.parse_args(argv)
    X, y = problem_data('paper', a.rows, seed=0, n_features=8)
    srcost_search(X[:200], y[:200], 1, 0, a.loss_rows)  # load every compiled kernel once
    ratios = []
    for r in range(a.repeat):
        alone = operon_alone(X, y, a.budget, seed=r)
        ours, st = srcost_search(X, y, a.budget, seed=r, loss_rows=a.loss_rows)
        ratios.append(ours / alone)
        print(f'run {r + 1}: pyoperon alone {alone:7.0f} individuals/s | srcost search {ours:7.0f} individuals/s '
              f'(firmware loss on {st.get("firmware_loss_rows")} rows, {st.get("firmware_repeats", 0)} repeats and '
              f'{st.get("firmware_same_design", 0)} designs found '
              f'whole) | ratio {ours / alone:.2f}', flush=True)
    print(f'median ratio over {a.repeat} runs: {statistics.median(ratios):.2f} (target >= 0.5)')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
