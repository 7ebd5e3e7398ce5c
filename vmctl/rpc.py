"""The message bus: oslo.messaging over RabbitMQ, threading executor.

Transports, clients and servers are built here from a ConfigOpts passed in;
nothing is cached in module globals.
"""

import functools

import oslo_messaging as messaging

from vmctl import context as vmctl_context
from vmctl import objects
from vmctl.objects import base as objects_base


class ContextSerializer(messaging.Serializer):
    """Serializes versioned objects and carries the RequestContext."""

    def __init__(self):
        objects.register_all()
        self._objects = objects_base.Serializer()

    def serialize_entity(self, ctxt, entity):
        return self._objects.serialize_entity(ctxt, entity)

    def deserialize_entity(self, ctxt, entity):
        return self._objects.deserialize_entity(ctxt, entity)

    def serialize_context(self, ctxt):
        return ctxt.to_wire()

    def deserialize_context(self, ctxt):
        return vmctl_context.RequestContext.from_wire(ctxt)


# Modules whose exceptions a caller re-raises as themselves (anything else
# arrives as messaging.RemoteError): the domain errors endpoints raise.
ALLOWED_REMOTE_EXMODS = ["vmctl.exception"]


def get_transport(conf):
    return messaging.get_rpc_transport(conf, allowed_remote_exmods=ALLOWED_REMOTE_EXMODS)


def register_opts(conf):
    """Register every oslo.messaging option on ``conf`` before parsing.

    Some (metrics, tracing) are otherwise only registered on the global
    cfg.CONF, yet read from the ConfigOpts the transport was built with.
    """
    import importlib

    from oslo_messaging import opts as messaging_opts

    for group, opts in messaging_opts.list_opts():
        conf.register_opts(opts, group=group)
    # Not listed by list_opts(); registered the way oslo.messaging's own
    # ConfFixture does.
    for module, name in (("oslo_messaging._metrics.client", "oslo_messaging_metrics"),
                         ("oslo_messaging._tracing.client", "oslo_messaging_tracing")):
        try:
            conf.register_opts(getattr(importlib.import_module(module), name), group=name)
        except (ImportError, AttributeError):
            pass


def get_client(transport, topic, version, server=None, timeout=None):
    target = messaging.Target(topic=topic, version=version, server=server)
    return messaging.get_rpc_client(transport, target, version_cap=version,
                                    serializer=ContextSerializer(),
                                    timeout=timeout)


def get_server(transport, topic, server, endpoints):
    target = messaging.Target(topic=topic, server=server)
    return messaging.get_rpc_server(transport, target, endpoints,
                                    executor="threading",
                                    serializer=ContextSerializer())


def expected_exceptions(*exc_types):
    """Mark an RPC endpoint's expected failures: the server logs no
    traceback for them and the caller gets the exception itself.

    oslo.messaging's decorator, keeping the endpoint's name and signature
    (tests/unit/test_rpc_versions.py reads them).
    """
    def outer(func):
        return functools.wraps(func)(messaging.expected_exceptions(*exc_types)(func))
    return outer
