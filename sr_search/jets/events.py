"""Pythia 8 events for each jet class, anti-kT jets from FastJet, and their truth labels.

- processes (13 TeV pp):
  ``q``: QCD 2 -> 2 with outgoing quarks (``HardQCD:qq2qq``, ``qqbar2qqbarNew``, ``gg2qqbar``, ``qg2qg``);
  ``g``: QCD 2 -> 2 with outgoing gluons (``HardQCD:gg2gg``, ``qg2qg``, ``qqbar2gg``);
  ``t``: top pairs (``Top:gg2ttbar``, ``qqbar2ttbar``), both W -> q q' (all-hadronic);
  with the hard process's pTHat in a window around 1 TeV;
  ``w``, ``z``: boson pairs from a heavy scalar (Pythia's ``HiggsSM:gg2H`` with the mass set to 2 TeV and a
  1% width) decaying to W+ W- or Z Z, W -> q q', Z -> q qbar (u d s c b): bosons of pt ~ 1 TeV (the decay's
  Jacobian peak) that are longitudinally polarized, as those of heavy-resonance searches are. (W or Z +
  parton production at high pt gives mostly transverse bosons, whose asymmetric decays the grooming turns
  into one-prong jets more often: 27% of decays have a prong below z = 0.1, against 6% for longitudinal.)
  Showers, multiple interactions and hadronization are Pythia's defaults (Monash tune).
- jets: anti-kT, R = 0.8, on all visible final-state particles (neutrinos excluded), E-scheme, with FastJet;
  kept if pt is in the jet window and |eta| below the cut.
- labels: a jet is matched to the closest truth object within dR < R: for ``q``/``g`` an outgoing parton of
  the hard process (light quarks u, d, s for ``q``; c and b quark jets are not used), for ``w``/``z``/``t``
  each boson or top quark of the hard process (its last copy, after recoils, before its decay), whose decay
  quarks (for a top: b and the W's quarks) must also all lie within dR < R of the jet axis (the decay is
  contained in the jet).
  Only jets of the stream's own class are kept.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass

import numpy as np

from .kinematics import delta_r2, pseudorapidity, pt, rap_phi

CLASSES: tuple[str, ...] = ('g', 'q', 't', 'w', 'z')  # OpenML's labels, sorted

PROCESSES: dict[str, tuple[str, ...]] = {
    'q': ('HardQCD:qq2qq = on', 'HardQCD:qqbar2qqbarNew = on', 'HardQCD:gg2qqbar = on', 'HardQCD:qg2qg = on'),
    'g': ('HardQCD:gg2gg = on', 'HardQCD:qg2qg = on', 'HardQCD:qqbar2gg = on'),
    'w': ('HiggsSM:gg2H = on', '25:onMode = off', '25:onIfAny = 24', '24:onMode = off', '24:onIfAny = 1 2 3 4 5'),
    'z': ('HiggsSM:gg2H = on', '25:onMode = off', '25:onIfAny = 23', '23:onMode = off', '23:onIfAny = 1 2 3 4 5'),
    't': ('Top:gg2ttbar = on', 'Top:qqbar2ttbar = on', '24:onMode = off', '24:onIfAny = 1 2 3 4 5'),
}
HARD_PROCESS_STATUS = (-22, -23)  # intermediate and outgoing particles of the hard process
LIGHT_QUARKS = (1, 2, 3)
NEUTRINOS = (12, 14, 16)
RESONANCE_ID = {'w': 24, 'z': 23, 't': 6}


@dataclass(frozen=True)
class Settings:
    """Everything that fixes the generated jets besides the seed and the counts."""

    e_cm_gev: float = 13000.0
    pthat_min_gev: float = 900.0
    pthat_max_gev: float = 1100.0
    jet_r: float = 0.8
    jet_pt_min_gev: float = 800.0
    jet_pt_max_gev: float = 1200.0
    jet_abs_eta_max: float = 2.0
    match_dr: float = 0.8
    boson_parent_mass_gev: float = 2000.0
    boson_parent_width_gev: float = 20.0
    z_cut: float = 0.1
    chunk_jets: int = 1000
    batch_events: int = 50

    def to_dict(self) -> dict:
        return asdict(self)

    def pythia_commands(self, cls: str, seed: int) -> list[str]:
        if cls in ('w', 'z'):
            m, w = self.boson_parent_mass_gev, self.boson_parent_width_gev
            kinematics = [f'25:m0 = {m:g}', f'25:mWidth = {w:g}', '25:doForceWidth = on', f'25:mMin = {m - 10 * w:g}',
                          f'25:mMax = {m + 10 * w:g}']
        else:
            kinematics = [f'PhaseSpace:pTHatMin = {self.pthat_min_gev:g}', f'PhaseSpace:pTHatMax = {self.pthat_max_gev:g}']
        return [
            f'Beams:eCM = {self.e_cm_gev:g}',
            *PROCESSES[cls],
            *kinematics,
            'Random:setSeed = on',
            f'Random:seed = {int(seed)}',
            'Next:numberCount = 0',
            'Print:quiet = on',
        ]


@dataclass(frozen=True)
class Truth:
    """A truth object of one event: the direction a jet is matched to and the quarks it must contain."""

    label: str
    y: float
    phi: float
    contained: tuple[tuple[float, float], ...] = ()  # (y, phi) of decay quarks


@contextmanager
def c_stdout_to_stderr() -> Iterator[None]:
    """Send what C++ libraries print on file descriptor 1 (FastJet's banner) to stderr for a while."""
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no descriptor 1 (embedded interpreters)
        yield
        return
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _daughters(d1: int, d2: int) -> list[int]:
    if d1 > 0 and d2 > d1:
        return list(range(d1, d2 + 1))
    return [d for d in (d1, d2) if d > 0][: 1 if d1 == d2 else 2]


def _yphi(px, py, pz, e) -> tuple[float, float]:
    y, phi = rap_phi(float(px), float(py), float(pz), float(e))
    return float(y), float(phi)


class EventRecord:
    """One event's particle arrays (numpy views of a Pythia batch)."""

    def __init__(self, pid, status, d1, d2, p):
        self.pid, self.status, self.d1, self.d2, self.p = pid, status, d1, d2, p

    def yphi(self, i: int) -> tuple[float, float]:
        return _yphi(*self.p[i])

    def daughters(self, i: int) -> list[int]:
        return _daughters(int(self.d1[i]), int(self.d2[i]))

    def last_copy(self, i: int) -> int:
        """Follow a particle through its copies (recoils, radiation) to the one that decays."""
        while True:
            same = [k for k in self.daughters(i) if self.pid[k] == self.pid[i]]
            if not same:
                return i
            i = same[0]

    def visible(self) -> np.ndarray:
        """Final-state particles other than neutrinos, as (n, 4) = (px, py, pz, E)."""
        keep = (self.status > 0) & ~np.isin(np.abs(self.pid), NEUTRINOS)
        return self.p[keep]

    def truth(self, cls: str) -> list[Truth]:
        if cls in ('q', 'g'):
            out = []
            for i in np.flatnonzero(self.status == -23):
                a = abs(int(self.pid[i]))
                label = 'g' if a == 21 else 'q' if a in LIGHT_QUARKS else ''
                if label == cls:
                    out.append(Truth(cls, *self.yphi(i)))
            return out
        out = []
        hard = np.flatnonzero((np.abs(self.pid) == RESONANCE_ID[cls]) & np.isin(self.status, HARD_PROCESS_STATUS))
        for i in (self.last_copy(int(h)) for h in hard):
            quarks = self._decay_quarks(i, cls)
            if quarks is not None:
                out.append(Truth(cls, *self.yphi(i), tuple(self.yphi(q) for q in quarks)))
        return out

    def _quarks(self, i: int) -> list[int]:
        return [k for k in self.daughters(i) if 1 <= abs(int(self.pid[k])) <= 5]

    def _decay_quarks(self, i: int, cls: str) -> list[int] | None:
        if cls != 't':
            quarks = self._quarks(i)
            return quarks if len(quarks) == 2 else None
        kids = self.daughters(i)
        b = [k for k in kids if abs(int(self.pid[k])) == 5]
        w = [k for k in kids if abs(int(self.pid[k])) == 24]
        if not b or not w:
            return None
        wq = self._quarks(self.last_copy(w[0]))
        return [b[0], *wq] if len(wq) == 2 else None


def batch_records(batch) -> list[EventRecord]:
    """Split a Pythia ``nextBatch`` result (an awkward array) into per-event numpy records."""
    import awkward as ak

    prt = batch.prt
    counts = ak.to_numpy(ak.num(prt.id))
    edges = np.concatenate([[0], np.cumsum(counts)])

    def flat(a):
        return ak.to_numpy(ak.flatten(a))

    pid, status, d1, d2 = (flat(prt[f]) for f in ('id', 'status', 'daughter1', 'daughter2'))
    mom = prt.p
    p = np.column_stack([flat(mom.px), flat(mom.py), flat(mom.pz), flat(mom.e)])
    return [EventRecord(pid[a:b], status[a:b], d1[a:b], d2[a:b], p[a:b]) for a, b in zip(edges[:-1], edges[1:])]


def cluster(events: list[np.ndarray], settings: Settings) -> list[list[np.ndarray]]:
    """Anti-kT jets (FastJet) of each event's visible particles: per event, the constituents (n, 4) of each
    jet in the pt window and |eta| range, hardest first."""
    import awkward as ak
    import fastjet

    arr = ak.Array([{'px': e[:, 0], 'py': e[:, 1], 'pz': e[:, 2], 'E': e[:, 3]} for e in events])
    arr = ak.zip({'px': arr.px, 'py': arr.py, 'pz': arr.pz, 'E': arr.E})
    jet_def = fastjet.JetDefinition(fastjet.antikt_algorithm, settings.jet_r)
    with c_stdout_to_stderr():
        cs = fastjet.ClusterSequence(arr, jet_def)
        cons = cs.constituents(min_pt=settings.jet_pt_min_gev)
    out = []
    for ev in cons:
        jets = []
        for j in ev:
            c = np.column_stack([ak.to_numpy(j.px), ak.to_numpy(j.py), ak.to_numpy(j.pz), ak.to_numpy(j.E)])
            total = c.sum(axis=0)
            jpt = float(pt(total))
            if jpt > settings.jet_pt_max_gev or abs(float(pseudorapidity(total))) >= settings.jet_abs_eta_max:
                continue
            jets.append((jpt, c))
        out.append([c for _, c in sorted(jets, key=lambda t: -t[0])])
    return out


def match(jets: list[np.ndarray], truths: list[Truth], settings: Settings) -> list[np.ndarray]:
    """The jets matched to a truth object (closest within dR < match_dr, each jet used once) whose decay
    quarks, if any, lie within dR < R of the jet axis."""
    axes = [_yphi(*j.sum(axis=0)) for j in jets]
    used: set[int] = set()
    kept = []
    for t in truths:
        best, best_d = -1, settings.match_dr**2
        for k, (y, phi) in enumerate(axes):
            d = float(delta_r2(y, phi, t.y, t.phi))
            if k not in used and d < best_d:
                best, best_d = k, d
        if best < 0:
            continue
        y, phi = axes[best]
        if all(float(delta_r2(y, phi, qy, qphi)) < settings.jet_r**2 for qy, qphi in t.contained):
            used.add(best)
            kept.append(jets[best])
    return kept
