"""The calibration store: SQLite, one row per (backend, tool version, part, clock, precision, operator,
implementation), keyed by the plan digest.

Durability: WAL journal, ``synchronous=FULL``, one transaction per result. A row is written whole or
not at all, so a run killed at any point (SIGKILL included) leaves only complete rows, and a rerun
skips every digest already stored with status ``ok``.

The ``designs`` table holds whole-design training records (design JSON, backend, results, provenance)
for the cost model, keyed by (design digest, backend, tool version).
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

SCHEMA_VERSION = 1
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


_OP_COLUMNS = tuple(f.name for f in dataclasses.fields(OpRecord))


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

    def __init__(self, path: str | os.PathLike | None = None):
        self.path = default_db_path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(str(self.path), timeout=60)
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
            if row is None:
                self.conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
                self.conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('created_at', ?)", (now_utc(),))
            elif int(row['value']) > SCHEMA_VERSION:
                raise StoreError(
                    f'{self.path} has schema version {row["value"]}, newer than this srcost understands '
                    f'({SCHEMA_VERSION}); upgrade srcost or use another --db'
                )

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


def open_store(path: str | os.PathLike | None = None) -> CalibrationStore:
    return CalibrationStore(path)


def unique_values(records: Sequence[OpRecord], field: str) -> list:
    seen = []
    for r in records:
        v = getattr(r, field)
        if v not in seen:
            seen.append(v)
    return seen
