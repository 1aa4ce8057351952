"""Dock panels and dialogs of the editor window."""
