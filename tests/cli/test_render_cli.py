"""The render CLI end to end, and equality with the official inference pipeline."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from support import REPO_ROOT
from support.official_reference import OfficialGlobal, OfficialLocal, official_encode, tensor2im

import main
from model.checkpoint import make_random_checkpoint
from model.labels import cityscapes

ROOT = REPO_ROOT


def write_scene(
    folder: Path, width: int = 96, height: int = 64, seed: int = 0
) -> tuple[Path, Path, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = np.full((height, width), 7, np.uint8)
    labels[: height // 3] = 23
    labels[height // 3 : height // 2] = 11
    instances = labels.astype(np.int32)
    for k in range(3):
        x, y = rng.integers(0, width - 20), rng.integers(height // 2, height - 10)
        labels[y : y + 8, x : x + 16] = 26
        instances[y : y + 8, x : x + 16] = 26000 + k
    label_path, inst_path = folder / "s_labelIds.png", folder / "s_instanceIds.png"
    Image.fromarray(labels).save(label_path)
    Image.fromarray(instances.astype(np.uint16)).save(inst_path)
    return label_path, inst_path, labels, instances


def render(*args: str) -> int:
    return main.main(["render", *args])


def test_native_checkpoint_renders_with_odd_size(tmp_path):
    ck = make_random_checkpoint(tmp_path / "ck")
    label, inst, *_ = write_scene(tmp_path, width=50, height=37)
    out = tmp_path / "out.png"
    assert render("--checkpoint", str(ck), "--label", str(label), "--out", str(out)) == 0
    image = np.array(Image.open(out))
    assert image.shape == (37, 50, 3) and image.std() > 0


def test_colour_label_png_and_size_option(tmp_path):
    ck = make_random_checkpoint(tmp_path / "ck")
    _, _, labels, _ = write_scene(tmp_path)
    colour = tmp_path / "colour.png"
    Image.fromarray(cityscapes().colorize(labels)).save(colour)
    out_a, out_b = tmp_path / "a.png", tmp_path / "b.png"
    assert render("--checkpoint", str(ck), "--label", str(colour), "--out", str(out_a)) == 0
    assert (
        render(
            "--checkpoint",
            str(ck),
            "--label",
            str(tmp_path / "s_labelIds.png"),
            "--inst",
            str(tmp_path / "s_labelIds.png"),
            "--out",
            str(out_b),
        )
        == 0
    )
    assert np.array_equal(
        np.array(Image.open(out_a)), np.array(Image.open(out_b))
    )  # no inst: label map serves
    out_c = tmp_path / "c.png"
    assert (
        render("--checkpoint", str(ck), "--label", str(colour), "--size", "192x128", "--out", str(out_c)) == 0
    )
    assert np.array(Image.open(out_c)).shape == (128, 192, 3)


def test_styles_change_only_the_styled_object_code(tmp_path):
    ck = make_random_checkpoint(tmp_path / "ck")
    label, inst, labels, instances = write_scene(tmp_path)
    outs = []
    for cluster in (0, 1):
        styles = tmp_path / f"styles{cluster}.json"
        styles.write_text(json.dumps({"26000": cluster}))
        out = tmp_path / f"o{cluster}.png"
        assert (
            render("--checkpoint", str(ck), "--label", str(label), "--styles", str(styles), "--out", str(out))
            == 0
        )
        outs.append(np.array(Image.open(out)).astype(int))
    assert np.abs(outs[0] - outs[1])[instances == 26000].mean() > 0


def official_setup(tmp_path: Path, local: bool, features: bool):
    torch.manual_seed(7)
    input_nc = 35 + 1 + (3 if features else 0)
    if local:
        ref = OfficialLocal(input_nc, 3, ngf=4, n_down=2, n_blocks=1, n_local=1, n_blocks_local=1)
    else:
        ref = OfficialGlobal(input_nc, 3, ngf=8, n_down=3, n_blocks=2)
    for p in ref.parameters():  # random but non-trivial weights
        p.data.normal_(0, 0.2)
    folder = tmp_path / "official"
    folder.mkdir()
    torch.save(ref.state_dict(), folder / "latest_net_G.pth")
    clusters = None
    if features:
        rng = np.random.default_rng(0)
        clusters = {c: rng.uniform(-1, 1, (3, 3)) for c in (7, 11, 23, 26)}
        np.save(folder / "features_clustered_010.npy", clusters, allow_pickle=True)
    return ref.eval(), folder, clusters


@pytest.mark.parametrize("local, features", [(False, False), (True, False), (True, True)])
def test_official_pth_renders_as_the_official_pipeline(tmp_path, local, features):
    ref, folder, clusters = official_setup(tmp_path, local, features)
    label, inst, labels, instances = write_scene(tmp_path, width=128, height=64)
    choice = {int(i): int(i) % 3 for i in np.unique(instances)}
    args = [
        "--checkpoint",
        str(folder / "latest_net_G.pth"),
        "--label",
        str(label),
        "--inst",
        str(inst),
        "--norm-stats",
        "live",
    ]
    if features:
        styles = tmp_path / "styles.json"
        styles.write_text(json.dumps({str(k): v for k, v in choice.items()}))
        args += ["--styles", str(styles)]
    out = tmp_path / "out.png"
    assert render(*args, "--out", str(out)) == 0
    with torch.no_grad():
        expected = tensor2im(ref(official_encode(str(label), str(inst), 35, clusters, choice)))
    ours = np.array(Image.open(out)).astype(int)
    diff = np.abs(ours - expected.astype(int))
    assert diff.max() <= 2 and diff.mean() <= 0.5


def test_bad_inputs_give_one_line_and_exit_2(tmp_path):
    ck = make_random_checkpoint(tmp_path / "ck")
    label, *_ = write_scene(tmp_path)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    cases = [
        (["--checkpoint", str(tmp_path / "nope"), "--label", str(label)], "nope"),
        (["--checkpoint", str(ck), "--label", str(broken)], "broken.png"),
        (["--checkpoint", str(ck), "--label", str(tmp_path / "missing.png")], "missing.png"),
    ]
    for args, name in cases:
        proc = subprocess.run(
            [sys.executable, "main.py", "render", *args, "--out", str(tmp_path / "o.png")],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 2, proc.stderr
        lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
        assert len(lines) == 1 and name in lines[0] and "Traceback" not in proc.stderr


def test_instance_map_found_in_a_dataset_inst_folder(tmp_path):
    """A label map in pix2pixHD's layout (X_label/NAME) finds its instances in X_inst/NAME, so the
    objects keep their identity; without one, the label map stands in and a class is one object."""
    from model.scene_io import load_scene

    (tmp_path / "test_label").mkdir()
    (tmp_path / "test_inst").mkdir()
    label_path, inst_path, labels, instances = write_scene(tmp_path)
    label_path.rename(tmp_path / "test_label" / "a.png")
    scene = load_scene(tmp_path / "test_label" / "a.png", cityscapes())
    assert np.array_equal(scene.instances, labels.astype(np.int32))  # nothing there yet
    inst_path.rename(tmp_path / "test_inst" / "a.png")
    scene = load_scene(tmp_path / "test_label" / "a.png", cityscapes())
    assert np.array_equal(scene.instances, instances)
