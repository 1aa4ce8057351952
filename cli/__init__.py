"""The command line: ``main.py COMMAND …`` runs a tool, ``main.py [SCENE]`` opens the editor.

Each command is one module here exposing ``add_arguments(parser)`` and ``run(args) -> int``.
Every command reports a bad input as one ``error:`` line on stderr with exit status 2, never as a
traceback. Nothing in this package imports Qt; only ``open_editor`` loads the GUI, on demand.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import logging
import os
import sys
from pathlib import Path

# command name → (module exposing add_arguments(parser) and run(args) -> int, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "render": ("cli.render", "render a label map to an image"),
    "convert-labels": ("cli.convert_labels", "convert colour-coded label PNGs to labelIds PNGs and back"),
    "make-dataset": ("cli.make_dataset", "write procedural street scenes"),
    "train": ("cli.train", "train a pix2pixHD model"),
    "fit-encoder": ("cli.fit_encoder", "refit the feature encoder so its codes carry colour"),
    "encode-features": ("cli.encode_features", "cluster per-instance features into styles"),
    "evaluate": ("cli.evaluate", "score a checkpoint's renders against held-out photos"),
    "export-onnx": ("cli.export_onnx", "export the generator to ONNX"),
    "bench": ("cli.bench", "measure render speed"),
    "train-inpainter": ("cli.train_inpainter", "train the anomaly inpainter (diffusion + FARM)"),
    "synth-anomalies": (
        "cli.synth_anomalies",
        "render scenes and add anomalies: image + anomaly-label pairs",
    ),
    "evaluate-anomaly": ("cli.evaluate_anomaly", "score anomaly segmenters trained on synthesised sets"),
    "--install-desktop-entry": ("cli.desktop_entry", "add the editor to the Linux application menu"),
    "--uninstall-desktop-entry": ("cli.desktop_entry", "remove it from the menu again"),
}

log = logging.getLogger(__name__)


class CommandParser(argparse.ArgumentParser):
    """An ArgumentParser that names a misspelt option before it complains about a missing one.

    argparse checks required options first, so ``--lable X`` would only say that ``--label`` is
    required; here unknown options are looked for first, with the closest known option suggested.
    """

    def parse_args(self, args=None, namespace=None):  # type: ignore[override]
        required = [action for action in self._actions if action.required]
        for action in required:
            action.required = False
        try:
            _known, extras = self.parse_known_args(args, namespace)
        finally:
            for action in required:
                action.required = True
        unknown = [arg for arg in extras if arg.startswith("-")]
        if unknown:
            options = [opt for action in self._actions for opt in action.option_strings]
            hints = []
            for arg in unknown:
                close = difflib.get_close_matches(arg.split("=")[0], options, n=1)
                hints.append(f"{arg} (did you mean {close[0]}?)" if close else arg)
            self.error("unrecognised argument(s): " + ", ".join(hints))
        return super().parse_args(args, namespace)


def program_name() -> str:
    """How the program was started, for usage lines: main.py, pix2pixhd-editor or python -m …"""
    started = Path(sys.argv[0]) if sys.argv and sys.argv[0] else Path("pix2pixhd-editor")
    return f"python -m {started.parent.name}" if started.name == "__main__.py" else started.name


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("pix2pixhd-editor")
    except PackageNotFoundError:
        return "unknown (not installed)"


def run_command(argv: list[str]) -> int:
    from model.errors import EditorError

    name = argv[0]
    module_name, help_text = COMMANDS[name]
    module = importlib.import_module(module_name)
    parser = CommandParser(prog=f"{program_name()} {name}", description=help_text)
    parser.set_defaults(command=name)
    module.add_arguments(parser)
    args = parser.parse_args(argv[1:])
    try:
        return int(module.run(args) or 0)
    except EditorError as exc:
        log.debug("%s failed", name, exc_info=True)
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def print_help() -> None:
    prog = program_name()
    lines = [
        (__doc__ or "").strip().splitlines()[0],
        "",
        f"usage: {prog} [SCENE_labelIds.png] | {prog} COMMAND [options]  (COMMAND --help for its options)",
        "",
        "commands:",
        *(f"  {name:26s} {help_text}" for name, (_, help_text) in COMMANDS.items()),
        f"  {'--version':26s} print the version",
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()


def looks_like_command(word: str) -> bool:
    """A first argument that is no existing file and has no path or image-file shape is a command."""
    if Path(word).exists() or word.startswith("-"):
        return False
    return not any(ch in word for ch in "/\\.")


def has_display() -> bool:
    """Whether Qt can open a window: a platform plugin was chosen, or an X/Wayland display exists."""
    if sys.platform in ("win32", "darwin") or os.environ.get("QT_QPA_PLATFORM"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def main(argv: list[str] | None = None) -> int:
    """The program; a reader that closes our output early (``--help | head``) ends it quietly."""
    try:
        return _main(argv)
    except BrokenPipeError:
        # the reader has what it wanted: point stdout at /dev/null so the exit flush cannot fail
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


def _main(argv: list[str] | None = None) -> int:
    from model.render.threads import prefer_short_omp_spin

    prefer_short_omp_spin()  # before torch loads: idle OpenMP threads spin briefly, then sleep
    argv = list(sys.argv[1:] if argv is None else argv)
    from model.app_logging import setup_logging

    setup_logging(logging.INFO)
    if argv and argv[0] in COMMANDS:
        return run_command(argv)
    if argv and argv[0] in ("-h", "--help"):
        print_help()
        return 0
    if argv and argv[0] == "--version":
        print(f"pix2pixhd-editor {version()}")
        return 0
    if argv and looks_like_command(argv[0]):
        close = difflib.get_close_matches(argv[0], list(COMMANDS), n=1)
        hint = f" (did you mean {close[0]}?)" if close else f" ({program_name()} --help lists the commands)"
        print(f"error: unknown command '{argv[0]}'{hint}", file=sys.stderr)
        return 2
    if not has_display():
        print(
            "error: no display to open the editor on (set DISPLAY, or run a command: "
            f"{program_name()} --help)",
            file=sys.stderr,
        )
        return 2
    from editor.app import main as editor_main

    return editor_main(argv)
