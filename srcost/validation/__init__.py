"""Validation: synthesize chosen designs, emulate them bit-accurately, and set actual against predicted.

``validate()`` takes the designs (e.g. the members of a Pareto front), synthesizes them in batches on a
backend, emulates the firmware bit-accurately on test data, measures fixed-point against float accuracy and
the error of every lookup table, asks a cost model (``predictor``) what it expected, writes the hls4ml project
(for users with Vivado/Vitis) and the open-backend Verilog of each design, and returns a ``ValidationRun``
that saves to and loads from JSON. ``srcost.report`` turns a run into the HTML report.

Modules: ``records`` (the run's dataclasses and JSON), ``metrics`` (accuracy figures, from scikit-learn),
``luts`` (lookup-table error), ``predictions`` (a cost model's answer per design), ``synthesis`` (batches on
``profiler.executors``, the firmware sources), ``run`` (``validate`` itself).
"""

from .luts import MAX_LUT_POINTS, lut_errors
from .metrics import TASKS, accuracy_metrics
from .predictions import TARGETS, normalize_predictions
from .records import SCHEMA_VERSION, Accuracy, LutError, Metrics, ValidationError, ValidationRecord, ValidationRun, load_run, save_run
from .run import EMULATIONS, tool_versions, validate
from .synthesis import synth_command

__all__ = [
    'EMULATIONS', 'MAX_LUT_POINTS', 'SCHEMA_VERSION', 'TARGETS', 'TASKS', 'Accuracy', 'LutError', 'Metrics',
    'ValidationError', 'ValidationRecord', 'ValidationRun', 'accuracy_metrics', 'load_run', 'lut_errors',
    'normalize_predictions', 'save_run', 'synth_command', 'tool_versions', 'validate',
]
