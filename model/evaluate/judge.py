"""The judge: a small fully convolutional segmenter that scores photos at their native resolution.

pix2pixHD scores a generator by segmenting its outputs at full resolution. We have no off-the-shelf
segmenter for procedural scenes, so ``evaluate`` trains this one on the real training photos and
caches it in DATA/.judge/ (keyed by its settings and the training files).

It trains on random square crops taken at the photos' native resolution and runs fully
convolutionally on whole frames, so it sees every native pixel, as a user at 100% zoom does. Its
only augmentation is a mirror: resizing or blurring the training photos would teach it to accept a
soft picture as a sharp one, which is the very defect it has to see.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from model.data.folders import LoaderConfig, PairedDataset
from model.labels import LabelSet

log = logging.getLogger(__name__)

JUDGE_FOLDER = ".judge"  # inside the dataset root
KEY_FORMAT = 2  # 1: the 256×128 judge with PSPNet's augmentation; 2: native-resolution crops, mirror only


@dataclass(frozen=True)
class JudgeConfig:
    """How the judge is trained. ``crop``: side of the square native-resolution training crops."""

    crop: int = 128
    steps: int = 1000
    batch_size: int = 16
    lr: float = 2e-3
    width: int = 16
    seed: int = 0
    train_limit: int | None = None  # use only the first N training photos


def conv_bn(in_ch: int, out_ch: int, kernel: int = 3, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    padding = dilation * (kernel // 2)
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, kernel, stride, padding, dilation, bias=False),
        nn.BatchNorm2d(out_ch),
        nn.ReLU(inplace=True),
    )


class Segmenter(nn.Module):
    """Strided encoder to 1/16 with dilated context, fused with a 1/4 skip; cheap enough to run on
    2048×1024 frames on a CPU (about 5 GMAC a frame at width 16)."""

    def __init__(self, num_classes: int, width: int = 16) -> None:
        super().__init__()
        w = width
        self.stem = nn.Sequential(conv_bn(3, w, stride=2), conv_bn(w, w + w // 2, stride=2))  # 1/4
        self.body = nn.Sequential(
            conv_bn(w + w // 2, 3 * w, stride=2),
            conv_bn(3 * w, 3 * w),  # 1/8
            conv_bn(3 * w, 6 * w, stride=2),
            conv_bn(6 * w, 6 * w, dilation=2),  # 1/16
            conv_bn(6 * w, 6 * w, dilation=4),
        )
        self.fuse = nn.Sequential(conv_bn(6 * w + w + w // 2, 3 * w, kernel=1), conv_bn(3 * w, 2 * w))
        self.classify = nn.Conv2d(2 * w, num_classes, 1)

    def features(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(deep 1/16 features, fused 1/4 features) of N×3×H×W images in [-1, 1]."""
        skip = self.stem(image)
        deep = self.body(skip)
        up = nn.functional.interpolate(deep, size=skip.shape[-2:], mode="bilinear", align_corners=False)
        return deep, self.fuse(torch.cat([up, skip], 1))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        _, fused = self.features(image)
        return nn.functional.interpolate(
            self.classify(fused), size=image.shape[-2:], mode="bilinear", align_corners=False
        )


def class_table(classes: list[int], ignore: int = -1) -> np.ndarray:
    """A 256-entry lookup: class id → contiguous index into ``classes``; other ids → ``ignore``."""
    table = np.full(256, ignore, dtype=np.int64)
    table[classes] = np.arange(len(classes))
    return table


def random_crops(
    photos: torch.Tensor, targets: torch.Tensor, count: int, crop: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """``count`` random crop×crop windows (half of them mirrored) of N×H×W×3 uint8 photos and their
    N×H×W int8 targets; returns float images in [-1, 1] and long targets."""
    n, h, w = targets.shape
    ch, cw = min(crop, h), min(crop, w)
    pick = torch.randint(n, (count,), generator=generator)
    y0 = torch.randint(h - ch + 1, (count,), generator=generator)
    x0 = torch.randint(w - cw + 1, (count,), generator=generator)
    mirror = torch.rand(count, generator=generator) < 0.5
    images, labels = [], []
    for i, y, x, m in zip(pick.tolist(), y0.tolist(), x0.tolist(), mirror.tolist(), strict=True):
        image = photos[i, y : y + ch, x : x + cw].permute(2, 0, 1)
        label = targets[i, y : y + ch, x : x + cw]
        images.append(image.flip(-1) if m else image)
        labels.append(label.flip(-1) if m else label)
    return torch.stack(images).float().div_(127.5).sub_(1.0), torch.stack(labels).long()


def train_segmenter(
    photos: torch.Tensor, targets: torch.Tensor, num_classes: int, config: JudgeConfig, progress: bool = False
) -> Segmenter:
    """Train on random native-resolution crops of N×H×W×3 uint8 ``photos`` whose N×H×W ``targets``
    hold contiguous class indices (-1: ignored). ``progress``: a progress bar on stderr."""
    from tqdm import tqdm

    torch.manual_seed(config.seed)
    model = Segmenter(num_classes, config.width)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=config.lr, total_steps=max(config.steps, 1), pct_start=0.1
    )
    generator = torch.Generator().manual_seed(config.seed)
    model.train()
    bar = tqdm(
        total=config.steps,
        desc="training the judge (once per dataset)",
        unit="step",
        disable=not progress,
        dynamic_ncols=True,
    )
    loss = torch.tensor(float("nan"))
    for step in range(config.steps):
        x, y = random_crops(photos, targets, config.batch_size, config.crop, generator)
        loss = nn.functional.cross_entropy(model(x), y, ignore_index=-1)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        bar.update()
        if step % 50 == 0 or step == config.steps - 1:
            bar.set_postfix(loss=f"{loss.item():.3f}")
    bar.close()
    log.info("judge trained: %d steps, last loss %.3f", config.steps, loss.item())
    return model.eval()


def judge_key(data: Path, label_set: LabelSet, config: JudgeConfig) -> str:
    """What the judge depends on: its settings and the training files (names, sizes, mtimes)."""
    settings = {"format": KEY_FORMAT, "labels": label_set.name, **asdict(config)}
    dataset = PairedDataset(LoaderConfig(root=data, phase="train", resize="none", flip=False), label_set)
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    samples = dataset.samples[: config.train_limit] if config.train_limit else dataset.samples
    for sample in samples:
        for path in (sample.label, sample.image):
            stat = path.stat()
            digest.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    return digest.hexdigest()[:20]


def load_judge(folder: Path, key: str) -> tuple[Segmenter, list[int]] | None:
    weights, meta = folder / f"{key}.safetensors", folder / f"{key}.json"
    if not (weights.is_file() and meta.is_file()):
        return None
    try:
        info = json.loads(meta.read_text())
        classes = [int(c) for c in info["classes"]]
        segmenter = Segmenter(len(classes), int(info.get("width", JudgeConfig.width)))
        segmenter.load_state_dict(load_file(weights))
    except (OSError, ValueError, KeyError, RuntimeError, SafetensorError) as exc:
        log.warning("%s: cached judge unreadable (%s); training a new one", weights, exc)
        return None
    return segmenter.eval(), classes


def save_judge(folder: Path, key: str, segmenter: Segmenter, classes: list[int], config: JudgeConfig) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        save_file(
            {k: v.contiguous() for k, v in segmenter.state_dict().items()}, folder / f"{key}.safetensors"
        )
        (folder / f"{key}.json").write_text(json.dumps({"classes": classes, **asdict(config)}))
    except OSError as exc:
        log.warning("%s: cannot cache the judge (%s)", folder, exc)


def load_training_photos(
    data: Path, label_set: LabelSet, limit: int | None
) -> tuple[torch.Tensor, np.ndarray]:
    """The training split's photos (N×H×W×3 uint8) and label maps (N×H×W class ids), native size."""
    dataset = PairedDataset(LoaderConfig(root=data, phase="train", resize="none", flip=False), label_set)
    count = min(len(dataset), limit) if limit else len(dataset)
    photos: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    for i in range(count):
        lab, _, img = dataset.load_arrays(i)
        if photos and img.shape != photos[0].shape:
            from model.errors import EditorError

            raise EditorError(
                f"{dataset.samples[i].image}: {img.shape[1]}×{img.shape[0]}, but the first "
                f"training photo is {photos[0].shape[1]}×{photos[0].shape[0]}"
            )
        photos.append(img)
        labels.append(lab.astype(np.uint8))
    return torch.from_numpy(np.stack(photos)), np.stack(labels)


def obtain_judge(
    data: Path, label_set: LabelSet, config: JudgeConfig, cache: bool = True, progress: bool = False
) -> tuple[Segmenter, list[int]]:
    """The cached judge for these settings and training files, or a newly trained (and cached) one."""
    key = judge_key(data, label_set, config)
    cached = load_judge(data / JUDGE_FOLDER, key) if cache else None
    if cached is not None:
        log.info("reusing the judge %s/%s", JUDGE_FOLDER, key)
        return cached
    photos, labels = load_training_photos(data, label_set, config.train_limit)
    classes = [int(c) for c in np.unique(labels) if c != label_set.unlabeled_id]
    targets = torch.from_numpy(class_table(classes)[labels].astype(np.int8))
    log.info(
        "training the judge on %d photos of %d×%d, %d classes, %d steps of %d crops of %d px "
        "(once; cached in %s/%s)",
        len(photos),
        photos.shape[2],
        photos.shape[1],
        len(classes),
        config.steps,
        config.batch_size,
        config.crop,
        JUDGE_FOLDER,
        key,
    )
    segmenter = train_segmenter(photos, targets, len(classes), config, progress)
    if cache:
        save_judge(data / JUDGE_FOLDER, key, segmenter, classes, config)
    return segmenter, classes


@torch.inference_mode()
def segment(model: Segmenter, image: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One H×W×3 uint8 frame at full resolution → (H×W class indices, deep features, fused features)."""
    from model.data.folders import photo_tensor

    x = photo_tensor(image)[None]
    deep, fused = model.features(x)
    logits = nn.functional.interpolate(
        model.classify(fused), size=x.shape[-2:], mode="bilinear", align_corners=False
    )
    return logits[0].argmax(0), deep[0], fused[0]
