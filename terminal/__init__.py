"""The counter terminal: pure-Python services (journal, sale, policy, ...) and `terminal.ui`.

Only `terminal.ui` imports PySide6; everything else here runs headless, in tests, the CLI
and benchmarks alike.
"""
