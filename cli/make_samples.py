"""Write the sample scenes in assets/scenes/ (run: ``python -m cli.make_samples``).

Each is a procedural 2048×1024 street scene saved as labelIds + instanceIds PNGs + styles JSON.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from model.data.procedural import SceneConfig, generate_scene
from model.resources import sample_scenes_dir
from model.scene_io import Scene, save_scene

log = logging.getLogger(__name__)

SAMPLES_DIR = sample_scenes_dir()
SEED = 2018


def make_samples(
    folder: Path = SAMPLES_DIR, count: int = 3, width: int = 2048, height: int = 1024
) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for index in range(count):
        _image, labels, instances = generate_scene(SEED, index, SceneConfig(width=width, height=height))
        label_path, _inst, _styles = save_scene(
            Scene(labels, instances, {}), folder / f"street_{index + 1:02d}_labelIds.png"
        )
        written.append(label_path)
        log.info("wrote %s", label_path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=SAMPLES_DIR)
    parser.add_argument("--count", type=int, default=3)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for path in make_samples(args.out, args.count):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
