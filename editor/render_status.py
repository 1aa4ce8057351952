"""The render state shown in the status bar: "rendering…", "preview…", "up to date" (no Qt here)."""

from __future__ import annotations

from dataclasses import dataclass


def duration(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1.0 else f"{seconds:.1f} s"


@dataclass
class RenderStatus:
    incremental: bool = False

    def requested(self) -> str:
        return "rendering…"

    def result(self, kind: str, seconds: float, current: bool) -> str:
        """The label for a result of ``kind`` ("quick", "update", "full", "exact"); ``current``: it
        shows the document's present version."""
        if not current:
            return f"rendering… (last {duration(seconds)})"
        if kind == "quick":
            return f"preview… · quick {duration(seconds)}"
        if kind == "update":
            return f"preview… · {duration(seconds)}, exact frame when idle"
        if kind == "exact":
            return f"up to date · exact frame {duration(seconds)}"
        return f"up to date · {duration(seconds)}"
