"""A trained XGBoost regression ensemble evaluated in compiled code, bit for bit as XGBoost's CPU predictor does it.

Why: ``Booster.inplace_predict`` costs about 0.2 ms per call whatever the number of rows (it encodes its
arguments as JSON and sets up a predictor), a large part of the learned model's cost when a search asks for
one expression at a time. The ensemble itself is small (a few hundred trees of depth <= 3), so walking all
trees at once, one depth level per numpy step, is faster for a few rows; XGBoost is faster for large batches,
so the learned model uses this only for small ones (``costmodel.models.SMALL_BATCH``).

Exactness: XGBoost reads the features as float32, sends a row left when ``x < split`` (float32) and a missing
value (NaN) the tree's default way, and adds the leaf values of the trees in order in float32, starting from
the base margin. The same is done here; ``tests/test_costmodel_trees.py`` compares both on every design of the
training set and on perturbed rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TreeEnsemble:
    feature: np.ndarray  # (trees, nodes) int64: split feature (0 at leaves)
    split: np.ndarray  # (trees, nodes) float32: split threshold; the leaf value at leaves
    left: np.ndarray  # (trees, nodes) int64: child when x < split or missing with default left; self at leaves
    right: np.ndarray  # (trees, nodes) int64: the other child; self at leaves
    default_left: np.ndarray  # (trees, nodes) bool
    depth: int  # the deepest leaf's depth
    base_margin: np.float32
    n_features: int

    @classmethod
    def from_booster(cls, booster) -> TreeEnsemble:
        model = json.loads(bytes(booster.save_raw('json')))
        learner = model['learner']
        gb = learner['gradient_booster']
        if gb.get('name') != 'gbtree':
            raise ValueError(f'only gbtree boosters are supported, not {gb.get("name")!r}')
        objective = learner['objective']['name']
        if objective != 'reg:squarederror':
            raise ValueError(f'only reg:squarederror boosters are supported, not {objective!r}')
        trees = gb['model']['trees']
        if any(int(t['tree_param'].get('size_leaf_vector', '1')) > 1 for t in trees):
            raise ValueError('multi-target trees are not supported')
        # XGBoost stores base_score as a string such as "[0E0]" or "5E-1"
        base = float(str(learner['learner_model_param']['base_score']).strip('[]'))
        n_nodes = max((len(t['left_children']) for t in trees), default=1)
        shape = (len(trees), n_nodes)
        feature = np.zeros(shape, dtype=np.int64)
        split = np.zeros(shape, dtype=np.float32)
        idx = np.broadcast_to(np.arange(n_nodes, dtype=np.int64), shape)
        left, right = idx.copy(), idx.copy()
        default_left = np.zeros(shape, dtype=bool)
        depth = 0
        for k, t in enumerate(trees):
            lc = np.asarray(t['left_children'], dtype=np.int64)
            rc = np.asarray(t['right_children'], dtype=np.int64)
            n = len(lc)
            leaf = lc < 0
            feature[k, :n] = np.where(leaf, 0, np.asarray(t['split_indices'], dtype=np.int64))
            split[k, :n] = np.asarray(t['split_conditions'], dtype=np.float32)  # the leaf value at a leaf
            left[k, :n] = np.where(leaf, np.arange(n), lc)
            right[k, :n] = np.where(leaf, np.arange(n), rc)
            default_left[k, :n] = np.asarray(t['default_left'], dtype=bool)
            parents = np.asarray(t['parents'], dtype=np.int64)
            d = np.zeros(n, dtype=np.int64)
            for i in range(1, n):  # parents come before children in XGBoost's node order
                d[i] = d[parents[i]] + 1
            depth = max(depth, int(d.max()) if n else 0)
        n_features = int(learner['learner_model_param']['num_feature'])
        return cls(feature, split, left, right, default_left, depth, np.float32(base), n_features)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The ensemble's output for each row of ``X`` (float32 values, as float64)."""
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(f'expected a (rows, {self.n_features}) matrix, got {X.shape}')
        if self.feature.shape[0] == 0:
            return np.full(X.shape[0], float(self.base_margin))
        from .kernels import walk_trees

        return walk_trees(np.ascontiguousarray(X), self.feature, self.split, self.left, self.right, self.default_left,
                          self.base_margin)


__all__ = ['TreeEnsemble']
