"""Argument types shared by the ``main.py`` commands (argparse ``type=`` callables)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

MAX_SIDE = 8192


def size_type(min_side: int = 2) -> Callable[[str], tuple[int, int]]:
    """A parser for 'WIDTHxHEIGHT' (also 'W×H') with both sides in min_side..8192."""

    def parse(text: str) -> tuple[int, int]:
        try:
            width, height = (int(v) for v in text.lower().replace("×", "x").split("x"))
        except ValueError:
            raise argparse.ArgumentTypeError(f"size must look like 2048x1024, not '{text}'") from None
        if not (min_side <= width <= MAX_SIDE and min_side <= height <= MAX_SIDE):
            raise argparse.ArgumentTypeError(
                f"size {width}x{height} is outside {min_side}..{MAX_SIDE} per side"
            )
        return width, height

    return parse


def int_at_least(minimum: int) -> Callable[[str], int]:
    """A parser for whole numbers ≥ minimum."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}")
        return value

    return parse


def add_norm_stats_argument(parser: argparse.ArgumentParser) -> None:
    """``--norm-stats {reference,live}``: where InstanceNorm takes its statistics (model.render.norm_stats)."""
    parser.add_argument(
        "--norm-stats",
        choices=("reference", "live"),
        default="reference",
        help="reference: those of the scene with no styles chosen, so a style change stays "
        "local (default); live: the styled scene's own, as the official pipeline",
    )


def add_precision_argument(parser: argparse.ArgumentParser) -> None:
    """``--precision {auto,fp32,bf16}``: what the generator computes in (model.render.precision)."""
    from model.render.precision import PRECISION_ENV, PRECISION_REQUESTS

    parser.add_argument(
        "--precision",
        choices=PRECISION_REQUESTS,
        default=None,
        help="auto: bf16 where this CPU (or GPU) runs it clearly faster and within 40 dB of fp32, "
        f"measured once per machine and model; default: ${PRECISION_ENV}, else auto",
    )
