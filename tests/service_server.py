"""A real ``srcost serve`` in a subprocess on 127.0.0.1 (a free port), for the service tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class ServerProcess:
    def __init__(self, db: Path, log: Path, *args: str):
        self.db, self.log_path, self.args = Path(db), Path(log), list(args)
        self.port = free_port()
        self.url = f'http://127.0.0.1:{self.port}'
        self.proc: subprocess.Popen | None = None

    def start(self, timeout_s: float = 300.0) -> ServerProcess:
        env = {k: v for k, v in os.environ.items() if k not in ('SRCOST_DB', 'SRCOST_TOKEN')}
        self._log = open(self.log_path, 'ab')
        self.proc = subprocess.Popen(
            [sys.executable, '-m', 'srcost', 'serve', '--db', str(self.db), '--port', str(self.port), *self.args],
            stdout=self._log, stderr=subprocess.STDOUT, env=env)
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f'srcost serve exited with {self.proc.returncode}:\n{self.log()}')
            try:
                if httpx.get(f'{self.url}/v1/health', timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f'srcost serve did not answer within {timeout_s} s:\n{self.log()}')

    def log(self) -> str:
        return self.log_path.read_text(errors='replace')[-5000:] if self.log_path.exists() else ''

    def children(self) -> list[int]:
        """Process ids of the server's job workers (its children spawned by multiprocessing, less the
        resource tracker)."""
        out = []
        for task in Path(f'/proc/{self.proc.pid}/task').glob('*'):
            try:
                pids = [int(p) for p in (task / 'children').read_text().split()]
            except OSError:
                continue
            for pid in pids:
                try:
                    cmd = Path(f'/proc/{pid}/cmdline').read_bytes().replace(b'\0', b' ')
                except OSError:
                    continue
                if b'spawn_main' in cmd and b'resource_tracker' not in cmd:
                    out.append(pid)
        return out

    def kill(self) -> None:
        """SIGKILL, as a crash or an OOM kill would."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        self._log.close()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        if hasattr(self, '_log') and not self._log.closed:
            self._log.close()
