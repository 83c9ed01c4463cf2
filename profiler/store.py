"""The calibration store: SQLite, one row per (backend, tool version, part, clock, precision, operator,
implementation), keyed by the plan digest.

Durability: WAL journal, ``synchronous=FULL``, one transaction per result. A row is written whole or
not at all, so a run killed at any point (SIGKILL included) leaves only complete rows, and a rerun
skips every digest already stored with status ``ok``.

The ``designs`` table holds whole-design training records (design JSON, backend, results, provenance)
for the cost model, keyed by (design digest, backend, tool version).

Schema version 2 adds what ``srcost serve`` keeps: ``jobs`` (each submitted job, its state, result, log
and report, written in one transaction per change, so a server killed at any point restarts with every
finished job) and ``tokens`` (the SHA-256 of each API token, never the token). A version-1 store is
migrated when it is opened: the new tables are created and the version raised in one transaction.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from .errors import StoreError

SCHEMA_VERSION = 2
ENV_DB = 'SRCOST_DB'

STATUS_OK = 'ok'
STATUS_FAILED = 'failed'

METRICS = ('latency_best', 'latency_worst', 'ii', 'lut', 'ff', 'dsp', 'bram_18k', 'uram', 'carry',
           'clock_estimate_ns', 'clock_estimate_method', 'latency_method')

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS operator_costs (
    digest TEXT PRIMARY KEY,
    backend TEXT NOT NULL,
    tool_version TEXT NOT NULL,
    part TEXT NOT NULL,
    clock_period_ns REAL NOT NULL,
    precision TEXT NOT NULL,
    operator TEXT NOT NULL,
    implementation TEXT NOT NULL,
    pysr_name TEXT,
    lut_size INTEGER,
    lut_range_start REAL,
    lut_range_end REAL,
    notes TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL CHECK (status IN ('{STATUS_OK}', '{STATUS_FAILED}')),
    latency_best INTEGER,
    latency_worst INTEGER,
    ii INTEGER,
    lut INTEGER,
    ff INTEGER,
    dsp INTEGER,
    bram_18k INTEGER,
    uram INTEGER,
    carry INTEGER,
    clock_estimate_ns REAL,
    clock_estimate_method TEXT,
    latency_method TEXT,
    error_max REAL,
    error_mean REAL,
    error_points INTEGER,
    error_domain_start REAL,
    error_domain_end REAL,
    error_method TEXT,
    error TEXT,
    log_path TEXT,
    duration_s REAL,
    source TEXT NOT NULL DEFAULT 'profile-ops',
    design_json TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (backend, tool_version, part, clock_period_ns, precision, operator, implementation),
    CHECK (status = '{STATUS_FAILED}' OR latency_worst IS NOT NULL),
    CHECK (status = '{STATUS_OK}' OR error IS NOT NULL)
);
CREATE INDEX IF NOT EXISTS operator_costs_lookup ON operator_costs (backend, precision, status);
CREATE TABLE IF NOT EXISTS designs (
    design_digest TEXT NOT NULL,
    backend TEXT NOT NULL,
    tool_version TEXT NOT NULL,
    design_json TEXT NOT NULL,
    results_json TEXT,
    status TEXT NOT NULL CHECK (status IN ('{STATUS_OK}', '{STATUS_FAILED}')),
    error TEXT,
    provenance_json TEXT NOT NULL DEFAULT '{{}}',
    created_at TEXT NOT NULL,
    PRIMARY KEY (design_digest, backend, tool_version)
);
"""

JOB_STATES = ('queued', 'running', 'done', 'failed', 'cancelled', 'interrupted')
JOB_FINISHED = ('done', 'failed', 'cancelled', 'interrupted')

# statements that take a store from version (key - 1) to version key; each is idempotent
_MIGRATIONS: dict[int, str] = {
    2: f"""
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    spec_json TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ({", ".join(repr(s) for s in JOB_STATES)})),
    progress REAL NOT NULL DEFAULT 0,
    result_json TEXT,
    error TEXT,
    log TEXT NOT NULL DEFAULT '',
    report_html TEXT,
    submitted_by TEXT NOT NULL DEFAULT '',
    resubmitted_from TEXT,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state);
CREATE TABLE IF NOT EXISTS tokens (
    name TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    read_only INTEGER NOT NULL CHECK (read_only IN (0, 1)),
    created_at TEXT NOT NULL
);
""",
}


@dataclass(frozen=True)
class OpRecord:
    """One row of the calibration: what one operator costs in one implementation."""

    digest: str
    backend: str
    tool_version: str
    part: str
    clock_period_ns: float
    precision: str
    operator: str
    implementation: str
    status: str
    pysr_name: str | None = None
    lut_size: int | None = None
    lut_range_start: float | None = None
    lut_range_end: float | None = None
    notes: str = ''
    latency_best: int | None = None
    latency_worst: int | None = None
    ii: int | None = None
    lut: int | None = None
    ff: int | None = None
    dsp: int | None = None
    bram_18k: int | None = None
    uram: int | None = None
    carry: int | None = None
    clock_estimate_ns: float | None = None
    clock_estimate_method: str | None = None
    latency_method: str | None = None
    error_max: float | None = None
    error_mean: float | None = None
    error_points: int | None = None
    error_domain_start: float | None = None
    error_domain_end: float | None = None
    error_method: str | None = None
    error: str | None = None
    log_path: str | None = None
    duration_s: float | None = None
    source: str = 'profile-ops'
    design_json: str | None = None
    created_at: str = ''

    @property
    def ok(self) -> bool:
        return self.status == STATUS_OK

    def to_dict(self, with_design: bool = False) -> dict:
        d = dataclasses.asdict(self)
        if not with_design:
            d.pop('design_json')
        return d


@dataclass(frozen=True)
class DesignRecord:
    """A whole-design training record for the cost model."""

    design_digest: str
    backend: str
    tool_version: str
    design: dict
    results: dict | list | None
    status: str = STATUS_OK
    error: str | None = None
    provenance: dict = dataclasses.field(default_factory=dict)
    created_at: str = ''


@dataclass(frozen=True)
class JobRecord:
    """A job of ``srcost serve``: what was asked (``spec``), where it stands, and what it gave."""

    id: str
    kind: str
    spec: dict
    state: str = 'queued'
    progress: float = 0.0
    result: dict | list | None = None
    error: str | None = None
    log: str = ''
    submitted_by: str = ''
    resubmitted_from: str | None = None
    created_at: str = ''
    started_at: str | None = None
    finished_at: str | None = None
    has_report: bool = False

    @property
    def finished(self) -> bool:
        return self.state in JOB_FINISHED


@dataclass(frozen=True)
class TokenRecord:
    """An API token of ``srcost serve``: its name, the SHA-256 of the token, and whether it may submit jobs."""

    name: str
    token_hash: str
    read_only: bool
    created_at: str = ''


_OP_COLUMNS = tuple(f.name for f in dataclasses.fields(OpRecord))
_JOB_UPDATABLE = ('state', 'progress', 'result', 'error', 'log', 'started_at', 'finished_at')


def now_utc() -> str:
    return datetime.now(timezone.utc).isoformat(timespec='seconds')


def default_db_path(explicit: str | os.PathLike | None = None) -> Path:
    """``explicit`` (``--db``), else ``$SRCOST_DB``, else ``<user data dir>/srcost/calibration.db``."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get(ENV_DB)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir('srcost', appauthor=False)) / 'calibration.db'


class CalibrationStore:
    """The SQLite calibration store. Use as a context manager, or call ``close()``."""

    def __init__(self, path: str | os.PathLike | None = None, shared: bool = False):
        """``shared``: the connection may be used from several threads (the caller serializes its use)."""
        self.path = default_db_path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(str(self.path), timeout=60, check_same_thread=not shared)
        except (OSError, sqlite3.Error) as e:
            raise StoreError(f'cannot open the calibration store {self.path}: {e}') from None
        self.conn.row_factory = sqlite3.Row
        try:
            self.conn.execute('PRAGMA busy_timeout = 60000')
            self.conn.execute('PRAGMA journal_mode = WAL')
            self.conn.execute('PRAGMA synchronous = FULL')
            self._init_schema()
        except sqlite3.DatabaseError as e:
            self.conn.close()
            raise StoreError(f'{self.path} is not a usable srcost calibration store: {e}') from None

    # -- schema -----------------------------------------------------------------------------------
    def _init_schema(self) -> None:
        with self.conn:
            for stmt in _SCHEMA.split(';'):
                if stmt.strip():
                    self.conn.execute(stmt)
            row = self.conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            version = 1 if row is None else int(row['value'])
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f'{self.path} has schema version {row["value"]}, newer than this srcost understands '
                    f'({SCHEMA_VERSION}); upgrade srcost or use another --db'
                )
            for v in range(version + 1, SCHEMA_VERSION + 1):  # in the same transaction as the version
                for stmt in _MIGRATIONS[v].split(';'):
                    if stmt.strip():
                        self.conn.execute(stmt)
            if row is None:
                self.conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
                self.conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('created_at', ?)", (now_utc(),))
            elif version < SCHEMA_VERSION:
                self.conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),))
                self.conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                                  (f'migrated_to_{SCHEMA_VERSION}_at', now_utc()))

    @property
    def schema_version(self) -> int:
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return int(row['value'])

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> CalibrationStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- operator costs -----------------------------------------------------------------------------
    def put(self, record: OpRecord) -> None:
        """Insert or replace one record, in its own transaction."""
        self.put_many([record])

    def put_many(self, records: Iterable[OpRecord]) -> int:
        """Insert or replace records, all in one transaction (all or none)."""
        rows = [self._row(r) for r in records]
        sql = (f'INSERT OR REPLACE INTO operator_costs ({", ".join(_OP_COLUMNS)}) '
               f'VALUES ({", ".join("?" for _ in _OP_COLUMNS)})')
        try:
            with self.conn:
                self.conn.executemany(sql, rows)
        except sqlite3.IntegrityError as e:
            raise StoreError(f'refusing to store an incomplete calibration record: {e}') from None
        return len(rows)

    @staticmethod
    def _row(r: OpRecord) -> tuple:
        if not r.created_at:
            r = dataclasses.replace(r, created_at=now_utc())
        return tuple(getattr(r, c) for c in _OP_COLUMNS)

    def completed_digests(self, digests: Iterable[str] | None = None) -> set[str]:
        """Digests stored with status ok (among ``digests`` when given)."""
        rows = self.conn.execute('SELECT digest FROM operator_costs WHERE status = ?', (STATUS_OK,)).fetchall()
        done = {r['digest'] for r in rows}
        return done if digests is None else done & set(digests)

    def get(self, digest: str) -> OpRecord | None:
        row = self.conn.execute('SELECT * FROM operator_costs WHERE digest = ?', (digest,)).fetchone()
        return self._record(row) if row else None

    def records(
        self,
        backend: str | None = None,
        precision: str | None = None,
        tool_version: str | None = None,
        part: str | None = None,
        clock_period_ns: float | None = None,
        operator: str | None = None,
        implementation: str | None = None,
        status: str | None = None,
    ) -> list[OpRecord]:
        """Stored records matching every given filter, in insertion order."""
        where, args = [], []
        for col, val in (('backend', backend), ('precision', precision), ('tool_version', tool_version),
                         ('part', part), ('clock_period_ns', clock_period_ns), ('operator', operator),
                         ('implementation', implementation), ('status', status)):
            if val is not None:
                where.append(f'{col} = ?')
                args.append(val)
        sql = 'SELECT * FROM operator_costs' + (' WHERE ' + ' AND '.join(where) if where else '') + ' ORDER BY rowid'
        return [self._record(r) for r in self.conn.execute(sql, args)]

    def count(self, status: str | None = None) -> int:
        if status is None:
            return self.conn.execute('SELECT COUNT(*) FROM operator_costs').fetchone()[0]
        return self.conn.execute('SELECT COUNT(*) FROM operator_costs WHERE status = ?', (status,)).fetchone()[0]

    @staticmethod
    def _record(row: sqlite3.Row) -> OpRecord:
        return OpRecord(**{k: row[k] for k in row.keys() if k in _OP_COLUMNS})

    # -- whole-design training records ------------------------------------------------------------
    def put_design(self, record: DesignRecord) -> None:
        with self.conn:
            self.conn.execute(
                'INSERT OR REPLACE INTO designs (design_digest, backend, tool_version, design_json, results_json, '
                'status, error, provenance_json, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
                (record.design_digest, record.backend, record.tool_version, json.dumps(record.design, sort_keys=True),
                 None if record.results is None else json.dumps(record.results, sort_keys=True), record.status,
                 record.error, json.dumps(record.provenance, sort_keys=True), record.created_at or now_utc()),
            )

    def designs(self, backend: str | None = None, tool_version: str | None = None,
                status: str | None = STATUS_OK) -> list[DesignRecord]:
        where, args = [], []
        for col, val in (('backend', backend), ('tool_version', tool_version), ('status', status)):
            if val is not None:
                where.append(f'{col} = ?')
                args.append(val)
        sql = 'SELECT * FROM designs' + (' WHERE ' + ' AND '.join(where) if where else '') + ' ORDER BY rowid'
        return [
            DesignRecord(
                r['design_digest'], r['backend'], r['tool_version'], json.loads(r['design_json']),
                None if r['results_json'] is None else json.loads(r['results_json']), r['status'], r['error'],
                json.loads(r['provenance_json']), r['created_at'],
            )
            for r in self.conn.execute(sql, args)
        ]

    def completed_designs(self, backend: str, tool_version: str) -> set[str]:
        rows = self.conn.execute(
            'SELECT design_digest FROM designs WHERE backend = ? AND tool_version = ? AND status = ?',
            (backend, tool_version, STATUS_OK),
        ).fetchall()
        return {r[0] for r in rows}

    # -- jobs of `srcost serve` --------------------------------------------------------------------------
    def put_job(self, job: JobRecord) -> None:
        """Insert a new job (its own transaction)."""
        try:
            with self.conn:
                self.conn.execute(
                    'INSERT INTO jobs (id, kind, spec_json, state, progress, result_json, error, log, submitted_by, '
                    'resubmitted_from, created_at, started_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
                    (job.id, job.kind, json.dumps(job.spec, sort_keys=True), job.state, float(job.progress),
                     None if job.result is None else json.dumps(job.result, sort_keys=True), job.error, job.log,
                     job.submitted_by, job.resubmitted_from, job.created_at or now_utc(), job.started_at, job.finished_at),
                )
        except sqlite3.IntegrityError as e:
            raise StoreError(f'cannot store job {job.id}: {e}') from None

    def update_job(self, job_id: str, report_html: str | None = None, **fields) -> None:
        """Change some of a job's fields (``state``, ``progress``, ``result``, ``error``, ``log``, ``started_at``,
        ``finished_at``) and, when given, its report, all in one transaction."""
        bad = set(fields) - set(_JOB_UPDATABLE)
        if bad:
            raise StoreError(f'cannot update job field(s) {", ".join(sorted(bad))}')
        cols, args = [], []
        for k, v in fields.items():
            if k == 'result':
                cols.append('result_json = ?')
                args.append(None if v is None else json.dumps(v, sort_keys=True))
            else:
                cols.append(f'{k} = ?')
                args.append(v)
        if report_html is not None:
            cols.append('report_html = ?')
            args.append(report_html)
        if not cols:
            return
        try:
            with self.conn:
                self.conn.execute(f'UPDATE jobs SET {", ".join(cols)} WHERE id = ?', (*args, job_id))
        except sqlite3.IntegrityError as e:
            raise StoreError(f'cannot update job {job_id}: {e}') from None

    def get_job(self, job_id: str) -> JobRecord | None:
        row = self.conn.execute(f'SELECT {_JOB_SELECT} FROM jobs WHERE id = ?', (job_id,)).fetchone()
        return self._job(row) if row else None

    def jobs(self, state: str | None = None, limit: int | None = None) -> list[JobRecord]:
        """Jobs (of ``state`` when given), oldest first; with ``limit``, the newest ``limit`` of them."""
        sql = f'SELECT {_JOB_SELECT} FROM jobs' + (' WHERE state = ?' if state else '') + ' ORDER BY rowid'
        rows = self.conn.execute(sql, (state,) if state else ()).fetchall()
        if limit is not None:
            rows = rows[-limit:]
        return [self._job(r) for r in rows]

    def job_report(self, job_id: str) -> str | None:
        row = self.conn.execute('SELECT report_html FROM jobs WHERE id = ?', (job_id,)).fetchone()
        return None if row is None else row[0]

    def interrupt_jobs(self, message: str) -> list[str]:
        """Mark every job still ``running`` as ``interrupted`` (what a restarted server finds of the jobs its
        previous process was running); the ids, in one transaction."""
        with self.conn:
            ids = [r[0] for r in self.conn.execute("SELECT id FROM jobs WHERE state = 'running' ORDER BY rowid")]
            self.conn.execute("UPDATE jobs SET state = 'interrupted', error = ?, finished_at = ? WHERE state = 'running'",
                              (message, now_utc()))
        return ids

    @staticmethod
    def _job(row: sqlite3.Row) -> JobRecord:
        return JobRecord(
            id=row['id'], kind=row['kind'], spec=json.loads(row['spec_json']), state=row['state'],
            progress=float(row['progress']), result=None if row['result_json'] is None else json.loads(row['result_json']),
            error=row['error'], log=row['log'], submitted_by=row['submitted_by'], resubmitted_from=row['resubmitted_from'],
            created_at=row['created_at'], started_at=row['started_at'], finished_at=row['finished_at'],
            has_report=bool(row['has_report']),
        )

    # -- API tokens of `srcost serve` ------------------------------------------------------------------------
    def put_token(self, token: TokenRecord) -> None:
        """Add a token; a StoreError when the name is taken."""
        try:
            with self.conn:
                self.conn.execute('INSERT INTO tokens (name, token_hash, read_only, created_at) VALUES (?, ?, ?, ?)',
                                  (token.name, token.token_hash, int(token.read_only), token.created_at or now_utc()))
        except sqlite3.IntegrityError:
            raise StoreError(f'a token named {token.name!r} exists in {self.path}; revoke it first '
                             f'(`srcost token revoke {token.name}`) or choose another name') from None

    def delete_token(self, name: str) -> bool:
        with self.conn:
            cur = self.conn.execute('DELETE FROM tokens WHERE name = ?', (name,))
        return cur.rowcount > 0

    def token_by_hash(self, token_hash: str) -> TokenRecord | None:
        row = self.conn.execute('SELECT * FROM tokens WHERE token_hash = ?', (token_hash,)).fetchone()
        return None if row is None else TokenRecord(row['name'], row['token_hash'], bool(row['read_only']), row['created_at'])

    def tokens(self) -> list[TokenRecord]:
        return [TokenRecord(r['name'], r['token_hash'], bool(r['read_only']), r['created_at'])
                for r in self.conn.execute('SELECT * FROM tokens ORDER BY name')]

    def operator_costs_version(self) -> tuple[int, int]:
        """(rows, largest rowid) of the operator costs: changes whenever a record is added or replaced."""
        row = self.conn.execute('SELECT COUNT(*), COALESCE(MAX(rowid), 0) FROM operator_costs').fetchone()
        return int(row[0]), int(row[1])


_JOB_SELECT = ('id, kind, spec_json, state, progress, result_json, error, log, submitted_by, resubmitted_from, '
               'created_at, started_at, finished_at, report_html IS NOT NULL AS has_report')


def open_store(path: str | os.PathLike | None = None) -> CalibrationStore:
    return CalibrationStore(path)


def unique_values(records: Sequence[OpRecord], field: str) -> list:
    seen = []
    for r in records:
        v = getattr(r, field)
        if v not in seen:
            seen.append(v)
    return seen
