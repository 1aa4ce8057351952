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


def test_a_layout_saved_before_the_dock_was_tabbed_gives_the_default(make_window) -> None:
    """A layout from an older version (saved without a version number, with the Anomalies dock split off
    as a third row on the right, as the editor once placed it) is not restored: the default comes back."""
    window = make_window()
    window.removeDockWidget(window.anomaly.dock)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, window.anomaly.dock)  # its own row
    window.anomaly.dock.show()
    assert window.anomaly.dock not in window.tabifiedDockWidgets(window.dock_history)
    assert window.dock_styles.height() < window.height() / 3  # three rows squeeze the Styles swatches
    geometry, old_layout = window.saveGeometry(), window.saveState()  # what the older editor wrote
    window.shutdown()
    window.close()  # (saves the layout as this version does; replaced below by the older one)
    window.settings.setValue("window/geometry", geometry)
    window.settings.setValue("window/state", old_layout)
    reopened = make_window()
    assert reopened.anomaly.dock in reopened.tabifiedDockWidgets(reopened.dock_history)
    assert reopened.dockWidgetArea(reopened.anomaly.dock) == Qt.DockWidgetArea.RightDockWidgetArea
    assert reopened.dock_styles.height() > reopened.height() / 3
