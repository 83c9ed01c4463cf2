"""A client of ``srcost serve``, with the server's verbs::

    from srcost.client import Client

    with Client('http://calib-host:8750', token) as c:        # token: `srcost token create NAME`
        c.predict(['x0*x1 + sin(x2)'], precision='ap_fixed<16,6>').designs[0].lut
        c.ops(backend='open', precision='ap_fixed<16,6>', format='pysr')     # complexity_of_operators
        job = c.wait(c.submit('synth', expressions=['x0*x1'], precision='ap_fixed<8,3>'))
        cost_fn = c.cost_fn('open', 'ap_fixed<16,6>')         # the model, downloaded once, run locally

``cost_fn(backend, precision)`` is what a search on another machine uses: it downloads the model the server
predicts with (``GET /v1/models/{backend}``: the fitted model and the calibration it uses) once, and returns
a local ``cost_fn(list[Expression]) -> {target: array}`` with the numbers the server would give, at no
network cost per call. Errors are ``ServiceError`` (``status``: the HTTP status; the message is the
server's). ``httpx`` is the only import at module load.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import httpx

from costmodel.targets import TARGETS
from hls_gen.errors import SrcostError

ENV_TOKEN = 'SRCOST_TOKEN'
DEFAULT_PART = 'xcvu9p-flga2577-2-e'


class ServiceError(SrcostError, RuntimeError):
    """The server refused a request or could not be reached; ``status`` is the HTTP status (0: no answer)."""

    def __init__(self, message: str, status: int = 0):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Prediction:
    """The predicted costs of one design (None where the model cannot say)."""

    expressions: list[str]
    latency_cycles: float | None = None
    ii: float | None = None
    lut: float | None = None
    ff: float | None = None
    dsp: float | None = None
    bram_18k: float | None = None
    bands: dict[str, float | None] | None = None  # lut_low, lut_high, ... where the model gives bands

    def costs(self) -> dict[str, float | None]:
        return {t: getattr(self, t) for t in TARGETS}


@dataclass(frozen=True)
class PredictResult:
    model: str
    backend: str
    part: str
    precision: str
    clock_period_ns: float
    designs: list[Prediction]
    calibration_digest: str | None = None
    model_provenance: dict | None = None
    lut_impl: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Job:
    id: str
    kind: str
    state: str  # queued | running | done | failed | cancelled | interrupted
    progress: float
    created_at: str
    spec: dict
    started_at: str | None = None
    finished_at: str | None = None
    error: str | None = None
    log_tail: list[str] = field(default_factory=list)
    has_report: bool = False
    submitted_by: str = ''
    resubmitted_from: str | None = None
    result: Any = None

    @property
    def finished(self) -> bool:
        return self.state in ('done', 'failed', 'cancelled', 'interrupted')


def _job(d: dict) -> Job:
    names = {f.name for f in fields(Job)}
    return Job(**{k: v for k, v in d.items() if k in names})


class Client:
    """``Client(url, token)``; the token defaults to ``$SRCOST_TOKEN``. Use as a context manager or call
    ``close()``."""

    def __init__(self, url: str, token: str | None = None, timeout_s: float = 60.0, transport=None):
        token = token if token is not None else os.environ.get(ENV_TOKEN)
        headers = {'Authorization': f'Bearer {token}'} if token else {}
        self.url = url.rstrip('/')
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout_s, transport=transport)
        self._models: dict[tuple, Any] = {}

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- transport -----------------------------------------------------------------------------------------
    def _request(self, method: str, path: str, **kw) -> httpx.Response:
        try:
            r = self._http.request(method, path, **kw)
        except httpx.HTTPError as e:
            raise ServiceError(f'cannot reach srcost serve at {self.url}: {e}') from None
        if r.status_code >= 400:
            try:
                detail = r.json().get('detail', r.text)
            except ValueError:
                detail = r.text
            if isinstance(detail, list):  # a request that does not fit the API's schema
                detail = '; '.join(f'{".".join(map(str, d.get("loc", ())))}: {d.get("msg")}' for d in detail)
            raise ServiceError(f'{method} {path}: {r.status_code}: {detail}', r.status_code)
        return r

    def _json(self, method: str, path: str, **kw):
        return self._request(method, path, **kw).json()

    # -- read-only verbs -----------------------------------------------------------------------------------
    def health(self) -> dict:
        return self._json('GET', '/v1/health')

    def ops(self, backend: str | None = None, precision: str | None = None, format: str = 'json',
            implementation: str | None = None, tool_version: str | None = None, part: str | None = None,
            clock: float | None = None):
        """Stored operator costs: a list of records (``json``), CSV text (``csv``), or PySR's
        ``complexity_of_operators`` (``pysr``)."""
        params = {k: v for k, v in dict(backend=backend, precision=precision, format=format, implementation=implementation,
                                        tool_version=tool_version, part=part, clock=clock).items() if v is not None}
        r = self._request('GET', '/v1/ops', params=params)
        return r.text if format == 'csv' else r.json()

    def models(self) -> list[dict]:
        return self._json('GET', '/v1/models')

    def model(self, backend: str = 'open', model: str = 'auto', part: str = DEFAULT_PART) -> dict:
        """The model document the server predicts with, and its digests (``document``, ``digest``,
        ``calibration_digest``, ``model``)."""
        return self._json('GET', f'/v1/models/{backend}', params={'model': model, 'part': part})

    def predict(self, expressions: Sequence[str], precision: str = 'ap_fixed<16,6>', backend: str = 'open',
                model: str = 'auto', luts: Sequence[str] = (), separate: bool = False, part: str = DEFAULT_PART,
                clock_period_ns: float = 5.0, n_inputs: int | None = None, lut_impl: str = 'auto') -> PredictResult:
        """What ``srcost predict EXPRS`` gives on the server's store (``separate``: each expression its own
        design, in one request)."""
        body = {'expressions': [str(e) for e in expressions], 'precision': str(precision), 'backend': backend,
                'model': model, 'luts': [str(s) for s in luts], 'separate': separate, 'part': part,
                'clock_period_ns': clock_period_ns, 'n_inputs': n_inputs, 'lut_impl': lut_impl}
        d = self._json('POST', '/v1/predict', json=body)
        d['designs'] = [Prediction(**p) for p in d['designs']]
        return PredictResult(**d)

    # -- jobs -----------------------------------------------------------------------------------------------
    def submit(self, kind: str, **spec) -> str:
        """Submit a job (``kind``: synth, profile, validate or search; ``spec``: its fields, see ``/docs``); its id."""
        return self._json('POST', '/v1/jobs', json={'kind': kind, **spec})['id']

    def job(self, job_id: str, result: bool = True) -> Job:
        return _job(self._json('GET', f'/v1/jobs/{job_id}', params={'result': str(result).lower()}))

    def jobs(self, state: str | None = None, limit: int = 100) -> list[Job]:
        params = {'limit': limit, **({'state': state} if state else {})}
        return [_job(d) for d in self._json('GET', '/v1/jobs', params=params)]

    def cancel(self, job_id: str) -> str:
        return self._json('DELETE', f'/v1/jobs/{job_id}')['state']

    def resubmit(self, job_id: str) -> str:
        """A new job with the spec of a finished one (e.g. one a restart marked interrupted); its id."""
        return self._json('POST', f'/v1/jobs/{job_id}/resubmit')['id']

    def report(self, job_id: str) -> str:
        """The HTML report of a finished validate job."""
        return self._request('GET', f'/v1/jobs/{job_id}/report').text

    def wait(self, job_id: str, timeout_s: float | None = None, poll_s: float = 0.5) -> Job:
        """Poll until the job has finished (done, failed, cancelled or interrupted); ServiceError on timeout."""
        end = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            j = self.job(job_id, result=False)
            if j.finished:
                return self.job(job_id)
            if end is not None and time.monotonic() > end:
                raise ServiceError(f'job {job_id} is still {j.state} after {timeout_s} s')
            time.sleep(poll_s)

    # -- predicting locally with the server's model --------------------------------------------------------
    def cost_model(self, backend: str = 'open', model: str = 'auto', part: str = DEFAULT_PART):
        """The server's ``CostModel`` of ``backend``, rebuilt here (downloaded once per client); its
        ``predict(designs)``, ``predict_expressions_matrix`` and ``predict_postfix`` give the server's numbers."""
        key = (backend, model, part)
        hit = self._models.get(key)
        if hit is None:
            from .service.modelfile import load_model

            info = self.model(backend, model, part)
            hit = load_model(info['document'])
            hit.served_digest = info['digest']
            hit.served_calibration_digest = info.get('calibration_digest')
            self._models[key] = hit
        return hit

    def cost_fn(self, backend: str = 'open', precision: str = 'ap_fixed<16,6>', model: str = 'auto',
                luts: Sequence[str] = (), part: str = DEFAULT_PART,
                clock_period_ns: float = 5.0) -> Callable[[Sequence], dict]:
        """``cost_fn(expressions) -> {target: numpy array}`` for ``sr_search``'s ``cost_fn=`` (targets
        latency_cycles, ii, lut, ff, dsp, bram_18k; one value per single-output expression, NaN where the
        model cannot say), computed locally with the model downloaded once. ``expressions`` are
        ``hls_gen.Expression`` objects (or validated sympy trees). The function carries ``.model``,
        ``.digest`` and ``.calibration_digest``."""
        m = self.cost_model(backend, model, part)
        specs = tuple(luts)

        def cost_fn(expressions: Sequence) -> dict:
            P = m.predict_expressions_matrix(list(expressions), precision, specs, clock_period_ns)
            return {t: P[:, j] for j, t in enumerate(TARGETS)}

        cost_fn.model = m
        cost_fn.digest = m.served_digest
        cost_fn.calibration_digest = m.served_calibration_digest
        return cost_fn


__all__ = ['Client', 'Job', 'PredictResult', 'Prediction', 'ServiceError']
