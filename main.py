"""pix2pixHD editor: ``python main.py [SCENE]`` opens the editor; ``python main.py COMMAND …`` runs a tool.

Commands: render, convert-labels, make-dataset, train, fit-encoder, encode-features, evaluate, export-onnx, bench.
Every command reports a bad input as one line on stderr (exit status 2), never as a traceback.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys

# command name → module exposing add_arguments(parser) and run(args) -> int
COMMANDS: dict[str, tuple[str, str]] = {
    "render": ("model.cli_render", "render a label map to an image"),
    "convert-labels": ("model.cli_convert", "convert colour-coded label PNGs to labelIds PNGs and back"),
    "make-dataset": ("model.cli_make_dataset", "write procedural street scenes"),
    "train": ("model.cli_train", "train a pix2pixHD model"),
    "fit-encoder": ("model.cli_fit_encoder", "refit the feature encoder so its codes carry colour"),
    "encode-features": ("model.cli_encode_features", "cluster per-instance features into styles"),
    "evaluate": ("model.cli_evaluate", "segmentation-score a checkpoint on held-out scenes"),
    "export-onnx": ("model.cli_export_onnx", "export the generator to ONNX"),
    "bench": ("model.cli_bench", "measure render speed"),
}


def run_command(argv: list[str]) -> int:
    from model.errors import EditorError

    name = argv[0]
    module_name, help_text = COMMANDS[name]
    module = importlib.import_module(module_name)
    parser = argparse.ArgumentParser(prog=f"main.py {name}", description=help_text)
    module.add_arguments(parser)
    args = parser.parse_args(argv[1:])
    try:
        return int(module.run(args) or 0)
    except EditorError as exc:
        logging.getLogger("main").debug("%s failed", name, exc_info=True)
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def main(argv: list[str] | None = None) -> int:
    from model.render.threads import prefer_passive_omp

    prefer_passive_omp()  # before torch loads: idle OpenMP threads sleep instead of spinning
    argv = list(sys.argv[1:] if argv is None else argv)
    from model.app_logging import setup_logging

    setup_logging(logging.INFO)
    if argv and argv[0] in COMMANDS:
        return run_command(argv)
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__)
        for name, (_, help_text) in COMMANDS.items():
            print(f"  {name:16s} {help_text}")
        return 0
    from editor.app import main as editor_main

    return editor_main(argv)


if __name__ == "__main__":
    sys.exit(main())
