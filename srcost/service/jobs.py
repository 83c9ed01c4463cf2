"""Jobs: synth, profile, validate and search, kept in the calibration store and run on a pool.

A job is submitted as a row of the store's ``jobs`` table (state ``queued``) before its id is returned, and
each change of state, progress, log or result is one transaction. One dispatcher thread owns the pool (the
local process pool of ``profiler.executors``, or a Dask cluster with ``--scheduler``): it turns each job
into tasks (``srcost.service.tasks``), hands them to the pool while it has free slots (so a task starts as it
is handed over, and a queued job is only ever in the store), and writes what comes back.

On a restart, jobs the previous server left ``running`` are marked ``interrupted`` (a resubmission
runs them again; a profile job then skips every micro-benchmark already stored) and ``queued`` ones run.
Local worker processes die with the server (``PR_SET_PDEATHSIG``), so none can write after a restart.
"""

from __future__ import annotations

import math
import queue
import sys
import threading
import time
import traceback
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field

from hls_gen import Design, Expression
from hls_gen.backends import BACKENDS
from hls_gen.errors import ExpressionError, SrcostError
from profiler.store import CalibrationStore, JobRecord, now_utc

from .config import Limits, ServiceConfig
from .limits import LimitError, check_expressions
from .schemas import ProfileJob, SearchJob, SynthJob, ValidateJob
from .tasks import ProfileTask, SearchTask, SynthTask, ValidateTask, read_table, run_task, scratch_dir

LOG_LINES = 200
MAX_SYNTH_BATCH = 8
INTERRUPTED = ('the server stopped while this job ran; resubmit it (POST /v1/jobs/<id>/resubmit, '
               'or Client.resubmit); a profile job then skips the micro-benchmarks already stored')
SPECS = {'synth': SynthJob, 'validate': ValidateJob, 'profile': ProfileJob, 'search': SearchJob}


class JobError(SrcostError, ValueError):
    """A job cannot be submitted as asked (answered 422)."""


# -- checking a job before it is stored ------------------------------------------------------------------

def _backend(name: str) -> str:
    if name not in BACKENDS:
        raise JobError(f'unknown backend {name!r}; choose one of {", ".join(BACKENDS)}')
    return name


def job_designs(spec: SynthJob | ValidateJob, limits: Limits) -> tuple[list[Design], list[str]]:
    """The designs of a synth or validate job (limits checked; expressions parsed, never evaluated), and a
    label each."""
    check_expressions(spec.expressions, limits)
    groups = [[t] for t in spec.expressions] if spec.separate else [list(spec.expressions)]
    precisions = [spec.precision] if isinstance(spec, SynthJob) else list(spec.precisions)
    n_inputs = spec.n_inputs if isinstance(spec, SynthJob) else None
    if len(groups) * len(precisions) > limits.max_designs_per_job:
        raise LimitError(f'the job has {len(groups) * len(precisions)} designs, more than the limit '
                         f'max_designs_per_job={limits.max_designs_per_job}; split it')
    designs, labels = [], []
    for gi, g in enumerate(groups):
        try:
            exprs = [Expression.parse(t) for t in g]
        except ExpressionError as e:
            where = f'expression {gi}' if spec.separate else 'the design'
            raise type(e)(f'{where}: {e}') from None
        for p in precisions:
            designs.append(Design.build(exprs, p, spec.luts, n_inputs, spec.part, spec.clock_period_ns))
            labels.append(p if len(precisions) > 1 else '')
    return designs, labels


def check_job(spec, limits: Limits) -> None:
    """Refuse (SrcostError, answered 422) what a job could only fail on later: unknown backends, bad
    expressions, precisions or operators, a data table without its target."""
    if isinstance(spec, (SynthJob, ValidateJob)):
        _backend(spec.backend)
        designs, _ = job_designs(spec, limits)
        if isinstance(spec, ValidateJob):
            if spec.data_csv is not None:
                X, _, _ = read_table(spec.data_csv, spec.target)
                need = max(d.n_inputs for d in designs)
                if X.shape[1] < need:
                    raise JobError(f'data_csv has {X.shape[1]} feature columns; the designs need {need}')
            elif spec.target:
                raise JobError('target needs data_csv')
    elif isinstance(spec, ProfileJob):
        from profiler.plans import parse_lut_ranges, parse_precisions, resolve_operators

        _backend(spec.backend)
        resolve_operators(spec.ops)
        parse_precisions(spec.precisions)
        parse_lut_ranges(spec.lut_ranges)
    elif isinstance(spec, SearchJob):
        _backend(spec.backend)
        if (spec.data is None) == (spec.data_csv is None):
            raise JobError('a search job needs data_csv (a CSV table with its target column) or data="jets-sample"')
        if spec.data_csv is not None:
            if not spec.target:
                raise JobError('a search on data_csv needs target (the column to fit)')
            read_table(spec.data_csv, [spec.target])


# -- the runners: one job's tasks and what is made of their results -----------------------------------

@dataclass
class _Context:
    config: ServiceConfig
    slots: int
    predictor: object  # srcost.service.predictor.Predictor
    versions: dict = field(default_factory=dict)

    def backend_version(self, backend: str, options: dict) -> tuple[str, str]:
        key = (backend, tuple(sorted(options.items())))
        hit = self.versions.get(key)
        if hit is None:
            from profiler.backends import load_backend

            be = load_backend(backend, options)
            hit = self.versions[key] = (be.name, be.tool_version())
        return hit

    def workdir(self, job_id: str, what: str) -> str:
        return scratch_dir(self.config.job_workdir / job_id, f'{what}-')


class _Runner:
    """One job's tasks. ``start`` makes the first ones; ``on_result`` takes one finished task and may return
    more; ``finish`` gives (state, result, error, report html) once none is left."""

    def __init__(self, rec: JobRecord, ctx: _Context):
        self.rec = rec
        self.ctx = ctx
        self.spec = SPECS[rec.kind].model_validate(rec.spec)
        self.log: list[str] = []
        self.total = 1
        self.done = 0

    @property
    def progress(self) -> float:
        return min(1.0, self.done / self.total) if self.total else 1.0

    def start(self, store: CalibrationStore) -> list: ...

    def on_result(self, store: CalibrationStore, task, status: str, payload) -> list: ...

    def finish(self) -> tuple[str, object, str | None, str | None]: ...


def _first_line(text) -> str:
    lines = str(text or '').strip().splitlines()
    return lines[0] if lines else ''


class SynthRunner(_Runner):
    def start(self, store):
        designs, _ = job_designs(self.spec, self.ctx.config.limits)
        self.designs = designs
        self.results: list[dict | None] = [None] * len(designs)
        self.total = len(designs)
        size = max(1, min(MAX_SYNTH_BATCH, math.ceil(len(designs) / max(1, self.ctx.slots))))
        opts = tuple(sorted(self.spec.backend_options.items()))
        self._index: dict[int, list[int]] = {}
        tasks = []
        for start in range(0, len(designs), size):
            idx = list(range(start, min(start + size, len(designs))))
            t = SynthTask(self.spec.backend, opts, tuple(designs[i].to_dict() for i in idx),
                          self.ctx.workdir(self.rec.id, 'synth'), float(self.spec.timeout_s))
            self._index[id(t)] = idx
            tasks.append(t)
        self._tasks = tasks  # keeps the ids above valid
        return tasks

    def on_result(self, store, task, status, payload):
        idx = self._index[id(task)]
        if status == 'ok':
            for i, r in zip(idx, payload):
                self.results[i] = r
        else:
            for i in idx:
                self.results[i] = {'status': 'failed', 'error': f'{status}: {payload}'}
        for i in idx:
            r = self.results[i]
            what = f'design {i} ({"; ".join(e.text for e in self.designs[i].outputs)} @ {self.designs[i].precision})'
            self.log.append(f'{what}: ok' if r['status'] == 'ok' else f'{what}: failed: {_first_line(r.get("error"))}')
        self.done += len(idx)
        return []

    def finish(self):
        out = []
        for d, r in zip(self.designs, self.results):
            r = r or {'status': 'failed', 'error': 'no result'}
            out.append({'expressions': [e.text for e in d.outputs], 'precision': str(d.precision),
                        'luts': [str(s) for s in d.luts], 'design_digest': d.digest(), **r})
        failed = [i for i, r in enumerate(out) if r['status'] != 'ok']
        result = {'backend': self.spec.backend, 'designs': out}
        if failed:
            return 'failed', result, f'{len(failed)} of {len(out)} designs failed; design {failed[0]}: ' \
                                     f'{_first_line(out[failed[0]].get("error"))}', None
        return 'done', result, None, None


class ProfileRunner(_Runner):
    def start(self, store):
        from profiler.plans import DEFAULT_LUT_SIZES, make_plans, parse_lut_ranges
        from profiler.runner import make_batches

        s = self.spec
        options = dict(s.backend_options)
        if s.backend == 'open':
            options.setdefault('verify_latency', False)  # as `srcost profile-ops` does
        self.options = tuple(sorted(options.items()))
        name, version = self.ctx.backend_version(s.backend, options)
        plans = make_plans(name, version, operators=s.ops or None, precisions=s.precisions or None,
                           lut_sizes=list(s.lut_sizes or DEFAULT_LUT_SIZES), lut_ranges=parse_lut_ranges(s.lut_ranges),
                           implementations=s.implementations or None, part=s.part, clock_period_ns=s.clock_period_ns)
        if not plans:
            raise JobError('nothing to profile: the filters select no micro-benchmark')
        unique = list({p.digest: p for p in plans}.values())
        done = set() if s.force else store.completed_digests(p.digest for p in unique)
        todo = [p for p in unique if p.digest not in done]
        self.counts = {'total': len(unique), 'skipped': len(unique) - len(todo), 'ok': 0, 'failed': 0}
        self.failures: list[dict] = []
        self.total = max(1, len(todo))
        self.log.append(f'{len(unique)} micro-benchmarks, {len(unique) - len(todo)} already stored, {len(todo)} to run')
        return [self._task(b) for b in make_batches(todo, self.ctx.slots, s.batch_size)]

    def _task(self, batch) -> ProfileTask:
        from profiler.runner import DEADLINE_GRACE_S, BatchTask

        return ProfileTask(BatchTask(self.spec.backend, tuple(batch), self.ctx.workdir(self.rec.id, 'batch'),
                                     float(self.spec.timeout_s), False, DEADLINE_GRACE_S, self.options))

    def on_result(self, store, task, status, payload):
        from profiler.runner import Outcome, make_record
        from profiler.store import STATUS_FAILED, STATUS_OK

        bt = task.batch
        if status == 'ok':
            outcomes = payload
        else:
            outcomes = [Outcome(p.digest, STATUS_FAILED, error=f'{status}: {payload}', log_path=bt.workdir,
                                batch_size=len(bt.plans)) for p in bt.plans]
        if len(bt.plans) > 1 and all(o.status == STATUS_FAILED for o in outcomes):
            self.log.append(f'a batch of {len(bt.plans)} failed; its micro-benchmarks run one by one')
            return [self._task([p]) for p in bt.plans]
        for plan, o in zip(bt.plans, outcomes):
            store.put(make_record(plan, o))
            self.done += 1
            if o.status == STATUS_OK:
                self.counts['ok'] += 1
            else:
                self.counts['failed'] += 1
                self.failures.append({'operator': plan.operator, 'implementation': plan.implementation,
                                      'precision': plan.precision, 'digest': plan.digest, 'error': _first_line(o.error),
                                      'log_path': o.log_path})
                self.log.append(f'failed: {plan.operator} [{plan.implementation}] @ {plan.precision}: {_first_line(o.error)}')
        self.log.append(f'{self.counts["ok"] + self.counts["failed"]} of {self.total} run '
                        f'({self.counts["ok"]} ok, {self.counts["failed"]} failed)')
        return []

    def finish(self):
        result = {**self.counts, 'ran': self.counts['ok'] + self.counts['failed'], 'failures': self.failures,
                  'backend': self.spec.backend}
        if self.counts['failed']:
            return 'failed', result, f'{self.counts["failed"]} of {result["ran"]} micro-benchmarks failed (stored as ' \
                                     f'failures; a resubmission retries them)', None
        return 'done', result, None, None


class ValidateRunner(_Runner):
    def start(self, store):
        from .predictor import TARGETS, ModelKey

        s = self.spec
        designs, labels = job_designs(s, self.ctx.config.limits)
        predictions = name = None
        if s.predict:
            try:
                rows, _, lm = self.ctx.predictor.submit(ModelKey('auto', s.backend, s.part), designs).result(timeout=600)
                predictions = tuple({t: v for t, v in zip(TARGETS, row) if v == v} for row in rows)
                name = f'{lm.name} model (srcost serve)'
            except SrcostError as e:
                self.log.append(f'no prediction: {e}')
        cal = tuple({'operator': r.operator, 'precision': r.precision, 'implementation': r.implementation,
                     'latency_cycles': r.latency_worst, 'lut': r.lut} for r in store.records(backend=s.backend, status='ok'))
        self.total = 1
        return [ValidateTask(
            tuple(d.to_dict() for d in designs), tuple(labels), s.backend, tuple(sorted(s.backend_options.items())),
            predictions, name, cal, s.data_csv, tuple(s.target), s.task, s.n_samples, s.seed, s.emulation, s.timeout_s,
            s.hls4ml, self.ctx.workdir(self.rec.id, 'validate'), f'POST /v1/jobs (validate, job {self.rec.id})')]

    def on_result(self, store, task, status, payload):
        self.done = 1
        self.out = payload if status == 'ok' else None
        self.error = None if status == 'ok' else f'{status}: {payload}'
        return []

    def finish(self):
        if self.out is None:
            return 'failed', None, self.error, None
        return 'done', self.out['report'], None, self.out['html']


class SearchRunner(_Runner):
    def start(self, store):
        s = self.spec
        params = tuple(sorted((k, tuple(v) if isinstance(v, list) else v)
                              for k, v in s.model_dump().items() if k not in ('kind', 'data', 'data_csv', 'target')))
        self.total = 1
        return [SearchTask(params, s.data_csv, s.data, s.target)]

    def on_result(self, store, task, status, payload):
        self.done = 1
        self.out = payload if status == 'ok' else None
        self.error = None if status == 'ok' else f'{status}: {payload}'
        return []

    def finish(self):
        if self.out is None:
            return 'failed', None, self.error, None
        return 'done', self.out, None, None


RUNNERS = {'synth': SynthRunner, 'profile': ProfileRunner, 'validate': ValidateRunner, 'search': SearchRunner}


# -- the dispatcher --------------------------------------------------------------------------------------

@dataclass
class _Active:
    runner: _Runner
    outstanding: set = field(default_factory=set)  # pool task ids
    waiting: int = 0  # tasks not yet handed to the pool
    started: bool = False
    t0: float = 0.0


class JobManager:
    """The dispatcher thread and its pool. ``notify`` after storing a new job; ``cancel`` returns a future of
    (the job's state afterwards, whether the call cancelled it), or None when there is no such job."""

    def __init__(self, config: ServiceConfig, predictor):
        self.config = config
        self.predictor = predictor
        self.executor = ''
        self._commands: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._main, name='srcost-jobs', daemon=True)
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._active: dict[str, _Active] = {}
        self._waiting: deque[tuple[str, object]] = deque()
        self._tasks: dict[int, tuple[str, object]] = {}

    # -- called from the API's threads -----------------------------------------------------------------
    def start(self, timeout_s: float = 120.0) -> None:
        self._thread.start()
        self._ready.wait(timeout_s)
        if self._error is not None:
            raise self._error

    def stop(self) -> None:
        self._commands.put(('stop', None, None))
        self._thread.join(timeout=30)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def notify(self, job_id: str) -> None:
        self._commands.put(('submitted', job_id, None))

    def cancel(self, job_id: str, by: str) -> Future:
        fut: Future = Future()
        self._commands.put(('cancel', (job_id, by), fut))
        return fut

    # -- the dispatcher thread -------------------------------------------------------------------------
    def _main(self) -> None:
        from .pools import make_pool

        try:
            store = CalibrationStore(self.config.db)
            pool, self.executor = make_pool(run_task, self.config.scheduler, self.config.workers)
        except BaseException as e:  # noqa: BLE001 - reported by start()
            self._error = e
            self._ready.set()
            return
        self.ctx = _Context(self.config, pool.slots, self.predictor)
        self.store, self.pool = store, pool
        self._ready.set()
        try:
            for rec in store.jobs(state='queued'):  # left queued by an earlier server: they run now
                self._admit(rec)
            while self._commands_done(block=not pool.pending()):
                try:
                    self._fill()
                    if pool.pending():
                        for fin in pool.poll(0.2):
                            self._finished(fin)
                        self._fill()
                except Exception:  # noqa: BLE001 - e.g. the store busy, a Dask hiccup: said, and the loop goes on
                    print(f'srcost serve: job dispatcher error (continuing):\n{traceback.format_exc()}',
                          file=sys.stderr, flush=True)
                    time.sleep(1.0)
        finally:
            for job_id, a in list(self._active.items()):  # a clean stop: what ran is interrupted, the rest stays queued
                if a.started:
                    self._log(a, 'interrupted: the server stopped')
                    store.update_job(job_id, state='interrupted', error=INTERRUPTED, log=self._log_text(a),
                                     finished_at=now_utc())
            pool.close()
            store.close()

    def _commands_done(self, block: bool) -> bool:
        """Handle the queued commands; False on stop."""
        try:
            cmd = self._commands.get(timeout=0.5) if block else self._commands.get_nowait()
        except queue.Empty:
            return True
        while True:
            what, arg, fut = cmd
            if what == 'stop':
                return False
            try:
                if what == 'submitted':
                    rec = self.store.get_job(arg)
                    if rec is not None and rec.state == 'queued' and rec.id not in self._active:
                        self._admit(rec)
                elif what == 'cancel':
                    fut.set_result(self._cancel(*arg))
            except Exception as e:  # noqa: BLE001 - the dispatcher must go on
                if fut is not None and not fut.done():
                    fut.set_exception(e)
            try:
                cmd = self._commands.get_nowait()
            except queue.Empty:
                return True

    def _log(self, a: _Active, line: str) -> None:
        a.runner.log.append(f'{now_utc()} {line}')

    def _log_text(self, a: _Active) -> str:
        lines = a.runner.log[-LOG_LINES:]
        a.runner.log = lines
        return '\n'.join(lines)

    def _admit(self, rec: JobRecord) -> None:
        runner = RUNNERS[rec.kind](rec, self.ctx)
        a = _Active(runner)
        self._active[rec.id] = a
        try:
            tasks = runner.start(self.store)
        except Exception as e:  # noqa: BLE001 - the job fails with the reason, the server goes on
            text = str(e) if isinstance(e, SrcostError) else f'{type(e).__name__}: {e}\n{traceback.format_exc()}'
            self._log(a, f'failed to start: {_first_line(text)}')
            self.store.update_job(rec.id, state='failed', error=text, log=self._log_text(a), finished_at=now_utc())
            del self._active[rec.id]
            return
        self._log(a, f'queued: {len(tasks)} task(s) for {self.executor}')
        for t in tasks:
            self._waiting.append((rec.id, t))
        a.waiting = len(tasks)
        self.store.update_job(rec.id, log=self._log_text(a))
        if not tasks:
            self._finalize(rec.id)

    def _fill(self) -> None:
        while self._waiting and self.pool.pending() < self.pool.slots:
            job_id, task = self._waiting.popleft()
            a = self._active.get(job_id)
            if a is None:
                continue
            pid = self.pool.submit(task, task.deadline_s)
            self._tasks[pid] = (job_id, task)
            a.outstanding.add(pid)
            a.waiting -= 1
            if not a.started:
                a.started, a.t0 = True, time.monotonic()
                self._log(a, f'started on {self.executor}')
                self.store.update_job(job_id, state='running', started_at=now_utc(), log=self._log_text(a))

    def _finished(self, fin) -> None:
        hit = self._tasks.pop(fin.job_id, None)
        if hit is None:  # a cancelled job's task
            return
        job_id, task = hit
        a = self._active.get(job_id)
        if a is None:
            return
        a.outstanding.discard(fin.job_id)
        try:
            more = a.runner.on_result(self.store, task, fin.status, fin.payload)
        except Exception as e:  # noqa: BLE001
            self._log(a, f'error handling a result: {type(e).__name__}: {e}')
            more = []
        for t in more:
            self._waiting.appendleft((job_id, t))
        a.waiting += len(more)
        if a.outstanding or a.waiting:
            self.store.update_job(job_id, progress=a.runner.progress, log=self._log_text(a))
        else:
            self._finalize(job_id)

    def _finalize(self, job_id: str) -> None:
        a = self._active.pop(job_id)
        try:
            state, result, error, html = a.runner.finish()
        except Exception as e:  # noqa: BLE001
            state, result, error, html = 'failed', None, f'{type(e).__name__}: {e}', None
        self._log(a, f'{state}' + (f' in {time.monotonic() - a.t0:.1f} s' if a.started else '')
                  + (f': {_first_line(error)}' if error else ''))
        self.store.update_job(job_id, report_html=html, state=state, progress=1.0 if state == 'done' else a.runner.progress,
                              result=result, error=error, log=self._log_text(a), finished_at=now_utc())
        _remove_empty_dirs(self.config.job_workdir / job_id)  # failed tasks keep their files (and logs)

    def _cancel(self, job_id: str, by: str) -> tuple[str, bool] | None:
        """(the job's state, whether this cancelled it), or None when there is no such job."""
        a = self._active.pop(job_id, None)
        if a is None:
            rec = self.store.get_job(job_id)
            return None if rec is None else (rec.state, False)
        self._waiting = deque((j, t) for j, t in self._waiting if j != job_id)
        for pid in a.outstanding:
            self.pool.cancel(pid)
            self._tasks.pop(pid, None)
        self._log(a, f'cancelled by {by}')
        self.store.update_job(job_id, state='cancelled', error=f'cancelled by {by}', log=self._log_text(a),
                              finished_at=now_utc())
        return 'cancelled', True


def _remove_empty_dirs(root) -> None:
    import os

    if not root.is_dir():
        return
    for path, _dirs, _files in sorted(os.walk(root), key=lambda t: -len(t[0])):
        try:
            os.rmdir(path)
        except OSError:
            pass


def interrupt_running(store: CalibrationStore) -> list[str]:
    """At start-up: every job a previous server left running is marked interrupted."""
    return store.interrupt_jobs(INTERRUPTED)


def job_status(rec: JobRecord, with_result: bool = True, log_lines: int = 40) -> dict:
    return {
        'id': rec.id, 'kind': rec.kind, 'state': rec.state, 'progress': rec.progress, 'created_at': rec.created_at,
        'started_at': rec.started_at, 'finished_at': rec.finished_at, 'error': rec.error,
        'log_tail': rec.log.splitlines()[-log_lines:] if rec.log else [], 'has_report': rec.has_report,
        'submitted_by': rec.submitted_by, 'resubmitted_from': rec.resubmitted_from, 'spec': _public_spec(rec.spec),
        'result': rec.result if with_result else None,
    }


def _public_spec(spec: dict) -> dict:
    """The job's spec without its (possibly large) data table."""
    out = dict(spec)
    if out.get('data_csv') is not None:
        out['data_csv'] = f'<{len(out["data_csv"])} characters>'
    return out


__all__ = ['JobError', 'JobManager', 'RUNNERS', 'SPECS', 'check_job', 'interrupt_running', 'job_designs', 'job_status']
