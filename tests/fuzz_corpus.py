"""The fuzzed corpus of bad and odd input: Hypothesis strategies and the checks every input must pass.

Every input either works or is refused with srcost's error type (library) / a non-zero exit and one line
``error: ...`` on stderr (CLI). Never a traceback, never code run from the input: every payload that Python would
run creates the canary file ``CANARY``, which must never exist. Runs are bounded by a watchdog (``no_hang``): an
input that keeps a command busy for ``HANG_S`` seconds fails as a hang.

The examples are derandomized (a fixed seed; no example database), so the corpus is the same in every run.
"""

from __future__ import annotations

import os
import signal
import string
import tempfile
from contextlib import contextmanager
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from hls_gen.errors import SrcostError

HANG_S = 30  # an input that keeps one call busy this long is a hang

# One canary for the whole session; any executed payload creates it.
CANARY = Path(tempfile.gettempdir()) / f'srcost-fuzz-canary-{os.getpid()}'


def fuzz_settings(n: int) -> settings:
    """``n`` examples, derandomized, no database, no deadline (the watchdog bounds each call instead)."""
    return settings(max_examples=n, derandomize=True, database=None, deadline=None, print_blob=False,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                           HealthCheck.function_scoped_fixture, HealthCheck.data_too_large])


class Hang(Exception):
    """A call ran longer than HANG_S seconds."""


@contextmanager
def no_hang(seconds: float = HANG_S, what: str = ''):
    """Fail with :class:`Hang` when the body runs longer than ``seconds`` (SIGALRM; main thread only)."""
    def on_alarm(signum, frame):
        raise Hang(f'{what or "a call"} ran longer than {seconds} s')

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def refused_or_ok(fn, *args, **kwargs):
    """``fn(*args)``'s value, or None when it raised srcost's error type with a one-line message. Anything
    else (a bare ValueError, OverflowError, RecursionError...) propagates and fails the test."""
    with no_hang(what=getattr(fn, '__name__', 'call')):
        try:
            return fn(*args, **kwargs)
        except SrcostError as e:
            msg = str(e)
            assert msg.strip(), f'{type(e).__name__} with an empty message'
            return None


def assert_no_canary() -> None:
    assert not CANARY.exists(), f'code from a fuzzed input ran: {CANARY} exists'


def check_cli_result(result, what: str = '') -> bool:
    """A CliRunner result either succeeded (True) or failed the srcost way (False): a non-zero exit, no exception
    but SystemExit, and stderr of exactly one line (srcost's ``error: ...``) or click's own usage message (an
    option's value click itself refused before the command ran)."""
    assert_no_canary()
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        tb = ''.join(traceback.format_exception(result.exception))
        raise AssertionError(f'{what}: traceback\n{tb}')
    if result.exit_code == 0:
        return True
    err = result.stderr
    assert 'Traceback' not in err and 'Traceback' not in result.stdout, f'{what}: {err}'
    lines = [ln for ln in err.splitlines() if ln.strip()]
    if lines and lines[0].startswith('Usage:'):
        assert 'Error' in err, f'{what}: {err}'  # click's usage error: Usage, Try ... --help, the error box
        return False
    assert len(lines) == 1, f'{what}: expected one line on stderr, got {len(lines)}:\n{err}'
    assert lines[0].startswith('error: ') and len(lines[0]) > len('error: '), f'{what}: {lines[0]!r}'
    return False


# -- expression text ---------------------------------------------------------------------------------------
_PAYLOADS = (
    "__import__('pathlib').Path({c!r}).touch()",
    "open({c!r}, 'w')",
    "exec(\"open({c!r}, 'w')\")",
    "eval(\"open({c!r}, 'w')\")",
    "(lambda: open({c!r}, 'w'))()",
    "[open({c!r}, 'w') for _ in 'a']",
    "{{open({c!r}, 'w') for _ in 'a'}}",
    "{{k: open({c!r}, 'w') for k in 'a'}}",
    "(open({c!r}, 'w') for _ in 'a').__next__()",
    "x0.__class__.__init__.__globals__['os'].system('touch {c}')",
    "().__class__.__bases__[0].__subclasses__()",
    "getattr(__builtins__, 'open')({c!r}, 'w')",
    "f\"{{open({c!r}, 'w')}}\"",
    "(y := open({c!r}, 'w'))",
    "sin(x0) if open({c!r}, 'w') else x1",
    "x0 + open({c!r}, 'w')",
    "sin(open({c!r}, 'w'))",
    "os.system('touch {c}')",
)
# Python syntax of every other kind (with no side effect to watch): refused, or (a few) plain expressions
_SYNTAX = (
    "sympy.Symbol('x0')", "x0[0]", "x0[1:2]", "x0.real", "x0 @ x1", "x0 // x1", "x0 % x1", "x0 << 2", "x0 & x1", "~x0", "not x0",
    "x0 < x1", "x0 and x1", "x0 if x1 else x2", "*x0", "**x0", "await x0", "yield x0", "...", "1j", "2 + 3j",
    "'x0'", "b'x0'", "True", "None", "[x0, x1]", "(x0, x1)", "{{x0}}", "{{'a': x0}}", "sin(x=x0)", "sin(*[x0])",
    "x0 == x1", "x0 is x1", "x0 in x1", "sin", "sin(x0)(x1)", "(sin)(x0)", "x0.__dict__", "print(x0)",
)
_BAD_NAMES = ('x', 'X0', 'x-1', 'x01', 'x00', 'x0x', 'xx0', 'x_0', 'y0', 'x1000000', 'x256', 'x255', 'x' + '9' * 30,
              'x' + '9' * 5000, 'pi', 'E', 'e', 'I', 'oo', 'nan', 'inf', 'zoo', 'x٣', 'ｘ0', 'x0\u200b', 'θ',
              '__builtins__', 'os', 'sympy', 'self', 'lambda_', 'sin_lut', 'exp_lut', 'foo_lut', 'Abs')
_FUNCS = ('sin', 'cos', 'tan', 'exp', 'log', 'sqrt', 'sinh', 'cosh', 'tanh', 'abs', 'Abs', 'inv', 'neg', 'square',
          'cube', 'log_abs', 'sqrt_abs', 'sin_lut', 'cos_lut', 'exp_lut', 'log_lut', 'tanh_lut', 'sqrt_lut',
          'erf', 'asin', 'foo', 'abs_lut')
_CONSTANTS = ('0', '1', '-1', '0.5', '2.5e-3', '1e18', '1.8e19', '1.9e19', '1e300', '1e308', '1e309', '1e-300',
              '5e-324', '1e-400', '0.0', '-0.0', '18446744073709551615', '18446744073709551616', '9' * 400,
              '1' + '0' * 5000, '0x10', '0b101', '1_000', '1e', '.5', '5.', 'inf', 'nan', '1e18*1e18', '2**64',
              '2**16', '(-8)**0.5', '0**-1', 'exp(44)', 'exp(45)', 'exp(1000)', 'exp(exp(exp(exp(1000))))',
              'log(0)', 'log(-1)', 'sqrt(-1)', 'tan(pi/2)', '1/0', '1/exp(-1000)', 'cosh(1000)', 'exp(-1000)',
              'sin(1e18)', 'pi', 'E')


def canary_payloads() -> st.SearchStrategy[str]:
    """Python that creates the canary when run: each must be refused."""
    return st.sampled_from(_PAYLOADS).map(lambda p: p.format(c=str(CANARY)))


def python_syntax() -> st.SearchStrategy[str]:
    return st.sampled_from(_SYNTAX).map(lambda p: p.format(c=str(CANARY)))


@st.composite
def expression_trees(draw, depth: int = 4) -> str:
    """Well-formed-looking expression text: operators, functions known and unknown, constants of every size,
    variables and names that look like variables."""
    leaf = st.one_of(
        st.integers(0, 20).map(lambda i: f'x{i}'),
        st.sampled_from(_CONSTANTS),
        st.floats(allow_nan=False, allow_infinity=False).map(repr),
        st.integers(-(10**30), 10**30).map(str),
        st.sampled_from(_BAD_NAMES),
    )
    if depth <= 0 or draw(st.integers(0, 3)) == 0:
        return draw(leaf)
    kind = draw(st.integers(0, 4))
    a = draw(expression_trees(depth - 1))
    if kind == 0:
        return f'{draw(st.sampled_from(_FUNCS))}({a})'
    if kind == 1:
        return f'-({a})'
    if kind == 2:
        n = draw(st.sampled_from(('2', '3', '-1', '-2', '16', '17', '0.5', '-0.5', '1.5', 'x0', '100', '10**10')))
        op = draw(st.sampled_from(('**', '^')))
        return f'({a}){op}{n}'
    if kind == 3:
        return f'pow_abs({a}, {draw(st.sampled_from(("0.5", "2", "-3", "1e300", "x1", "2.5")))})'
    b = draw(expression_trees(depth - 1))
    return f'({a}) {draw(st.sampled_from(("+", "-", "*", "/")))} ({b})'


def nested(kind: str, n: int) -> str:
    """Deep nesting of one kind, ``n`` levels."""
    if kind == 'call':
        return 'sin(' * n + 'x0' + ')' * n
    if kind == 'parens':
        return '(' * n + 'x0' + ')' * n
    if kind == 'unary':
        return '-' * n + 'x0'
    if kind == 'sum':
        return '+'.join(f'x{i % 16}' for i in range(n))
    if kind == 'product':
        return '*'.join(['x0'] * n)
    if kind == 'power':
        return '**'.join(['x0'] + ['2'] * n)
    if kind == 'const_exp':
        return 'exp(' * n + '1' + ')' * n
    if kind == 'unbalanced':
        return 'sin(' * n + 'x0'
    raise ValueError(kind)


NESTING = ('call', 'parens', 'unary', 'sum', 'product', 'power', 'const_exp', 'unbalanced')

_ALPHABET = st.characters(codec='utf-8', exclude_categories=('Cs',)) | st.sampled_from('\x00\t\n\r\x0b\x0c()+-*/^., ')


def expression_text() -> st.SearchStrategy[str]:
    """Expression text of every kind: trees, payloads, unicode and control characters, deep nesting, and
    their mixtures."""
    return st.one_of(
        expression_trees(),
        canary_payloads(),
        python_syntax(),
        st.text(_ALPHABET, max_size=60),
        st.text(string.printable, max_size=80),
        st.tuples(st.sampled_from(NESTING), st.integers(1, 3000)).map(lambda t: nested(*t)),
        st.tuples(expression_trees(2), canary_payloads(), st.sampled_from(('+', '*', ','))).map(
            lambda t: f'{t[0]} {t[2]} {t[1]}'),
        st.tuples(expression_trees(2), st.text(_ALPHABET, max_size=5)).map(lambda t: t[0] + t[1]),
    )


# -- precisions and LUT specs ------------------------------------------------------------------------------
_INTS = st.one_of(st.integers(-3, 70), st.sampled_from((0, 1, 2, 64, 65, 379, 9000, 2**31, -(2**63), 10**30)))


@st.composite
def precision_text(draw) -> str:
    if draw(st.integers(0, 5)) == 0:
        return draw(st.text(_ALPHABET, max_size=30))
    kind = draw(st.sampled_from(('ap_fixed', 'ap_ufixed', 'ap_int', 'ap_fixed ', 'AP_FIXED', 'fixed', '')))
    parts = [str(draw(_INTS)), str(draw(_INTS))]
    if draw(st.booleans()):
        parts.append(draw(st.sampled_from(('AP_RND', 'AP_TRN', 'ap_rnd_conv', 'AP_FOO', '', '1'))))
        if draw(st.booleans()):
            parts.append(draw(st.sampled_from(('AP_SAT', 'AP_WRAP', 'AP_SAT_SYM', 'AP_BAR', ''))))
    body = draw(st.sampled_from((',', ', ', ';', ',,'))).join(parts)
    open_, close = draw(st.sampled_from((('<', '>'), ('<', ''), ('(', ')'), ('<<', '>>'), ('<', '>>'))))
    return f'{kind}{open_}{body}{close}'


@st.composite
def lut_text(draw) -> str:
    if draw(st.integers(0, 5)) == 0:
        return draw(st.text(_ALPHABET, max_size=30))
    fn = draw(st.sampled_from(('sin', 'cos', 'tan', 'exp', 'log', 'sqrt', 'tanh', 'sinh', 'cosh', 'abs', 'foo',
                               'sin_lut', '', 'SIN')))
    n = draw(st.sampled_from(('1024', '2', '1', '0', '-4', '65536', '65537', '1e3', '10' * 20, 'x', '')))
    ends = draw(st.sampled_from(('-4', '4', '0', '-0', '1e300', '-1e300', 'inf', '-inf', 'nan', '1e-300', '32',
                                 '-32', '', 'a', '18446744073709551616')))
    end2 = draw(st.sampled_from(('4', '-4', '8', '0', 'inf', 'nan', '1e20', '1e-300', '')))
    shape = draw(st.integers(0, 3))
    return [fn, f'{fn}:{n}', f'{fn}:{n}:{ends}:{end2}', f'{fn}:{n}:{ends}'][shape]


# -- files ------------------------------------------------------------------------------------------------
def _csv(rows) -> bytes:
    return ('\n'.join(','.join(map(str, r)) for r in rows) + '\n').encode()


@st.composite
def data_file(draw) -> tuple[str, bytes]:
    """(file suffix, bytes) of a data table: empty, one row, one column, non-numeric, NaN/inf, wrong encodings,
    binary, ragged, many columns, valid."""
    kind = draw(st.sampled_from(('empty', 'header', 'one_row', 'two_rows', 'one_column', 'non_numeric', 'nan',
                                 'inf', 'latin1', 'utf16', 'binary', 'nul', 'ragged', 'wide', 'const', 'valid',
                                 'quoted', 'dup_cols', 'tsv', 'npz_garbage', 'parquet_garbage', 'comment_only')))
    n = draw(st.integers(3, 30))
    if kind == 'empty':
        return '.csv', b''
    if kind == 'header':
        return '.csv', b'x0,x1,y\n'
    if kind == 'comment_only':
        return '.csv', b'# nothing here\n# at all\n'
    if kind == 'one_row':
        return '.csv', _csv([('x0', 'y'), (1.5, 2.0)])
    if kind == 'two_rows':
        return '.csv', _csv([('x0', 'y'), (1.5, 2.0), (0.5, 1.0)])
    if kind == 'one_column':
        return '.csv', _csv([('y',)] + [(i,) for i in range(n)])
    if kind == 'non_numeric':
        return '.csv', _csv([('x0', 'y')] + [(draw(st.sampled_from(('a', '1', 'x0', '--', '1e', ''))), i) for i in range(n)])
    if kind in ('nan', 'inf'):
        bad = draw(st.sampled_from(('nan', 'NaN', '', 'inf', '-inf', '1e999') if kind == 'nan' else ('inf', '-inf', '1e400')))
        return '.csv', _csv([('x0', 'y')] + [(bad if i == n // 2 else i, i * 2) for i in range(n)])
    if kind == 'latin1':
        return '.csv', 'x0,y,é\n'.encode('latin-1') + _csv([(i, i, i) for i in range(n)])
    if kind == 'utf16':
        return '.csv', _csv([('x0', 'y')] + [(i, 2 * i) for i in range(n)]).decode().encode('utf-16')
    if kind == 'binary':
        return draw(st.sampled_from(('.csv', '.tsv', '.parquet', '.npz'))), draw(st.binary(min_size=1, max_size=300))
    if kind == 'nul':
        return '.csv', b'x0,y\n1,\x002\n3,4\n5,6\n'
    if kind == 'ragged':
        return '.csv', b'x0,y\n1,2,3\n4\n5,6\n7,8\n'
    if kind == 'wide':
        cols = draw(st.sampled_from((256, 257, 300, 2000)))
        return '.csv', _csv([[f'c{j}' for j in range(cols)] + ['y']] + [list(range(cols)) + [i] for i in range(3)])
    if kind == 'const':
        return '.csv', _csv([('x0', 'y')] + [(i, 7) for i in range(n)])
    if kind == 'quoted':
        return '.csv', b'"x0","y"\n"1","2"\n"3","4,5"\n"6","7"\n'
    if kind == 'dup_cols':
        return '.csv', _csv([('x0', 'y', 'y')] + [(i, i, i + 1) for i in range(n)])
    if kind == 'tsv':
        return '.tsv', ('x0\ty\n' + ''.join(f'{i}\t{i * 3}\n' for i in range(n))).encode()
    if kind == 'npz_garbage':
        return '.npz', b'PK\x03\x04' + draw(st.binary(max_size=100))
    if kind == 'parquet_garbage':
        return '.parquet', b'PAR1' + draw(st.binary(max_size=100)) + b'PAR1'
    vals = draw(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=n, max_size=n))
    return '.csv', _csv([('x0', 'y')] + [(v, v * 2 + i) for i, v in enumerate(vals)])


_CAL_HEADER = ('part', 'precision', 'operator', 'latency_cycles')


@st.composite
def calibration_file(draw) -> tuple[str, bytes]:
    """(suffix, bytes) of a calibration to import: published CSV/JSON, mutated field by field, and junk."""
    kind = draw(st.sampled_from(('csv', 'csv', 'json', 'json', 'binary', 'empty', 'text', 'utf16', 'json_junk')))
    precision = draw(st.one_of(st.sampled_from(('"ap_fixed<16,6>"', '"ap_fixed<18,8>"')), precision_text().map(repr)))
    operator = draw(st.sampled_from(('sin', '+', '*', 'pow_abs', 'exp', 'foo', '', 'sin_lut', "__import__('os')")))
    latency = draw(st.sampled_from(('3', '0', '-1', '2.5', 'inf', 'nan', '1e300', '9' * 30, 'x', '', '2147483647',
                                    '2147483648', 'true', 'null')))
    if kind == 'csv':
        header = list(_CAL_HEADER)
        if draw(st.booleans()):
            header.append('clock_period_ns')
        if draw(st.integers(0, 4)) == 0:
            header.remove(draw(st.sampled_from(_CAL_HEADER)))
        row = {'part': 'xcvu9p-flga2577-2-e', 'precision': precision, 'operator': operator, 'latency_cycles': latency,
               'clock_period_ns': draw(st.sampled_from(('5', '0', '-1', 'inf', 'x', '')))}
        lines = [','.join(header)] + [','.join(row[h] for h in header)] * draw(st.integers(0, 3))
        if draw(st.integers(0, 4)) == 0:
            lines.append(draw(st.sampled_from(('a,b,c,d,e,f', 'a', '"unclosed', ','))))
        return '.csv', ('\n'.join(lines) + '\n').encode()
    if kind in ('json', 'json_junk'):
        if kind == 'json_junk':
            return '.json', draw(st.sampled_from((b'{', b'[]', b'{}', b'null', b'[1, 2]', b'{"precision": 3}',
                                                  b'{"complexity_of_operators": [], "precision": "ap_fixed<16,6>"}',
                                                  b'"text"', b'1e999', b'[' * 5000 + b']' * 5000)))
        clock = draw(st.sampled_from(('', ', "clock_period_ns": 5', ', "clock_period_ns": "x"', ', "clock_period_ns": -1',
                                      ', "clock_period_ns": 1e999')))
        lat = latency if latency not in ('x', '', 'inf', 'nan') else f'"{latency}"'
        op = operator.replace('"', '\\"')
        p = precision if precision.startswith('"') else '"ap_fixed<16,6>"'
        return '.json', (f'{{"part": "xcvu9p-flga2577-2-e", "precision": {p}, '
                         f'"complexity_of_operators": {{"{op}": {lat}}}{clock}}}').encode()
    if kind == 'binary':
        return draw(st.sampled_from(('.csv', '.json', ''))), draw(st.binary(min_size=1, max_size=200))
    if kind == 'empty':
        return draw(st.sampled_from(('.csv', '.json'))), b''
    if kind == 'utf16':
        return '.csv', ('part,precision,operator,latency_cycles\nx,"ap_fixed<16,6>",sin,3\n').encode('utf-16')
    return '.csv', draw(st.text(_ALPHABET, max_size=100)).encode('utf-8', 'surrogatepass')


@st.composite
def front_file(draw) -> tuple[str, bytes]:
    """(suffix, bytes) of a front for ``srcost validate``: srcost's own formats, mutated, and junk."""
    expr = draw(expression_text())
    kind = draw(st.sampled_from(('json', 'csv', 'junk', 'binary', 'empty')))
    import json

    if kind == 'json':
        member = {'expression': expr, 'loss': draw(st.sampled_from((0.1, -1, None, 'x', 1e999))),
                  'complexity': draw(st.sampled_from((3, 0, -1, None, 'x', 2.5)))}
        if draw(st.booleans()):
            member[draw(st.sampled_from(('cost', 'metrics', 'unknown_field', 'objective')))] = draw(
                st.sampled_from(({}, [], 'x', 1, {'lut': 'x'}, None)))
        doc = {'format': draw(st.sampled_from(('srcost-front', 'other', None))), 'version': draw(st.sampled_from((1, 99, 'x'))),
               'metadata': draw(st.sampled_from(({}, {'precision': 'ap_fixed<16,6>'}, {'precision': 'bad'}, [], None))),
               'members': draw(st.sampled_from(([member], [], [member, member], 'x', [1])))}
        return '.json', json.dumps(doc).encode()
    if kind == 'csv':
        head = draw(st.sampled_from(('# srcost-front {"version": 1, "metadata": {}}\n', '# srcost-front {bad\n', '', '#\n')))
        cols = draw(st.sampled_from(('expression,loss,complexity', 'expr,loss', 'expression')))
        quoted = '"' + expr.replace('"', '""') + '"'
        row = {'expression,loss,complexity': f'{quoted},0.1,3', 'expr,loss': f'{quoted},0.1', 'expression': quoted}[cols]
        return '.csv', (head + cols + '\n' + row + '\n').encode('utf-8', 'surrogatepass')
    if kind == 'junk':
        return draw(st.sampled_from(('.json', '.csv'))), draw(st.text(_ALPHABET, max_size=80)).encode('utf-8', 'surrogatepass')
    if kind == 'binary':
        return draw(st.sampled_from(('.json', '.csv'))), draw(st.binary(min_size=1, max_size=200))
    return draw(st.sampled_from(('.json', '.csv'))), b''
