"""Anomaly synthesis for segmentation (FAST): procedural anomaly families, a mask-conditioned
diffusion inpainter with a foreground-aware reconstruction module (FARM) and a few-step sampler
(AIAS), the paste and Perlin baselines, compositing into full frames, export, and an anomaly
segmenter with its metrics. Nothing here imports Qt.
"""
