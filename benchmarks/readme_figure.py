"""The README's picture: the report's lead plot (fixed-point accuracy against measured and predicted LUTs and
latency, the chosen design ringed) drawn from a report's JSON, saved as a PNG.

    srcost demo && python benchmarks/readme_figure.py srcost-demo/report.json --out docs/img/front.png
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def main(argv: list[str] | None = None) -> Path:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('report_json', type=Path, help='a report.json written by srcost demo or srcost validate --report')
    ap.add_argument('--out', type=Path, default=Path('docs/img/front.png'))
    ap.add_argument('--dpi', type=int, default=110)
    args = ap.parse_args(argv)

    from matplotlib.figure import Figure

    from srcost.report_front import plot_pareto

    data = json.loads(args.report_json.read_text())
    fig = plot_pareto(data['pareto'], lambda w, h: Figure(figsize=(w, h)))
    if fig is None:
        raise SystemExit(f'{args.report_json}: no design has both an accuracy figure and a cost')
    fig.suptitle(data['title'], fontsize=9)
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=args.dpi, bbox_inches='tight')
    print(args.out)
    return args.out


if __name__ == '__main__':
    main()
