"""docs/operations.md's settings table is the one `Settings` generates: every setting, its type,
default and description, so the documentation cannot drift from the code."""

from __future__ import annotations

from persistence.settings import Settings
from persistence.settings_table import (
    END_MARKER,
    OPERATIONS_DOC,
    REGENERATE,
    START_MARKER,
    committed_table,
    settings_table,
    with_table,
)


def test_the_committed_settings_table_is_the_generated_one() -> None:
    # Given the table committed in docs/operations.md and the one the Settings class generates
    committed = committed_table(OPERATIONS_DOC.read_text())
    # Then they are the same text
    assert committed == settings_table(), (
        f"docs/operations.md's settings table is stale: run `{REGENERATE}` and commit the result"
    )


def test_every_setting_has_a_row_with_a_description() -> None:
    # Given the generated table
    table = settings_table()
    # Then each setting is a row under its environment variable, and none lacks a description
    for name, field in Settings.model_fields.items():
        assert f"| `TASKQL_{name.upper()}` |" in table, name
        assert field.description, f"{name} has no description: give it Field(description=...)"


def test_regenerating_replaces_only_the_text_between_the_markers() -> None:
    # Given a document with text around a stale table
    document = f"# Ops\n\nbefore\n{START_MARKER}\n| stale |\n{END_MARKER}\nafter\n"
    # When the table is written into it
    written = with_table(document, "| fresh |\n")
    # Then the table is the new one and the text around it is kept
    assert written == f"# Ops\n\nbefore\n{START_MARKER}\n| fresh |\n{END_MARKER}\nafter\n"
    assert committed_table(written) == "| fresh |\n"
