"""Training data: procedural street scenes (procedural/), class statistics (stats.py) and dataset folder loaders (folders.py)."""
