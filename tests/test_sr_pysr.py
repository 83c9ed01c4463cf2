"""PySR engine: generated PySRRegressor arguments, and importing a hall_of_fame.csv.

pysr (and Julia) is not needed: the argument names are checked against PySRRegressor.__init__'s
parameter list (from the installed pysr when it imports, else the copy in sr_search/pysr_params.py).
"""

import sys

import numpy as np
import pytest
import sympy

from hls_gen.errors import ToolNotFound
from hls_gen.expression import Expression
from sr_search.front import FrontFormatError
from sr_search.pysr_engine import build_pysr_kwargs, import_hall_of_fame, lut_julia_definition, pysr_parameter_names, run_pysr
from sr_search.pysr_params import PYSR_REGRESSOR_PARAMS

X0, X1, X2 = sympy.symbols('x0 x1 x2', real=True)


def test_kwargs_are_valid_pysr_parameters():
    kwargs = build_pysr_kwargs(
        binary_operators=['+', '-', '*', '/'],
        unary_operators=['sin_lut', 'exp', 'log_abs', 'square'],
        maxsize=25,
        niterations=7,
        random_state=3,
        complexity_of_operators={'+': 1, '-': 1, '*': 1, 'exp': 3, 'log_abs': 4, 'sin': 8, 'var': 1, 'const': 2},
        timeout_in_seconds=60,
        constraints={'/': (-1, 9)},
    )
    valid = pysr_parameter_names()
    assert set(kwargs) <= valid, set(kwargs) - valid
    assert {'binary_operators', 'unary_operators', 'complexity_of_operators', 'extra_sympy_mappings',
            'nested_constraints', 'maxsize', 'niterations', 'random_state', 'deterministic'} <= set(kwargs)
    assert kwargs['binary_operators'] == ['+', '-', '*', '/']
    assert kwargs['unary_operators'][0] == 'sin_lut(x) = math_lut(sin, x, N=1024, range_start=-4.0, range_end=4.0)'
    assert kwargs['unary_operators'][1:] == ['exp', 'log_abs', 'square']
    # the calibration: LUT inherits sin's cost; var/const go to their own parameters
    assert kwargs['complexity_of_operators'] == {'+': 1, '-': 1, '*': 1, 'exp': 3, 'log_abs': 4, 'sin_lut': 8}
    assert kwargs['complexity_of_variables'] == 1 and kwargs['complexity_of_constants'] == 2
    assert kwargs['deterministic'] is True and kwargs['parallelism'] == 'serial' and kwargs['random_state'] == 3
    assert kwargs['nested_constraints']['sin_lut'] == {'sin_lut': 0, 'exp': 1, 'log_abs': 1}
    # sympy mappings keep the LUT's name and map srcost-only operators
    m = kwargs['extra_sympy_mappings']
    assert Expression.from_sympy(m['sin_lut'](X0)).lut_functions == {'sin_lut'}
    assert m['log_abs'](X0) == sympy.log(sympy.Abs(X0))
    assert 'sin' not in m and '+' not in m


def test_stored_parameter_list_has_the_core_names():
    for name in ('binary_operators', 'unary_operators', 'complexity_of_operators', 'nested_constraints',
                 'extra_sympy_mappings', 'maxsize', 'niterations', 'random_state', 'deterministic',
                 'parallelism', 'model_selection', 'timeout_in_seconds', 'output_directory', 'run_id'):
        assert name in PYSR_REGRESSOR_PARAMS


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match='not a binary operator'):
        build_pysr_kwargs(binary_operators=['sin'])
    with pytest.raises(ValueError, match='no PySR equivalent'):
        build_pysr_kwargs(binary_operators=['pow_int'])
    with pytest.raises(ValueError, match='not PySRRegressor parameters: frobnicate'):
        build_pysr_kwargs(extra={'frobnicate': 1})


def test_custom_lut_range():
    assert lut_julia_definition('exp:256:0:8') == 'exp_lut(x) = math_lut(exp, x, N=256, range_start=0.0, range_end=8.0)'
    kw = build_pysr_kwargs(unary_operators=['exp_lut'], luts=['exp:256:0:8'])
    assert kw['unary_operators'] == ['exp_lut(x) = math_lut(exp, x, N=256, range_start=0.0, range_end=8.0)']


def test_run_without_pysr_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, 'pysr', None)
    with pytest.raises(ToolNotFound, match="engine='operon'"):
        run_pysr(np.zeros((4, 2)), np.zeros(4), build_pysr_kwargs())


# What PySR writes: header Complexity,Loss,Equation; equations quoted, in its own syntax
HALL_OF_FAME = '''Complexity,Loss,Equation
1,4.2001953,"0.5232"
3,2.05,"x0 * 2.5"
5,0.0914,"((x0 * 2.5) * x1)"
8,0.0001,"((x0 * 2.5) * x1) - sin(x2)"
10,9.5e-05,"(((x0 * 2.5f0) * x1) - sin(x2)) + (x1 ^ 2)"
'''


def test_import_hall_of_fame(tmp_path):
    p = tmp_path / 'hall_of_fame.csv'
    p.write_text(HALL_OF_FAME)
    front = import_hall_of_fame(p)
    assert len(front) == 5
    assert [m.objective for m in front] == [1, 3, 5, 8, 10]
    assert [m.loss for m in front] == [4.2001953, 2.05, 0.0914, 0.0001, 9.5e-05]
    m = front[3]
    assert sympy.simplify(m.expr.sympy_expr - (2.5 * X0 * X1 - sympy.sin(X2))) == 0
    assert m.cost == {'pysr_complexity': 8.0}
    assert front[4].expr.sympy_expr.has(X1**2)  # '^' and the Julia Float32 literal 2.5f0
    # PySR's 'best' along its own complexity: largest -dlog(loss)/dc within 1.5x of the best loss
    assert front.select('best', axis='objective').objective == 8
    assert front.select('accuracy').objective == 10


def test_import_legacy_and_bad_files(tmp_path):
    legacy = tmp_path / 'hof.csv'
    legacy.write_text('Complexity|MSE|Equation\n1|2.0|0.5\n3|0.1|(x0 * 3.0)\n')
    front = import_hall_of_fame(legacy)
    assert [m.expression for m in front] == ['0.5', '3.0*x0']
    bad = tmp_path / 'bad.csv'
    bad.write_text('Complexity,Loss,Equation\n3,0.1,"import_os(x0)"\n')
    with pytest.raises(FrontFormatError, match='row 1'):
        import_hall_of_fame(bad)
    assert len(import_hall_of_fame(bad, strict=False)) == 0
    nocol = tmp_path / 'nocol.csv'
    nocol.write_text('a,b\n1,2\n')
    with pytest.raises(FrontFormatError, match='Complexity,Loss,Equation'):
        import_hall_of_fame(nocol)


def test_estimator_with_pysr_engine(monkeypatch):
    from sr_search.estimator import CostAwareRegressor

    X = np.random.default_rng(0).normal(size=(20, 2))
    y = X[:, 0] * 2.0
    with pytest.raises(ValueError, match='operator_costs'):
        CostAwareRegressor(engine='pysr', objective='latency').fit(X, y)
    monkeypatch.setitem(sys.modules, 'pysr', None)
    with pytest.raises(ToolNotFound, match='Julia'):
        CostAwareRegressor(engine='pysr', objective='additive', random_state=0).fit(X, y)
