"""costmodel's modules import on their own, and none imports another costmodel module inside a function
only to break an import cycle.

A function-level ``from . import x`` / ``from .x import y`` is allowed only where ``x`` (or a costmodel module
it imports at module level) imports a heavy package at module level (numba, xgboost, scipy, sklearn): those
stay lazy so that ``import costmodel`` and ``srcost --help`` stay fast. There is no other exception.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / 'costmodel'
HEAVY = ('numba', 'xgboost', 'scipy', 'sklearn')


def _modules() -> list[str]:
    return sorted(p.stem for p in PACKAGE.glob('*.py') if p.stem != '__init__')


def _tree(name: str) -> ast.Module:
    return ast.parse((PACKAGE / f'{name}.py').read_text())


def _target(node: ast.ImportFrom) -> list[str]:
    """The costmodel modules a relative import names (``from . import a, b`` names a and b)."""
    if node.module:
        return [node.module.split('.')[0]]
    return [a.name for a in node.names]


def _top_imports(name: str) -> tuple[set[str], set[str]]:
    """(costmodel modules, third-party top-level packages) that ``name`` imports at module level."""
    local, third = set(), set()
    for node in _tree(name).body:
        if isinstance(node, ast.ImportFrom) and node.level:
            local.update(_target(node))
        elif isinstance(node, ast.ImportFrom) and node.module:
            third.add(node.module.split('.')[0])
        elif isinstance(node, ast.Import):
            third.update(a.name.split('.')[0] for a in node.names)
    return local, third


def _heavy(name: str, seen: set[str] | None = None) -> bool:
    """``name`` imports a heavy package at module level, itself or through the costmodel modules it imports."""
    seen = set() if seen is None else seen
    if name in seen or not (PACKAGE / f'{name}.py').exists():
        return False
    seen.add(name)
    local, third = _top_imports(name)
    return bool(third & set(HEAVY)) or any(_heavy(m, seen) for m in local)


def _function_imports(name: str) -> list[tuple[str, str, int]]:
    """(function, imported costmodel module, line) of every relative import inside a function of ``name``."""
    out = []
    for fn in ast.walk(_tree(name)):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for node in ast.walk(fn):
                if isinstance(node, ast.ImportFrom) and node.level:
                    out.extend((fn.name, m, node.lineno) for m in _target(node))
    return out


def test_no_function_imports_a_costmodel_module_except_heavy_ones():
    bad = [f'costmodel/{m}.py:{line} {fn}() imports .{target}'
           for m in _modules() for fn, target, line in _function_imports(m)
           if not _heavy(target)]
    assert not bad, 'imports inside functions with no heavy package behind them:\n' + '\n'.join(bad)


def test_the_heavy_check_sees_numba_behind_the_kernels():
    assert _heavy('kernels') and _heavy('fastpath') and _heavy('postfix')
    assert not _heavy('layout') and not _heavy('dag') and not _heavy('features')


def test_layout_and_targets_import_no_other_costmodel_module():
    assert _top_imports('layout')[0] == set() and _top_imports('targets')[0] == set()


def test_calibration_is_data_below_the_features():
    """Operator costs import no other costmodel module but the vocabulary of targets; the open backend's calibration without a store (the
    datapath model of single-operator designs) is built above them, by ``features``, with the formulas of
    ``open_analytic``, which reads only the layout and the targets."""
    assert _top_imports('calibration')[0] == {'targets'}
    assert _top_imports('targets')[0] == set()
    assert _top_imports('open_analytic')[0] == {'layout', 'targets'}
    assert {'calibration', 'open_analytic'} <= _top_imports('features')[0]


def test_every_module_imports_on_its_own():
    """One interpreter, every costmodel module imported first among costmodel's (the others dropped from
    ``sys.modules`` between two), so an import cycle shows whichever module it starts from."""
    script = f"""
import importlib, sys
failed = []
for name in {_modules()!r}:
    for k in [k for k in sys.modules if k == 'costmodel' or k.startswith('costmodel.')]:
        del sys.modules[k]
    try:
        importlib.import_module('costmodel.' + name)
    except Exception as e:
        failed.append(f'{{name}}: {{type(e).__name__}}: {{e}}')
print('\\n'.join(failed))
sys.exit(1 if failed else 0)
"""
    r = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True, timeout=300, cwd=PACKAGE.parent)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize('name', ['layout', 'targets'])
def test_leaf_modules_import_no_heavy_package(name):
    r = subprocess.run([sys.executable, '-c', f'import sys, costmodel.{name}; print(sorted(m for m in {HEAVY!r} if m in sys.modules))'],
                       capture_output=True, text=True, timeout=120, cwd=PACKAGE.parent, check=True)
    assert r.stdout.strip() == '[]'
