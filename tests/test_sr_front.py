"""Pareto fronts: round trips through CSV and JSON, selection rules, exact expression text."""

import math

import pytest
import sympy

from hls_gen.expression import Expression
from sr_search.front import FrontFormatError, FrontMember, NoMemberWithinBudget, ParetoFront, expression_to_text, pysr_scores


def make_front():
    members = [
        FrontMember('0.52', 4.0, 1, {'latency': 0.0, 'lut': 0.0}, {'accuracy': 0.2}, objective=1.0),
        FrontMember('2.5*x0', 2.0, 3, {'latency': 2.0, 'lut': 40.0}, {'accuracy': 0.5}, objective=3.0),
        FrontMember('2.5*x0*x1', 0.1, 4, {'latency': 3.0, 'lut': 90.0, 'dsp': 1.0}, {'accuracy': 0.9}, objective=4.0),
        FrontMember('2.5*x0*x1 - sin_lut(x2)', 0.09, 7, {'latency': 9.0, 'lut': 300.0, 'dsp': 1.0},
                    {'accuracy': 0.91}, objective=7.0),
        FrontMember('2.5*x0*x1 - sin(x2) + 1.0000000000000001e-05*pow_abs(x0, 2.5)', 0.08, 12,
                    {'latency': 30.0, 'lut': 900.0, 'dsp': 3.0}, {}, objective=12.0),
    ]
    return ParetoFront(members, {'engine': 'test', 'objective': 'latency', 'seed': 3})


@pytest.mark.parametrize('suffix', ['.csv', '.json'])
def test_round_trip(tmp_path, suffix):
    front = make_front()
    path = front.save(tmp_path / f'front{suffix}')
    back = ParetoFront.load(path)
    assert back == front
    assert back.metadata == {'engine': 'test', 'objective': 'latency', 'seed': 3}
    assert back[4].expression.endswith('pow_abs(x0, 2.5)')
    assert back[2].cost == {'latency': 3.0, 'lut': 90.0, 'dsp': 1.0}
    assert back[4].metrics == {}
    assert back[3].expr.lut_functions == {'sin_lut'}
    assert [str(e.sympy_expr) for e in back.expressions()][:3] == ['0.520000000000000', '2.5*x0', '2.5*x0*x1']


def test_floats_survive_csv_bit_exactly(tmp_path):
    loss = 0.1 + 0.2  # 0.30000000000000004: needs 17 digits
    front = ParetoFront([FrontMember('x0', loss, 1, {'lut': 1 / 3}, objective=1e-300)])
    back = ParetoFront.load(front.save(tmp_path / 'f.csv'))
    assert back[0].loss == loss and back[0].cost['lut'] == 1 / 3 and back[0].objective == 1e-300


def test_load_rejects_foreign_files(tmp_path):
    p = tmp_path / 'x.json'
    p.write_text('{"members": []}')
    with pytest.raises(FrontFormatError):
        ParetoFront.load(p)
    p = tmp_path / 'x.csv'
    p.write_text('a,b\n1,2\n')
    with pytest.raises(FrontFormatError, match='expression'):
        ParetoFront.load(p)
    with pytest.raises(ValueError, match='csv or .json'):
        make_front().save(tmp_path / 'x.txt')


def test_expression_text_is_exact():
    x0, x1 = sympy.symbols('x0 x1', real=True)
    e = sympy.Float(9.999999747378752e-06) * x0 + sympy.Float(0.1 + 0.2) * sympy.sin(x1) - sympy.Float(1e18)  # below MAX_CONSTANT (2**64)
    text = expression_to_text(e)
    assert '9.999999747378752e-06' in text
    assert Expression.parse(text).sympy_expr == e


def test_accuracy_rule():
    assert make_front().select('accuracy').complexity == 12


def test_pysr_scores_match_pysr_definition():
    # PySR: score_i = -log(loss_i / loss_{i-1}) / (c_i - c_{i-1}), first 0, zero loss -> inf
    s = pysr_scores([4.0, 2.0, 0.1, 0.0], [1, 3, 4, 6])
    assert s[0] == 0.0
    assert s[1] == pytest.approx(-math.log(2.0 / 4.0) / 2)
    assert s[2] == pytest.approx(-math.log(0.1 / 2.0) / 1)
    assert s[3] == math.inf


def test_best_rule_is_pysr_best():
    front = make_front()
    # losses within 1.5 x min (0.08 -> 0.12): complexities 4, 7, 12; scores:
    #   c=4: -log(0.1/2)/1 = 3.0, c=7: -log(0.09/0.1)/3 = 0.035, c=12: small -> pick c=4
    best = front.select('best')
    assert best.expression == '2.5*x0*x1'
    scores = front.scores('complexity')
    assert scores[2] == pytest.approx(math.log(20.0))
    # 'score' ignores the 1.5x threshold: same here; along latency the first steps differ
    assert front.select('score').expression == '2.5*x0*x1'
    assert front.select('best', axis='latency').expression == '2.5*x0*x1'


def test_best_rule_threshold_excludes_high_score_but_inaccurate():
    front = ParetoFront([
        FrontMember('1.0', 100.0, 1),
        FrontMember('x0', 1.0, 2),        # score log(100) = 4.6 but loss 1.0 > 1.5 * 0.5
        FrontMember('x0 + x1', 0.5, 5),   # score log(2)/3
    ])
    assert front.select('score').expression == 'x0'
    assert front.select('best').expression == 'x0 + x1'


def test_budget_rule():
    front = make_front()
    assert front.within_budget({'latency': 9}).expression == '2.5*x0*x1 - sin_lut(x2)'
    assert front.select(budget={'latency': 10, 'lut': 100}).expression == '2.5*x0*x1'
    assert front.within_budget({'complexity': 3}).expression == '2.5*x0'
    with pytest.raises(NoMemberWithinBudget, match='lowest'):
        front.within_budget({'latency': -1})
    with pytest.raises(NoMemberWithinBudget, match='bram'):
        front.within_budget({'bram': 1})


def test_nondominated_and_order():
    members = [
        FrontMember('x0', 1.0, 1, objective=5.0),
        FrontMember('x1', 2.0, 1, objective=6.0),   # dominated by x0
        FrontMember('x0*x1', 0.5, 3, objective=2.0),
        FrontMember('x0*x1', 0.5, 3, objective=2.0),  # duplicate
    ]
    nd = ParetoFront(members).nondominated()
    assert [m.expression for m in nd] == ['x0*x1']
    assert [m.objective for m in ParetoFront(members)] == [2.0, 2.0, 5.0, 6.0]


def test_member_accepts_sympy_and_expression():
    x0 = sympy.Symbol('x0', real=True)
    m = FrontMember(sympy.Float(1e-5) * x0, 0.1, 3)
    assert m.expression == '1e-05*x0'
    m2 = FrontMember(Expression.parse('sin_lut(x0)'), 0.1, 2)
    assert m2.expression == 'sin_lut(x0)'
