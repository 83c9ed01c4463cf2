"""Starting ``srcost serve``: open the store, mark what a previous server left running as interrupted, load
and warm the models, start the job dispatcher, then serve with uvicorn until SIGINT/SIGTERM."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

from profiler.store import CalibrationStore

from .config import ServiceConfig, ServiceError


def build_service(config: ServiceConfig, log=None):
    """The ``Service`` of ``config``, started (models warm, dispatcher running), and the messages of its
    start-up."""
    from .app import Service
    from .auth import Authenticator
    from .jobs import JobManager, interrupt_running
    from .predictor import Predictor, freeze_long_lived

    say = log or (lambda m: print(m, file=sys.stderr, flush=True))
    config.check()
    lease = serve_lock(config.db)
    store = CalibrationStore(config.db, shared=True)
    ids = interrupt_running(store)
    if ids:
        say(f'marked {len(ids)} job(s) that were running when the server stopped as interrupted: {", ".join(ids)}')
    if config.auth and not store.tokens():
        say(f'no tokens in {store.path}: every request will be refused; create one with '
            f'`srcost token create NAME --db {store.path}`')
    lock = threading.Lock()
    predictor = Predictor(config.db, config.limits, config.batch_window_s)
    for w in predictor.start(config.warm):
        say(f'warning: {w}')
    jobs = JobManager(config, predictor)
    jobs.start()
    freeze_long_lived()  # the models and their caches are loaded (see predictor.freeze_long_lived)
    return Service(config, store, lock, Authenticator(store, lock, config.auth), predictor, jobs, lease)


def serve_lock(db: Path):
    """An exclusive lock on ``<db>.serve.lock`` for the server's lifetime (the kernel drops it when the process
    dies, SIGKILL included): two servers on one store would run each other's jobs and mark them interrupted."""
    import fcntl
    import os

    path = Path(str(db) + '.serve.lock')
    path.parent.mkdir(parents=True, exist_ok=True)
    f = open(path, 'a+')
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        f.seek(0)
        other = f.read().strip() or 'another process'
        f.close()
        raise ServiceError(f'the store {db} is already served by {other}; stop that server or give another --db') from None
    f.seek(0)
    f.truncate()
    f.write(f'srcost serve (pid {os.getpid()})')
    f.flush()
    return f


def serve(config: ServiceConfig, access_log: bool = False) -> None:
    import uvicorn

    from .app import create_app

    svc = build_service(config)
    try:
        app = create_app(svc)
        print(f'srcost serve: http://{config.host}:{config.port}/v1 (docs at /docs), store {svc.store.path}, '
              f'jobs on {svc.jobs.executor}{"" if config.auth else ", NO AUTH (loopback only)"}', file=sys.stderr, flush=True)
        uvicorn.run(app, host=config.host, port=config.port, log_level='warning', access_log=access_log,
                    timeout_graceful_shutdown=10)
    finally:
        svc.jobs.stop()
        svc.predictor.stop()
        svc.store.close()
