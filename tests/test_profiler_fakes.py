"""Fake synthesis backends for the profiler tests, selected with ``--backend test_profiler_fakes:Class``.

They follow the Backend protocol (``name``, ``tool_version()``, ``synthesize(designs, workdir, timeout_s)``),
write a log, and return deterministic numbers. Environment variables tune them in subprocesses and
worker processes:
  SRCOST_FAKE_DELAY   seconds each design takes (SlowBackend; default 0.5)
  SRCOST_FAKE_CALLS   a file to which every synthesize() call appends its number of designs
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from hls_gen.errors import SynthesisError
from hls_gen.result import SynthResult


class FakeBackend:
    name = 'fake'
    delay_s = 0.0

    def __init__(self, lut_per_char: int = 10):
        self.lut_per_char = lut_per_char

    def tool_version(self) -> str:
        return 'fake 1.0'

    def fails_on(self, design) -> bool:
        return False

    def hangs_on(self, design) -> bool:
        return False

    def synthesize(self, designs, workdir, timeout_s=600):
        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        log = workdir / 'fake.log'
        calls = os.environ.get('SRCOST_FAKE_CALLS')
        if calls:
            with open(calls, 'a') as fh:
                fh.write(f'{len(designs)}\n')
        os.write(1, b'fake tool chatter on stdout\n')  # like da4ml's C++ warnings: must not reach --json output
        results = []
        with open(log, 'a') as fh:
            for d in designs:
                fh.write(f'fake synthesis of {[str(e) for e in d.outputs]} at {d.precision}\n')
                fh.flush()
                if self.hangs_on(d):
                    time.sleep(3600)  # ignores timeout_s on purpose: the runner must kill it
                time.sleep(self.delay_s)
                if self.fails_on(d):
                    fh.write('ERROR: fake tool crashed on this design\n')
                    fh.flush()
                    raise SynthesisError(f'fake tool failed on {d.outputs[0]}', str(log))
                text = str(d.outputs[0])
                results.append(SynthResult(
                    backend=self.name, tool='fake', tool_version=self.tool_version(), part=d.part,
                    precision=str(d.precision), clock_period_ns=d.clock_period_ns, latency_best=len(text) % 5,
                    latency_worst=len(text) % 5 + 1, ii=1, lut=self.lut_per_char * len(text), ff=d.precision.width, dsp=int('*' in text),
                    bram_18k=0, carry=2, clock_estimate_ns=3.2, clock_estimate_method='fake estimate',
                    latency_method='fake', design_digest=d.digest(), log_path=str(log),
                ))
        return results


class SlowBackend(FakeBackend):
    @property
    def delay_s(self) -> float:
        return float(os.environ.get('SRCOST_FAKE_DELAY', '0.5'))


class FailingBackend(FakeBackend):
    """Its tool fails on every design that uses tan (native or LUT)."""

    def fails_on(self, design) -> bool:
        return 'tan' in str(design.outputs[0])


class HangingBackend(FakeBackend):
    """Its tool hangs (ignoring the timeout) on every design that uses tan."""

    def hangs_on(self, design) -> bool:
        return 'tan' in str(design.outputs[0])


# -- the fakes themselves follow the protocol ------------------------------------------------------------
def test_fake_backend_follows_the_protocol(tmp_path):
    from hls_gen import Design

    d = Design.build('x0 + x1', 'ap_fixed<16,6>')
    (r,) = FakeBackend().synthesize([d], tmp_path)
    assert r.latency_worst >= r.latency_best and r.design_digest == d.digest()
    assert (tmp_path / 'fake.log').is_file()


def test_failing_fake_raises_synthesis_error_with_its_log(tmp_path):
    import pytest

    from hls_gen import Design

    with pytest.raises(SynthesisError) as info:
        FailingBackend().synthesize([Design.build('tan(x0)', 'ap_fixed<16,6>')], tmp_path)
    assert info.value.log_path == str(tmp_path / 'fake.log')
