"""Vivado / Vitis HLS without the tools: latency by a scheduling model, resources by transfer from the open
backend's datapath.

``VivadoModel`` is what ``get_model(..., backend='vivado_hls')`` returns (kinds ``auto`` and ``analytic``).
For each design it compiles the schedule program (``hls_schedule.compile_program``: the operations
Vivado schedules, with their widths), schedules it (``hls_schedule.schedule``: ASAP chaining within the
clock period less its uncertainty) and predicts LUT, FF, DSP and BRAM_18K from the program, the schedule
and the open backend's datapath features (``vivado_resources``), each with a band from the
cross-validation errors (``lut_low``, ``lut_high``, ...). The fitted parameters live in
``data/costmodel/vivado_hls_<part>_schedule.json``, written by ``srcost fit --backend vivado_hls``
(``vivado_fit``); prediction needs neither ``../shared`` nor the Xilinx tools.

``vitis_hls`` uses the same fit with Vitis HLS's default clock uncertainty (27% instead of 12.5%): the
operator characterization of Vitis HLS is not measured here (see docs/vivado.md).

hls4ml LUT functions: a ``sin_lut``/``cos_lut`` call is predicted as hls4ml's built-in table
(``use_built_in_lut_functions``) when the design gives it srcost's default spec and ``lut_impl`` is
'auto'; with an explicit spec it is an ``nnet::lookup_table``; ``lut_impl`` 'builtin' or 'table' forces one.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from hls_gen import Design, LutSpec, Precision
from hls_gen.design import DEFAULT_CLOCK_NS, DEFAULT_PART

from . import dag
from .features import FeatureExtractor
from .hls_schedule import LUT_IMPLS, ScheduleError, compile_program, schedule
from .models import CostModel, ModelError
from .targets import BAND_TARGETS, TARGETS
from .training import _slug, data_dir
from .vivado_fit import VivadoFitted
from .vivado_reports import shared_reports
from .vivado_resources import resource_terms

UNCERTAINTY = {'vivado_hls': 0.125, 'vitis_hls': 0.27}  # hls4ml's defaults for the two tools
BAND_COLUMNS = tuple(f'{t}_{side}' for t in BAND_TARGETS for side in ('low', 'high'))
CACHE_SIZE = 4096


def model_path(part: str = DEFAULT_PART) -> Path:
    """Where ``srcost fit --backend vivado_hls`` writes the fitted model of ``part``."""

    return data_dir() / f'vivado_hls_{_slug(part)}_schedule.json'


class VivadoModel(CostModel):
    """The scheduling model of Vivado / Vitis HLS (see the module docstring)."""

    name = 'analytic'

    def __init__(self, backend: str = 'vivado_hls', part: str = DEFAULT_PART, fitted=None, lut_impl: str = 'auto'):
        if backend not in UNCERTAINTY:
            raise ModelError(f'the Vivado model is for vivado_hls or vitis_hls, not {backend!r}')
        if lut_impl not in LUT_IMPLS:
            raise ModelError(f'lut_impl must be one of {", ".join(LUT_IMPLS)}, not {lut_impl!r}')
        # its own extractor, python engine: the schedule reads the datapath model node by node
        super().__init__(backend, part, None, FeatureExtractor(engine='python'))
        if fitted is None:
            path = model_path(part)
            if not path.exists():
                raise ModelError(f'no fitted Vivado model for {part} at {path}; fit one with `srcost fit --backend vivado_hls` '
                                 '(it needs the real reports of ../shared)')
            fitted = VivadoFitted.load(path)
        self.fitted = fitted
        self.params = fitted.params.replace(uncertainty=UNCERTAINTY[backend])
        self.resources = fitted.resources
        self.lut_impl = lut_impl
        self._lock = threading.Lock()
        self._cache: dict[tuple, dict] = {}

    @property
    def calibration(self):
        return None

    @property
    def latency_only(self) -> bool:
        return False

    @property
    def provenance(self):
        return self.fitted.provenance

    def to_document(self) -> dict:
        """The model as one JSON-ready document (the fitted file's content and the backend it predicts for)."""
        return {**self.fitted.to_dict(), 'predicts_for': self.backend}

    @classmethod
    def from_document(cls, doc: dict) -> VivadoModel:
        return cls(doc.get('predicts_for', doc.get('backend', 'vivado_hls')), doc.get('part', DEFAULT_PART), VivadoFitted.from_dict(doc))

    # -- prediction -------------------------------------------------------------------------------------
    def predict_design(self, design: Design, lut_impl: str | None = None) -> dict[str, float]:
        """One design's row: the targets, then ``<target>_low`` / ``<target>_high``."""
        impl = lut_impl or self.lut_impl
        key = (design.digest(), impl)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                return hit
            try:
                program = compile_program(design, self.extractor, impl)
                sched = schedule(program, self.params)
                terms = resource_terms(program, sched, self.params, self.extractor, design)
            except ScheduleError as e:
                raise ModelError(str(e)) from None
            row = self.resources.predict(terms)
            row['latency_cycles'] = float(sched.latency)
            row['ii'] = 1.0  # hls4ml's io_parallel pipeline
            row = self.resources.with_bands(row)
            if len(self._cache) >= CACHE_SIZE:
                self._cache.clear()
            self._cache[key] = row
            return row

    def predict(self, designs: Sequence[Design], lut_impl: str | None = None) -> pd.DataFrame:
        cols = [*TARGETS, *BAND_COLUMNS]
        rows = [self.predict_design(d, lut_impl) for d in designs]
        return pd.DataFrame([[r.get(c, np.nan) for c in cols] for r in rows], columns=cols, dtype=np.float64)

    def predict_expressions_matrix(self, exprs: Sequence, precision: str | Precision = 'ap_fixed<16,6>',
                                   luts: Sequence[str | LutSpec] = (), clock_period_ns: float = DEFAULT_CLOCK_NS) -> np.ndarray:
        if not len(exprs):
            return np.empty((0, len(TARGETS)))
        designs = [Design.build([e], precision, luts, part=self.part, clock_period_ns=clock_period_ns) for e in exprs]
        return self.predict(designs)[list(TARGETS)].to_numpy(np.float64)

    def predict_postfix(self, batch, precision: str | Precision = 'ap_fixed<16,6>', luts: Sequence[str | LutSpec] = (),
                        clock_period_ns: float = DEFAULT_CLOCK_NS, **_) -> np.ndarray:
        """The same predictions for a ``costmodel.postfix.Postfix`` batch (rebuilt as expressions: the schedule
        needs sympy's printing order)."""
        return self.predict_expressions_matrix(postfix_expressions(batch), precision, luts, clock_period_ns)

    def predict_features(self, X: pd.DataFrame) -> pd.DataFrame:
        raise ModelError('the Vivado model predicts designs (it schedules their operations), not feature rows')

    def predict_matrix(self, F: np.ndarray) -> np.ndarray:
        raise ModelError('the Vivado model predicts designs (it schedules their operations), not feature rows')


def postfix_expressions(batch) -> list:
    """The ``Expression`` of each expression of a ``Postfix`` batch."""
    import sympy

    from hls_gen import Expression
    from hls_gen.expression import lut_symbol, variable


    funcs = {'exp': sympy.exp, 'sin': sympy.sin, 'cos': sympy.cos, 'tan': sympy.tan, 'sinh': sympy.sinh, 'cosh': sympy.cosh,
             'tanh': sympy.tanh, 'log': sympy.log, 'sqrt': sympy.sqrt}
    out = []
    for k in range(len(batch)):
        stack: list = []
        for i in range(int(batch.offsets[k]), int(batch.offsets[k + 1])):
            name = dag.OPS[int(batch.op[i])]
            n = int(batch.nkids[i])
            kids = stack[len(stack) - n:] if n else []
            del stack[len(stack) - n:]
            param, const = float(batch.param[i]), float(batch.const[i])
            if name == 'var':
                v = variable(int(param))
            elif name == 'const':
                v = sympy.Float(param)
            elif name == '+':
                v = sympy.Add(*kids, *([] if np.isnan(const) else [sympy.Float(const)]))
            elif name == '*':
                v = sympy.Mul(*([] if np.isnan(const) else [sympy.Float(const)]), *kids)
            elif name == 'neg':
                v = -kids[0]
            elif name in ('square', 'cube', 'pow_int'):
                v = kids[0] ** (2 if name == 'square' else 3 if name == 'cube' else int(param))
            elif name == 'inv':
                v = 1 / kids[0]
            elif name == 'abs':
                v = sympy.Abs(kids[0])
            elif name == 'log_abs':
                v = sympy.log(sympy.Abs(kids[0]))
            elif name == 'sqrt_abs':
                v = sympy.sqrt(sympy.Abs(kids[0]))
            elif name == 'pow_abs':
                v = sympy.Abs(kids[0]) ** sympy.Float(param)
            elif name in funcs:
                v = funcs[name](kids[0])
            else:  # a LUT function
                v = lut_symbol(name)(kids[0])
            stack.append(v)
        out.append(Expression.from_sympy(stack[-1]))
    return out


def fixture_designs(root: Path | None = None) -> list[tuple[str, Design, int]]:
    """(variant, design, reported latency) of the three shared jet-tagging designs
    (``../shared/fixtures/vivado_hls``); [] without ../shared."""

    fixtures = root.parent if root is not None else None
    return [(r.variant, r.design, r.latency) for r in shared_reports(fixtures) if r.collection == 'vivado_hls']


__all__ = ['BAND_COLUMNS', 'UNCERTAINTY', 'VivadoModel', 'fixture_designs', 'model_path', 'postfix_expressions']
