"""The full-resolution quality measures: periodic artefacts, edge F1, domain FID, references, crop sheet."""

from __future__ import annotations

import numpy as np
import pytest

from model.data.procedural import SceneConfig, generate_scene
from model.evaluate.edges import edge_f1
from model.evaluate.fid import Moments, fid, frechet_distance
from model.evaluate.spectral import Spectrum, artefacts, strongest


@pytest.fixture(scope="module")
def photos() -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Six procedural scenes of 512×256: (photo, labels, instances)."""
    config = SceneConfig(width=512, height=256)
    return [generate_scene(7, i, config) for i in range(6)]


def spectrum(images: list[np.ndarray]) -> Spectrum:
    s = Spectrum()
    for image in images:
        s.add(image)
    return s


def test_the_artefact_measure_flags_a_checkerboard_and_passes_clean_photos(photos):
    reference = spectrum([p for p, _, _ in photos[:3]])
    clean = [p for p, _, _ in photos[3:]]
    assert abs(strongest(artefacts(spectrum(clean), reference))) < 3.0  # other photos: no grid
    y, x = np.mgrid[:256, :512]
    grid = np.where((x + y) % 2 == 0, 3, -3) + np.where(x % 4 < 2, 2, -2)  # periods 2 (x and y) and 4 (x)
    gridded = [np.clip(p.astype(np.int16) + grid[..., None], 0, 255).astype(np.uint8) for p in clean]
    table = artefacts(spectrum(gridded), reference)
    assert table[("x", 2)] > 10 and table[("y", 2)] > 10 and table[("x", 4)] > 6, table
    assert abs(table[("y", 4)]) < 3 and abs(table[("x", 16)]) < 3  # periods the grid lacks stay quiet
    assert strongest(table) == max(table[("x", 2)], table[("y", 2)])


def test_the_edge_score_ranks_a_slight_blur_above_a_strong_one(photos):
    import cv2

    from model.evaluate.references import flat

    for photo, _, instances in photos[:2]:
        slight = edge_f1(cv2.GaussianBlur(photo, (0, 0), 1.0), photo)
        strong = edge_f1(cv2.GaussianBlur(photo, (0, 0), 4.0), photo)
        assert edge_f1(photo, photo) == 1.0
        assert 1.0 > slight > strong > 0.0, (slight, strong)
        assert edge_f1(flat(photo, instances), photo) < edge_f1(photo, photo)


def test_the_fid_of_a_set_with_itself_is_zero_and_grows_with_a_shift():
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(500, 6)) @ rng.normal(size=(6, 6))
    a, b = Moments(), Moments()
    a.add(vectors[:200])
    a.add(vectors[200:])  # in two batches: the running sums equal one batch
    b.add(vectors)
    assert fid(a, b) == pytest.approx(0.0, abs=1e-8)
    shifted = Moments()
    shifted.add(vectors + 1.0)
    assert fid(a, shifted) == pytest.approx(6.0, rel=1e-6)  # |Δμ|² = 6, same covariance
    # one dimension: (μa − μb)² + (σa − σb)²
    assert frechet_distance(np.zeros(1), np.eye(1) * 4, np.ones(1), np.eye(1)) == pytest.approx(1 + 1)


def test_the_flat_reference_paints_each_instance_in_its_mean_colour(photos):
    from model.evaluate.references import BLUR_SIGMAS, reference_images

    photo, _, instances = photos[0]
    rows = reference_images(photo, instances)
    assert list(rows) == [f"blur σ{s:g}" for s in BLUR_SIGMAS] + ["flat"]
    for instance in np.unique(instances)[:12]:
        inside = rows["flat"][instances == instance].astype(np.float64)
        assert np.ptp(inside, axis=0).max() == 0  # one colour per instance
        assert np.abs(inside[0] - photo[instances == instance].mean(0)).max() <= 0.5 + 1e-9  # the true mean
    assert rows["blur σ4"].std() < rows["blur σ2"].std() < photo.std()


def test_the_crop_sheet_is_written_with_photo_and_render_side_by_side(tmp_path, photos):
    from model.evaluate.crops import HEADER, SHEET_CLASSES, CropPicker
    from model.scene_io import read_png

    picker = CropPicker(size=64)
    for i, (photo, labels, instances) in enumerate(photos):
        picker.offer(i, photo, 255 - photo, labels, instances)  # the "render": the photo inverted
    path = picker.write(tmp_path / "figures" / "crops.png")
    sheet = read_png(path)
    present = [c for c in SHEET_CLASSES if any((labels == c).any() for _, labels, _ in photos)]
    assert len(picker.best) == len(present) >= 3
    assert sheet.shape == (len(present) * (HEADER + 64 + 6), 2 * 64 + 8, 3)
    road = picker.best[7]
    assert (road.render == 255 - road.photo).all()  # the render's crop is the photo's window
    y0, x0, y1, x1 = road.box
    assert np.array_equal(road.photo, photos[road.scene][0][y0:y1, x0:x1])
    assert (photos[road.scene][1][y0:y1, x0:x1] == 7).mean() > 0.5  # the window is mostly road
    first = sheet[HEADER : HEADER + 64, :64]
    assert np.array_equal(first, picker.best[next(iter(c for c in SHEET_CLASSES if c in present))].photo)
