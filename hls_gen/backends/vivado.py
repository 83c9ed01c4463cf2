"""The Xilinx backends: hls4ml project -> Vivado HLS / Vitis HLS C synthesis -> csynth XML report.

Neither tool can be installed by srcost; where it is missing every call raises ToolNotFound saying what
to install or source. The tool runs in its own process group so a timeout stops it and all its children.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
from collections.abc import Sequence
from pathlib import Path

from ..design import Design
from ..errors import SynthesisError
from ..hls4ml_project import COMPILERS, write_project
from ..reports import parse_csynth_xml
from ..result import SynthResult
from .base import require_tool

ENV_VARS = {'vivado_hls': 'SRCOST_VIVADO_HLS', 'vitis_hls': 'SRCOST_VITIS_HLS'}
HINTS = {
    'vivado_hls': (
        'install Vivado HLS (Vivado 2020.1 or older) and run e.g. "source /opt/Xilinx/Vivado/2020.1/settings64.sh"'
    ),
    'vitis_hls': (
        'install Vitis HLS (2020.2 to 2023.2) and run e.g. "source /opt/Xilinx/Vitis_HLS/2023.1/settings64.sh"'
    ),
}
# build_prj.tcl reads these from its arguments (hls4ml's own `build()` passes them the same way)
BUILD_ARGS = 'reset=1 csim=0 synth=1 cosim=0 validation=0 export=0 vsynth=0'
VERSION_TIMEOUT_S = 120
KILL_GRACE_S = 5


class HLSBackend:
    """``vivado_hls`` or ``vitis_hls`` through an hls4ml project; each design gets its own project folder
    ``<workdir>/<compiler>-<name>-<digest>`` holding the tool's log ``srcost_<compiler>.log``."""

    def __init__(self, compiler: str = 'vivado_hls', **options) -> None:
        if compiler not in COMPILERS:
            raise ValueError(f'compiler must be one of {", ".join(COMPILERS)}, got {compiler!r}')
        if options:
            raise TypeError(f'unknown option(s) for the {compiler} backend: {", ".join(sorted(options))}')
        self.compiler = compiler
        self._version: str | None = None

    def __repr__(self) -> str:
        return f'HLSBackend(compiler={self.compiler!r})'

    @property
    def name(self) -> str:
        return self.compiler

    def executable(self) -> str:
        """The tool's path (``SRCOST_VIVADO_HLS`` / ``SRCOST_VITIS_HLS`` override PATH). Raises ToolNotFound."""
        return require_tool(self.compiler, ENV_VARS[self.compiler], HINTS[self.compiler])

    def tool_version(self) -> str:
        """``2020.1`` etc., from ``<tool> -version``; the whole first line if no year.release is in it."""
        if self._version is None:
            exe = self.executable()
            try:
                proc = subprocess.run(
                    [exe, '-version'], capture_output=True, text=True, timeout=VERSION_TIMEOUT_S, check=False
                )
            except (OSError, subprocess.TimeoutExpired) as e:
                raise SynthesisError(f'{self.compiler} -version failed: {e}') from None
            text = (proc.stdout or '') + (proc.stderr or '')
            m = re.search(r'v?(\d{4}\.\d+(?:\.\d+)?)', text)
            first = next((ln.strip() for ln in text.splitlines() if ln.strip()), '')
            self._version = m.group(1) if m else first or 'unknown'
        return self._version

    def command(self, exe: str) -> list[str]:
        return [exe, '-f', 'build_prj.tcl', BUILD_ARGS]

    def project_dir(self, design: Design, workdir: Path) -> Path:
        return Path(workdir) / f'{self.compiler}-{design.name}-{design.digest()}'

    def synthesize(
        self, designs: Sequence[Design], workdir: str | Path, timeout_s: float = 3600
    ) -> list[SynthResult]:
        """Synthesize each design in turn (``timeout_s`` applies to each tool run); one result per design."""
        exe = self.executable()
        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        return [self._synthesize_one(exe, d, workdir, timeout_s) for d in designs]

    def _synthesize_one(self, exe: str, design: Design, workdir: Path, timeout_s: float) -> SynthResult:
        project = write_project(design, self.project_dir(design, workdir), compiler=self.compiler)
        log_path = project.root / f'srcost_{self.compiler}.log'
        run_logged(self.command(exe), project.root, log_path, timeout_s, self.compiler)
        report = project.report_path
        if not report.is_file():
            raise SynthesisError(
                f'{self.compiler} finished but wrote no report at {report}; C synthesis probably failed', str(log_path)
            )
        rep = parse_csynth_xml(report)
        if rep.top != design.name:
            raise SynthesisError(f'{report} is the report of {rep.top!r}, expected {design.name!r}', str(log_path))
        return rep.to_synth_result(
            backend=self.compiler,
            precision=str(design.precision),
            design_digest=design.digest(),
            log_path=str(log_path),
            clock_period_ns=design.clock_period_ns,
        )


def run_logged(cmd: list[str], cwd: Path, log_path: Path, timeout_s: float, what: str) -> None:
    """Run ``cmd`` in ``cwd`` with stdout+stderr to ``log_path``, in its own process group.

    Raises SynthesisError (with the log path) when it exits non-zero or runs past ``timeout_s``; on a
    timeout the whole process group is stopped (SIGTERM, then SIGKILL).
    """
    with open(log_path, 'wb') as log:
        log.write(f'$ (cd {cwd} && {" ".join(cmd)})\n'.encode())
        log.flush()
        try:
            proc = subprocess.Popen(cmd, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        except OSError as e:
            raise SynthesisError(f'could not start {what}: {e}', str(log_path)) from None
        try:
            rc = proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            _stop_group(proc)
            raise SynthesisError(f'{what} timed out after {timeout_s:g} s and was stopped', str(log_path)) from None
        except BaseException:
            _stop_group(proc)
            raise
    if rc != 0:
        raise SynthesisError(f'{what} failed with exit status {rc}', str(log_path))


def _stop_group(proc: subprocess.Popen) -> None:
    """Stop the process group this module started for ``proc`` (its id is the child's pid)."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=KILL_GRACE_S)
    except subprocess.TimeoutExpired:
        pass
    try:  # children that ignored SIGTERM or outlived the leader
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()
