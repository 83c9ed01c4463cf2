"""Four-momentum helpers with FastJet's conventions (``fastjet::PseudoJet``): rapidity and azimuth of
(px, py, pz, E), the squared (rapidity, azimuth) distance, the transverse momentum and the mass.

Compiled with numba: the grooming and the energy correlators call them in their inner loops.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

TWO_PI = 2.0 * math.pi
MAX_RAP = 1e5  # FastJet's MaxRap for a particle along the beam


@njit(cache=True)
def rap_phi(px: float, py: float, pz: float, e: float) -> tuple[float, float]:
    """``PseudoJet::rap()`` and ``phi()`` (phi in [0, 2 pi)); a massless particle along the beam gets +-MAX_RAP."""
    pt2 = px * px + py * py
    phi = 0.0 if pt2 == 0.0 else math.atan2(py, px)
    if phi < 0.0:
        phi += TWO_PI
    if phi >= TWO_PI:
        phi -= TWO_PI
    if e == abs(pz) and pt2 == 0.0:
        rap = MAX_RAP + abs(pz)
        return (-rap if pz < 0.0 else rap), phi
    m2 = max(0.0, (e + pz) * (e - pz) - pt2)
    e_plus_pz = e + abs(pz)
    rap = 0.5 * math.log((pt2 + m2) / (e_plus_pz * e_plus_pz))
    if pz > 0.0:
        rap = -rap
    return rap, phi


@njit(cache=True)
def delta_r2(y1: float, phi1: float, y2: float, phi2: float) -> float:
    """``PseudoJet::squared_distance``: (y1 - y2)^2 + (phi1 - phi2)^2 with the azimuth difference folded into [0, pi]."""
    dphi = abs(phi1 - phi2)
    if dphi > math.pi:
        dphi = TWO_PI - dphi
    dy = y1 - y2
    return dy * dy + dphi * dphi


@njit(cache=True)
def rap_phi_arrays(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rapidities and azimuths of the rows (px, py, pz, E) of ``p``."""
    n = p.shape[0]
    y = np.empty(n)
    phi = np.empty(n)
    for i in range(n):
        y[i], phi[i] = rap_phi(p[i, 0], p[i, 1], p[i, 2], p[i, 3])
    return y, phi


def pt(p: np.ndarray) -> np.ndarray:
    """Transverse momenta of the rows (px, py, pz, E) of ``p``."""
    p = np.asarray(p, dtype=np.float64)
    return np.hypot(p[..., 0], p[..., 1])


def mass(p: np.ndarray) -> np.ndarray:
    """Invariant masses of (px, py, pz, E) rows; a negative squared mass (rounding) counts as 0."""
    p = np.asarray(p, dtype=np.float64)
    m2 = p[..., 3] ** 2 - p[..., 0] ** 2 - p[..., 1] ** 2 - p[..., 2] ** 2
    return np.sqrt(np.maximum(m2, 0.0))


def pseudorapidity(p: np.ndarray) -> np.ndarray:
    """Pseudorapidities eta = asinh(pz / pt) of (px, py, pz, E) rows (FastJet's ``PseudoJet::eta``)."""
    p = np.asarray(p, dtype=np.float64)
    with np.errstate(divide='ignore'):
        return np.arcsinh(p[..., 2] / pt(p))
