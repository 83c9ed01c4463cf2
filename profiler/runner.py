"""Run micro-benchmark plans: skip what the store already holds, batch the rest (one backend call, so one
Yosys process, per batch), execute the batches on a local process pool or a Dask cluster, and write each
result to the store in the parent as soon as its batch finishes.

Failures never stop a run. A batch whose tool fails, hangs past its deadline or kills its worker is
split and its plans are run one by one, so one bad design fails alone; a plan that fails on its own is
stored as ``failed`` with its error text, log tail and log path, and a rerun retries it.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from .plans import BenchmarkPlan, estimated_cost
from .store import STATUS_FAILED, STATUS_OK, CalibrationStore, OpRecord, now_utc

DEFAULT_TIMEOUT_S = 300.0  # per micro-benchmark
# Designs per backend call. One Yosys run has a fixed cost (~3.4 s: its cell and techmap libraries), so
# batching pays; but its passes slow down per design as the design grows (probably as opt loops and ID GC walk every
# module), and two large runs side by side slow each other more. The default grid cold, 2 workers,
# profile_ops(batch_size=N), one run each on one idle machine on 2026-12-02: 49 -> 337 s (670 CPU-s in the
# batches), 25 -> 275 s (546), 13 -> 266 s (526), 8 -> 272 s (529); runs of one setting vary by ~10 s, so 8-25
# are close and 49 is clearly worse (`benchmarks/profile_throughput.py --batch-size N --skip-naive` repeats it).
# Smaller batches also lose less to a kill and move the progress bar more often.
MAX_BATCH = 13
DEADLINE_GRACE_S = 60.0  # on top of the backend's own timeout, before the worker is killed
LOG_TAIL_LINES = 30


@dataclass(frozen=True)
class BatchTask:
    """What one job runs: several plans in one ``backend.synthesize`` call."""

    backend_spec: str
    plans: tuple[BenchmarkPlan, ...]
    workdir: str
    timeout_s: float  # per plan; the backend call gets timeout_s * len(plans)
    keep_workdir: bool = False
    grace_s: float = DEADLINE_GRACE_S
    backend_options: tuple[tuple[str, object], ...] = ()

    @property
    def deadline_s(self) -> float:
        """When the parent gives up on the job and kills it (the backend should time out first)."""
        return 1.5 * self.timeout_s * len(self.plans) + self.grace_s


@dataclass(frozen=True)
class Outcome:
    digest: str
    status: str  # 'ok' | 'failed'
    result: dict | None = None  # SynthResult.to_dict()
    error_stats: dict | None = None
    error: str | None = None
    log_path: str | None = None
    duration_s: float | None = None
    batch_size: int = 1


@dataclass
class RunSummary:
    total: int
    skipped: int = 0
    ok: int = 0
    failed: int = 0
    failures: list[dict] = field(default_factory=list)
    duration_s: float = 0.0
    db: str = ''
    workdir: str = ''
    executor: str = ''
    batches: int = 0

    @property
    def ran(self) -> int:
        return self.ok + self.failed

    def to_dict(self) -> dict:
        return {
            'total': self.total, 'skipped': self.skipped, 'ok': self.ok, 'failed': self.failed,
            'ran': self.ran, 'batches': self.batches, 'duration_s': round(self.duration_s, 3), 'db': self.db,
            'workdir': self.workdir, 'executor': self.executor, 'failures': self.failures,
        }

    def __str__(self) -> str:
        """One readable line, e.g. ``8 micro-benchmarks: 8 ran OK, 0 failed, 0 already stored (41.2 s; ...)``."""
        return (f'{self.total} micro-benchmarks: {self.ok} ran OK, {self.failed} failed, {self.skipped} already stored '
                f'({self.duration_s:.1f} s; {self.executor or "no executor"}; store {self.db})')


# -- the job (runs in a worker process) ----------------------------------------------------------------
def _log_tail(path: str | None) -> str:
    if not path:
        return ''
    p = Path(path)
    if not p.is_file():
        return ''
    try:
        lines = p.read_text(errors='replace').splitlines()[-LOG_TAIL_LINES:]
    except OSError:
        return ''
    return '\n'.join(lines)


def describe_failure(exc: BaseException) -> tuple[str, str | None]:
    """(error text with the log's tail, log path) for a failed backend call."""
    log_path = getattr(exc, 'log_path', None)
    text = f'{type(exc).__name__}: {exc}'
    if not getattr(exc, '__module__', '').startswith('hls_gen'):
        text += '\n' + ''.join(traceback.format_exception(type(exc), exc, exc.__traceback__)[-3:])
    tail = _log_tail(log_path)
    if tail:
        text += f'\n--- last lines of {log_path} ---\n{tail}'
    return text, log_path


def run_batch(task: BatchTask) -> list[Outcome]:
    """Synthesize the batch's designs in one backend call, then measure each one's numeric error."""
    from .backends import load_backend
    from .numerics import find_emulator, measure_error

    workdir = Path(task.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    n = len(task.plans)
    t0 = time.monotonic()
    try:
        backend = load_backend(task.backend_spec, dict(task.backend_options))
        here = backend.tool_version()
        expected = {p.tool_version for p in task.plans}
        if expected != {here}:  # e.g. a Dask worker with other tools: its numbers would be stored under the wrong key
            raise RuntimeError(f'this worker has {backend.name} tool version {here!r}, the plans were made for '
                               f'{", ".join(sorted(map(repr, expected)))}')
        results = backend.synthesize([p.design for p in task.plans], workdir, timeout_s=task.timeout_s * n)
        if len(results) != n:
            raise RuntimeError(f'backend returned {len(results)} results for {n} designs')
    except Exception as e:  # noqa: BLE001 - every failure is recorded, none stops the run
        text, log_path = describe_failure(e)
        dt = time.monotonic() - t0
        return [Outcome(p.digest, STATUS_FAILED, error=text, log_path=log_path, duration_s=dt, batch_size=n)
                for p in task.plans]
    synth_s = (time.monotonic() - t0) / n
    emulator = find_emulator(backend)
    outcomes = []
    for plan, res in zip(task.plans, results):
        t1 = time.monotonic()
        try:
            stats = dataclasses.asdict(measure_error(plan, emulator, workdir, task.timeout_s))
        except Exception as e:  # noqa: BLE001 - the synthesis result stands; the row says why no error
            stats = {'max_abs': None, 'mean_abs': None, 'points': 0, 'domain': (None, None),
                     'method': f'error measurement failed: {type(e).__name__}: {e}'}
        res_d = res.to_dict() if hasattr(res, 'to_dict') else dict(res)
        outcomes.append(Outcome(plan.digest, STATUS_OK, result=res_d, error_stats=stats,
                                log_path=res_d.get('log_path') if task.keep_workdir else None,
                                duration_s=synth_s + time.monotonic() - t1, batch_size=n))
    if not task.keep_workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    return outcomes


# -- the parent ------------------------------------------------------------------------------------------
def make_record(plan: BenchmarkPlan, outcome: Outcome) -> OpRecord:
    common = dict(
        digest=plan.digest, backend=plan.backend, tool_version=plan.tool_version, part=plan.part,
        clock_period_ns=plan.clock_period_ns, precision=plan.precision, operator=plan.operator,
        implementation=plan.implementation, pysr_name=plan.pysr_name,
        lut_size=plan.lut.table_size if plan.lut else None,
        lut_range_start=plan.lut.range_start if plan.lut else None,
        lut_range_end=plan.lut.range_end if plan.lut else None,
        notes=plan.notes, log_path=outcome.log_path, duration_s=outcome.duration_s, source='profile-ops',
        design_json=json.dumps(plan.design.to_dict(), sort_keys=True), created_at=now_utc(),
    )
    if outcome.status != STATUS_OK:
        return OpRecord(status=STATUS_FAILED, error=outcome.error or 'unknown failure', **common)
    r = outcome.result or {}
    s = outcome.error_stats or {}
    domain = s.get('domain') or (None, None)
    return OpRecord(
        status=STATUS_OK,
        latency_best=r.get('latency_best'), latency_worst=r.get('latency_worst'), ii=r.get('ii'),
        lut=r.get('lut'), ff=r.get('ff'), dsp=r.get('dsp'), bram_18k=r.get('bram_18k'), uram=r.get('uram'),
        carry=r.get('carry'), clock_estimate_ns=r.get('clock_estimate_ns'),
        clock_estimate_method=r.get('clock_estimate_method'), latency_method=r.get('latency_method'),
        error_max=s.get('max_abs'), error_mean=s.get('mean_abs'), error_points=s.get('points'),
        error_domain_start=domain[0], error_domain_end=domain[1], error_method=s.get('method'),
        **common,
    )


def make_batches(plans: Sequence[BenchmarkPlan], slots: int, batch_size: int | None = None) -> list[list[BenchmarkPlan]]:
    """Deal plans, slowest first, round-robin into batches of similar total cost."""
    if not plans:
        return []
    size = batch_size or max(1, min(MAX_BATCH, math.ceil(len(plans) / (2 * max(1, slots)))))
    n_batches = math.ceil(len(plans) / size)
    ordered = sorted(plans, key=estimated_cost, reverse=True)
    batches: list[list[BenchmarkPlan]] = [[] for _ in range(n_batches)]
    for i, p in enumerate(ordered):
        batches[i % n_batches].append(p)
    return batches


def default_workdir() -> Path:
    import platformdirs

    stamp = datetime.now().strftime('%Y%m%d-%H%M%S')
    return Path(platformdirs.user_cache_dir('srcost', appauthor=False)) / 'profile-runs' / f'{stamp}-{os.getpid()}'


class _Progress:
    """A rich progress bar on stderr: done / failed / remaining, elapsed and ETA."""

    def __init__(self, total: int, enabled: bool):
        self.enabled = enabled and total > 0
        if not self.enabled:
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        self.progress = Progress(
            TextColumn('[bold]profiling'), BarColumn(), MofNCompleteColumn(),
            TextColumn('[green]ok {task.fields[ok]}[/] [red]failed {task.fields[failed]}[/] remaining {task.fields[remaining]}'),
            TimeElapsedColumn(), TextColumn('ETA'), TimeRemainingColumn(),
            console=Console(stderr=True), transient=False,
        )
        self.task = self.progress.add_task('profile', total=total, ok=0, failed=0, remaining=total)

    def __enter__(self):
        if self.enabled:
            self.progress.start()
        return self

    def update(self, ok: int, failed: int, remaining: int) -> None:
        if self.enabled:
            self.progress.update(self.task, completed=ok + failed, ok=ok, failed=failed, remaining=remaining)

    def __exit__(self, *exc):
        if self.enabled:
            self.progress.stop()


def profile_ops(
    plans: Sequence[BenchmarkPlan],
    store: CalibrationStore,
    backend_spec: str,
    jobs: int | None = None,
    scheduler: str | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    force: bool = False,
    batch_size: int | None = None,
    workdir: str | os.PathLike | None = None,
    keep_workdir: bool = False,
    progress: bool = True,
    kill_grace_s: float = DEADLINE_GRACE_S,
    backend_options: dict | None = None,
) -> RunSummary:
    """Run every plan not yet stored OK (all of them with ``force``) and store each result as it comes.

    ``backend_spec`` is what workers pass to ``load_backend`` (a backend name or ``module:Class``); the
    plans must have been made for that backend's name and tool version (``backend_options``: keyword
    arguments of its constructor, which must not change the numbers it reports). ``timeout_s`` is per plan (the
    backend call of a batch of n gets n times it); a job still running ``kill_grace_s`` after 1.5 times
    its timeout is killed (local pool) or abandoned (Dask) and its plans retried one by one.
    """
    from .executors import DaskPool, LocalPool

    t0 = time.monotonic()
    unique = list({p.digest: p for p in plans}.values())
    done = set() if force else store.completed_digests(p.digest for p in unique)
    todo = [p for p in unique if p.digest not in done]
    summary = RunSummary(total=len(unique), skipped=len(unique) - len(todo), db=str(store.path))
    if not todo:
        summary.executor = 'none (everything cached)'
        summary.duration_s = time.monotonic() - t0
        return summary
    run_dir = Path(workdir) if workdir else default_workdir()
    summary.workdir = str(run_dir)
    pool = DaskPool(run_batch, scheduler) if scheduler else LocalPool(run_batch, jobs)
    summary.executor = f'dask {scheduler} ({pool.slots} threads)' if scheduler else f'local pool ({pool.slots} processes)'
    counter = iter(range(1, 1 << 30))
    options = tuple(sorted((backend_options or {}).items()))

    def submit(batch: Sequence[BenchmarkPlan]) -> None:
        task = BatchTask(backend_spec, tuple(batch), str(run_dir / f'batch-{next(counter):04d}'),
                         float(timeout_s), keep_workdir, float(kill_grace_s), options)
        pool.submit(task, task.deadline_s)
        summary.batches += 1

    remaining = len(todo)
    try:
        for batch in make_batches(todo, pool.slots, batch_size):
            submit(batch)
        with _Progress(len(todo), progress) as bar:
            while pool.pending():
                for fin in pool.poll(0.5):
                    task: BatchTask = fin.task
                    if fin.status == 'ok':
                        outcomes = fin.payload
                    else:
                        outcomes = [Outcome(p.digest, STATUS_FAILED, error=f'{fin.status}: {fin.payload}',
                                            log_path=str(Path(task.workdir)), batch_size=len(task.plans))
                                    for p in task.plans]
                    if len(task.plans) > 1 and all(o.status == STATUS_FAILED for o in outcomes):
                        for p in task.plans:  # isolate the culprit: rerun each plan on its own
                            submit([p])
                        if fin.status in ('ok', 'error') and not keep_workdir:  # its job has ended
                            shutil.rmtree(task.workdir, ignore_errors=True)
                        continue
                    for plan, outcome in zip(task.plans, outcomes):
                        store.put(make_record(plan, outcome))
                        remaining -= 1
                        if outcome.status == STATUS_OK:
                            summary.ok += 1
                        else:
                            summary.failed += 1
                            summary.failures.append({
                                'operator': plan.operator, 'implementation': plan.implementation,
                                'precision': plan.precision, 'digest': plan.digest,
                                'error': (outcome.error or '').strip().splitlines()[0] if outcome.error else '',
                                'log_path': outcome.log_path,
                            })
                    bar.update(summary.ok, summary.failed, remaining)
    finally:
        pool.close()
    if run_dir.is_dir() and not any(run_dir.iterdir()):
        run_dir.rmdir()
    summary.duration_s = time.monotonic() - t0
    return summary
