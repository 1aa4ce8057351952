"""The model loader moves the long-lived heap out of the cyclic collector's way (editor/heap.py)."""

from __future__ import annotations

import gc
import weakref

from editor.heap import settle_long_lived_objects
from editor.model_loader import ModelLoader
from model.checkpoint import make_random_checkpoint


def test_loading_a_model_freezes_what_is_alive(qapp, tmp_path) -> None:
    folder = make_random_checkpoint(tmp_path / "ckpt")
    gc.unfreeze()
    loaded = []
    loader = ModelLoader(folder, size=(128, 64))
    loader.loaded.connect(lambda model, _path: loaded.append(model))
    loader.run()  # on this thread: the same work the editor runs on its loader thread
    assert loaded and loaded[0].renderer is not None
    frozen, scanned = gc.get_freeze_count(), len(gc.get_objects())
    print(f"\nafter a model load: {frozen} objects frozen, {scanned} left for the collector to scan")
    assert frozen > 10 * scanned  # a full collection now walks a small fraction of the heap


def test_a_replaced_model_is_still_freed(tmp_path) -> None:
    from model.render.full import Renderer

    renderer = Renderer.from_checkpoint(make_random_checkpoint(tmp_path / "ckpt"))
    settle_long_lived_objects()  # the renderer is now frozen, as after a load
    gone = weakref.ref(renderer)
    generator = weakref.ref(renderer.generator)
    was_enabled = gc.isenabled()
    gc.disable()  # refcounting alone, no collection, frees a renderer: it has no reference cycles
    try:
        del renderer
        assert gone() is None and generator() is None
    finally:
        if was_enabled:
            gc.enable()
