"""The FastAPI application: routes under ``/v1``, OpenAPI at ``/docs``.

| route | token | what |
|---|---|---|
| ``GET /v1/health`` | none | liveness, version, executor |
| ``GET /v1/ops`` | any | stored operator costs (``format=json|csv|pysr``, as ``srcost ops``) |
| ``GET /v1/models``, ``GET /v1/models/{backend}`` | any | the models the server predicts with, as documents |
| ``POST /v1/predict`` | any | ``srcost predict``'s numbers, batched |
| ``POST /v1/jobs``, ``GET /v1/jobs``, ``GET/DELETE /v1/jobs/{id}`` | full | jobs |
| ``GET /v1/jobs/{id}/report``, ``POST /v1/jobs/{id}/resubmit`` | full | a job's report, a resubmission |
"""

from __future__ import annotations

import asyncio
import secrets
import threading
from dataclasses import dataclass
from typing import Literal, Optional

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse
from starlette.concurrency import run_in_threadpool

from hls_gen.errors import SrcostError
from profiler.errors import StoreError
from profiler.store import CalibrationStore, JobRecord

from .auth import Authenticator, Principal
from .config import ServiceConfig
from .jobs import SPECS, JobManager, check_job, job_status
from .limits import BodyLimit, LimitError
from .predictor import ModelKey, Predictor
from .schemas import Health, JobCreated, JobRequest, JobStatus, PredictRequest, PredictResponse

API_VERSION = 'v1'
NO_TELEMETRY = {'tracing': False, 'metrics': False, 'logs': False, 'operation_spans': False}


@dataclass
class Service:
    """What the routes share: the settings, the API's store connection (and its lock), the token check, the
    predictor and the job manager."""

    config: ServiceConfig
    store: CalibrationStore
    lock: threading.Lock
    auth: Authenticator
    predictor: Predictor
    jobs: JobManager
    lease: object = None  # the open lock file that keeps a second server off the store


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version('srcost')
    except PackageNotFoundError:  # pragma: no cover
        return 'unknown'


def create_app(svc: Service) -> FastAPI:
    # FastAPI's own OpenTelemetry hooks are off: with no provider they trace nothing, and their checks cost
    # every request a few environment lookups
    app = FastAPI(title='srcost', version=_version(), telemetry=NO_TELEMETRY, description=(
        'Hardware cost models and profiling for symbolic regression on FPGAs, as a service: predictions, '
        'operator costs (PySR format included), the fitted models, and synth/profile/validate/search jobs. '
        'Send `Authorization: Bearer <token>` (`srcost token create NAME`).'))
    version = _version()

    # -- errors: one JSON shape, {"detail": message} -----------------------------------------------------
    @app.exception_handler(LimitError)
    async def _limit(request: Request, exc: LimitError):
        return JSONResponse({'detail': str(exc)}, status_code=exc.status)

    @app.exception_handler(StoreError)
    async def _store(request: Request, exc: StoreError):
        return JSONResponse({'detail': str(exc)}, status_code=503)

    @app.exception_handler(SrcostError)
    async def _srcost(request: Request, exc: SrcostError):
        return JSONResponse({'detail': str(exc)}, status_code=422)

    # -- access ----------------------------------------------------------------------------------------
    async def reader(request: Request) -> Principal:
        p = svc.auth.principal(request.headers.get('authorization'))
        if p is None:
            raise HTTPException(401, 'missing or unknown bearer token: send "Authorization: Bearer <token>" with a '
                                     'token from `srcost token create NAME`', headers={'WWW-Authenticate': 'Bearer'})
        return p

    async def writer(p: Principal = Depends(reader)) -> Principal:
        if p.read_only:
            raise HTTPException(403, f'token {p.name!r} is read-only: it may predict and read ops and models, '
                                     f'not submit or manage jobs')
        return p

    def locked(fn, *args, **kw):
        with svc.lock:
            return fn(*args, **kw)

    # -- routes ----------------------------------------------------------------------------------------
    @app.get('/v1/health', response_model=Health, tags=['service'])
    async def health() -> Health:
        counts = await run_in_threadpool(locked, _job_counts, svc.store)
        ok = svc.predictor.alive and svc.jobs.alive
        return Health(status='ok' if ok else 'degraded', version=version, schema_version=svc.store.schema_version, db=str(svc.store.path),
                      executor=svc.jobs.executor, auth=svc.config.auth, limits=svc.config.limits.to_dict(), jobs=counts,
                      predictor={'batches': svc.predictor.batches, 'designs': svc.predictor.designs_costed})

    @app.get('/v1/ops', tags=['calibration'])
    async def ops(backend: Optional[str] = None, precision: Optional[str] = None,
                  format: Literal['json', 'csv', 'pysr'] = 'json', implementation: Optional[str] = None,
                  tool_version: Optional[str] = None, part: Optional[str] = None, clock: Optional[float] = None,
                  p: Principal = Depends(reader)):
        """Stored operator costs, as ``srcost ops --format json|csv|pysr`` prints them (``pysr``: PySR's
        ``complexity_of_operators`` for one backend and precision)."""
        from profiler.calibration_io import ops_records, records_to_csv, records_to_json, sort_records, to_pysr_complexity

        filters = dict(tool_version=tool_version, part=part, clock_period_ns=clock)
        if format == 'pysr':
            recs = await run_in_threadpool(locked, ops_records, svc.store, precision, backend, **filters)
            if not recs:
                raise HTTPException(404, _nothing_stored(precision, backend))
            return JSONResponse(to_pysr_complexity(recs, implementation))
        recs = sort_records(await run_in_threadpool(locked, ops_records, svc.store, precision, backend, implementation,
                                                    **filters))
        if format == 'csv':
            return PlainTextResponse(records_to_csv(recs), media_type='text/csv')
        return JSONResponse(content=_json_loads(records_to_json(recs)))

    @app.get('/v1/models', tags=['models'])
    async def models(p: Principal = Depends(reader)) -> list[dict]:
        """The default model of each backend: its kind, digests and provenance, or why it cannot be loaded here."""
        from hls_gen.backends import BACKENDS
        from hls_gen.design import DEFAULT_PART

        out = []
        for backend in BACKENDS:
            try:
                lm = await asyncio.wrap_future(svc.predictor.load(ModelKey('auto', backend, DEFAULT_PART)))
            except Exception as e:  # noqa: BLE001 - listed with its reason
                out.append({'backend': backend, 'part': DEFAULT_PART, 'available': False,
                            'reason': f'{type(e).__name__}: {e}'})
                continue
            out.append({**_model_info(lm), 'available': True})
        return out

    @app.get('/v1/models/{backend}', tags=['models'])
    async def model(backend: str, model: Literal['auto', 'additive', 'analytic', 'learned'] = 'auto',
                    part: str = Query('xcvu9p-flga2577-2-e'), p: Principal = Depends(reader)) -> dict:
        """The model ``srcost predict --backend BACKEND --model MODEL`` would use on this server, as a document
        ``srcost.service.modelfile.load_model`` rebuilds (``document``), with its digest and calibration digest."""
        from hls_gen.backends import BACKENDS

        if backend not in BACKENDS:
            raise HTTPException(404, f'unknown backend {backend!r}; choose one of {", ".join(BACKENDS)}')
        lm = await asyncio.wrap_future(svc.predictor.load(ModelKey(model, backend, part)))
        return {**_model_info(lm), 'document': lm.document}

    @app.post('/v1/predict', response_model=PredictResponse, tags=['models'])
    async def predict(req: PredictRequest, p: Principal = Depends(reader)):
        """What ``srcost predict`` prints for the same expressions (``separate``: each its own design), for
        the store the server serves."""
        from hls_gen.backends import BACKENDS

        if req.backend not in BACKENDS:
            raise SrcostError(f'unknown backend {req.backend!r}; choose one of {", ".join(BACKENDS)}')
        if len(req.expressions) <= 64:
            designs = svc.predictor.designs(req)
        else:  # a large request is parsed off the event loop
            designs = await run_in_threadpool(svc.predictor.designs, req)
        key = ModelKey(req.model, req.backend, req.part, req.lut_impl)
        rows, extra, lm = await asyncio.wrap_future(svc.predictor.submit(key, [pd.design for pd in designs]))
        return JSONResponse(svc.predictor.response(req, designs, rows, extra, lm))

    @app.post('/v1/jobs', response_model=JobCreated, status_code=201, tags=['jobs'])
    async def submit(req: JobRequest, p: Principal = Depends(writer)):
        """Submit a job; it is stored before the answer, and runs when the pool has a free slot."""
        await run_in_threadpool(check_job, req, svc.config.limits)
        return await _store_job(req.model_dump(), p, None)

    async def _store_job(spec: dict, p: Principal, resubmitted_from: str | None):
        rec = JobRecord(id=secrets.token_hex(8), kind=spec['kind'], spec=spec, submitted_by=p.name,
                        resubmitted_from=resubmitted_from)
        await run_in_threadpool(locked, svc.store.put_job, rec)
        svc.jobs.notify(rec.id)
        return JSONResponse({'id': rec.id, 'state': 'queued'}, status_code=201)

    @app.get('/v1/jobs', tags=['jobs'])
    async def list_jobs(state: Optional[str] = None, limit: int = Query(100, ge=1, le=10_000),
                        p: Principal = Depends(writer)) -> list[dict]:
        recs = await run_in_threadpool(locked, svc.store.jobs, state, limit)
        return [job_status(r, with_result=False, log_lines=5) for r in recs]

    @app.get('/v1/jobs/{job_id}', response_model=JobStatus, tags=['jobs'])
    async def get_job(job_id: str, result: bool = True, p: Principal = Depends(writer)):
        """State, progress, log tail and (``result=true``) result of a job."""
        rec = await _job(job_id)
        return JSONResponse(job_status(rec, with_result=result))

    @app.get('/v1/jobs/{job_id}/report', response_class=HTMLResponse, tags=['jobs'])
    async def report(job_id: str, p: Principal = Depends(writer)):
        """The HTML report of a finished validate job."""
        await _job(job_id)
        html = await run_in_threadpool(locked, svc.store.job_report, job_id)
        if html is None:
            raise HTTPException(404, f'job {job_id} has no report (only a finished validate job has one)')
        return HTMLResponse(html)

    @app.delete('/v1/jobs/{job_id}', tags=['jobs'])
    async def cancel(job_id: str, p: Principal = Depends(writer)):
        """Cancel a queued or running job (its running tasks are stopped)."""
        got = await asyncio.wrap_future(svc.jobs.cancel(job_id, p.name))
        if got is None:
            raise HTTPException(404, f'no job {job_id}')
        state, cancelled = got
        if not cancelled:
            raise HTTPException(409, f'job {job_id} is already {state}; nothing to cancel')
        return {'id': job_id, 'state': state}

    @app.post('/v1/jobs/{job_id}/resubmit', response_model=JobCreated, status_code=201, tags=['jobs'])
    async def resubmit(job_id: str, p: Principal = Depends(writer)):
        """A new job with the spec of a finished one (e.g. one marked interrupted by a restart)."""
        rec = await _job(job_id)
        if not rec.finished:
            raise HTTPException(409, f'job {job_id} is {rec.state}; only a finished job can be resubmitted')
        spec = SPECS[rec.kind].model_validate(rec.spec)
        await run_in_threadpool(check_job, spec, svc.config.limits)
        return await _store_job(rec.spec, p, job_id)

    async def _job(job_id: str) -> JobRecord:
        rec = await run_in_threadpool(locked, svc.store.get_job, job_id)
        if rec is None:
            raise HTTPException(404, f'no job {job_id}')
        return rec

    app.add_middleware(BodyLimit, max_bytes=svc.config.limits.max_body_bytes)
    return app


def _job_counts(store: CalibrationStore) -> dict[str, int]:
    rows = store.conn.execute('SELECT state, COUNT(*) FROM jobs GROUP BY state').fetchall()
    return {r[0]: int(r[1]) for r in rows}


def _model_info(lm) -> dict:
    return {'backend': lm.key.backend, 'part': lm.key.part, 'requested': lm.key.kind, 'model': lm.name,
            'digest': lm.digest, 'calibration_digest': lm.calibration_digest, 'provenance': lm.provenance,
            'latency_only': lm.latency_only}


def _nothing_stored(precision, backend) -> str:
    what = ' '.join(x for x in (backend and f'backend {backend}', precision and f'precision {precision}') if x)
    return (f'no operator costs stored{" for " + what if what else ""} on this server; submit a profile job '
            f'or run `srcost profile-ops` / `srcost import-calibration` on its store')


def _json_loads(text: str):
    import json

    return json.loads(text)
