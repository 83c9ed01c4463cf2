"""profiler: operator micro-benchmark plans, running many syntheses (parallel, cached, resumable) and the
calibration store.

    from profiler import CalibrationStore, load_backend, make_plans, profile_ops
    backend = load_backend('open')
    plans = make_plans(backend.name, backend.tool_version(), operators=['+', 'sin'])
    with CalibrationStore('calibration.db') as store:
        summary = profile_ops(plans, store, 'open', jobs=2)
"""

from .backends import load_backend
from .calibration_io import import_calibration, ops_records, to_pysr_complexity
from .errors import CalibrationFormatError, ProfilerError, StoreError
from .plans import DEFAULT_LUT_SIZES, DEFAULT_PRECISIONS, BenchmarkPlan, make_plans
from .runner import RunSummary, profile_ops
from .store import SCHEMA_VERSION, CalibrationStore, DesignRecord, OpRecord, default_db_path

__all__ = [
    'BenchmarkPlan', 'CalibrationFormatError', 'CalibrationStore', 'DEFAULT_LUT_SIZES', 'DEFAULT_PRECISIONS',
    'DesignRecord', 'OpRecord', 'ProfilerError', 'RunSummary', 'SCHEMA_VERSION', 'StoreError', 'default_db_path',
    'import_calibration', 'load_backend', 'make_plans', 'ops_records', 'profile_ops', 'to_pysr_complexity',
]
