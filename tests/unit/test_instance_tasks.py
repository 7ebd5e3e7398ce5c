"""The instance task-state table (vmctl/instance_tasks.py) and its use.

The table must be consistent (no step waits for a task_state nothing sets,
no task_state is set that no later step moves on), and every compare-and-swap
on an instance's task_state must read it: the sources are parsed (not
imported) and no task_state literal may be written or expected outside the
state modules.
"""

import ast
import pathlib

import pytest

import vmctl
from vmctl import instance_states as states
from vmctl import instance_tasks
from vmctl.conductor.tasks import heal
from vmctl.conductor.tasks import resize_heal

PACKAGE_DIR = pathlib.Path(vmctl.__file__).parent
# Where task states are defined, and so may be named.
STATE_MODULES = ("states.py", "instance_tasks.py")
# Steps that interrupt the tasks of other flows.
INTERRUPTING = {("delete", "start")}
ROWS = [(flow, name, row) for flow, rows in instance_tasks.FLOWS.items()
        for name, row in rows.items()]


def _set_anywhere():
    return instance_tasks.task_states_set() | {a.task_state for a in states.ACTIONS.values()}


@pytest.mark.parametrize("flow", instance_tasks.FLOWS)
def test_every_expected_task_state_is_set_by_an_earlier_step(flow):
    """...or is the resting state (None), or is set by the step itself (a
    repeated report); a delete interrupts the tasks of every flow."""
    reached = {None}
    for name, row in instance_tasks.FLOWS[flow].items():
        reached.add(row.sets)
        possible = _set_anywhere() | {None} if (flow, name) in INTERRUPTING else reached
        assert set(row.expects) <= possible, (
            "%s/%s expects %s, which no earlier step of %s sets"
            % (flow, name, set(row.expects) - possible, flow))


@pytest.mark.parametrize("flow", instance_tasks.FLOWS)
def test_every_task_state_set_is_moved_on_by_a_step(flow):
    """No step leaves the instance in a task nothing ends."""
    rows = instance_tasks.FLOWS[flow]
    expected = {task for row in rows.values() for task in row.expects}
    for name, row in rows.items():
        assert row.sets is None or row.sets in expected, (
            "%s/%s sets %s, which no step of %s expects" % (flow, name, row.sets, flow))


def test_a_stalled_task_is_always_healed():
    assert instance_tasks.task_states_set() <= set(heal.HEALED_TASKS)


def test_cold_heals_without_a_record_cover_the_cold_tasks():
    covered = {task for flow in ("cold_migration", "confirm_resize", "revert_resize",
                                 "evacuate")
               for task in instance_tasks.step(flow, "heal_no_record").expects}
    assert covered == set(resize_heal.TASKS)


@pytest.mark.parametrize("flow, name, row", ROWS)
def test_rows_name_known_states(flow, name, row):
    tasks = {v for k, v in vars(states).items() if k.isupper() and isinstance(v, str)}
    vm_states = set(states.ANY_LIVE) | {states.DELETED}
    assert set(row.expects) - {None} <= tasks
    assert row.sets is None or row.sets in tasks
    assert set(row.to_vm_states) <= vm_states | {instance_tasks.KEEP}
    # A task starts from rest only in named vm_states (or it is a delete).
    if row.expects == (None,):
        assert row.from_vm_states, (flow, name)


def test_the_moves_start_where_the_instance_states_say():
    assert instance_tasks.step("live_migration", "start").from_vm_states == \
        states.LIVE_MIGRATE_FROM
    assert instance_tasks.step("cold_migration", "start").from_vm_states == states.RESIZE_FROM
    assert instance_tasks.step("evacuate", "start").from_vm_states == states.EVACUATE_FROM
    assert instance_tasks.step("delete", "start").expects == states.INTERRUPTIBLE_BY_DELETE


# --- every compare-and-swap reads the table -------------------------------------------

def _literal(node):
    """A task-state literal in ``node``: a string, or a constant of a module
    (``states.SPAWNING``) rather than a table row's field. The arguments of
    calls (``instance_tasks.step("build", "placed")``) are not looked into."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return ast.unparse(node)
    if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
            and node.attr.isupper()):
        return ast.unparse(node)
    if isinstance(node, ast.Call):
        return _literal(node.func)
    for child in ast.iter_child_nodes(node):
        found = _literal(child)
        if found:
            return found
    return None


def _task_state_arguments(tree):
    """(line, expression) of every expected or written task_state."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for kw in node.keywords:
                if kw.arg in ("expected_task_state", "expected_tasks"):
                    yield node.lineno, kw.value
            name = node.func.attr if isinstance(node.func, ast.Attribute) else None
            if name == "settle" and len(node.args) > 4:   # ResizeTask.settle
                yield node.lineno, node.args[4]
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values):
                if isinstance(key, ast.Constant) and key.value == "task_state":
                    yield value.lineno, value


def _violations(root):
    found = []
    for path in sorted(root.rglob("*.py")):
        if path.relative_to(root).as_posix() in STATE_MODULES:
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        for line, expr in sorted(_task_state_arguments(tree), key=lambda item: item[0]):
            literal = _literal(expr)
            if literal:
                found.append("%s:%d: %s" % (path.relative_to(root), line, literal))
    return found


def test_no_task_state_literal_outside_the_table():
    bad = _violations(PACKAGE_DIR)
    assert bad == [], (
        "task_state literals expected or written outside vmctl/instance_tasks.py; add the "
        "step to instance_tasks.FLOWS and read it (instance_tasks.step(flow, name)."
        "expects / .sets):\n  " + "\n  ".join(bad))


def test_the_check_sees_literals(tmp_path):
    (tmp_path / "task.py").write_text(
        "cas(s, u, {'task_state': states.SPAWNING}, expected_task_state=row.task_state)\n"
        "cas(s, u, {'task_state': None}, expected_task_state='spawning')\n"
        "self.settle(ctx, m, ms.ERROR, {}, (states.REBUILDING,), EVENT, False)\n"
        "cas(s, u, {'task_state': step.sets}, expected_task_state=step.expects)\n")
    assert _violations(tmp_path) == [
        "task.py:1: states.SPAWNING", "task.py:2: 'spawning'", "task.py:3: states.REBUILDING"]
