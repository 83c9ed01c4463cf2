"""The validation report: HTML and JSON carry the same numbers; error figures come from the records; the page
is self-contained and loads in headless Chromium with its plots."""

from __future__ import annotations

import base64
import json
import shutil
import struct
import subprocess
from html.parser import HTMLParser

import pandas as pd
import pytest

from srcost.report import fmt, get_path, prediction_errors, render_html, report_data, write_report
from srcost.validation import Accuracy, LutError, Metrics, ValidationRecord, ValidationRun

PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'


def _record(i, actual, predicted, status='ok', luts=(), fixed_rmse=0.1, float_rmse=0.05, lut_errors=()):
    act = None
    if status == 'ok':
        act = {'latency_cycles': actual[0], 'latency_best': actual[0], 'latency_worst': actual[0], 'ii': 1,
               'lut': actual[1], 'ff': actual[2], 'dsp': actual[3], 'bram_18k': 0, 'clock_estimate_ns': 1.234567891,
               'tool_version': 'fake 1', 'backend': 'open'}
    acc = Accuracy('regression', 100, Metrics(rmse=float_rmse, mae=float_rmse, max_abs_error=2 * float_rmse, r2=0.9),
                   Metrics(rmse=fixed_rmse, mae=fixed_rmse, max_abs_error=2 * fixed_rmse, r2=0.8),
                   Metrics(rmse=fixed_rmse / 3, mae=fixed_rmse / 4, max_abs_error=fixed_rmse / 2))
    return ValidationRecord(
        index=i, design={'outputs': [f'x0*{i + 1}']}, digest=f'd{i:04d}', expressions=[f'{i + 1}*x0 + x1/3'],
        precision='ap_fixed<16,6>', luts=list(luts), backend='open', status=status, actual=act,
        predicted=dict(predicted), accuracy=acc, lut_errors=list(lut_errors),
        error=None if status == 'ok' else 'Yosys failed (exit 1)', synth_command=f"srcost synth '{i + 1}*x0' --json",
        label=f'front[{i}]',
    )


def synthetic_run(with_predictions=True) -> ValidationRun:
    lut_err = LutError('sin_lut', 'sin:1024:-4:4', 'ap_fixed<16,6>', 8193, 0.0087123456789, 0.0021, 0.00097, 0, 0)
    p = with_predictions
    recs = [
        _record(0, (2, 10, 40, 0), {'latency_cycles': 2.0, 'lut': 12.0, 'ff': 40.0, 'dsp': 0.0} if p else {}),
        _record(1, (3, 20, 60, 1), {'latency_cycles': 4.4, 'lut': 20.0, 'ff': 55.0, 'dsp': 1.0} if p else {},
                luts=['sin:1024:-4:4'], lut_errors=[lut_err], fixed_rmse=1 / 3),
        _record(2, (5, 0, 70, 2), {'latency_cycles': 5.0, 'lut': 3.0, 'ff': 71.0, 'dsp': 2.0} if p else {}),
        _record(3, None, {'latency_cycles': 9.0, 'lut': 99.0} if p else {}, status='failed'),
    ]
    return ValidationRun(recs, 'open', 'trace', ["srcost validate front.csv --report r.html"],
                         {'python': '3.11', 'backend:open': 'da4ml 0.6.0; Yosys 0.70'}, '2026-01-01T00:00:00+00:00',
                         '2026-01-01T00:01:00+00:00', '/tmp/x', {'source': 'test', 'n_samples': 100},
                         'fake-model' if p else None, ['a note'], 12.3456789)


def calibration() -> pd.DataFrame:
    rows = []
    for prec, scale in (('ap_fixed<16,6>', 1), ('ap_fixed<8,3>', 0.5), ('ap_fixed<18,8>', 1.2)):
        rows += [
            {'operator': '+', 'precision': prec, 'implementation': 'fabric', 'latency_cycles': 1, 'lut': 16 * scale},
            {'operator': '*', 'precision': prec, 'implementation': 'fabric', 'latency_cycles': 2, 'lut': 3 * scale},
            {'operator': 'sin', 'precision': prec, 'implementation': 'lut', 'latency_cycles': 2, 'lut': 300 * scale},
            {'operator': 'sin', 'precision': prec, 'implementation': 'hls_math', 'latency_cycles': 8, 'lut': 900 * scale},
        ]
    rows.append({'operator': '+', 'precision': 'ap_fixed<16,6>', 'implementation': 'fabric', 'latency_cycles': 3, 'lut': 20})
    return pd.DataFrame(rows)


class _Page(HTMLParser):
    """Cells with data-path, images, the embedded JSON, visible text."""

    def __init__(self):
        super().__init__()
        self.cells: dict[str, str] = {}
        self.imgs: list[dict] = []
        self.scripts: dict[str, str] = {}
        self.external: list[str] = []
        self.body_attrs: dict = {}
        self._cell = None
        self._script = None
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == 'td' and 'data-path' in a:
            self._cell = a['data-path']
            self.cells[self._cell] = ''
        elif tag == 'img':
            self.imgs.append(a)
        elif tag == 'script':
            if 'src' in a:
                self.external.append(a['src'])
            self._script = a.get('id', '')
            self.scripts[self._script] = ''
        elif tag == 'link':
            self.external.append(a.get('href', ''))
        elif tag == 'body':
            self.body_attrs = a

    def handle_endtag(self, tag):
        if tag == 'td':
            self._cell = None
        elif tag == 'script':
            self._script = None

    def handle_data(self, data):
        if self._script is not None:
            self.scripts[self._script] += data
            return
        if self._cell is not None:
            self.cells[self._cell] += data
        self.text.append(data)


def parse(html_text: str) -> _Page:
    p = _Page()
    p.feed(html_text)
    return p


def _png_size(b: bytes) -> tuple[int, int]:
    assert b[:8] == PNG_SIGNATURE, 'not a PNG'
    assert b[12:16] == b'IHDR'
    return struct.unpack('>II', b[16:24])


# ---------------------------------------------------------------------------------------------------------
def test_prediction_errors_come_from_the_records():
    run = synthetic_run()
    e = prediction_errors(run.records, 'lut')  # actual 10, 20, 0 vs predicted 12, 20, 3; the failed design is left out
    assert e['n'] == 3
    assert e['mae'] == pytest.approx((2 + 0 + 3) / 3, rel=1e-5)
    assert e['mape_pct'] == pytest.approx(100 * (2 / 10 + 0 / 20) / 2, rel=1e-5) and e['n_mape'] == 2
    assert e['exact_match_rate'] == pytest.approx(1 / 3, rel=1e-5)
    assert e['max_abs_error'] == 3 and e['bias'] == pytest.approx(5 / 3, rel=1e-5)
    assert [(p['actual'], p['predicted']) for p in e['points']] == [(10, 12), (20, 20), (0, 3)]
    lat = prediction_errors(run.records, 'latency_cycles')  # 2 vs 2, 3 vs 4.4, 5 vs 5
    assert lat['exact_match_rate'] == pytest.approx(2 / 3, rel=1e-5)  # round(4.4) = 4 != 3
    assert lat['mape_pct'] == pytest.approx(100 * (0 + 1.4 / 3 + 0) / 3, rel=1e-5)
    assert prediction_errors(synthetic_run(False).records, 'lut')['n'] == 0


def test_html_and_json_carry_the_same_numbers(tmp_path):
    run = synthetic_run()
    html_path, json_path = write_report(run, tmp_path / 'out' / 'report.html', calibration())
    data = json.loads(json_path.read_text())
    page = parse(html_path.read_text())
    assert json.loads(page.scripts['srcost-data']) == data  # the embedded copy is the JSON file
    assert len(page.cells) > 100
    for path, text in page.cells.items():
        value = get_path(data, path)
        assert text == fmt(value), path
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            assert float(text) == value, path  # numbers parse back exactly
    # the numbers the lead cares about are in tables, and equal the records
    for i, r in enumerate(run.records):
        for t in ('latency_cycles', 'lut', 'ff', 'dsp'):
            cell = page.cells[f'summary/{i}/{t}']
            assert cell == (str(r.actual[t]) if r.ok else '—')
    errs = prediction_errors(run.records, 'lut')
    for k in ('mae', 'mape_pct', 'exact_match_rate'):
        assert float(page.cells[f'prediction/targets/lut/{k}']) == errs[k] == data['prediction']['targets']['lut'][k]
    # the heatmap matrices are medians over the calibration rows (+ at ap_fixed<16,6>: median(16, 20) = 18)
    mat = data['calibration']['lut']
    row, col = mat['operators'].index('+'), mat['precisions'].index('ap_fixed<16,6>')
    assert mat['values'][row][col] == 18 and page.cells[f'calibration/lut/values/{row}/{col}'] == '18'
    assert mat['precisions'] == ['ap_fixed<8,3>', 'ap_fixed<16,6>', 'ap_fixed<18,8>']
    assert 'sin [lut]' in mat['operators'] and 'sin [hls_math]' in mat['operators']
    assert data['summary'][1]['lut_max_abs_error'] == 0.00871235  # 6 significant digits
    assert data['summary'][3]['status'] == 'failed'


def test_page_is_self_contained_with_png_plots(tmp_path):
    html_path, _ = write_report(synthetic_run(), tmp_path / 'r.html', calibration())
    text = html_path.read_text()
    page = parse(text)
    assert page.external == []
    assert 'http://' not in text and 'https://' not in text
    # accuracy against cost (the lead), 4 predicted-vs-actual scatters, accuracy vs latency, 2 heatmaps
    assert len(page.imgs) == 8 and page.imgs[0]['alt'] == 'accuracy against hardware cost'
    for img in page.imgs:
        assert img['src'].startswith('data:image/png;base64,')
        w, h = _png_size(base64.b64decode(img['src'].split(',', 1)[1]))
        assert w > 100 and h > 100


def test_report_without_predictions_or_calibration(tmp_path):
    for cal in (None, pd.DataFrame(), pd.DataFrame(columns=['operator', 'precision', 'implementation', 'latency_cycles', 'lut'])):
        data = report_data(synthetic_run(with_predictions=False), cal)
        assert data['calibration']['available'] is False and 'profile-ops' in data['calibration']['note']
        assert data['prediction']['available'] is False
        page = parse(render_html(data))
        assert len(page.imgs) == 2  # only accuracy against measured cost, and against latency
        text = ''.join(page.text)
        assert 'No calibration records' in text and 'No cost model predictions' in text
        assert 'predicted_lut' not in ''.join(page.cells)
    # published calibration: latency only, no implementation column
    lat_only = pd.DataFrame({'part': 'xcvu9p', 'precision': ['ap_fixed<16,6>', 'ap_fixed<8,3>'], 'operator': ['sin', 'sin'],
                             'latency_cycles': [8, 5]})
    data = report_data(synthetic_run(), lat_only)
    assert data['calibration']['available'] and data['calibration']['lut'] is None
    assert data['calibration']['latency_cycles']['values'] == [[5, 8]]
    assert 'no LUT values' in data['calibration']['note']


def test_the_page_leads_with_accuracy_against_cost_and_marks_the_chosen_design():
    data = report_data(synthetic_run())
    sec = data['pareto']
    # fixed-point RMSE 0.1 / 0.333 / 0.1 at 10 / 20 / 0 LUTs and 2 / 3 / 5 cycles (design 3 failed synthesis)
    assert sec['front'] == [0, 2] and sec['chosen'] == 2  # 1 is dominated by 0; 2 is as accurate as 0, fewer LUTs
    assert [p['chosen'] for p in sec['points']] == [False, False, True, False]
    assert sec['points'][3]['lut'] is None and sec['points'][3]['predicted_lut'] == 99
    assert report_data(synthetic_run(), chosen=1)['pareto']['chosen'] == 1  # the caller may name the design
    text = render_html(data)
    assert text.index('id="front"') < text.index('id="table-run"') < text.index('id="summary"')
    page = parse(text)
    assert page.cells['pareto/points/2/chosen'] == 'yes' and 'Chosen: design #2' in ''.join(page.text)


def test_long_expressions_are_shortened_with_the_full_text_one_click_away():
    run = synthetic_run()
    long = [f'{k}.25*x0*x1 - sin_lut(0.5*x2) + 3.75*x3*x3 - exp(0.125*x4) + x{k}' for k in range(5)]
    run.records[1].expressions = long
    data = report_data(run)
    full = data['summary'][1]['expressions']
    assert full == '; '.join(long) and len(full) > 300  # the JSON keeps the whole text
    text = render_html(data)
    page = parse(text)
    assert 'summary/1/expressions' not in page.cells  # no plain cell for it: a <details> instead
    assert 'data-path="summary/1/expressions"' in text and '<details' in text
    shown = [t for t in page.text if t.startswith('5 outputs: ')]
    assert len(shown) == 1 and len(shown[0]) <= 64 and shown[0].endswith('…')
    assert full in page.text  # the full text, inside the <details>
    assert page.cells['summary/0/expressions'] == '1*x0 + x1/3'  # short ones stay plain cells


def test_json_in_script_cannot_close_the_tag(tmp_path):
    run = synthetic_run()
    run.records[0].expressions = ['x0 </script><b>x</b>']
    run.notes.append('</script><script>alert(1)</script>')
    text = render_html(report_data(run))
    page = parse(text)
    data = json.loads(page.scripts['srcost-data'])
    assert data['summary'][0]['expressions'] == 'x0 </script><b>x</b>'
    assert '<script>alert(1)' not in text


# ---------------------------------------------------------------------------------------------------------
CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
                  '--disable-component-update', '--disable-sync', '--no-first-run']


def _chromium() -> str:
    exe = shutil.which('chromium') or shutil.which('chromium-browser')
    if not exe:
        pytest.skip("Debian's chromium is not installed (apt-get install -y --no-install-recommends chromium); "
                    'the headless page test needs it')
    return exe


def test_report_loads_in_headless_chromium(tmp_path):
    exe = _chromium()
    html_path, json_path = write_report(synthetic_run(), tmp_path / 'report.html', calibration())
    n_imgs = len(parse(html_path.read_text()).imgs)
    r = subprocess.run([exe, *CHROMIUM_FLAGS, f'--user-data-dir={tmp_path / "profile"}', '--dump-dom',
                        html_path.resolve().as_uri()], capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr[-2000:]
    dom = parse(r.stdout)
    # the page's own check ran after load: every plot decoded, the embedded JSON parsed
    assert dom.body_attrs.get('data-plots-loaded') == str(n_imgs), dom.body_attrs
    assert dom.body_attrs.get('data-plots-broken') == '0'
    assert dom.body_attrs.get('data-json-ok') == 'true'
    assert len(dom.imgs) == n_imgs == 8
    for img in dom.imgs:
        _png_size(base64.b64decode(img['src'].split(',', 1)[1]))
    text = ''.join(dom.text)
    assert 'srcost validation' in text and 'Predicted against actual' in text
    for bad in ('Traceback', 'NaN', 'None', 'undefined', '[object'):
        assert bad not in text, bad
    data = json.loads(json_path.read_text())
    assert dom.cells['prediction/targets/lut/mae'] == fmt(data['prediction']['targets']['lut']['mae'])

    shot = tmp_path / 'shot.png'
    r = subprocess.run([exe, *CHROMIUM_FLAGS, f'--user-data-dir={tmp_path / "profile2"}', '--window-size=1280,2400',
                        f'--screenshot={shot}', html_path.resolve().as_uri()], capture_output=True, text=True, timeout=180)
    assert r.returncode == 0 and shot.is_file(), r.stderr[-2000:]
    w, h = _png_size(shot.read_bytes())
    assert (w, h) == (1280, 2400)
    from PIL import Image

    with Image.open(shot) as im:
        colours = im.convert('RGB').getcolors(maxcolors=1 << 20)
    assert colours is None or len(colours) > 50  # a rendered page with plots, not a blank or error page
