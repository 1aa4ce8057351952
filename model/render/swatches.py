"""Style swatches that show what an object becomes on the canvas.

A swatch is the object rendered *in its own scene* with one candidate style, cropped to the object's
box, with the InstanceNorm statistics the canvas uses. With reference statistics (the default, see
``model.render.norm_stats``) those statistics come from the scene rendered without chosen styles, so
they are the same for every candidate: they are measured once per layout, and each swatch is then a
forward pass over the object's box grown by ``margin`` pixels (aligned to the network's stride, so
the pooled grids line up with the full frame's). With the statistics frozen the network is local, and
far enough from the crop's edge the pixels equal the full render's.

Rendering a crop on its own instead (what the palette did) normalises the object by the crop's own
statistics and gives a colour the canvas never shows.

The swatch pass runs on a copy of the generator's modules that shares the weight tensors: the
statistics are swapped in through forward hooks, and hooks on the shared modules would leak into a
render running on another thread at the same time.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from model.render.full import to_uint8
from model.render.norm_stats import Moments, forward_with_moments, measure_moments
from model.scene_io import Style

log = logging.getLogger(__name__)

Box = tuple[int, int, int, int]

DEFAULT_MARGIN = 160  # context around the object's box, in pixels, before the statistics-frozen pass


def shared_weight_copy(module: nn.Module) -> nn.Module:
    """A copy of ``module``'s module tree that shares its parameters and buffers, without hooks."""
    memo: dict[int, Any] = {id(t): t for t in itertools.chain(module.parameters(), module.buffers())}
    twin = copy.deepcopy(module, memo)
    for m in twin.modules():
        m._forward_hooks.clear()
        m._forward_pre_hooks.clear()
    return twin.eval()


def layout_digest(labels: np.ndarray, instances: np.ndarray, seed: int) -> bytes:
    digest = hashlib.blake2b(digest_size=16)
    for array in (labels, instances):
        digest.update(str(array.shape).encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    digest.update(str(seed).encode())
    return digest.digest()


def aligned_crop(box: Box, margin: int, stride: int, width: int, height: int) -> Box:
    """``box`` grown by ``margin``, its corners moved outwards onto multiples of ``stride``, clipped."""
    x0, y0, x1, y1 = box
    cx0 = max(0, (x0 - margin) // stride * stride)
    cy0 = max(0, (y0 - margin) // stride * stride)
    cx1 = min(width, -(-(x1 + margin) // stride) * stride)
    cy1 = min(height, -(-(y1 + margin) // stride) * stride)
    return cx0, cy0, cx1, cy1


class SwatchRenderer:
    """Renders swatches for a ``model.render.full.Renderer`` (or any object with ``render``).

    Renderers without a generator, or with live statistics (each style changes them), get the exact
    answer the slow way: the whole scene rendered with the style, cropped to the box.
    """

    def __init__(self, renderer: Any, margin: int = DEFAULT_MARGIN) -> None:
        self.renderer = renderer
        self.margin = margin
        self._twin: nn.Module | None = None
        self._moments: tuple[bytes, Moments] | None = None

    @property
    def local(self) -> bool:
        """True when swatches are crops with frozen statistics (not whole-scene renders)."""
        r = self.renderer
        return (
            isinstance(getattr(r, "generator", None), nn.Module)
            and callable(getattr(r, "network_input", None))
            and getattr(r, "norm_stats", "") == "reference"
        )

    def _generator(self) -> nn.Module:
        if self._twin is None:
            self._twin = shared_weight_copy(self.renderer.generator)
        return self._twin

    @torch.inference_mode()
    def moments(self, labels: np.ndarray, instances: np.ndarray, seed: int = 0) -> Moments:
        """The reference statistics of this layout (measured once per layout and seed)."""
        key = layout_digest(labels, instances, seed)
        if self._moments is None or self._moments[0] != key:
            x = self.renderer.network_input(labels, instances, {}, seed)
            self._moments = (key, measure_moments(self._generator(), x))
        return self._moments[1]

    def _whole_scene(
        self, labels: np.ndarray, instances: np.ndarray, styles: Mapping[int, Style], seed: int
    ) -> np.ndarray:
        r = self.renderer
        if isinstance(getattr(r, "generator", None), nn.Module) and callable(
            getattr(r, "network_input", None)
        ):
            height, width = labels.shape  # live statistics: a plain forward pass on the twin
            out = self._generator()(r.network_input(labels, instances, styles, seed))
            return to_uint8(out[:, :, :height, :width])
        return np.asarray(r.render(labels, instances, dict(styles), seed))

    @torch.inference_mode()
    def swatch(
        self, labels: np.ndarray, instances: np.ndarray, styles: Mapping[int, Style], box: Box, seed: int = 0
    ) -> np.ndarray:
        """H×W×3 uint8: the scene with ``styles``, as the canvas would show it, inside ``box``."""
        x0, y0, x1, y1 = box
        if not self.local:
            return np.ascontiguousarray(self._whole_scene(labels, instances, styles, seed)[y0:y1, x0:x1])
        height, width = labels.shape
        moments = self.moments(labels, instances, seed)
        cx0, cy0, cx1, cy1 = aligned_crop(box, self.margin, int(self.renderer.stride), width, height)
        x = self.renderer.network_input(labels[cy0:cy1, cx0:cx1], instances[cy0:cy1, cx0:cx1], styles, seed)
        out = forward_with_moments(self._generator(), x, moments)
        image = to_uint8(out[:, :, : cy1 - cy0, : cx1 - cx0])
        return np.ascontiguousarray(image[y0 - cy0 : y1 - cy0, x0 - cx0 : x1 - cx0])
