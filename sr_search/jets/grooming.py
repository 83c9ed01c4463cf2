"""Modified mass-drop grooming (mMDT) of a jet: Cambridge/Aachen reclustering of its constituents, then
declustering from the top, dropping the softer branch until a splitting is symmetric enough.

Definitions (fjcontrib RecursiveTools 2.0, ``ModifiedMassDropTagger`` / ``RecursiveSymmetryCutBase``;
Dasgupta, Fregoso, Marzani and Salam, arXiv:1307.0007):

- reclustering: C/A, i.e. repeatedly merge the pair closest in dR^2 = dy^2 + dphi^2 (rapidity, azimuth)
  into one (E-scheme: four-momenta add) until one object is left, recording the merge tree;
- declustering: at a node with parents j1, j2 the symmetry is ``z = min(pt1, pt2) / (pt1 + pt2)``
  (``scalar_z``); if ``z > z_cut`` the node is the groomed jet, else recurse into the parent with the
  larger pt (``larger_pt``); no mass-drop condition (mu = infinity, the contrib's default).
- a jet with no splitting passing the cut ends at a single constituent, which is returned (the contrib's
  *grooming* mode, what ``SoftDrop(beta=0, z_cut)`` does; the tagger mode would return an empty jet).

Compiled with numba; :func:`mmdt` is the entry point. ``tests/test_jets_features.py`` checks it against
fjcontrib's own SoftDrop(beta=0) through the ``fastjet`` package on generated jets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from .kinematics import delta_r2, rap_phi

Z_CUT = 0.1


@njit(cache=True)
def _nearest(k: int, alive: np.ndarray, y: np.ndarray, phi: np.ndarray, n: int) -> tuple[int, float]:
    best, best_d = -1, np.inf
    for j in range(n):
        if j != k and alive[j]:
            d = delta_r2(y[k], phi[k], y[j], phi[j])
            if d < best_d:
                best, best_d = j, d
    return best, best_d


@njit(cache=True)
def ca_tree(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The C/A merge tree of constituents ``p`` (n, 4) = (px, py, pz, E).

    Returns ``(mom, parents)``: ``mom`` (2n - 1, 4) four-momenta of the n leaves then of the merged nodes in
    merge order (the last row is the whole jet); ``parents`` (2n - 1, 2) the two nodes each merged node came
    from (-1 for leaves). Nearest-neighbour bookkeeping keeps it O(n^2) for typical jets.
    """
    n = p.shape[0]
    size = max(2 * n - 1, 0)
    mom = np.zeros((size, 4))
    parents = np.full((size, 2), -1, dtype=np.int64)
    if n == 0:
        return mom, parents
    mom[:n] = p
    # slots 0..n-1 hold the live objects; node[k] is the tree node a slot holds
    node = np.arange(n)
    y = np.empty(n)
    phi = np.empty(n)
    slot_p = p.copy()
    alive = np.ones(n, dtype=np.bool_)
    for k in range(n):
        y[k], phi[k] = rap_phi(p[k, 0], p[k, 1], p[k, 2], p[k, 3])
    nn = np.full(n, -1, dtype=np.int64)
    nn_d = np.full(n, np.inf)
    for k in range(n):
        nn[k], nn_d[k] = _nearest(k, alive, y, phi, n)
    nxt = n
    for _ in range(n - 1):
        a, best = -1, np.inf
        for k in range(n):
            if alive[k] and nn_d[k] < best:
                a, best = k, nn_d[k]
        b = nn[a]
        if a > b:
            a, b = b, a
        # merge b into slot a
        for c in range(4):
            slot_p[a, c] += slot_p[b, c]
            mom[nxt, c] = slot_p[a, c]
        parents[nxt, 0] = node[a]
        parents[nxt, 1] = node[b]
        node[a] = nxt
        nxt += 1
        alive[b] = False
        y[a], phi[a] = rap_phi(slot_p[a, 0], slot_p[a, 1], slot_p[a, 2], slot_p[a, 3])
        nn[a], nn_d[a] = _nearest(a, alive, y, phi, n)
        for k in range(n):
            if not alive[k] or k == a:
                continue
            if nn[k] == a or nn[k] == b:
                nn[k], nn_d[k] = _nearest(k, alive, y, phi, n)
            else:
                d = delta_r2(y[k], phi[k], y[a], phi[a])
                if d < nn_d[k]:
                    nn[k], nn_d[k] = a, d
    return mom, parents


@njit(cache=True)
def _pt2(v: np.ndarray) -> float:
    return v[0] * v[0] + v[1] * v[1]


@njit(cache=True)
def mmdt_node(mom: np.ndarray, parents: np.ndarray, z_cut: float) -> int:
    """The groomed node of a C/A tree (see the module docstring); -1 for an empty tree."""
    if mom.shape[0] == 0:
        return -1
    j = mom.shape[0] - 1
    while parents[j, 0] >= 0:
        a, b = parents[j, 0], parents[j, 1]
        pt_a, pt_b = np.sqrt(_pt2(mom[a])), np.sqrt(_pt2(mom[b]))
        total = pt_a + pt_b
        if total == 0.0:
            return j
        if min(pt_a, pt_b) / total > z_cut:
            return j
        j = b if _pt2(mom[a]) < _pt2(mom[b]) else a
    return j


@njit(cache=True)
def leaves_under(parents: np.ndarray, top: int, n_leaves: int) -> np.ndarray:
    """Boolean mask of the leaves (constituents) below node ``top``."""
    mask = np.zeros(n_leaves, dtype=np.bool_)
    if top < 0:
        return mask
    stack = np.empty(parents.shape[0], dtype=np.int64)
    stack[0] = top
    depth = 1
    while depth > 0:
        depth -= 1
        j = stack[depth]
        if parents[j, 0] < 0:
            mask[j] = True
        else:
            stack[depth] = parents[j, 0]
            stack[depth + 1] = parents[j, 1]
            depth += 2
    return mask


@dataclass(frozen=True)
class Groomed:
    """An mMDT-groomed jet: which constituents it kept and its four-momentum (their sum)."""

    keep: np.ndarray  # bool mask over the input constituents
    p: np.ndarray  # (px, py, pz, E)

    @property
    def mass(self) -> float:
        m2 = self.p[3] ** 2 - self.p[0] ** 2 - self.p[1] ** 2 - self.p[2] ** 2
        return float(np.sqrt(max(m2, 0.0)))

    @property
    def n_constituents(self) -> int:
        return int(self.keep.sum())


def mmdt(constituents: np.ndarray, z_cut: float = Z_CUT) -> Groomed:
    """mMDT-groom a jet given by its constituents (n, 4) = (px, py, pz, E), E-scheme, C/A reclustering."""
    p = np.ascontiguousarray(constituents, dtype=np.float64).reshape(-1, 4)
    if not 0.0 <= z_cut < 0.5:
        raise ValueError(f'z_cut must be in [0, 0.5), got {z_cut}')
    mom, parents = ca_tree(p)
    top = mmdt_node(mom, parents, float(z_cut))
    keep = leaves_under(parents, top, p.shape[0])
    return Groomed(keep, mom[top].copy() if top >= 0 else np.zeros(4))
