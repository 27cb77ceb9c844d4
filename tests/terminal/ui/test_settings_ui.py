"""Settings persist per terminal (#18.6): language, high contrast and large type chosen on
the counter are back after a restart on the same data directory, applied before the first
paint. The printer is kept in terminal.json (test_window's printer test)."""

from __future__ import annotations

from terminal import settings
from terminal.ui import look
from terminal.ui.window import MainWindow


def restart_look() -> None:
    """What a new process starts with: English, plain."""
    look.set_language("en")
    for option in look.OPTIONS:
        look.set_option(option, False)


def test_language_contrast_and_type_size_survive_a_restart(qtbot, tmp_path):
    restart_look()
    first = MainWindow(tmp_path)  # no terminal here: it opens on set-up, which is enough
    qtbot.addWidget(first)
    first.lang_button.click()
    first.admin.buttons["contrast"].click()
    first.admin.buttons["large"].click()
    assert look.language() == "ja"
    first.close()
    assert settings.load(tmp_path) == settings.Settings("ja", True, True)
    restart_look()
    try:
        again = MainWindow(tmp_path)
        qtbot.addWidget(again)
        # applied while the window was made, before it is shown
        assert look.language() == "ja"
        assert look.options() == {"high_contrast", "large_type"}
        assert again.lang_button.text() == "English"
        assert again.modes["shop"].text() != "Shop"  # in Japanese
        again.close()
    finally:
        restart_look()


def test_a_terminal_without_saved_settings_keeps_the_launch_language(qtbot, tmp_path):
    restart_look()
    win = MainWindow(tmp_path)
    qtbot.addWidget(win)
    assert look.language() == "en" and not look.options()
    assert not settings.saved(tmp_path)  # nothing written until something is chosen
    win.close()
