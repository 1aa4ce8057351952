"""The Render menu's precision choice reaches the renderer, survives restarts and reloads the model."""

from __future__ import annotations

import torch

from model.checkpoint import make_random_checkpoint


def test_render_menu_precision_reloads_the_model_in_that_precision(window_factory, qtbot, tmp_path) -> None:
    folder = make_random_checkpoint(tmp_path / "ckpt")
    window = window_factory(size=(128, 64))
    window.load_model(folder)
    qtbot.waitUntil(lambda: window.worker.renderer is not None, timeout=20000)
    assert window.render_controls.precision_label.text() == "fp32"  # the suite's P2P_PRECISION
    first = window._model.renderer

    window.render_controls.precision_actions["bf16"].trigger()
    qtbot.waitUntil(lambda: window._model.renderer is not first, timeout=20000)
    renderer = window._model.renderer
    assert renderer.precision.precision == "bf16"
    assert window._model.incremental.executor.dtype == torch.bfloat16
    assert window.render_controls.precision_label.text() == "bf16"
    assert "asked for bf16" in window.render_controls.precision_label.toolTip()
    assert window.settings.value("render/precision") == "bf16"
    qtbot.waitUntil(lambda: window.render_label.text().startswith("up to date"), timeout=20000)
    assert window.canvas.has_render
