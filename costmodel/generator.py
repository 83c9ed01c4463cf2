"""Random designs shaped like symbolic-regression output, for training and testing the cost model.

Every design is a function of ``(seed, index)`` only, so ``generate_designs(n, seed)`` is a prefix of
``generate_designs(m, seed)`` for ``m > n`` and a training set can grow without changing its first rows.

The shapes follow what PySR and operon return: trees over the operator table with 1 to 40 nodes (as
``hls_gen.ir.count_nodes`` counts them after sympy's canonical form), 1 to 16 inputs, constants with 2 to
4 significant digits, some powers of two, small integers, tiny values and full-precision fitted values,
math functions as hls4ml lookup tables (``sin_lut``) or as native functions, one to five outputs that
sometimes share subexpressions. Each text is validated by ``Design.build`` (``Expression.parse``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from hls_gen import Design, ExpressionError, LutSpec, Precision
from hls_gen.ir import count_nodes
from hls_gen.operators import LUT_FUNCTIONS, get_operator

GENERATOR_VERSION = 1

# (width, integer) pairs, weighted toward what hls4ml SR designs use
_PRECISIONS = tuple((w, i) for w in range(8, 25) for i in range(3, 11) if i <= w - 3)


@dataclass(frozen=True)
class GeneratorConfig:
    """What the random designs look like. The defaults are the reference training distribution."""

    min_nodes: int = 1
    max_nodes: int = 40
    max_inputs: int = 16
    max_outputs: int = 5
    p_multi_output: float = 0.3
    p_share: float = 0.35  # a later output reuses a subexpression of an earlier one
    p_lut: float = 0.45  # a math function with a LUT variant is written as <fn>_lut
    p_custom_lut: float = 0.3  # a used LUT gets a non-default table size or range
    p_unary: float = 0.22  # an internal node is a unary operator
    p_const_leaf: float = 0.3
    p_scaled_var: float = 0.25  # a variable leaf is written c*x, as operon's weighted leaves
    p_default_precision: float = 0.3  # ap_fixed<16,6>
    p_other_clock: float = 0.2
    p_saturate: float = 0.08
    p_round: float = 0.08
    clocks_ns: tuple[float, ...] = (2.5, 3.0, 4.0, 10.0)
    # binary operators and weights (PySR's usual + - * /)
    binary: tuple[tuple[str, float], ...] = (('+', 0.34), ('-', 0.16), ('*', 0.36), ('/', 0.14))
    # unary operators and weights; LUT variants are chosen by p_lut
    unary: tuple[tuple[str, float], ...] = field(default=(
        ('sin', 0.13), ('cos', 0.09), ('exp', 0.1), ('log', 0.06), ('log_abs', 0.04), ('sqrt', 0.04),
        ('sqrt_abs', 0.03), ('square', 0.14), ('cube', 0.05), ('tanh', 0.05), ('abs', 0.05), ('inv', 0.04),
        ('neg', 0.04), ('sinh', 0.02), ('cosh', 0.02), ('tan', 0.02), ('pow_abs', 0.03),
    ))

    def __post_init__(self) -> None:
        for name, _ in (*self.binary, *self.unary):
            get_operator(name)  # every name is in the one operator table
        if not 1 <= self.min_nodes <= self.max_nodes:
            raise ValueError('need 1 <= min_nodes <= max_nodes')


DEFAULT_CONFIG = GeneratorConfig()


# -- constants ------------------------------------------------------------------------------------------

def random_constant(rng: np.random.Generator) -> float:
    """A constant as SR fits them: mostly 2-4 significant digits, some powers of two, small integers,
    tiny values that quantize to zero at low precision, and full-precision fitted values."""
    kind = rng.choice(5, p=[0.42, 0.14, 0.14, 0.1, 0.2])
    sign = -1.0 if rng.random() < 0.35 else 1.0
    if kind == 0:
        digits = int(rng.integers(2, 5))
        mantissa = rng.uniform(1.0, 10.0)
        exponent = int(rng.choice([-2, -1, -1, 0, 0, 0, 1]))
        return sign * float(f'{mantissa * 10.0**exponent:.{digits}g}')
    if kind == 1:
        return sign * 2.0 ** int(rng.integers(-4, 4))
    if kind == 2:
        return sign * float(rng.integers(2, 6))
    if kind == 3:
        return sign * float(f'{rng.uniform(1e-3, 1.2e-2):.2g}')
    return sign * float(rng.uniform(0.01, 5.0))


def _fmt(c: float) -> str:
    text = repr(float(c))
    return f'({text})' if c < 0 else text


# -- trees ----------------------------------------------------------------------------------------------

class _Tree:
    """Grows one expression text with about ``budget`` operator-table nodes."""

    def __init__(self, rng: np.random.Generator, cfg: GeneratorConfig, n_inputs: int, luts: set[str],
                 shared: list[str]):
        self.rng, self.cfg, self.n_inputs, self.luts, self.shared = rng, cfg, n_inputs, luts, shared
        self.vars = rng.permutation(n_inputs)[: max(1, int(rng.integers(1, n_inputs + 1)))]
        self.bin_names = [b for b, _ in cfg.binary]
        self.bin_p = _normalized([w for _, w in cfg.binary])
        self.un_names = [u for u, _ in cfg.unary]
        self.un_p = _normalized([w for _, w in cfg.unary])
        self.subtrees: list[str] = []

    def leaf(self) -> str:
        rng, cfg = self.rng, self.cfg
        if self.shared and rng.random() < cfg.p_share * 0.5:
            return self.shared[int(rng.integers(len(self.shared)))]
        if rng.random() < cfg.p_const_leaf:
            return _fmt(random_constant(rng))
        x = f'x{int(self.vars[int(rng.integers(len(self.vars)))])}'
        if rng.random() < cfg.p_scaled_var:
            return f'{_fmt(random_constant(rng))}*{x}'
        return x

    def grow(self, budget: int) -> str:
        rng, cfg = self.rng, self.cfg
        if budget <= 1:
            text = self.leaf()
        elif budget == 2 or rng.random() < cfg.p_unary:
            arg = self.grow(budget - 1)
            if _is_number(arg):  # SR rarely keeps a function of a constant: it folds into the constant
                arg = f'x{int(self.vars[int(rng.integers(len(self.vars)))])}'
            text = self.unary(self.un_names[rng.choice(len(self.un_names), p=self.un_p)], arg)
        else:
            op = self.bin_names[rng.choice(len(self.bin_names), p=self.bin_p)]
            left = int(rng.integers(1, budget - 1)) if budget > 2 else 1
            a, b = self.grow(left), self.grow(budget - 1 - left)
            if op == '/' and _is_number(b):
                op = '*'
            text = f'({a} {op} {b})'
        if budget > 1:
            self.subtrees.append(text)
        return text

    def unary(self, name: str, arg: str) -> str:
        rng = self.rng
        op = get_operator(name)
        if op.lut_name is not None and rng.random() < self.cfg.p_lut:
            self.luts.add(op.lut_name)
            return f'{op.lut_name}({arg})'
        if name == 'pow_abs':
            return f'pow_abs({arg}, {float(rng.choice([0.5, 1.5, 2.5, 0.75, 1.25, 3.0]))!r})'
        return f'{name}({arg})'


def _is_number(text: str) -> bool:
    try:
        float(text.strip('()'))
        return True
    except ValueError:
        return False


def _normalized(w: list[float]) -> np.ndarray:
    a = np.asarray(w, dtype=np.float64)
    return a / a.sum()


def _precision(rng: np.random.Generator, cfg: GeneratorConfig) -> str:
    if rng.random() < cfg.p_default_precision:
        w, i = 16, 6
    else:
        w, i = _PRECISIONS[int(rng.integers(len(_PRECISIONS)))]
    modes = []
    rnd = rng.random() < cfg.p_round
    sat = rng.random() < cfg.p_saturate
    if rnd or sat:
        modes = [',AP_RND' if rnd else ',AP_TRN', ',AP_SAT' if sat else ',AP_WRAP']
    return f'ap_fixed<{w},{i}{"".join(modes)}>'


def _lut_spec(rng: np.random.Generator, lut_name: str, cfg: GeneratorConfig, prec: Precision) -> LutSpec:
    """hls4ml's default spec, or another table size or range; the range always fits ``prec`` (hls4ml computes
    ``end - start`` in the table's type, so a wider span wraps)."""
    fn = LUT_FUNCTIONS[lut_name].name
    start, end = LUT_FUNCTIONS[lut_name].lut_range
    size = 1024
    if rng.random() < cfg.p_custom_lut:
        size = int(rng.choice([64, 256, 512, 1024, 2048, 4096]))
        scale = float(rng.choice([0.5, 1.0, 1.0, 2.0]))
        start, end = start * scale, end * scale
    while end - start > prec.max_value or start < prec.min_value:
        start, end = start / 2, end / 2
    return LutSpec(fn, size, start, end)


def generate_design(seed: int, index: int, config: GeneratorConfig = DEFAULT_CONFIG, max_tries: int = 200) -> Design:
    """Design number ``index`` of the stream ``seed``: deterministic, independent of other indices."""
    rng = np.random.default_rng([GENERATOR_VERSION, int(seed), int(index)])
    cfg = config
    for _ in range(max_tries):
        n_inputs = int(rng.integers(1, cfg.max_inputs + 1))
        n_out = 1
        if cfg.max_outputs > 1 and rng.random() < cfg.p_multi_output:
            n_out = int(rng.integers(2, cfg.max_outputs + 1))
        luts: set[str] = set()
        shared: list[str] = []
        texts = []
        for _o in range(n_out):
            budget = int(rng.integers(cfg.min_nodes, cfg.max_nodes + 1))
            tree = _Tree(rng, cfg, n_inputs, luts, shared if rng.random() < cfg.p_share else [])
            texts.append(tree.grow(max(1, int(budget * 0.8))))
            shared.extend(t for t in tree.subtrees if len(t) < 120)
        precision = _precision(rng, cfg)
        specs = [_lut_spec(rng, name, cfg, Precision.parse(precision)) for name in sorted(luts)]
        clock = float(rng.choice(cfg.clocks_ns)) if rng.random() < cfg.p_other_clock else 5.0
        try:
            design = Design.build(texts, precision, specs, n_inputs=n_inputs, clock_period_ns=clock)
        except ExpressionError:
            continue
        try:  # sympy may rewrite a valid text into a node the IR does not take (abs(exp(x)) -> exp(re(x)))
            sizes = [count_nodes(e.sympy_expr) for e in design.outputs]
        except ExpressionError:
            continue
        if all(cfg.min_nodes <= s <= cfg.max_nodes for s in sizes) and all(e.variables for e in design.outputs):
            return design
    raise RuntimeError(f'no valid design after {max_tries} tries (seed {seed}, index {index}); loosen the config')


def iter_designs(n: int, seed: int = 0, config: GeneratorConfig = DEFAULT_CONFIG, start: int = 0) -> Iterator[Design]:
    for i in range(start, start + n):
        yield generate_design(seed, i, config)


def generate_designs(n: int, seed: int = 0, config: GeneratorConfig = DEFAULT_CONFIG, start: int = 0) -> list[Design]:
    """``n`` random SR-shaped designs, indices ``start .. start+n-1`` of the stream ``seed``."""
    return list(iter_designs(n, seed, config, start))


__all__ = ['DEFAULT_CONFIG', 'GENERATOR_VERSION', 'GeneratorConfig', 'generate_design', 'generate_designs',
           'iter_designs', 'random_constant']
