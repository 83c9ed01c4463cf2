"""``srcost demo``: the whole loop on the embedded defaults, small enough for a laptop.

1. profile a few operators on the open backend into the calibration store (``--db``, else ``$SRCOST_DB``,
   else ``<out>/calibration.db``);
2. load the shipped open-backend cost model, with the calibration of that same store;
3. search the shipped jet set (Pythia 8 + FastJet jets, ``srcost jets info``), one expression per class, against
   predicted latency;
4. build classifier designs from the fronts (the k-th member of every class front), synthesize them on the
   open backend, emulate them bit-accurately on the test split, compare predicted with actual cost;
5. record the validated designs in the store as training data and write ``<out>/report.html`` (+ JSON).
"""

from __future__ import annotations

import os
import shlex
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

DEMO_OPS = ('+', '-', '*', 'square', 'sin', 'exp')
PRECISION = 'ap_fixed<16,6>'
LUTS = ('sin:256:-4:4',)  # small tables keep the demo's synthesis short


@dataclass
class DemoResult:
    report: Path
    report_json: Path
    db: Path
    n_designs: int
    seconds: float
    profile: dict = field(default_factory=dict)  # profiler.runner.RunSummary.to_dict()
    sr_accuracy: float | None = None  # the SR classifier's test accuracy (float evaluation)
    mlp_accuracy: float | None = None  # the reference MLP's

    def to_dict(self) -> dict:
        return {'report': str(self.report), 'report_json': str(self.report_json), 'db': str(self.db),
                'n_designs': self.n_designs, 'seconds': round(self.seconds, 1), 'profile': self.profile,
                'sr_accuracy': self.sr_accuracy, 'mlp_accuracy': self.mlp_accuracy}


def demo_db_path(out: Path, db: str | os.PathLike | None = None) -> Path:
    """The demo's calibration store: ``db`` (``--db``), else ``$SRCOST_DB``, else ``<out>/calibration.db``."""
    from profiler.store import ENV_DB

    if db:
        return Path(db).expanduser()
    if os.environ.get(ENV_DB):
        return Path(os.environ[ENV_DB]).expanduser()
    return out / 'calibration.db'


def _say(msg: str) -> None:
    print(f'[srcost demo] {msg}', file=sys.stderr, flush=True)


def spread(n_items: int, k: int) -> list[int]:
    """k indices spread evenly over range(n_items), ends included."""
    if n_items <= 1:
        return [0] * k
    return [round(i * (n_items - 1) / max(k - 1, 1)) for i in range(k)]


def run_demo(out: Path, budget_seconds: float = 8.0, n_designs: int = 4, jobs: int | None = None,
             max_train_rows: int = 1500, db: str | os.PathLike | None = None) -> DemoResult:
    from hls_gen import Design
    from hls_gen.backends import get_backend
    from profiler.plans import make_plans
    from profiler.runner import profile_ops
    from profiler.store import CalibrationStore, DesignRecord
    from sr_search.data import load_jets_sample
    from sr_search.estimator import CostAwareRegressor
    from sr_search.tasks import run_classification

    from .report import write_report
    from .validation import validate

    t0 = time.monotonic()
    out.mkdir(parents=True, exist_ok=True)
    db = demo_db_path(out, db)
    db.parent.mkdir(parents=True, exist_ok=True)
    command = 'srcost demo ' + ' '.join(shlex.quote(a) for a in sys.argv[2:])

    _say(f'1/5 profiling {", ".join(DEMO_OPS)} at {PRECISION} on the open backend -> {db}')
    backend = get_backend('open', verify_latency=False)
    plans = make_plans('open', backend.tool_version(), operators=DEMO_OPS, precisions=[PRECISION], lut_sizes=(256,))
    with CalibrationStore(db) as store:
        summary = profile_ops(plans, store, 'open', jobs=jobs, progress=False, backend_options={'verify_latency': False},
                              workdir=out / 'work' / 'profile')
        _say(f'    {summary}')

    _say('2/5 loading the shipped open-backend cost model')
    from costmodel.api import get_model

    model = get_model('auto', 'open', db=db)  # the store just profiled, whatever $SRCOST_DB says
    _say(f'    model: {type(model).__name__}')

    _say(f'3/5 searching the shipped jet set (Pythia 8 + FastJet), {budget_seconds:g} s per class, objective latency')
    jets = load_jets_sample()
    _say(f'    data: {jets.source}; {len(jets.y_train)} training, {len(jets.y_test)} test jets')
    reg = CostAwareRegressor(binary_operators=['+', '-', '*'], unary_operators=['sin_lut', 'square'], maxsize=15,
                             generations=100000, budget_seconds=budget_seconds, random_state=0, objective='latency',
                             precision=PRECISION, backend='open', luts=list(LUTS))
    res = run_classification(jets, reg, max_train_rows=max_train_rows, random_state=0)
    for front in res['fronts']:
        front.metadata.update(precision=PRECISION, backend='open', objective='latency')
        front.save(out / f'front_{front.metadata.get("class")}.json')
    _say(f'    SR accuracy {res["sr"]["accuracy"]:.3f}, MLP {res["mlp"]["accuracy"]:.3f}')

    _say(f'4/5 synthesizing and validating {n_designs} classifier designs (one expression per class each)')
    fronts = [sorted(f.members, key=lambda m: m.complexity) for f in res['fronts']]
    designs, seen = [], set()
    for k in range(n_designs):
        exprs = [front[spread(len(front), n_designs)[k]].expression for front in fronts]
        d = Design.build(exprs, PRECISION, LUTS, n_inputs=jets.X_test.shape[1], name=f'jets{k}')
        key = tuple(e.canonical for e in d.outputs)  # the same expressions under another name are one design
        if key not in seen:
            seen.add(key)
            designs.append(d)

    def predictor(ds):
        return model.predict(ds)

    predictor.name = f'{model.name} cost model, shipped ({type(model).__name__})'  # what the report names
    n_test = min(2000, len(jets.y_test))
    run = validate(designs, jets.X_test[:n_test], jets.y_test[:n_test], backend='open',
                   predictor=predictor, workdir=out / 'work' / 'validate', task='classification',
                   commands=[command])

    _say('5/5 recording validated designs as training data and writing the report')
    with CalibrationStore(db) as store:
        for r in run.records:
            if r.ok:
                store.put_design(DesignRecord(design_digest=r.digest, backend=r.backend,
                                              tool_version=r.actual.get('tool_version', ''), design=r.design,
                                              results=r.actual, provenance={'source': 'srcost demo', 'commands': [command]}))
    from .commands.validate import calibration_frame

    cal = calibration_frame(None, db, 'open')
    html, js = write_report(run, out / 'report.html', calibration=cal, title='srcost demo: jet tagging (generated jets)')
    return DemoResult(html, js, db, len(designs), time.monotonic() - t0, profile=summary.to_dict(),
                      sr_accuracy=res['sr']['accuracy'], mlp_accuracy=res['mlp']['accuracy'])
