"""Load on ``srcost serve``: N concurrent clients sending predict requests of 10 expressions each, then a
burst of small synthesis jobs. Usage::

    python benchmarks/serve_load.py [--clients 16] [--client-processes 2] [--seconds 30] [--pool 500] [--jobs 8]
                                    [--workers 2] [--json]
    python benchmarks/serve_load.py --url http://host:8750 --token TOKEN ...   # a server already running

Without ``--url`` it starts ``srcost serve`` on 127.0.0.1 (a free port, a new store in a temporary folder,
``--workers`` job processes) and stops it at the end. The clients are threads spread over
``--client-processes`` processes, one keep-alive HTTP connection each (``http.client``, light enough to leave
the cores to the server), each sending its next request as soon as the last is answered: a request holds
10 expressions drawn at random from a pool of ``--pool`` distinct SR-shaped expressions (the cost model's
generator, with LUT and native functions), each its own design (``separate``).

Phases:

- ``cold``: the pool once, 10 expressions a request, one request at a time: every expression is new to the
  server, which parses it into sympy (the dominant cost) and costs it;
- ``load``: ``--clients`` clients for ``--seconds`` s on the warm server: requests/s, expressions/s, latency
  p50/p90/p99 (client-side, from sending to the parsed answer), errors (any non-200 answer or transport
  error), and the server's CPU seconds per request;
- ``jobs``: ``--jobs`` synth jobs of one small design each (``ap_fixed<8,3>``, no Verilator run) submitted at
  once: jobs/s from the first submission to the last job done.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / 'tests'))
sys.path.insert(0, str(REPO))


def expression_pool(n: int, seed: int) -> list[str]:
    from costmodel.generator import GeneratorConfig, generate_designs

    cfg = GeneratorConfig(max_nodes=30, max_outputs=1, p_multi_output=0.0, p_default_precision=1.0, p_other_clock=0.0,
                          p_custom_lut=0.0)
    return [d.outputs[0].text for d in generate_designs(n, seed=seed, config=cfg)]


def cpu_seconds(pid: int | None) -> float | None:
    if pid is None:
        return None
    try:
        fields = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def _health(url: str) -> dict | None:
    """The server's predictor counters (batches, designs), to tell the mean batch size."""
    import httpx

    try:
        return httpx.get(f'{url}/v1/health', timeout=30).json().get('predictor') or None
    except (httpx.HTTPError, ValueError):
        return None


def _self_cpu() -> float:
    """CPU seconds of this process and its finished children (the client processes)."""
    import resource

    r, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime + c.ru_utime + c.ru_stime


def percentile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    if not xs:
        return float('nan')
    k = min(len(xs) - 1, max(0, round(q / 100 * (len(xs) - 1))))
    return xs[k]


def load(url: str, token: str, pool: list[str], clients: int, seconds: float, per_request: int, seed: int) -> dict:
    """``clients`` threads, each with one keep-alive connection (``http.client``: a light client, so that the
    load generator takes little of the machine it shares with the server)."""
    import http.client
    import threading
    from urllib.parse import urlsplit

    u = urlsplit(url)
    headers = {'Authorization': f'Bearer {token}', 'Content-Type': 'application/json'}
    latencies: list[float] = []
    errors: list[str] = []
    start = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def client(i: int) -> None:
        rng = random.Random(seed + i)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
        mine, bad = [], []
        start.wait()
        while time.perf_counter() < stop_at[0]:
            body = json.dumps({'expressions': rng.sample(pool, per_request), 'separate': True})
            t0 = time.perf_counter()
            try:
                conn.request('POST', '/v1/predict', body, headers)
                r = conn.getresponse()
                data = r.read()
                json.loads(data)
                ok = r.status == 200
                if not ok:
                    bad.append(str(r.status))
            except (OSError, http.client.HTTPException, ValueError) as e:
                ok = False
                bad.append(type(e).__name__)
                conn.close()
                conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
            if ok:
                mine.append(time.perf_counter() - t0)
        conn.close()
        latencies.extend(mine)
        errors.extend(bad)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for th in threads:
        th.start()
    stop_at[0] = time.perf_counter() + seconds
    t0 = time.perf_counter()
    start.wait()
    for th in threads:
        th.join()
    return {'wall': time.perf_counter() - t0, 'latencies': latencies, 'errors': errors}


def _load_part(args):
    return load(*args)


def load_processes(url: str, token: str, pool: list[str], clients: int, seconds: float, per_request: int, seed: int,
                   processes: int) -> dict:
    """``load`` split over ``processes`` client processes (the clients' own GIL stays out of the latencies)."""
    from concurrent.futures import ProcessPoolExecutor

    shares = [clients // processes + (i < clients % processes) for i in range(processes)]
    parts = [(url, token, pool, k, seconds, per_request, seed + 1000 * i) for i, k in enumerate(shares) if k]
    if len(parts) == 1:
        got = [load(*parts[0])]
    else:
        with ProcessPoolExecutor(len(parts)) as ex:
            got = list(ex.map(_load_part, parts))
    latencies = [x for g in got for x in g['latencies']]
    errors = [x for g in got for x in g['errors']]
    wall = max(g['wall'] for g in got)
    n = len(latencies)
    return {'clients': clients, 'client_processes': len(parts), 'seconds': round(wall, 2), 'requests': n,
            'errors': len(errors), 'error_kinds': sorted(set(errors))[:5], 'requests_per_s': round(n / wall, 1),
            'expressions_per_s': round(n * per_request / wall, 1),
            'latency_ms': {'p50': round(1e3 * percentile(latencies, 50), 2), 'p90': round(1e3 * percentile(latencies, 90), 2),
                           'p99': round(1e3 * percentile(latencies, 99), 2),
                           'max': round(1e3 * max(latencies), 2) if latencies else None,
                           'mean': round(1e3 * statistics.fmean(latencies), 2) if latencies else None}}


def cold(url: str, token: str, pool: list[str], per_request: int) -> dict:
    import httpx

    t0 = time.perf_counter()
    n = 0
    with httpx.Client(base_url=url, headers={'Authorization': f'Bearer {token}'}, timeout=120) as http:
        for i in range(0, len(pool), per_request):
            r = http.post('/v1/predict', json={'expressions': pool[i:i + per_request], 'separate': True})
            r.raise_for_status()
            n += 1
    wall = time.perf_counter() - t0
    return {'requests': n, 'seconds': round(wall, 2), 'requests_per_s': round(n / wall, 1),
            'expressions_per_s': round(len(pool) / wall, 1)}


def jobs(url: str, token: str, n: int) -> dict:
    from srcost.client import Client

    with Client(url, token, timeout_s=120) as c:
        t0 = time.perf_counter()
        ids = [c.submit('synth', expressions=[f'x0*x1 + {0.25 * (i + 1)}'], precision='ap_fixed<8,3>',
                        backend_options={'verify_latency': False}) for i in range(n)]
        done = [c.wait(i, timeout_s=3600, poll_s=0.2) for i in ids]
        wall = time.perf_counter() - t0
    states = [j.state for j in done]
    return {'jobs': n, 'seconds': round(wall, 2), 'jobs_per_s': round(n / wall, 3),
            'done': states.count('done'), 'other_states': sorted(set(states) - {'done'})}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--url')
    ap.add_argument('--token')
    ap.add_argument('--clients', type=int, default=16)
    ap.add_argument('--seconds', type=float, default=30.0)
    ap.add_argument('--pool', type=int, default=500)
    ap.add_argument('--per-request', type=int, default=10)
    ap.add_argument('--client-processes', type=int, default=2, help='processes the clients are spread over')
    ap.add_argument('--jobs', type=int, default=8, help='small synth jobs (0: none)')
    ap.add_argument('--workers', type=int, default=2, help='job processes of the server this script starts')
    ap.add_argument('--seed', type=int, default=20261203)
    ap.add_argument('--server-arg', action='append', default=[], help='another option for the server this script starts')
    ap.add_argument('--json', action='store_true')
    args = ap.parse_args()

    srv = None
    tmp = None
    url, token, pid = args.url, args.token, None
    if url is None:
        from service_server import ServerProcess

        from profiler.store import CalibrationStore
        from srcost.service.auth import create_token

        tmp = tempfile.TemporaryDirectory(prefix='srcost-serve-load-')
        db = Path(tmp.name) / 'cal.db'
        with CalibrationStore(db) as store:
            token = create_token(store, 'load')
        print('starting srcost serve ...', file=sys.stderr, flush=True)
        srv = ServerProcess(db, Path(tmp.name) / 'server.log', '--workers', str(args.workers), *args.server_arg).start()
        url, pid = srv.url, srv.proc.pid
    try:
        print(f'generating {args.pool} expressions ...', file=sys.stderr, flush=True)
        pool = expression_pool(args.pool, args.seed)
        print('cold pass ...', file=sys.stderr, flush=True)
        out = {'date': dt.date.today().isoformat(), 'command': ' '.join(['python', 'benchmarks/serve_load.py', *sys.argv[1:]]),
               'cores': os.cpu_count(), 'pool': args.pool, 'per_request': args.per_request,
               'load_average_before': round(os.getloadavg()[0], 2)}
        out['cold'] = cold(url, token, pool, args.per_request)
        print(f'{args.clients} clients for {args.seconds} s ...', file=sys.stderr, flush=True)
        c0, u0, h0 = cpu_seconds(pid), _self_cpu(), _health(url)
        out['load'] = load_processes(url, token, pool, args.clients, args.seconds, args.per_request, args.seed,
                                     args.client_processes)
        c1, u1 = cpu_seconds(pid), _self_cpu()
        h1 = _health(url)
        if h0 and h1 and h1['batches'] > h0['batches']:
            out['load']['designs_per_batch'] = round((h1['designs'] - h0['designs']) / (h1['batches'] - h0['batches']), 1)
        if out['load']['requests']:
            out['load']['client_cpu_ms_per_request'] = round(1e3 * (u1 - u0) / out['load']['requests'], 3)
        if c0 is not None and c1 is not None and out['load']['requests']:
            out['load']['server_cpu_s'] = round(c1 - c0, 2)
            out['load']['server_cpu_ms_per_request'] = round(1e3 * (c1 - c0) / out['load']['requests'], 3)
        if args.jobs:
            print(f'{args.jobs} synth jobs ...', file=sys.stderr, flush=True)
            out['jobs'] = jobs(url, token, args.jobs)
    finally:
        if srv is not None:
            srv.stop()
        if tmp is not None:
            tmp.cleanup()
    out['load_average_after'] = round(os.getloadavg()[0], 2)
    if args.json:
        print(json.dumps(out, indent=1))
        return
    ld = out['load']
    print(f"{out['date']}, {out['cores']} cores (1-min load average {out['load_average_before']} before, "
          f"{out['load_average_after']} after): {out['command']}")
    print(f"cold (every expression new): {out['cold']['requests_per_s']} requests/s, {out['cold']['expressions_per_s']} expressions/s")
    print(f"load, {ld['clients']} clients, {ld['seconds']} s: {ld['requests_per_s']} requests/s "
          f"({ld['expressions_per_s']} expressions/s), latency p50 {ld['latency_ms']['p50']} ms, "
          f"p90 {ld['latency_ms']['p90']} ms, p99 {ld['latency_ms']['p99']} ms, max {ld['latency_ms']['max']} ms, errors {ld['errors']}"
          + (f", server CPU {ld['server_cpu_ms_per_request']} ms/request" if 'server_cpu_ms_per_request' in ld else '')
          + (f", client CPU {ld['client_cpu_ms_per_request']} ms/request" if 'client_cpu_ms_per_request' in ld else '')
          + (f", {ld['designs_per_batch']} designs per model batch" if 'designs_per_batch' in ld else ''))
    if 'jobs' in out:
        j = out['jobs']
        print(f"jobs: {j['jobs']} small synth jobs in {j['seconds']} s = {j['jobs_per_s']} jobs/s ({j['done']} done)")


if __name__ == '__main__':
    main()
