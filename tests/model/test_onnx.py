"""ONNX export of a tiny generator matches torch (needs onnx and onnxruntime:
the project's [onnx] extra). Without them the tests are reported as skipped with the reason."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
from support.render_scenes import street_scene

from model.checkpoint import make_random_checkpoint
from model.render.full import Renderer

MISSING = [m for m in ("onnx", "onnxruntime") if importlib.util.find_spec(m) is None]
pytestmark = pytest.mark.skipif(
    bool(MISSING),
    reason=f"BLOCKED: {', '.join(MISSING)} not installed "
    "(pip install -e '.[onnx]'); ONNX export is untested here",
)


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """Export a tiny random LocalEnhancer checkpoint through the CLI once."""
    import contextlib
    import io

    from main import main

    folder = tmp_path_factory.mktemp("onnx") / "ckpt"
    make_random_checkpoint(folder, n_local_enhancers=1, seed=2)
    out = folder.parent / "g.onnx"
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        code = main(["export-onnx", "--checkpoint", str(folder), "--out", str(out), "--size", "64x32"])
    assert code == 0
    return folder, out, stdout.getvalue()


def test_cli_export_reports_a_small_error(exported: tuple[Path, Path, str]) -> None:
    _, out, printed = exported
    assert out.exists()
    assert "max |onnx - torch|" in printed
    error = float(printed.split("max |onnx - torch| = ")[1].split()[0])
    assert error < 1e-3


def test_export_accepts_other_sizes_and_matches_torch(exported: tuple[Path, Path, str]) -> None:
    from model.render.onnx_export import check_onnx, onnx_session

    folder, out, _ = exported
    renderer = Renderer.from_checkpoint(folder, "cpu")
    assert check_onnx(renderer, out, 64, 32).max_abs_error < 1e-3
    labels, instances = street_scene(96, 48, seed=5)  # dynamic height / width
    x = renderer.network_input(labels, instances, {}, 0)
    with torch.inference_mode():
        expected = renderer.generator(x).numpy()
    session = onnx_session(out, 1)
    got = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() < 1e-3
