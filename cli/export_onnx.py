"""``python main.py export-onnx --checkpoint C --out G.onnx``: export the generator and check it.

The export is checked against torch on a synthetic scene and the largest absolute difference is
printed; ``--bench`` also times torch (channels-last) and ONNX Runtime on the CPU.
"""

from __future__ import annotations

import argparse
import logging

from model.render.threads import prefer_short_omp_spin

prefer_short_omp_spin()  # before torch loads OpenMP (see model/render/threads.py)

from cli.args import size_type
from model.checkpoint import load_checkpoint
from model.render.full import Renderer
from model.render.onnx_export import OnnxError, check_onnx, export_onnx
from model.render.random_models import default_generator_config, official_generator_config, random_model

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--checkpoint",
        required=True,
        help="checkpoint folder / .pth, or 'default-size' / "
        "'official-size' for random weights of those architectures",
    )
    parser.add_argument("--out", required=True, help="output .onnx file")
    parser.add_argument(
        "--size",
        type=size_type(16),
        default=(512, 256),
        help="WxH of the check sample (default 512x256; a multiple of the network's stride)",
    )
    parser.add_argument("--opset", type=int, default=18)
    parser.add_argument(
        "--exporter",
        choices=("auto", "torchscript", "dynamo"),
        default="auto",
        help="torch's ONNX exporter (auto: TorchScript, else dynamo)",
    )
    parser.add_argument("--bench", action="store_true", help="also time torch and ONNX Runtime on the CPU")
    parser.add_argument(
        "--tolerance",
        type=float,
        default=2 / 255,
        help="largest accepted |ONNX - torch| on the [-1, 1] output (default: one 8-bit level, "
        "2/255; float32 InstanceNorm sums over a 2048x1024 frame differ by ~4e-3)",
    )


def run(args: argparse.Namespace) -> int:
    if args.checkpoint == "official-size":
        model = random_model(official_generator_config())
    elif args.checkpoint == "default-size":
        model = random_model(default_generator_config())
    else:
        model = load_checkpoint(args.checkpoint)
    renderer = Renderer(model, "cpu")
    width, height = args.size
    if width % renderer.stride or height % renderer.stride:
        raise OnnxError(f"--size must be a multiple of the network's stride {renderer.stride}")
    path = export_onnx(renderer, args.out, width, height, args.opset, args.exporter)
    check = check_onnx(renderer, path, width, height, timing=args.bench)
    print(
        f"exported {path} ({path.stat().st_size / 2**20:.1f} MB); sample {width}x{height}: "
        f"max |onnx - torch| = {check.max_abs_error:.2e}"
    )
    if check.torch_ms is not None and check.onnxruntime_ms is not None:
        faster = "ONNX Runtime" if check.onnxruntime_ms < check.torch_ms else "torch"
        print(
            f"CPU, {check.threads} threads: torch {check.torch_ms:.1f} ms, onnxruntime {check.onnxruntime_ms:.1f} ms"
            f" ({faster} faster, {max(check.torch_ms, check.onnxruntime_ms) / min(check.torch_ms, check.onnxruntime_ms):.2f}x)"
        )
    if check.max_abs_error > args.tolerance:
        raise OnnxError(
            f"ONNX output differs from torch by {check.max_abs_error:.2e} (> --tolerance {args.tolerance})",
            path,
        )
    return 0
