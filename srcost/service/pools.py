"""The job runner's executors: ``profiler.executors``' local process pool and Dask pool, plus ``cancel`` of
one submitted task (a queued one is dropped; a running one has its local worker process killed, or its
Dask future cancelled)."""

from __future__ import annotations

from profiler.executors import DaskPool, LocalPool


class LocalJobPool(LocalPool):
    def cancel(self, job_id: int) -> bool:
        for i, (jid, _task, _dl) in enumerate(self.queue):
            if jid == job_id:
                del self.queue[i]
                return True
        for w in list(self.workers):
            if w.job is not None and w.job[0] == job_id:
                self._retire(w)
                return True
        return False


class DaskJobPool(DaskPool):
    def cancel(self, job_id: int) -> bool:
        for i, (jid, _task, _dl) in enumerate(self.queue):
            if jid == job_id:
                del self.queue[i]
                return True
        for fut, (jid, _task, _dl) in list(self.inflight.items()):
            if jid == job_id:
                fut.cancel()
                del self.inflight[fut]
                return True
        return False


def make_pool(fn, scheduler: str | None, workers: int):
    """(pool, description) for ``--scheduler`` / ``--workers``."""
    if scheduler:
        pool = DaskJobPool(fn, scheduler)
        return pool, f'dask {scheduler} ({pool.slots} threads)'
    pool = LocalJobPool(fn, workers)
    return pool, f'local pool ({pool.slots} processes)'
