"""A cost model as one JSON document, so that a search elsewhere predicts locally what the server predicts.

A learned model is its saved form (``LearnedModel.to_dict``: the boosters, the analytic parameters and the
calibration the server uses, which may come from its store rather than the shipped file). An analytic or
additive model is its calibration and fitted parameters; the Vivado/Vitis HLS scheduling model
(``costmodel.vivado.VivadoModel``) is its ``to_document()``. ``load_model`` rebuilds either with a fresh
feature extractor; both give the server's numbers (tests/test_service.py compares them)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

from hls_gen.errors import SrcostError

ANALYTIC_KIND = 'srcost analytic cost model'
ANALYTIC_SCHEMA_VERSION = 1
SCHEDULE_KIND = 'srcost Vivado scheduling model'  # costmodel.vivado.VivadoModel's to_document(), wrapped


class ModelFileError(SrcostError, ValueError):
    """A model document is not one this srcost can load."""


def export_model(model) -> dict:
    """The JSON-ready document of a loaded ``CostModel``."""
    from costmodel.models import AdditiveModel, AnalyticModel, LearnedModel
    from costmodel.vivado import VivadoModel

    if isinstance(model, LearnedModel):
        return model.to_dict()
    if isinstance(model, VivadoModel):
        return {'kind': SCHEDULE_KIND, 'schema_version': 1, 'backend': model.backend, 'part': model.part,
                'document': model.to_document()}
    if isinstance(model, (AnalyticModel, AdditiveModel)):
        cal = model.calibration
        d = {'kind': ANALYTIC_KIND, 'schema_version': ANALYTIC_SCHEMA_VERSION, 'model': model.name,
             'backend': model.backend, 'part': model.part, 'calibration': cal.to_dict() if cal is not None else None}
        if isinstance(model, AnalyticModel):
            d.update(params=model.params.to_dict(), latency_offset=model.latency_offset, latency_scale=model.latency_scale)
        return d
    raise ModelFileError(f'cannot export a {type(model).__name__}')


def load_model(doc: Mapping, extractor=None):
    """The ``CostModel`` of a document made by ``export_model``."""
    from costmodel.calibration import CalibrationSet
    from costmodel.features import FeatureExtractor
    from costmodel.models import MODEL_KIND, AdditiveModel, AnalyticModel, LearnedModel, OpenParams

    fx = extractor if extractor is not None else FeatureExtractor()
    kind = doc.get('kind')
    if kind == MODEL_KIND:
        return LearnedModel.from_dict(doc, fx)
    if kind == SCHEDULE_KIND:
        from costmodel.vivado import VivadoModel

        return VivadoModel.from_document(doc['document'])
    if kind != ANALYTIC_KIND:
        raise ModelFileError(f'not an srcost cost model document (kind {kind!r})')
    if doc.get('schema_version') != ANALYTIC_SCHEMA_VERSION:
        raise ModelFileError(f'analytic model document schema {doc.get("schema_version")} is not {ANALYTIC_SCHEMA_VERSION}')
    cal = CalibrationSet.from_dict(doc['calibration']) if doc.get('calibration') else None
    if doc['model'] == 'additive':
        return AdditiveModel(doc['backend'], doc['part'], cal, fx)
    return AnalyticModel(doc['backend'], doc['part'], cal, fx, OpenParams(**doc.get('params', {})),
                         doc.get('latency_offset', 0.0), doc.get('latency_scale', 1.0))


def document_digest(doc: Mapping) -> str:
    return hashlib.sha256(json.dumps(doc, sort_keys=True, separators=(',', ':')).encode()).hexdigest()[:16]


__all__ = ['ModelFileError', 'document_digest', 'export_model', 'load_model']
