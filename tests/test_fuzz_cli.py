"""Fuzzed input through the commands, in process (typer's CliRunner, for volume) and as real processes (a few):
``predict``, ``synth``, ``search``, ``validate``, ``import-calibration``, ``profile-ops``. Each run exits 0, or
non-zero with one line on stderr naming the problem (or click's usage message for an option click itself
refused); never a traceback, never code run from the input, never a half-written output or store.

Nothing here synthesizes: ``synth``, ``validate`` and ``profile-ops`` get only input that must be refused before
any tool runs (the test checks that first, with the library), ``search`` only data that ``load_table`` refuses
or options refused before the search starts.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest
import typer.main
from fuzz_corpus import (
    CANARY,
    HANG_S,
    assert_no_canary,
    calibration_file,
    check_cli_result,
    data_file,
    expression_text,
    front_file,
    fuzz_settings,
    lut_text,
    no_hang,
    precision_text,
)
from hypothesis import event, given
from hypothesis import strategies as st
from typer.testing import CliRunner

from hls_gen.errors import SrcostError
from srcost.cli import app

RUNNER = CliRunner()
# typer's CliRunner.invoke builds the click command anew on every call (most of a refused run's time): build it
# once and run it in the runner's isolation (its captured stdout and stderr), as invoke does
COMMAND = typer.main.get_command(app)


def run_cli(args: list[str]) -> SimpleNamespace:
    """What CliRunner.invoke returns (exit_code, exception, stdout, stderr), on the command built once."""
    exception, code = None, 0
    with RUNNER.isolation() as (out, err, _):
        try:
            COMMAND.main(args=args, prog_name='srcost')
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        except Exception as e:  # noqa: BLE001 - reported by check_cli_result, with its traceback
            exception, code = e, 1
        sys.stdout.flush()
        sys.stderr.flush()
        stdout, stderr = out.getvalue().decode(), err.getvalue().decode()
    return SimpleNamespace(exit_code=code, exception=exception, stdout=stdout, stderr=stderr)
PRECISIONS = st.one_of(st.sampled_from(('ap_fixed<16,6>', 'ap_fixed<8,3>', 'ap_ufixed<12,4>')), precision_text())
PARTS = st.sampled_from(('xcvu9p-flga2577-2-e', 'x; touch /tmp/x', '', 'xc7a35t-cpg236-1'))
NUMBERS = st.sampled_from(('5', '0', '-1', 'nan', 'inf', '1e-300', 'abc', '', '1e400', '2.5'))
INTS = st.sampled_from(('1', '0', '-1', '3', '256', '257', '1000000', 'abc', '', '1.5', str(2**63)))


def invoke(args: list[str], what: str = ''):
    with no_hang(what=what or ' '.join(args[:2])):
        result = run_cli(args)
    return check_cli_result(result, what or repr(args)[:300])


@st.composite
def design_options(draw) -> list[str]:
    """Options of ``synth``/``predict`` that shape the design."""
    opts: list[str] = []
    if draw(st.booleans()):
        opts += ['--precision', draw(PRECISIONS)]
    for spec in draw(st.lists(lut_text(), max_size=2)):
        opts += ['--lut', spec]
    if draw(st.integers(0, 3)) == 0:
        opts += ['--n-inputs', draw(INTS)]
    if draw(st.integers(0, 3)) == 0:
        opts += ['--clock-period', draw(NUMBERS)]
    if draw(st.integers(0, 4)) == 0:
        opts += ['--part', draw(PARTS)]
    return opts


def _design_or_none(exprs, opts):
    """The design ``synth`` would build from these arguments, or None when it refuses them (the library call
    the command makes)."""
    from srcost.options import design_from_options

    got = dict(precision='ap_fixed<16,6>', lut=[], part='xcvu9p-flga2577-2-e', clock=5.0, n_inputs=None)
    it = iter(opts)
    for key in it:
        value = next(it)
        if key == '--precision':
            got['precision'] = value
        elif key == '--lut':
            got['lut'].append(value)
        elif key == '--part':
            got['part'] = value
        elif key == '--clock-period':
            try:
                got['clock'] = float(value)
            except ValueError:
                return None
        elif key == '--n-inputs':
            try:
                got['n_inputs'] = int(value)
            except ValueError:
                return None
    if not exprs:
        return None
    try:
        return design_from_options(exprs, got['precision'], got['lut'], got['part'], got['clock'], got['n_inputs'])
    except SrcostError:
        return None


@fuzz_settings(150)
@given(st.lists(expression_text(), min_size=1, max_size=3), design_options(),
       st.sampled_from(('open', 'vivado_hls', 'nope', '')), st.sampled_from(('auto', 'additive', 'analytic', 'nope')),
       st.booleans())
def test_predict_answers_or_refuses_in_one_line(exprs, opts, backend, model, as_json):
    args = ['predict', *opts, '--backend', backend, '--model', model, *(['--json'] if as_json else []), '--', *exprs]
    invoke(args)


@fuzz_settings(120)
@given(st.lists(expression_text(), min_size=0, max_size=3), design_options(),
       st.sampled_from(('open', 'open', 'nope', '', 'vivado_hls')), st.sampled_from(('600', '0', '-1', 'nan')))
def test_synth_refuses_bad_designs_before_any_tool_runs(exprs, opts, backend, timeout):
    design = _design_or_none(exprs, opts)
    if design is not None and backend in ('open', 'vivado_hls') and float(timeout) > 0:
        event('not run: a valid design would synthesize')
        return  # a valid design: it would synthesize, which this corpus never does
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / 'out'
        before = set(os.listdir(tempfile.gettempdir()))
        ok = invoke(['synth', *opts, '--backend', backend, '--timeout', timeout, '--out', str(out), '--', *exprs])
        assert not ok and not out.exists()
        left = {n for n in set(os.listdir(tempfile.gettempdir())) - before if n.startswith('srcost-synth-')}
        assert not left, f'synth left {left}'


@fuzz_settings(80)
@given(data_file(), st.sampled_from(('y', 'x0', 'nope', '')))
def test_search_refuses_bad_data_in_one_line(file, target):
    from sr_search.data import load_table

    suffix, content = file
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f'data{suffix}'
        path.write_bytes(content)
        try:
            load_table(path, target)
            event('not run: data a search would run on')
            return  # data a search would run on
        except SrcostError:
            pass
        out = Path(tmp) / 'front.json'
        ok = invoke(['search', str(path), '--target', target, '--budget-seconds', '1', '--out', str(out)])
        assert not ok and not out.exists()


# Options `srcost search` refuses before it searches (the regressor's parameters, --objective and --out are
# checked before the data is read).
_SEARCH_BAD_OPTIONS = [
    (['--precision', 'bad'], None),
    (['--task', 'nope'], None),
    (['--backend', 'nope'], None),
    (['--objective', 'lut=x'], None),
    (['--objective', 'nope'], None),
    (['--objective', 'lut=inf'], None),
    (['--engine', 'nope'], None),
    (['--unary-operators', 'foo'], None),
    (['--binary-operators', '%'], None),
    (['--maxsize', '-1'], None),
    (['--generations', '0'], None),
    (['--budget-seconds', '-1'], None),
    (['--out', 'front.txt'], None),
]


@pytest.mark.parametrize('opts', [
    pytest.param(o, id=' '.join(o), marks=[pytest.mark.xfail(strict=True, raises=AssertionError, reason=k)] if k else [])
    for o, k in _SEARCH_BAD_OPTIONS])
def test_search_refuses_bad_options_in_one_line(tmp_path, monkeypatch, opts):
    monkeypatch.chdir(tmp_path)
    data = tmp_path / 'data.csv'
    data.write_text('x0,x1,y\n' + ''.join(f'{i},{i % 7},{2 * i + i % 7}\n' for i in range(30)))
    args = ['search', str(data), '--target', 'y', '--budget-seconds', '0.5', '--generations', '2', *opts]
    if '--out' not in opts:
        args += ['--out', str(tmp_path / 'front.json')]
    assert not invoke(args)
    assert sorted(os.listdir(tmp_path)) == ['data.csv']


def _front_or_none(path: Path):
    from srcost.commands.validate import load_front

    try:
        return load_front(path)
    except SrcostError:
        return None


@fuzz_settings(120)
@given(st.one_of(front_file().map(lambda f: ('front', f)), st.lists(expression_text(), min_size=1, max_size=3).map(
       lambda e: ('exprs', e))), st.sampled_from(('open', 'nope', 'open')), st.sampled_from(('trace', 'nope')),
       st.sampled_from(('auto', 'nope')), st.sampled_from(('auto', 'none')), st.sampled_from((None, '0', '1')),
       st.one_of(st.none(), data_file()))
def test_validate_refuses_bad_input_before_synthesis(inputs, backend, emulation, task, predict, max_designs, data):
    from hls_gen import Design
    from srcost.commands.validate import load_data

    kind, value = inputs
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if kind == 'front':
            path = tmp / f'front{value[0]}'
            path.write_bytes(value[1])
            args = [str(path)]
            front = _front_or_none(path)
            refused = front is None or not front[0]
            if not refused:
                try:
                    [Design.build([e]) for e in front[0]]
                except SrcostError:
                    refused = True
        else:
            args = list(value)
            try:
                Design.build(args)
                refused = any(Path(a).suffix.lower() in ('.csv', '.json') for a in args)
            except SrcostError:
                refused = True
        opts = ['--backend', backend, '--emulation', emulation, '--task', task, '--predict', predict]
        if max_designs is not None:
            opts += ['--max-designs', max_designs]
            refused = refused or max_designs == '0'
        if data is not None:
            d = tmp / f'data{data[0]}'
            d.write_bytes(data[1])
            opts += ['--data', str(d), '--target', 'y']
            try:
                load_data(d, ['y'])
            except (SrcostError, Exception):  # typer.BadParameter too
                refused = True
        refused = refused or backend == 'nope' or emulation == 'nope' or task == 'nope'
        if not refused:
            event('not run: it would synthesize')
            return  # it would synthesize
        work = tmp / 'cwd'
        work.mkdir()
        old = os.getcwd()
        os.chdir(work)
        try:
            ok = invoke(['validate', *opts, '--', *args])
        finally:
            os.chdir(old)
        assert not ok
        assert os.listdir(work) == [], f'validate left {os.listdir(work)}'


@fuzz_settings(120)
@given(calibration_file(), st.sampled_from((None, '5', '0', '-1', 'nan', 'x')), st.booleans())
def test_import_calibration_imports_whole_or_leaves_no_store(file, clock, as_json):
    suffix, content = file
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f'cal{suffix}'
        path.write_bytes(content)
        db = Path(tmp) / 'store.db'
        args = ['import-calibration', str(path), '--db', str(db), *(['--json'] if as_json else [])]
        if clock is not None:
            args += ['--clock', clock]
        ok = invoke(args)
        if not ok:
            assert not db.exists()
        else:
            from profiler.store import CalibrationStore

            with CalibrationStore(db) as store:
                assert store.count() >= 1


_PROFILE_BAD = st.sampled_from((
    ['--ops', 'nope'], ['--ops', "__import__('os')"], ['--precisions', 'bad'],
    ['--precisions', 'ap_fixed<4,9000>'], ['--lut-sizes', 'x'], ['--lut-sizes', '0'], ['--lut-sizes', '1e9'],
    ['--lut-range', 'sin:a:b'], ['--lut-range', 'sin'], ['--lut-range', 'foo:-1:1'], ['--lut-range', 'sin:4:-4'],
    ['--implementations', 'nope'], ['--backend-opt', 'novalue'], ['--backend', 'nope'], ['--backend', ''],
    ['--jobs', '0'], ['--timeout', '0'], ['--batch-size', '0'], ['--clock', '0'], ['--clock', 'nan'],
    ['--part', 'x; touch /tmp/x'],
))
# Options that keep a bad one bad (no --ops or --implementations: those widen a selection another one empties)
_PROFILE_OTHER = st.sampled_from((
    [], ['--precisions', 'ap_fixed<16,6>'], ['--lut-sizes', '256'], ['--jobs', '1'], ['--no-progress'], ['--json'],
    ['--force'], ['--clock', '5'],
))


@fuzz_settings(80)
@given(_PROFILE_BAD, st.lists(_PROFILE_OTHER, max_size=3))
def test_profile_ops_refuses_bad_options_before_profiling(bad, other):
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / 'store.db'
        work = Path(tmp) / 'work'
        args = ['profile-ops', *[a for o in other for a in o], *bad, '--db', str(db), '--workdir', str(work)]
        assert not invoke(args)
        assert not db.exists() and not work.exists()


def test_every_command_has_help():
    for cmd in ('synth', 'predict', 'search', 'validate', 'import-calibration', 'profile-ops', 'ops', 'fit'):
        assert invoke([cmd, '--help']), cmd


def test_srcost_serve_endpoints_are_fuzzed_here():
    """The place for `srcost serve`'s endpoints (srcost/service*): the corpus above, sent to /v1 over HTTP, each
    answered with a 4xx and a one-line JSON error or a result; never a 500."""
    pytest.skip('not written yet: the corpus is not sent to srcost serve; tests/test_service.py checks its bad expressions (422), '
                'limits (413/422) and tokens (401) case by case')


# -- real processes ---------------------------------------------------------------------------------------
_ISSUE_COMMANDS = [
    (['predict', '--precision', 'ap_fixed<16,6>', '--', 'exp(exp(exp(exp(1000))))'], 'exp(1000)'),
    (['search', 'one.csv', '--target', 'y'], 'at least'),
    (['import-calibration', 'bad.csv', '--db', 'store.db'], 'not UTF-8'),
    (['synth', '--precision', 'ap_fixed<16,6>', '--', 'x1000000'], 'x1000000'),
    (['predict', '--', f"__import__('pathlib').Path({str(CANARY)!r}).touch()"], 'named operators'),
    (['validate', '--', 'x0**854'], 'integer power'),
]


@pytest.mark.parametrize('args, needle', _ISSUE_COMMANDS, ids=[a[0] + ' ' + a[-1][:20] for a, _ in _ISSUE_COMMANDS])
def test_real_processes_exit_with_one_line(tmp_path, args, needle):
    (tmp_path / 'one.csv').write_text('x0,y\n1.5,2.0\n')
    (tmp_path / 'bad.csv').write_bytes(bytes(range(256)) * 4)
    before = sorted(os.listdir(tmp_path))
    r = subprocess.run([sys.executable, '-m', 'srcost', *args], cwd=tmp_path, capture_output=True, text=True,
                       timeout=HANG_S * 4)  # the interpreter's start-up and imports come on top of the command
    assert r.returncode != 0
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith('error: ') and needle in lines[0], r.stderr
    assert r.stdout == ''
    assert sorted(os.listdir(tmp_path)) == before  # no store, front, project or work folder left behind
    assert_no_canary()
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
    assert peak_kib < 2 * 1024 * 1024, f'a srcost process peaked at {peak_kib / 1024:.0f} MiB'
