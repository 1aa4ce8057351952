"""A real process saving a scene in a loop, killed with SIGKILL: at each step of a save (driven by the write
hook, so every gap between two renames is hit), right after a full disk at each step, and at random
instants. After every kill, Open finds exactly the old or the new scene, bit for bit, and says what it
healed; the next save (with or without that Open) leaves no temporary file.

One child process imports everything once and forks a saver per kill, so a kill costs a fork, not an
interpreter start. Run with ``-s`` to see what each kill point yielded.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections import Counter

import numpy as np
import pytest
from support import REPO_ROOT

from model.labels import cityscapes
from model.scene_io import Scene, load_scene, open_scene, save_scene

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork and SIGKILL")]

NAMES = ("s_labelIds.png", "s_instanceIds.png", "s_styles.json")
RANDOM_KILLS = 40
SIZE = (256, 128)

CHILD = textwrap.dedent("""
    import errno, json, os, random, select, signal, sys, time
    from pathlib import Path
    import numpy as np
    from model import atomic_files
    from model.scene_io import Scene, save_scene

    def scene(seed):
        rng = np.random.default_rng(seed)
        labels = rng.choice(np.array([7, 8, 11, 23], np.uint8), size=(%(height)d, %(width)d))
        instances = labels.astype(np.int32)
        labels[10:40, 20:90] = 26
        instances[10:40, 20:90] = 26000 + seed
        return Scene(labels, instances, {26000 + seed: seed, 7: [0.5, float(seed)]})

    out, plan = Path(sys.argv[1]), json.loads(sys.argv[2])
    scenes = [scene(1), scene(2)]  # the saver writes B over A, then A over B, ...

    probe = out / "probe"
    probe.mkdir()
    save_scene(scenes[0], probe / "s_labelIds.png")
    steps = []
    atomic_files.step_hook = lambda step, path: steps.append(step)
    start = time.perf_counter()
    save_scene(scenes[1], probe / "s_labelIds.png")
    seconds = time.perf_counter() - start
    atomic_files.step_hook = None
    print(json.dumps({"steps": steps, "save_s": seconds}), flush=True)

    rng = random.Random(0)
    for index, (kind, k) in enumerate(plan):
        folder = out / f"{index:03d}"
        folder.mkdir()
        save_scene(scenes[0], folder / "s_labelIds.png")  # the old scene, whole
        ready_r, ready_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the saver
            os.close(ready_r)
            calls = [0]

            def hook(step, path):
                calls[0] += 1
                if calls[0] != k + 1:
                    return
                if kind == "full disk":
                    raise OSError(errno.ENOSPC, "No space left on device")
                os.kill(os.getpid(), signal.SIGKILL)

            if kind != "random":
                atomic_files.step_hook = hook
            os.write(ready_w, b"r")
            i = 1
            while True:
                try:
                    save_scene(scenes[i %% 2], folder / "s_labelIds.png")
                except Exception as exc:  # the full disk: report it, then die as a crash would
                    (folder.parent / f"{folder.name}.error").write_text(str(exc))
                    os.kill(os.getpid(), signal.SIGKILL)
                i += 1
        os.close(ready_w)
        os.read(ready_r, 1)  # the saver is about to save
        os.close(ready_r)
        delay = None
        if kind == "random":
            delay = rng.uniform(0.0, 2.5 * seconds)
            time.sleep(delay)
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"index": index, "kind": kind, "k": k, "delay": delay,
                          "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None}), flush=True)
""") % {"width": SIZE[0], "height": SIZE[1]}


def scene(seed: int) -> Scene:
    """The child's scenes, built the same way here."""
    rng = np.random.default_rng(seed)
    labels = rng.choice(np.array([7, 8, 11, 23], np.uint8), size=(SIZE[1], SIZE[0]))
    instances = labels.astype(np.int32)
    labels[10:40, 20:90] = 26
    instances[10:40, 20:90] = 26000 + seed
    return Scene(labels, instances, {26000 + seed: seed, 7: (0.5, float(seed))})


def which(found: Scene, scenes: dict[str, Scene]) -> str:
    for name, candidate in scenes.items():
        if (
            found.labels.dtype == candidate.labels.dtype
            and np.array_equal(found.labels, candidate.labels)
            and found.instances.dtype == candidate.instances.dtype
            and np.array_equal(found.instances, candidate.instances)
            and found.styles == candidate.styles
        ):
            return name
    return "NEITHER"


def test_sigkill_at_every_step_and_at_random_instants(tmp_path) -> None:
    steps_per_save = 19  # checked against the child's own count below
    plan = (
        [("step", k) for k in range(steps_per_save)]
        + [("full disk", k) for k in range(steps_per_save)]
        + [("random", 0)] * RANDOM_KILLS
    )
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", PYTHONPATH=str(REPO_ROOT))
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path), json.dumps(plan)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    probe, kills = lines[0], lines[1:]
    steps = probe["steps"]
    assert len(steps) == steps_per_save and len(kills) == len(plan)
    commit = steps.index("commit")
    scenes = {"old": scene(1), "new": scene(2)}
    third = scene(3)
    yielded: list[tuple[str, str, str, str | None]] = []
    for kill in kills:
        folder = tmp_path / f"{kill['index']:03d}"
        kind, k = kill["kind"], kill["k"]
        assert kill["signal"] == 9, kill  # every saver died by SIGKILL
        left = sorted(n for n in os.listdir(folder) if n not in NAMES)
        untouched = tmp_path / f"{folder.name}-next-save"
        shutil.copytree(folder, untouched)

        opened = open_scene(folder / NAMES[0], cityscapes())
        found = which(opened.scene, scenes)
        assert found in ("old", "new"), kill  # exactly the old or the new scene, bit for bit
        if kind == "step":  # the first save (new over old) was killed at its k-th step
            assert found == ("new" if k > commit else "old"), (kill, steps[k])
        if kind == "full disk":
            error = (tmp_path / f"{folder.name}.error").read_text()
            assert "No space left on device" in error and "\n" not in error
            assert found == ("new" if k > commit else "old"), (kill, steps[k])
            if k <= commit:  # refused before the commit point: the old files, and nothing left behind
                assert left == [] and opened.notice is None, (kill, left)
        if any(n.endswith(".commit") for n in left):
            assert opened.notice == "an interrupted save was completed"
        elif left:
            assert opened.notice == "an interrupted save was rolled back"
        else:
            assert opened.notice is None
        assert sorted(os.listdir(folder)) == sorted(NAMES), kill  # Open healed: nothing else is left
        save_scene(third, folder / NAMES[0])
        assert sorted(os.listdir(folder)) == sorted(NAMES)

        save_scene(third, untouched / NAMES[0])  # the next save, without an Open first, tidies too
        assert sorted(os.listdir(untouched)) == sorted(NAMES), (kill, os.listdir(untouched))
        assert which(load_scene(untouched / NAMES[0], cityscapes()), {"third": third}) == "third"

        where = f"{steps[k]}#{k}" if kind != "random" else f"{kill['delay'] * 1000:.0f} ms"
        leftovers = (
            "record" if any(n.endswith(".commit") for n in left) else f"{len(left)} temp" if left else "-"
        )
        yielded.append((kind, where, f"{found} ({leftovers})", opened.notice))

    print(f"\n{len(kills)} SIGKILLs ({probe['save_s'] * 1000:.0f} ms per save here):")
    for row in yielded:
        print("  " + " | ".join(str(v) for v in row))
    summary = Counter((kind, found.split()[0], notice) for kind, _, found, notice in yielded)
    print("summary:", dict(summary))
    random_found = {found.split()[0] for kind, _, found, _ in yielded if kind == "random"}
    assert random_found == {"old", "new"}  # the random instants fell on both sides of commit points
