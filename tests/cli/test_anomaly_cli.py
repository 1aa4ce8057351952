"""synth-anomalies on a tiny random pix2pixHD model and a tiny inpainter writes valid pairs;
evaluate-anomaly scores them; a missing inpainter is one error line."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import torch
from support import REPO_ROOT
from support.data import write_folder

import main
from model.anomaly.export import pair_names, read_pair
from model.anomaly.inpainter import Inpainter, InpainterConfig, save_inpainter
from model.anomaly.networks import NetworkConfig
from model.checkpoint import make_random_checkpoint


def test_synth_anomalies_writes_valid_pairs_and_evaluate_scores_them(tmp_path) -> None:
    ck = make_random_checkpoint(tmp_path / "ck")
    data = write_folder(tmp_path / "data", "train", 2, height=64, width=128)
    torch.manual_seed(0)
    save_inpainter(
        tmp_path / "inp",
        Inpainter(InpainterConfig(network=NetworkConfig(width=8, farm_width=4, time_dim=16), crop=16)),
    )
    common = [
        "--data",
        str(data),
        "--count",
        "2",
        "--checkpoint",
        str(ck),
        "--per-frame",
        "2",
        "--cache",
        str(tmp_path / "clean"),
        "--no-progress",
    ]
    assert (
        main.main(
            [
                "synth-anomalies",
                *common,
                "--out",
                str(tmp_path / "diff"),
                "--method",
                "diffusion",
                "--steps",
                "3",
                "--inpainter",
                str(tmp_path / "inp"),
                "--seed",
                "4",
            ]
        )
        == 0
    )
    assert (
        main.main(
            [
                "synth-anomalies",
                *common,
                "--out",
                str(tmp_path / "test"),
                "--method",
                "paste",
                "--families",
                "test",
            ]
        )
        == 0
    )
    names = pair_names(tmp_path / "diff")
    assert len(names) == 2
    for name in names:
        pair = read_pair(tmp_path / "diff", name)
        assert pair.image.shape == (64, 128, 3) and pair.method == "diffusion" and pair.steps == 3
        assert set(np.unique(pair.label)) <= {0, 1, 255} and (pair.label == 1).any()
        assert len(pair.anomalies) >= 1
    test = tmp_path / "test"
    families = {a.family for n in pair_names(test) for a in read_pair(test, n).anomalies}
    assert families and families <= {"rock", "animal", "debris"}
    out = tmp_path / "eval.json"
    assert (
        main.main(
            [
                "evaluate-anomaly",
                "--train",
                str(tmp_path / "diff"),
                "--test",
                str(tmp_path / "test"),
                "--steps",
                "2",
                "--batch",
                "2",
                "--scale",
                "1",
                "--reps",
                "3",
                "--json",
                str(out),
            ]
        )
        == 0
    )
    result = json.loads(out.read_text())["results"]
    ap = next(iter(result.values()))["ap"]
    assert 0.0 <= ap["value"] <= 1.0 and ap["low"] <= ap["high"]


def test_missing_inpainter_is_one_error_line(tmp_path) -> None:
    ck = make_random_checkpoint(tmp_path / "ck")
    data = write_folder(tmp_path / "data", "train", 1, height=64, width=128)
    proc = subprocess.run(
        [
            sys.executable,
            "main.py",
            "synth-anomalies",
            "--data",
            str(data),
            "--out",
            str(tmp_path / "o"),
            "--count",
            "1",
            "--method",
            "diffusion",
            "--checkpoint",
            str(ck),
            "--inpainter",
            str(tmp_path / "nope"),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "nope" in lines[0] and "Traceback" not in proc.stderr
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_evaluate_needs_a_test_set_or_clean_renders(tmp_path, capsys) -> None:
    (tmp_path / "pairs").mkdir()
    assert main.main(["evaluate-anomaly", "--train", str(tmp_path / "pairs")]) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "--test" in lines[0] and "--clean" in lines[0]
    assert main.main(["evaluate-anomaly", "--train", str(tmp_path / "pairs"), "--clean", str(tmp_path)]) == 2
    assert "--realism-data" in capsys.readouterr().err
