"""doc/state-diagrams.md is what ``python -m vmctl.state_diagrams`` draws now."""

from vmctl import instance_tasks
from vmctl import state_diagrams


def test_committed_diagrams_are_current():
    assert state_diagrams.DOC.is_file(), (
        "%s is missing: run %s" % (state_diagrams.DOC.name, state_diagrams.COMMAND))
    assert state_diagrams.DOC.read_text() == state_diagrams.render(), (
        "doc/state-diagrams.md is stale (it is not what the state tables draw now): run %s"
        % state_diagrams.COMMAND)


def test_every_flow_and_step_is_drawn():
    text = state_diagrams.render()
    for flow, rows in instance_tasks.FLOWS.items():
        block = text.split("### Instance tasks: %s\n" % flow)[1].split("```\n", 1)[0]
        for name in rows:
            assert name in block, (flow, name)


def test_main_writes_the_file(tmp_path):
    out = tmp_path / "diagrams.md"
    state_diagrams.main(["--output", str(out)])
    assert out.read_text() == state_diagrams.render()
    assert out.read_text().count("```mermaid") == 3 + len(instance_tasks.FLOWS) + 1
