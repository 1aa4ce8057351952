"""Keyboard shortcuts typed at the window (QTest key clicks with modifiers, as a keyboard sends them):
every Ctrl+Shift action fires, from the canvas and from a dock, and the common ones do their job.

Under Xvfb with no window manager no shortcut fires until the window is clicked, and none after a
modal dialog closes, because nothing gives the window the keyboard focus back; with a window manager
(openbox) they fire. Here the window is active, as a window manager makes it."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest
from support.gui import CAR, FakeRenderer, click

CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier


def ctrl_shift_actions(window) -> dict[str, object]:
    """Every window action bound to Ctrl+Shift+<letter>, by its letter."""
    found = {}
    for action in window.actions():
        for sequence in action.shortcuts():
            text = sequence.toString(QKeySequence.SequenceFormat.PortableText)
            if text.startswith("Ctrl+Shift+") and len(text) == len("Ctrl+Shift+") + 1:
                found[text[-1]] = action
    return found


def press(widget, letter: str, modifiers=CTRL_SHIFT) -> None:
    QTest.keyClick(widget, getattr(Qt.Key, f"Key_{letter}"), modifiers)


@pytest.mark.parametrize("focus", ["canvas", "label list"])
def test_every_ctrl_shift_shortcut_reaches_its_action(make_window, focus) -> None:
    window = make_window(FakeRenderer())
    assert window.state.resample_all()
    window.state.stack.undo()  # something to redo
    window.set_tool("select")
    click(window, 100, 110)  # a selection, so the object actions are enabled
    actions = ctrl_shift_actions(window)
    assert set("SEAPRMZ") <= set(actions), sorted(actions)
    fired: list[str] = []
    for letter, action in actions.items():
        action.triggered.disconnect()  # record the trigger only: no file dialogs in a test
        action.triggered.connect(lambda _checked=False, letter=letter: fired.append(letter))
    target = window.canvas.viewport() if focus == "canvas" else window.label_palette.list
    target.setFocus()
    for letter in actions:
        press(target, letter)
    assert sorted(fired) == sorted(actions)


def test_ctrl_shift_keys_resample_deselect_and_redo(make_window) -> None:
    window = make_window(FakeRenderer())
    doc = window.document
    window.set_tool("select")
    click(window, 100, 110)
    assert window.state.selection == CAR * 1000
    canvas = window.canvas.viewport()
    press(canvas, "R")  # resample all styles
    resampled = dict(doc.styles)
    assert CAR * 1000 in resampled and window.state.stack.undoText() == "Resample all styles"
    press(canvas, "Z", Qt.KeyboardModifier.ControlModifier)
    assert doc.styles != resampled
    press(canvas, "Z")  # Ctrl+Shift+Z redoes
    assert doc.styles == resampled
    press(canvas, "A")  # deselect
    assert window.state.selection is None
