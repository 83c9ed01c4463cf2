"""Executors: where batches of micro-benchmarks run. Swappable; the runner only calls ``submit``,
``poll``, ``pending`` and ``close``.

- ``LocalPool``: persistent worker processes on this machine (spawned, so no state leaks from the
  parent). A batch past its deadline has its worker killed and replaced: a hung tool never stalls the
  run. Workers die with the parent (``PR_SET_PDEATHSIG`` on Linux), so a killed run leaves no orphans.
- ``ThreadPool``: threads of this process, for work that happens in a tool's own subprocess (``srcost
  validate`` synthesizes its batches so): the backend object stays in the parent, nothing is pickled. A
  batch past its deadline is reported as timed out (a thread cannot be interrupted; the backend's own
  tool timeout ends it).
- ``DaskPool``: a Dask distributed cluster (``tcp://host:port``). Workers must be able to import srcost
  and run the backend's tools. A batch past its deadline is reported as timed out and its future
  cancelled (Dask cannot interrupt a running task; the backend's own tool timeout ends it).

``poll`` returns finished jobs as ``Finished(job_id, task, status, payload)`` where status is ``ok``
(payload: the function's return value), ``error`` (payload: the exception text), ``timeout`` or
``crashed`` (payload: a message).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import wait as mp_wait
from typing import Any

from .errors import ProfilerError


@dataclass
class Finished:
    job_id: int
    task: Any
    status: str  # 'ok', 'error', 'timeout', 'crashed'
    payload: Any


def _set_parent_death_signal() -> None:
    """Ask Linux to SIGKILL this process when its parent dies (no effect elsewhere)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - non-Linux
        pass


def _worker_main(conn, parent_pid: int, fn: Callable) -> None:
    _set_parent_death_signal()
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    try:  # whatever tools print (C++ libraries included) goes to stderr: stdout carries `--json` results
        os.dup2(2, 1)
    except OSError:  # pragma: no cover
        pass
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            break
        if msg is None:
            break
        job_id, task = msg
        try:
            out = (job_id, 'ok', fn(task))
        except BaseException as e:  # noqa: BLE001 - reported to the parent, which records it
            out = (job_id, 'error', f'{type(e).__name__}: {e}\n{traceback.format_exc()}')
        try:
            conn.send(out)
        except (BrokenPipeError, EOFError, OSError):
            break
        except Exception as e:  # noqa: BLE001 - e.g. an unpicklable result
            conn.send((job_id, 'error', f'cannot send the result back: {type(e).__name__}: {e}'))


class _Worker:
    def __init__(self, ctx, fn: Callable):
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker_main, args=(child, os.getpid(), fn), daemon=True,
                                name='srcost-profile-worker')
        self.proc.start()
        child.close()
        self.job: tuple[int, Any, float] | None = None  # (job id, task, deadline)

    def kill(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(timeout=5)
        self.conn.close()


class _JobQueue:
    """What both pools share: submitted jobs wait in order until a slot takes them; a job's deadline counts
    from when it starts."""

    def __init__(self) -> None:
        self.queue: deque[tuple[int, Any, float]] = deque()  # (job id, task, seconds allowed once started)
        self._next_id = 0

    def submit(self, task: Any, deadline_s: float) -> int:
        self._next_id += 1
        self.queue.append((self._next_id, task, float(deadline_s)))
        return self._next_id


class LocalPool(_JobQueue):
    def __init__(self, fn: Callable, jobs: int | None = None):
        super().__init__()
        self.fn = fn
        self.slots = max(1, int(jobs or os.cpu_count() or 1))
        self.ctx = mp.get_context('spawn')
        self.workers: list[_Worker] = []

    def pending(self) -> int:
        return len(self.queue) + sum(w.job is not None for w in self.workers)

    def _dispatch(self) -> None:
        while self.queue:
            idle = next((w for w in self.workers if w.job is None), None)
            if idle is None:
                if len(self.workers) >= self.slots:
                    return
                idle = _Worker(self.ctx, self.fn)
                self.workers.append(idle)
            job_id, task, deadline_s = self.queue.popleft()
            try:
                idle.conn.send((job_id, task))
            except (BrokenPipeError, OSError):
                self._retire(idle)
                self.queue.appendleft((job_id, task, deadline_s))
                continue
            idle.job = (job_id, task, time.monotonic() + deadline_s)

    def _retire(self, w: _Worker) -> None:
        w.kill()
        self.workers.remove(w)

    def poll(self, timeout: float = 0.5) -> list[Finished]:
        self._dispatch()
        busy = [w for w in self.workers if w.job is not None]
        if not busy:
            return []
        now = time.monotonic()
        wait_s = max(0.0, min(timeout, min(w.job[2] - now for w in busy)))
        mp_wait([w.conn for w in busy] + [w.proc.sentinel for w in busy], timeout=wait_s)
        done: list[Finished] = []
        for w in busy:
            job_id, task, deadline = w.job
            if w.conn.poll():
                try:
                    got_id, status, payload = w.conn.recv()
                except (EOFError, OSError) as e:
                    done.append(Finished(job_id, task, 'crashed', f'worker process died: {e}'))
                    self._retire(w)
                    continue
                w.job = None
                done.append(Finished(job_id, task, status, payload))
            elif not w.proc.is_alive():
                code = w.proc.exitcode
                done.append(Finished(job_id, task, 'crashed', f'worker process died (exit code {code})'))
                self._retire(w)
            elif time.monotonic() > deadline:
                done.append(Finished(job_id, task, 'timeout', 'killed: the batch ran past its deadline'))
                self._retire(w)
        self._dispatch()
        return done

    def close(self) -> None:
        for w in list(self.workers):
            try:
                if w.job is None:
                    w.conn.send(None)
            except (BrokenPipeError, OSError):
                pass
        for w in list(self.workers):
            if w.job is None:
                w.proc.join(timeout=5)
            w.kill()
        self.workers.clear()
        self.queue.clear()


class ThreadPool(_JobQueue):
    def __init__(self, fn: Callable, jobs: int | None = None):
        from concurrent.futures import ThreadPoolExecutor

        super().__init__()
        self.fn = fn
        self.slots = max(1, int(jobs or os.cpu_count() or 1))
        self.pool = ThreadPoolExecutor(self.slots, thread_name_prefix='srcost-thread')
        self.inflight: dict[Any, tuple[int, Any, float]] = {}

    def pending(self) -> int:
        return len(self.queue) + len(self.inflight)

    def _dispatch(self) -> None:
        # at most one job per thread in flight, so deadlines count from when a job starts
        while self.queue and len(self.inflight) < self.slots:
            job_id, task, deadline_s = self.queue.popleft()
            self.inflight[self.pool.submit(self.fn, task)] = (job_id, task, time.monotonic() + deadline_s)

    def poll(self, timeout: float = 0.5) -> list[Finished]:
        from concurrent.futures import FIRST_COMPLETED
        from concurrent.futures import wait as futures_wait

        self._dispatch()
        if not self.inflight:
            return []
        now = time.monotonic()
        wait_s = max(0.0, min(timeout, min(d for _, _, d in self.inflight.values()) - now))
        futures_wait(list(self.inflight), timeout=wait_s, return_when=FIRST_COMPLETED)
        done: list[Finished] = []
        for fut, (job_id, task, deadline) in list(self.inflight.items()):
            if fut.done():
                exc = fut.exception()
                if exc is None:
                    done.append(Finished(job_id, task, 'ok', fut.result()))
                else:
                    done.append(Finished(job_id, task, 'error', f'{type(exc).__name__}: {exc}'))
            elif time.monotonic() > deadline:
                done.append(Finished(job_id, task, 'timeout', 'the job ran past its deadline (its thread ends with the tool)'))
            else:
                continue
            del self.inflight[fut]
        self._dispatch()
        return done

    def close(self) -> None:
        self.queue.clear()
        self.inflight.clear()
        self.pool.shutdown(wait=False, cancel_futures=True)


def run_all(pool, tasks: list, deadline_s: float) -> list[Finished]:
    """Submit ``tasks`` to ``pool``, wait for all of them, close the pool; the results in the order of ``tasks``."""
    try:
        ids = [pool.submit(t, deadline_s) for t in tasks]
        got: dict[int, Finished] = {}
        while pool.pending():
            for f in pool.poll():
                got[f.job_id] = f
        return [got[i] for i in ids]
    finally:
        pool.close()


class DaskPool(_JobQueue):
    def __init__(self, fn: Callable, address: str, connect_timeout_s: float = 30):
        super().__init__()
        try:
            from distributed import Client
        except ImportError:  # pragma: no cover - distributed is a dependency
            raise ProfilerError('--scheduler needs dask[distributed]: pip install "dask[distributed]"') from None
        self.fn = fn
        try:
            self.client = Client(address, timeout=f'{connect_timeout_s}s', set_as_default=False)
        except (OSError, TimeoutError) as e:
            raise ProfilerError(f'cannot connect to the Dask scheduler at {address}: {e}') from None
        self.slots = max(1, sum(self.client.nthreads().values()))
        self.inflight: dict[Any, tuple[int, Any, float]] = {}

    def pending(self) -> int:
        return len(self.queue) + len(self.inflight)

    def _dispatch(self) -> None:
        # keep at most one batch per worker thread in flight, so deadlines count from when a batch starts
        while self.queue and len(self.inflight) < self.slots:
            job_id, task, deadline_s = self.queue.popleft()
            fut = self.client.submit(self.fn, task, pure=False, key=f'srcost-profile-{os.getpid()}-{job_id}')
            self.inflight[fut] = (job_id, task, time.monotonic() + deadline_s)

    def poll(self, timeout: float = 0.5) -> list[Finished]:
        self._dispatch()
        if not self.inflight:
            return []
        end = time.monotonic() + timeout
        while time.monotonic() < end and all(f.status == 'pending' for f in self.inflight):
            time.sleep(0.02)  # (distributed.wait needs a default client, which this pool does not install)
        done: list[Finished] = []
        for fut, (job_id, task, deadline) in list(self.inflight.items()):
            if fut.status == 'finished':
                try:
                    done.append(Finished(job_id, task, 'ok', fut.result()))
                except Exception as e:  # noqa: BLE001
                    done.append(Finished(job_id, task, 'error', f'{type(e).__name__}: {e}'))
            elif fut.status == 'error':
                exc = fut.exception()
                done.append(Finished(job_id, task, 'error', f'{type(exc).__name__}: {exc}'))
            elif fut.status in ('cancelled', 'lost'):
                done.append(Finished(job_id, task, 'crashed', f'Dask task {fut.status}'))
            elif time.monotonic() > deadline:
                fut.cancel()
                done.append(Finished(job_id, task, 'timeout', 'cancelled: the batch ran past its deadline on the Dask cluster'))
            else:
                continue
            del self.inflight[fut]
        self._dispatch()
        return done

    def close(self) -> None:
        for fut in list(self.inflight):
            fut.cancel()
        self.inflight.clear()
        self.queue.clear()
        self.client.close()
