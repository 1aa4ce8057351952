"""The editor's Qt-free state: the document and its edits, snapshots, and the autosave store.

Nothing here imports Qt (``tests/model/test_no_qt.py`` checks it), so the state can be tested and
scripted without a display.
"""
