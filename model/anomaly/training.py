"""Training the inpainter: crops of road with a train-family anomaly composited in, the diffusion
noise loss plus FARM's reconstruction loss (FAST):

    loss = MSE(ε̂, ε) + farm_weight · MSE(FARM(x_t, m, t), m ⊙ x₀)

The run is resumable: ``state.safetensors`` (live weights, weight average, Adam moments) and
``state.json`` (step, config) in the run folder are replaced atomically every ``save_every`` steps,
and the weight average is also written as a loadable inpainter checkpoint (``ema/``).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file
from safetensors.torch import save as save_tensors_bytes
from torch.nn import functional as F

from model.anomaly.appearance import AppearanceConfig, vary_appearance
from model.anomaly.crops import paste_patch
from model.anomaly.families import TRAIN_FAMILIES, draw_random
from model.anomaly.inpainter import Inpainter, InpainterConfig, save_inpainter
from model.atomic_files import atomic_write_bytes
from model.cpu_speed import bf16_training_pays

log = logging.getLogger(__name__)

STATE_FILE = "state.safetensors"
STATE_JSON = "state.json"
EMA_FOLDER = "ema"


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 20000
    batch: int = 16
    lr: float = 2e-4
    farm_weight: float = 5.0  # FAST's weight on FARM's reconstruction loss
    ema_decay: float = 0.995
    save_every: int = 100
    min_size: float = 0.2  # anomaly side as a fraction of the crop
    max_size: float = 0.7
    recolour: float = AppearanceConfig().probability  # share of objects recoloured (appearance.py)
    seed: int = 0
    cpu_bf16: bool = False  # bf16 autocast where this CPU runs the networks' convs faster in it


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """N×H×W×3 float [0, 1] → N×3×H×W in [-1, 1]."""
    return torch.from_numpy(images).permute(0, 3, 1, 2).float() * 2.0 - 1.0


def make_batch(
    bank: np.ndarray, config: TrainConfig, rng: np.random.Generator
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(x₀ with anomaly, mask, clean background), each N×C×crop×crop."""
    crop = bank.shape[1]
    picks = rng.integers(len(bank), size=config.batch)
    clean = bank[picks].astype(np.float32) / 255.0
    flips = rng.random(config.batch) < 0.5
    clean[flips] = clean[flips, :, ::-1]
    x0s, masks = [], []
    appearance = AppearanceConfig(probability=config.recolour)
    for image in clean:
        size = int(rng.integers(int(config.min_size * crop), int(config.max_size * crop) + 1))
        patch = vary_appearance(draw_random(TRAIN_FAMILIES, size, rng), appearance, rng)
        top, left = (int(v) for v in rng.integers(0, crop - size + 1, size=2))
        x0, mask = paste_patch(image, patch, top, left)
        x0s.append(x0)
        masks.append(mask)
    mask_t = torch.from_numpy(np.stack(masks)[:, None].astype(np.float32))
    return to_tensor(np.stack(x0s)), mask_t, to_tensor(clean)


def diffusion_losses(
    model: Inpainter,
    x0: torch.Tensor,
    mask: torch.Tensor,
    background: torch.Tensor,
    generator: torch.Generator,
    bf16: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(noise MSE, FARM reconstruction MSE) for one batch at random timesteps; ``bf16``: the
    networks run under CPU bf16 autocast, the losses in float32."""
    t = torch.randint(0, model.schedule.steps, (x0.shape[0],), generator=generator)
    noise = torch.randn(x0.shape, generator=generator)
    x_t = model.schedule.add_noise(x0, noise, t)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        eps = model.denoiser(x_t, mask, background, t)
        farm = model.farm(x_t, mask, t)
    return F.mse_loss(eps.float(), noise), F.mse_loss(farm.float(), mask * x0)


def _optimizer_state(opt: torch.optim.Optimizer, params: list[torch.nn.Parameter]) -> dict[str, torch.Tensor]:
    out = {}
    for i, p in enumerate(params):
        state = opt.state.get(p, {})
        for key in ("exp_avg", "exp_avg_sq", "step"):
            if key in state:
                out[f"opt.{i}.{key}"] = (
                    torch.as_tensor(state[key]).detach().clone().reshape(-1)
                    if key == "step"
                    else state[key].detach().clone()
                )
    return out


def _load_optimizer_state(
    opt: torch.optim.Optimizer, params: list[torch.nn.Parameter], tensors: dict[str, torch.Tensor]
) -> None:
    for i, p in enumerate(params):
        if f"opt.{i}.exp_avg" in tensors:
            opt.state[p] = {
                "exp_avg": tensors[f"opt.{i}.exp_avg"],
                "exp_avg_sq": tensors[f"opt.{i}.exp_avg_sq"],
                "step": tensors[f"opt.{i}.step"].reshape(()),
            }


def train_inpainter(
    bank: np.ndarray,
    run_dir: Path,
    config: TrainConfig,
    model_config: InpainterConfig | None = None,
    progress: bool = True,
) -> Inpainter:
    """Train (or resume) in ``run_dir``; returns the weight-averaged model."""
    from tqdm import tqdm

    model_config = model_config or InpainterConfig()
    run_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(config.seed)
    model_config = InpainterConfig(
        model_config.network, model_config.schedule, bank.shape[1], TRAIN_FAMILIES, 0, model_config.extra
    )
    model = Inpainter(model_config)
    ema = Inpainter(model_config)
    ema.load_state_dict(model.state_dict())
    params = list(model.parameters())
    opt = torch.optim.Adam(params, lr=config.lr)
    step = 0
    if (run_dir / STATE_FILE).is_file():
        tensors = load_file(str(run_dir / STATE_FILE))
        model.load_state_dict({k[5:]: v for k, v in tensors.items() if k.startswith("live.")})
        ema.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("ema.")})
        _load_optimizer_state(opt, params, tensors)
        step = int(json.loads((run_dir / STATE_JSON).read_text())["step"])
        log.info("resumed %s at step %d", run_dir, step)
    bf16 = config.cpu_bf16 and bf16_training_pays(model, "train-inpainter --cpu-bf16")
    rng = np.random.default_rng([config.seed, step])
    gen = torch.Generator().manual_seed(config.seed * 100003 + step)
    bar = tqdm(total=config.steps, initial=step, disable=not progress, desc="train-inpainter")
    recent: list[tuple[float, float]] = []
    start = time.time()
    while step < config.steps:
        x0, mask, background = make_batch(bank, config, rng)
        noise_loss, farm_loss = diffusion_losses(model, x0, mask, background, gen, bf16)
        loss = noise_loss + config.farm_weight * farm_loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            for pe, pm in zip(ema.parameters(), model.parameters(), strict=True):
                pe.lerp_(pm, 1.0 - config.ema_decay)
        step += 1
        recent.append((noise_loss.item(), farm_loss.item()))
        bar.update(1)
        if step % config.save_every == 0 or step == config.steps:
            noise_avg, farm_avg = np.mean(recent, axis=0)
            recent.clear()
            bar.set_postfix(noise=f"{noise_avg:.4f}", farm=f"{farm_avg:.4f}")
            _save_state(run_dir, model, ema, opt, params, step, config, model_config)
            with (run_dir / "log.jsonl").open("a") as f:
                f.write(
                    json.dumps(
                        {
                            "step": step,
                            "noise": float(noise_avg),
                            "farm": float(farm_avg),
                            "wall_s": round(time.time() - start, 1),
                        }
                    )
                    + "\n"
                )
    bar.close()
    return ema.eval()


def _save_state(
    run_dir: Path,
    model: Inpainter,
    ema: Inpainter,
    opt: torch.optim.Optimizer,
    params: list[torch.nn.Parameter],
    step: int,
    config: TrainConfig,
    model_config: InpainterConfig,
) -> None:
    tensors = {f"live.{k}": v.detach().clone() for k, v in model.state_dict().items()}
    tensors.update({f"ema.{k}": v.detach().clone() for k, v in ema.state_dict().items()})
    tensors.update(_optimizer_state(opt, params))
    atomic_write_bytes(run_dir / STATE_FILE, save_tensors_bytes(tensors))
    atomic_write_bytes(run_dir / STATE_JSON, json.dumps({"step": step, "train": asdict(config)}).encode())
    save_inpainter(run_dir / EMA_FOLDER, ema, step=step)
