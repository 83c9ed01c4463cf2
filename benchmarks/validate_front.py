"""A whole front through ``srcost validate``, checked against ``srcost synth`` run separately.

What a user does, command by command (each a fresh ``srcost`` process):

1. writes a regression problem (y = 2.5*x0*x1 - sin(x2) + exp(0.3*x3) + noise, 8 features) to CSV;
2. ``srcost search data.csv --target y --objective latency --budget-seconds B --out front.json``;
3. ``srcost validate front.json --data data.csv --target y --report report.html --json``: every member
   synthesized on the open backend, emulated bit-accurately, predicted against actual;
4. ``srcost synth EXPR --precision P --n-inputs N --json`` for one member, on its own;

and prints the report's predicted-against-actual errors (which come from that synthesis) and whether the
separate ``srcost synth`` run reports the same numbers as the report's row for that member.

    python benchmarks/validate_front.py [--budget 40] [--rows 3000] [--min-designs 10] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import shlex
import time
from pathlib import Path

from _common import problem_data, srcost, srcost_json, write_csv

from costmodel.targets import TARGETS


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--budget', type=float, default=40.0, help='search seconds')
    ap.add_argument('--rows', type=int, default=3000)
    ap.add_argument('--min-designs', type=int, default=10, help='fail unless the front has at least this many members')
    ap.add_argument('--precision', default='ap_fixed<16,6>')
    ap.add_argument('--out', type=Path, default=Path('srcost-validate-front'))
    ap.add_argument('--json', action='store_true')
    a = ap.parse_args(argv)
    out = a.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    X, y = problem_data('paper', a.rows, seed=0, n_features=8)
    write_csv(out / 'data.csv', X, y, digits=6)

    t0 = time.perf_counter()
    srcost('search', 'data.csv', '--target', 'y', '--objective', 'latency', '--budget-seconds', f'{a.budget:g}',
           '--precision', a.precision, '--unary-operators', 'sin,exp', '--out', 'front.json', cwd=out, echo=True)
    search_s = time.perf_counter() - t0
    front = json.loads((out / 'front.json').read_text())
    n_members = len(front['members'])
    if n_members < a.min_designs:
        raise SystemExit(f'the front has {n_members} members, fewer than --min-designs {a.min_designs}: '
                         'give a larger --budget')

    t0 = time.perf_counter()
    report = srcost_json('validate', 'front.json', '--data', 'data.csv', '--target', 'y', '--precisions', a.precision,
                          '--report', 'report.html', '--workdir', 'work', cwd=out, echo=True)
    validate_s = time.perf_counter() - t0
    ok_rows = [r for r in report['summary'] if r['status'] == 'ok']
    commands = {d['index']: d['synth_command'] for d in report['designs']}

    # one member on its own, through the `srcost synth` line the report gives for it, as a user would check it
    pick = max(ok_rows, key=lambda r: r.get('lut') or 0)  # the largest design: the strictest check
    argv_synth = shlex.split(commands[pick['index']])
    assert argv_synth[:2] == ['srcost', 'synth'], argv_synth
    alone = srcost_json(*[x for x in argv_synth[1:] if x != '--json'], cwd=out, echo=True)
    same = {t: (pick.get(t), alone.get(t)) for t in TARGETS}
    agree = all(x == y for x, y in same.values())
    errors = {t: {k: v for k, v in e.items() if k in ('n', 'mae', 'mape_pct', 'exact_match_rate', 'max_abs_error', 'bias')}
              for t, e in (report.get('prediction') or {}).get('targets', {}).items() if e}

    result = {
        'front_members': n_members, 'validated_ok': len(ok_rows), 'search_s': round(search_s, 1),
        'validate_s': round(validate_s, 1), 'prediction_errors': errors,
        'report': str(out / 'report.html'),
        'checked_alone': {'command': commands[pick['index']], 'report_vs_synth': same, 'agree': agree},
    }
    if a.json:
        print(json.dumps(result, indent=1))
    else:
        print(f'front: {n_members} members ({search_s:.0f} s search); validated {len(ok_rows)} on the open backend '
              f'({validate_s:.0f} s): {result["report"]}')
        print('predicted vs actual (from that synthesis):')
        for t, e in errors.items():
            print(f'  {t:<15} ' + ', '.join(f'{k} {v:.3g}' if isinstance(v, float) else f'{k} {v}' for k, v in e.items()))
        print(f'alone: {commands[pick["index"]]}')
        for t, (x, y_) in same.items():
            print(f'  {t:<15} report {x!s:>8}   srcost synth {y_!s:>8}   {"same" if x == y_ else "DIFFERENT"}')
    return 0 if agree else 1


if __name__ == '__main__':
    raise SystemExit(main())
