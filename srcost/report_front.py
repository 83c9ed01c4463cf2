"""The report's lead: accuracy against hardware cost, measured and predicted, with the chosen design marked.

``pareto_section(records, accuracy)`` puts each validated design at (its fixed-point accuracy, its measured and
predicted LUTs and latency), finds the measured Pareto front over (accuracy, LUT, latency) and the chosen
design: the cheapest measured design (LUTs, then latency) whose firmware accuracy is within ``TOLERANCE``
(relative) of the best design's, unless the caller names one. ``plot_pareto`` draws it from the dict alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from costmodel.targets import TARGET_LABELS

from .validation import ValidationRecord

COSTS: tuple[str, ...] = ('lut', 'latency_cycles')
COST_LABELS = {t: TARGET_LABELS[t] for t in COSTS}
HIGHER_IS_BETTER = {'auc': True, 'accuracy': True, 'rmse': False}
TOLERANCE = 0.01


def _dominates(a: dict, b: dict, higher: bool) -> bool:
    """``a`` is at least as good as ``b`` in accuracy and every measured cost, and better in one."""
    acc_ge = a['accuracy'] >= b['accuracy'] if higher else a['accuracy'] <= b['accuracy']
    acc_gt = a['accuracy'] > b['accuracy'] if higher else a['accuracy'] < b['accuracy']
    if not acc_ge or any(a[c] > b[c] for c in COSTS):
        return False
    return acc_gt or any(a[c] < b[c] for c in COSTS)


def choose(points: Sequence[dict], higher: bool, tolerance: float = TOLERANCE) -> int | None:
    """Index of the cheapest measured point (LUTs, then latency) within ``tolerance`` of the best accuracy."""
    measured = [p for p in points if p['accuracy'] is not None and all(p[c] is not None for c in COSTS)]
    if not measured:
        return None
    best = max(p['accuracy'] for p in measured) if higher else min(p['accuracy'] for p in measured)
    slack = abs(best) * tolerance
    good = [p for p in measured if (p['accuracy'] >= best - slack if higher else p['accuracy'] <= best + slack)]
    return min(good, key=lambda p: (p['lut'], p['latency_cycles'], p['index']))['index']


def pareto_section(records: Sequence[ValidationRecord], accuracy: dict, rnd, chosen: int | None = None) -> dict:
    """The dict the report's first plot and table are drawn from (``accuracy`` is the report's accuracy section,
    ``rnd`` its rounding)."""
    metric = accuracy['metric']
    higher = HIGHER_IS_BETTER.get(metric, False)
    fixed = {q['index']: q['fixed'] for q in accuracy['points']}
    points: list[dict[str, Any]] = []
    for r in records:
        act = r.actual or {}
        p: dict[str, Any] = {'index': r.index, 'label': r.label, 'accuracy': fixed.get(r.index)}
        for c in COSTS:
            p[c] = rnd(act.get(c)) if r.ok else None
            p[f'predicted_{c}'] = rnd(r.predicted.get(c))
        points.append(p)
    measured = [p for p in points if p['accuracy'] is not None and all(p[c] is not None for c in COSTS)]
    front = sorted(p['index'] for p in measured if not any(_dominates(q, p, higher) for q in measured if q is not p))
    rule = 'named by the caller'
    if chosen is None:
        chosen = choose(points, higher)
        rule = (f'the cheapest measured design (LUTs, then latency) whose fixed-point {accuracy["metric_label"]} is '
                f'within {TOLERANCE:.0%} of the best design\'s')
    for p in points:
        p['on_front'] = p['index'] in front
        p['chosen'] = p['index'] == chosen
    return {'metric': metric, 'metric_label': accuracy['metric_label'], 'higher_is_better': higher, 'costs': list(COSTS),
            'points': points, 'front': front, 'chosen': chosen, 'rule': rule,
            'has_predictions': any(p[f'predicted_{c}'] is not None for p in points for c in COSTS)}


def plot_pareto(sec: dict, figure) -> Any | None:
    """Accuracy (y) against each cost (x, one panel per cost): measured filled, predicted hollow and joined to
    its measured point, the measured front as a line, the chosen design ringed. None with nothing to draw."""
    pts = [p for p in sec['points'] if p['accuracy'] is not None]
    if not any(p[c] is not None or p[f'predicted_{c}'] is not None for p in pts for c in sec['costs']):
        return None
    fig = figure(4.6 * len(sec['costs']), 3.9)
    axes = fig.subplots(1, len(sec['costs']), squeeze=False)[0]
    for ax, c in zip(axes, sec['costs']):
        for p in pts:
            if p[c] is not None and p[f'predicted_{c}'] is not None:
                ax.plot([p[c], p[f'predicted_{c}']], [p['accuracy']] * 2, color='grey', lw=0.8, alpha=0.6)
        meas = [(p[c], p['accuracy']) for p in pts if p[c] is not None]
        pred = [(p[f'predicted_{c}'], p['accuracy']) for p in pts if p[f'predicted_{c}'] is not None]
        if pred:
            ax.scatter(*zip(*pred), s=42, facecolor='none', edgecolor='tab:orange', label='predicted cost')
        if meas:
            ax.scatter(*zip(*meas), s=22, color='tab:blue', label='measured cost')
        front = sorted((p[c], p['accuracy']) for p in pts if p['on_front'] and p[c] is not None)
        if len(front) > 1:
            ax.plot(*zip(*front), color='tab:blue', lw=1, alpha=0.5, label='measured front')
        ch = next((p for p in pts if p['chosen'] and p[c] is not None), None)
        if ch is not None:
            ax.scatter([ch[c]], [ch['accuracy']], s=190, facecolor='none', edgecolor='tab:red', linewidth=1.8,
                       label=f'chosen (#{ch["index"]})')
        ax.set_xlabel(f'{COST_LABELS[c]}')
        ax.set_ylabel(f'fixed-point {sec["metric_label"]} ({"higher" if sec["higher_is_better"] else "lower"} is better)')
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc='best')
    fig.tight_layout()
    return fig
