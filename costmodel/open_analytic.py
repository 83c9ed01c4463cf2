"""The open backend's analytic model: unit costs (``OpenParams``) times the datapath's bit counts.

``open_analytic_matrix(F, params)`` predicts the targets (columns ``TARGETS``) from the ``dp_`` features of
a feature matrix (rows of ``FEATURES``); ``open_analytic_estimates`` does the same for a feature frame.
``AnalyticModel`` predicts the open backend with them, and the open backend's calibration without a store
(``features.open_default_costs``) is them applied to single-operator designs. Of costmodel this module
imports only ``layout`` and ``targets``, so both ``features`` and ``models`` may import it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .layout import FEATURES
from .targets import TARGETS


def target_frame(P: np.ndarray) -> pd.DataFrame:
    """A prediction matrix (columns ``TARGETS``) as the DataFrame ``predict`` returns."""
    return pd.DataFrame(np.asarray(P, dtype=np.float64), columns=list(TARGETS))


def feature_matrix(X: pd.DataFrame) -> np.ndarray:
    """The ``FEATURES`` columns of a feature frame as a contiguous float matrix."""
    return np.ascontiguousarray(X[list(FEATURES)].to_numpy(np.float64))


_FEATURE_INDEX = {f: i for i, f in enumerate(FEATURES)}
_TARGET_INDEX = {t: j for j, t in enumerate(TARGETS)}


@dataclass
class OpenParams:
    """Backend-level unit costs of the open backend's analytic model (fitted by non-negative least squares
    on a training set by ``AnalyticModel.fit``; the defaults are physical guesses: one LUT per adder bit,
    da4ml's ROM estimate, one flip-flop per register bit)."""

    lut_add: float = 1.0  # LUTs per adder bit (carry-chain adders: one LUT per bit)
    lut_cadd: float = 0.0  # per bit of a constant adder after other logic (one straight on an input costs no LUT)
    lut_mux: float = 1.0  # per bit of an abs / clamp multiplexer
    lut_rom: float = 1.2  # per distinct non-constant 64-entry ROM block (one LUT6)
    lut_rom_group: float = 1.0  # per 256-entry ROM group that needs multiplexing (F7/F8 and the tree above)
    lut_mul_add: float = 0.6  # per bit of the adders that sum a wide multiplier's DSP partial products
    lut_mul_soft: float = 0.5  # per bit product of a multiplier too small for a DSP
    lut_const: float = 0.0
    ff_io: float = 1.0  # per input/output register bit
    ff_reg: float = 1.0  # per pipeline register bit of a chain too short for a shift-register LUT (da4ml stages)
    ff_srl: float = 0.0  # per bit of a shift-register LUT chain (what stays in flip-flops around it)
    ff_reg_balanced: float = 0.0  # per pipeline register bit with the stages balanced (da4ml retiming)
    ff_dsp: float = 0.0  # per DSP (pipeline registers Yosys leaves in fabric)
    ff_const: float = 0.0

    LUT_TERMS = (('lut_add', 'dp_add_bits'), ('lut_cadd', 'dp_cadd_bits'), ('lut_mux', 'dp_mux_bits'), ('lut_rom', 'dp_rom_lut6_trimmed'),
                 ('lut_rom_group', 'dp_rom_groups_trimmed'),
                 ('lut_mul_add', 'dp_mul_add_bits_trimmed'), ('lut_mul_soft', 'dp_mul_area'))
    FF_TERMS = (('ff_io', 'dp_io_bits'), ('ff_reg', 'dp_reg_short_bits'), ('ff_srl', 'dp_reg_srl_bits'),
                ('ff_reg_balanced', 'dp_reg_bits_balanced'), ('ff_dsp', 'dp_mul_dsp_merged'))

    def to_dict(self) -> dict:
        return dict(vars(self))


def feature_column(F: np.ndarray, name: str) -> np.ndarray:
    """Column ``name`` of a feature matrix; ``dp_io_bits`` is the input plus the output register bits that stay
    flip-flops (those inside a shift-register chain are in its LUTs)."""
    if name == 'dp_io_bits':
        return F[:, _FEATURE_INDEX['dp_in_bits']] + F[:, _FEATURE_INDEX['dp_out_bits']] - F[:, _FEATURE_INDEX['dp_io_srl_bits']]
    return F[:, _FEATURE_INDEX[name]]


def open_analytic_matrix(F: np.ndarray, params: OpenParams | None = None) -> np.ndarray:
    """Analytic prediction for the open backend from the ``dp_`` features (``F``: rows of ``FEATURES``),
    as a matrix with columns ``TARGETS``: the stage count of da4ml's pipeline (exact), DSPs as Yosys'
    mul2dsp splits each multiplier and its wreduce passes narrow them (``Datapath._mapped_dsp``; identical
    ones merged), RAMB18s as Yosys maps each block ROM (``fixedpoint.bram18``), LUTs and FFs as unit costs
    times the datapath's bit counts."""
    p = params or OpenParams()
    n = F.shape[0]
    lut = p.lut_const + sum(getattr(p, k) * feature_column(F, c) for k, c in p.LUT_TERMS)
    ff = p.ff_const + sum(getattr(p, k) * feature_column(F, c) for k, c in p.FF_TERMS)
    out = np.empty((n, len(TARGETS)))
    out[:, _TARGET_INDEX['latency_cycles']] = F[:, _FEATURE_INDEX['dp_stages']]
    out[:, _TARGET_INDEX['ii']] = 1.0
    out[:, _TARGET_INDEX['lut']] = np.maximum(lut, 0)
    out[:, _TARGET_INDEX['ff']] = np.maximum(ff, 0)
    out[:, _TARGET_INDEX['dsp']] = F[:, _FEATURE_INDEX['dp_mul_dsp_mapped']]
    out[:, _TARGET_INDEX['bram_18k']] = F[:, _FEATURE_INDEX['dp_block_bram']]
    return out


def open_analytic_estimates(X: pd.DataFrame, params: OpenParams | None = None) -> pd.DataFrame:
    """``open_analytic_matrix`` of a feature frame, as a DataFrame."""
    return target_frame(open_analytic_matrix(feature_matrix(X), params))


__all__ = ['OpenParams', 'feature_column', 'feature_matrix', 'open_analytic_estimates', 'open_analytic_matrix', 'target_frame']
