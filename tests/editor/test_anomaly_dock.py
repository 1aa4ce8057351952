"""The Anomalies dock is a tab beside History by default (the Styles dock keeps the column's height),
and a layout the user saved with it elsewhere is restored as saved."""

from __future__ import annotations

from PySide6.QtCore import Qt


def test_anomalies_dock_is_tabbed_with_history_by_default(make_window) -> None:
    window = make_window()
    dock = window.anomaly.dock
    assert dock in window.tabifiedDockWidgets(window.dock_history)
    assert window.dockWidgetArea(dock) == Qt.DockWidgetArea.RightDockWidgetArea
    assert not dock.isFloating()
    # the right column holds two rows (Styles, History|Anomalies), not three
    assert window.dock_styles.height() > window.height() / 3


def test_a_saved_layout_keeps_the_dock_where_the_user_put_it(make_window) -> None:
    window = make_window()
    window.splitDockWidget(window.dock_styles, window.anomaly.dock, Qt.Orientation.Vertical)
    assert window.anomaly.dock not in window.tabifiedDockWidgets(window.dock_history)
    window._save_layout()
    window.shutdown()
    window.close()
    reopened = make_window()
    assert reopened.anomaly.dock not in reopened.tabifiedDockWidgets(reopened.dock_history)
    assert reopened.dockWidgetArea(reopened.anomaly.dock) == Qt.DockWidgetArea.RightDockWidgetArea
