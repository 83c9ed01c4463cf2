"""The 16 jet features and the mMDT grooming: hand-made constituent sets with values worked out by hand,
an independent brute-force formula, symmetries, and fjcontrib itself (EnergyCorrelator, SoftDrop with
beta = 0 = mMDT) through the fastjet package's bindings."""

import itertools
import math

import numpy as np
import pytest

from sr_search.data import JET_FEATURES
from sr_search.jets.features import FEATURES, ecf_sums, ecf_sums_reference, jet_features, substructure
from sr_search.jets.grooming import ca_tree, mmdt


def massless(pt, y, phi):
    """(px, py, pz, E) rows of massless particles at rapidity y, azimuth phi."""
    pt, y, phi = (np.atleast_1d(np.asarray(a, dtype=np.float64)) for a in (pt, y, phi))
    return np.column_stack([pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(y), pt * np.cosh(y)])


def feats(p):
    return dict(zip(FEATURES, jet_features(p)))


def pair_mass(pt1, pt2, dy, dphi):
    return math.sqrt(2 * pt1 * pt2 * (math.cosh(dy) - math.cos(dphi)))


def test_feature_names_are_the_openml_schema():
    assert FEATURES == JET_FEATURES


def test_two_prong_jet_by_hand():
    p = massless([300.0, 100.0], [0.5, 0.5], [1.0, 1.3])  # dR = 0.3, z = 3/4, 1/4
    f = feats(p)
    zz = 0.75 * 0.25
    assert f['c1_b0_mmdt'] == pytest.approx(zz, rel=1e-12)
    assert f['c1_b1_mmdt'] == pytest.approx(zz * 0.3, rel=1e-12)
    assert f['c1_b2_mmdt'] == pytest.approx(zz * 0.09, rel=1e-12)
    for name in ('c2_b1_mmdt', 'c2_b2_mmdt', 'd2_b1_mmdt', 'd2_b2_mmdt', 'm2_b1_mmdt', 'n2_b2_mmdt', 'd2_a1_b2_mmdt'):
        assert f[name] == 0.0  # no triple: e3 = 0
    assert f['zlogz'] == pytest.approx(0.75 * math.log(0.75) + 0.25 * math.log(0.25), rel=1e-12)
    assert f['mass_mmdt'] == pytest.approx(pair_mass(300, 100, 0, 0.3), rel=1e-9)  # z = 0.25 > 0.1: both kept
    assert f['multiplicity'] == 2


def test_three_prong_jet_by_hand():
    # a 3-4-5 triangle in (y, phi): dR12 = 0.3, dR13 = 0.4, dR23 = 0.5; z = 1/6, 1/3, 1/2
    p = massless([100.0, 200.0, 300.0], [0.0, 0.3, 0.0], [2.0, 2.0, 2.4])
    z1, z2, z3 = 1 / 6, 1 / 3, 1 / 2
    r12, r13, r23 = 0.3, 0.4, 0.5
    e2 = {b: z1 * z2 * r12**b + z1 * z3 * r13**b + z2 * z3 * r23**b for b in (0, 1, 2)}
    zzz = z1 * z2 * z3
    e3 = {b: zzz * (r12 * r13 * r23) ** b for b in (1, 2)}
    e3v1 = {b: zzz * r12**b for b in (1, 2)}  # the smallest angle
    e3v2 = {b: zzz * (r12 * r13) ** b for b in (1, 2)}  # the two smallest
    want = {
        'c1_b0_mmdt': e2[0], 'c1_b1_mmdt': e2[1], 'c1_b2_mmdt': e2[2],
        'c2_b1_mmdt': e3[1] / e2[1] ** 2, 'c2_b2_mmdt': e3[2] / e2[2] ** 2,
        'd2_b1_mmdt': e3[1] / e2[1] ** 3, 'd2_b2_mmdt': e3[2] / e2[2] ** 3,
        'd2_a1_b1_mmdt': e3[1] / e2[1] ** 3, 'd2_a1_b2_mmdt': e3[1] / e2[2] ** 1.5,
        'm2_b1_mmdt': e3v1[1] / e2[1], 'm2_b2_mmdt': e3v1[2] / e2[2],
        'n2_b1_mmdt': e3v2[1] / e2[1] ** 2, 'n2_b2_mmdt': e3v2[2] / e2[2] ** 2,
        'zlogz': sum(z * math.log(z) for z in (z1, z2, z3)), 'multiplicity': 3,
    }
    got = feats(p)
    for name, value in want.items():
        assert got[name] == pytest.approx(value, rel=1e-12), name
    total = p.sum(axis=0)
    assert got['mass_mmdt'] == pytest.approx(math.sqrt(total[3] ** 2 - total[:3] @ total[:3]), rel=1e-9)


def test_mmdt_drops_a_soft_wide_branch_and_keeps_the_symmetric_core():
    # C/A merges A and B (dR 0.2) first, then C (dR ~0.7): z_C = 50/950 < 0.1 is dropped, z_B = 400/900 is kept
    p = massless([500.0, 400.0, 50.0], [0.0, 0.0, 0.0], [0.0, 0.2, 0.7])
    g = mmdt(p)
    assert g.keep.tolist() == [True, True, False]
    f = feats(p)
    assert f['mass_mmdt'] == pytest.approx(pair_mass(500, 400, 0, 0.2), rel=1e-9)
    assert f['c1_b0_mmdt'] == pytest.approx(5 / 9 * 4 / 9, rel=1e-12)  # z over the groomed pair
    assert f['multiplicity'] == 3  # the ungroomed jet
    zs = np.array([500, 400, 50]) / 950
    assert f['zlogz'] == pytest.approx(float(np.sum(zs * np.log(zs))), rel=1e-12)


def test_a_jet_groomed_to_one_constituent_has_zero_correlators():
    p = massless([900.0, 50.0], [0.0, 0.0], [0.0, 0.3])  # z = 50/950 < 0.1 at the only splitting
    g = mmdt(p)
    assert g.n_constituents == 1 and g.keep[0]
    f = feats(p)
    assert f['mass_mmdt'] == pytest.approx(0.0, abs=1e-6)  # one massless particle
    for name in FEATURES[1:14]:
        assert f[name] == 0.0, name  # e2 = 0: the 0/0 ratios are defined as 0
    assert f['multiplicity'] == 2


def brute_force(p):
    """Every normalized sum straight from the formulas, with its own kinematics (no srcost code)."""
    px, py, pz, e = p.T
    pt = np.hypot(px, py)
    y = 0.5 * np.log((e + pz) / (e - pz))
    phi = np.arctan2(py, px)
    z = pt / pt.sum()
    dphi = np.abs(phi[:, None] - phi[None, :])
    dphi = np.minimum(dphi, 2 * np.pi - dphi)
    r = np.sqrt((y[:, None] - y[None, :]) ** 2 + dphi**2)
    out = {f'e2_b{b}': sum(z[i] * z[j] * r[i, j] ** b for i, j in itertools.combinations(range(len(z)), 2)) for b in (0, 1, 2)}
    for b in (1, 2):
        trip = list(itertools.combinations(range(len(z)), 3))
        angles = [np.sort([r[i, j], r[i, k], r[j, k]]) for i, j, k in trip]
        w = [z[i] * z[j] * z[k] for i, j, k in trip]
        out[f'e3_b{b}'] = sum(wt * np.prod(a) ** b for wt, a in zip(w, angles))
        out[f'e3v1_b{b}'] = sum(wt * a[0] ** b for wt, a in zip(w, angles))
        out[f'e3v2_b{b}'] = sum(wt * (a[0] * a[1]) ** b for wt, a in zip(w, angles))
    return out


def random_jet(rng, n, prongs=3, massive=False):
    centres = rng.normal(0, 0.25, (prongs, 2))
    k = rng.integers(0, prongs, n)
    y = centres[k, 0] + rng.normal(0, 0.05, n)
    phi = 1.0 + centres[k, 1] + rng.normal(0, 0.05, n)
    pt = rng.exponential(20.0, n) + 0.1
    soft = rng.random(n) < 0.3  # soft wide-angle radiation: what the grooming removes
    y[soft] = rng.uniform(-0.7, 0.7, soft.sum())
    phi[soft] = 1.0 + rng.uniform(-0.7, 0.7, soft.sum())
    pt[soft] = rng.exponential(1.0, soft.sum()) + 0.05
    p = massless(pt, y, phi)
    if massive:  # pions: E^2 = p^2 + m^2
        p[:, 3] = np.sqrt(p[:, 3] ** 2 + 0.1396**2)
    return p


@pytest.mark.parametrize('n', [3, 7, 15])
def test_compiled_sums_equal_a_brute_force_formula(n):
    rng = np.random.default_rng(n)
    p = random_jet(rng, n, massive=True)
    got = ecf_sums(p)
    ref = brute_force(p)
    for name, value in ref.items():
        assert getattr(got, name) == pytest.approx(value, rel=1e-12), name
    readable = ecf_sums_reference(p)
    for name in ref:
        assert getattr(readable, name) == pytest.approx(getattr(got, name), rel=1e-12)
    z = np.hypot(p[:, 0], p[:, 1]) / np.hypot(p[:, 0], p[:, 1]).sum()
    assert got.e2_b0 == pytest.approx((1 - np.sum(z**2)) / 2, rel=1e-12)  # sum_{i<j} z_i z_j


def test_features_are_invariant_under_boosts_rotations_and_scaling():
    rng = np.random.default_rng(7)
    pt, y, phi = rng.exponential(30, 40) + 1, rng.normal(0, 0.2, 40), rng.normal(0, 0.2, 40)
    base = jet_features(massless(pt, y, phi))
    boosted = jet_features(massless(pt, y + 1.3, phi - 2.0))  # a longitudinal boost and a rotation about the beam
    np.testing.assert_allclose(boosted, base, rtol=1e-9)
    scaled = jet_features(massless(3.0 * pt, y, phi))
    mass = FEATURES.index('mass_mmdt')
    np.testing.assert_allclose(np.delete(scaled, mass), np.delete(base, mass), rtol=1e-9)
    assert scaled[mass] == pytest.approx(3.0 * base[mass], rel=1e-9)
    wrapped = jet_features(massless(pt, y, phi + np.pi))  # phi across the 2 pi seam (values near pi +- 0.2)
    np.testing.assert_allclose(wrapped, base, rtol=1e-9)


def test_ca_tree_merges_the_closest_pair_first_and_ends_with_the_whole_jet():
    p = massless([10.0, 20.0, 30.0, 40.0], [0.0, 0.05, 0.5, 0.52], [0.0, 0.0, 0.0, 0.0])
    mom, parents = ca_tree(p)
    assert sorted(parents[4]) == [2, 3]  # dR 0.02
    assert sorted(parents[5]) == [0, 1]  # dR 0.05
    assert sorted(parents[6]) == [4, 5]
    np.testing.assert_allclose(mom[-1], p.sum(axis=0), rtol=1e-12)


# -- fjcontrib itself, through the fastjet package ---------------------------------------------------
def _fastjet_events(jets):
    ak = pytest.importorskip('awkward')
    return ak.zip({
        'px': ak.Array([j[:, 0] for j in jets]), 'py': ak.Array([j[:, 1] for j in jets]),
        'pz': ak.Array([j[:, 2] for j in jets]), 'E': ak.Array([j[:, 3] for j in jets]),
    })


FJCONTRIB = {
    'c1_b0_mmdt': dict(func='c1', beta=0), 'c1_b1_mmdt': dict(func='c1', beta=1), 'c1_b2_mmdt': dict(func='c1', beta=2),
    'c2_b1_mmdt': dict(func='c2', beta=1), 'c2_b2_mmdt': dict(func='c2', beta=2),
    'd2_b1_mmdt': dict(func='d2', beta=1), 'd2_b2_mmdt': dict(func='d2', beta=2),
    'd2_a1_b1_mmdt': dict(func='generalizedd2', alpha=1, beta=1), 'd2_a1_b2_mmdt': dict(func='generalizedd2', alpha=1, beta=2),
    'm2_b1_mmdt': dict(func='m2', beta=1), 'm2_b2_mmdt': dict(func='m2', beta=2),
    'n2_b1_mmdt': dict(func='n2', beta=1), 'n2_b2_mmdt': dict(func='n2', beta=2),
}


def test_grooming_and_correlators_equal_fjcontrib():
    fastjet = pytest.importorskip('fastjet')
    ak = pytest.importorskip('awkward')
    rng = np.random.default_rng(11)
    jets = [random_jet(rng, n, prongs, massive=True) for n, prongs in ((12, 1), (40, 2), (60, 3), (90, 3), (25, 2))]
    ca = fastjet.JetDefinition(fastjet.cambridge_algorithm, 1000.0)
    soft_drop = fastjet.ClusterSequence(_fastjet_events(jets), ca).exclusive_jets_softdrop_grooming(
        njets=1, beta=0, symmetry_cut=0.1, R0=0.8)
    ours = np.array([jet_features(j) for j in jets])
    np.testing.assert_allclose(ours[:, FEATURES.index('mass_mmdt')], ak.to_numpy(soft_drop.msoftdrop), rtol=1e-9)
    groomed = [mmdt(j) for j in jets]
    assert [g.n_constituents for g in groomed] == ak.num(soft_drop.constituents).tolist()
    assert any(g.n_constituents < len(j) for g, j in zip(groomed, jets))  # the grooming did drop something
    kept = [j[g.keep] for g, j in zip(groomed, jets)]
    cs = fastjet.ClusterSequence(_fastjet_events(kept), ca)
    for name, kw in FJCONTRIB.items():
        ref = ak.to_numpy(cs.exclusive_jets_energy_correlator(njets=1, **kw))
        np.testing.assert_allclose(ours[:, FEATURES.index(name)], ref, rtol=1e-10, err_msg=name)
    assert substructure(ecf_sums(kept[0])).keys() == FJCONTRIB.keys()
