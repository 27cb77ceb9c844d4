"""The Qt (PySide6) front end of the terminal: the only package that imports Qt.

The UI thread only draws; journal work runs on a worker thread and reports back by signals.
"""
