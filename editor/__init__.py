"""The interactive semantic image editor (PySide6). ``editor.core`` holds its Qt-free state."""
