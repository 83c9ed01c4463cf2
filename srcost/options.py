"""Design options shared by ``synth``, ``predict`` and ``validate``."""

from __future__ import annotations

from collections.abc import Sequence

from hls_gen import Design


def design_from_options(
    exprs: Sequence[str], precision: str, luts: Sequence[str], part: str, clock_period: float, n_inputs: int | None = None
) -> Design:
    return Design.build(list(exprs), precision, list(luts), n_inputs, part, clock_period)


def print_design_result(d: dict, design: Design, title: str, value_header: str, keys: Sequence[str],
                        as_json: bool) -> None:
    """What ``synth`` and ``predict`` print: ``d`` as one JSON object, or a table of ``keys`` titled
    ``title: expressions @ precision``. Expressions are added to ``d`` in their exact text (they parse back
    to the same design)."""
    import json

    d['expressions'] = [e.text for e in design.outputs]
    d['luts'] = [str(s) for s in design.luts]
    if as_json:
        print(json.dumps(d, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f'{title}: {"; ".join(str(e) for e in design.outputs)} @ {design.precision}')
    t.add_column('metric')
    t.add_column(value_header, justify='right')
    for k in keys:
        t.add_row(k, '-' if d.get(k) is None else str(d[k]))
    Console().print(t)
