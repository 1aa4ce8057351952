"""``render --label-dir IN --out-dir OUT``: every scene of a folder, with label colours and comparisons."""

from __future__ import annotations

import numpy as np
from PIL import Image

import cli
from model.labels import cityscapes
from model.resources import sample_scenes


def test_batch_render_of_a_folder(tmp_path, capsys) -> None:
    scenes = tmp_path / "in"
    scenes.mkdir()
    for i, sample in enumerate(sample_scenes()[:2]):
        labels = np.asarray(Image.open(sample))[::8, ::8]  # small: a fast render
        Image.fromarray(labels).save(scenes / f"s{i}_labelIds.png")
    (scenes / "broken_labelIds.png").write_bytes(b"not a png")
    out = tmp_path / "out" / "renders"  # not there yet: the command makes it
    code = cli.main(
        ["render", "--label-dir", str(scenes), "--out-dir", str(out), "--with-labels", "--side-by-side"]
    )
    assert code == 2  # one scene could not be read; the others were written
    err = capsys.readouterr().err
    assert "error:" in err and "broken_labelIds.png" in err
    for i in range(2):
        render = np.asarray(Image.open(out / f"s{i}_render.png"))
        labels = np.asarray(Image.open(scenes / f"s{i}_labelIds.png"))
        assert render.shape == (*labels.shape, 3)
        colours = np.asarray(Image.open(out / f"s{i}_render_labels.png").convert("RGB"))
        assert np.array_equal(colours, cityscapes().colorize(labels))
        both = np.asarray(Image.open(out / f"s{i}_render_compare.png").convert("RGB"))
        assert both.shape[1] == 2 * labels.shape[1] + 8
    assert not (out / "broken_render.png").exists()
