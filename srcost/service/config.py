"""Settings of ``srcost serve``: where it listens, which store it serves, where jobs run, and the limits
on a request."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

from hls_gen.errors import SrcostError

DEFAULT_HOST = '127.0.0.1'
DEFAULT_PORT = 8750


class ServiceError(SrcostError, ValueError):
    """The server cannot start as asked (e.g. ``--no-auth`` on a public address)."""


@dataclass(frozen=True)
class Limits:
    """What one request may ask. A request over a limit is refused (413 for the body, 422 for the rest) with
    a message naming the limit."""

    max_body_bytes: int = 4 * 1024 * 1024
    max_expressions: int = 2000  # expressions per request (predict, synth, validate)
    max_nodes: int = 500  # syntax-tree nodes per expression
    max_expression_chars: int = 4000
    max_designs_per_job: int = 64  # designs a synth or validate job may synthesize

    def to_dict(self) -> dict:
        return dict(vars(self))


@dataclass(frozen=True)
class ServiceConfig:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    db: Path = Path('calibration.db')
    scheduler: str | None = None  # a Dask scheduler address; None: the local process pool
    workers: int = 1  # local worker processes for jobs
    auth: bool = True
    limits: Limits = field(default_factory=Limits)
    workdir: Path | None = None  # where job tasks write their files; None: a folder beside the store
    warm: tuple[str, ...] = ('open',)  # backends whose default model is loaded and exercised at start-up
    batch_window_s: float = 0.0  # how long the predictor waits for more requests to batch with (0: no wait)

    def check(self) -> None:
        if not self.auth and not is_loopback(self.host):
            raise ServiceError(f'--no-auth is allowed only on a loopback address (127.0.0.1, ::1, localhost), '
                               f'not on {self.host}: create a token with `srcost token create NAME` instead')
        if self.workers < 1:
            raise ServiceError(f'--workers must be at least 1, got {self.workers}')

    @property
    def job_workdir(self) -> Path:
        return self.workdir if self.workdir is not None else self.db.parent / f'{self.db.stem}-serve-work'


def is_loopback(host: str) -> bool:
    if host == 'localhost':
        return True
    try:
        return ipaddress.ip_address(host.strip('[]')).is_loopback
    except ValueError:
        return False
