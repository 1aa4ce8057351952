"""Checkpoints: the native format (safetensors + JSON config) and official pix2pixHD imports.

A native checkpoint is a folder::

    config.json            ModelConfig: generator / encoder architecture, label set, training size
    generator.safetensors  G weights, with pix2pixHD's key names
    encoder.safetensors    E weights (only with instance features)
    clusters.npz           k-means centres per class: arrays named "class_<id>", k×feat_num, and
                           optionally "members_<id>": how many training instances each centre holds

An official checkpoint is pix2pixHD's ``latest_net_G.pth`` (read with ``weights_only=True``), with
``latest_net_E.pth`` and ``features_clustered_*.npy`` picked up beside it when present. The
architecture is inferred from the key names and tensor shapes.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file
from safetensors.torch import save as save_tensors_bytes
from torch import nn

from model.atomic_files import atomic_write_bytes, atomic_write_files
from model.errors import CheckpointError, read_json_file
from model.labels import LabelSet, cityscapes
from model.networks.encoder import EncoderConfig, FeatureEncoder
from model.networks.generator import GeneratorConfig, build_generator
from model.official_pickle import read_official_features

log = logging.getLogger(__name__)

FORMAT_NAME = "pix2pixhd-editor"
FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
GENERATOR_FILE = "generator.safetensors"
ENCODER_FILE = "encoder.safetensors"
CLUSTERS_FILE = "clusters.npz"


@dataclass(frozen=True)
class ModelConfig:
    """What a checkpoint needs to rebuild its networks and feed them."""

    generator: GeneratorConfig
    label_set: LabelSet
    use_edges: bool = True  # instance boundary channel
    feat_num: int = 0  # per-instance feature channels fed to G
    encoder: EncoderConfig | None = None
    train_size: tuple[int, int] | None = None  # (width, height) of the finest training resolution

    def __post_init__(self) -> None:
        noise = self.generator.noise_nc
        expected = self.label_set.num_classes + int(self.use_edges) + self.feat_num + noise
        if self.generator.input_nc != expected:
            raise CheckpointError(
                f"generator takes {self.generator.input_nc} input channels but label set "
                f"'{self.label_set.name}' ({self.label_set.num_classes} classes)"
                f"{' + edge' if self.use_edges else ''}{f' + {self.feat_num} features' if self.feat_num else ''}"
                f"{f' + {noise} noise' if noise else ''} gives {expected}"
            )
        if self.encoder is not None and self.encoder.feat_num != self.feat_num:
            raise CheckpointError(
                f"encoder makes {self.encoder.feat_num} features but G takes {self.feat_num}"
            )

    def to_json(self) -> dict:
        return {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "generator": self.generator.to_dict(),
            "encoder": self.encoder.to_dict() if self.encoder else None,
            "use_edges": self.use_edges,
            "feat_num": self.feat_num,
            "train_size": list(self.train_size) if self.train_size else None,
            "label_set": self.label_set.to_json(),
        }

    @classmethod
    def from_json(cls, data: Mapping, source: Path | None = None) -> ModelConfig:
        try:
            if data.get("format") != FORMAT_NAME:
                raise CheckpointError(f"not a {FORMAT_NAME} config")
            encoder = data.get("encoder")
            train_size = data.get("train_size")
            return cls(
                generator=GeneratorConfig(**data["generator"]),
                label_set=LabelSet.from_json(data["label_set"], source),
                use_edges=bool(data.get("use_edges", True)),
                feat_num=int(data.get("feat_num", 0)),
                encoder=EncoderConfig(**encoder) if encoder else None,
                train_size=(int(train_size[0]), int(train_size[1])) if train_size else None,
            )
        except CheckpointError as exc:  # raised above or by __post_init__ without a path: add it
            raise CheckpointError(str(exc), source) from None
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise CheckpointError(f"invalid config ({exc.__class__.__name__}: {exc})", source) from None


@dataclass
class LoadedModel:
    config: ModelConfig
    generator: nn.Module
    encoder: FeatureEncoder | None = None
    clusters: dict[int, np.ndarray] = field(default_factory=dict)  # class id → k×feat_num centres
    source: Path | None = None
    official: bool = False
    cluster_members: dict[int, np.ndarray] = field(default_factory=dict)  # class id → instances per centre


# ----- native -----------------------------------------------------------------------------------
def save_checkpoint(
    folder: str | Path,
    config: ModelConfig,
    generator: nn.Module,
    encoder: nn.Module | None = None,
    clusters: Mapping[int, np.ndarray] | None = None,
) -> Path:
    """Write a native checkpoint into ``folder`` as one atomic set (see model.atomic_files): after a
    crash, its files are all old or all new, never a new G beside an old config."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_files(checkpoint_files(folder, config, generator, encoder, clusters))
    return folder


def checkpoint_files(
    folder: Path,
    config: ModelConfig,
    generator: nn.Module,
    encoder: nn.Module | None = None,
    clusters: Mapping[int, np.ndarray] | None = None,
) -> dict[Path, bytes]:
    """A native checkpoint's files in ``folder`` and their bytes, for a caller to write as one set."""
    files = {folder / GENERATOR_FILE: _tensor_bytes(generator)}
    if encoder is not None:
        files[folder / ENCODER_FILE] = _tensor_bytes(encoder)
    if clusters is not None:
        files[folder / CLUSTERS_FILE] = clusters_bytes(clusters)
    files[folder / CONFIG_FILE] = json.dumps(config.to_json(), indent=1).encode("utf-8")
    return files


def _tensor_bytes(module: nn.Module) -> bytes:
    state = {k: v.detach().to("cpu").contiguous() for k, v in module.state_dict().items()}
    return save_tensors_bytes(state)


def save_clusters(
    path: str | Path, clusters: Mapping[int, np.ndarray], members: Mapping[int, np.ndarray] | None = None
) -> None:
    """Centres as ``class_<id>``; ``members`` (instances per centre) as ``members_<id>``."""
    atomic_write_bytes(path, clusters_bytes(clusters, members))


def clusters_bytes(
    clusters: Mapping[int, np.ndarray], members: Mapping[int, np.ndarray] | None = None
) -> bytes:
    """The .npz bytes of ``save_clusters`` (no pickled objects)."""
    import io

    arrays = {f"class_{int(k)}": np.asarray(v, dtype=np.float32) for k, v in clusters.items()}
    arrays.update({f"members_{int(k)}": np.asarray(v, dtype=np.int64) for k, v in (members or {}).items()})
    buffer = io.BytesIO()
    np.savez(buffer, allow_pickle=False, **arrays)
    return buffer.getvalue()


def load_clusters(path: str | Path) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
    """(centres, members) per class id; members is empty for files written before it existed."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            clusters, members = {}, {}
            for name in archive.files:
                match = re.fullmatch(r"(class|members)_(\d+)", name)
                array = archive[name]
                if match is None or array.ndim != (2 if match.group(1) == "class" else 1):
                    raise CheckpointError(f"unexpected entry '{name}'", path)
                if match.group(1) == "class":
                    clusters[int(match.group(2))] = array.astype(np.float32)
                else:
                    members[int(match.group(2))] = array.astype(np.int64)
            for class_id, counts in members.items():
                if class_id not in clusters or len(counts) != len(clusters[class_id]) or (counts < 0).any():
                    raise CheckpointError(f"members_{class_id} does not match class_{class_id}", path)
            return clusters, members
    except CheckpointError:
        raise
    except FileNotFoundError:
        raise CheckpointError("clusters file not found", path) from None
    except Exception as exc:  # noqa: BLE001 - zip, npy and pickle-refusal errors all mean a bad file
        raise CheckpointError(f"cannot read clusters ({exc.__class__.__name__}: {exc})", path) from None


def load_native(folder: str | Path, map_location: str | torch.device = "cpu") -> LoadedModel:
    folder = Path(folder)
    config_path = folder / CONFIG_FILE
    data = read_json_file(config_path, CheckpointError, "checkpoint config")
    if not isinstance(data, dict):
        raise CheckpointError("config is not a JSON object", config_path)
    config = ModelConfig.from_json(data, config_path)
    generator = build_generator(config.generator)
    _load_tensors(generator, folder / GENERATOR_FILE, map_location)
    encoder = None
    if config.encoder is not None and (folder / ENCODER_FILE).exists():
        encoder = FeatureEncoder.from_config(config.encoder)
        _load_tensors(encoder, folder / ENCODER_FILE, map_location)
    clusters, members = (
        load_clusters(folder / CLUSTERS_FILE) if (folder / CLUSTERS_FILE).exists() else ({}, {})
    )
    _check_clusters(clusters, config.feat_num, folder / CLUSTERS_FILE)
    return LoadedModel(
        config,
        generator.eval(),
        encoder.eval() if encoder else None,
        clusters,
        folder,
        cluster_members=members,
    )


def _load_tensors(module: nn.Module, path: Path, map_location: str | torch.device) -> None:
    try:
        state = load_file(str(path), device=str(map_location))
    except FileNotFoundError:
        raise CheckpointError("weights file not found", path) from None
    except Exception as exc:  # noqa: BLE001 - safetensors raises its own error types for bad files
        raise CheckpointError(f"truncated or corrupt weights ({exc})", path) from None
    _load_state(module, state, path)


def _load_state(module: nn.Module, state: Mapping[str, torch.Tensor], path: Path) -> None:
    own = module.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    wrong = [k for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    if missing or unexpected or wrong:
        detail = (
            f"missing {missing[:3]}"
            if missing
            else f"unexpected {unexpected[:3]}"
            if unexpected
            else f"shape of {wrong[0]} is {tuple(state[wrong[0]].shape)}, expected {tuple(own[wrong[0]].shape)}"
        )
        raise CheckpointError(f"weights do not fit the architecture ({detail})", path)
    module.load_state_dict(state, strict=True)


def _check_clusters(clusters: Mapping[int, np.ndarray], feat_num: int, path: Path) -> None:
    for class_id, centres in clusters.items():
        if centres.shape[1] != feat_num:
            raise CheckpointError(
                f"class {class_id} has {centres.shape[1]}-d centres but the model takes {feat_num} features",
                path,
            )


# ----- official pix2pixHD -----------------------------------------------------------------------
def _official_state(path: Path) -> dict[str, torch.Tensor]:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError("checkpoint file not found", path) from None
    except Exception as exc:  # noqa: BLE001 - weights_only refusals, zip and EOF errors
        raise CheckpointError(
            f"not a loadable weights-only checkpoint ({exc.__class__.__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''})",
            path,
        ) from None
    if isinstance(state, Mapping) and "state_dict" in state and isinstance(state["state_dict"], Mapping):
        state = state["state_dict"]
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError("expected a state dict of tensors", path)
    return {k.removeprefix("module."): v for k, v in state.items()}


def _sequence_layers(state: Mapping[str, torch.Tensor], prefix: str) -> tuple[list[int], list[int]]:
    """Indices in ``prefix.N`` of plain conv weights, and of ResNet blocks, in order."""
    convs: set[int] = set()
    blocks: set[int] = set()
    pattern = re.compile(rf"{re.escape(prefix)}\.(\d+)\.(conv_block\.)?")
    for key in state:
        match = pattern.match(key)
        if match:
            (blocks if match.group(2) else convs).add(int(match.group(1)))
    return sorted(convs), sorted(blocks)


def infer_official_generator(state: Mapping[str, torch.Tensor], path: Path | None = None) -> GeneratorConfig:
    """Read pix2pixHD's --netG/--ngf/--n_downsample_global/--n_blocks_*/--n_local_enhancers from weights."""
    try:
        levels = sorted({int(m.group(1)) for k in state if (m := re.match(r"model(\d+)_1\.", k))})
        convs, blocks = _sequence_layers(state, "model")
        stem_weight = state["model.1.weight"]
        if stem_weight.dim() != 4 or tuple(stem_weight.shape[2:]) != (7, 7) or not blocks:
            raise CheckpointError("not a pix2pixHD generator (no 7×7 stem conv or no ResNet blocks)", path)
        global_ngf, input_nc = int(stem_weight.shape[0]), int(stem_weight.shape[1])
        n_down = sum(1 for i in convs if 1 < i < blocks[0]) if blocks else 0
        n_local = len(levels)
        if levels != list(range(1, n_local + 1)):
            raise CheckpointError(f"enhancer levels {levels} are not 1..{n_local}", path)
        if n_local:
            input_nc = int(state["model1_1.1.weight"].shape[1])
            _, local_blocks = _sequence_layers(state, f"model{n_local}_2")
            n_blocks_local = len(local_blocks)
            ngf = global_ngf // 2**n_local
            output_nc = int(
                state[
                    f"model{n_local}_2.{max(_sequence_layers(state, f'model{n_local}_2')[0])}.weight"
                ].shape[0]
            )
        else:
            n_blocks_local = 3
            ngf = global_ngf
            output_nc = int(state[f"model.{max(convs)}.weight"].shape[0])
        return GeneratorConfig(
            input_nc=input_nc,
            output_nc=output_nc,
            ngf=ngf,
            n_downsample_global=n_down,
            n_blocks_global=len(blocks),
            n_local_enhancers=n_local,
            n_blocks_local=n_blocks_local,
        )
    except CheckpointError:
        raise
    except (KeyError, IndexError, ValueError) as exc:
        raise CheckpointError(f"not a pix2pixHD generator (cannot infer architecture: {exc})", path) from None


def infer_official_encoder(state: Mapping[str, torch.Tensor], path: Path | None = None) -> EncoderConfig:
    try:
        convs, _ = _sequence_layers(state, "model")
        stem_weight = state["model.1.weight"]
        n_convs = len(convs)  # stem + n down + n up + output
        return EncoderConfig(
            input_nc=int(stem_weight.shape[1]),
            feat_num=int(state[f"model.{convs[-1]}.weight"].shape[0]),
            nef=int(stem_weight.shape[0]),
            n_downsampling=(n_convs - 2) // 2,
        )
    except (KeyError, IndexError) as exc:
        raise CheckpointError(f"not a pix2pixHD encoder ({exc})", path) from None


def load_official(g_path: str | Path, label_set: LabelSet | None = None) -> LoadedModel:
    """Load ``latest_net_G.pth`` (+ ``latest_net_E.pth`` / ``features_clustered_*.npy`` beside it)."""
    g_path = Path(g_path)
    state = _official_state(g_path)
    gen_config = infer_official_generator(state, g_path)
    folder = g_path.parent
    e_path = g_path.with_name(g_path.name.replace("_net_G", "_net_E"))
    encoder_config, encoder_state = None, None
    if e_path != g_path and e_path.exists():
        encoder_state = _official_state(e_path)
        encoder_config = infer_official_encoder(encoder_state, e_path)
    feature_files = sorted(folder.glob("features_clustered_*.npy"))
    clusters = read_official_features(feature_files[-1]) if feature_files else {}

    label_set = label_set or cityscapes()
    feat_num = (
        encoder_config.feat_num
        if encoder_config
        else (next(iter(clusters.values())).shape[1] if clusters else 0)
    )
    spare = gen_config.input_nc - label_set.num_classes - feat_num
    if spare not in (0, 1):
        raise CheckpointError(
            f"generator takes {gen_config.input_nc} input channels, which does not fit label set "
            f"'{label_set.name}' ({label_set.num_classes} classes){f' + {feat_num} features' if feat_num else ''}",
            g_path,
        )
    config = ModelConfig(
        gen_config, label_set, use_edges=spare == 1, feat_num=feat_num, encoder=encoder_config
    )
    generator = build_generator(gen_config)
    _load_state(generator, state, g_path)
    encoder = None
    if encoder_config is not None and encoder_state is not None:
        encoder = FeatureEncoder.from_config(encoder_config)
        _load_state(encoder, encoder_state, e_path)
    _check_clusters(clusters, feat_num, feature_files[-1] if feature_files else folder)
    log.info("official checkpoint %s: %s", g_path, gen_config)
    return LoadedModel(
        config, generator.eval(), encoder.eval() if encoder else None, clusters, g_path, official=True
    )


# ----- entry point ------------------------------------------------------------------------------
def load_checkpoint(path: str | Path, label_set: LabelSet | None = None) -> LoadedModel:
    """A native checkpoint folder, an official ``.pth``, or a folder holding ``latest_net_G.pth``."""
    path = Path(path)
    if path.is_dir():
        if (path / CONFIG_FILE).exists():
            model = load_native(path)
            if label_set is not None and label_set.num_classes != model.config.label_set.num_classes:
                raise CheckpointError(
                    f"checkpoint is for label set '{model.config.label_set.name}' "
                    f"({model.config.label_set.num_classes} classes), not '{label_set.name}' "
                    f"({label_set.num_classes})",
                    path,
                )
            return model
        if (path / "latest_net_G.pth").exists():
            return load_official(path / "latest_net_G.pth", label_set)
        raise CheckpointError(f"folder holds neither {CONFIG_FILE} nor latest_net_G.pth", path)
    if not path.exists():
        raise CheckpointError("checkpoint not found", path)
    if path.suffix in (".pth", ".pt"):
        return load_official(path, label_set)
    if path.name == CONFIG_FILE:
        return load_checkpoint(path.parent, label_set)
    raise CheckpointError("expected a checkpoint folder or an official .pth file", path)


def make_random_checkpoint(
    folder: str | Path,
    label_set: LabelSet | None = None,
    tiny: bool = True,
    with_features: bool = True,
    seed: int = 0,
    n_local_enhancers: int = 1,
) -> Path:
    """A random-weight native checkpoint (tests, demos). Tiny: ngf 4, 2 down-samplings, 1 block."""
    label_set = label_set or cityscapes()
    torch.manual_seed(seed)
    feat_num = 3 if with_features else 0
    gen = GeneratorConfig(
        input_nc=label_set.num_classes + 1 + feat_num,
        ngf=4 if tiny else 32,
        n_downsample_global=2 if tiny else 4,
        n_blocks_global=1 if tiny else 9,
        n_local_enhancers=n_local_enhancers,
        n_blocks_local=1 if tiny else 3,
    )
    encoder_config = (
        EncoderConfig(feat_num=3, nef=4 if tiny else 16, n_downsampling=2 if tiny else 4)
        if with_features
        else None
    )
    config = ModelConfig(gen, label_set, use_edges=True, feat_num=feat_num, encoder=encoder_config)
    rng = np.random.default_rng(seed)
    clusters = (
        {lab.id: rng.uniform(-1, 1, size=(4, 3)).astype(np.float32) for lab in label_set.labels}
        if with_features
        else None
    )
    encoder = FeatureEncoder.from_config(encoder_config) if encoder_config else None
    return save_checkpoint(folder, config, build_generator(gen), encoder, clusters)
