"""A fake synthesis runner for cost-model tests: deterministic 'results' computed from the datapath model
with a few nonlinear twists (so the learned model has something to learn), one failing design."""

from __future__ import annotations

from costmodel.features import FEATURES, FeatureExtractor
from hls_gen import SynthesisError, SynthResult


def fake_results(designs, fail_every: int = 0, start: int = 0) -> list:
    fx = FeatureExtractor()
    X = fx.matrix(designs)
    out = []
    for i, (d, row) in enumerate(zip(designs, X)):
        r = dict(zip(FEATURES, row))
        if fail_every and (start + i) % fail_every == fail_every - 1:
            out.append(SynthesisError('fake tool crashed', '/tmp/fake.log'))
            continue
        lat = int(r['dp_stages'] + (1 if r['n_outputs'] > 2 else 0))
        lut = int(1.3 * r['dp_add_bits'] + 0.8 * r['dp_rom_lut6'] + 2 * r['dp_mux_bits'] + 30 * r['dp_n_mul'] + 5)
        ff = int(r['dp_in_bits'] + r['dp_out_bits'] + 1.1 * r['dp_reg_bits'])
        out.append(SynthResult(
            backend='open', tool='fake', tool_version='fake 1.0', part=d.part, precision=str(d.precision),
            clock_period_ns=d.clock_period_ns, latency_best=lat, latency_worst=lat, ii=1, lut=lut, ff=ff,
            dsp=int(r['dp_mul_dsp_mapped']), bram_18k=0, design_digest=d.digest(),
        ))
    return out


class FakeRunner:
    def __init__(self, fail_every: int = 0):
        self.fail_every = fail_every
        self.calls = 0

    def __call__(self, designs):
        out = fake_results(designs, self.fail_every, self.calls)
        self.calls += len(designs)
        return out

    def tool_version(self) -> str:
        return 'fake 1.0'
