"""The interactive semantic image editor (PySide6). ``editor.document`` and ``editor.edits`` are Qt-free."""
