import numpy as np
import pytest
import sympy

from hls_gen import Design, Expression, ExpressionError, LutSpec, LutSpecError, Precision, PrecisionError
from hls_gen.ir import count_nodes, decompose


@pytest.mark.parametrize(
    'text',
    [
        "__import__('os').system('true')",
        'x0 +* x1',
        'foo(x0)',
        '',
        '   ',
        'x0.real',
        'x0[1]',
        'lambda: 1',
        '(lambda: 1)()',
        'sin(x0, x1)',
        'x0 if x1 else x2',
        'x0 ** x1',
        'log(-2)',
        'y1 + x0',
        "'abc'",
        'x0 ** 100',
        'sin(x=1)',
    ],
)
def test_bad_expressions_raise_clear_errors(text):
    with pytest.raises(ExpressionError) as e:
        Expression.parse(text)
    assert str(e.value)
    assert '\n' not in str(e.value)


def test_parse_builds_the_same_tree_as_sympy():
    e = Expression.parse('2.1*x0*x1 + sin_lut(x2) - x3**2')
    x0, x1, x2, x3 = sympy.symbols('x0:4', real=True)
    assert e.sympy_expr == sympy.Float(2.1) * x0 * x1 + sympy.Function('sin_lut')(x2) - x3**2
    assert e.variables == [0, 1, 2, 3]
    assert e.lut_functions == {'sin_lut'}


@pytest.mark.parametrize(
    'text, op',
    [
        ('square(x0)', 'square'),
        ('cube(x0)', 'cube'),
        ('x0**5', 'pow_int'),
        ('1/x0', 'inv'),
        ('sqrt_abs(x0)', 'sqrt_abs'),
        ('sqrt(x0)', 'sqrt'),
        ('log_abs(x0)', 'log_abs'),
        ('log(x0)', 'log'),
        ('pow_abs(x0, 1.5)', 'pow_abs'),
        ('abs(x0)', 'abs'),
        ('neg(x0)', 'neg'),
        ('exp(x0)', 'exp'),
        ('tanh(x0)', 'tanh'),
        ('cosh_lut(x0)', 'cosh_lut'),
        ('1/sqrt(x0)', 'inv'),
        ('pow_abs(x0, 0.25)', 'pow_abs'),
    ],
)
def test_every_operator_decomposes_to_its_table_name(text, op):
    assert decompose(Expression.parse(text).sympy_expr).op == op


def test_printed_form_round_trips_and_digest_is_stable():
    for text in ['2.1*x0*x1 + sin_lut(x2) - x3**2', 'log_abs(x0)/x1 + pow_abs(x2, 0.5)', 'exp(-x0**2)*cos(x1)',
                 'pow_abs(x0, 0.25) + 1/sqrt(x1)', 'pow_abs(x0, 1.5)*x1']:
        e = Expression.parse(text)
        again = Expression.parse(str(e))
        assert again.sympy_expr == e.sympy_expr
        assert again.digest() == e.digest()
        assert Expression.from_sympy(e.sympy_expr).digest() == e.digest()


def test_float_evaluation_matches_numpy():
    X = np.random.default_rng(1).uniform(0.5, 2, (50, 3))
    e = Expression.parse('2.5*x0*x1 - sin_lut(x2) + exp(0.3*x1) + log_abs(x0)')
    ref = 2.5 * X[:, 0] * X[:, 1] - np.sin(X[:, 2]) + np.exp(0.3 * X[:, 1]) + np.log(X[:, 0])
    np.testing.assert_allclose(e.evaluate(X), ref)
    assert count_nodes(e.sympy_expr) >= 10


@pytest.mark.parametrize('text', ['ap_fixed<4,9000>', 'ap_fixed<0,0>', 'ap_fixed<16>', 'fixed<16,6>', 'ap_fixed<a,b>',
                                  'ap_fixed<16,6,AP_FOO>', 'ap_fixed<100,6>'])
def test_bad_precisions(text):
    with pytest.raises(PrecisionError):
        Precision.parse(text)


def test_precision_parse_and_quantize():
    p = Precision.parse('ap_fixed<16,6>')
    assert (p.width, p.integer, p.signed, p.kif) == (16, 6, True, (1, 5, 10))
    assert str(p) == 'ap_fixed<16,6>'
    assert Precision.parse('ap_ufixed<8,3>').min_value == 0
    assert str(Precision.parse(' ap_fixed< 18 , 8 , AP_RND , AP_SAT >')) == 'ap_fixed<18,8,AP_RND,AP_SAT>'
    # AP_TRN floors, AP_WRAP wraps
    np.testing.assert_array_equal(p.quantize([2.1, -2.1, 32.0, -33.0]), [2.099609375, -2.1005859375, -32.0, 31.0])
    sat = Precision.parse('ap_fixed<16,6,AP_TRN,AP_SAT>')
    np.testing.assert_array_equal(sat.quantize([100.0, -100.0]), [sat.max_value, -32.0])


def test_lut_specs():
    s = LutSpec.parse('sin:1024:-4:4')
    assert (s.function, s.table_size, s.range_start, s.range_end, s.name) == ('sin', 1024, -4.0, 4.0, 'sin_lut')
    assert LutSpec.parse('exp') == LutSpec('exp', 1024, 0.0, 16.0)
    for bad in ['foo:1024:-4:4', 'sin:1:-4:4', 'sin:1024:4:-4', 'sin:x', 'sin:1024:-4']:
        with pytest.raises(LutSpecError):
            LutSpec.parse(bad)


def test_design_defaults_luts_and_digest():
    d = Design.build(['2.1*x0*x1 + sin_lut(x2) - x3**2', 'cos_lut(x0)'], 'ap_fixed<16,6>', ['sin:512:-8:8'])
    assert d.n_inputs == 4
    assert {s.name: (s.table_size, s.range_start) for s in d.luts} == {'sin_lut': (512, -8.0), 'cos_lut': (1024, -4.0)}
    same = Design.from_dict(d.to_dict())
    assert same.digest() == d.digest()
    assert Design.build(['x0'], 'ap_fixed<18,8>').digest() != Design.build(['x0'], 'ap_fixed<16,6>').digest()
    with pytest.raises(ExpressionError):
        Design.build(['x5'], n_inputs=2)


def test_text_round_trips_doubles_exactly():
    """sympy prints 53-bit floats with 15 digits; a design rebuilt from that text would differ in its last
    bits and digest (and da4ml may order its adders differently). ``text`` parses back to the same design."""
    import sympy

    from hls_gen import Design

    c = sympy.Float(0.0076041221618652344)
    e = Expression.from_sympy(-c * sympy.Symbol('x0', real=True) + sympy.Float(0.82665801048278809))
    assert '0.007604122161865234' in e.text, e.text
    assert Expression.parse(e.text).canonical == e.canonical
    d = Design.build([e], 'ap_fixed<16,6>')
    assert Design.from_dict(d.to_dict()).digest() == d.digest()
    assert Expression.parse('1e-30*x0 + 2.5').text == '1e-30*x0 + 2.5'
