"""Request and response bodies of the API (pydantic; FastAPI validates requests with them and shows them
at ``/docs``). Unknown fields are refused (422), so a misspelt option never passes silently."""

from __future__ import annotations

from typing import Annotated, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field

from hls_gen.design import DEFAULT_CLOCK_NS, DEFAULT_PART

DEFAULT_PRECISION = 'ap_fixed<16,6>'
OptionValue = bool | int | float | str


class _Body(BaseModel):
    model_config = ConfigDict(extra='forbid')


# -- predict --------------------------------------------------------------------------------------------

class PredictRequest(_Body):
    expressions: list[str] = Field(min_length=1, description='PySR/sympy syntax, variables x0, x1, ...')
    precision: str = DEFAULT_PRECISION
    luts: list[str] = Field(default_factory=list, description='LUT specs function:size:start:end')
    backend: str = 'open'
    model: Literal['auto', 'additive', 'analytic', 'learned'] = 'auto'
    separate: bool = Field(False, description='each expression its own design (default: the expressions are the '
                                              'outputs of one design, as in `srcost predict`)')
    part: str = DEFAULT_PART
    clock_period_ns: float = Field(DEFAULT_CLOCK_NS, gt=0)
    n_inputs: Optional[int] = Field(None, ge=1)
    lut_impl: Literal['auto', 'builtin', 'table'] = Field(
        'auto', description="vivado_hls/vitis_hls: what a sin_lut/cos_lut is (as `srcost predict --lut-impl`)")


class DesignPrediction(BaseModel):
    expressions: list[str]
    latency_cycles: Optional[float] = None
    ii: Optional[float] = None
    lut: Optional[float] = None
    ff: Optional[float] = None
    dsp: Optional[float] = None
    bram_18k: Optional[float] = None
    bands: Optional[dict[str, Optional[float]]] = Field(None, description="the model's band per metric "
                                                                          "(lut_low, lut_high, ...), where it gives one")


class PredictResponse(BaseModel):
    model: str
    backend: str
    part: str
    precision: str
    clock_period_ns: float
    calibration_digest: Optional[str] = None
    model_provenance: Optional[dict] = None
    lut_impl: Optional[str] = None
    note: Optional[str] = None
    designs: list[DesignPrediction]


# -- jobs -----------------------------------------------------------------------------------------------

class _DesignsSpec(_Body):
    expressions: list[str] = Field(min_length=1)
    separate: bool = Field(False, description='each expression its own design (default: outputs of one design)')
    luts: list[str] = Field(default_factory=list)
    part: str = DEFAULT_PART
    clock_period_ns: float = Field(DEFAULT_CLOCK_NS, gt=0)
    backend: str = 'open'
    backend_options: dict[str, OptionValue] = Field(default_factory=dict,
                                                    description='keyword arguments of the backend, e.g. verify_latency')
    timeout_s: float = Field(600.0, gt=0, le=24 * 3600, description='seconds per tool run')


class SynthJob(_DesignsSpec):
    kind: Literal['synth']
    precision: str = DEFAULT_PRECISION
    n_inputs: Optional[int] = Field(None, ge=1)


class ValidateJob(_DesignsSpec):
    kind: Literal['validate']
    precisions: list[str] = Field(default_factory=lambda: [DEFAULT_PRECISION], min_length=1)
    data_csv: Optional[str] = Field(None, description='test data as CSV text (features x0, x1, ... or all non-target columns)')
    target: list[str] = Field(default_factory=list, description='label column(s) of data_csv')
    task: Literal['auto', 'regression', 'classification'] = 'auto'
    n_samples: int = Field(2048, ge=1, le=1_000_000)
    seed: int = 0
    emulation: Literal['trace', 'open', 'hls4ml'] = 'trace'
    predict: bool = Field(True, description="compare with the server's cost model")
    hls4ml: bool = False


class ProfileJob(_Body):
    kind: Literal['profile']
    ops: Optional[list[str]] = None
    precisions: Optional[list[str]] = None
    implementations: Optional[list[str]] = None
    lut_sizes: Optional[list[int]] = None
    lut_ranges: Optional[list[str]] = None
    backend: str = 'open'
    backend_options: dict[str, OptionValue] = Field(default_factory=dict)
    part: str = DEFAULT_PART
    clock_period_ns: float = Field(DEFAULT_CLOCK_NS, gt=0)
    timeout_s: float = Field(300.0, gt=0, le=24 * 3600, description='seconds per micro-benchmark')
    force: bool = False
    batch_size: Optional[int] = Field(None, ge=1)


class SearchJob(_Body):
    kind: Literal['search']
    data: Optional[Literal['jets-sample']] = Field(None, description='a built-in data set instead of data_csv')
    data_csv: Optional[str] = Field(None, description='a regression table as CSV text')
    target: Optional[str] = None
    engine: Literal['operon', 'pysr'] = 'operon'
    objective: str = 'latency'
    budget_seconds: float = Field(60.0, gt=0, le=24 * 3600)
    generations: int = Field(1000, ge=1)
    maxsize: int = Field(25, ge=1, le=200)
    binary_operators: list[str] = Field(default_factory=lambda: ['+', '-', '*'])
    unary_operators: list[str] = Field(default_factory=lambda: ['sin', 'exp'])
    precision: str = DEFAULT_PRECISION
    backend: str = 'open'
    seed: int = 0
    max_train_rows: Optional[int] = Field(None, ge=1)


JobRequest = Annotated[SynthJob | ValidateJob | ProfileJob | SearchJob, Field(discriminator='kind')]


class JobCreated(BaseModel):
    id: str
    state: str


class JobStatus(BaseModel):
    id: str
    kind: str
    state: str
    progress: float
    created_at: str
    started_at: Optional[str] = None
    finished_at: Optional[str] = None
    error: Optional[str] = None
    log_tail: list[str]
    has_report: bool
    submitted_by: str
    resubmitted_from: Optional[str] = None
    spec: dict
    result: Optional[dict | list] = None


class Health(BaseModel):
    status: str
    version: str
    schema_version: int
    db: str
    executor: str
    auth: bool
    limits: dict
    jobs: dict[str, int]
    predictor: dict[str, int] = Field(default_factory=dict, description='batches costed and designs in them')
