"""How fast the Vivado HLS model predicts a five-output design: in one process (the first design, which loads
everything, then new designs and a repeated one) and as ``srcost predict --backend vivado_hls --json`` in a
fresh process each time (what a user or a script calling the command sees). Usage::

    python benchmarks/vivado_predict_speed.py [--designs 20] [--cli 3] [--json]

The designs are five random outputs of sums of products of x0..x7, sin/cos and constants, at random
precisions from 8 to 20 bits (fixed seed), so that every one is new to the model's caches.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import REPO, srcost_json  # noqa: E402


def random_design_texts(rng: random.Random) -> tuple[list[str], str]:
    def term() -> str:
        k = rng.randint(1, 3)
        choices = (f'x{rng.randrange(8)}', f'sin(x{rng.randrange(8)})', f'cos({rng.uniform(0.3, 2):.3f}*x{rng.randrange(8)})',
                   f'(x{rng.randrange(8)} + {rng.uniform(-2, 2):.3f})')
        factors = [rng.choice(choices) for _ in range(k)]
        return f'{rng.uniform(-2, 2):.4f}*' + '*'.join(factors)

    outputs = [' + '.join(term() for _ in range(rng.randint(2, 4))) for _ in range(5)]
    w = rng.randint(8, 20)
    return outputs, f'ap_fixed<{w},{min(6, w - 2)}>'


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--designs', type=int, default=20)
    ap.add_argument('--cli', type=int, default=3, help='fresh `srcost predict` processes to time')
    ap.add_argument('--json', action='store_true')
    a = ap.parse_args()
    rng = random.Random(0)
    designs = [random_design_texts(rng) for _ in range(a.designs + 1)]

    t0 = time.perf_counter()
    from costmodel.api import get_model
    from hls_gen import Design

    m = get_model('auto', 'vivado_hls')
    first_design = Design.build(*designs[0])
    m.predict([first_design])
    first = time.perf_counter() - t0
    new = []
    for outs, prec in designs[1:]:
        d = Design.build(outs, prec)
        t = time.perf_counter()
        m.predict([d])
        new.append(time.perf_counter() - t)
    t = time.perf_counter()
    m.predict([first_design])
    repeated = time.perf_counter() - t

    cli = []
    for outs, prec in designs[1: 1 + a.cli]:
        t = time.perf_counter()
        srcost_json('predict', '--backend', 'vivado_hls', '--precision', prec, '--', *outs, cwd=REPO)
        cli.append(time.perf_counter() - t)
    out = {'first_design_s': round(first, 3), 'new_design_median_s': round(statistics.median(new), 4),
           'new_design_max_s': round(max(new), 4), 'repeated_design_s': round(repeated, 5),
           'cli_median_s': round(statistics.median(cli), 2) if cli else None, 'designs': len(new)}
    if a.json:
        print(json.dumps(out, indent=1))
        return
    print(f'in one process: first design {out["first_design_s"]} s (imports, model file); new five-output designs: median '
          f'{out["new_design_median_s"]} s, max {out["new_design_max_s"]} s over {len(new)}; '
          f'a repeated design {out["repeated_design_s"]} s')
    if cli:
        print(f'srcost predict --backend vivado_hls --json, a fresh process each: median {out["cli_median_s"]} s over {len(cli)}')


if __name__ == '__main__':
    main()
