"""``srcost serve`` against a real server on 127.0.0.1 in a subprocess: predictions equal the library's and
`srcost predict`'s for every metric, concurrent clients, the model a search downloads, tokens, limits, bad
expressions, operator costs and the OpenAPI page. (Jobs, which synthesize, are in test_service_jobs.py.)"""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from service_server import ServerProcess

from hls_gen import Design
from hls_gen.design import DEFAULT_PART
from profiler.store import CalibrationStore
from srcost.client import TARGETS, Client, ServiceError
from srcost.service.auth import create_token, revoke_token

LIMITS = ('--max-expressions', '100', '--max-nodes', '200', '--max-body-mb', '0.25')
PRECISIONS = ('ap_fixed<16,6>', 'ap_fixed<18,8>')


@pytest.fixture(scope='module')
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp('serve')
    db = root / 'cal.db'
    with CalibrationStore(db) as store:
        tokens = {'full': create_token(store, 'alice'), 'ro': create_token(store, 'bob', read_only=True),
                  'gone': create_token(store, 'carol')}
    srv = ServerProcess(db, root / 'server.log', *LIMITS).start()
    srv.tokens = tokens
    yield srv
    srv.stop()


@pytest.fixture(scope='module')
def texts():
    """Single-output SR-shaped expressions from the cost model's own generator (LUT and native functions)."""
    from costmodel.generator import GeneratorConfig, generate_designs

    cfg = GeneratorConfig(max_nodes=30, max_outputs=1, p_multi_output=0.0, p_default_precision=1.0, p_other_clock=0.0,
                          p_custom_lut=0.0)
    return [d.outputs[0].text for d in generate_designs(40, seed=20261203, config=cfg)]


def _library(kind: str, db: Path, designs: list[Design]) -> list[list[float]]:
    from costmodel.api import get_model

    m = get_model(kind, 'open', DEFAULT_PART, str(db))
    return m.predict(designs)[list(TARGETS)].to_numpy().tolist()


def _same(served, expected) -> bool:
    return all((a is None and math.isnan(b)) or (a is not None and a == b) for a, b in zip(served, expected))


@pytest.mark.parametrize('kind', ['auto', 'analytic', 'additive'])
def test_predictions_over_http_equal_the_librarys_for_every_metric(server, texts, kind):
    with Client(server.url, server.tokens['full']) as c:
        for prec in PRECISIONS:
            res = c.predict(texts, precision=prec, model=kind, separate=True)
            expected = _library(kind, server.db, [Design.build([t], prec) for t in texts])
            assert len(res.designs) == len(texts)
            for t, p, e in zip(texts, res.designs, expected):
                assert _same([getattr(p, k) for k in TARGETS], e), (kind, prec, t, p, e)
                assert Design.build(p.expressions, prec) == Design.build([t], prec)  # the exact text comes back
        multi = [texts[0:3], texts[3:5], texts[5:9]]  # several outputs of one design
        for group in multi:
            res = c.predict(group, model=kind)
            (e,) = _library(kind, server.db, [Design.build(group)])
            assert len(res.designs) == 1 and _same([getattr(res.designs[0], k) for k in TARGETS], e)
    assert res.model == ('learned' if kind == 'auto' else kind)


def test_srcost_predict_with_server_prints_what_srcost_predict_prints(server, texts):
    exprs = [texts[10], texts[11]]
    local = subprocess.run([sys.executable, '-m', 'srcost', 'predict', '--db', str(server.db), '--json', '--', *exprs],
                           capture_output=True, text=True, check=True, timeout=600)
    remote = subprocess.run([sys.executable, '-m', 'srcost', 'predict', '--server', server.url, '--token',
                             server.tokens['ro'], '--json', '--', *exprs], capture_output=True, text=True, check=True,
                            timeout=600)
    a, b = json.loads(local.stdout), json.loads(remote.stdout)
    assert a == b
    assert {'latency_cycles', 'lut', 'ff', 'dsp'} <= set(a) and a['model'] == 'learned'
    bad = subprocess.run([sys.executable, '-m', 'srcost', 'predict', 'x0', '--server', server.url, '--token', 'nope'],
                         capture_output=True, text=True, timeout=600)
    assert bad.returncode == 2 and '401' in bad.stderr and 'Traceback' not in bad.stderr


def test_concurrent_clients_get_their_own_answers(server, texts):
    with Client(server.url, server.tokens['ro']) as c:
        single = {t: c.predict([t]).designs[0] for t in texts}
    errors, done = [], []

    def client(seed: int) -> None:
        rng = random.Random(seed)
        try:
            with Client(server.url, server.tokens['ro']) as c:
                for _ in range(12):
                    chosen = rng.sample(texts, 10)
                    res = c.predict(chosen, separate=True)
                    for t, p in zip(chosen, res.designs):
                        if p.costs() != single[t].costs():
                            errors.append((t, p, single[t]))
                    done.append(1)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=600)
    assert not errors, errors[:3]
    assert len(done) == 8 * 12


def test_a_search_downloads_the_model_once_and_predicts_locally_as_the_server(server, texts):
    from hls_gen import Expression

    class Counting(httpx.HTTPTransport):
        calls = 0

        def handle_request(self, request):
            Counting.calls += 1
            return super().handle_request(request)

    exprs = [Expression.parse(t) for t in texts]
    with Client(server.url, server.tokens['ro'], transport=Counting()) as c:
        cost_fn = c.cost_fn('open', 'ap_fixed<16,6>')
        first = cost_fn(exprs)
        again = cost_fn(exprs[:7])
        assert Counting.calls == 1  # one download, then local
        info = c.model('open')
        served = c.predict(texts, separate=True)
    assert cost_fn.digest == info['digest'] and cost_fn.calibration_digest == info['calibration_digest']
    assert info['model'] == 'learned' and info['document']['kind'] == 'srcost learned cost model'
    for j, p in enumerate(served.designs):
        assert _same([getattr(p, k) for k in TARGETS], [float(first[k][j]) for k in TARGETS]), texts[j]
    assert all(np.array_equal(again[k], first[k][:7], equal_nan=True) for k in TARGETS)
    models = Client(server.url, server.tokens['ro']).models()
    assert any(m['backend'] == 'open' and m['digest'] == info['digest'] for m in models)


def test_vivado_hls_predictions_and_model_equal_the_librarys(server, shared_dir):
    """The Vivado/Vitis HLS scheduling model: served predictions (with their bands and --lut-impl), the model a
    client rebuilds, and `srcost predict --server` all give the library's numbers."""
    from costmodel.api import clear_cache, get_model

    designs = [Design.build(['x0*x1 + sin_lut(x2)']), Design.build(['exp(x0) - x1/x2', 'x0*x0'], 'ap_fixed<18,8>')]
    clear_cache()
    m = get_model('auto', 'vivado_hls', DEFAULT_PART, str(server.db))
    with Client(server.url, server.tokens['ro']) as c:
        for impl in ('auto', 'table'):
            served = [c.predict([e.text for e in d.outputs], precision=str(d.precision), backend='vivado_hls',
                                lut_impl=impl) for d in designs]
            lib = m.predict(designs, impl)
            for res, row in zip(served, lib.to_dict('records')):
                p = res.designs[0]
                assert {**p.costs(), **p.bands} == row and res.lut_impl == impl
        local = c.cost_model('vivado_hls').predict(designs)
    assert local.equals(m.predict(designs))
    assert served[0].designs[0].lut is not None and 'lut_low' in served[0].designs[0].bands
    exprs = ['x0*x1 + sin_lut(x2)', 'x0 - x1']
    args = ['--backend', 'vivado_hls', '--lut-impl', 'table', '--json', '--', *exprs]
    a = subprocess.run([sys.executable, '-m', 'srcost', 'predict', '--db', str(server.db), *args],
                       capture_output=True, text=True, check=True, timeout=600)
    b = subprocess.run([sys.executable, '-m', 'srcost', 'predict', '--server', server.url, '--token', server.tokens['ro'],
                        *args], capture_output=True, text=True, check=True, timeout=600)
    assert json.loads(a.stdout) == json.loads(b.stdout)


EVIL = [
    "__import__('os').system('touch {marker}')",
    "open('{marker}', 'w')",
    "x0.__class__.__bases__",
    "(lambda: __import__('os'))()",
    "[x0 for x0 in range(3)]",
    "exec('import os')",
    "x0 +",
    "unknown_fn(x0)",
    "x0 ** x1",
    "",
]


def test_bad_expressions_are_refused_with_422_and_never_run(server, tmp_path):
    marker = tmp_path / 'was-run'
    with Client(server.url, server.tokens['full']) as c:
        for text in EVIL:
            t = text.format(marker=marker)
            with pytest.raises(ServiceError) as e:
                c.predict(['x0 + x1', t], separate=True)
            assert e.value.status == 422, (t, e.value)
            assert 'expression 1' in str(e.value)
            with pytest.raises(ServiceError) as e:
                c.submit('synth', expressions=[t])
            assert e.value.status == 422, (t, e.value)
        assert c.jobs() == []  # nothing was stored
    assert not marker.exists()


def test_a_design_the_model_cannot_cost_is_a_422_with_the_models_reason(server):
    with Client(server.url, server.tokens['ro']) as c:
        with pytest.raises(ServiceError) as e:
            c.predict(['x0*x1', 'sin_lut(x0)'], precision='ap_fixed<10,4>', separate=True)
        assert e.value.status == 422 and 'design 1' in str(e.value) and 'empty range' in str(e.value)
        assert c.predict(['x0*x1'], precision='ap_fixed<10,4>').designs[0].lut is not None  # the others still work


def test_missing_wrong_and_revoked_tokens_get_401(server):
    body = {'expressions': ['x0*x1']}
    assert httpx.post(f'{server.url}/v1/predict', json=body).status_code == 401
    r = httpx.post(f'{server.url}/v1/predict', json=body, headers={'Authorization': 'Bearer srcost_wrong'})
    assert r.status_code == 401 and 'token' in r.json()['detail']
    assert r.headers['www-authenticate'] == 'Bearer'
    assert httpx.get(f'{server.url}/v1/ops', headers={'Authorization': 'Basic abc'}).status_code == 401
    ok = httpx.post(f'{server.url}/v1/predict', json=body, headers={'Authorization': f'Bearer {server.tokens["gone"]}'})
    assert ok.status_code == 200
    with CalibrationStore(server.db) as store:
        revoke_token(store, 'carol')
    end = time.monotonic() + 30  # refused within a second (the server keeps a token check that long), no restart
    while (gone := httpx.post(f'{server.url}/v1/predict', json=body,
                              headers={'Authorization': f'Bearer {server.tokens["gone"]}'})).status_code == 200:
        assert time.monotonic() < end, 'the revoked token is still accepted'
        time.sleep(0.2)
    assert gone.status_code == 401
    with CalibrationStore(server.db) as store:  # the store never holds a token itself
        rows = store.conn.execute('SELECT * FROM tokens').fetchall()
        assert rows and not any(server.tokens['full'] in str(tuple(r)) for r in rows)


def test_a_read_only_token_may_predict_but_not_submit_or_see_jobs(server):
    with Client(server.url, server.tokens['ro']) as c:
        assert c.predict(['x0*x1']).designs[0].dsp is not None
        c.models()
        for call in (lambda: c.submit('synth', expressions=['x0*x1']), lambda: c.jobs(), lambda: c.job('abc'),
                     lambda: c.cancel('abc')):
            with pytest.raises(ServiceError) as e:
                call()
            assert e.value.status == 403 and 'read-only' in str(e.value)
    with Client(server.url, server.tokens['full']) as c:
        with pytest.raises(ServiceError) as e:
            c.job('no-such-job')
        assert e.value.status == 404


def test_request_limits_are_answered_413_and_422_naming_the_limit(server):
    h = {'Authorization': f'Bearer {server.tokens["full"]}'}
    r = httpx.post(f'{server.url}/v1/predict', json={'expressions': ['x0*x1'] * 101}, headers=h)
    assert r.status_code == 422 and 'max_expressions=100' in r.json()['detail']
    deep = '+'.join(f'x{i}' for i in range(150))  # 299 nodes
    r = httpx.post(f'{server.url}/v1/predict', json={'expressions': ['x0', deep], 'separate': True}, headers=h)
    assert r.status_code == 422 and 'max_nodes=200' in r.json()['detail'] and 'expression 1' in r.json()['detail']
    big = {'expressions': ['x0*x1 + ' + '0.5*x2 + ' * 30000 + 'x3']}  # 270 kB
    r = httpx.post(f'{server.url}/v1/predict', json=big, headers=h)
    assert r.status_code == 413 and 'max_body_bytes=262144' in r.json()['detail']

    def chunks():  # no Content-Length: the limit holds while the body streams
        yield b'{"expressions": ["x0'
        for _ in range(300):
            yield b'+x1' * 400
        yield b'"]}'

    r = httpx.post(f'{server.url}/v1/predict', content=chunks(), headers={**h, 'content-type': 'application/json'})
    assert r.status_code == 413
    r = httpx.post(f'{server.url}/v1/predict', json={'expressions': ['x0'], 'colour': 'red'}, headers=h)
    assert r.status_code == 422  # unknown fields are refused
    assert httpx.get(f'{server.url}/v1/health').json()['status'] == 'ok'  # the server is fine


def test_ops_serve_what_srcost_ops_prints_pysr_format_included(server, tmp_path):
    from profiler.calibration_io import import_calibration

    csv = tmp_path / 'cal.csv'
    csv.write_text('part,precision,operator,latency_cycles\n'
                   + ''.join(f'xcvu9p-flga2577-2-e,"ap_fixed<16,6>",{op},{n}\n'
                             for op, n in (('+', 1), ('*', 1), ('sin', 8), ('exp', 3), ('cosh', 8))))
    with CalibrationStore(server.db) as store:
        import_calibration(csv, store, backend='vivado_hls', tool_version='2020.1')
    with Client(server.url, server.tokens['ro']) as c:
        pysr = c.ops(backend='vivado_hls', precision='ap_fixed<16,6>', format='pysr')
        records = c.ops(backend='vivado_hls')
        text = c.ops(backend='vivado_hls', format='csv')
        with pytest.raises(ServiceError) as e:
            c.ops(backend='vitis_hls', format='pysr')
        assert e.value.status == 404
    cli = subprocess.run([sys.executable, '-m', 'srcost', 'ops', '--db', str(server.db), '--backend', 'vivado_hls',
                          '--precision', 'ap_fixed<16,6>', '--format', 'pysr'], capture_output=True, text=True,
                         check=True, timeout=600)
    assert pysr == json.loads(cli.stdout) and pysr['sin'] == 8
    assert len(records) == 5 and {'sin', 'exp', 'cosh'} <= {r['operator'] for r in records}
    assert 'operator' in text.splitlines()[0] and len(text.splitlines()) == 6


def test_openapi_docs_describe_the_v1_routes(server):
    assert httpx.get(f'{server.url}/docs').status_code == 200
    paths = httpx.get(f'{server.url}/openapi.json').json()['paths']
    assert {'/v1/health', '/v1/ops', '/v1/models', '/v1/models/{backend}', '/v1/predict', '/v1/jobs',
            '/v1/jobs/{job_id}', '/v1/jobs/{job_id}/report', '/v1/jobs/{job_id}/resubmit'} <= set(paths)


def test_a_second_server_on_the_same_store_is_refused(server):
    r = subprocess.run([sys.executable, '-m', 'srcost', 'serve', '--db', str(server.db), '--port', '1', '--warm', ''],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 2 and 'already served by srcost serve (pid' in r.stderr and 'Traceback' not in r.stderr
    assert httpx.get(f'{server.url}/v1/health').json()['status'] == 'ok'


def test_no_auth_is_refused_unless_the_host_is_loopback(tmp_path):
    r = subprocess.run([sys.executable, '-m', 'srcost', 'serve', '--no-auth', '--host', '0.0.0.0', '--db',
                        str(tmp_path / 'c.db')], capture_output=True, text=True, timeout=600)
    assert r.returncode == 2 and 'loopback' in r.stderr and 'Traceback' not in r.stderr


def test_srcost_search_with_cost_server_costs_its_front_as_the_server_does(server, tmp_path):
    from typer.testing import CliRunner

    from srcost.cli import app

    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, (300, 3))
    y = 2.5 * X[:, 0] * X[:, 1] - np.sin(X[:, 2])
    data = tmp_path / 'd.csv'
    np.savetxt(data, np.column_stack([X, y]), delimiter=',', header='x0,x1,x2,y', comments='')
    out = tmp_path / 'front.json'
    res = CliRunner().invoke(app, ['search', str(data), '--target', 'y', '--budget-seconds', '3', '--generations', '3',
                                   '--cost-server', server.url, '--token', server.tokens['ro'], '--out', str(out)])
    assert res.exit_code == 0, res.output
    from sr_search.front import ParetoFront

    front = ParetoFront.load(out)
    served = Client(server.url, server.tokens['ro']).predict([m.expression for m in front], separate=True)
    for m, p in zip(front, served.designs):
        assert m.cost['latency'] == p.latency_cycles and m.cost['lut'] == p.lut, m.expression
