"""The bench runs end to end on a tiny frame and prints one table or one JSON object."""
from __future__ import annotations

import json

from model.networks.encoder import instance_average
from model.render.bench import EDIT_AREAS, format_table, pooling_times, psnr, run_bench
from model.render.scenes import default_generator_config, random_model


def test_bench_json_has_the_documented_keys(capsys) -> None:
    from main import main

    # 256x128: at 128x64 the bundled model's 1/32-scale bottleneck is 4x2 positions, and an edit of 1%
    # moves its InstanceNorm statistics so far that even the exact mode lands near 10 dB
    assert main(["bench", "--size", "256x128", "--json", "--strokes", "1", "--repeats", "1"]) == 0
    data = json.loads(capsys.readouterr().out)
    for key in ("device", "size", "full_ms", "incremental", "preview_p50_ms", "preview_p95_ms",
                "pooling_speedup", "cache_mb"):
        assert key in data
    assert data["size"] == "256x128"
    assert [round(e["area"], 4) for e in data["incremental"]] == list(EDIT_AREAS)
    for edit in data["incremental"]:
        assert {"area", "ms", "speedup", "psnr_db"} <= set(edit)
        assert edit["ms"] > 0 and edit["psnr_db"] > 10
    assert data["cache_mb"] > 0 and data["preview_p50_ms"] is not None


def test_table_and_helpers() -> None:
    result = run_bench(random_model(default_generator_config()), "tiny", 128, 64, strokes=0, repeats=1,
                       exact=False, compare_module=False)
    table = format_table(result)
    assert "full render" in table and "preview latency" in table
    import torch

    a = torch.zeros(1, 3, 4, 4)
    assert psnr(a, a) == float("inf")
    assert abs(psnr(a, a + 0.2) - 20.0) < 1e-6  # 0.1 on the [0, 1] scale
    import numpy as np

    instances = np.repeat(np.arange(4, dtype=np.int32), 8).reshape(4, 8)
    vec_ms, loop_ms = pooling_times(instances.shape, instances)
    assert vec_ms > 0 and loop_ms > 0
    assert instance_average is not None
