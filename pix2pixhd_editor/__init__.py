"""The distribution's own package: ``python -m pix2pixhd_editor`` runs the program, and an installed
wheel carries the bundled default model and sample scenes in it (``checkpoints/default``,
``assets/scenes``; mapped from the repository's top level by setup.py, found by model/resources.py).

Deliberately empty: importing it must stay cheap, because the resolver imports it to find the files.
"""
