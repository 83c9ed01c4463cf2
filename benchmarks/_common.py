"""What the benchmark scripts share: the test problems and running ``srcost`` as a user does (a fresh
process per command). Not a benchmark itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]

# name -> (formula, numpy function of X)
PROBLEMS = {
    'paper': ('2.5*x0*x1 - sin(x2) + exp(0.3*x3)', lambda X: 2.5 * X[:, 0] * X[:, 1] - np.sin(X[:, 2]) + np.exp(0.3 * X[:, 3])),
    'poly-trig': ('x0**2 - 0.5*x1*x2 + cos(x3)', lambda X: X[:, 0] ** 2 - 0.5 * X[:, 1] * X[:, 2] + np.cos(X[:, 3])),
    'gauss-mix': ('exp(-x0**2)*x1 + 0.8*sin(x2*x3)', lambda X: np.exp(-X[:, 0] ** 2) * X[:, 1] + 0.8 * np.sin(X[:, 2] * X[:, 3])),
}


def problem_data(name: str, rows: int, seed: int, n_features: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """X uniform on [-2, 2] (``rows`` x ``n_features``) and y = the problem's formula + N(0, 0.01)."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2, 2, (rows, n_features))
    return X, PROBLEMS[name][1](X) + rng.normal(0, 0.01, rows)


def write_csv(path: Path, X: np.ndarray, y: np.ndarray, digits: int) -> None:
    header = ','.join([f'x{i}' for i in range(X.shape[1])] + ['y'])
    np.savetxt(path, np.column_stack([X, y]), delimiter=',', header=header, comments='', fmt=f'%.{digits}g')


def srcost(*args: str, cwd: Path, echo: bool = False) -> str:
    """Run one ``srcost`` command in a fresh process in ``cwd`` (this checkout's code); its stdout."""
    if echo:
        print('$ srcost ' + ' '.join(repr(a) if ' ' in a or '<' in a else a for a in args), file=sys.stderr, flush=True)
    env = {**os.environ, 'PYTHONPATH': os.pathsep.join(p for p in (str(REPO), os.environ.get('PYTHONPATH')) if p)}
    proc = subprocess.run([sys.executable, '-c', 'from srcost.cli import app; app()', *args], cwd=cwd, env=env,
                          capture_output=True, text=True, check=False, timeout=3600)
    if proc.returncode != 0:
        raise SystemExit(f'srcost {args[0]} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}')
    return proc.stdout


def srcost_json(*args: str, cwd: Path, echo: bool = False) -> dict:
    """``srcost ... --json`` (the option goes before a ``--``), its JSON object."""
    k = args.index('--') if '--' in args else len(args)
    out = srcost(*args[:k], '--json', *args[k:], cwd=cwd, echo=echo)
    try:
        return json.loads(out[out.index('{'):])
    except ValueError:  # no '{', or not JSON
        raise SystemExit(f'srcost {args[0]} --json printed no JSON object:\n{out[:2000]}') from None
