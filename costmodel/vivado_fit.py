"""Fitting the Vivado model on the real reports, and its leave-one-precision-out cross-validation.

Three steps, each on what it can be checked against:

1. the latency of each math sub-function (``FunctionLatency``) on the published single-operator table
   (``../shared/calibration``, 21 precisions);
2. which multipliers go to DSPs (``ScheduleParams.BINDING``) on the designs' DSP counts: the rule whose
   DSP model (step 4) fits them best, over a small grid of operand widths;
3. the scheduling model's delays (``ScheduleParams.FITTED``) on the design latencies: steepest coordinate
   descent over a grid of physically plausible values (``GRID``) from the priors (``ScheduleParams()``'s
   defaults), with a penalty on the distance from them, so that the fit moves a delay only where the
   reports ask for it and a delay they do not constrain keeps its physical value;
4. the resource terms (``vivado_resources``) by non-negative relative-L1 regression.

Cross-validation leaves one precision out at a time (the designs at ``ap_fixed<16,6>`` are one fold):
every step is refitted on the other precisions and the held-out designs are predicted. ``fit_vivado``
then fits on everything and writes the parameters, the CV figures and their provenance to
``data/costmodel/vivado_hls_<part>_schedule.json``; no report content is stored, only fitted numbers.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hls_gen import SrcostError
from hls_gen.design import DEFAULT_PART

from .evaluation import mae, mape
from .features import FeatureExtractor
from .hls_schedule import FUNCTION_ROWS, FunctionLatency, Program, ScheduleParams, compile_program, latencies, schedule
from .targets import BAND_TARGETS
from .vivado_reports import VivadoReport, published_latency_rows, shared_reports
from .vivado_resources import ResourceModel, bands_from_errors, resource_terms

SCHEMA_VERSION = 1
KIND = 'srcost vivado scheduling model'
TOOL = 'Vivado HLS 2020.1'

GRID: dict[str, tuple] = {
    'add_ns': tuple(round(0.2 + 0.1 * i, 2) for i in range(15)),
    'add_ns_per_bit': (0.0, 0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.035, 0.04),
    'dsp_in_ns': tuple(round(1.0 + 0.25 * i, 2) for i in range(11)),
    'dsp_out_ns': tuple(round(0.25 * i, 2) for i in range(7)),
    'dsp_tile_ns': tuple(round(0.25 * i, 2) for i in range(9)),
    'fabric_mul_ns_per_level': tuple(round(0.1 * i, 2) for i in range(11)),
    'call_in_ns': tuple(round(0.25 * i, 2) for i in range(13)),
    'call_out_ns': tuple(round(0.25 * i, 2) for i in range(11)),
    'builtin_rom_cycles': (0, 1, 2),
}
BINDING_GRID = {'dsp_min_width': (8, 9, 10, 11, 12), 'dsp_min_narrow': (2, 3, 4, 5, 6, 7, 8)}
BINDING_PENALTY = 0.01
# how far a fitted value may stray from its prior before the penalty matters (one unit of the penalty)
SCALES = {'add_ns': 0.5, 'add_ns_per_bit': 0.02, 'dsp_in_ns': 1.0, 'dsp_out_ns': 0.5, 'dsp_tile_ns': 0.75,
          'fabric_mul_ns_per_level': 0.4, 'call_in_ns': 1.0, 'call_out_ns': 1.0, 'builtin_rom_cycles': 1.0}
PENALTY = 0.3  # weight of the mean squared scaled distance from the priors
OUTSIDE = 0.5  # weight of the share of designs more than one cycle off


@dataclass
class Sample:
    report: VivadoReport
    program: Program


@dataclass
class VivadoFitted:
    """A fitted Vivado model: what ``VivadoModel`` predicts with."""

    params: ScheduleParams
    resources: ResourceModel
    cv: dict = field(default_factory=dict)
    provenance: dict = field(default_factory=dict)
    backend: str = 'vivado_hls'
    part: str = DEFAULT_PART

    def to_dict(self) -> dict:
        return {'kind': KIND, 'schema_version': SCHEMA_VERSION, 'backend': self.backend, 'part': self.part, 'tool': TOOL,
                'schedule': self.params.to_dict(), 'resources': self.resources.to_dict(), 'cv': self.cv,
                'provenance': self.provenance}

    @classmethod
    def from_dict(cls, d: dict) -> VivadoFitted:
        if d.get('kind') != KIND:
            raise SrcostError(f'not an srcost Vivado model (kind {d.get("kind")!r})')
        if d.get('schema_version') != SCHEMA_VERSION:
            raise SrcostError(f'Vivado model schema {d.get("schema_version")} is not {SCHEMA_VERSION}: refit it with '
                              '`srcost fit --backend vivado_hls`')
        return cls(ScheduleParams.from_dict(d['schedule']), ResourceModel.from_dict(d.get('resources', {})), d.get('cv', {}),
                   d.get('provenance', {}), d.get('backend', 'vivado_hls'), d.get('part', DEFAULT_PART))

    def save(self, path: Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + '.tmp')
        tmp.write_text(json.dumps(self.to_dict(), indent=1) + '\n')
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: Path) -> VivadoFitted:
        try:
            return cls.from_dict(json.loads(Path(path).read_text()))
        except (OSError, json.JSONDecodeError) as e:
            raise SrcostError(f'cannot read the Vivado model {path}: {e}') from None


# -- step 1: the math sub-functions ------------------------------------------------------------------------

def fit_functions(rows: Sequence[tuple[str, int, int, int]]) -> dict[str, FunctionLatency]:
    """Per srcost function, the latency model fitted on the published rows of its operator."""
    out: dict[str, FunctionLatency] = {}
    for op, names in FUNCTION_ROWS.items():
        mine = [(w, i, y) for o, w, i, y in rows if o == op]
        if not mine:
            continue
        f = FunctionLatency.fit(mine)
        for n in names:
            out[n] = f
    return out


# -- step 2: the schedule ------------------------------------------------------------------------------

def latency_errors(samples: Sequence[Sample], p: ScheduleParams) -> np.ndarray:
    return np.array([schedule(s.program, p).latency - s.report.latency for s in samples], float)


def objectives(samples: Sequence[Sample], candidates: Sequence[ScheduleParams], prior: ScheduleParams) -> np.ndarray:
    """Per candidate: mean |latency error| + OUTSIDE x (share more than one cycle off) + PENALTY x (mean squared
    scaled distance from the priors)."""
    y = np.array([s.report.latency for s in samples], float)[:, None]
    e = np.abs(np.array([latencies(s.program, candidates) for s in samples], float) - y)
    reg = np.mean([[((getattr(q, k) - getattr(prior, k)) / SCALES[k]) ** 2 for k in ScheduleParams.FITTED] for q in candidates],
                  axis=1)
    return e.mean(axis=0) + OUTSIDE * (e > 1).mean(axis=0) + PENALTY * reg


def objective(samples: Sequence[Sample], p: ScheduleParams, prior: ScheduleParams) -> float:
    return float(objectives(samples, [p], prior)[0])


def fit_schedule(samples: Sequence[Sample], prior: ScheduleParams, rounds: int = 12) -> ScheduleParams:
    """Steepest coordinate descent over ``GRID`` from ``prior``: each round tries every single-parameter move
    at once (one batch through ``latencies``) and takes the best, until none improves ``objectives``."""
    p, best = prior, objective(samples, prior, prior)
    for _ in range(rounds):
        moves = [p.replace(**{k: v}) for k in ScheduleParams.FITTED for v in GRID[k] if v != getattr(p, k)]
        obj = objectives(samples, moves, prior)
        i = int(np.argmin(obj))
        if not obj[i] < best - 1e-12:
            break
        p, best = moves[i], float(obj[i])
    return p


def fit_binding(samples: Sequence[Sample], prior: ScheduleParams, extractor) -> ScheduleParams:
    """The DSP binding rule (``BINDING_GRID``) whose DSP model fits the designs' DSP counts best: the mean relative
    error plus ``BINDING_PENALTY`` x the mean squared distance from the prior's rule in units of 2 bits (the
    counts are about as well fitted by many neighbouring rules: the prior decides between them)."""
    real = [s for s in samples if not s.report.folded]
    y = np.array([s.report.dsp for s in real], float)
    best, best_err = prior, float('inf')
    cands = [prior] + [prior.replace(dsp_min_width=w, dsp_min_narrow=n) for w in BINDING_GRID['dsp_min_width']
                       for n in BINDING_GRID['dsp_min_narrow']]
    for q in cands:
        rows = [resource_terms(s.program, None, q, extractor, s.report.design, dsp_only=True) for s in real]
        res = ResourceModel.fit(rows, [{'dsp': v} for v in y], targets=('dsp',))
        pred = np.array([res.predict_target('dsp', r) for r in rows])
        err = float(np.mean(np.abs(pred - y) / np.maximum(y, 1.0)))
        err += BINDING_PENALTY * np.mean([((getattr(q, k) - getattr(prior, k)) / 2.0) ** 2 for k in ScheduleParams.BINDING])
        if err < best_err - 1e-9:
            best, best_err = q, err
    return best


# -- step 3: resources, and the whole fit ---------------------------------------------------------------

def _terms(samples: Sequence[Sample], p: ScheduleParams, extractor) -> list[dict]:
    return [resource_terms(s.program, schedule(s.program, p), p, extractor, s.report.design) for s in samples]


def _actual(samples: Sequence[Sample]) -> list[dict]:
    return [{'latency_cycles': s.report.latency, 'lut': s.report.lut, 'ff': s.report.ff, 'dsp': s.report.dsp,
             'bram_18k': s.report.bram_18k} for s in samples]


def fit_all(samples: Sequence[Sample], prior: ScheduleParams, extractor) -> tuple[ScheduleParams, ResourceModel]:
    """Steps 2 to 4: the binding and the resources on the designs Vivado did not fold to constants (a folded
    design's area is not that of its arithmetic), the schedule on every design."""
    p = fit_schedule(samples, fit_binding(samples, prior, extractor))
    real = [s for s in samples if not s.report.folded]
    res = ResourceModel.fit(_terms(real, p, extractor), _actual(real))
    return p, res


def predict_samples(samples: Sequence[Sample], p: ScheduleParams, res: ResourceModel, extractor) -> list[dict]:
    out = []
    for s, terms in zip(samples, _terms(samples, p, extractor)):
        row = res.predict(terms)
        row['latency_cycles'] = float(schedule(s.program, p).latency)
        out.append(row)
    return out


@dataclass
class CrossValidation:
    """Held-out predictions of every design (each predicted by a model fitted without its precision)."""

    samples: list[Sample]
    predicted: list[dict]
    folds: dict[str, dict]  # precision -> the fitted schedule parameters of that fold

    @property
    def actual(self) -> list[dict]:
        return _actual(self.samples)

    def summary(self) -> dict:
        """The acceptance figures: latency within +-1 cycle and its MAE; LUT / FF / DSP MAPE over every design
        and over the designs Vivado did not fold to constants; BRAM_18K MAE."""
        a, p = self.actual, self.predicted

        def column(rows: list[dict], t: str) -> np.ndarray:
            return np.array([x[t] for x in rows], float)

        lat = column(p, 'latency_cycles') - column(a, 'latency_cycles')
        keep = np.array([not s.report.folded for s in self.samples])
        out = {'n_designs': len(a), 'n_folded': int((~keep).sum()), 'latency_within_1': float(np.mean(np.abs(lat) <= 1)),
               'latency_mae': mae(column(p, 'latency_cycles'), column(a, 'latency_cycles')), 'latency_exact': float(np.mean(lat == 0))}
        for t in ('lut', 'ff', 'dsp'):
            y, yh = column(a, t), column(p, t)
            out[f'{t}_mape'] = mape(yh, y)
            out[f'{t}_mape_unfolded'] = mape(yh[keep], y[keep])
        out['bram_18k_mae'] = mae(column(p, 'bram_18k'), column(a, 'bram_18k'))
        return out

    def bands(self) -> dict:
        return bands_from_errors({k: [x[k] for x in self.predicted] for k in BAND_TARGETS},
                                 {k: [x[k] for x in self.actual] for k in BAND_TARGETS},
                                 ignore=[s.report.folded for s in self.samples])


def load_samples(extractor, reports: Sequence[VivadoReport] | None = None) -> list[Sample]:
    reports = shared_reports() if reports is None else list(reports)
    return [Sample(r, compile_program(r.design, extractor, r.lut_impl or 'auto')) for r in reports]


def cross_validate(samples: Sequence[Sample], prior: ScheduleParams, extractor,
                   progress: Callable[[str], None] | None = None) -> CrossValidation:
    """Leave one precision out (see the module docstring)."""
    precisions = sorted({s.report.precision for s in samples}, key=lambda x: (len(x), x))
    predicted: list[dict | None] = [None] * len(samples)
    folds = {}
    for prec in precisions:
        train = [s for s in samples if s.report.precision != prec]
        test = [i for i, s in enumerate(samples) if s.report.precision == prec]
        if progress:
            progress(f'fold {prec}: fitting on {len(train)} designs, predicting {len(test)}')
        p, res = fit_all(train, prior, extractor)
        folds[prec] = {k: getattr(p, k) for k in (*ScheduleParams.FITTED, *ScheduleParams.BINDING)}
        for i, row in zip(test, predict_samples([samples[i] for i in test], p, res, extractor)):
            predicted[i] = row
    return CrossValidation(list(samples), [r for r in predicted if r is not None], folds)


def fit_vivado_model(part: str = DEFAULT_PART, extractor=None, cv: bool = True,
                     progress: Callable[[str], None] | None = None) -> tuple[VivadoFitted, CrossValidation | None]:
    """Fit every step on the shared reports (and cross-validate them first when ``cv``)."""

    extractor = extractor if extractor is not None else FeatureExtractor(engine='python')
    rows = published_latency_rows()
    if not rows:
        raise SrcostError('fitting the Vivado model needs ../shared/calibration (the published per-operator latencies); '
                          'it is absent')
    reports = shared_reports()
    if not reports:
        raise SrcostError('fitting the Vivado model needs the real reports of ../shared/fixtures/vivado_hls*; they are absent')
    prior = ScheduleParams(functions=fit_functions(rows))
    samples = load_samples(extractor, reports)
    result = cross_validate(samples, prior, extractor, progress) if cv else None
    if progress:
        progress(f'fitting on all {len(samples)} designs')
    p, res = fit_all(samples, prior, extractor)
    if result is not None:
        res.bands = result.bands()
    fitted = VivadoFitted(p, res, result.summary() if result is not None else {}, {
        'created': _dt.datetime.now(_dt.timezone.utc).isoformat(timespec='seconds'),
        'command': 'srcost fit --backend vivado_hls',
        'tool': TOOL, 'part': part, 'clock_period_ns': 5.0,
        'designs': len(samples), 'precisions': sorted({s.report.precision for s in samples}, key=lambda x: (len(x), x)),
        'collections': sorted({s.report.collection for s in samples}),
        'published_table_rows': len(rows),
        'cross_validation': 'leave one precision out' if cv else 'none',
        'folds': result.folds if result is not None else {},
    }, 'vivado_hls', part)
    return fitted, result


__all__ = ['CrossValidation', 'GRID', 'Sample', 'VivadoFitted', 'cross_validate', 'fit_all', 'fit_binding', 'fit_functions', 'fit_schedule',
           'fit_vivado_model', 'load_samples', 'predict_samples']
