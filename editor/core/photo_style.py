"""Styles taken from a photo: the encoder's code of each object in a labelled photo (no Qt here).

The photo, its label map and its instance map (any layout ``model.scene_io.load_scene`` reads:
labelIds or colour labels, instanceIds found beside them) go through the checkpoint's feature
encoder E exactly as ``encode-features`` runs it: the photo in [-1, 1], pooled as the checkpoint
records, E's output averaged per instance. An object's code then becomes an explicit style vector
of a scene's object, which the styles file stores as a list of floats.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from model.data.folders import photo_tensor, read_image
from model.errors import EditorError, ImageFileError
from model.features import raw_instance_codes
from model.scene_io import load_scene

log = logging.getLogger(__name__)


class PhotoStyleError(EditorError):
    """The photo cannot give styles (no encoder in the model, sizes that disagree)."""


@dataclass
class PhotoCodes:
    photo: np.ndarray = field(repr=False)  # H×W×3 uint8
    labels: np.ndarray = field(repr=False)
    instances: np.ndarray = field(repr=False)
    codes: dict[int, tuple[float, ...]]  # instance id → E's mean code over its pixels

    def code_at(self, x: int, y: int) -> tuple[int, tuple[float, ...] | None]:
        """(instance id, its code or None) under a photo pixel."""
        instance = int(self.instances[y, x])
        return instance, self.codes.get(instance)


def has_encoder(renderer: Any) -> bool:
    model = getattr(renderer, "model", None)
    return getattr(model, "encoder", None) is not None and getattr(renderer, "feat_num", 0) > 0


@torch.inference_mode()
def encode_photo(
    renderer: Any, photo_path: str | Path, label_path: str | Path, inst_path: str | Path | None = None
) -> PhotoCodes:
    """Run the renderer's encoder on a labelled photo; every instance's code (``model.render.full.Renderer``)."""
    if not has_encoder(renderer):
        raise PhotoStyleError("this model has no feature encoder, so it cannot take styles from a photo")
    photo = read_image(Path(photo_path))
    scene = load_scene(label_path, renderer.label_set, inst_path)
    if scene.labels.shape != photo.shape[:2]:
        raise ImageFileError(
            f"photo is {photo.shape[1]}x{photo.shape[0]} but its label map is "
            f"{scene.size[0]}x{scene.size[1]}",
            label_path,
        )
    encoder = renderer.model.encoder
    config = renderer.model.config.encoder
    downsample = int(getattr(config, "encoder_downsample", 0))
    stride = 2 ** (int(getattr(config, "n_downsampling", 4)) + downsample)
    height, width = scene.labels.shape
    pad_h, pad_w = (-height) % stride, (-width) % stride  # E needs its stride; edges replicate
    image = np.pad(photo, ((0, pad_h), (0, pad_w), (0, 0)), mode="edge")
    instances = np.pad(scene.instances, ((0, pad_h), (0, pad_w)), mode="edge")
    device = next(encoder.parameters()).device
    unique, means, _counts = raw_instance_codes(
        encoder,
        photo_tensor(image)[None].to(device),
        torch.from_numpy(instances.astype(np.int64))[None].to(device),
        downsample,
    )
    codes = {
        int(i): tuple(float(v) for v in m)
        for i, m in zip(unique[:, 1].tolist(), means.float().cpu().numpy(), strict=True)
    }
    log.info("%s: codes of %d instances (E on the photo pooled %d times)", photo_path, len(codes), downsample)
    return PhotoCodes(photo, scene.labels, scene.instances, codes)


def guess_maps(photo_path: str | Path) -> tuple[Path | None, Path | None]:
    """The label and instance maps of a photo in the layouts the dataset reader knows: sibling
    folders ``X_img`` / ``X_label`` / ``X_inst`` (ours and pix2pixHD's), or Cityscapes'
    ``*_leftImg8bit.png`` beside ``*_gtFine_labelIds.png`` / ``*_gtFine_instanceIds.png``."""
    photo = Path(photo_path)
    candidates: list[tuple[Path, Path]] = []
    folder = photo.parent
    if folder.name.endswith("_img"):
        stem = folder.name[: -len("_img")]
        candidates.append(
            (folder.with_name(stem + "_label") / photo.name, folder.with_name(stem + "_inst") / photo.name)
        )
    if "_leftImg8bit" in photo.name:
        base = photo.name.replace("_leftImg8bit", "_gtFine_labelIds")
        inst = photo.name.replace("_leftImg8bit", "_gtFine_instanceIds")
        gt = Path(str(folder).replace("leftImg8bit", "gtFine"))
        candidates += [(folder / base, folder / inst), (gt / base, gt / inst)]
    for label, inst in candidates:
        if label.exists():
            return label, inst if inst.exists() else None
    return None, None
