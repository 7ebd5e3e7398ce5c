"""doc/live-migration.md's decision table is what the code decides today."""

import pathlib

import vmctl
from vmctl.compute.live_migration import simulate

DOC = pathlib.Path(vmctl.__file__).resolve().parent.parent / "doc" / "live-migration.md"
START, END = "<!-- decision-table: start -->\n", "<!-- decision-table: end -->"


def test_decision_table_is_current():
    text = DOC.read_text()
    table = text[text.index(START) + len(START):text.index(END)]
    assert table == simulate.markdown_table(), (
        "doc/live-migration.md is stale: regenerate the table with "
        "python -m vmctl.compute.live_migration.simulate")
