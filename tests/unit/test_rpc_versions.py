"""Each daemon's rpcapi client and manager agree on the API version, and
every method the client sends exists on the manager with those arguments."""

import ast
import inspect

import pytest

from vmctl.compute import manager as compute_manager
from vmctl.compute import rpcapi as compute_rpcapi
from vmctl.conductor import manager as conductor_manager
from vmctl.conductor import rpcapi as conductor_rpcapi
from vmctl.scheduler import manager as scheduler_manager
from vmctl.scheduler import rpcapi as scheduler_rpcapi

PAIRS = [
    (conductor_rpcapi, conductor_rpcapi.ConductorAPI, conductor_manager.ConductorManager),
    (scheduler_rpcapi, scheduler_rpcapi.SchedulerAPI, scheduler_manager.SchedulerManager),
    (compute_rpcapi, compute_rpcapi.ComputeAPI, compute_manager.ComputeManager),
]


@pytest.mark.parametrize("module, client, manager", PAIRS)
def test_versions_agree(module, client, manager):
    assert manager.target.version == module.VERSION
    assert module.VERSION in inspect.getdoc(module), "version history must list it"


def _sent(client):
    """(method name, keyword names) of every cast/call the client makes."""
    tree = ast.parse(inspect.getsource(client))
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("cast", "call")):
            name = node.args[1].value
            yield name, {kw.arg for kw in node.keywords}


@pytest.mark.parametrize("module, client, manager", PAIRS)
def test_every_message_has_an_endpoint(module, client, manager):
    sent = list(_sent(client))
    assert sent
    for name, kwargs in sent:
        endpoint = getattr(manager, name)
        params = set(inspect.signature(endpoint).parameters) - {"self", "ctxt"}
        assert kwargs == params, (name, kwargs, params)
