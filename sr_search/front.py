"""Pareto fronts of expressions: members, selection rules, CSV/JSON round trips.

A front is what a search returns: each member is an expression (PySR/sympy syntax, constants written
so that they read back to the same float64), its loss, its node count, its predicted hardware cost
per target (``{'latency': 12, 'lut': 340, ...}``), task metrics (``{'accuracy': 0.71, 'auc_t': 0.9}``)
and the value of the search's cost objective.

Selection rules:

- ``'accuracy'``: the member with the lowest loss;
- ``'best'``: PySR's rule (``pysr/sr.py``, ``idx_model_selection`` and the score computed in
  ``get_hof``): along increasing complexity, ``score = -log(loss_i / loss_{i-1}) / (c_i - c_{i-1})``
  (0 for the first member, +inf when the loss reaches 0), and among members with
  ``loss <= 1.5 * min(loss)`` the highest score wins (the first, i.e. simplest, on ties);
- a budget, e.g. ``{'latency': 10, 'lut': 500}``: the lowest-loss member within every limit.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import sympy
from sympy.printing.str import StrPrinter

from hls_gen.errors import SrcostError
from hls_gen.expression import Expression

FORMAT = 'srcost-front'
FORMAT_VERSION = 1
RULES = ('best', 'accuracy', 'score', 'budget')
# a plain CSV front's columns: these, then the metrics, then the cost targets (read back by name)
_BASE_COLUMNS = ('expression', 'precision', 'loss', 'complexity', 'objective')
COST_COLUMNS = ('latency', 'lut', 'dsp', 'ff', 'ii', 'bram_18k', 'latency_cycles', 'complexity_cost', 'additive', 'cost')


class NoMemberWithinBudget(SrcostError, ValueError):
    """No member of a front satisfies a budget."""


class FrontFormatError(SrcostError, ValueError):
    """A saved front cannot be read."""


class _ExactPrinter(StrPrinter):
    def _print_Float(self, expr):  # shortest text that reads back to the same float64
        return repr(float(expr))


def expression_to_text(expr: sympy.Expr | Expression) -> str:
    """PySR/sympy-syntax text of an expression whose constants read back bit-exactly (as float64)."""
    if isinstance(expr, Expression):
        expr = expr.sympy_expr
    return _ExactPrinter().doprint(expr)


@dataclass
class FrontMember:
    expression: str
    loss: float
    complexity: int
    cost: dict[str, float] = field(default_factory=dict)  # predicted cost per target
    metrics: dict[str, float] = field(default_factory=dict)  # task metrics (accuracy, auc, r2, ...)
    objective: float | None = None  # the search's cost-objective value
    precision: str | None = None  # the fixed-point precision the member's loss and cost refer to

    def __post_init__(self) -> None:
        if isinstance(self.expression, (Expression, sympy.Basic)):
            self.expression = expression_to_text(self.expression)
        self.loss = float(self.loss)
        self.complexity = int(self.complexity)
        self.cost = {str(k): float(v) for k, v in (self.cost or {}).items()}
        self.metrics = {str(k): float(v) for k, v in (self.metrics or {}).items()}
        if self.objective is not None:
            self.objective = float(self.objective)

    @property
    def expr(self) -> Expression:
        """The validated expression (parsed without evaluating any code)."""
        return Expression.parse(self.expression)

    def value(self, key: str) -> float | None:
        """``loss``, ``complexity``, ``objective``, a cost target or a metric name; None if absent."""
        if key == 'loss':
            return self.loss
        if key == 'complexity':
            return float(self.complexity)
        if key == 'objective':
            return self.objective
        if key == 'precision':
            return None
        if key in self.cost:
            return self.cost[key]
        if key.startswith('cost.') and key[5:] in self.cost:
            return self.cost[key[5:]]
        if key in self.metrics:
            return self.metrics[key]
        if key.startswith('metric.') and key[7:] in self.metrics:
            return self.metrics[key[7:]]
        return None

    def to_dict(self) -> dict:
        return asdict(self)


def pysr_scores(losses: Iterable[float], complexities: Iterable[float]) -> list[float]:
    """PySR's score of each row of a hall of fame sorted by increasing complexity."""
    scores: list[float] = []
    last_loss = None
    last_c = 0.0
    for loss, c in zip(losses, complexities):
        if last_loss is None:
            score = 0.0
        elif loss > 0.0 and last_loss > 0.0:
            dc = c - last_c
            score = -math.log(loss / last_loss) / dc if dc > 0 else 0.0
        else:
            score = math.inf
        scores.append(score)
        last_loss, last_c = loss, c
    return scores


class ParetoFront:
    """An ordered collection of :class:`FrontMember` with selection rules and persistence."""

    def __init__(self, members: Iterable[FrontMember] = (), metadata: Mapping | None = None):
        self.members: list[FrontMember] = list(members)
        self.metadata: dict = dict(metadata or {})
        self.members.sort(key=self._order)

    @staticmethod
    def _order(m: FrontMember):
        return (m.objective if m.objective is not None else m.complexity, m.complexity, m.loss, m.expression)

    # -- container protocol ------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.members)

    def __iter__(self) -> Iterator[FrontMember]:
        return iter(self.members)

    def __getitem__(self, i: int) -> FrontMember:
        return self.members[i]

    def __repr__(self) -> str:
        return f'ParetoFront({len(self)} members, metadata={self.metadata})'

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ParetoFront) and self.members == other.members and self.metadata == other.metadata

    def expressions(self) -> list[Expression]:
        """The members' validated expressions (``.sympy_expr`` for sympy), in front order."""
        return [m.expr for m in self.members]

    @property
    def cost_targets(self) -> list[str]:
        keys: dict[str, None] = {}
        for m in self.members:
            keys.update(dict.fromkeys(m.cost))
        return list(keys)

    @property
    def metric_names(self) -> list[str]:
        keys: dict[str, None] = {}
        for m in self.members:
            keys.update(dict.fromkeys(m.metrics))
        return list(keys)

    # -- fronts ------------------------------------------------------------------------------
    def nondominated(self, cost_key: str | None = None) -> ParetoFront:
        """Members not dominated in (loss, cost), where cost is ``cost_key`` (default: the objective
        when every member has one, else the complexity). Exact duplicates keep the first."""
        key = cost_key or ('objective' if self.members and all(m.objective is not None for m in self.members) else 'complexity')
        pts = []
        for m in self.members:
            c = m.value(key)
            pts.append((math.inf if c is None else c, m.loss))
        keep = []
        for i, (ci, li) in enumerate(pts):
            dominated = False
            for j, (cj, lj) in enumerate(pts):
                if j == i:
                    continue
                if cj <= ci and lj <= li and (cj < ci or lj < li or j < i):
                    dominated = True
                    break
            if not dominated:
                keep.append(self.members[i])
        return ParetoFront(keep, self.metadata)

    def scores(self, axis: str = 'complexity') -> list[float]:
        """PySR score of each member (in this front's order) along ``axis``. Members that are not
        on the (axis, loss) staircase (a simpler member is at least as accurate) score -inf."""
        order = sorted(range(len(self)), key=lambda i: (self._axis(self.members[i], axis), self.members[i].loss))
        stair: list[int] = []
        best = math.inf
        for i in order:
            m = self.members[i]
            if m.loss < best and not (stair and self._axis(self.members[stair[-1]], axis) == self._axis(m, axis)):
                stair.append(i)
                best = m.loss
        s = pysr_scores([self.members[i].loss for i in stair], [self._axis(self.members[i], axis) for i in stair])
        out = [-math.inf] * len(self)
        for i, v in zip(stair, s):
            out[i] = v
        return out

    @staticmethod
    def _axis(m: FrontMember, axis: str) -> float:
        v = m.value(axis)
        if v is None:
            raise KeyError(f'member {m.expression!r} has no {axis!r}')
        return v

    # -- selection ---------------------------------------------------------------------------
    def select(self, rule: str = 'best', budget: Mapping[str, float] | None = None, axis: str = 'complexity') -> FrontMember:
        """Pick one member: ``'accuracy'``, ``'best'`` (PySR), ``'score'`` (max PySR score) or
        ``'budget'`` (lowest loss within ``budget``; giving ``budget`` implies this rule)."""
        if not self.members:
            raise ValueError('the front is empty')
        if budget:
            return self.within_budget(budget)
        if rule == 'accuracy':
            return min(self.members, key=lambda m: (m.loss, self._axis(m, axis)))
        if rule in ('best', 'score'):
            scores = self.scores(axis)
            idx = [i for i in range(len(self)) if scores[i] > -math.inf]
            if rule == 'best':
                threshold = 1.5 * min(self.members[i].loss for i in idx)
                idx = [i for i in idx if self.members[i].loss <= threshold]
            idx.sort(key=lambda i: (self._axis(self.members[i], axis), self.members[i].loss))
            return self.members[max(idx, key=lambda i: (scores[i], -idx.index(i)))]
        if rule == 'budget':
            raise ValueError("rule 'budget' needs budget={'latency': N, ...}")
        raise ValueError(f'unknown selection rule {rule!r}; use one of {", ".join(RULES)}')

    def within_budget(self, budget: Mapping[str, float]) -> FrontMember:
        """The lowest-loss member whose every budgeted value (cost target, ``complexity``,
        ``objective``) is at most its limit."""
        if not budget:
            raise ValueError('empty budget')
        ok = []
        for m in self.members:
            vals = {k: m.value(k) for k in budget}
            if all(v is not None and v <= float(lim) for (k, lim), v in zip(budget.items(), vals.values())):
                ok.append(m)
        if not ok:
            known = set(self.cost_targets) | {'complexity', 'objective'} | set(self.metric_names)
            unknown = [k for k in budget if k not in known]
            if unknown:
                raise NoMemberWithinBudget(f'no member has {", ".join(unknown)}; the front has {", ".join(sorted(known))}')
            lowest = {k: min((m.value(k) for m in self.members if m.value(k) is not None), default=None) for k in budget}
            raise NoMemberWithinBudget(
                f'no member of the front is within the budget {dict(budget)}; the lowest values are {lowest}'
            )
        return min(ok, key=lambda m: (m.loss, m.complexity))

    # -- tables and files --------------------------------------------------------------------
    def to_records(self) -> list[dict]:
        rows = []
        for m in self.members:
            row = {'expression': m.expression, 'precision': m.precision, 'loss': m.loss, 'complexity': m.complexity,
                   'objective': m.objective}
            row.update(m.metrics)
            row.update(m.cost)
            rows.append(row)
        return rows

    def to_dataframe(self):
        import pandas as pd

        cols = ['expression', 'precision', 'loss', 'complexity', 'objective']
        cols += [k for k in self.metric_names if k not in cols] + [k for k in self.cost_targets if k not in cols]
        return pd.DataFrame(self.to_records(), columns=cols)

    @classmethod
    def from_records(cls, rows: Iterable[Mapping], metadata: Mapping | None = None,
                     cost_names: Iterable[str] = COST_COLUMNS) -> ParetoFront:
        cost_names = set(cost_names)
        members = []
        for i, row in enumerate(rows):
            try:
                expr = row['expression']
                loss = row['loss']
                complexity = row['complexity']
            except KeyError as e:
                raise FrontFormatError(f'row {i} has no {e.args[0]!r} column') from None
            if not isinstance(expr, str) or not expr.strip():
                raise FrontFormatError(f'row {i}: empty expression')
            obj = row.get('objective')
            cost = {k[5:]: v for k, v in row.items() if k.startswith('cost.') and _present(v)}
            metrics = {k[7:]: v for k, v in row.items() if k.startswith('metric.') and _present(v)}
            for k, v in row.items():  # plain columns: cost targets by name (``cost_names``), the rest are metrics
                if k in _BASE_COLUMNS or k.startswith(('cost.', 'metric.')) or not _present(v):
                    continue
                (cost if k in cost_names else metrics)[k] = v
            prec = row.get('precision')
            members.append(
                FrontMember(
                    expression=expr,
                    loss=float(loss),
                    complexity=int(complexity),
                    cost=cost,
                    metrics=metrics,
                    objective=float(obj) if _present(obj) else None,
                    precision=str(prec) if _present(prec) else None,
                )
            )
        return cls(members, metadata)

    def to_json(self) -> str:
        doc = {
            'format': FORMAT,
            'version': FORMAT_VERSION,
            'metadata': self.metadata,
            'members': [m.to_dict() for m in self.members],
        }
        return json.dumps(doc, indent=1, default=_json_default)

    @classmethod
    def from_json(cls, text: str) -> ParetoFront:
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as e:
            raise FrontFormatError(f'not a JSON front: {e}') from None
        if not isinstance(doc, dict) or doc.get('format') != FORMAT:
            raise FrontFormatError(f'not an srcost front (expected "format": "{FORMAT}")')
        if doc.get('version', 0) > FORMAT_VERSION:
            raise FrontFormatError(f'front format version {doc.get("version")} is newer than this srcost ({FORMAT_VERSION})')
        try:
            members = [FrontMember(**m) for m in doc.get('members', [])]
        except TypeError as e:
            raise FrontFormatError(f'malformed member: {e}') from None
        return cls(members, doc.get('metadata') or {})

    def save(self, path: str | Path) -> Path:
        """Write ``.json`` (everything) or ``.csv`` (a plain CSV, one row per member, as PySR's
        ``hall_of_fame.csv``; its metadata in ``<name>.meta.json`` beside it)."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix == '.json':
            path.write_text(self.to_json())
        elif suffix == '.csv':
            df = self.to_dataframe()
            with path.open('w', newline='') as f:
                df.to_csv(f, index=False)
            meta = {'format': FORMAT, 'version': FORMAT_VERSION, 'metadata': self.metadata, 'cost_columns': self.cost_targets}
            _meta_path(path).write_text(json.dumps(meta, indent=1, default=_json_default))
        else:
            raise ValueError(f'unknown front file type {path.suffix!r}: use .csv or .json')
        return path

    @classmethod
    def load(cls, path: str | Path) -> ParetoFront:
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f'no front file at {path}')
        suffix = path.suffix.lower()
        if suffix == '.json':
            return cls.from_json(path.read_text())
        if suffix == '.csv':
            import pandas as pd

            metadata: dict = {}
            cost_names: list[str] = list(COST_COLUMNS)
            meta_path = _meta_path(path)
            if meta_path.exists():
                try:
                    meta = json.loads(meta_path.read_text())
                except (json.JSONDecodeError, UnicodeDecodeError):
                    raise FrontFormatError(f'{meta_path}: not a JSON metadata file') from None
                metadata = meta.get('metadata', {}) if isinstance(meta, dict) else {}
                cost_names += list(meta.get('cost_columns', []) if isinstance(meta, dict) else [])
            skip = 0
            with path.open() as f:
                first = f.readline()
            if first.startswith('#'):
                skip = 1
                head = first[1:].strip()
                if head.startswith(FORMAT):
                    try:
                        metadata = json.loads(head[len(FORMAT):].strip()).get('metadata', {})
                    except json.JSONDecodeError:
                        raise FrontFormatError(f'{path}: malformed metadata line') from None
            # pandas < 3 parses floats to within 1 ulp unless asked to round-trip; pandas 3 always does
            extra = {'float_precision': 'round_trip'} if int(pd.__version__.split('.')[0]) < 3 else {}
            df = pd.read_csv(path, skiprows=skip, dtype={'expression': str, 'precision': str}, **extra)
            return cls.from_records(df.to_dict('records'), metadata, cost_names)
        raise ValueError(f'unknown front file type {path.suffix!r}: use .csv or .json')


def _meta_path(path: Path) -> Path:
    return path.with_name(path.stem + '.meta.json')


def _present(v) -> bool:
    if v is None:
        return False
    try:
        return not (isinstance(v, float) and math.isnan(v))
    except TypeError:
        return True


def _json_default(o):
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    return str(o)
