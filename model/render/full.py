"""Full-frame rendering: label map + instance map + styles → RGB image.

``Renderer`` owns a loaded generator and everything needed to feed it: the label set, the
instance-feature cluster table, the device and the precision (model.render.precision: in bfloat16
the generator runs as a bfloat16 copy whose InstanceNorms compute in float32). Sizes that are not
a multiple of the network's stride are padded (edge-replicated) and the output is cropped back.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
from torch import nn

from model.checkpoint import LoadedModel, load_checkpoint
from model.cpu_speed import bf16_speedup
from model.encoding import generator_input
from model.errors import ImageFileError
from model.labels import LabelSet
from model.noise import noise_field
from model.render.device import choose_device, configure_cpu_threads
from model.render.inputs import feature_map
from model.render.norm_stats import NORM_MODES, NormMode, forward_with_moments, measure_moments
from model.render.precision import (
    DTYPES,
    FP32,
    PrecisionChoice,
    choose_precision,
    lowered_copy,
    psnr,
    requested_precision,
)
from model.render.styles import StyleTable
from model.scene_io import Style

log = logging.getLogger(__name__)


def to_uint8(image: torch.Tensor) -> np.ndarray:
    """1×3×H×W tanh output → H×W×3 uint8, as pix2pixHD's tensor2im: (x+1)/2·255, clipped, truncated."""
    array = image[0].detach().float().cpu().permute(1, 2, 0).numpy()
    return np.clip((array + 1.0) / 2.0 * 255.0, 0, 255).astype(np.uint8)


def pad_amounts(height: int, width: int, stride: int) -> tuple[int, int]:
    return (-height) % stride, (-width) % stride


def padded_maps(labels: np.ndarray, instances: np.ndarray, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """Both maps edge-padded at the bottom and right to a multiple of ``stride``."""
    height, width = labels.shape
    pad_h, pad_w = pad_amounts(height, width, stride)
    if pad_h or pad_w:
        labels = np.pad(labels, ((0, pad_h), (0, pad_w)), mode="edge")
        instances = np.pad(instances, ((0, pad_h), (0, pad_w)), mode="edge")
    return labels, instances


class Renderer:
    def __init__(
        self,
        model: LoadedModel,
        device: str | torch.device | None = None,
        norm_stats: NormMode = "reference",
        precision: PrecisionChoice = FP32,
    ) -> None:
        """``norm_stats``: "reference" (styles stay local; default) or "live" (the official pipeline's
        statistics); see model.render.norm_stats. ``precision``: what the generator computes in
        (``from_checkpoint`` chooses it by measurement)."""
        if norm_stats not in NORM_MODES:
            raise ValueError(f"norm_stats must be one of {NORM_MODES}")
        self.norm_stats = norm_stats
        self.model = model
        self.device = choose_device(str(device) if device is not None else None)
        if self.device.type == "cpu":
            configure_cpu_threads()
        self.generator = model.generator.to(self.device).eval()
        self.precision = precision
        self._network: nn.Module | None = self.generator if precision.dtype == torch.float32 else None
        self._network_lock = threading.Lock()
        config = model.config
        self.label_set: LabelSet = config.label_set
        self.stride = config.generator.stride
        self.feat_num = config.feat_num
        self.noise_nc = config.generator.noise_nc
        self.input_nc = config.generator.input_nc  # classes + edge + features + noise
        self.use_edges = config.use_edges
        self.styles = StyleTable(
            model.clusters,
            self.label_set.num_classes,
            self.feat_num,
            most_common_first=not model.official,
            members=model.cluster_members,
        )

    @classmethod
    def from_checkpoint(
        cls,
        path: str | Path,
        device: str | torch.device | None = None,
        label_set: LabelSet | None = None,
        norm_stats: NormMode = "reference",
        precision: str | None = None,
    ) -> Renderer:
        """Load a checkpoint onto ``device`` in ``precision`` ("auto", "fp32" or "bf16"; None: the
        ``P2P_PRECISION`` environment variable, else "auto"). An unavailable device or an unknown
        precision is refused before any weights are read."""
        checked = choose_device(str(device) if device is not None else None)
        request = requested_precision(precision)
        model = load_checkpoint(path, label_set)
        choice = choose_precision(
            request, checked, lambda: measure_precision(model, checked), model_identity(model)
        )
        return cls(model, checked, norm_stats, choice)

    @property
    def network(self) -> nn.Module:
        """What renders run: the generator itself, or its lowered-precision copy, made on first use
        (the editor renders through the incremental executor and may never need it)."""
        with self._network_lock:
            if self._network is None:
                self._network = lowered_copy(self.generator, self.precision.dtype)
            return self._network

    def needs_reference(self, styles: Mapping[int, Style] | None) -> bool:
        """True when the statistics must come from a separate reference pass: reference statistics,
        a model with features, and some styles chosen (without any, the render is its own reference)."""
        return self.norm_stats == "reference" and self.feat_num > 0 and bool(styles)

    def num_styles(self, class_id: int) -> int:
        return self.styles.num_styles(class_id) if self.feat_num else 0

    def style_shares(self, class_id: int) -> np.ndarray | None:
        """Each style's share of the class's training instances (None: unknown)."""
        return self.styles.shares(class_id) if self.feat_num else None

    # ----- inputs -------------------------------------------------------------------------------
    def check_maps(self, labels: np.ndarray, instances: np.ndarray) -> None:
        if labels.shape != instances.shape or labels.ndim != 2:
            raise ImageFileError(
                f"label map {labels.shape} and instance map {instances.shape} differ in size"
            )
        self.label_set.check_ids(labels)

    def network_input(
        self, labels: np.ndarray, instances: np.ndarray, styles: Mapping[int, Style], seed: int = 0
    ) -> torch.Tensor:
        """1×C×H'×W' input on the device, padded to the stride."""
        labels, instances = padded_maps(labels, instances, self.stride)
        features = None
        if self.feat_num:
            codes = feature_map(self.styles, instances.astype(np.int64, copy=False), styles, seed)
            features = torch.from_numpy(codes).permute(2, 0, 1)[None].to(self.device)
        if self.noise_nc:  # the render noise goes after the codes, as G was trained
            field = np.require(noise_field(*labels.shape, self.noise_nc), requirements="W")  # a copy
            noise = torch.from_numpy(field).permute(2, 0, 1)[None].to(self.device)
            features = noise if features is None else torch.cat([features, noise], 1)
        return generator_input(
            torch.from_numpy(labels.astype(np.int64))[None].to(self.device),
            torch.from_numpy(instances.astype(np.int64))[None].to(self.device),
            self.label_set.num_classes,
            features,
            self.use_edges,
        )

    # ----- rendering ----------------------------------------------------------------------------
    @torch.inference_mode()
    def render_tensor(self, x: torch.Tensor, reference: torch.Tensor | None = None) -> torch.Tensor:
        """G(x) in float32, computed in the renderer's precision; with ``reference``, every
        InstanceNorm uses the statistics measured on G(reference)."""
        dtype = self.precision.dtype
        if dtype != torch.float32:
            x = x.to(dtype=dtype, memory_format=torch.channels_last)
            if reference is not None:
                reference = reference.to(dtype=dtype, memory_format=torch.channels_last)
        if reference is None:
            out = self.network(x)
        else:
            out = forward_with_moments(self.network, x, measure_moments(self.network, reference))
        return out.float()

    def render(
        self,
        labels: np.ndarray,
        instances: np.ndarray,
        styles: Mapping[int, Style] | None = None,
        seed: int = 0,
    ) -> np.ndarray:
        """H×W labels + instances → H×W×3 uint8."""
        self.check_maps(labels, instances)
        height, width = labels.shape
        reference = self.network_input(labels, instances, {}, seed) if self.needs_reference(styles) else None
        out = self.render_tensor(self.network_input(labels, instances, styles or {}, seed), reference)
        return to_uint8(out[:, :, :height, :width])

    def render_crop(
        self,
        labels: np.ndarray,
        instances: np.ndarray,
        styles: Mapping[int, Style] | None,
        box: tuple[int, int, int, int],
        seed: int = 0,
    ) -> np.ndarray:
        """Render only the crop ``box`` = (x0, y0, x1, y1) as a standalone image (style thumbnails)."""
        x0, y0, x1, y1 = box
        height, width = labels.shape
        x0, x1 = max(0, x0), min(width, x1)
        y0, y1 = max(0, y0), min(height, y1)
        return self.render(labels[y0:y1, x0:x1], instances[y0:y1, x0:x1], styles, seed)


def model_identity(model: LoadedModel) -> str:
    """What a cached precision decision is valid for: the architecture and the weights' file."""
    parameters = sum(p.numel() for p in model.generator.parameters())
    source = model.source
    stamp = ""
    if source is not None:
        try:
            stat = source.stat()
            stamp = f"{stat.st_size}:{stat.st_mtime_ns}"
        except OSError:
            pass
    return f"{model.config.generator}|{parameters}|{source}|{stamp}"


PROBE_SIZE = (512, 256)  # width, height of the scene the bf16 render is checked on


@torch.inference_mode()
def measure_precision(model: LoadedModel, device: torch.device) -> tuple[float, float, float]:
    """(fp32 ms, bf16 ms, PSNR of bf16 against fp32) for ``choose_precision``: the model's own most
    expensive conv shapes timed in both precisions, and a bundled sample scene (or, without one, a
    synthetic layout) rendered in both at 512×256."""
    from model.render.samples import load_samples

    fp32_ms, bf16_ms = bf16_speedup(model.generator)
    fp32 = Renderer(model, device, precision=FP32)
    bf16 = Renderer(model, device, precision=PrecisionChoice("bf16", "probe"))
    width, height = PROBE_SIZE
    try:
        sample = load_samples(width, height, fp32.label_set)[0]
        labels, instances = sample.labels, sample.instances
    except Exception:  # noqa: BLE001 - no samples (or another label set): a striped layout will do
        ids = np.flatnonzero(fp32.label_set.valid_mask)
        labels = ids[(np.arange(height)[:, None] // 16 + np.arange(width)[None, :] // 32) % len(ids)]
        instances = labels.astype(np.int32)
    x = fp32.network_input(labels, instances, {})
    quality = psnr(fp32.render_tensor(x), bf16.render_tensor(x))
    log.info("precision probe: fp32 %.1f ms, bf16 %.1f ms, bf16 %.1f dB", fp32_ms, bf16_ms, quality)
    return fp32_ms, bf16_ms, quality


def precision_choice(name: str) -> PrecisionChoice:
    """An explicit precision ("fp32" or "bf16") as a choice, e.g. for tests and the bench."""
    if name not in DTYPES:
        raise ValueError(f"unknown precision {name!r}")
    return PrecisionChoice(name, f"asked for {name}")  # type: ignore[arg-type]
