"""Rendering in bf16: the module path, the incremental renderer and its cache, against fp32.

Tolerance for bf16 (8 significant bits): a full render keeps the live-normalised values, an update
recomputes with the statistics folded into the weights, and the two round at different points. So
an exact-mode update matches the frozen-statistics full pass bit for bit where everything was
recomputed, and elsewhere within ``BF16_MAX_ERROR`` of the [-1, 1] output and ``BF16_MIN_PSNR``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from support.render_scenes import street_scene
from support.tiny_models import EDITS, HEIGHT, WIDTH, edit, tiny

from model.box import Area
from model.render.full import Renderer, precision_choice
from model.render.incremental import IncrementalRenderer
from model.render.precision import MIN_PSNR_DB, lowered_copy, psnr
from model.render.samples import resize_nearest
from model.resources import default_checkpoint_dir, sample_scenes
from model.scene_io import load_scene

BF16_MAX_ERROR = 0.1  # of the [-1, 1] output: 12.75 grey levels at one pixel, at worst
BF16_MIN_PSNR = 45.0


def pair(n_local: int, seed: int = 0) -> tuple[Renderer, Renderer]:
    fp32 = tiny(n_local, seed=seed)
    return fp32, Renderer(fp32.model, "cpu", precision=precision_choice("bf16"))


@pytest.mark.parametrize("n_local", [0, 1, 2])
def test_bf16_renders_match_fp32_on_tiny_models(n_local: int) -> None:
    fp32, bf16 = pair(n_local)
    labels, instances = street_scene(WIDTH, HEIGHT, seed=0)
    x = fp32.network_input(labels, instances, {}, 0)
    reference = fp32.render_tensor(x)
    assert psnr(bf16.render_tensor(x), reference) >= MIN_PSNR_DB
    assert bf16.render_tensor(x).dtype == torch.float32
    incremental = IncrementalRenderer(bf16)
    incremental.full(labels, instances, {}, 0)
    assert psnr(incremental.output_tensor()[:, :, :HEIGHT, :WIDTH], reference[:, :, :HEIGHT, :WIDTH]) >= 45.0


def test_bf16_copy_keeps_instance_norm_in_fp32_and_leaves_the_generator_alone() -> None:
    fp32, bf16 = pair(1)
    norms = [m for m in bf16.network.modules() if isinstance(m, torch.nn.InstanceNorm2d)]
    convs = [m for m in bf16.network.modules() if isinstance(m, torch.nn.Conv2d)]
    assert norms and convs
    assert all(c.weight.dtype == torch.bfloat16 for c in convs)
    assert all(p.dtype == torch.float32 for p in fp32.generator.parameters())
    assert lowered_copy(fp32.generator, torch.bfloat16) is not fp32.generator


def test_bundled_default_in_bf16_is_within_40_db_of_fp32_at_512x256() -> None:
    fp32 = Renderer.from_checkpoint(default_checkpoint_dir(), "cpu", precision="fp32")
    bf16 = Renderer(fp32.model, "cpu", precision=precision_choice("bf16"))
    scene = load_scene(sample_scenes()[0], fp32.label_set)
    labels = resize_nearest(scene.labels, 512, 256)
    instances = resize_nearest(scene.instances.astype(np.int32), 512, 256)
    x = fp32.network_input(labels, instances, {}, 0)
    assert psnr(bf16.render_tensor(x), fp32.render_tensor(x)) >= MIN_PSNR_DB


@pytest.mark.parametrize("n_local", [0, 2])
def test_bf16_exact_mode_equals_the_bf16_frozen_full_pass(n_local: int) -> None:
    _, bf16 = pair(n_local)
    labels, instances = street_scene(WIDTH, HEIGHT, seed=0)
    incremental = IncrementalRenderer(bf16, epsilon=0.0)
    incremental.full(labels, instances, {}, 0)
    assert incremental.cache_dtype == torch.bfloat16
    rng = np.random.default_rng(1)
    for k, box in enumerate(EDITS):
        labels, instances = edit(labels, instances, box, int(rng.choice([7, 21, 26])), 26000 + k)
        reference = incremental.frozen_reference(labels, instances, {}, 0)
        assert incremental.update(labels, instances, {}, Area.of(box), 0) is not None
        error = (incremental.output_tensor() - reference).abs().max().item()
        assert error <= BF16_MAX_ERROR, f"edit {box}: max error {error}"
        assert psnr(incremental.output_tensor(), reference) >= BF16_MIN_PSNR
    # the last edit covers the frame: every position recomputed, so equal bit for bit
    assert torch.equal(incremental.output_tensor(), reference)


def test_bf16_cache_takes_half_the_bytes() -> None:
    fp32, bf16 = pair(2)
    labels, instances = street_scene(WIDTH, HEIGHT, seed=0)
    sizes = []
    for renderer in (fp32, bf16):
        incremental = IncrementalRenderer(renderer)
        incremental.full(labels, instances, {}, 0)
        sizes.append(incremental.estimate_cache_bytes(HEIGHT, WIDTH))
    assert sizes[1] < 0.6 * sizes[0]


def test_cancelled_bf16_update_rolls_the_cache_back() -> None:
    _, bf16 = pair(2)
    labels, instances = street_scene(WIDTH, HEIGHT, seed=0)
    incremental = IncrementalRenderer(bf16, epsilon=0.0)
    incremental.full(labels, instances, {}, 0)
    assert incremental._store is not None
    before = {k: v.clone() for k, v in incremental._store.tensors.items()}
    calls = 0

    def cancelled() -> bool:
        nonlocal calls
        calls += 1
        return calls > 5

    moved, moved_instances = edit(labels, instances, (20, 20, 60, 50), 21)
    assert incremental.update(moved, moved_instances, {}, None, 0, cancelled) is None
    assert all(torch.equal(before[k], v) for k, v in incremental._store.tensors.items())


def test_the_precision_request_reaches_the_renderer(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Renderer.from_checkpoint(default_checkpoint_dir(), precision="bf16").precision.precision == "bf16"
    monkeypatch.setenv("P2P_PRECISION", "bf16")
    renderer = Renderer.from_checkpoint(default_checkpoint_dir())
    assert renderer.precision.precision == "bf16"
    assert IncrementalRenderer(renderer).executor.dtype == torch.bfloat16
    with pytest.raises(ValueError, match="unknown precision"):
        Renderer.from_checkpoint(default_checkpoint_dir(), precision="fp8")


@pytest.mark.parametrize("threshold", [0.0, 0.5, 0.0625])
def test_bf16_moved_positions_equal_the_float_rule(threshold: float) -> None:
    from model.render.incremental import moved_positions

    torch.manual_seed(0)
    delta = (torch.randn(600, 16) * 0.4).to(torch.bfloat16)  # pixel rows × channels
    delta[:120] = 0.0
    delta[120:180] = -0.0
    expected = (delta.float().abs().amax(dim=1) > threshold).numpy()
    assert np.array_equal(moved_positions(delta.clone(), threshold), expected)
    assert not expected[:180].any() and expected.any()
