"""The validation report: one self-contained HTML page and the same numbers as JSON.

``report_data(run, calibration)`` builds one plain dict (every float rounded to 6 significant digits);
``render_html(data)`` draws the page from that dict alone (tables, and plots as base64 PNG from matplotlib's
Agg canvas), and embeds the dict itself in ``<script type="application/json" id="srcost-data">``; ``write_report``
writes ``report.html`` and ``report.json`` from the same dict. So every number on the page is in the JSON.
Table cells carry ``data-path="section/row/key"``: the JSON path of the number they show. The page leads
with accuracy against hardware cost (``srcost.report_front``); long expressions are shortened in the tables,
the full text one click away (``<details>``).
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import io
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from costmodel.targets import SEARCH_TARGETS, TARGET_LABELS, TARGETS

from .report_front import COSTS, pareto_section, plot_pareto
from .validation import ValidationRecord, ValidationRun

REPORT_SCHEMA_VERSION = 1
# predicted against actual: the targets a search can minimize, in the order of TARGETS
PLOT_TARGETS: tuple[str, ...] = tuple(t for t in TARGETS if t in {s.target for s in SEARCH_TARGETS})
# per-operator heatmaps of the calibration: the costs of the report's front (``report_front.COSTS``)
HEATMAP_TARGETS: tuple[str, ...] = tuple(t for t in TARGETS if t in COSTS)
CALIBRATION_COLUMNS = ('operator', 'precision', 'implementation', *HEATMAP_TARGETS)
SIG_DIGITS = 6
MISSING = '—'
SHORT_CHARS = 64  # longer texts in a table (expressions, commands) are shortened, the full text in <details>
LONG_TEXT_KEYS = frozenset({'expressions', 'synth_command'})


# --------------------------------------------------------------------------------------------------
# numbers
# --------------------------------------------------------------------------------------------------
def rnd(x: Any) -> Any:
    """Round a number to SIG_DIGITS significant digits (idempotent with ``fmt``); NaN/inf to None."""
    if x is None or isinstance(x, bool):
        return x
    if isinstance(x, int):
        return x
    try:
        v = float(x)
    except (TypeError, ValueError):
        return x
    if not math.isfinite(v):
        return None
    if hasattr(x, 'dtype') and getattr(x.dtype, 'kind', '') in 'iu':
        return int(x)
    return float(f'{v:.{SIG_DIGITS}g}')


def fmt(x: Any) -> str:
    """How a JSON value is shown on the page."""
    if x is None:
        return MISSING
    if isinstance(x, bool):
        return 'yes' if x else 'no'
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        return f'{x:.{SIG_DIGITS}g}'
    if isinstance(x, (list, tuple)):
        return ', '.join(fmt(v) for v in x)
    return str(x)


def get_path(data: dict, path: str) -> Any:
    """The value at ``a/0/b`` in nested dicts and lists."""
    cur: Any = data
    for part in path.split('/'):
        cur = cur[int(part)] if isinstance(cur, list) else cur[part]
    return cur


# --------------------------------------------------------------------------------------------------
# the data
# --------------------------------------------------------------------------------------------------
def prediction_errors(records: Sequence[ValidationRecord], target: str) -> dict:
    """Predicted against actual ``target`` over the records that have both: n, MAE, MAPE (%, over nonzero
    actual values), exact-match rate (rounded prediction equals the actual count), max abs error, bias."""
    pts = [(float(r.actual[target]), float(r.predicted[target]), r.index) for r in records
           if r.ok and r.actual is not None and r.actual.get(target) is not None and target in r.predicted]
    n = len(pts)
    out: dict[str, Any] = {'target': target, 'n': n, 'mae': None, 'mape_pct': None, 'n_mape': 0,
                           'exact_match_rate': None, 'max_abs_error': None, 'bias': None,
                           'points': [{'index': i, 'actual': rnd(a), 'predicted': rnd(p)} for a, p, i in pts]}
    if not n:
        return out
    errs = [p - a for a, p, _ in pts]
    nz = [(a, p) for a, p, _ in pts if a != 0]
    out.update(
        mae=rnd(sum(abs(e) for e in errs) / n),
        mape_pct=rnd(100.0 * sum(abs(p - a) / abs(a) for a, p in nz) / len(nz)) if nz else None,
        n_mape=len(nz),
        exact_match_rate=rnd(sum(round(p) == a for a, p, _ in pts) / n),
        max_abs_error=rnd(max(abs(e) for e in errs)),
        bias=rnd(sum(errs) / n),
    )
    return out


def _metric_choice(records: Sequence[ValidationRecord]) -> tuple[str, str, str]:
    """(task, metric key, where): the accuracy figure to put against latency."""
    accs = [r.accuracy for r in records if r.accuracy is not None]
    task = accs[0].task if accs else 'none'
    if task == 'classification':
        if any(a.fixed is not None and a.fixed.auc is not None for a in accs):
            return task, 'auc', 'labels'
        return task, 'accuracy', 'labels'
    if task == 'regression':
        return task, 'rmse', 'labels'
    return task, 'rmse', 'float reference'


def _accuracy_section(records: Sequence[ValidationRecord]) -> dict:
    task, metric, against = _metric_choice(records)
    pts = []
    for r in records:
        a = r.accuracy
        if a is None:
            continue
        lat = r.actual.get('latency_cycles') if r.ok and r.actual else None
        if task == 'none':
            fl, fx = None, getattr(a.fixed_vs_float, metric)
        else:
            fl = getattr(a.float, metric) if a.float else None
            fx = getattr(a.fixed, metric) if a.fixed else None
        pts.append({'index': r.index, 'latency_cycles': rnd(lat), 'float': rnd(fl), 'fixed': rnd(fx)})
    label = {'rmse': 'RMSE', 'auc': 'AUC', 'accuracy': 'accuracy'}[metric]
    if task == 'none':
        label = 'RMSE of fixed point against float (no labels)'
    return {'task': task, 'metric': metric, 'metric_label': label, 'against': against, 'points': pts}


def _summary_row(r: ValidationRecord, metric: str, task: str, has_pred: bool) -> dict:
    act = r.actual or {}
    row: dict[str, Any] = {
        'index': r.index, 'label': r.label, 'expressions': '; '.join(r.expressions), 'precision': r.precision,
        'luts': ', '.join(r.luts), 'status': r.status,
    }
    for t in TARGETS:
        row[t] = rnd(act.get(t))
    if has_pred:
        for t in PLOT_TARGETS:
            row[f'predicted_{t}'] = rnd(r.predicted.get(t))
    a = r.accuracy
    if task == 'none' or a is None:
        row['float_metric'] = None
        row['fixed_metric'] = rnd(getattr(a.fixed_vs_float, metric)) if a is not None else None
    else:
        row['float_metric'] = rnd(getattr(a.float, metric)) if a.float else None
        row['fixed_metric'] = rnd(getattr(a.fixed, metric)) if a.fixed else None
    row['fixed_vs_float_max_abs'] = rnd(a.fixed_vs_float.max_abs_error) if a is not None else None
    lut_max = [e.max_abs_error for e in r.lut_errors if e.max_abs_error is not None]
    row['lut_max_abs_error'] = rnd(max(lut_max)) if lut_max else None
    return row


def _precision_key(p: str):
    from hls_gen import Precision

    try:
        q = Precision.parse(p)
        return (0, q.width, q.integer, not q.signed, str(q))
    except Exception:
        return (1, 0, 0, False, str(p))


def calibration_section(calibration) -> dict:
    """Operator x precision matrices (median over repeated records) for latency and LUT."""
    import pandas as pd

    out: dict[str, Any] = {'available': False, 'note': '', 'n_records': 0}
    if calibration is None or len(calibration) == 0:
        out['note'] = 'No calibration records were given: run `srcost profile-ops` to measure operators.'
        return out
    df = pd.DataFrame(calibration).copy()
    missing = [c for c in ('operator', 'precision') if c not in df.columns]
    if missing:
        out['note'] = f'Calibration records lack column(s) {", ".join(missing)}: no heatmap.'
        return out
    if 'implementation' not in df.columns:
        df['implementation'] = ''
    df['implementation'] = df['implementation'].fillna('').astype(str)
    df['operator'] = df['operator'].astype(str)
    df['precision'] = df['precision'].astype(str)
    impls = df.groupby('operator')['implementation'].nunique()
    df['row'] = [o if impls[o] <= 1 or not im else f'{o} [{im}]' for o, im in zip(df['operator'], df['implementation'])]
    out['available'] = True
    out['n_records'] = int(len(df))
    notes = []
    for target in HEATMAP_TARGETS:
        if target not in df.columns or pd.to_numeric(df[target], errors='coerce').notna().sum() == 0:
            notes.append(f'no {TARGET_LABELS[target]} values in the calibration records')
            out[target] = None
            continue
        sub = df.assign(v=pd.to_numeric(df[target], errors='coerce')).dropna(subset=['v'])
        table = sub.groupby(['row', 'precision'])['v'].median().unstack('precision')
        precs = sorted(table.columns, key=_precision_key)
        rows = sorted(table.index)
        table = table.reindex(index=rows, columns=precs)
        out[target] = {
            'operators': list(rows), 'precisions': list(precs),
            'values': [[rnd(v) if pd.notna(v) else None for v in table.loc[r]] for r in rows],
        }
    out['note'] = '; '.join(notes)
    if all(out[t] is None for t in HEATMAP_TARGETS):
        out['available'] = False
    return out


def report_data(run: ValidationRun, calibration=None, title: str | None = None, chosen: int | None = None) -> dict:
    """Everything the report shows, as one JSON-ready dict. ``chosen``: the index of the design to mark as
    chosen (default: ``report_front.choose``'s rule)."""
    recs = run.records
    has_pred = any(r.predicted for r in recs)
    acc = _accuracy_section(recs)
    summary = [_summary_row(r, acc['metric'], acc['task'], has_pred) for r in recs]
    lut_rows = []
    for r in recs:
        for e in r.lut_errors:
            lut_rows.append({'index': r.index, 'name': e.name, 'spec': e.spec, 'precision': e.precision,
                             'n_points': e.n_points, 'max_abs_error': rnd(e.max_abs_error),
                             'mean_abs_error': rnd(e.mean_abs_error), 'sample_max_abs_error': rnd(e.sample_max_abs_error),
                             'n_saturated': e.n_saturated, 'n_undefined': e.n_undefined})
    designs = [{'index': r.index, 'label': r.label, 'expressions': r.expressions, 'precision': r.precision,
                'digest': r.digest, 'status': r.status, 'synth_command': r.synth_command,
                'hls4ml_project': r.hls4ml_project or r.hls4ml_error, 'verilog_dir': r.verilog_dir or r.verilog_error,
                'clock_estimate_ns': rnd((r.actual or {}).get('clock_estimate_ns')),
                'error': '; '.join(x for x in (r.error, r.accuracy_error) if x) or None,
                'log_path': r.log_path} for r in recs]
    n_ok = sum(r.ok for r in recs)
    return {
        'schema_version': REPORT_SCHEMA_VERSION,
        'title': title or f'srcost validation: {len(recs)} design(s) on {run.backend}',
        'generated_at': _dt.datetime.now(_dt.timezone.utc).isoformat(timespec='seconds'),
        'run': {
            'backend': run.backend, 'emulation': run.emulation, 'started_at': run.started_at,
            'finished_at': run.finished_at, 'workdir': run.workdir, 'predictor': run.predictor,
            'synth_seconds': rnd(run.synth_seconds), 'n_designs': len(recs), 'n_ok': n_ok, 'n_failed': len(recs) - n_ok,
            'data': {k: (rnd(v) if isinstance(v, float) else v) for k, v in run.data.items()}, 'notes': list(run.notes),
        },
        'summary': summary,
        'prediction': {'available': has_pred, 'targets': {t: prediction_errors(recs, t) for t in PLOT_TARGETS}},
        'accuracy': acc,
        'pareto': pareto_section(recs, acc, rnd, chosen),
        'lut_errors': lut_rows,
        'designs': designs,
        'calibration': calibration_section(calibration),
        'commands': list(run.commands),
        'tool_versions': dict(run.tool_versions),
    }


# --------------------------------------------------------------------------------------------------
# plots (from the dict only)
# --------------------------------------------------------------------------------------------------
def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format='png', dpi=90, bbox_inches='tight')
    return base64.b64encode(buf.getvalue()).decode('ascii')


def _figure(w: float, h: float):
    from matplotlib.figure import Figure  # the Agg canvas, no pyplot and no global backend switch

    return Figure(figsize=(w, h))


def plot_scatter(errs: dict) -> str:
    fig = _figure(4.2, 4.0)
    ax = fig.add_subplot()
    a = [p['actual'] for p in errs['points']]
    p = [p['predicted'] for p in errs['points']]
    ax.scatter(a, p, s=22, alpha=0.8, color='tab:blue', edgecolor='k', linewidth=0.4)
    lo, hi = min(a + p), max(a + p)
    pad = 0.05 * (hi - lo) or 1.0
    ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color='grey', lw=1, ls='--', label='predicted = actual')
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_ylim(lo - pad, hi + pad)
    name = TARGET_LABELS[errs['target']]
    ax.set_xlabel(f'actual {name}')
    ax.set_ylabel(f'predicted {name}')
    ax.set_title(f'{name}: MAE {fmt(errs["mae"])}, MAPE {fmt(errs["mape_pct"])}%', fontsize=9)
    ax.legend(fontsize=7, loc='upper left')
    ax.grid(alpha=0.3)
    return _png(fig)


def plot_front(sec: dict) -> str | None:
    fig = plot_pareto(sec, _figure)
    return _png(fig) if fig is not None else None


def plot_accuracy(acc: dict) -> str | None:
    pts = [q for q in acc['points'] if q['latency_cycles'] is not None]
    if not pts:
        return None
    fig = _figure(5.5, 3.8)
    ax = fig.add_subplot()
    for q in pts:
        if q['float'] is not None and q['fixed'] is not None:
            ax.plot([q['latency_cycles']] * 2, [q['float'], q['fixed']], color='grey', lw=0.8, alpha=0.6)
    fl = [(q['latency_cycles'], q['float']) for q in pts if q['float'] is not None]
    fx = [(q['latency_cycles'], q['fixed']) for q in pts if q['fixed'] is not None]
    if fl:
        ax.scatter(*zip(*fl), s=40, facecolor='none', edgecolor='tab:blue', label='float')
    if fx:
        ax.scatter(*zip(*fx), s=18, color='tab:orange', label='fixed point (bit-accurate)')
    ax.set_xlabel('actual latency (cycles)')
    ax.set_ylabel(acc['metric_label'])
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _png(fig)


def plot_heatmap(mat: dict, target: str) -> str:
    import numpy as np

    vals = np.array([[np.nan if v is None else v for v in row] for row in mat['values']], dtype=float)
    n_r, n_c = vals.shape
    fig = _figure(max(5.0, 0.55 * n_c + 2.5), max(2.5, 0.32 * n_r + 1.6))
    ax = fig.add_subplot()
    im = ax.imshow(np.ma.masked_invalid(vals), aspect='auto', cmap='viridis')
    ax.set_xticks(range(n_c))
    ax.set_xticklabels(mat['precisions'], rotation=60, ha='right', fontsize=7)
    ax.set_yticks(range(n_r))
    ax.set_yticklabels(mat['operators'], fontsize=7)
    if n_r * n_c <= 600:
        finite = vals[np.isfinite(vals)]
        mid = (finite.min() + finite.max()) / 2 if finite.size else 0
        for i in range(n_r):
            for j in range(n_c):
                if np.isfinite(vals[i, j]):
                    ax.text(j, i, fmt(mat['values'][i][j]), ha='center', va='center', fontsize=6,
                            color='white' if vals[i, j] < mid else 'black')
    fig.colorbar(im, ax=ax, label=TARGET_LABELS[target])
    ax.set_title(f'per-operator {TARGET_LABELS[target]} (median of calibration records)', fontsize=9)
    return _png(fig)


# --------------------------------------------------------------------------------------------------
# HTML (from the dict only)
# --------------------------------------------------------------------------------------------------
_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222;max-width:1400px}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.8em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;font-size:12px;margin:8px 0}
th,td{border:1px solid #ddd;padding:3px 6px;text-align:right;vertical-align:top}
th{background:#f3f3f3}td.t{text-align:left;max-width:420px;overflow-wrap:anywhere}
.ok{color:#176317}.failed{color:#a11}.note{color:#555;font-style:italic}
.plots{display:flex;flex-wrap:wrap;gap:12px}.plots figure{margin:0}
figcaption{font-size:12px;color:#444}code,pre{font-size:12px;background:#f6f6f6}
pre{padding:6px;white-space:pre-wrap;overflow-wrap:anywhere}
details summary{cursor:pointer}details[open] summary{color:#666}details code{display:block;white-space:pre-wrap}
tr.chosen td{font-weight:bold;background:#fff4e0}
"""

# Marks the page once the browser has decoded it: how many plots decoded, how many did not (headless tests read it).
_SELFCHECK = """
window.addEventListener('load', function () {
  var imgs = document.querySelectorAll('img.plot'), good = 0, bad = 0;
  imgs.forEach(function (i) { if (i.complete && i.naturalWidth > 0) { good++; } else { bad++; } });
  var ok = true;
  try { JSON.parse(document.getElementById('srcost-data').textContent); } catch (e) { ok = false; }
  document.body.setAttribute('data-plots-loaded', String(good));
  document.body.setAttribute('data-plots-broken', String(bad));
  document.body.setAttribute('data-json-ok', String(ok));
});
"""


def _e(s: Any) -> str:
    return html.escape(str(s), quote=True)


def _cell(data: dict, path: str, text_col: bool = False) -> str:
    v = get_path(data, path)
    cls = ' class="t"' if text_col or isinstance(v, str) else ''
    return f'<td{cls} data-path="{_e(path)}">{_e(fmt(v))}</td>'


def shorten(text: str, key: str = '') -> str:
    """``text`` cut to about SHORT_CHARS characters; several outputs (``a; b; c``) say how many there are."""
    if len(text) <= SHORT_CHARS:
        return text
    parts = text.split('; ') if key == 'expressions' else [text]
    head = f'{len(parts)} outputs: ' if len(parts) > 1 else ''
    room = max(SHORT_CHARS - len(head), 16)
    return head + parts[0][: room - 1].rstrip() + '…'


def _long_cell(data: dict, path: str) -> str:
    """A text cell that may be long: shortened, the full text one click away (the JSON path on the <details>)."""
    text = fmt(get_path(data, path))
    if len(text) <= SHORT_CHARS:
        return _cell(data, path, True)
    key = path.rsplit('/', 1)[-1]
    return (f'<td class="t long"><details data-path="{_e(path)}"><summary>{_e(shorten(text, key))}</summary>'
            f'<code>{_e(text)}</code></details></td>')


def _table(data: dict, section: str, columns: Sequence[tuple[str, str]], rows_path: str | None = None) -> str:
    rows = get_path(data, rows_path or section)
    head = ''.join(f'<th>{_e(label)}</th>' for _, label in columns)
    body = []
    for i, row in enumerate(rows):
        status = row.get('status') if isinstance(row, dict) else None
        cls = f' class="{_e(status)}"' if status in ('ok', 'failed') else ''
        if isinstance(row, dict) and row.get('chosen') is True:
            cls = ' class="chosen"'
        base = f'{rows_path or section}/{i}'
        body.append(f'<tr{cls}>' + ''.join(_long_cell(data, f'{base}/{k}') if k in LONG_TEXT_KEYS else _cell(data, f'{base}/{k}')
                                           for k, _ in columns) + '</tr>')
    return f'<table id="table-{_e(section.replace("/", "-"))}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _kv_table(data: dict, path: str, table_id: str) -> str:
    d = get_path(data, path)
    rows = ''.join(f'<tr><th class="t">{_e(k)}</th>{_cell(data, f"{path}/{k}", True)}</tr>' for k in d
                   if not isinstance(d[k], (dict, list)))
    return f'<table id="{_e(table_id)}">{rows}</table>'


def _img(b64: str, alt: str, caption: str) -> str:
    return (f'<figure><img class="plot" alt="{_e(alt)}" src="data:image/png;base64,{b64}">'
            f'<figcaption>{_e(caption)}</figcaption></figure>')


def _json_for_script(data: dict) -> str:
    text = json.dumps(data, indent=1, allow_nan=False)
    return text.replace('&', '\\u0026').replace('<', '\\u003c').replace('>', '\\u003e')


def _front_html(data: dict) -> str:
    """The page's lead: accuracy against LUTs and latency, measured and predicted, the chosen design marked."""
    sec = data['pareto']
    out = ['<h2 id="front">Accuracy against hardware cost</h2>']
    img = plot_front(sec)
    if img is None:
        out.append('<p class="note" id="no-front">No design has both an accuracy figure and a cost to plot.</p>')
        return ''.join(out)
    pred = ('hollow: the cost model\'s prediction for the same design, joined to its measured point; '
            if sec['has_predictions'] else 'no cost model predictions were recorded; ')
    cap = (f'Fixed-point {sec["metric_label"]} against measured cost (filled, {data["run"]["backend"]} backend); {pred}'
           f'line: the measured Pareto front; ringed: the chosen design.')
    out.append(f'<div class="plots" id="plots-front">{_img(img, "accuracy against hardware cost", cap)}</div>')
    if sec['chosen'] is not None:
        out.append(f'<p id="chosen">Chosen: design #{_e(sec["chosen"])}, {_e(sec["rule"])}.</p>')
    cols = [('index', '#'), ('label', 'label'), ('accuracy', f'fixed {sec["metric_label"]}')]
    for c in sec['costs']:
        cols.append((c, TARGET_LABELS[c]))
        if sec['has_predictions']:
            cols.append((f'predicted_{c}', f'pred. {TARGET_LABELS[c]}'))
    cols += [('on_front', 'on front'), ('chosen', 'chosen')]
    out.append(_table(data, 'pareto/points', cols))
    return ''.join(out)


def render_html(data: dict) -> str:
    """The page, drawn from ``data`` (``report_data``'s dict) and nothing else."""
    parts = [f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{_e(data["title"])}</title>'
             f'<style>{_CSS}</style></head><body>', f'<h1>{_e(data["title"])}</h1>']
    run = data['run']
    parts.append(f'<p>Generated {_e(data["generated_at"])}.</p>')
    parts.append(_front_html(data))
    parts.append(_kv_table(data, 'run', 'table-run'))
    parts.append(_kv_table(data, 'run/data', 'table-data'))
    for n in run['notes']:
        parts.append(f'<p class="note">{_e(n)}</p>')

    # summary
    acc = data['accuracy']
    parts.append('<h2 id="summary">Summary</h2>')
    cols = [('index', '#'), ('label', 'label'), ('expressions', 'expressions'), ('precision', 'precision'),
            ('luts', 'LUTs'), ('status', 'status'), *((t, TARGET_LABELS[t]) for t in TARGETS)]
    if data['prediction']['available']:
        cols += [(f'predicted_{t}', f'pred. {TARGET_LABELS[t]}') for t in PLOT_TARGETS]
    metric = acc['metric_label'] if acc['task'] != 'none' else 'RMSE'
    if acc['task'] != 'none':
        cols.append(('float_metric', f'float {metric}'))
    cols += [('fixed_metric', f'fixed {metric}' if acc['task'] != 'none' else 'fixed vs float RMSE'),
             ('fixed_vs_float_max_abs', 'fixed vs float max |err|'), ('lut_max_abs_error', 'worst LUT max |err|')]
    parts.append(_table(data, 'summary', cols))
    parts.append(f'<p class="note">Actual numbers: {_e(run["backend"])} backend. Fixed-point outputs: '
                 f'{_e(run["emulation"])} emulation (bit-accurate). Accuracy against {_e(acc["against"])}.</p>')

    # predicted vs actual
    parts.append('<h2 id="prediction">Predicted against actual</h2>')
    pred = data['prediction']
    if not pred['available']:
        parts.append('<p class="note" id="no-prediction">No cost model predictions were recorded for these designs '
                     '(no predictor was given), so there is nothing to compare.</p>')
    else:
        parts.append(f'<p>Cost model: <code>{_e(run["predictor"])}</code>.</p>')
        ecols = [('target', 'target'), ('n', 'n'), ('mae', 'MAE'), ('mape_pct', 'MAPE (%)'), ('n_mape', 'n (MAPE)'),
                 ('exact_match_rate', 'exact-match rate'), ('max_abs_error', 'max |err|'), ('bias', 'bias (pred − actual)')]
        head = ''.join(f'<th>{_e(lbl)}</th>' for _, lbl in ecols)
        body = ''.join('<tr>' + ''.join(_cell(data, f'prediction/targets/{t}/{k}') for k, _ in ecols) + '</tr>'
                       for t in PLOT_TARGETS)
        parts.append(f'<table id="table-prediction"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>')
        figs = [_img(plot_scatter(pred['targets'][t]), f'predicted vs actual {t}',
                     f'{TARGET_LABELS[t]}: n={pred["targets"][t]["n"]}, exact-match rate '
                     f'{fmt(pred["targets"][t]["exact_match_rate"])}')
                for t in PLOT_TARGETS if pred['targets'][t]['n']]
        parts.append(f'<div class="plots" id="plots-prediction">{"".join(figs)}</div>')

    # accuracy against latency
    parts.append('<h2 id="accuracy">Accuracy against latency</h2>')
    img = plot_accuracy(acc)
    if img is None:
        parts.append('<p class="note">No design has both a measured latency and an accuracy figure.</p>')
    else:
        if acc['task'] == 'none':
            cap = f'{acc["metric_label"]} of each design: bit-accurate fixed point against the float evaluation.'
        else:
            cap = (f'{acc["metric_label"]} of each design (task: {acc["task"]}); hollow: float evaluation, '
                   f'filled: bit-accurate fixed point.')
        parts.append(f'<div class="plots" id="plots-accuracy">{_img(img, "accuracy against latency", cap)}</div>')
    parts.append(_table(data, 'accuracy/points', [('index', '#'), ('latency_cycles', 'latency'), ('float', 'float'),
                                                   ('fixed', 'fixed point')]))

    # LUTs
    parts.append('<h2 id="luts">Lookup tables</h2>')
    if data['lut_errors']:
        parts.append(_table(data, 'lut_errors', [
            ('index', 'design'), ('name', 'LUT'), ('spec', 'spec'), ('precision', 'precision'), ('n_points', 'inputs'),
            ('max_abs_error', 'max |err|'), ('mean_abs_error', 'mean |err|'),
            ('sample_max_abs_error', 'max |err| at samples'), ('n_saturated', 'saturated'), ('n_undefined', 'f(x) not finite')]))
        parts.append('<p class="note">Each table as the firmware indexes it, against its float function at every '
                     'value of the precision in the table\'s range.</p>')
    else:
        parts.append('<p class="note">No design uses a lookup table.</p>')

    # calibration
    parts.append('<h2 id="calibration">Per-operator calibration</h2>')
    cal = data['calibration']
    if not cal['available']:
        parts.append(f'<p class="note" id="no-calibration">{_e(cal["note"])}</p>')
    else:
        figs, tables = [], []
        for t in HEATMAP_TARGETS:
            mat = cal.get(t)
            if not mat:
                continue
            figs.append(_img(plot_heatmap(mat, t), f'calibration heatmap {t}',
                             f'{TARGET_LABELS[t]}: operator x precision'))
            head = '<th>operator</th>' + ''.join(f'<th>{_e(p)}</th>' for p in mat['precisions'])
            rows = ''.join(
                f'<tr><th class="t">{_e(op)}</th>' + ''.join(_cell(data, f'calibration/{t}/values/{i}/{j}')
                                                            for j in range(len(mat['precisions']))) + '</tr>'
                for i, op in enumerate(mat['operators']))
            tables.append(f'<details><summary>{_e(TARGET_LABELS[t])} values</summary>'
                          f'<table id="table-calibration-{t}"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></details>')
        parts.append(f'<div class="plots" id="plots-calibration">{"".join(figs)}</div>{"".join(tables)}')
        if cal['note']:
            parts.append(f'<p class="note">{_e(cal["note"])}</p>')

    # designs, commands, versions
    parts.append('<h2 id="designs">Designs and firmware</h2>')
    parts.append(_table(data, 'designs', [
        ('index', '#'), ('status', 'status'), ('digest', 'digest'), ('clock_estimate_ns', 'clock est. (ns)'),
        ('synth_command', 'reproduce with'), ('hls4ml_project', 'hls4ml project'), ('verilog_dir', 'Verilog'),
        ('error', 'error'), ('log_path', 'log')]))
    parts.append('<h2 id="commands">Commands</h2>')
    parts.append('<pre id="commands-list">' + '\n'.join(_e(c) for c in data['commands']) + '</pre>')
    parts.append('<h2 id="versions">Tool versions</h2>')
    parts.append(_kv_table(data, 'tool_versions', 'table-versions'))
    parts.append(f'<script type="application/json" id="srcost-data">{_json_for_script(data)}</script>')
    parts.append(f'<script>{_SELFCHECK}</script>')
    parts.append('</body></html>')
    return '\n'.join(parts)


def write_report(run: ValidationRun, path: str | Path, calibration=None, title: str | None = None,
                 chosen: int | None = None) -> tuple[Path, Path]:
    """Write ``path`` (HTML) and the same numbers as JSON next to it (``.json``); returns both paths."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = report_data(run, calibration, title, chosen)
    json_path = path.with_suffix('.json')
    json_path.write_text(json.dumps(data, indent=2, allow_nan=False))
    path.write_text(render_html(data), encoding='utf-8')
    return path, json_path


__all__ = ['PLOT_TARGETS', 'calibration_section', 'fmt', 'get_path', 'prediction_errors', 'render_html', 'report_data',
           'rnd', 'shorten', 'write_report']
