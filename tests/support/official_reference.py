"""An independent, test-only model of pix2pixHD's official inference pipeline, written from the
architecture facts in DESIGN.md (layer order, key names, input encoding, tensor2im), so the
project's importer and renderer can be checked against it. It deliberately shares no code with
model/: networks are plain nn.Sequential lists built here, and the input is encoded the way the
official data loader does (PIL label → float ×255 → long → scatter one-hot; edges from 4-neighbour
differences; per-instance features from the clustered centres).
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from torch import nn


def _norm(c: int) -> nn.Module:
    return nn.InstanceNorm2d(c, affine=False)


class _Res(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(c, c, 3, padding=0),
            _norm(c),
            nn.ReLU(True),
            nn.ReflectionPad2d(1),
            nn.Conv2d(c, c, 3, padding=0),
            _norm(c),
        )

    def forward(self, x):
        return x + self.conv_block(x)


def official_global_layers(
    input_nc: int, output_nc: int, ngf: int, n_down: int, n_blocks: int
) -> list[nn.Module]:
    layers: list[nn.Module] = [
        nn.ReflectionPad2d(3),
        nn.Conv2d(input_nc, ngf, kernel_size=7, padding=0),
        _norm(ngf),
        nn.ReLU(True),
    ]
    for i in range(n_down):
        m = 2**i
        layers += [
            nn.Conv2d(ngf * m, ngf * m * 2, kernel_size=3, stride=2, padding=1),
            _norm(ngf * m * 2),
            nn.ReLU(True),
        ]
    m = 2**n_down
    layers += [_Res(ngf * m) for _ in range(n_blocks)]
    for i in range(n_down):
        m = 2 ** (n_down - i)
        layers += [
            nn.ConvTranspose2d(ngf * m, ngf * m // 2, kernel_size=3, stride=2, padding=1, output_padding=1),
            _norm(ngf * m // 2),
            nn.ReLU(True),
        ]
    layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, kernel_size=7, padding=0), nn.Tanh()]
    return layers


class OfficialGlobal(nn.Module):
    def __init__(self, input_nc, output_nc, ngf, n_down, n_blocks):
        super().__init__()
        self.model = nn.Sequential(*official_global_layers(input_nc, output_nc, ngf, n_down, n_blocks))

    def forward(self, x):
        return self.model(x)


class OfficialLocal(nn.Module):
    def __init__(self, input_nc, output_nc, ngf, n_down, n_blocks, n_local, n_blocks_local):
        super().__init__()
        self.n_local = n_local
        layers = official_global_layers(input_nc, output_nc, ngf * 2**n_local, n_down, n_blocks)
        self.model = nn.Sequential(*layers[:-3])
        for n in range(1, n_local + 1):
            g = ngf * 2 ** (n_local - n)
            down = [
                nn.ReflectionPad2d(3),
                nn.Conv2d(input_nc, g, kernel_size=7, padding=0),
                _norm(g),
                nn.ReLU(True),
                nn.Conv2d(g, g * 2, kernel_size=3, stride=2, padding=1),
                _norm(g * 2),
                nn.ReLU(True),
            ]
            upl: list[nn.Module] = [_Res(g * 2) for _ in range(n_blocks_local)]
            upl += [
                nn.ConvTranspose2d(g * 2, g, kernel_size=3, stride=2, padding=1, output_padding=1),
                _norm(g),
                nn.ReLU(True),
            ]
            if n == n_local:
                upl += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, kernel_size=7, padding=0), nn.Tanh()]
            setattr(self, f"model{n}_1", nn.Sequential(*down))
            setattr(self, f"model{n}_2", nn.Sequential(*upl))
        self.downsample = nn.AvgPool2d(3, stride=2, padding=[1, 1], count_include_pad=False)

    def forward(self, x):
        inputs = [x]
        for _ in range(self.n_local):
            inputs.append(self.downsample(inputs[-1]))
        out = self.model(inputs[-1])
        for n in range(1, self.n_local + 1):
            out = getattr(self, f"model{n}_2")(getattr(self, f"model{n}_1")(inputs[self.n_local - n]) + out)
        return out


def official_encode(
    label_png: str,
    inst_png: str | None,
    label_nc: int,
    clusters: dict[int, np.ndarray] | None = None,
    cluster_choice: dict[int, int] | None = None,
) -> torch.Tensor:
    label = torch.from_numpy(np.array(Image.open(label_png), dtype=np.float32) / 255.0)[None, None] * 255.0
    inst = (
        torch.from_numpy(np.array(Image.open(inst_png)).astype(np.int64))[None, None].float()
        if inst_png
        else label.clone()
    )
    one_hot = torch.zeros(1, label_nc, *label.shape[2:]).scatter_(1, label.long(), 1.0)
    t = inst
    edge = torch.zeros_like(t, dtype=torch.uint8)
    edge[:, :, :, 1:] |= t[:, :, :, 1:] != t[:, :, :, :-1]
    edge[:, :, :, :-1] |= t[:, :, :, 1:] != t[:, :, :, :-1]
    edge[:, :, 1:, :] |= t[:, :, 1:, :] != t[:, :, :-1, :]
    edge[:, :, :-1, :] |= t[:, :, 1:, :] != t[:, :, :-1, :]
    parts = [one_hot, edge.float()]
    if clusters is not None:
        feat_num = next(iter(clusters.values())).shape[1]
        feat = torch.zeros(1, feat_num, *label.shape[2:])
        inst_np = t[0, 0].numpy().astype(int)
        for i in np.unique(inst_np):  # the official per-instance loop, kept naive on purpose
            cls = i if i < 1000 else i // 1000
            if cls in clusters:
                mask = torch.from_numpy(inst_np == i)
                feat[0, :, mask] = torch.from_numpy(clusters[cls][cluster_choice[int(i)]]).float()[:, None]
        parts.append(feat)
    return torch.cat(parts, dim=1)


def tensor2im(x: torch.Tensor) -> np.ndarray:
    image = (np.transpose(x[0].detach().float().numpy(), (1, 2, 0)) + 1) / 2.0 * 255.0
    return np.clip(image, 0, 255).astype(np.uint8)
