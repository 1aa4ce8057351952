"""ONNX export of a tiny generator matches torch (needs onnx, onnxscript and onnxruntime:
the project's [onnx] extra). Without them the tests are reported as skipped with the reason."""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch

from model.networks.generator import GeneratorConfig
from model.render.full import Renderer
from model.render.scenes import random_model, street_scene

MISSING = [m for m in ("onnx", "onnxscript", "onnxruntime") if importlib.util.find_spec(m) is None]
pytestmark = pytest.mark.skipif(bool(MISSING), reason=f"BLOCKED: {', '.join(MISSING)} not installed "
                                "(pip install -e '.[onnx]'); ONNX export is untested here")


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    config = GeneratorConfig(input_nc=39, ngf=4, n_downsample_global=2, n_blocks_global=1,
                             n_local_enhancers=1, n_blocks_local=1)
    return Renderer(random_model(config, seed=2), "cpu")


def test_export_matches_torch_and_accepts_other_sizes(renderer: Renderer, tmp_path) -> None:
    from model.render.onnx_export import check_onnx, export_onnx, onnx_session

    path = export_onnx(renderer, tmp_path / "g.onnx", 64, 32)
    check = check_onnx(renderer, path, 64, 32)
    assert check.max_abs_error < 1e-3
    # dynamic height / width: another size runs and matches too
    labels, instances = street_scene(96, 48, seed=5)
    x = renderer.network_input(labels, instances, {}, 0)
    with torch.inference_mode():
        expected = renderer.generator(x).numpy()
    session = onnx_session(path, 1)
    got = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() < 1e-3


def test_cli_export_reports_the_error(tmp_path, capsys) -> None:
    from main import main

    folder = tmp_path / "ckpt"
    from model.checkpoint import make_random_checkpoint

    make_random_checkpoint(folder, n_local_enhancers=1)
    out = tmp_path / "g.onnx"
    assert main(["export-onnx", "--checkpoint", str(folder), "--out", str(out), "--size", "64x32"]) == 0
    assert out.exists()
    assert "max |onnx - torch|" in capsys.readouterr().out
