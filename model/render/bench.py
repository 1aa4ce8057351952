"""Render-speed benchmark: full render, incremental edits, preview latency through the real queue,
instance pooling and cache memory, all measured in one run on one machine.

Speed-ups and PSNRs compare numbers from the same process a few seconds apart, so they hold on a
shared CPU where absolute times drift.
"""
from __future__ import annotations

import json
import logging
import os
import platform
import threading
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from model.checkpoint import LoadedModel
from model.errors import EditorError
from model.networks.encoder import instance_average
from model.render.full import Renderer
from model.render.incremental import DEFAULT_EPSILON, IncrementalRenderer
from model.render.queue import RenderJob, RenderLoop, RenderOutput
from model.render.scenes import CAR, VEGETATION, paint, street_scene

log = logging.getLogger(__name__)

EDIT_AREAS = (0.001, 0.01, 0.05)


class BenchMemoryError(EditorError):
    """The requested benchmark would not fit in the memory available."""


@dataclass
class EditTiming:
    area: float  # fraction of the frame painted
    ms: float  # incremental update (fast mode)
    speedup: float  # full_ms / ms
    psnr_db: float  # fast-mode frame vs the full render of the edited scene
    exact_ms: float | None = None  # incremental update with epsilon = 0
    exact_speedup: float | None = None
    exact_psnr_db: float | None = None  # exact mode vs the same full render (frozen statistics only)
    work_fraction: float = 0.0  # recomputed positions / all positions, fast mode
    tile: tuple[int, int, int, int] = (0, 0, 0, 0)


@dataclass
class BenchResult:
    device: str
    size: str
    model: str
    parameters: int
    threads: int
    epsilon: float
    full_ms: float
    torch_module_ms: float | None
    styled_full_ms: float | None  # a new layout with styles chosen: reference-statistics pass + render pass
    incremental: list[EditTiming]
    preview_p50_ms: float | None
    preview_p95_ms: float | None
    preview_samples: int
    accurate_p50_ms: float | None  # submission → first incremental (fast-mode) or exact tile
    accurate_p95_ms: float | None
    exact_frames: int  # idle full renders that finished during the stroke simulation
    pooling_vectorised_ms: float
    pooling_loop_ms: float
    pooling_speedup: float
    cache_mb: float
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        data = asdict(self)
        data["incremental"] = [
            {k: v for k, v in asdict(e).items() if k != "tile"} for e in self.incremental
        ]
        return data


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """PSNR in dB of two tanh-range images, on the [0, 1] scale."""
    mse = float((((a.float() - b.float()) / 2.0) ** 2).mean())
    return 10.0 * float(np.log10(1.0 / mse)) if mse > 0 else float("inf")


def available_memory_bytes() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def check_memory(incremental: IncrementalRenderer, width: int, height: int) -> int:
    """Refuse a run whose activation cache (plus a full render's working set) would not fit."""
    need = int(incremental.estimate_cache_bytes(height, width) * 1.5)
    free = available_memory_bytes()
    if free is not None and need > free * 0.8:
        raise BenchMemoryError(
            f"a {width}x{height} run needs about {need / 2**30:.1f} GiB (activation cache + working set) "
            f"but only {free / 2**30:.1f} GiB is available; pass a smaller --size")
    return need


def _time_ms(fn, repeats: int = 1) -> tuple[float, object]:
    best, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best.append((time.perf_counter() - start) * 1e3)
    return float(np.median(best)), out


def pooling_times(labels_shape: tuple[int, int], instances: np.ndarray, feat: int = 3) -> tuple[float, float]:
    """(vectorised ms, Python-loop ms) of instance-wise average pooling on an F×H×W map."""
    torch.manual_seed(0)
    features = torch.randn(1, feat, *labels_shape)
    inst = torch.from_numpy(instances.astype(np.int64))[None]

    def loop() -> torch.Tensor:
        out = torch.empty_like(features)
        for inst_id in torch.unique(inst).tolist():
            mask = inst[0] == inst_id
            for c in range(feat):
                out[0, c][mask] = features[0, c][mask].mean()
        return out

    with torch.inference_mode():
        vec_ms, vec = _time_ms(lambda: instance_average(features, inst), 3)
        loop_ms, ref = _time_ms(loop, 1)
    if not torch.allclose(vec, ref, atol=1e-5):
        log.warning("vectorised and looped pooling differ by %.2e", float((vec - ref).abs().max()))
    return vec_ms, loop_ms


def simulate_strokes(incremental: IncrementalRenderer, labels: np.ndarray, instances: np.ndarray,
                     strokes: int, dabs_per_stroke: int = 4, dab_interval_s: float = 0.016,
                     pause_s: float = 0.3, radius: int = 16, seed: int = 0) -> tuple[list[float], list[float], int]:
    """Push brush strokes through the real latest-wins queue and worker thread.

    A stroke is ``dabs_per_stroke`` dabs (a disc each) ``dab_interval_s`` apart, as mouse-move
    events; strokes are ``pause_s`` apart, long enough for the idle exact refresh to start and be
    cancelled. Returns, per dab, the ms from its submission to the first tile that includes it
    (quick or preview), the same for the first accurate tile (preview or exact), and how many exact
    frames finished.
    """
    rng = np.random.default_rng(seed)
    height, width = labels.shape
    arrivals: dict[int, float] = {}
    accurate: dict[int, float] = {}
    exact_frames = 0
    lock = threading.Condition()

    def on_result(output: RenderOutput) -> None:
        nonlocal exact_frames
        now = time.perf_counter()
        with lock:
            if output.kind == "exact":
                exact_frames += 1
            arrivals.setdefault(output.version, now)
            if output.kind != "quick":
                accurate.setdefault(output.version, now)
            lock.notify_all()

    loop = RenderLoop(incremental, on_result, idle_refresh_s=0.25)
    loop.start()
    submitted: dict[int, float] = {}
    version = 0
    labels, instances = labels.copy(), instances.copy()
    yy, xx = np.mgrid[-radius:radius + 1, -radius:radius + 1]
    disc = yy**2 + xx**2 <= radius * radius
    try:
        for _ in range(strokes):
            cy, cx = int(rng.integers(radius, height - radius)), int(rng.integers(radius, width - radius))
            class_id = int(rng.choice([VEGETATION, CAR]))
            for _ in range(dabs_per_stroke):
                cy = int(np.clip(cy + rng.integers(-8, 9), radius, height - radius - 1))
                cx = int(np.clip(cx + rng.integers(-8, 9), radius, width - radius - 1))
                window = (slice(cy - radius, cy + radius + 1), slice(cx - radius, cx + radius + 1))
                labels[window][disc] = class_id
                instances[window][disc] = class_id
                version += 1
                box = (cx - radius, cy - radius, cx + radius + 1, cy + radius + 1)
                job = RenderJob(version, labels.copy(), instances.copy(), {}, 0, box)
                submitted[version] = job.submitted
                loop.submit(job)
                time.sleep(dab_interval_s)
            time.sleep(pause_s)
        with lock:  # wait for the last accurate tile
            lock.wait_for(lambda: any(v >= version for v in accurate), timeout=60)
    finally:
        loop.stop()

    def delays(answers: dict[int, float]) -> list[float]:
        out = []
        answered = sorted(answers.items())
        for v, t_submit in submitted.items():
            first = min((t for av, t in answered if av >= v), default=None)
            if first is not None:
                out.append((first - t_submit) * 1e3)
        return out

    return delays(arrivals), delays(accurate), exact_frames


def run_bench(model: LoadedModel, name: str, width: int, height: int, device: str | None = None,
              epsilon: float = DEFAULT_EPSILON, strokes: int = 50, repeats: int = 3, exact: bool = True,
              compare_module: bool = True) -> BenchResult:
    renderer = Renderer(model, device)
    incremental = IncrementalRenderer(renderer, epsilon=epsilon)
    check_memory(incremental, width, height)
    threads = torch.get_num_threads()
    labels, instances = street_scene(width, height, seed=1)
    notes: list[str] = []
    log.info("bench %s at %dx%d on %s, %d threads", name, width, height, renderer.device, threads)

    full_ms, _ = _time_ms(lambda: (incremental.clear(), incremental.full(labels, instances)), repeats)
    cache_mb = incremental.cache_bytes / 2**20
    styled_ms = None
    if renderer.needs_reference(chosen := chosen_styles(instances)):
        styled_ms, _ = _time_ms(lambda: (incremental.clear(), incremental.full(labels, instances, chosen)), 1)
        incremental.clear()
    module_ms = None
    if compare_module:
        with torch.inference_mode():
            x = renderer.network_input(labels, instances, {}, 0).contiguous(memory_format=torch.channels_last)
            generator = renderer.generator.to(memory_format=torch.channels_last)
            module_ms, _ = _time_ms(lambda: generator(x), repeats)
            del x

    # every edit is timed from the same full render of the base scene: update, keep its frame, revert
    edits: list[EditTiming] = []
    painted = [paint(labels, instances, area, seed=10 + k, class_id=VEGETATION if k % 2 == 0 else CAR)
               for k, area in enumerate(EDIT_AREAS)]
    if not incremental.ready:
        incremental.clear()
        incremental.full(labels, instances)
    incremental.keep_journal = True  # the cache holds the base scene from the timed full renders
    frames: list[tuple[torch.Tensor, torch.Tensor | None]] = []
    def timed_update(new_labels: np.ndarray, new_instances: np.ndarray, box: tuple[int, int, int, int],
                     epsilon: float | None) -> tuple[float, object, torch.Tensor, float]:
        """Median ms over ``repeats`` updates from the same cache (each reverted), the tile, the frame."""
        times, tile, out, work = [], None, None, 0.0
        for _ in range(repeats):
            start = time.perf_counter()
            tile = incremental.update(new_labels, new_instances, region=box, epsilon=epsilon)
            times.append((time.perf_counter() - start) * 1e3)
            out, work = incremental.output_tensor().clone(), incremental.last_stats.work_fraction
            incremental.revert_last()
        return float(np.median(times)), tile, out, work

    for (new_labels, new_instances, box), area in zip(painted, EDIT_AREAS):
        fast_ms, tile, fast_out, work = timed_update(new_labels, new_instances, box, None)
        exact_ms = exact_out = None
        if exact:
            exact_ms, _, exact_out, _ = timed_update(new_labels, new_instances, box, 0.0)
        frames.append((fast_out, exact_out))
        edits.append(EditTiming(area=area, ms=fast_ms, speedup=full_ms / fast_ms, psnr_db=0.0, exact_ms=exact_ms,
                                exact_speedup=full_ms / exact_ms if exact_ms else None, work_fraction=work,
                                tile=tile.box if tile is not None else (0, 0, 0, 0)))
    incremental.keep_journal = False
    for (new_labels, new_instances, _), timing, (fast_out, exact_out) in zip(painted, edits, frames):
        incremental.clear()
        incremental.full(new_labels, new_instances)  # the reference: a full render of the edited scene
        reference = incremental.output_tensor()
        timing.psnr_db = psnr(fast_out, reference)
        timing.exact_psnr_db = psnr(exact_out, reference) if exact_out is not None else None
        log.info("edit %.1f%%: %.1f ms (%.1fx), %.1f dB", timing.area * 100, timing.ms, timing.speedup,
                 timing.psnr_db)
    del frames

    p50 = p95 = accurate_p50 = accurate_p95 = None
    exact_frames = 0
    latencies: list[float] = []
    if strokes > 0:
        incremental.clear()
        incremental.full(labels, instances)
        latencies, accurate, exact_frames = simulate_strokes(incremental, labels, instances, strokes)
        if latencies:
            p50, p95 = float(np.percentile(latencies, 50)), float(np.percentile(latencies, 95))
        if accurate:
            accurate_p50, accurate_p95 = float(np.percentile(accurate, 50)), float(np.percentile(accurate, 95))

    vec_ms, loop_ms = pooling_times((height, width), instances)
    parameters = sum(p.numel() for p in renderer.generator.parameters())
    notes.append("PSNR is against a full render of the edited scene with fresh InstanceNorm statistics; the "
                 "exact-mode column (epsilon 0) is the floor set by the frozen statistics alone. The exact "
                 "frame follows from the idle full render.")
    if vec_ms > loop_ms:
        notes.append("model.networks.encoder.instance_average is slower than a per-instance loop here "
                     "(torch.unique over stacked (image, id) rows)")
    return BenchResult(
        device=_device_name(renderer.device), size=f"{width}x{height}", model=name, parameters=parameters,
        threads=threads, epsilon=epsilon, full_ms=full_ms, torch_module_ms=module_ms, styled_full_ms=styled_ms,
        incremental=edits,
        preview_p50_ms=p50, preview_p95_ms=p95, preview_samples=len(latencies), exact_frames=exact_frames,
        accurate_p50_ms=accurate_p50, accurate_p95_ms=accurate_p95,
        pooling_vectorised_ms=vec_ms, pooling_loop_ms=loop_ms, pooling_speedup=loop_ms / vec_ms,
        cache_mb=cache_mb, notes=notes,
    )


def chosen_styles(instances: np.ndarray, count: int = 3) -> dict[int, int]:
    """A few objects with a style picked (cluster 0), as a user would have after choosing some."""
    things = np.unique(instances[instances >= 1000])
    return {int(i): 0 for i in things[:count]}


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return f"{device.type} ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"


def format_table(result: BenchResult) -> str:
    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:,.1f}"

    lines = [
        (f"model {result.model} ({result.parameters / 1e6:.2f}M parameters), {result.size}, {result.device}, "
         f"{result.threads} threads, epsilon {result.epsilon}"),
        "",
        f"{'measure':44s} {'value':>12s}",
        f"{'full render (ms)':44s} {ms(result.full_ms):>12s}",
    ]
    if result.torch_module_ms is not None:
        lines.append(f"{'  plain torch module, channels-last (ms)':44s} {ms(result.torch_module_ms):>12s}")
    if result.styled_full_ms is not None:
        lines.append(f"{'  with styles chosen (+ reference pass) (ms)':44s} {ms(result.styled_full_ms):>12s}")
    lines.append(f"{'cache memory (MB)':44s} {result.cache_mb:>12.1f}")
    lines += ["", (f"{'edit area':>10s} {'fast ms':>10s} {'speed-up':>9s} {'PSNR dB':>8s} {'work':>7s}"
                   f" {'exact ms':>10s} {'speed-up':>9s} {'PSNR dB':>8s}")]
    for e in result.incremental:
        lines.append(
            f"{e.area * 100:>9.1f}% {e.ms:>10.1f} {e.speedup:>8.1f}x {e.psnr_db:>8.1f} {e.work_fraction * 100:>6.1f}%"
            f" {ms(e.exact_ms):>10s} {(f'{e.exact_speedup:.1f}x' if e.exact_speedup else '-'):>9s}"
            f" {(f'{e.exact_psnr_db:.1f}' if e.exact_psnr_db is not None else '-'):>8s}")
    lines += [
        "",
        (f"{'preview latency p50 / p95 (ms)':44s} {ms(result.preview_p50_ms):>5s} / {ms(result.preview_p95_ms)}"
         f"  ({result.preview_samples} dabs; first pixels)"),
        (f"{'  accurate tile p50 / p95 (ms)':44s} {ms(result.accurate_p50_ms):>5s} / {ms(result.accurate_p95_ms)}"
         f"  ({result.exact_frames} exact frames finished)"),
        (f"{'instance pooling vectorised / loop (ms)':44s} {result.pooling_vectorised_ms:.1f} / "
         f"{result.pooling_loop_ms:.1f}  ({result.pooling_speedup:.1f}x)"),
    ]
    lines += [f"note: {n}" for n in result.notes]
    return "\n".join(lines)


def to_json(result: BenchResult) -> str:
    return json.dumps(result.to_json(), indent=1)
