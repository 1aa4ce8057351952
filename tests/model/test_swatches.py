"""Style swatches: a crop with the scene's frozen statistics equals the full render's crop."""

from __future__ import annotations

import numpy as np
import pytest
from support.gui import CAR, street_scene

from model.render.full import Renderer
from model.render.swatches import SwatchRenderer, aligned_crop, shared_weight_copy
from model.resources import default_checkpoint_dir


@pytest.mark.slow
def test_swatch_matches_the_full_render_of_the_scene_with_that_style() -> None:
    renderer = Renderer.from_checkpoint(default_checkpoint_dir())
    scene = street_scene(512, 256)
    car = CAR * 1000
    ys, xs = np.nonzero(scene.instances == car)
    box = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
    swatches = SwatchRenderer(renderer)  # the default margin
    crop = aligned_crop(box, swatches.margin, renderer.stride, 512, 256)
    assert crop != (0, 0, 512, 256)  # the swatch pass really is a crop
    mask = scene.instances[box[1] : box[3], box[0] : box[2]] == car
    for style in (0, 4):
        styles = {car: style}
        full = renderer.render(scene.labels, scene.instances, styles)[box[1] : box[3], box[0] : box[2]]
        swatch = swatches.swatch(scene.labels, scene.instances, styles, box)
        assert swatch.shape == full.shape
        assert np.abs(swatch.astype(int) - full.astype(int))[mask].mean() < 1.0, style
    # a crop rendered on its own (the old thumbnails) is far off: the statistics matter
    alone = renderer.render_crop(scene.labels, scene.instances, {car: 4}, box)
    assert np.abs(alone.astype(int) - full.astype(int))[mask].mean() > 3


def test_shared_weight_copy_shares_tensors_and_drops_hooks() -> None:
    import torch

    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.InstanceNorm2d(4))
    net[1].register_forward_hook(lambda *_: None)
    twin = shared_weight_copy(net)
    assert twin[0].weight is net[0].weight
    assert not twin[1]._forward_hooks and net[1]._forward_hooks
