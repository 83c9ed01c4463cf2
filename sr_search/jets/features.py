"""The 16 high-level features of OpenML ``hls4ml_lhc_jets_hlf``, from a jet's constituents.

The set (Duarte et al., arXiv:1804.06913, table 1) takes its substructure variables from the fjcontrib
EnergyCorrelator package (1.3, ``pt_R`` measure: transverse momenta and boost-invariant angles
R_ij^2 = dy^2 + dphi^2), computed on the modified-mass-drop groomed jet (``_mmdt``; z_cut 0.1, beta 0,
:mod:`.grooming`). With z_i = pt_i / sum_k pt_k over the groomed constituents:

- energy correlation functions (Larkoski, Salam and Thaler, arXiv:1305.0007):
  e2^(b) = sum_{i<j} z_i z_j R_ij^b, e3^(b) = sum_{i<j<k} z_i z_j z_k (R_ij R_ik R_jk)^b;
- generalized ECFs (Moult, Necib and Thaler, arXiv:1609.07483, ``EnergyCorrelatorGeneralized``):
  ve3^(b) = sum_{i<j<k} z_i z_j z_k prod_{m=1..v} min^(m){R_ij, R_ik, R_jk}^b, the product of the v
  smallest of the three angles (1e2 = e2, 3e3 = e3);
- ``c1_b<b>`` = C1^(b) = e2^(b) (``EnergyCorrelatorC1``), b = 0, 1, 2;
- ``c2_b<b>`` = C2^(b) = e3^(b) / (e2^(b))^2 (``EnergyCorrelatorC2``);
- ``d2_b<b>`` = D2^(b) = e3^(b) / (e2^(b))^3 (Larkoski, Moult and Neill, arXiv:1409.6298,
  ``EnergyCorrelatorD2``);
- ``d2_a1_b<b>`` = D2^(a, b) = e3^(a) / (e2^(b))^(3a/b) with a = 1 (arXiv:1409.6298 eq. 3.5,
  ``EnergyCorrelatorGeneralizedD2``); D2^(1, 1) equals D2^(1) by definition;
- ``m2_b<b>`` = M2^(b) = 1e3^(b) / 1e2^(b) (``EnergyCorrelatorM2``);
- ``n2_b<b>`` = N2^(b) = 2e3^(b) / (1e2^(b))^2 (``EnergyCorrelatorN2``);
- ``mass_mmdt``: the groomed jet's invariant mass (GeV).

Two features describe the whole (ungroomed) jet: ``zlogz`` = sum_i z_i log z_i with z_i = pt_i / sum_k pt_k
over its constituents, and ``multiplicity``, the number of constituents.

A ratio whose denominator vanishes (a groomed jet of a single constituent: every e2 is 0) is 0/0 in the
contrib; here it is defined as 0, and the jet is kept.

The pair and triple sums are compiled with numba (a groomed top jet has ~60 constituents: ~34,000
triples); :func:`ecf_sums_reference` is the readable sum over ``itertools.combinations`` they are
tested against.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from .grooming import Z_CUT, mmdt
from .kinematics import delta_r2, rap_phi_arrays

FEATURES: tuple[str, ...] = (
    'zlogz', 'c1_b0_mmdt', 'c1_b1_mmdt', 'c1_b2_mmdt', 'c2_b1_mmdt', 'c2_b2_mmdt', 'd2_b1_mmdt',
    'd2_b2_mmdt', 'd2_a1_b1_mmdt', 'd2_a1_b2_mmdt', 'm2_b1_mmdt', 'm2_b2_mmdt', 'n2_b1_mmdt',
    'n2_b2_mmdt', 'mass_mmdt', 'multiplicity',
)


@dataclass(frozen=True)
class EcfSums:
    """Normalized correlator sums of one set of constituents (the notation of the module docstring)."""

    e2_b0: float
    e2_b1: float
    e2_b2: float
    e3_b1: float
    e3_b2: float
    e3v1_b1: float  # 1e3: smallest angle
    e3v1_b2: float
    e3v2_b1: float  # 2e3: product of the two smallest angles
    e3v2_b2: float


@njit(cache=True)
def _ecf_sums(pt: np.ndarray, y: np.ndarray, phi: np.ndarray) -> np.ndarray:
    n = pt.shape[0]
    out = np.zeros(9)
    total = 0.0
    for i in range(n):
        total += pt[i]
    if n < 2 or total <= 0.0:
        return out
    z = pt / total
    r = np.zeros((n, n))  # R_ij (beta = 1); beta = 2 is its square
    for i in range(n):
        for j in range(i + 1, n):
            d = math.sqrt(delta_r2(y[i], phi[i], y[j], phi[j]))
            r[i, j] = d
            r[j, i] = d
            zz = z[i] * z[j]
            out[0] += zz
            out[1] += zz * d
            out[2] += zz * d * d
    for i in range(n):
        for j in range(i + 1, n):
            zij = z[i] * z[j]
            rij = r[i, j]
            for k in range(j + 1, n):
                a, b, c = rij, r[i, k], r[j, k]
                # sort the three angles: lo <= mid <= hi
                lo, mid, hi = a, b, c
                if lo > mid:
                    lo, mid = mid, lo
                if mid > hi:
                    mid, hi = hi, mid
                if lo > mid:
                    lo, mid = mid, lo
                w = zij * z[k]
                full = lo * mid * hi
                two = lo * mid
                out[3] += w * full
                out[4] += w * full * full
                out[5] += w * lo
                out[6] += w * lo * lo
                out[7] += w * two
                out[8] += w * two * two
    return out


def _pt_y_phi(p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    p = np.ascontiguousarray(p, dtype=np.float64).reshape(-1, 4)
    y, phi = rap_phi_arrays(p)
    return np.hypot(p[:, 0], p[:, 1]), y, phi


def ecf_sums(constituents: np.ndarray) -> EcfSums:
    """The correlator sums of constituents (n, 4) = (px, py, pz, E), compiled."""
    pt, y, phi = _pt_y_phi(constituents)
    return EcfSums(*(float(v) for v in _ecf_sums(pt, y, phi)))


def ecf_sums_reference(constituents: np.ndarray) -> EcfSums:
    """The same sums written out over ``itertools.combinations`` (the readable reference)."""
    pt, y, phi = _pt_y_phi(constituents)
    n = len(pt)
    z = pt / pt.sum() if n else pt

    def angle(i, j):
        return math.sqrt(float(delta_r2(y[i], phi[i], y[j], phi[j])))

    e2 = [sum(z[i] * z[j] * angle(i, j) ** b for i, j in itertools.combinations(range(n), 2)) for b in (0, 1, 2)]
    e3 = {}
    for v in (1, 2, 3):
        for b in (1, 2):
            total = 0.0
            for i, j, k in itertools.combinations(range(n), 3):
                smallest = sorted((angle(i, j), angle(i, k), angle(j, k)))[:v]
                total += z[i] * z[j] * z[k] * math.prod(smallest) ** b
            e3[v, b] = total
    return EcfSums(e2[0], e2[1], e2[2], e3[3, 1], e3[3, 2], e3[1, 1], e3[1, 2], e3[2, 1], e3[2, 2])


def _ratio(num: float, den: float) -> float:
    return num / den if den > 0.0 else 0.0


def substructure(s: EcfSums) -> dict[str, float]:
    """The ``_mmdt`` energy-correlation features (mass excluded) from the groomed jet's sums."""
    return {
        'c1_b0_mmdt': s.e2_b0,
        'c1_b1_mmdt': s.e2_b1,
        'c1_b2_mmdt': s.e2_b2,
        'c2_b1_mmdt': _ratio(s.e3_b1, s.e2_b1**2),
        'c2_b2_mmdt': _ratio(s.e3_b2, s.e2_b2**2),
        'd2_b1_mmdt': _ratio(s.e3_b1, s.e2_b1**3),
        'd2_b2_mmdt': _ratio(s.e3_b2, s.e2_b2**3),
        'd2_a1_b1_mmdt': _ratio(s.e3_b1, s.e2_b1 ** (3.0 * 1.0 / 1.0)),
        'd2_a1_b2_mmdt': _ratio(s.e3_b1, s.e2_b2 ** (3.0 * 1.0 / 2.0)),
        'm2_b1_mmdt': _ratio(s.e3v1_b1, s.e2_b1),
        'm2_b2_mmdt': _ratio(s.e3v1_b2, s.e2_b2),
        'n2_b1_mmdt': _ratio(s.e3v2_b1, s.e2_b1**2),
        'n2_b2_mmdt': _ratio(s.e3v2_b2, s.e2_b2**2),
    }


def zlogz(constituents: np.ndarray) -> float:
    """sum_i z_i log z_i, z_i = pt_i / sum_k pt_k (constituents of zero pt contribute 0)."""
    pt = np.hypot(*np.asarray(constituents, dtype=np.float64).reshape(-1, 4)[:, :2].T)
    total = pt.sum()
    if total <= 0.0:
        return 0.0
    z = pt[pt > 0] / total
    return float(np.sum(z * np.log(z)))


def jet_features(constituents: np.ndarray, z_cut: float = Z_CUT) -> np.ndarray:
    """The 16 features (in :data:`FEATURES` order) of one jet given by its constituents (n, 4)."""
    p = np.ascontiguousarray(constituents, dtype=np.float64).reshape(-1, 4)
    if p.shape[0] == 0:
        raise ValueError('a jet needs at least one constituent')
    groomed = mmdt(p, z_cut)
    sub = substructure(ecf_sums(p[groomed.keep]))
    values = {'zlogz': zlogz(p), **sub, 'mass_mmdt': groomed.mass, 'multiplicity': float(p.shape[0])}
    return np.array([values[f] for f in FEATURES])
