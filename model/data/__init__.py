"""Training data: procedural street scenes (procedural.py) and dataset folder loaders (folders.py)."""
