"""``srcost serve`` (the HTTP API) and ``srcost token create|revoke|list`` (its access tokens)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import cli_errors

_DB_HELP = 'Calibration store (SQLite) to serve. Default: $SRCOST_DB, else the user data dir (srcost/calibration.db).'


def serve_cmd(
    host: Annotated[str, typer.Option('--host', help='Address to listen on.')] = '127.0.0.1',
    port: Annotated[int, typer.Option('--port', min=1, max=65535)] = 8750,
    db: Annotated[Optional[Path], typer.Option('--db', help=_DB_HELP)] = None,
    scheduler: Annotated[Optional[str], typer.Option('--scheduler', help='Run jobs on a Dask cluster, e.g. tcp://host:8786.')] = None,
    workers: Annotated[int, typer.Option('--workers', '-j', min=1, help='Local worker processes for jobs.')] = 1,
    no_auth: Annotated[bool, typer.Option('--no-auth', help='No tokens needed (refused unless HOST is a loopback address).')] = False,
    max_body_mb: Annotated[float, typer.Option('--max-body-mb', min=0.001, help='Largest request body, MiB.')] = 4.0,
    max_expressions: Annotated[int, typer.Option('--max-expressions', min=1, help='Expressions per request.')] = 2000,
    max_nodes: Annotated[int, typer.Option('--max-nodes', min=1, help='Syntax-tree nodes per expression.')] = 500,
    max_designs: Annotated[int, typer.Option('--max-designs', min=1, help='Designs per synth or validate job.')] = 64,
    workdir: Annotated[Optional[Path], typer.Option(
        '--workdir', help='Where job tasks write their files. Default: beside the store.')] = None,
    warm: Annotated[str, typer.Option(
        '--warm', help='Backends whose default model is loaded at start-up (comma-separated; "" for none).')] = 'open',
    access_log: Annotated[bool, typer.Option('--access-log', help='Log every request (uvicorn access log).')] = False,
) -> None:
    """Serve predictions, operator costs, the fitted models and jobs over HTTP (OpenAPI docs at /docs).

    Requests need `Authorization: Bearer TOKEN` (`srcost token create NAME`). Jobs are kept in the store:
    after a restart every finished job is there, and jobs that were running are marked interrupted."""
    with cli_errors():
        from profiler.store import default_db_path

        from ..service.config import Limits, ServiceConfig
        from ..service.server import serve

        config = ServiceConfig(
            host=host, port=port, db=default_db_path(db), scheduler=scheduler, workers=workers, auth=not no_auth,
            limits=Limits(max_body_bytes=int(max_body_mb * 1024 * 1024), max_expressions=max_expressions,
                          max_nodes=max_nodes, max_designs_per_job=max_designs),
            workdir=workdir, warm=tuple(b.strip() for b in warm.split(',') if b.strip()),
        )
        config.check()
        serve(config, access_log=access_log)


token_app = typer.Typer(help='Access tokens of `srcost serve` (only a hash of each is stored).', no_args_is_help=True)


@token_app.command('create')
def token_create_cmd(
    name: Annotated[str, typer.Argument(help='Who or what the token is for, e.g. alice or ci.')],
    read_only: Annotated[bool, typer.Option('--read-only', help='May predict and read ops and models, not submit jobs.')] = False,
    db: Annotated[Optional[Path], typer.Option('--db', help=_DB_HELP)] = None,
    as_json: Annotated[bool, typer.Option('--json', help='Print one JSON object.')] = False,
) -> None:
    """Create a token and print it (shown this once: the store keeps only its SHA-256)."""
    with cli_errors():
        from profiler.store import CalibrationStore

        from ..service.auth import create_token

        with CalibrationStore(db) as store:
            token = create_token(store, name, read_only)
            path = store.path
        if as_json:
            print(json.dumps({'name': name, 'token': token, 'read_only': read_only, 'db': str(path)}))
        else:
            print(token)
            typer.echo(f'token {name!r} ({"read-only" if read_only else "full access"}) created in {path}; '
                       f'it is shown only now', err=True)


@token_app.command('revoke')
def token_revoke_cmd(
    name: Annotated[str, typer.Argument(help='The token\'s name.')],
    db: Annotated[Optional[Path], typer.Option('--db', help=_DB_HELP)] = None,
) -> None:
    """Revoke a token: requests with it are refused from now on."""
    with cli_errors():
        from profiler.store import CalibrationStore

        from ..service.auth import revoke_token

        with CalibrationStore(db) as store:
            revoke_token(store, name)
            path = store.path
        typer.echo(f'token {name!r} revoked in {path}', err=True)


@token_app.command('list')
def token_list_cmd(db: Annotated[Optional[Path], typer.Option('--db', help=_DB_HELP)] = None) -> None:
    """The tokens' names, access and creation times (never the tokens)."""
    with cli_errors():
        from profiler.store import CalibrationStore

        with CalibrationStore(db) as store:
            for t in store.tokens():
                print(f'{t.name}\t{"read-only" if t.read_only else "full"}\t{t.created_at}')


def register(app: typer.Typer) -> None:
    """Add ``serve`` and the ``token`` group to ``app``."""
    app.command('serve')(serve_cmd)
    app.add_typer(token_app, name='token')
