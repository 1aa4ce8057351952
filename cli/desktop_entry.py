"""``--install-desktop-entry`` / ``--uninstall-desktop-entry``: the editor in the Linux application menu.

Installing writes a freedesktop.org desktop entry and the icon into the user's data folder
(``$XDG_DATA_HOME``, by default ``~/.local/share``), which every Linux desktop's menu reads:
``applications/pix2pixhd-editor.desktop`` and ``icons/hicolor/SIZExSIZE/apps/pix2pixhd-editor.png``.
The entry starts this same Python with ``-m pix2pixhd_editor``, so it opens the installation it was
made from (a pipx or other virtual environment, or a checkout, which it runs in). Run it again
after moving that installation. Uninstalling removes exactly those files.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from model.errors import EditorError

APP_ID = "pix2pixhd-editor"  # the desktop entry's and the icon's file name
ICON_SIZES = (48, 64, 128, 256)
INSTALL, UNINSTALL = "--install-desktop-entry", "--uninstall-desktop-entry"
EXEC_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")  # characters that make an Exec argument need quotes


class DesktopEntryError(EditorError):
    """The desktop entry cannot be written or removed (or this is no freedesktop.org system)."""


@dataclass(frozen=True)
class DesktopFiles:
    """The files an installed desktop entry consists of, under one XDG data folder."""

    entry: Path
    icons: tuple[Path, ...]

    @classmethod
    def under(cls, data_home: Path) -> DesktopFiles:
        theme = data_home / "icons" / "hicolor"
        icons = tuple(theme / f"{size}x{size}" / "apps" / f"{APP_ID}.png" for size in ICON_SIZES)
        return cls(data_home / "applications" / f"{APP_ID}.desktop", icons)

    def all(self) -> tuple[Path, ...]:
        return (self.entry, *self.icons)


def data_home() -> Path:
    """``$XDG_DATA_HOME`` when set to an absolute path, else ``~/.local/share`` (the XDG rule)."""
    value = os.environ.get("XDG_DATA_HOME", "")
    return Path(value) if os.path.isabs(value) else Path.home() / ".local" / "share"


def exec_argument(arg: str) -> str:
    """One argument quoted for a desktop entry's Exec key (the spec's quoting, then its escapes)."""
    if arg and not EXEC_RESERVED.intersection(arg):
        quoted = arg
    else:
        quoted = '"' + "".join("\\" + ch if ch in '"`$\\' else ch for ch in arg) + '"'
    return quoted.replace("\\", "\\\\").replace("%", "%%")


def desktop_entry_text(command: list[str], working_dir: Path | None) -> str:
    """The entry that runs ``command`` (plus the file the menu or a file manager passes)."""
    lines = [
        "[Desktop Entry]",
        "Type=Application",
        "Version=1.4",
        "Name=pix2pixHD editor",
        "GenericName=Semantic image editor",
        "Comment=Paint a label map and watch pix2pixHD turn it into a street photo",
        "Exec=" + " ".join(exec_argument(arg) for arg in command) + " %f",
        "TryExec=" + command[0].replace("\\", "\\\\"),
        f"Icon={APP_ID}",
        "Terminal=false",
        "StartupNotify=true",
        "Categories=Graphics;2DGraphics;RasterGraphics;",
        "Keywords=pix2pixHD;GAN;label map;semantic;segmentation;street;",
    ]
    if working_dir is not None:
        lines.append("Path=" + str(working_dir).replace("\\", "\\\\"))
    return "\n".join(lines) + "\n"


def launch_command() -> tuple[list[str], Path | None]:
    """The command that opens the editor, and the folder it must run in (a checkout; else None)."""
    from model.resources import checkout_root

    if not sys.executable:
        raise DesktopEntryError("cannot tell which Python runs this program (sys.executable is empty)")
    return [sys.executable, "-m", "pix2pixhd_editor"], checkout_root()


def write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = path.with_name(f".{path.name}.tmp")
    staged.write_bytes(data)
    os.replace(staged, path)


def install(files: DesktopFiles) -> list[Path]:
    from cli.app_icon import icon_png

    command, working_dir = launch_command()
    for size, icon in zip(ICON_SIZES, files.icons, strict=True):
        write_atomically(icon, icon_png(size))
    write_atomically(files.entry, desktop_entry_text(command, working_dir).encode("utf-8"))
    return list(files.all())


def uninstall(files: DesktopFiles) -> list[Path]:
    removed = [path for path in files.all() if path.exists()]
    for path in removed:
        path.unlink()
    return removed


def check_platform() -> None:
    if sys.platform in ("win32", "cygwin", "darwin"):
        raise DesktopEntryError(
            f"desktop entries are for Linux and other freedesktop.org systems, not {sys.platform}"
        )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        f"{INSTALL} adds the editor to the application menu (a desktop entry and an icon "
        f"under $XDG_DATA_HOME, default ~/.local/share); {UNINSTALL} removes them."
    )


def run(args: argparse.Namespace) -> int:
    check_platform()
    files = DesktopFiles.under(data_home())
    try:
        if args.command == INSTALL:
            for path in install(files):
                print(f"installed {path}")
            print("the menu lists 'pix2pixHD editor' now (some desktops after the next log-in)")
        else:
            removed = uninstall(files)
            for path in removed:
                print(f"removed {path}")
            if not removed:
                print(f"no desktop entry to remove under {data_home()}")
    except OSError as exc:
        raise DesktopEntryError(
            f"cannot write or remove the desktop entry ({exc.strerror})", exc.filename or files.entry
        ) from None
    return 0
