"""``srcost fit``: build or extend the training set, train the learned model, report cross-validated metrics.

Designs are split into k folds (k = 1 / ``test_fraction``) by a hash of their digest, so folds do not move
when the training set grows; each design is predicted by a model trained on the other folds, and the
metrics (per target and per model) are computed over every design. The model that is saved is then
trained on every design. Designs from real searches (the PySR jet-tagging expressions of ``../shared``)
are a second, separate evaluation set.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from hls_gen import SrcostError
from hls_gen.design import DEFAULT_PART

from .api import calibration_from_store, default_model_path, get_model, shared_extractor
from .calibration import default_calibration
from .evaluation import compare, error_ratio
from .models import AdditiveModel, LearnedModel, Provenance
from .targets import BAND_TARGETS, TARGETS
from .training import (
    BackendRunner,
    FixedDesignSpec,
    Runner,
    TrainingSetSpec,
    default_training_path,
    designs_of,
    extend_training_set,
    load_training_set,
    read_provenance,
    rows_digest,
    spec_of,
)
from .vivado import fixture_designs
from .vivado import model_path as default_path
from .vivado_fit import fit_vivado_model


@dataclass
class FitReport:
    backend: str
    part: str
    training_set: str
    n_designs: int
    n_train: int
    n_test: int
    model_path: str | None
    metrics: pd.DataFrame  # model, target, n, mae, mape, r2, spearman, exact
    ratios: pd.DataFrame  # learned / additive per target
    real_metrics: pd.DataFrame | None = None  # on designs from real searches
    notes: list[str] = field(default_factory=list)
    summary: dict | None = None  # backend-specific headline figures (the Vivado model's cross-validation)

    def to_dict(self) -> dict:
        def records(df):
            return None if df is None else json.loads(df.to_json(orient='records'))

        return {
            'backend': self.backend, 'part': self.part, 'training_set': self.training_set, 'n_designs': self.n_designs,
            'n_train': self.n_train, 'n_test': self.n_test, 'model_path': self.model_path,
            'metrics': records(self.metrics), 'learned_over_additive': records(self.ratios.rename_axis('target').reset_index()),
            'real_search_metrics': records(self.real_metrics), 'notes': self.notes,
            **({'cross_validation': self.summary} if self.summary is not None else {}),
        }


def is_test(digest: str, fraction: float) -> bool:
    h = int(hashlib.sha256(digest.encode()).hexdigest()[:8], 16)
    return h / 0xFFFFFFFF < fraction


def fold_of(digest: str, k: int) -> int:
    """The cross-validation fold of a design: a hash of its digest, so folds do not move as the set grows."""
    return int(hashlib.sha256(digest.encode()).hexdigest()[:8], 16) % k


def fit(
    backend: str = 'open',
    part: str = DEFAULT_PART,
    n_expressions: int | None = None,
    training_path: Path | None = None,
    model_path: Path | None = None,
    runner: Runner | None = None,
    seed: int = 0,
    test_fraction: float = 0.2,
    db: str | None = None,
    save: bool = True,
    progress: Callable[[str], None] | None = None,
) -> FitReport:
    """Train and evaluate the cost models of ``backend`` (see the module docstring)."""
    if backend in ('vivado_hls', 'vitis_hls'):
        return fit_vivado(backend, part, model_path, save, progress)
    path = Path(training_path) if training_path else default_training_path(backend, part)
    notes: list[str] = []
    if n_expressions is not None:
        have = len(load_training_set(path, ok_only=False)) if path.exists() else 0
        if have < n_expressions:
            notes.append(f'synthesized designs {have}..{n_expressions - 1} through the {backend} backend')
            extend_training_set(path, n_expressions, TrainingSetSpec(backend, part, seed), runner or BackendRunner(backend),
                                progress=progress)
    if not path.exists():
        raise SrcostError(f'no training set at {path}; give --n-expressions N to synthesize one')
    df = load_training_set(path)
    if n_expressions is not None:
        df = df[df['index'] < n_expressions].reset_index(drop=True)
    if len(df) < 20:
        raise SrcostError(f'{path} has only {len(df)} synthesized designs; give --n-expressions 200 or more')
    designs = designs_of(df, spec_of(path) or TrainingSetSpec(backend, part, seed))  # digest-checked
    actual = df[list(TARGETS)].astype(float).reset_index(drop=True)
    cal = calibration_from_store(db, backend, part) or default_calibration(backend, part)
    fx = shared_extractor()
    X = fx.features(designs, cal)
    ok = np.isfinite(X['dp_stages'].to_numpy())
    if not ok.all():
        notes.append(f'{int((~ok).sum())} designs have no features (e.g. a LUT range that does not fit): left out')
    prov = read_provenance(path)
    provenance = Provenance(
        training_set=str(path.name), training_set_digest=rows_digest(df), tool_versions=list(prov.get('tool_versions', [])),
        notes=f'generator seed {prov.get("seed")}, v{prov.get("generator_version")}; '
              f'backend code {",".join(prov.get("backend_code_digests", []))}',
    )
    # k-fold cross-validation by design digest: every design is predicted by a model that never saw it
    k = max(2, int(round(1 / test_fraction)))
    fold = np.array([fold_of(d, k) for d in df['design_digest']])
    preds = {name: pd.DataFrame(index=range(len(df)), columns=list(TARGETS), dtype=float) for name in ('additive', 'analytic', 'learned')}
    additive = AdditiveModel(backend, part, cal, fx)
    held = None
    for f in range(k):
        tr, te = (fold != f) & ok, (fold == f) & ok
        if not te.any() or tr.sum() < 10:
            continue
        held = LearnedModel(backend, part, cal, fx).fit(X[tr].reset_index(drop=True), actual[tr].reset_index(drop=True),
                                                         provenance=provenance)
        Xte = X[te].reset_index(drop=True)
        idx = np.flatnonzero(te)
        for name, p in (('additive', additive.predict_features(Xte)), ('analytic', held.analytic.predict_features(Xte)),
                        ('learned', held.predict_features(Xte))):
            preds[name].iloc[idx] = p[list(TARGETS)].to_numpy()
    if held is None:
        raise SrcostError(f'too few designs in {path} for cross-validation')
    metrics = compare({n: p[ok].reset_index(drop=True) for n, p in preds.items()}, actual[ok].reset_index(drop=True))
    notes.append(f'metrics: {k}-fold cross-validation by design digest (each design predicted by a model trained '
                 f'without it); {int(ok.sum())} designs')
    ratios = error_ratio(metrics, 'learned', 'additive')
    final = LearnedModel(backend, part, cal, fx).fit(X[ok].reset_index(drop=True), actual[ok].reset_index(drop=True),
                                                      provenance=provenance)
    final.provenance.notes += f'; metrics by {k}-fold cross-validation over {int(ok.sum())} designs'
    real = None
    search_path = path.with_name(path.name.replace('_training.csv', '_search.csv'))
    sdesigns = search_designs(part)
    if sdesigns and n_expressions is not None:
        have = len(load_training_set(search_path, ok_only=False)) if search_path.exists() else 0
        if have < len(sdesigns):
            extend_training_set(search_path, len(sdesigns), FixedDesignSpec(tuple(sdesigns), 'real searches', backend, part),
                                runner or BackendRunner(backend), chunk=2, progress=progress)
    if search_path.exists():
        sdf = load_training_set(search_path)
        if len(sdf):
            fixed = FixedDesignSpec(tuple(sdesigns), 'real searches', backend, part) if sdesigns else None
            Xs = fx.features(designs_of(sdf, fixed), cal)
            Ys = sdf[list(TARGETS)].astype(float).reset_index(drop=True)
            real = compare({'additive': additive.predict_features(Xs), 'analytic': final.analytic.predict_features(Xs),
                            'learned': final.predict_features(Xs)}, Ys)
            notes.append(f'real-search set: {len(sdf)} designs from {search_path.name} (PySR jet-tagging expressions of '
                         '../shared), predicted by the model trained on every training design')
    n_ok = int(ok.sum())
    report = FitReport(backend, part, str(path), len(df), n_ok - n_ok // k, n_ok, None, metrics, ratios, real, notes)
    if save:
        report.model_path = str(final.save(model_path or default_model_path(backend, part)))
        metrics_path = Path(report.model_path).with_name(Path(report.model_path).stem.replace('_model', '') + '_metrics.json')
        metrics_path.write_text(json.dumps(report.to_dict(), indent=1) + '\n')
    return report


def search_designs(part: str = DEFAULT_PART) -> list:
    """Designs of expressions that came out of real searches: the five jet-tagging outputs PySR found in
    ``../shared/fixtures/vivado_hls`` (sin native and as a 1024-entry LUT), each alone and all five as one
    design. [] without ../shared."""
    from hls_gen import Design


    out = []
    for variant, d, _ in fixture_designs():
        if variant == 'lut':
            continue
        for e in d.outputs:
            out.append(Design.build([e], d.precision, d.luts, n_inputs=d.n_inputs, part=part))
        out.append(Design.build(list(d.outputs), d.precision, d.luts, n_inputs=d.n_inputs, part=part))
    return out


def fit_vivado(backend: str, part: str = DEFAULT_PART, model_path: Path | None = None, save: bool = True,
               progress: Callable[[str], None] | None = None) -> FitReport:
    """Vivado/Vitis HLS cannot run here: fit the scheduling model and its resource transfer on the real reports
    of ../shared (``costmodel.vivado_fit``), report the leave-one-precision-out cross-validation and save
    the fit (one fit serves both tools: Vitis HLS takes its own clock uncertainty)."""

    fitted, cv = fit_vivado_model(part, progress=progress)
    assert cv is not None
    targets = BAND_TARGETS
    actual = pd.DataFrame(cv.actual)[list(targets)].astype(float)
    held_out = pd.DataFrame(cv.predicted)[list(targets)].astype(float)
    preds = {'analytic': held_out}
    try:
        preds['additive'] = get_model('additive', backend, part).predict([s.report.design for s in cv.samples])
    except (SrcostError, FileNotFoundError):
        pass
    metrics = compare(preds, actual, targets=targets)
    sm = fitted.cv
    notes = [
        f'leave-one-precision-out cross-validation on {sm["n_designs"]} real Vivado HLS 2020.1 reports '
        f'({len(cv.folds)} precisions): each design predicted by a model fitted without its precision',
        f'latency: {sm["latency_within_1"]:.1%} within +-1 cycle, MAE {sm["latency_mae"]:.2f} cycles',
        f'MAPE on the {sm["n_designs"] - sm["n_folded"]} designs Vivado did not fold to constants: LUT {sm["lut_mape_unfolded"]:.1%}, '
        f'FF {sm["ff_mape_unfolded"]:.1%}, DSP {sm["dsp_mape_unfolded"]:.1%} (over all {sm["n_designs"]}: LUT {sm["lut_mape"]:.1%}, '
        f'FF {sm["ff_mape"]:.1%}, DSP {sm["dsp_mape"]:.1%}); BRAM_18K MAE {sm["bram_18k_mae"]:.2f}',
        'additive: the published per-operator latencies summed over the expression tree (latency only)',
    ]
    if backend == 'vitis_hls':
        notes.append('vitis_hls predicts with this Vivado HLS fit and Vitis HLS\'s 27% clock uncertainty')
    report = FitReport(backend, part, 'real reports of ../shared/fixtures/vivado_hls*', sm['n_designs'],
                       sm['n_designs'] - sm['n_designs'] // len(cv.folds), sm['n_designs'], None, metrics,
                       error_ratio(metrics, 'analytic', 'additive'), None, notes, dict(sm))
    if save:
        report.model_path = str(fitted.save(Path(model_path) if model_path else default_path(part)))
    return report


__all__ = ['FitReport', 'fit', 'fit_vivado', 'is_test']
