"""Render-speed benchmark: full renders, brush-stroke edits, first-pixel latency through the
editor's own render loop, instance pooling and cache memory, all measured in one run.

Edits are seeded brush strokes (``model.render.strokes``: polylines with a brush radius) on the
bundled sample scenes, at 0.1 %, 1 % and 5 % of the frame, several per area. Each is timed as an
incremental update from the cache of the unedited scene (fast mode, then exact mode ε = 0, each
reverted afterwards) and judged against a fresh full render of the edited scene, as 8-bit images
(what the user sees): PSNR over the frame and inside the stroke's box grown by 32 px. The exact
mode's PSNR is the floor the frozen InstanceNorm statistics set; fast against exact is what ε costs.

Speed-ups and PSNRs compare numbers from the same process seconds apart, so they hold on a shared
CPU where absolute times drift.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import cv2
import numpy as np
import torch

from model.box import Area, Box, grow_box
from model.checkpoint import LoadedModel
from model.errors import EditorError
from model.networks.encoder import instance_average
from model.render.full import Renderer
from model.render.incremental import DEFAULT_EPSILON, IncrementalRenderer
from model.render.loop import EDITOR_POLICY, RenderLoop, RenderRequest, RenderResult
from model.render.memory import available_memory_bytes
from model.render.precision import FP32, PrecisionChoice
from model.render.samples import SampleMaps, load_samples
from model.render.strokes import brush_stroke

log = logging.getLogger(__name__)

EDIT_AREAS = (0.001, 0.01, 0.05)
STROKES_PER_AREA = 5
BOX_MARGIN = 32  # the in-box PSNR is taken inside the stroke's box grown by this many pixels
PSNR_CAP_DB = 100.0  # identical 8-bit images
VEGETATION, CAR = 21, 26  # the classes strokes paint (alternating; a car stroke is a new instance)


class BenchMemoryError(EditorError):
    """The requested benchmark would not fit in the memory available."""


@dataclass
class StrokeEdit:
    """One stroke on one scene."""

    scene: str
    area: float  # fraction of the frame the stroke was asked to paint
    painted: float  # fraction it painted
    box: Box
    full_ms: float  # full render of this scene
    ms: float  # incremental update, fast mode
    work_fraction: float  # recomputed positions / all positions, fast mode
    psnr_db: float  # fast mode against the fresh full render, whole frame
    psnr_box_db: float  # ... inside the stroke's box grown by BOX_MARGIN
    exact_ms: float | None = None  # incremental update with ε = 0
    exact_psnr_db: float | None = None  # frozen statistics alone, whole frame
    exact_psnr_box_db: float | None = None  # ... in the box
    epsilon_psnr_box_db: float | None = None  # fast against exact mode in the box: what ε alone costs

    @property
    def speedup(self) -> float:
        return self.full_ms / self.ms


@dataclass
class EditTiming:
    """The strokes of one area over all scenes: medians, and p90 of the time (p10 of the speed-up)."""

    area: float
    strokes: int
    ms: float
    ms_p90: float
    speedup: float
    speedup_p10: float  # the speed-up 90 % of strokes reach
    work_fraction: float
    work_fraction_p90: float
    psnr_db: float
    psnr_db_min: float
    psnr_box_db: float
    psnr_box_db_min: float
    exact_ms: float | None = None
    exact_speedup: float | None = None
    exact_psnr_db: float | None = None
    exact_psnr_box_db: float | None = None
    epsilon_psnr_box_db: float | None = None


@dataclass
class BenchResult:
    device: str
    precision: str  # the precision of the main figures, and why
    size: str
    model: str
    random_weights: bool
    parameters: int
    threads: int
    epsilon: float
    scenes: list[str]
    full_ms: float  # median over the scenes
    torch_module_ms: float | None
    styled_full_ms: float | None  # a new layout with styles chosen: reference-statistics pass + render pass
    incremental: list[EditTiming]
    preview_p50_ms: float | None  # submission → first updated pixels, through the editor's render loop
    preview_p95_ms: float | None
    preview_samples: int
    accurate_p50_ms: float | None  # submission → first incremental or exact tile
    accurate_p95_ms: float | None
    exact_frames: int  # idle exact frames that finished during the stroke simulation
    exact_cancel_ms: float | None  # the longest wait from a newer request to a cancelled exact frame's end
    pooling_vectorised_ms: float
    pooling_loop_ms: float
    pooling_speedup: float
    pooling_max_difference: float
    cache_mb: float
    precisions: list[PrecisionRow] = field(default_factory=list)  # float32 against bf16, when compared
    strokes: list[StrokeEdit] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        data = asdict(self)
        del data["strokes"]  # the per-area figures under "incremental" summarise them
        return data


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """PSNR in dB of two tanh-range images, on the [0, 1] scale."""
    mse = float((((a.float() - b.float()) / 2.0) ** 2).mean())
    return 10.0 * float(np.log10(1.0 / mse)) if mse > 0 else float("inf")


def psnr_uint8(a: np.ndarray, b: np.ndarray, box: Box | None = None) -> float:
    """PSNR in dB of two 8-bit images, optionally inside ``box``; identical: ``PSNR_CAP_DB``."""
    if box is not None:
        x0, y0, x1, y1 = box
        a, b = a[y0:y1, x0:x1], b[y0:y1, x0:x1]
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return PSNR_CAP_DB if mse == 0 else min(PSNR_CAP_DB, 10.0 * float(np.log10(255.0**2 / mse)))


def check_memory(incremental: IncrementalRenderer, width: int, height: int) -> int:
    """Refuse a run whose activation cache (plus a full render's working set) would not fit."""
    need = int(incremental.estimate_cache_bytes(height, width) * 1.5)
    free = available_memory_bytes()
    if free is not None and need > free * 0.8:
        raise BenchMemoryError(
            f"a {width}x{height} run needs about {need / 2**30:.1f} GiB (activation cache + working set) "
            f"but only {free / 2**30:.1f} GiB is available; pass a smaller --size"
        )
    return need


def _time_ms(fn: Callable[[], object], repeats: int = 1) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - start) * 1e3)
    return float(np.median(times)), out


def pooling_times(instances: np.ndarray, feat: int = 3) -> tuple[float, float, float]:
    """(vectorised ms, per-instance-loop ms, max |difference|) of instance-wise average pooling of
    a random F×H×W map over ``instances``."""
    torch.manual_seed(0)
    features = torch.randn(1, feat, *instances.shape)
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
    return vec_ms, loop_ms, float((vec - ref).abs().max())  # type: ignore[operator]


def _stroke_edits(
    incremental: IncrementalRenderer,
    sample: SampleMaps,
    full_ms: float,
    per_area: int,
    exact: bool,
    seed: int,
    areas: tuple[float, ...] = EDIT_AREAS,
    reference_renderer: Renderer | None = None,
) -> list[StrokeEdit]:
    """Time ``per_area`` strokes per area from the cache of the unedited scene (each reverted).
    PSNRs are against a full render of the edited scene by ``reference_renderer`` (default: the
    incremental renderer's own)."""
    renderer = reference_renderer or incremental.renderer
    height, width = sample.labels.shape
    edits = []
    incremental.keep_journal = True
    try:
        for area_index, area in enumerate(areas):
            for k in range(per_area):
                class_id = VEGETATION if k % 2 == 0 else CAR
                labels, instances, box = brush_stroke(
                    sample.labels,
                    sample.instances,
                    area,
                    seed=seed + 100 * area_index + k,
                    class_id=class_id,
                    thing=class_id == CAR,
                )
                painted = float((labels != sample.labels).mean() + 0.0)
                hint = Area.of(box)
                start = time.perf_counter()
                incremental.update(labels, instances, hint=hint)
                fast_ms = (time.perf_counter() - start) * 1e3
                work = incremental.last_stats.work_fraction
                fast = incremental.image()
                incremental.revert_last()
                exact_ms = exact_image = None
                if exact:
                    start = time.perf_counter()
                    incremental.update(labels, instances, hint=hint, epsilon=0.0)
                    exact_ms = (time.perf_counter() - start) * 1e3
                    exact_image = incremental.image()
                    incremental.revert_last()
                reference = renderer.render(labels, instances)
                grown = grow_box(box, BOX_MARGIN, width, height)
                edit = StrokeEdit(
                    sample.name,
                    area,
                    painted,
                    box,
                    full_ms,
                    fast_ms,
                    work,
                    psnr_uint8(fast, reference),
                    psnr_uint8(fast, reference, grown),
                )
                if exact_image is not None:
                    edit.exact_ms = exact_ms
                    edit.exact_psnr_db = psnr_uint8(exact_image, reference)
                    edit.exact_psnr_box_db = psnr_uint8(exact_image, reference, grown)
                    edit.epsilon_psnr_box_db = psnr_uint8(fast, exact_image, grown)
                log.info(
                    "%s stroke %.1f%% #%d: %.0f ms (%.1fx), %.1f dB frame, %.1f dB box",
                    sample.name,
                    area * 100,
                    k,
                    fast_ms,
                    edit.speedup,
                    edit.psnr_db,
                    edit.psnr_box_db,
                )
                edits.append(edit)
    finally:
        incremental.keep_journal = False
    return edits


def summarise(edits: list[StrokeEdit]) -> list[EditTiming]:
    out = []
    for area in EDIT_AREAS:
        group = [e for e in edits if e.area == area]
        if not group:
            continue
        ms = np.array([e.ms for e in group])
        speedups = np.array([e.speedup for e in group])
        work = np.array([e.work_fraction for e in group])
        timing = EditTiming(
            area=area,
            strokes=len(group),
            ms=float(np.median(ms)),
            ms_p90=float(np.percentile(ms, 90)),
            speedup=float(np.median(speedups)),
            speedup_p10=float(np.percentile(speedups, 10)),
            work_fraction=float(np.median(work)),
            work_fraction_p90=float(np.percentile(work, 90)),
            psnr_db=float(np.median([e.psnr_db for e in group])),
            psnr_db_min=min(e.psnr_db for e in group),
            psnr_box_db=float(np.median([e.psnr_box_db for e in group])),
            psnr_box_db_min=min(e.psnr_box_db for e in group),
        )
        exact = [e for e in group if e.exact_ms is not None]
        if exact:
            timing.exact_ms = float(np.median([e.exact_ms for e in exact]))
            timing.exact_speedup = float(np.median([e.full_ms / e.exact_ms for e in exact]))  # type: ignore[operator]
            timing.exact_psnr_db = float(np.median([e.exact_psnr_db for e in exact]))
            timing.exact_psnr_box_db = float(np.median([e.exact_psnr_box_db for e in exact]))
            timing.epsilon_psnr_box_db = float(np.median([e.epsilon_psnr_box_db for e in exact]))
        out.append(timing)
    return out


def cancel_times(
    incremental: IncrementalRenderer,
    labels: np.ndarray,
    instances: np.ndarray,
    at: tuple[float, ...] = (0.2, 0.5, 0.8),
) -> list[float]:
    """ms from raising the cancel flag of a running full pass (at these fractions of its work, as
    a stroke does to the exact frame) until the pass has given up."""
    out = []
    for fraction in at:
        reached, stop = threading.Event(), threading.Event()
        done: list[float] = []

        def progress(f: float, target: float = fraction, event: threading.Event = reached) -> None:
            if f >= target:
                event.set()

        def work(event: threading.Event = stop, finished: list[float] = done) -> None:
            incremental.full(labels, instances, cancelled=event.is_set, progress=progress)
            finished.append(time.perf_counter())

        thread = threading.Thread(target=work)
        thread.start()
        reached.wait(600)
        start = time.perf_counter()
        stop.set()
        thread.join(600)
        if done:
            out.append((done[0] - start) * 1e3)
    return out


def simulate_strokes(
    incremental: IncrementalRenderer,
    labels: np.ndarray,
    instances: np.ndarray,
    strokes: int,
    dabs_per_stroke: int = 6,
    dab_interval_s: float = 0.016,
    pause_s: float = 0.3,
    radius: int = 12,
    seed: int = 0,
) -> tuple[list[float], list[float], int]:
    """Paint strokes through the editor's own render loop (``EDITOR_POLICY``, its own thread).

    A stroke is a polyline of ``dabs_per_stroke`` segments painted ``dab_interval_s`` apart (as
    mouse-move events), each submitted as a request with the segment's box; strokes are ``pause_s``
    apart, long enough for the idle exact frame to start and be cancelled. Returns, per request,
    the ms from submission to the first result that includes it (any kind: first pixels), the
    same for the first committed result (update or exact), and how many exact frames finished.
    """
    rng = np.random.default_rng(seed)
    height, width = labels.shape
    arrivals: dict[int, float] = {}
    accurate: dict[int, float] = {}
    exact_frames = 0
    lock = threading.Condition()

    def on_result(result: RenderResult) -> None:
        nonlocal exact_frames
        now = time.perf_counter()
        with lock:
            exact_frames += result.kind == "exact"
            arrivals.setdefault(result.version, now)
            if result.committed:
                accurate.setdefault(result.version, now)
            lock.notify_all()

    loop = RenderLoop(incremental, on_result, EDITOR_POLICY)
    thread = threading.Thread(target=loop.run, name="bench-render-loop", daemon=True)
    submitted: dict[int, float] = {}
    labels, instances = labels.copy(), instances.copy()
    version = 0
    loop.submit(RenderRequest(version, Area.everything(), labels.copy(), instances.copy()))
    thread.start()
    try:
        with lock:  # the first frame (the cache) before any stroke
            lock.wait_for(lambda: 0 in accurate, timeout=600)
        for _ in range(strokes):
            x, y = float(rng.uniform(radius, width - radius)), float(rng.uniform(radius, height - radius))
            heading = float(rng.uniform(0, 2 * np.pi))
            class_id = int(rng.choice([VEGETATION, CAR]))
            for _ in range(dabs_per_stroke):
                heading += float(rng.uniform(-0.5, 0.5))
                nx = float(np.clip(x + 3 * radius * np.cos(heading), radius, width - radius - 1))
                ny = float(np.clip(y + 3 * radius * np.sin(heading), radius, height - radius - 1))
                mask = np.zeros((height, width), np.uint8)
                cv2.line(mask, (int(x), int(y)), (int(nx), int(ny)), 1, 2 * radius + 1)
                painted = mask.astype(bool)
                labels[painted], instances[painted] = class_id, class_id
                box = (
                    int(min(x, nx)) - radius - 1,
                    int(min(y, ny)) - radius - 1,
                    int(max(x, nx)) + radius + 2,
                    int(max(y, ny)) + radius + 2,
                )
                version += 1
                request = RenderRequest(version, Area.of(box), labels.copy(), instances.copy())
                submitted[version] = request.submitted
                loop.submit(request)
                x, y = nx, ny
                time.sleep(dab_interval_s)
            time.sleep(pause_s)
        with lock:  # wait for the last committed tile
            lock.wait_for(lambda: any(v >= version for v in accurate), timeout=120)
    finally:
        loop.close()
        thread.join(120)

    def delays(answers: dict[int, float]) -> list[float]:
        answered = sorted(answers.items())
        out = []
        for v, t_submit in submitted.items():
            first = min((t for av, t in answered if av >= v), default=None)
            if first is not None:
                out.append((first - t_submit) * 1e3)
        return out

    return delays(arrivals), delays(accurate), exact_frames


@dataclass
class PrecisionRow:
    """The editing figures of one precision; PSNRs are against float32 renders."""

    precision: str
    full_ms: float  # median over the scenes
    stroke_ms: float  # 1% strokes, fast mode, median
    stroke_speedup: float
    first_p50_ms: float | None  # first updated pixels through the editor's loop
    first_p95_ms: float | None
    cache_mb: float
    psnr_frame_db: float  # a full render against the float32 one, median over the scenes
    psnr_stroke_box_db: float  # the 1% strokes' boxes against a float32 render of the edited scene


COMPARE_AREA = 0.01


def compare_precisions(
    model: LoadedModel,
    samples: list[SampleMaps],
    device: str | None,
    epsilon: float,
    strokes: int,
    repeats: int,
    per_area: int,
) -> list[PrecisionRow]:
    """Full render, 1% strokes, first pixels and cache size in float32 and in bf16, one after the
    other in this process, with bf16's pictures scored against float32's."""
    fp32 = Renderer(model, device, precision=FP32)
    rows = []
    for choice in (FP32, PrecisionChoice("bf16", "compared")):
        renderer = fp32 if choice is FP32 else Renderer(model, device, precision=choice)
        incremental = IncrementalRenderer(renderer, epsilon=epsilon)
        full_times, frame_db, edits = [], [], []
        for index, sample in enumerate(samples):

            def fresh_full(
                s: SampleMaps = sample, inc: IncrementalRenderer = incremental
            ) -> np.ndarray | None:
                inc.clear()
                return inc.full(s.labels, s.instances)

            full_ms, image = _time_ms(fresh_full, repeats)
            full_times.append(full_ms)
            frame_db.append(psnr_uint8(image, fp32.render(sample.labels, sample.instances)))  # type: ignore[arg-type]
            edits += _stroke_edits(
                incremental, sample, full_ms, per_area, False, 1000 * index, (COMPARE_AREA,), fp32
            )
        cache_mb = incremental.cache_bytes / 2**20
        latencies: list[float] = []
        if strokes > 0:
            incremental.clear()
            latencies, _, _ = simulate_strokes(incremental, samples[0].labels, samples[0].instances, strokes)
        rows.append(
            PrecisionRow(
                choice.precision,
                float(np.median(full_times)),
                float(np.median([e.ms for e in edits])),
                float(np.median([e.speedup for e in edits])),
                float(np.percentile(latencies, 50)) if latencies else None,
                float(np.percentile(latencies, 95)) if latencies else None,
                cache_mb,
                float(np.median(frame_db)),
                float(np.median([e.psnr_box_db for e in edits])),
            )
        )
        incremental.clear()  # free its cache before the next precision's
    return rows


def run_bench(
    model: LoadedModel,
    name: str,
    width: int,
    height: int,
    device: str | None = None,
    epsilon: float = DEFAULT_EPSILON,
    strokes: int = 50,
    repeats: int = 3,
    exact: bool = True,
    compare_module: bool = True,
    random_weights: bool = False,
    scenes: int | None = None,
    strokes_per_area: int = STROKES_PER_AREA,
    precision: PrecisionChoice = FP32,
    compare: bool = False,
) -> BenchResult:
    """The bench in ``precision``; ``compare``: also the float32 / bf16 comparison rows."""
    renderer = Renderer(model, device, precision=precision)
    incremental = IncrementalRenderer(renderer, epsilon=epsilon)
    check_memory(incremental, width, height)
    threads = torch.get_num_threads()
    samples = load_samples(width, height, renderer.label_set)[:scenes]
    log.info(
        "bench %s at %dx%d on %s, %d threads, %d scenes",
        name,
        width,
        height,
        renderer.device,
        threads,
        len(samples),
    )
    notes: list[str] = []

    edits: list[StrokeEdit] = []
    full_times = []
    for index, sample in enumerate(samples):

        def fresh_full(s: SampleMaps = sample) -> None:
            incremental.clear()
            incremental.full(s.labels, s.instances)

        full_ms, _ = _time_ms(fresh_full, repeats)
        full_times.append(full_ms)
        edits += _stroke_edits(incremental, sample, full_ms, strokes_per_area, exact, seed=1000 * index)
    cache_mb = incremental.cache_bytes / 2**20
    first = samples[0]
    styled_ms = None
    chosen = chosen_styles(first.instances)
    if renderer.needs_reference(chosen):
        incremental.clear()
        styled_ms, _ = _time_ms(lambda: incremental.full(first.labels, first.instances, chosen), 1)
    module_ms = None
    if compare_module:
        x = renderer.network_input(first.labels, first.instances, {}, 0).contiguous(
            memory_format=torch.channels_last
        )
        module_ms, _ = _time_ms(lambda: renderer.render_tensor(x), repeats)
        del x

    cancels = cancel_times(incremental, first.labels, first.instances)
    p50 = p95 = accurate_p50 = accurate_p95 = None
    exact_frames = 0
    latencies: list[float] = []
    if strokes > 0:
        incremental.clear()
        latencies, accurate, exact_frames = simulate_strokes(
            incremental, first.labels, first.instances, strokes
        )
        if latencies:
            p50, p95 = float(np.percentile(latencies, 50)), float(np.percentile(latencies, 95))
        if accurate:
            accurate_p50, accurate_p95 = (
                float(np.percentile(accurate, 50)),
                float(np.percentile(accurate, 95)),
            )

    vec_ms, loop_ms, pooling_difference = pooling_times(first.instances)
    precisions = []
    if compare:
        del incremental
        precisions = compare_precisions(
            model, samples, device, epsilon, min(strokes, 20), repeats, max(1, strokes_per_area)
        )
    parameters = sum(p.numel() for p in renderer.generator.parameters())
    notes.append(
        "PSNR: 8-bit frames against a fresh full render of the edited scene (live InstanceNorm "
        f"statistics); 'box' is the stroke's box grown by {BOX_MARGIN} px. The exact mode (epsilon 0) "
        "differs only by the frozen statistics; the idle exact frame removes that difference."
    )
    return BenchResult(
        device=_device_name(renderer.device),
        precision=precision.describe(),
        size=f"{width}x{height}",
        model=name,
        random_weights=random_weights,
        parameters=parameters,
        threads=threads,
        epsilon=epsilon,
        scenes=[s.name for s in samples],
        full_ms=float(np.median(full_times)),
        torch_module_ms=module_ms,
        styled_full_ms=styled_ms,
        incremental=summarise(edits),
        preview_p50_ms=p50,
        preview_p95_ms=p95,
        preview_samples=len(latencies),
        accurate_p50_ms=accurate_p50,
        accurate_p95_ms=accurate_p95,
        exact_frames=exact_frames,
        exact_cancel_ms=max(cancels) if cancels else None,
        pooling_vectorised_ms=vec_ms,
        pooling_loop_ms=loop_ms,
        pooling_speedup=loop_ms / vec_ms,
        pooling_max_difference=pooling_difference,
        cache_mb=cache_mb,
        precisions=precisions,
        strokes=edits,
        notes=notes,
    )


def chosen_styles(instances: np.ndarray, count: int = 3) -> dict[int, int]:
    """A few objects with a style picked (cluster 0), as a user would have after choosing some."""
    things = np.unique(instances[instances >= 1000])
    return {int(i): 0 for i in things[:count]}


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return f"{device.type} ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"


def random_weights_line(name: str) -> str:
    return f"RANDOM WEIGHTS: {name}; timings only, pictures and PSNRs are not the default model's"


def format_table(result: BenchResult) -> str:
    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:,.1f}"

    def db(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f}"

    lines = [random_weights_line(result.model)] if result.random_weights else []
    lines += [
        (
            f"model {result.model} ({result.parameters / 1e6:.2f}M parameters), {result.size}, {result.device}, "
            f"{result.threads} threads, epsilon {result.epsilon}, scenes {', '.join(result.scenes)}"
        ),
        f"precision {result.precision}",
        "",
        f"{'measure':44s} {'value':>12s}",
        f"{'full render, median over scenes (ms)':44s} {ms(result.full_ms):>12s}",
    ]
    if result.torch_module_ms is not None:
        lines.append(f"{'  plain torch module, channels-last (ms)':44s} {ms(result.torch_module_ms):>12s}")
    if result.styled_full_ms is not None:
        lines.append(f"{'  with styles chosen (+ reference pass) (ms)':44s} {ms(result.styled_full_ms):>12s}")
    lines.append(f"{'cache memory (MB)':44s} {result.cache_mb:>12.1f}")
    lines += [
        "",
        "brush strokes (median / p90 of time; speed-up median / p10; PSNR median, min):",
        (
            f"{'area':>6s} {'n':>3s} {'ms':>14s} {'speed-up':>13s} {'work':>6s} {'frame dB':>11s}"
            f" {'box dB':>11s} {'exact ms':>9s} {'exact x':>8s} {'exact frame/box dB':>19s} {'eps box dB':>10s}"
        ),
    ]
    for e in result.incremental:
        lines.append(
            f"{e.area * 100:>5.1f}% {e.strokes:>3d} {e.ms:>6.0f} / {e.ms_p90:<6.0f}"
            f" {e.speedup:>5.1f}x / {e.speedup_p10:<4.1f}x {e.work_fraction * 100:>5.1f}%"
            f" {e.psnr_db:>5.1f} {e.psnr_db_min:<5.1f} {e.psnr_box_db:>5.1f} {e.psnr_box_db_min:<5.1f}"
            f" {ms(e.exact_ms):>9s} {(f'{e.exact_speedup:.1f}x' if e.exact_speedup else '-'):>8s}"
            f" {db(e.exact_psnr_db):>9s} / {db(e.exact_psnr_box_db):<7s} {db(e.epsilon_psnr_box_db):>10s}"
        )
    lines += [
        "",
        (
            f"{'first pixels p50 / p95, editor loop (ms)':44s} {ms(result.preview_p50_ms):>5s} / "
            f"{ms(result.preview_p95_ms)}  ({result.preview_samples} requests)"
        ),
        (
            f"{'  committed tile p50 / p95 (ms)':44s} {ms(result.accurate_p50_ms):>5s} / {ms(result.accurate_p95_ms)}"
            f"  ({result.exact_frames} exact frames finished)"
        ),
        f"{'exact frame: a newer request to its cancel (ms)':44s} {ms(result.exact_cancel_ms):>5s}  (longest of 3)",
        (
            f"{'instance pooling vectorised / loop (ms)':44s} {result.pooling_vectorised_ms:.1f} / "
            f"{result.pooling_loop_ms:.1f}  ({result.pooling_speedup:.1f}x, max difference "
            f"{result.pooling_max_difference:.1e})"
        ),
    ]
    if result.precisions:
        lines += [
            "",
            "precision (same run; PSNR against float32 renders; strokes: 1% of the area):",
            (
                f"{'':9s} {'full ms':>9s} {'1% stroke ms':>13s} {'speed-up':>9s} {'first px p50/p95':>17s}"
                f" {'cache MB':>9s} {'frame dB':>9s} {'box dB':>7s}"
            ),
        ]
        for row in result.precisions:
            lines.append(
                f"{row.precision:9s} {row.full_ms:>9,.0f} {row.stroke_ms:>13,.0f} {row.stroke_speedup:>8.1f}x"
                f" {ms(row.first_p50_ms):>8s}/{ms(row.first_p95_ms):<8s} {row.cache_mb:>9.0f}"
                f" {db(row.psnr_frame_db):>9s} {db(row.psnr_stroke_box_db):>7s}"
            )
        if len(result.precisions) == 2:
            a, b = result.precisions
            lines.append(
                f"bf16 against float32: full render {a.full_ms / b.full_ms:.2f}x, 1% stroke "
                f"{a.stroke_ms / b.stroke_ms:.2f}x faster"
            )
    lines += [f"note: {n}" for n in result.notes]
    return "\n".join(lines)


def to_json(result: BenchResult) -> str:
    return json.dumps(result.to_json(), indent=1)
