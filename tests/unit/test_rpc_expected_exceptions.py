"""An endpoint's expected failure reaches the caller as the named domain
error, and the server logs no traceback for it (oslo.messaging's in-memory
fake transport, the real client, server and serializer of vmctl.rpc)."""

import inspect
import logging

from oslo_config import cfg
import oslo_messaging as messaging
import pytest

from vmctl import context as vmctl_context
from vmctl import exception
from vmctl import rpc


class Endpoint:
    target = messaging.Target(version="1.0")

    @rpc.expected_exceptions(exception.DestinationNotReady)
    def prepare(self, ctxt, host):
        raise exception.DestinationNotReady(reason="%s has no room" % host)

    def crash(self, ctxt):
        raise exception.DestinationNotReady(reason="not listed as expected")


@pytest.fixture
def client():
    conf = cfg.ConfigOpts()
    rpc.register_opts(conf)
    conf([], project="vmctl-test")
    conf.set_override("transport_url", "fake:/")
    transport = rpc.get_transport(conf)
    server = rpc.get_server(transport, "expected-test", "host1", [Endpoint()])
    server.start()
    yield rpc.get_client(transport, "expected-test", "1.0", server="host1", timeout=10)
    server.stop()
    server.wait()
    transport.cleanup()


def test_the_caller_gets_the_named_error_and_its_message(client, caplog):
    ctx = vmctl_context.admin_context()
    with caplog.at_level(logging.DEBUG, logger="oslo_messaging"):
        with pytest.raises(exception.DestinationNotReady) as raised:
            client.call(ctx, "prepare", host="compute2")
    assert raised.value.message == "compute2 has no room"
    assert raised.value.kwargs == {"reason": "compute2 has no room"}
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
    assert "Traceback" not in caplog.text


def test_an_unlisted_error_is_logged_with_its_traceback(client, caplog):
    """The control: without the decorator the server logs the failure."""
    with caplog.at_level(logging.DEBUG, logger="oslo_messaging"):
        with pytest.raises(exception.DestinationNotReady):
            client.call(vmctl_context.admin_context(), "crash")
    assert "Exception during message handling" in caplog.text


def test_the_decorator_keeps_the_endpoint_signature():
    params = list(inspect.signature(Endpoint.prepare).parameters)
    assert params == ["self", "ctxt", "host"]
    assert Endpoint.prepare.__name__ == "prepare"
