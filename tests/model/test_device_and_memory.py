"""Device requests are checked before any weights are read; the activation-cache budget follows RAM."""

from __future__ import annotations

import pytest

from editor.render_setup import CachePlan
from model.render import full
from model.render.device import DeviceError, available_devices, check_device
from model.render.memory import DESKTOP_CACHE_LIMIT, MemoryFigures, cache_budget_bytes

GiB = 2**30
UNAVAILABLE = [d for d in ("cuda", "cuda:3", "mps", "gpu") if d not in available_devices()]


@pytest.mark.parametrize("device", UNAVAILABLE)
def test_unavailable_device_is_one_error_line_exit_2_before_weights_are_read(
    device, capsys, monkeypatch
) -> None:
    from main import main

    read = []
    monkeypatch.setattr(full, "load_checkpoint", lambda *a, **k: read.append(a))
    code = main(
        [
            "render",
            "--checkpoint",
            "checkpoints/default",
            "--label",
            "assets/scenes/street_01_labelIds.png",
            "--out",
            "/tmp/never.png",
            "--device",
            device,
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and read == []
    assert len(err) == 1 and err[0].startswith("error:") and repr(device) in err[0] and "cpu" in err[0]


def test_check_device_accepts_the_cpu_and_names_the_devices_there_are() -> None:
    assert check_device("cpu").type == "cpu"
    with pytest.raises(DeviceError, match="cpu"):
        check_device("no-such-device")


@pytest.mark.parametrize(
    ("physical", "available", "budget"),
    [
        (64 * GiB, 60 * GiB, DESKTOP_CACHE_LIMIT),  # a big machine: the desktop cap
        (8 * GiB, 6 * GiB, 2 * GiB),  # a quarter of physical memory ...
        (8 * GiB, 3 * GiB, GiB),  # ... or a third of what is free now, whichever is less
        (None, None, DESKTOP_CACHE_LIMIT),  # nothing known: the cap
    ],
)
def test_cache_budget_from_a_fake_ram_figure(physical, available, budget) -> None:
    assert cache_budget_bytes(MemoryFigures(physical, available), env="") == budget


def test_cache_budget_environment_override_and_a_bad_value() -> None:
    figures = MemoryFigures(8 * GiB, 3 * GiB)
    assert cache_budget_bytes(figures, env="512") == 512 * 2**20
    assert cache_budget_bytes(figures, env="lots") == GiB


def test_cache_plan_says_which_mode_the_cache_is_in() -> None:
    size = (2048, 1024)
    assert CachePlan(GiB, GiB // 2, size).mode == "cache float32: exact updates"
    assert CachePlan(GiB, 3 * GiB // 2, size).mode == "cache float16: approximate updates"
    assert CachePlan(GiB, 3 * GiB, size).mode == "no cache: full renders"
