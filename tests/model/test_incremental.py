"""Incremental renderer: exact mode equals a full pass with the same frozen statistics; region
geometry; cancellation; the latest-wins queue. Tiny seeded models on the CPU."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from support.render_scenes import street_scene
from support.tiny_models import EDITS, HEIGHT, WIDTH, edit, scene, tiny

import model.render.executor as executor_module
from model.box import Area, mask_box
from model.networks.generator import GeneratorConfig, downsample_input
from model.render.full import Renderer
from model.render.incremental import IncrementalRenderer
from model.render.loop import LoopPolicy, Progress, RenderLoop, RenderRequest, RenderResult
from model.render.random_models import random_model
from model.render.region import Region, propagate, window_any
from model.render.strokes import brush_stroke
from model.render.tiles import Tiles, occupied_tiles

TOL = 1e-4


@pytest.fixture(
    params=[
        (0, "transposed", 0),
        (1, "transposed", 0),
        (2, "transposed", 0),
        (0, "resize_conv", 0),
        (2, "resize_conv", 0),
        (2, "resize_conv", 2),
    ],
    ids=["global", "local1", "local2", "global-resize-conv", "local2-resize-conv", "local2-noise"],
)
def renderer(request: pytest.FixtureRequest) -> Renderer:
    n_local, upsampler, noise = request.param
    return tiny(n_local, upsampler=upsampler, noise=noise)


def test_full_pass_matches_the_torch_module(renderer: Renderer) -> None:
    labels, instances = scene()
    incremental = IncrementalRenderer(renderer)
    image = incremental.full(labels, instances, {}, 0)
    with torch.inference_mode():
        expected = renderer.generator(renderer.network_input(labels, instances, {}, 0))
    assert (incremental.output_tensor() - expected).abs().max() < TOL
    assert image.shape == (HEIGHT, WIDTH, 3)
    assert (
        np.array_equal(image, renderer.render(labels, instances, {}, 0))
        or np.abs(image.astype(int) - renderer.render(labels, instances, {}, 0)).max() <= 1
    )


def test_exact_mode_equals_frozen_full_pass(renderer: Renderer) -> None:
    labels, instances = scene()
    incremental = IncrementalRenderer(renderer, epsilon=0.0)
    incremental.full(labels, instances, {}, 0)
    rng = np.random.default_rng(1)
    for k, box in enumerate(EDITS):  # consecutive edits: each one starts from the previous update's cache
        labels, instances = edit(labels, instances, box, int(rng.choice([7, 21, 26])), 26000 + k)
        reference = incremental.frozen_reference(labels, instances, {}, 0)
        tile = incremental.update(labels, instances, {}, Area.of(box), 0)
        assert tile is not None
        error = (incremental.output_tensor() - reference).abs().max().item()
        assert error < TOL, f"edit {box}: max error {error}"
        x0, y0, x1, y1 = tile.box
        assert np.array_equal(tile.image, incremental.image()[y0:y1, x0:x1])


def test_exact_mode_random_edits_and_style_changes() -> None:
    renderer = tiny(2, seed=3)
    labels, instances = scene(seed=2)
    incremental = IncrementalRenderer(renderer, epsilon=0.0)
    incremental.full(labels, instances, {}, 0)
    rng = np.random.default_rng(7)
    styles: dict[int, int] = {}
    for k in range(6):
        w, h = int(rng.integers(1, 30)), int(rng.integers(1, 30))
        x0, y0 = int(rng.integers(0, WIDTH - w + 1)), int(rng.integers(0, HEIGHT - h + 1))
        labels, instances = edit(labels, instances, (x0, y0, x0 + w, y0 + h), 26, 26100 + k)
        styles = {**styles, 26100 + k: int(rng.integers(0, 4))}
        reference = incremental.frozen_reference(labels, instances, styles, 0)
        incremental.update(labels, instances, styles, None, 0)
        assert (incremental.output_tensor() - reference).abs().max().item() < TOL
    # a style change alone (features of one instance), then an instance id change alone (edges)
    styles = {**styles, 26100: (styles[26100] + 1) % 4}
    reference = incremental.frozen_reference(labels, instances, styles, 0)
    incremental.update(labels, instances, styles, None, 0)
    assert (incremental.output_tensor() - reference).abs().max().item() < TOL
    instances = instances.copy()
    instances[instances == 26101] = 26199
    reference = incremental.frozen_reference(labels, instances, styles, 0)
    incremental.update(labels, instances, styles, None, 0)
    assert (incremental.output_tensor() - reference).abs().max().item() < TOL


def test_fast_mode_stays_close_and_does_less_work() -> None:
    renderer = tiny(1)
    labels, instances = street_scene(256, 128, seed=4)
    incremental = IncrementalRenderer(renderer, epsilon=0.05)
    incremental.full(labels, instances, {}, 0)
    new_labels, new_instances = edit(labels, instances, (120, 60, 130, 70), 21)
    reference = incremental.frozen_reference(new_labels, new_instances, {}, 0)
    incremental.update(new_labels, new_instances, {}, None, 0)
    mse = float((((incremental.output_tensor() - reference) / 2) ** 2).mean())
    assert mse == 0 or 10 * np.log10(1 / mse) > 40
    assert incremental.last_stats.work_fraction < 0.5


def test_no_change_gives_an_empty_tile() -> None:
    renderer = tiny(1)
    labels, instances = scene()
    incremental = IncrementalRenderer(renderer)
    incremental.full(labels, instances, {}, 0)
    tile = incremental.update(labels.copy(), instances.copy(), {}, Area.of((0, 0, 10, 10)), 0)
    assert tile is not None and tile.image.size == 0


def test_first_update_and_seed_change_render_the_full_frame() -> None:
    renderer = tiny(1)
    labels, instances = scene()
    incremental = IncrementalRenderer(renderer)
    tile = incremental.update(labels, instances, {}, None, 0)
    assert tile is not None and tile.box == (0, 0, WIDTH, HEIGHT)
    tile = incremental.update(labels, instances, {}, None, seed=5)
    assert tile is not None and tile.box == (0, 0, WIDTH, HEIGHT) and incremental.last_stats.full


def _snapshot(incremental: IncrementalRenderer) -> dict[int, torch.Tensor]:
    store = incremental._store
    assert store is not None
    return {k: v.clone() for k, v in store.tensors.items()}


@pytest.mark.parametrize("stop_after", [1, 5, 12])
def test_cancelled_update_returns_nothing_and_leaves_the_cache_consistent(stop_after: int) -> None:
    renderer = tiny(2)
    labels, instances = scene()
    incremental = IncrementalRenderer(renderer, epsilon=0.0)
    incremental.full(labels, instances, {}, 0)
    before = _snapshot(incremental)
    before_labels = incremental._store.inputs.labels.copy()
    before_edges = incremental._store.inputs.edges.copy()
    calls = 0

    def cancelled() -> bool:
        nonlocal calls
        calls += 1
        return calls > stop_after

    mid_labels, mid_instances = edit(labels, instances, (20, 20, 60, 50), 21)
    assert incremental.update(mid_labels, mid_instances, {}, None, 0, cancelled) is None
    after = _snapshot(incremental)
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert np.array_equal(before_labels, incremental._store.inputs.labels)
    assert np.array_equal(before_edges, incremental._store.inputs.edges)
    # the next update (a different edit: the cancelled one was undone) must be exact, with no stale tile
    new_labels, new_instances = edit(labels, instances, (70, 5, 80, 15), 26, 26007)
    reference = incremental.frozen_reference(new_labels, new_instances, {}, 0)
    incremental.update(new_labels, new_instances, {}, None, 0)
    assert (incremental.output_tensor() - reference).abs().max().item() < TOL


def test_the_kept_edge_map_follows_edits_and_their_rollback() -> None:
    incremental = IncrementalRenderer(tiny(1), epsilon=0.0)
    incremental.keep_journal = True
    labels, instances = scene()
    incremental.full(labels, instances, {}, 0)
    maps = incremental._store.inputs
    height, width = maps.shape
    original = maps.edges.copy()
    for k, box in enumerate(EDITS):
        labels, instances = edit(labels, instances, box, 26, 26100 + k)
        incremental.update(labels, instances, {}, None, 0)
        assert np.array_equal(maps.edges, maps._edges(0, height, 0, width))
    assert not np.array_equal(maps.edges, original)
    before_last = maps.edges.copy()
    labels, instances = edit(labels, instances, (5, 5, 40, 30), 26, 26200)
    incremental.update(labels, instances, {}, None, 0)
    assert not np.array_equal(maps.edges, before_last)
    incremental.revert_last()
    assert np.array_equal(maps.edges, before_last)


def test_cancelled_full_render_keeps_the_previous_cache() -> None:
    renderer = tiny(1)
    labels, instances = scene()
    incremental = IncrementalRenderer(renderer)
    first = incremental.full(labels, instances, {}, 0)
    other_labels, other_instances = edit(labels, instances, (0, 0, 50, 50), 21)
    assert incremental.full(other_labels, other_instances, {}, 0, cancelled=lambda: True) is None
    assert np.array_equal(incremental.image(), first)


def test_an_update_after_a_full_pass_cancelled_midway_is_still_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    incremental = IncrementalRenderer(tiny(2), epsilon=0.0)
    labels, instances = scene()
    incremental.full(labels, instances, {}, 0)
    folded: list[int] = []
    fold_layer = incremental.executor.fold_layer
    monkeypatch.setattr(
        incremental.executor,
        "fold_layer",
        lambda layer, stats: folded.append(layer.dst) or fold_layer(layer, stats),
    )
    calls = 0

    def cancelled() -> bool:  # lets the pass start, then stops it a few layers in
        nonlocal calls
        calls += 1
        return calls > 6

    other_labels, other_instances = edit(labels, instances, (0, 0, 50, 50), 21)
    assert incremental.full(other_labels, other_instances, {}, 0, cancelled=cancelled) is None
    assert calls > 6  # it was stopped inside the pass, not before it
    assert folded == []  # cancelling folds nothing: the weights are folded when an update asks
    new_labels, new_instances = edit(labels, instances, (60, 10, 75, 30), 26, 26300)
    reference = incremental.frozen_reference(new_labels, new_instances, {}, 0)
    assert len(folded) == len(set(folded))  # each layer once, whether the reference or the update asked
    incremental.update(new_labels, new_instances, {}, None, 0)
    assert (incremental.output_tensor() - reference).abs().max().item() < TOL


# ----- region geometry: the propagated mask is exactly the set of outputs an input change reaches ---
def test_window_any_equals_max_pool_of_the_mask() -> None:
    rng = np.random.default_rng(0)
    for _ in range(200):
        kernel, stride = int(rng.choice([1, 2, 3, 7])), int(rng.choice([1, 2]))
        h, w = int(rng.integers(kernel, 50)), int(rng.integers(kernel, 50))
        mask = torch.from_numpy(rng.random((h, w)) < rng.random() * 0.2)
        expected = torch.nn.functional.max_pool2d(mask.float()[None, None], kernel, stride)[0, 0] > 0
        assert np.array_equal(window_any(mask.numpy(), kernel, stride), expected.numpy()), (
            kernel,
            stride,
            h,
            w,
        )


@pytest.mark.parametrize(
    "kind,kernel,stride,pad,mode",
    [
        ("conv", 7, 1, 3, "reflect"),
        ("conv", 3, 1, 1, "reflect"),
        ("conv", 3, 2, 1, "zeros"),
        ("convT", 3, 2, 1, "zeros"),
        ("pool", 3, 2, 1, "zeros"),
    ],
)
def test_propagate_matches_brute_force(kind: str, kernel: int, stride: int, pad: int, mode: str) -> None:
    torch.manual_seed(0)
    h, w = 24, 20
    x = torch.randn(1, 2, h, w, dtype=torch.float64)
    weight = torch.randn(2, 2, kernel, kernel, dtype=torch.float64)

    def layer(t: torch.Tensor) -> torch.Tensor:
        if kind == "convT":
            return F.conv_transpose2d(t, weight, stride=2, padding=1, output_padding=1)
        if kind == "pool":
            return downsample_input(t)
        return F.conv2d(
            F.pad(t, (pad,) * 4, mode="reflect" if mode == "reflect" else "constant"), weight, stride=stride
        )

    out = layer(x)
    rng = np.random.default_rng(0)
    for _ in range(12):
        ry, rx = int(rng.integers(0, h - 1)), int(rng.integers(0, w - 1))
        rh, rw = int(rng.integers(1, h - ry + 1)), int(rng.integers(1, w - rx + 1))
        mask = torch.from_numpy(rng.random((rh, rw)) < 0.3)
        if not mask.any():
            mask[0, 0] = True
        bump = torch.zeros(h, w, dtype=torch.bool)
        bump[ry : ry + rh, rx : rx + rw] = mask
        changed = (layer(x + bump.double() * torch.rand(1, 2, h, w, dtype=torch.float64)) - out).abs().amax(
            1
        )[0] > 0
        region = propagate(
            Region(ry, rx, mask.numpy()), kind, kernel, stride, pad, mode, (h, w), tuple(out.shape[2:])
        )
        expected = torch.zeros_like(changed)
        assert region is not None
        expected[region.y0 : region.y1, region.x0 : region.x1] = torch.from_numpy(region.mask)
        assert torch.equal(changed, expected), f"{kind} region at {(ry, rx, rh, rw)}"


def _covered(tiles: Tiles) -> np.ndarray:
    covered = np.zeros(tiles.shape, dtype=bool)
    rows, cols = tiles.rows(), tiles.cols()
    covered[rows[:, :, None], cols[:, None, :]] = True
    return covered


def test_occupied_tiles_cover_every_set_position_and_stay_inside_the_tensor() -> None:
    mask = np.zeros((64, 200), dtype=bool)
    mask[2:10, 3:20] = True
    mask[40:59, 150:193] = True  # ends one row above and 7 columns left of the tensor's edge
    region = Region(5, 7, mask).tight()
    assert region is not None
    tiles = occupied_tiles(region, (69, 207), 16)
    full = np.zeros((69, 207), dtype=bool)
    full[5:69, 7:207] = mask
    assert bool((_covered(tiles) | ~full).all())
    assert tiles.ys.max() + 16 <= 69 and tiles.xs.max() + 16 <= 207  # edge tiles moved inside
    assert tiles.positions < 0.3 * full.size  # two clusters, not their bounding box


def test_occupied_tiles_of_a_diagonal_stroke_hold_much_less_than_its_bounding_box() -> None:
    yy, xx = np.mgrid[0:400, 0:600]
    mask = np.abs(yy * 1.5 - xx) < 12  # a 16-px-wide diagonal band: no empty row or column inside
    region = Region(0, 0, mask).tight()
    assert region is not None
    tiles = occupied_tiles(region, (400, 600), 16)
    assert bool((_covered(tiles) | ~mask).all())
    assert tiles.positions < 0.2 * (region.y1 - region.y0) * (region.x1 - region.x0)


def test_tiles_flat_index_and_region_round_trip() -> None:
    tiles = Tiles(np.array([0, 8, 12]), np.array([4, 0, 20]), (4, 6), (16, 26))
    index = tiles.flat_index.numpy().reshape(3, 4, 6)
    assert index[1, 2, 3] == (8 + 2) * 26 + (0 + 3)
    values = np.zeros((3, 4, 6), dtype=bool)
    values[2, 3, 5] = values[0, 0, 0] = True
    region = tiles.region(values)
    assert region is not None and region.box == (4, 0, 26, 16)
    assert region.count == 2 and region.mask[0, 0] and region.mask[15, 21]
    assert tiles.region(np.zeros_like(values)) is None


# ----- the render loop (model/render/loop.py: what the editor runs and bench measures) --------------
RGB = LoopPolicy(idle_refresh_s=0.0, pixels="rgb", progress_interval_s=0.0)


def request(version: int, labels: np.ndarray, instances: np.ndarray, area: Area) -> RenderRequest:
    return RenderRequest(version, area, labels, instances)


def paste(frame: np.ndarray | None, result: RenderResult) -> np.ndarray | None:
    """What a canvas shows after ``result``."""
    if result.area.whole:
        return result.pixels.copy()
    if frame is not None and result.area.box is not None:
        x0, y0, x1, y1 = result.area.box
        frame[y0:y1, x0:x1] = result.pixels
    return frame


def close_to(a: np.ndarray, b: np.ndarray) -> bool:
    return int(np.abs(a.astype(int) - b.astype(int)).max()) <= 1


def test_latest_wins_merges_the_areas_it_drops_and_whole_wins() -> None:
    loop = RenderLoop(None, lambda _r: None, RGB)
    labels, instances = scene()
    loop.submit(request(1, labels, instances, Area.of((0, 0, 5, 5))))
    loop.submit(request(2, labels, instances, Area.of((50, 40, 60, 45))))
    assert loop._pending is not None and loop._pending.version == 2
    assert loop._pending.area == Area.of((0, 0, 60, 45))
    loop.submit(request(3, labels, instances, Area.everything()))
    loop.submit(request(4, labels, instances, Area.nothing()))
    assert loop._pending.area.whole and loop._pending.version == 4


def test_loop_update_then_exact_and_a_newer_request_cancels_the_exact_frame() -> None:
    renderer = tiny(1)
    labels, instances = scene()
    results: list[RenderResult] = []
    loop = RenderLoop(IncrementalRenderer(renderer), results.append, RGB)
    loop.submit(request(1, labels, instances, Area.everything()))
    assert (
        loop.step(0) and results[-1].kind == "exact" and results[-1].area == Area.everything((WIDTH, HEIGHT))
    )
    new_labels, new_instances = edit(labels, instances, (30, 30, 40, 40), 21)
    loop.submit(request(2, new_labels, new_instances, Area.of((30, 30, 40, 40))))
    loop.step(0)
    update = results[-1]
    assert update.kind == "update" and update.version == 2 and not update.area.whole
    x0, y0, x1, y1 = update.area.box
    assert x0 <= 30 and y0 <= 30 and x1 >= 40 and y1 >= 40
    newest_labels, newest_instances = edit(new_labels, new_instances, (60, 10, 70, 20), 26)
    submitted = []

    def stroke_during_exact(progress: Progress) -> None:  # a stroke arrives mid-frame
        if not submitted:
            submitted.append(progress.fraction)
            loop.submit(request(3, newest_labels, newest_instances, Area.of((60, 10, 70, 20))))

    loop.on_progress = stroke_during_exact
    assert loop.exact_due and loop.step(0)  # the exact frame of version 2 starts ... and is cancelled
    assert submitted and submitted[0] < 1.0 and results[-1].version == 2 and results[-1].kind != "exact"
    loop.on_progress = None
    loop.step(0)  # version 3's update
    loop.step(0)  # idle: the exact frame, of the newest document
    exact = results[-1]
    assert exact.kind == "exact" and exact.version == 3
    assert close_to(exact.pixels, renderer.render(newest_labels, newest_instances, {}, 0))


def test_no_stale_tile_a_superseded_quick_tile_is_repainted_from_the_cache() -> None:
    renderer = tiny(1)
    labels, instances = scene()
    shown: list[np.ndarray | None] = [None]
    results: list[RenderResult] = []
    loop: RenderLoop

    def canvas(result: RenderResult) -> None:
        results.append(result)
        shown[0] = paste(shown[0], result)
        if result.kind == "quick" and result.version == 2:  # an undo arrives before the update runs
            loop.submit(request(3, labels, instances, Area.of((20, 20, 50, 50))))

    loop = RenderLoop(IncrementalRenderer(renderer), canvas, replace(RGB, idle_refresh_s=60.0))
    loop.submit(request(1, labels, instances, Area.everything()))
    loop.step(0)
    painted_labels, painted_instances = edit(labels, instances, (20, 20, 50, 50), 26)
    loop.submit(request(2, painted_labels, painted_instances, Area.of((20, 20, 50, 50))))
    loop.step(0)  # quick tile of 2 only: 3 supersedes its update
    assert [r.kind for r in results] == ["exact", "quick"] and results[1].pixels.size
    loop.step(0)  # 3 changes nothing, yet its update repaints 2's provisional box
    assert results[-1].kind == "update" and results[-1].version == 3
    assert shown[0] is not None and close_to(shown[0], renderer.render(labels, instances, {}, 0))


def test_exact_frame_progress_is_monotone_and_ends_at_one() -> None:
    labels, instances = scene()
    reports: list[Progress] = []
    loop = RenderLoop(IncrementalRenderer(tiny(2)), lambda _r: None, RGB, on_progress=reports.append)
    loop.submit(request(1, labels, instances, Area.everything()))
    loop.step(0)
    fractions = [p.fraction for p in reports]
    assert len(fractions) > 3 and fractions == sorted(fractions) and 0 < fractions[0]
    assert reports[-1].done and reports[-1].fraction == 1.0
    assert all(p.eta_s is not None and p.eta_s >= 0 for p in reports)


def test_render_size_shows_document_size_and_full_size_exact_frame_on_request() -> None:
    renderer = tiny(1)
    labels, instances = street_scene(128, 96, seed=3)
    results: list[RenderResult] = []
    loop = RenderLoop(IncrementalRenderer(renderer), results.append, RGB)
    loop.set_render_scale(2)
    loop.submit(request(1, labels, instances, Area.everything()))
    loop.step(0)
    small = results[-1]
    assert small.kind == "exact" and small.scale == 2 and small.pixels.shape == (96, 128, 3)
    assert not small.full_size_exact  # an export must not take it
    assert close_to(small.pixels[::2, ::2], renderer.render(labels[::2, ::2], instances[::2, ::2], {}, 0))
    loop.request_full_size()
    loop.submit(request(2, labels, instances, Area.nothing()))
    while not results[-1].full_size_exact:
        assert loop.step(0)
    assert results[-1].pixels.shape == (96, 128, 3)
    assert close_to(results[-1].pixels, renderer.render(labels, instances, {}, 0))


def test_loop_thread_delivers_the_latest_version() -> None:
    labels, instances = scene()
    incremental = IncrementalRenderer(tiny(1))
    results: list[RenderResult] = []
    loop = RenderLoop(incremental, results.append, replace(RGB, idle_refresh_s=0.05))
    thread = threading.Thread(target=loop.run)
    thread.start()
    try:
        loop.submit(request(0, labels, instances, Area.everything()))
        for version in range(1, 6):
            box = (version * 10, 5, version * 10 + 5, 15)
            labels, instances = edit(labels, instances, box, 21)
            loop.submit(request(version, labels, instances, Area.of(box)))
        deadline = time.time() + 30
        while time.time() < deadline and not any(r.kind == "exact" and r.version == 5 for r in results):
            time.sleep(0.02)
    finally:
        loop.close()
        thread.join(30)
    assert any(r.kind == "exact" and r.version == 5 for r in results)
    assert np.array_equal(incremental.image(), incremental.full(labels, instances, {}, 0))


@pytest.mark.parametrize("box", [(30, 20, 45, 33), (90, 60, 100, 70), (0, 0, 3, 70)])
def test_changed_area_hint_gives_the_same_region_as_the_full_map_diff(box: tuple[int, int, int, int]) -> None:
    incremental = IncrementalRenderer(tiny(1))
    labels, instances = scene()
    incremental.full(labels, instances, {}, 0)
    new_labels, new_instances = edit(labels, instances, box, 26, instance=26001)
    everywhere = incremental.changed_region(new_labels, new_instances, {}, Area.everything())
    hinted = incremental.changed_region(new_labels, new_instances, {}, Area.of(box))
    assert everywhere is not None and hinted is not None
    assert hinted.box == everywhere.box and np.array_equal(hinted.mask, everywhere.mask)
    assert incremental.changed_region(new_labels, new_instances, {}, Area.nothing()) is None


def test_region_layout_round_trips() -> None:
    box = (7, 3, 19, 11)  # x0, y0, x1, y1
    region = Region.from_box(box)
    assert region.box == box and (region.x0, region.y0, region.x1, region.y1) == box
    mask = np.zeros((20, 30), bool)
    mask[3:11, 7:19] = True
    assert mask_box(mask) == box
    assert occupied_tiles(region, (20, 30), 4).box == (4, 0, 20, 12)  # the grid cells it touches
    assert Area.of(box).scaled_down(2) == Area.of((3, 1, 10, 6))
    assert Area.everything((30, 20)).box == (0, 0, 30, 20) and Area.nothing().empty


@pytest.mark.parametrize("upsampler", ["transposed", "resize_conv"])
def test_stroke_edit_in_exact_mode_equals_a_frozen_statistics_full_render(upsampler: str) -> None:
    renderer = tiny(2, upsampler=upsampler)
    incremental = IncrementalRenderer(renderer, epsilon=0.0)
    labels, instances = street_scene(160, 96, seed=4)
    incremental.full(labels, instances, {}, 0)
    new_labels, new_instances, box = brush_stroke(labels, instances, 0.01, seed=5, class_id=21)
    tile = incremental.update(new_labels, new_instances, {}, Area.of(box), 0)
    assert tile is not None and tile.image.size
    reference = incremental.frozen_reference(new_labels, new_instances, {}, 0)
    assert float((incremental.output_tensor() - reference).abs().max()) < TOL


def test_quick_preview_shows_the_edit_and_leaves_the_cache_alone() -> None:
    renderer = tiny(2)
    labels, instances = scene()
    incremental = IncrementalRenderer(renderer)
    incremental.full(labels, instances, {}, 0)
    before = _snapshot(incremental)
    new_labels, new_instances = edit(labels, instances, (40, 30, 50, 38), 21)
    tile = incremental.quick_preview(new_labels, new_instances, {}, None, 0)
    assert tile is not None
    x0, y0, x1, y1 = tile.box
    assert x0 <= 40 and y0 <= 30 and x1 >= 50 and y1 >= 38 and tile.image.shape == (y1 - y0, x1 - x0, 3)
    after = _snapshot(incremental)
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert IncrementalRenderer(tiny(0)).quick_preview(labels, instances) is None  # global-only: none


def test_quick_previews_between_layers_leave_the_update_exact() -> None:
    renderer = tiny(2)
    labels, instances = scene()
    incremental = IncrementalRenderer(renderer, epsilon=0.0)
    incremental.full(labels, instances, {}, 0)
    new_labels, new_instances = edit(labels, instances, (10, 10, 30, 25), 21)
    newer_labels, newer_instances = edit(new_labels, new_instances, (60, 40, 75, 60), 26, 26005)
    shown = []

    def between() -> None:  # a newer edit arrives while the update runs
        shown.append(incremental.quick_preview(newer_labels, newer_instances, {}, None, 0))

    reference = incremental.frozen_reference(new_labels, new_instances, {}, 0)
    incremental.update(new_labels, new_instances, {}, None, 0, between_layers=between)
    assert shown and all(tile is not None and tile.image.size for tile in shown)
    assert (incremental.output_tensor() - reference).abs().max().item() < TOL


def test_cache_over_its_limit_is_stored_in_half_precision_and_still_updates() -> None:
    renderer = tiny(1)
    labels, instances = scene()
    full_precision = IncrementalRenderer(renderer).estimate_cache_bytes(HEIGHT, WIDTH)
    incremental = IncrementalRenderer(renderer, epsilon=0.0, cache_limit_bytes=int(full_precision * 0.75))
    incremental.full(labels, instances, {}, 0)
    assert incremental.cache_dtype == torch.float16
    assert incremental.cache_bytes < full_precision  # activations halved (the maps come on top)
    new_labels, new_instances = edit(labels, instances, (30, 20, 45, 35), 21)
    reference = incremental.frozen_reference(new_labels, new_instances, {}, 0)
    incremental.update(new_labels, new_instances, {}, None, 0)
    assert (incremental.output_tensor() - reference).abs().max().item() < 0.05


def test_without_room_for_a_cache_every_update_renders_the_full_frame() -> None:
    renderer = tiny(1)
    labels, instances = scene()
    incremental = IncrementalRenderer(renderer, cache_limit_bytes=1000)
    image = incremental.full(labels, instances, {}, 0)
    assert incremental.cache_bytes == 0 and not incremental.ready
    assert np.abs(image.astype(int) - renderer.render(labels, instances, {}, 0)).max() <= 1
    new_labels, new_instances = edit(labels, instances, (30, 20, 45, 35), 21)
    tile = incremental.update(new_labels, new_instances, {}, None, 0)
    assert tile is not None and tile.box == (0, 0, WIDTH, HEIGHT)
    assert np.abs(tile.image.astype(int) - renderer.render(new_labels, new_instances, {}, 0)).max() <= 1
    assert np.array_equal(incremental.render(new_labels, new_instances, {}, 0), tile.image)


@pytest.mark.parametrize(
    ("kernel", "stride", "bias"), [(3, 1, True), (3, 2, True), (1, 1, False), (4, 2, False)]
)
def test_box_gemm_equals_conv2d(kernel: int, stride: int, bias: bool) -> None:
    from model.render.box_gemm import conv2d_gemm

    torch.manual_seed(kernel * 10 + stride)
    window = torch.randn(1, 24, 13, 17).contiguous(memory_format=torch.channels_last)
    weight, b = torch.randn(16, 24, kernel, kernel), torch.randn(16) if bias else None
    got = conv2d_gemm(window, weight, b, stride)
    expected = F.conv2d(window, weight, b, stride=stride)
    assert got.shape == expected.shape and got.is_contiguous(memory_format=torch.channels_last)
    assert (got - expected).abs().max().item() < 1e-4


def test_wide_bottleneck_tiles_through_gemm_equal_the_direct_conv_pass(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A 512-channel bottleneck, as in official-size models: small update boxes go through the matrix
    product, the reference full pass through F.conv2d only."""
    config = GeneratorConfig(
        input_nc=35 + 1,
        ngf=16,
        n_downsample_global=4,
        n_blocks_global=2,
        n_local_enhancers=1,
        n_blocks_local=1,
    )  # G1: 32 → 512 channels
    renderer = Renderer(random_model(config, feat_num=0, seed=5), "cpu")
    incremental = IncrementalRenderer(renderer, epsilon=0.0)
    labels, instances = scene(seed=4)
    incremental.full(labels, instances, {}, 0)
    used = []
    original = executor_module.conv2d_gemm

    def spy(window, weight, bias, stride):
        used.append(window.shape[1] >= 512)
        return original(window, weight, bias, stride)

    monkeypatch.setattr(executor_module, "conv2d_gemm", spy)
    for k, box in enumerate([(47, 33, 48, 34), (0, 0, 9, 7), (80, 50, 100, 70)]):
        labels, instances = edit(labels, instances, box, 26, 26000 + k)
        incremental.executor.gemm_max_positions = 0
        reference = incremental.frozen_reference(labels, instances, {}, 0)
        incremental.executor.gemm_max_positions = 512
        used.clear()
        incremental.update(labels, instances, {}, Area.of(box), 0)
        assert any(used)  # the wide layers really took the matrix-product path
        error = (incremental.output_tensor() - reference).abs().max().item()
        assert error < TOL, f"edit {box}: max error {error}"


@pytest.mark.parametrize("reflect", [True, False])
def test_channels_last_padding_equals_f_pad(reflect: bool) -> None:
    from model.render.executor import pad_channels_last

    whole = torch.randn(1, 5, 12, 15).contiguous(memory_format=torch.channels_last)
    window = whole[:, :, 2:9, 3:14]  # a strided view, as the executor reads one
    for pads in [
        (1, 0, 0, 0),
        (0, 2, 0, 0),
        (0, 0, 3, 0),
        (0, 0, 0, 1),
        (3, 3, 3, 3),
        (2, 0, 1, 3),
        (0, 1, 2, 0),
    ]:
        got = pad_channels_last(window, pads, reflect)
        expected = F.pad(window, pads, mode="reflect" if reflect else "constant")
        assert got.is_contiguous(memory_format=torch.channels_last)
        assert torch.equal(got, expected), pads


def test_the_idle_exact_frame_hands_freed_heap_memory_back(monkeypatch: pytest.MonkeyPatch) -> None:
    import model.render.loop as loop_module

    released: list[int] = []
    monkeypatch.setattr(loop_module, "release_free_memory", lambda: released.append(1) or True)
    labels, instances = scene()
    loop = RenderLoop(IncrementalRenderer(tiny(1)), lambda _r: None, RGB)
    loop.submit(request(1, labels, instances, Area.everything()))
    loop.step(0)  # a request: no release while edits may follow
    assert not released
    new_labels, new_instances = edit(labels, instances, (30, 30, 40, 40), 21)
    loop.submit(request(2, new_labels, new_instances, Area.of((30, 30, 40, 40))))
    loop.step(0)
    assert loop.exact_due and loop.step(0) and released == [1]  # the idle exact frame, then the release


def test_tiles_covered_reads_the_region_at_every_tile_position() -> None:
    mask = np.zeros((6, 9), dtype=bool)
    mask[2, 3] = mask[5, 8] = True
    region = Region(10, 20, mask)  # rows 10..15, columns 20..28
    tiles = Tiles(np.array([10, 12]), np.array([20, 25]), (4, 4), (40, 40))
    covered = tiles.covered(region).reshape(2, 4, 4)
    assert covered[0, 12 - 10, 23 - 20] and covered[1, 15 - 12, 28 - 25]
    assert covered.sum() == 2  # and nothing outside the region's mask


def test_an_exact_update_writes_only_candidate_positions_not_whole_tiles() -> None:
    """The rest of a tile keeps its cached (live-statistics) value instead of a frozen-statistics
    recomputation that differs from it by rounding."""
    incremental = IncrementalRenderer(tiny(1), epsilon=0.0)
    incremental.keep_journal = True
    labels, instances = scene()
    incremental.full(labels, instances, {}, 0)
    new_labels, new_instances = edit(labels, instances, (33, 21, 36, 24), 26, 26001)
    incremental.update(new_labels, new_instances, {}, Area.of((33, 21, 36, 24)), 0)
    journal = incremental._last_journal
    assert journal is not None
    written = sum(len(positions) for _, positions, _ in journal.entries)
    assert 0 < written < incremental.last_stats.recomputed
