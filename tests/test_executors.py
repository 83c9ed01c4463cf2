"""profiler.executors.ThreadPool (validation's synthesis batches run on it): results in order, errors and
deadlines reported, never more jobs at once than slots."""

from __future__ import annotations

import threading

from profiler.executors import ThreadPool, run_all


def test_thread_pool_returns_every_result_in_order_with_errors_reported():
    lock = threading.Lock()
    running, most = [0], [0]

    def job(x):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        try:
            if x < 0:
                raise ValueError(f'negative {x}')
            return x * x
        finally:
            with lock:
                running[0] -= 1

    done = run_all(ThreadPool(job, 2), [3, -1, 4, 5, -2, 6], deadline_s=30)
    assert [f.status for f in done] == ['ok', 'error', 'ok', 'ok', 'error', 'ok']
    assert [f.payload for f in done if f.status == 'ok'] == [9, 16, 25, 36]
    assert done[1].payload == 'ValueError: negative -1' and [f.task for f in done] == [3, -1, 4, 5, -2, 6]
    assert 1 <= most[0] <= 2


def test_a_job_past_its_deadline_is_reported_as_timed_out_and_the_others_finish():
    release = threading.Event()

    def job(x):
        if x == 'hang':
            release.wait(30)  # a tool that hangs until its own timeout
        return x

    pool = ThreadPool(job, 2)
    try:
        ids = {pool.submit('hang', 0.2): 'hang', pool.submit('quick', 30): 'quick'}
        got = {}
        while pool.pending():
            for f in pool.poll(timeout=0.05):
                got[ids[f.job_id]] = f
    finally:
        release.set()
        pool.close()
    assert got['hang'].status == 'timeout' and 'deadline' in got['hang'].payload
    assert got['quick'].status == 'ok' and got['quick'].payload == 'quick'
