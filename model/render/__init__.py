"""Rendering a label map through a generator: full frames, incremental updates and benchmarks."""
