"""terminal.settings: the counter's own settings, kept across restarts in its data dir."""

from __future__ import annotations

import json
import logging

from terminal import settings


def test_saved_settings_come_back(tmp_path):
    assert not settings.saved(tmp_path)
    assert settings.load(tmp_path) == settings.Settings()  # none yet: the defaults
    chosen = settings.Settings(language="en", high_contrast=True, large_type=True)
    settings.save(tmp_path, chosen)
    assert settings.saved(tmp_path)
    assert settings.load(tmp_path) == chosen
    assert [p.name for p in tmp_path.iterdir()] == [settings.SETTINGS_FILE]  # no temp left


def test_a_damaged_file_gives_the_defaults_and_says_so(tmp_path, caplog):
    (tmp_path / settings.SETTINGS_FILE).write_text('{"language": "ja", "high_con', "utf-8")
    with caplog.at_level(logging.WARNING, logger="terminal.settings"):
        assert settings.load(tmp_path) == settings.Settings()
    assert "defaults" in caplog.text


def test_unknown_values_are_dropped_one_by_one(tmp_path, caplog):
    (tmp_path / settings.SETTINGS_FILE).write_text(json.dumps(
        {"language": "fr", "high_contrast": "yes", "large_type": True, "colour": "red"}),
        "utf-8")
    with caplog.at_level(logging.WARNING, logger="terminal.settings"):
        assert settings.load(tmp_path) == settings.Settings(large_type=True)
    assert "language='fr'" in caplog.text and "high_contrast='yes'" in caplog.text


def test_a_file_that_is_not_an_object_gives_the_defaults(tmp_path):
    (tmp_path / settings.SETTINGS_FILE).write_text("[1, 2]", "utf-8")
    assert settings.load(tmp_path) == settings.Settings()
