"""Per-instance feature codes: turn a styles dict into the F×H×W feature map G takes.

A style is a cluster index into the instance's class centres, or an explicit code vector.
Without a chosen style:

* an object (a thing with its own instance id, ≥ 1000) gets a cluster picked by a hash of (seed,
  instance id): cars come in varied colours, a render is reproducible, and an unstyled object
  keeps its look while other objects change. Where ``clusters.npz`` says how many training
  instances each cluster holds, the pick follows those counts (common paints often, rare ones
  seldom); otherwise every cluster is equally likely;
* a region (road, sky, a facade: any id below 1000) gets its class's most common look, cluster 0
  of the centres ``encode-features`` writes (most populated first), so the street looks like a
  typical one instead of a patchwork of random lighting. Clusters of unknown order (official
  ``features_clustered_*.npy``) keep the hash for regions too.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from model.labels import INSTANCE_FACTOR, class_of_instance
from model.scene_io import Style


class StyleTable:
    """Cluster centres of every class, packed for vectorised lookup."""

    def __init__(
        self,
        clusters: Mapping[int, np.ndarray],
        num_classes: int,
        feat_num: int,
        most_common_first: bool = True,
        members: Mapping[int, np.ndarray] | None = None,
    ) -> None:
        """``most_common_first``: cluster 0 of every class is its most common look (native clusters).
        ``members``: training instances per cluster, for the classes that have them."""
        self.feat_num = feat_num
        self.most_common_first = most_common_first
        self.num_classes = num_classes
        self.counts = np.zeros(num_classes, dtype=np.int64)
        kmax = max((len(c) for c in clusters.values()), default=1)
        self.centres = np.zeros((num_classes, max(kmax, 1), feat_num), dtype=np.float32)
        for class_id, centres in clusters.items():
            if 0 <= class_id < num_classes:
                self.counts[class_id] = len(centres)
                self.centres[class_id, : len(centres)] = centres
        # cumulative share of each class's clusters (rows without members stay NaN: uniform pick)
        self.cumulative = np.full((num_classes, self.centres.shape[1]), np.nan)
        for class_id, counts in (members or {}).items():
            if 0 <= class_id < num_classes and len(counts) == self.counts[class_id] and counts.sum() > 0:
                self.cumulative[class_id, : len(counts)] = np.cumsum(counts) / counts.sum()

    def num_styles(self, class_id: int) -> int:
        return int(self.counts[class_id]) if 0 <= class_id < self.num_classes else 0

    def shares(self, class_id: int) -> np.ndarray | None:
        """Each cluster's share of the class's training instances, or None where they are unknown."""
        if not 0 <= class_id < self.num_classes or np.isnan(self.cumulative[class_id, 0]):
            return None
        return np.diff(self.cumulative[class_id, : self.counts[class_id]], prepend=0.0)

    def default_cluster(self, instance_ids: np.ndarray, seed: int) -> np.ndarray:
        """The cluster of each instance id without a chosen style: reproducibly pseudo-random for
        objects, the most common one for regions (see the module docstring); 0 where a class has none."""
        classes = np.clip(class_of_instance(instance_ids), 0, self.num_classes - 1)
        counts = self.counts[classes]
        hashed = _mix(np.asarray(instance_ids).astype(np.uint64) ^ np.uint64(seed * 0x9E3779B1 & 0xFFFFFFFF))
        picked = (hashed % np.maximum(counts, 1).astype(np.uint64)).astype(np.int64)
        cumulative = self.cumulative[classes]
        weighted = ~np.isnan(cumulative[:, 0])
        if weighted.any():  # inverse CDF of the member counts at a uniform draw from the hash's top bits
            draw = (hashed[weighted] >> np.uint64(11)).astype(np.float64) / float(1 << 53)
            below = (draw[:, None] >= cumulative[weighted]).sum(1)
            picked[weighted] = np.minimum(below, counts[weighted] - 1)
        if self.most_common_first:
            picked[np.asarray(instance_ids) < INSTANCE_FACTOR] = 0
        return picked

    def codes(self, instance_ids: np.ndarray, styles: Mapping[int, Style], seed: int) -> np.ndarray:
        """len(ids)×F code per instance id."""
        instance_ids = np.asarray(instance_ids, dtype=np.int64)
        classes = np.clip(class_of_instance(instance_ids), 0, self.num_classes - 1)
        cluster = self.default_cluster(instance_ids, seed)
        chosen = {k: v for k, v in styles.items() if isinstance(v, int)}
        if chosen:
            keys = np.fromiter(chosen.keys(), dtype=np.int64, count=len(chosen))
            values = np.fromiter(chosen.values(), dtype=np.int64, count=len(chosen))
            order = np.argsort(keys)
            keys, values = keys[order], values[order]
            pos = np.clip(np.searchsorted(keys, instance_ids), 0, len(keys) - 1)
            hit = keys[pos] == instance_ids
            cluster = np.where(hit, values[pos] % np.maximum(self.counts[classes], 1), cluster)
        codes = self.centres[classes, np.minimum(cluster, self.centres.shape[1] - 1)]
        codes[self.counts[classes] == 0] = 0.0
        for inst_id, vector in styles.items():  # explicit code vectors (rare: user-made styles)
            if not isinstance(vector, int):
                codes[instance_ids == inst_id] = np.asarray(vector, dtype=np.float32)[: self.feat_num]
        return codes

    def feature_map(self, instances: np.ndarray, styles: Mapping[int, Style], seed: int) -> np.ndarray:
        """H×W instance ids → H×W×F float32 feature map (pixel-major: a pixel's codes are one row)."""
        unique, inverse = np.unique(instances, return_inverse=True)
        codes = self.codes(unique, styles, seed)
        return codes[inverse.reshape(instances.shape)]


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: a cheap, well-spread integer hash."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))
