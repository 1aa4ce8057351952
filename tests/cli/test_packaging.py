"""The wheel carries the bundled model and scenes and finds them installed; the desktop entry installs."""

import configparser
import hashlib
import os
import shlex
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from support import REPO_ROOT

import main
from cli.desktop_entry import APP_ID, ICON_SIZES, desktop_entry_text
from model import resources

BUNDLED = {
    "checkpoints/default": "pix2pixhd_editor/checkpoints/default",
    "checkpoints/inpainter": "pix2pixhd_editor/checkpoints/inpainter",
    "assets/scenes": "pix2pixhd_editor/assets/scenes",
}


def tracked_files(folder: str) -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", folder], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    return out.stdout.split()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built from a copy of what git carries (a fresh clone's view, plus uncommitted files)."""
    source, dist = tmp_path_factory.mktemp("source"), tmp_path_factory.mktemp("dist")
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    for name in filter(None, listed):
        if (REPO_ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO_ROOT / name, source / name)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            ".",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(dist),
        ],
        cwd=source,
        check=True,
    )
    (built,) = dist.glob("pix2pixhd_editor-*.whl")
    return built


@pytest.mark.slow
def test_wheel_carries_the_bundled_model_and_scenes(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        for repo_folder, wheel_folder in BUNDLED.items():
            files = tracked_files(repo_folder)
            assert files, repo_folder
            for name in files:
                inside = wheel_folder + name[len(repo_folder) :]
                assert inside in names, inside
                digest = hashlib.sha256(archive.read(inside)).hexdigest()
                assert digest == hashlib.sha256((REPO_ROOT / name).read_bytes()).hexdigest(), inside
        assert all(info.file_size <= 25 * 2**20 for info in archive.infolist())
        assert not any(name.endswith((".pth", ".pkl", ".pt")) for name in names)
        for module in (
            "cli/__init__.py",
            "cli/desktop_entry.py",
            "model/resources.py",
            "model/label_sets/cityscapes.json",
            "pix2pixhd_editor/__main__.py",
        ):
            assert module in names, module
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        assert "pix2pixhd-editor = cli:main" in archive.read(entry_points).decode()


@pytest.mark.slow
def test_unpacked_wheel_finds_its_own_files_from_another_folder(wheel, tmp_path):
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}
    script = (
        "from model.resources import checkout_root, default_checkpoint_dir, inpainter_dir, "
        "label_sets_dir, sample_scenes\n"
        "print(default_checkpoint_dir()); print(sample_scenes()[0]); print(label_sets_dir());"
        "print(checkout_root()); print(inpainter_dir())"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=elsewhere, env=env, capture_output=True, text=True, check=True
    ).stdout.split("\n")
    assert Path(out[0]) == site / "pix2pixhd_editor" / "checkpoints" / "default"
    assert (Path(out[0]) / "generator.safetensors").is_file()
    assert Path(out[1]).parent == site / "pix2pixhd_editor" / "assets" / "scenes"
    assert Path(out[2]) == site / "model" / "label_sets" and out[3] == "None"
    assert Path(out[4]) == site / "pix2pixhd_editor" / "checkpoints" / "inpainter"
    bench = subprocess.run(  # the CLI finds the bundled inpainter from the installed package
        [
            sys.executable,
            "-m",
            "pix2pixhd_editor",
            "synth-anomalies",
            "--bench",
            "--steps",
            "2",
            "--bench-side",
            "16",
        ],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "one 16² inpaint, 2 steps" in bench
    run = subprocess.run(
        [sys.executable, "-m", "pix2pixhd_editor", "--help"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "python -m pix2pixhd_editor" in run and "render" in run and "--install-desktop-entry" in run


def test_checkout_resolves_the_repository_folders():
    assert resources.checkout_root() == REPO_ROOT
    assert resources.default_checkpoint_dir() == REPO_ROOT / "checkpoints" / "default"
    assert resources.inpainter_dir() == REPO_ROOT / "checkpoints" / "inpainter"
    assert resources.sample_scenes()[0].parent == REPO_ROOT / "assets" / "scenes"


def read_entry(path: Path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keys are case-sensitive
    parser.read(path, encoding="utf-8")
    return parser["Desktop Entry"]


def test_desktop_entry_installs_runs_and_uninstalls(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert main.main(["--install-desktop-entry"]) == 0
    entry_path = tmp_path / "data" / "applications" / f"{APP_ID}.desktop"
    entry = read_entry(entry_path)
    assert entry["Type"] == "Application" and entry["Icon"] == APP_ID and entry["Exec"].endswith(" %f")
    for size in ICON_SIZES:
        icon = Image.open(
            tmp_path / "data" / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
        )
        assert icon.size == (size, size) and icon.mode == "RGBA"
        assert icon.getpixel((0, 0))[3] == 0 and icon.getpixel((size // 2, size // 2))[3] == 255
        colours = np.asarray(icon.convert("RGB")).reshape(-1, 3)
        assert len(np.unique(colours, axis=0)) > 10  # a picture, not a flat square
    command = shlex.split(entry["Exec"].removesuffix(" %f").replace("\\\\", "\\"))
    launched = subprocess.run(
        [*command, "--version"],
        cwd=entry.get("Path", str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert launched.returncode == 0 and "pix2pixhd-editor" in launched.stdout
    if shutil.which("desktop-file-validate"):
        assert subprocess.run(["desktop-file-validate", str(entry_path)], check=False).returncode == 0
    capsys.readouterr()

    assert main.main(["--uninstall-desktop-entry"]) == 0
    assert "removed" in capsys.readouterr().out
    assert not any(path.is_file() for path in (tmp_path / "data").rglob("*"))
    assert main.main(["--uninstall-desktop-entry"]) == 0
    assert "no desktop entry to remove" in capsys.readouterr().out


def test_desktop_entry_quotes_paths_with_spaces_and_specials():
    text = desktop_entry_text(['/opt/my apps/py"th$on 100%', "-m", "pix2pixhd_editor"], Path("/src dir"))
    exec_line = next(line for line in text.splitlines() if line.startswith("Exec="))
    assert exec_line == 'Exec="/opt/my apps/py\\\\"th\\\\$on 100%%" -m pix2pixhd_editor %f'
    assert "Path=/src dir" in text.splitlines()


def test_desktop_entry_error_is_one_line(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("XDG_DATA_HOME", str(blocker))
    assert main.main(["--install-desktop-entry"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and len(err.splitlines()) == 1 and "Traceback" not in err
