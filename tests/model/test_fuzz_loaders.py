"""Seeded fuzzing: ≥200 mutated PNGs, style files and checkpoints; each loads or raises EditorError."""

import io
import json
import shutil

import numpy as np
import pytest
from PIL import Image

from model.checkpoint import load_checkpoint, make_random_checkpoint
from model.errors import EditorError
from model.labels import cityscapes
from model.scene_io import read_instance_png, read_label_png, read_styles

RNG_SEED = 1234


def mutate(data: bytes, rng: np.random.Generator) -> bytes:
    buf = bytearray(data)
    kind = rng.integers(0, 4)
    if kind == 0 and buf:  # flip bytes
        for _ in range(int(rng.integers(1, 8))):
            buf[int(rng.integers(0, len(buf)))] = int(rng.integers(0, 256))
    elif kind == 1:  # truncate
        buf = buf[: int(rng.integers(0, max(1, len(buf))))]
    elif kind == 2:  # insert junk
        pos = int(rng.integers(0, len(buf) + 1))
        buf[pos:pos] = bytes(rng.integers(0, 256, int(rng.integers(1, 32)), dtype=np.uint8))
    else:  # duplicate a slice
        a = int(rng.integers(0, max(1, len(buf))))
        buf[a:a] = buf[a : a + int(rng.integers(1, 64))]
    return bytes(buf)


def png_bytes(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(array).save(out, format="PNG")
    return out.getvalue()


def test_fuzz_label_and_instance_pngs(tmp_path):
    rng = np.random.default_rng(RNG_SEED)
    labels = np.full((24, 32), 7, np.uint8)
    labels[5:12, 4:20] = 26
    seeds = [
        png_bytes(labels),
        png_bytes(cityscapes().colorize(labels)),
        png_bytes(labels.astype(np.uint16) * 1000),
    ]
    outcomes = {"loaded": 0, "refused": 0}
    for i in range(150):
        path = tmp_path / f"f{i}.png"
        path.write_bytes(mutate(seeds[i % len(seeds)], rng))
        try:
            read_label_png(path, cityscapes()) if i % 3 < 2 else read_instance_png(path)
            outcomes["loaded"] += 1
        except EditorError as exc:
            assert path.name in str(exc) and "\n" not in str(exc)
            outcomes["refused"] += 1
    assert outcomes["refused"] > 20 and sum(outcomes.values()) == 150


def test_fuzz_style_json(tmp_path):
    rng = np.random.default_rng(RNG_SEED + 1)
    seed = json.dumps({"26001": 3, "11": [0.1, -0.2, 0.3], "24002": 0}).encode()
    path = tmp_path / "s.json"
    for _ in range(60):
        path.write_bytes(mutate(seed, rng))
        try:
            styles = read_styles(path)
            assert all(isinstance(k, int) and k >= 0 for k in styles)
        except EditorError as exc:
            assert "s.json" in str(exc)


@pytest.mark.parametrize(
    "target", ["config.json", "generator.safetensors", "encoder.safetensors", "clusters.npz"]
)
def test_fuzz_checkpoint_files(tmp_path, target):
    rng = np.random.default_rng(RNG_SEED + hash(target) % 1000)
    original = make_random_checkpoint(tmp_path / "orig")
    pristine = (original / target).read_bytes()
    for i in range(15):
        folder = tmp_path / f"c{i}"
        shutil.copytree(original, folder)
        (folder / target).write_bytes(mutate(pristine, rng))
        try:
            load_checkpoint(folder)
        except EditorError as exc:
            assert "\n" not in str(exc)
