"""The PySR engine: ``PySRRegressor`` arguments from srcost settings, running it where Julia exists,
and importing its ``hall_of_fame.csv`` as a :class:`~sr_search.front.ParetoFront`.

pysr is never imported at module import time (its import installs and starts Julia). Operators are
written with the operator table's ``pysr_name``; lookup-table functions are declared the way hls4ml's
``init_pysr_lut_functions`` (``hls4ml/utils/symbolic_utils.py``) declares them: a Julia
``math_lut`` helper plus one inline definition per LUT function, e.g.
``sin_lut(x) = math_lut(sin, x, N=1024, range_start=-4, range_end=4)``.
Equations read back from PySR are parsed with :meth:`hls_gen.Expression.parse` (no ``eval``, no
``sympy.parse_expr``).
"""

from __future__ import annotations

import csv
import inspect
import io
import math
import re
import tempfile
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from hls_gen.errors import ExpressionError, ToolNotFound
from hls_gen.expression import Expression, lut_symbol
from hls_gen.ir import count_nodes
from hls_gen.lut import LutSpec
from hls_gen.operators import LUT_FUNCTIONS, get_operator

from .front import FrontFormatError, FrontMember, ParetoFront
from .pysr_params import PYSR_REGRESSOR_PARAMS

# names PySR maps to sympy by itself; other operators get an ``extra_sympy_mappings`` entry
_PYSR_BUILTIN_SYMPY = {
    '+', '-', '*', '/', 'neg', 'square', 'cube', 'abs', 'inv', 'sqrt', 'log', 'exp',
    'sin', 'cos', 'tan', 'sinh', 'cosh', 'tanh',
}
_HOF_FLOAT32 = re.compile(r'(?<=[0-9.])f([+-]?\d+)\b')  # Julia Float32 literal: 2.5f0 -> 2.5e0


class PySRUnavailable(ToolNotFound):
    """pysr (or the Julia it needs) cannot be imported here."""


def pysr_operator_name(name: str) -> str:
    """PySR's name of a srcost operator (LUT functions keep their ``<fn>_lut`` name)."""
    if name in LUT_FUNCTIONS:
        return name
    try:
        op = get_operator(name)
    except KeyError as e:
        raise ValueError(str(e.args[0])) from None
    if op.pysr_name is None:
        raise ValueError(f'operator {name!r} has no PySR equivalent')
    return op.pysr_name


def lut_julia_definition(spec: LutSpec | str) -> str:
    """The inline Julia definition of a LUT function, as hls4ml registers it with PySR."""
    spec = LutSpec.parse(spec)
    return (
        f'{spec.name}(x) = math_lut({spec.function}, x, N={spec.table_size}, '
        f'range_start={spec.range_start!r}, range_end={spec.range_end!r})'
    )


def _lut_specs(unary: Sequence[str], luts: Mapping[str, LutSpec | str] | Iterable[LutSpec | str] | None) -> dict[str, LutSpec]:
    given: dict[str, LutSpec] = {}
    if luts:
        items = luts.values() if isinstance(luts, Mapping) else luts
        for s in items:
            spec = LutSpec.parse(s)
            given[spec.name] = spec
    out = {}
    for name in unary:
        if name in LUT_FUNCTIONS:
            out[name] = given.get(name) or LutSpec.default(LUT_FUNCTIONS[name].name)
    return out


def default_nested_constraints(unary_pysr_names: Sequence[str]) -> dict[str, dict[str, int]]:
    """No math function inside itself, and at most one level of another function inside it."""
    funcs = [n for n in unary_pysr_names if n not in ('neg', 'square', 'cube')]
    return {f: {g: (0 if g == f else 1) for g in funcs} for f in funcs}


def build_pysr_kwargs(
    *,
    binary_operators: Sequence[str] = ('+', '-', '*', '/'),
    unary_operators: Sequence[str] = (),
    maxsize: int = 20,
    niterations: int = 40,
    random_state: int | None = None,
    complexity_of_operators: Mapping[str, float] | None = None,
    luts: Mapping[str, LutSpec | str] | Iterable[LutSpec | str] | None = None,
    nested_constraints: Mapping[str, Mapping[str, int]] | str | None = 'default',
    constraints: Mapping[str, object] | None = None,
    timeout_in_seconds: float | None = None,
    model_selection: str = 'best',
    populations: int | None = None,
    population_size: int | None = None,
    extra: Mapping[str, object] | None = None,
) -> dict:
    """Keyword arguments for ``pysr.PySRRegressor`` (all valid names of its ``__init__``).

    ``complexity_of_operators`` is the calibration: srcost operator names (``'log_abs'``,
    ``'sin_lut'``) to a cost; ``'var'`` and ``'const'`` set ``complexity_of_variables`` /
    ``complexity_of_constants``. A LUT function with no entry of its own inherits its math function's.
    """
    if not binary_operators and not unary_operators:
        raise ValueError('no operators given')
    binary: list[str] = []
    for name in binary_operators:
        if name in LUT_FUNCTIONS or get_operator(name).arity != 2:
            raise ValueError(f'{name!r} is not a binary operator')
        binary.append(pysr_operator_name(name))
    unary_names: list[str] = []
    for name in unary_operators:
        if name not in LUT_FUNCTIONS and get_operator(name).arity != 1:
            raise ValueError(f'{name!r} is not a unary operator')
        unary_names.append(pysr_operator_name(name))
    specs = _lut_specs(list(unary_operators), luts)
    unary_decl = [lut_julia_definition(specs[n]) if n in specs else n for n in unary_names]

    kwargs: dict = {
        'model_selection': model_selection,
        'binary_operators': binary,
        'unary_operators': unary_decl,
        'maxsize': int(maxsize),
        'niterations': int(niterations),
    }
    used = set(binary) | set(unary_names)
    if complexity_of_operators:
        comp: dict[str, float] = {}
        for key, value in complexity_of_operators.items():
            if key in ('var', 'variable', 'variables'):
                kwargs['complexity_of_variables'] = float(value)
                continue
            if key in ('const', 'constant', 'constants'):
                kwargs['complexity_of_constants'] = float(value)
                continue
            pname = pysr_operator_name(key)
            if pname in used:
                comp[pname] = float(value)
        for lut_name, spec in specs.items():  # a LUT without its own cost inherits its function's
            if lut_name not in comp and spec.function in complexity_of_operators:
                comp[lut_name] = float(complexity_of_operators[spec.function])
        for k, v in comp.items():
            if not math.isfinite(v) or v <= 0:
                raise ValueError(f'complexity of {k!r} must be a positive finite number, got {v}')
        if comp:
            kwargs['complexity_of_operators'] = comp
    if nested_constraints == 'default':
        nested = default_nested_constraints(unary_names)
        if nested:
            kwargs['nested_constraints'] = nested
    elif nested_constraints:
        kwargs['nested_constraints'] = {
            pysr_operator_name(k): {pysr_operator_name(k2): int(v2) for k2, v2 in v.items()}
            for k, v in nested_constraints.items()
        }
    if constraints:
        kwargs['constraints'] = {pysr_operator_name(k): v for k, v in constraints.items()}
    mappings = {}
    for name, pname in zip(unary_operators, unary_names):
        if name in LUT_FUNCTIONS:
            mappings[pname] = lut_symbol(name)  # keep the LUT name in PySR's sympy output
        elif pname not in _PYSR_BUILTIN_SYMPY:
            mappings[pname] = get_operator(name).build
    for name, pname in zip(binary_operators, binary):
        if pname not in _PYSR_BUILTIN_SYMPY:
            mappings[pname] = get_operator(name).build
    if mappings:
        kwargs['extra_sympy_mappings'] = mappings
    if random_state is not None:
        kwargs['random_state'] = int(random_state)
        kwargs['deterministic'] = True
        kwargs['parallelism'] = 'serial'  # PySR's determinism needs a serial search
    if timeout_in_seconds is not None:
        kwargs['timeout_in_seconds'] = float(timeout_in_seconds)
    if populations is not None:
        kwargs['populations'] = int(populations)
    if population_size is not None:
        kwargs['population_size'] = int(population_size)
    if extra:
        kwargs.update(extra)
    check_pysr_kwargs(kwargs)
    return kwargs


def pysr_parameter_names(use_installed: bool = True) -> frozenset[str]:
    """``PySRRegressor.__init__``'s parameter names: from the installed pysr when it imports, else
    the copy in :mod:`sr_search.pysr_params`."""
    if use_installed:
        import importlib.util

        if importlib.util.find_spec('pysr') is not None:
            try:
                from pysr import PySRRegressor  # noqa: PLC0415
            except Exception:  # noqa: BLE001 - Julia missing etc.: fall back to the stored list
                pass
            else:
                params = inspect.signature(PySRRegressor.__init__).parameters
                return frozenset(n for n, p in params.items() if n != 'self' and p.kind is not p.VAR_KEYWORD)
    return PYSR_REGRESSOR_PARAMS


def check_pysr_kwargs(kwargs: Mapping[str, object], valid: Iterable[str] | None = None) -> None:
    valid = frozenset(valid) if valid is not None else PYSR_REGRESSOR_PARAMS
    bad = sorted(k for k in kwargs if k not in valid)
    if bad:
        raise ValueError(f'not PySRRegressor parameters: {", ".join(bad)}')


def run_pysr(
    X: np.ndarray,
    y: np.ndarray,
    kwargs: Mapping[str, object],
    workdir: str | Path | None = None,
) -> ParetoFront:
    """Fit ``PySRRegressor(**kwargs)`` on X, y and import its hall of fame. Needs pysr and Julia."""
    try:
        from pysr import PySRRegressor  # noqa: PLC0415 - imported here only: it starts Julia
    except Exception as e:  # noqa: BLE001 - ImportError, or Julia failing to install/start
        raise PySRUnavailable(
            f"engine='pysr' needs the pysr package and a working Julia ({type(e).__name__}: {e}). "
            "Install with 'pip install srcost[pysr]' on a machine with internet (PySR installs Julia on "
            "first import), or use engine='operon', which needs no Julia."
        ) from None
    kwargs = dict(kwargs)
    check_pysr_kwargs(kwargs, pysr_parameter_names())
    if any('math_lut(' in str(u) for u in kwargs.get('unary_operators', [])):
        _define_math_lut()
    tmp = None
    if workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix='srcost-pysr-')
        workdir = tmp.name
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    kwargs.setdefault('output_directory', str(workdir))
    kwargs.setdefault('run_id', f'srcost-{uuid.uuid4().hex[:12]}')
    try:
        model = PySRRegressor(**kwargs)
        model.fit(np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64))
        hof = Path(kwargs['output_directory']) / str(kwargs['run_id']) / 'hall_of_fame.csv'
        if hof.exists():
            front = import_hall_of_fame(hof)
        else:  # older PySR: equation_file elsewhere; the fitted table has the same columns
            eq = model.equations_
            front = hall_of_fame_from_rows(
                zip(eq['complexity'], eq['loss'], eq['equation']), source='PySRRegressor.equations_'
            )
    finally:
        if tmp is not None:
            tmp.cleanup()
    front.metadata.update({'engine': 'pysr', 'pysr_kwargs': sorted(kwargs)})
    return front


def _define_math_lut() -> None:
    from hls4ml.utils.symbolic_utils import math_lut_julia  # noqa: PLC0415

    try:
        from pysr import jl  # noqa: PLC0415 - PySR >= 0.17 (juliacall)

        jl.seval(math_lut_julia)
    except ImportError:  # older PySR (PyJulia): what hls4ml's init_pysr_lut_functions does
        from hls4ml.utils.symbolic_utils import init_pysr_lut_functions  # noqa: PLC0415

        init_pysr_lut_functions()


def julia_equation_to_srcost(text: str) -> str:
    """PySR equation text -> srcost syntax (Float32 literals like ``2.5f0`` become ``2.5e0``)."""
    return _HOF_FLOAT32.sub(r'e\1', str(text).strip())


def hall_of_fame_from_rows(
    rows: Iterable[tuple[object, object, object]], source: str = '', strict: bool = True
) -> ParetoFront:
    members = []
    skipped = []
    for i, (complexity, loss, equation) in enumerate(rows):
        try:
            expr = Expression.parse(julia_equation_to_srcost(str(equation)))
        except ExpressionError as e:
            if strict:
                raise FrontFormatError(f'{source or "hall of fame"} row {i + 1}: {e}') from None
            skipped.append((i + 1, str(equation), str(e)))
            continue
        try:
            c = float(complexity)
            lv = float(loss)
        except (TypeError, ValueError):
            raise FrontFormatError(f'{source or "hall of fame"} row {i + 1}: complexity/loss must be numbers') from None
        members.append(
            FrontMember(
                expression=expr,
                loss=lv,
                complexity=count_nodes(expr.sympy_expr),
                cost={'pysr_complexity': c},
                objective=c,
            )
        )
    meta = {'engine': 'pysr', 'source': source, 'objective': 'pysr_complexity'}
    if skipped:
        meta['skipped'] = skipped
    return ParetoFront(members, meta)


def import_hall_of_fame(path: str | Path, strict: bool = True) -> ParetoFront:
    """Read PySR's ``hall_of_fame.csv`` (columns ``Complexity,Loss,Equation``; very old PySR wrote
    ``Complexity|MSE|Equation``). Each member's ``objective`` is PySR's complexity, its
    ``complexity`` the srcost node count."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f'no hall of fame at {path}')
    text = path.read_text()
    header = text.splitlines()[0] if text else ''
    delimiter = '|' if '|' in header and ',' not in header else ','
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, skipinitialspace=True)
    try:
        head = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise FrontFormatError(f'{path} is empty') from None
    col = {}
    for want, names in (('complexity', ('complexity',)), ('loss', ('loss', 'mse')), ('equation', ('equation',))):
        found = [i for i, h in enumerate(head) if h in names]
        if not found:
            raise FrontFormatError(f'{path}: no {want!r} column (columns: {", ".join(head)}); expected Complexity,Loss,Equation')
        col[want] = found[0]
    rows = []
    for line_no, row in enumerate(reader, start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) < len(head):
            raise FrontFormatError(f'{path}:{line_no}: expected {len(head)} fields, got {len(row)}')
        rows.append((row[col['complexity']], row[col['loss']], row[col['equation']]))
    return hall_of_fame_from_rows(rows, source=str(path), strict=strict)

