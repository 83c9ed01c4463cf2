"""The datapath model's DSP count against Yosys, multiplier by multiplier.

Two sets of standalone Verilog designs, synthesized in one Yosys run each (``synth_xilinx -family xcup``,
each design a kept submodule), then the DSP48E2 cells of every ``$mul`` counted by its name:

- singles: a signed a x b product registered and cut to its low y bits, against
  ``costmodel.fixedpoint.dsp_count(a, b, True, True, y)``: 10 fixed cases and 40 random ones;
- chains: ``((A*B)*C)*D`` cut to y bits, against the two wreduce passes around mul2dsp
  (``mul_tiles``: the last product cut before mul2dsp, the ones below it by the operand slices the partial
  products above them read): 11 fixed cases and 14 random ones.

    python benchmarks/mul2dsp_check.py [--seed-singles 1] [--seed-chains 5]
"""

from __future__ import annotations

import argparse
import random
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from costmodel.fixedpoint import dsp_count  # noqa: E402
from hls_gen.tools import yosys_command  # noqa: E402

FIXED_SINGLES = [(46, 53, 71), (46, 53, 97), (166, 19, 72), (155, 12, 166), (155, 12, 86), (78, 78, 155), (78, 78, 72),
                 (34, 12, 28), (46, 12, 28), (67, 12, 72)]


def singles(seed: int) -> list[tuple[int, int, int]]:
    rng = random.Random(seed)
    out = list(FIXED_SINGLES)
    for _ in range(40):
        a, b = rng.randint(19, 90), rng.randint(12, 60)
        out.append((a, b, rng.randint(10, a + b)))
    return out


def chains(seed: int) -> list[tuple[int, int, int, int, int]]:
    rng = random.Random(seed)
    out = [(78, 78, 12, 19, y) for y in range(30, 131, 10)]
    for _ in range(14):
        a, b, c, d = rng.randint(20, 60), rng.randint(12, 40), rng.randint(8, 30), rng.randint(8, 30)
        out.append((a, b, c, d, rng.randint(20, a + b + c + d - 3)))
    return out


def chain_model(a: int, b: int, c: int, d: int, y: int) -> list[int]:
    from costmodel.fixedpoint import chain_dsp

    return chain_dsp(a, [b, c, d], [a + b - 1, a + b - 1 + c, y])  # the widths the Verilog below declares


def synthesize(modules: list[str], ports: list[str], insts: list[str]) -> dict[int, dict[int, int]]:
    """{module index: {Verilog line of the $mul: DSP48E2 cells}}."""
    with tempfile.TemporaryDirectory(prefix='srcost-mul2dsp-') as tmp:
        t = Path(tmp)
        (t / 'm.v').write_text(''.join(modules) + 'module top(' + ', '.join(ports) + ');\n' + ''.join(insts) + 'endmodule\n')
        (t / 'm.ys').write_text('\n'.join([
            'read_verilog m.v', 'hierarchy -top top',
            'setattr -mod -set keep_hierarchy 1 ' + ' '.join(f'm{k}' for k in range(len(modules))),
            'synth_xilinx -family xcup -top top -flatten -noiopad', 'tee -q -o dsp.txt select -list t:DSP48E2']))
        subprocess.run([*yosys_command(), '-q', '-s', 'm.ys'], cwd=t, check=True, timeout=1800, capture_output=True)
        got: dict[int, dict[int, int]] = {k: {} for k in range(len(modules))}
        for name in (t / 'dsp.txt').read_text().split():
            m = re.match(r'm(\d+)/\$mul\$m\.v:(\d+)', name)
            if m:
                line = int(m.group(2))
                got[int(m.group(1))][line] = got[int(m.group(1))].get(line, 0) + 1
        return got


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--seed-singles', type=int, default=1)
    ap.add_argument('--seed-chains', type=int, default=5)
    a = ap.parse_args(argv)

    cases = singles(a.seed_singles)
    mods, ports, insts = [], ['input clk'], []
    for k, (wa, wb, y) in enumerate(cases):
        mods.append(f'module m{k}(input clk, input signed [{wa - 1}:0] a, input signed [{wb - 1}:0] b, output reg [{y - 1}:0] y);\n'
                    f' reg signed [{wa - 1}:0] ar; reg signed [{wb - 1}:0] br;\n'
                    f' always @(posedge clk) begin ar <= a; br <= b; end\n'
                    f' wire signed [{wa + wb - 1}:0] q = ar * br;\n'
                    f' always @(posedge clk) y <= q[{y - 1}:0];\nendmodule\n')
        ports.append(f'input [{wa - 1}:0] a{k}, input [{wb - 1}:0] b{k}, output [{y - 1}:0] y{k}')
        insts.append(f' m{k} u{k}(.clk(clk), .a(a{k}), .b(b{k}), .y(y{k}));\n')
    got = synthesize(mods, ports, insts)
    ok = 0
    for k, (wa, wb, y) in enumerate(cases):
        actual, pred = sum(got[k].values()), dsp_count(wa, wb, True, True, y)
        ok += actual == pred
        if actual != pred:
            print(f'  single {wa}x{wb} -> {y} bits: Yosys {actual}, model {pred}')
    print(f'singles: {ok} of {len(cases)} exact')

    cases5 = chains(a.seed_chains)
    mods, ports, insts = [], [], []
    for k, (wa, wb, wc, wd, y) in enumerate(cases5):
        p1, p2 = wa + wb - 1, wa + wb - 1 + wc
        mods.append(f'module m{k}(input signed [{wa - 1}:0] A, input signed [{wb - 1}:0] B, input signed [{wc - 1}:0] C, '
                    f'input signed [{wd - 1}:0] D, output [{y - 1}:0] Y);\n'
                    f' wire signed [{p1 - 1}:0] m1 = A * B;\n wire signed [{p2 - 1}:0] m2 = m1 * C;\n'
                    f' wire signed [{p2 + wd - 1}:0] m3 = m2 * D;\n assign Y = m3[{y - 1}:0];\nendmodule\n')
        ports.append(f'input [{wa - 1}:0] a{k}, input [{wb - 1}:0] b{k}, input [{wc - 1}:0] c{k}, input [{wd - 1}:0] d{k}, '
                     f'output [{y - 1}:0] y{k}')
        insts.append(f' m{k} u{k}(.A(a{k}), .B(b{k}), .C(c{k}), .D(d{k}), .Y(y{k}));\n')
    got = synthesize(mods, ports, insts)
    ok = 0
    for k, c in enumerate(cases5):
        actual = [got[k].get(6 * k + i, 0) for i in (2, 3, 4)]  # module k's products are on lines 6k+2 .. 6k+4
        pred = chain_model(*c)
        ok += actual == pred
        if actual != pred:
            print(f'  chain {c}: Yosys {actual}, model {pred}')
    print(f'chains: {ok} of {len(cases5)} exact (DSPs of each of the three multipliers)')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
