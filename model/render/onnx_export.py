"""Export the generator to ONNX, check it against torch on a sample, and time both on the CPU.

The exported graph takes the network input (one-hot + edge + features + noise, N×C×H×W, H and W
multiples of the generator's stride; both dynamic) and returns the tanh image. The check renders a
synthetic street scene through torch and ONNX Runtime and reports the largest absolute difference.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from model.errors import EditorError
from model.render.full import Renderer
from model.render.samples import load_samples

log = logging.getLogger(__name__)


class OnnxError(EditorError):
    """Export or check failed (missing packages, an unsupported graph, a mismatch)."""


@dataclass(frozen=True)
class OnnxCheck:
    path: Path
    size: tuple[int, int]  # width, height of the sample
    max_abs_error: float
    torch_ms: float | None = None
    onnxruntime_ms: float | None = None
    threads: int = 1


def _require(module: str) -> object:
    try:
        return __import__(module)
    except ImportError:
        raise OnnxError(
            f"'{module}' is not installed: pip install onnx onnxruntime onnxscript "
            "(or the project's [onnx] extra)"
        ) from None


def export_onnx(
    renderer: Renderer, out: str | Path, width: int, height: int, opset: int = 18, exporter: str = "auto"
) -> Path:
    """Write the generator as ONNX with dynamic batch, height and width.

    ``exporter``: "torchscript" (about 1 s for the default model; deprecated upstream but exact for
    this conv net), "dynamo" (torch.export based, ~20× slower to export), or "auto": TorchScript
    first, dynamo if it fails or is gone."""
    _require("onnx")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    generator = renderer.generator.to("cpu").eval()
    sample = torch.zeros(1, renderer.input_nc, height, width)
    tmp = out.with_name(f".{out.name}.tmp")
    errors = []
    for noisy in ("onnx_ir", "onnxscript", "torch.onnx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    order = {"auto": (False, True), "dynamo": (True,), "torchscript": (False,)}.get(exporter)
    if order is None:
        raise OnnxError(f"unknown exporter '{exporter}' (auto, dynamo, torchscript)")
    for dynamo in order:
        try:
            with torch.inference_mode(False), torch.no_grad():
                if dynamo:
                    _require("onnxscript")
                    batch, h, w = (
                        torch.export.Dim("batch", max=64),
                        torch.export.Dim.AUTO,
                        torch.export.Dim.AUTO,
                    )
                    program = torch.onnx.export(
                        generator,
                        (sample,),
                        dynamo=True,
                        opset_version=opset,
                        input_names=["input"],
                        output_names=["image"],
                        dynamic_shapes={"x": {0: batch, 2: h, 3: w}},
                    )
                    assert program is not None  # the dynamo exporter returns its program
                    program.save(str(tmp))
                else:
                    import warnings

                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", (DeprecationWarning, FutureWarning))
                        torch.onnx.export(
                            generator,
                            (sample,),
                            str(tmp),
                            dynamo=False,
                            opset_version=min(opset, 17),
                            input_names=["input"],
                            output_names=["image"],
                            dynamic_axes={
                                "input": {0: "batch", 2: "height", 3: "width"},
                                "image": {0: "batch", 2: "height", 3: "width"},
                            },
                        )
            tmp.replace(out)
            log.info("exported %s with the %s exporter", out, "dynamo" if dynamo else "TorchScript")
            return out
        except OnnxError:
            raise
        except Exception as exc:  # noqa: BLE001 - exporter failures come in many types
            errors.append(
                f"{'dynamo' if dynamo else 'torchscript'}: {exc.__class__.__name__}: {str(exc)[:300]}"
            )
            log.warning("ONNX export failed (%s)", errors[-1])
            tmp.unlink(missing_ok=True)
    raise OnnxError("ONNX export failed: " + " | ".join(errors), out)


def onnx_session(path: str | Path, threads: int | None = None) -> Any:
    ort = _require("onnxruntime")
    options = ort.SessionOptions()  # type: ignore[attr-defined]
    if threads:
        options.intra_op_num_threads = threads
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL  # type: ignore[attr-defined]
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])  # type: ignore[attr-defined]


def check_onnx(
    renderer: Renderer, path: str | Path, width: int, height: int, timing: bool = False, repeats: int = 3
) -> OnnxCheck:
    """Run the first sample scene through torch and ONNX Runtime; max |difference| (and times)."""
    sample = load_samples(width, height, renderer.label_set)[0]
    labels, instances = sample.labels, sample.instances
    x = renderer.network_input(labels, instances, {}, 0).to("cpu")
    threads = torch.get_num_threads()
    session = onnx_session(path, threads)
    generator = renderer.generator.to("cpu").eval()
    with torch.inference_mode():
        expected = generator(x).numpy()
    got = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
    if got.shape != expected.shape:
        raise OnnxError(f"ONNX output shape {got.shape} differs from torch's {expected.shape}", path)
    error = float(np.abs(got - expected).max())
    torch_ms = ort_ms = None
    if timing:
        x_cl = x.contiguous(memory_format=torch.channels_last)
        generator_cl = generator.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        with torch.inference_mode():
            torch_ms = _median_ms(lambda: generator_cl(x_cl), repeats)
        feed = {session.get_inputs()[0].name: x.numpy()}
        ort_ms = _median_ms(lambda: session.run(None, feed), repeats)
    return OnnxCheck(Path(path), (width, height), error, torch_ms, ort_ms, threads)


def _median_ms(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return float(np.median(times))
