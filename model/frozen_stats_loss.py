"""A training term for edits rendered with frozen InstanceNorm statistics.

An incremental edit in the editor normalises every layer by the statistics of the last full render
(model/render/incremental.py): the frame is exact only once the idle full render has run. How far
the frozen frame is from the exact one depends on the weights. On the bundled default a 1% edit
gives 36.5 dB, and most of that comes from G1's first InstanceNorm.

This term makes the frozen frame part of training. Each step paints one rectangle of
``area`` × the frame's area inside the crop, with the class of a random pixel, as a brush would.
It renders the edited map twice: once with its own statistics, and once with the statistics of
the unedited map, recorded during the step's main forward pass. The loss is the L1 distance
between the two. Gradients flow through both frames and through the recorded statistics, which
depend on the weights too. With either detached, the gradient did not match the term's measured
slope on a tiny model, and a step along it widened the gap. The term adds two forward and
backward passes to a step.
"""
from __future__ import annotations

import torch

from model.input_pyramid import Box


def random_block_edit(labels: torch.Tensor, instances: torch.Tensor, box: Box | None, area: float,
                      generator: torch.Generator, thing_table: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Copies of B×H×W ``labels`` / ``instances`` with one rectangle per image repainted.

    The rectangle covers ``area`` of the whole frame (clipped to ``box``, (x0, y0, w, h), when
    given), with an aspect ratio between 1:2 and 2:1. Its class is that of a random pixel of the
    same map. A thing class (``thing_table[class]``) gets a new instance id, class·1000 + 999;
    a stuff class gets the class id, as the editor's brush does.
    """
    batch, height, width = labels.shape
    x0, y0, box_w, box_h = box if box is not None else (0, 0, width, height)
    aspect = 2.0 ** (torch.rand(batch, generator=generator) * 2 - 1)
    side = (area * height * width) ** 0.5
    rect_w = (side * aspect.sqrt()).round().long().clamp(1, box_w)
    rect_h = (side / aspect.sqrt()).round().long().clamp(1, box_h)
    left = x0 + (torch.rand(batch, generator=generator) * (box_w - rect_w + 1)).long()
    top = y0 + (torch.rand(batch, generator=generator) * (box_h - rect_h + 1)).long()
    cols, rows = torch.arange(width), torch.arange(height)
    inside_x = (cols[None] >= left[:, None]) & (cols[None] < (left + rect_w)[:, None])
    inside_y = (rows[None] >= top[:, None]) & (rows[None] < (top + rect_h)[:, None])
    inside = (inside_y[:, :, None] & inside_x[:, None, :]).to(labels.device)
    pick = (torch.rand(batch, generator=generator) * height * width).long().to(labels.device)
    cls = labels.reshape(batch, -1).gather(1, pick[:, None])[:, 0]
    instance = torch.where(thing_table.to(labels.device)[cls], cls * 1000 + 999, cls)
    edited_labels = torch.where(inside, cls[:, None, None], labels)
    edited_instances = torch.where(inside, instance[:, None, None], instances)
    return edited_labels, edited_instances
