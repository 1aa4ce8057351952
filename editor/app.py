"""Entry point: ``python main.py [SCENE] [--checkpoint PATH]`` → :func:`main`."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from model.resources import sample_scenes

log = logging.getLogger(__name__)


def first_sample_scene() -> Path | None:
    """The scene a plain ``python main.py`` opens: the first bundled sample, if present."""
    samples = sample_scenes()
    return samples[0] if samples else None


STYLE_SHEET = """
QMainWindow, QDockWidget, QWidget { font-size: 10pt; }
QDockWidget::title { padding: 4px 6px; font-weight: 600; }
QStatusBar QLabel { padding: 0 8px; }
QToolBar { spacing: 3px; padding: 2px; }
QToolButton:checked { background: palette(highlight); color: palette(highlighted-text); border-radius: 3px; }
QListWidget::item { padding: 2px; }
"""


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="main.py", description="pix2pixHD semantic image editor")
    parser.add_argument("scene", nargs="?", help="a scene's *_labelIds.png, or a colour-coded label PNG")
    parser.add_argument(
        "--checkpoint", type=Path, help="a native checkpoint folder or an official latest_net_G.pth"
    )
    return parser.parse_args(argv)


def dark_palette():
    from PySide6.QtGui import QColor, QPalette

    palette = QPalette()
    colours = {
        QPalette.ColorRole.Window: QColor(45, 47, 52),
        QPalette.ColorRole.WindowText: QColor(220, 222, 226),
        QPalette.ColorRole.Base: QColor(32, 34, 38),
        QPalette.ColorRole.AlternateBase: QColor(45, 47, 52),
        QPalette.ColorRole.Text: QColor(220, 222, 226),
        QPalette.ColorRole.Button: QColor(55, 58, 64),
        QPalette.ColorRole.ButtonText: QColor(220, 222, 226),
        QPalette.ColorRole.Highlight: QColor(58, 122, 200),
        QPalette.ColorRole.HighlightedText: QColor(255, 255, 255),
        QPalette.ColorRole.ToolTipBase: QColor(32, 34, 38),
        QPalette.ColorRole.ToolTipText: QColor(220, 222, 226),
        QPalette.ColorRole.PlaceholderText: QColor(140, 142, 148),
    }
    for role, colour in colours.items():
        palette.setColor(role, colour)
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor(120, 122, 128))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText, QColor(120, 122, 128))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor(120, 122, 128))
    return palette


def main(argv: list[str] | None = None) -> int:
    args = parse_args(list(sys.argv[1:] if argv is None else argv))
    from PySide6.QtWidgets import QApplication

    from editor.error_hook import ErrorHook, message_box
    from editor.main_window import MainWindow
    from editor.pyside_guard import protect_singletons
    from model.app_logging import setup_logging

    log_file = setup_logging(logging.INFO)  # already done by main.main; idempotent
    protect_singletons()

    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "pix2pixhd-editor"])
    app.setOrganizationName("pix2pixhd-editor")
    app.setApplicationName("pix2pixHD editor")
    app.setDesktopFileName("pix2pixhd-editor")  # matches the installed desktop entry: docks show its icon
    app.setStyle("Fusion")
    app.setPalette(dark_palette())
    app.setStyleSheet(STYLE_SHEET)
    windows: list[MainWindow] = []
    hook = ErrorHook(
        message_box(lambda: windows[0] if windows else None), log_file
    ).install()  # log + one line
    window = MainWindow(checkpoint=args.checkpoint)
    windows.append(window)
    window.show()
    recovered = window.offer_recovery()  # unsaved work of an editor that crashed
    if args.scene and not recovered:
        window.files.open_path(args.scene)
    elif not recovered and (sample := first_sample_scene()) is not None:
        window.open_sample(sample)  # a starting point: Save asks where
    elif args.scene:
        log.info("recovered unsaved work instead of opening %s", args.scene)
    window.canvas.fit()
    try:
        return int(app.exec())
    finally:
        window.shutdown()
        hook.uninstall()


if __name__ == "__main__":
    sys.exit(main())
