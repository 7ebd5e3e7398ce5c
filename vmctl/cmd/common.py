"""Shared start-up for every vmctl command: config and logging."""

import logging
import sys

from oslo_config import cfg
from oslo_log import log as oslo_log

from vmctl import conf as vmctl_conf
from vmctl import rpc
from vmctl import version
import vmctl.cmd  # noqa: F401  (native threads, no eventlet)

LOG = logging.getLogger(__name__)


def make_conf():
    conf = cfg.ConfigOpts()
    vmctl_conf.register_all(conf)
    oslo_log.register_options(conf)
    rpc.register_opts(conf)
    return conf


def prepare(binary, argv=None, default_config_files=None):
    """Parse the command line and config files, set up logging."""
    conf = make_conf()
    conf(sys.argv[1:] if argv is None else argv, project="vmctl", prog=binary,
         version=version.VERSION, default_config_files=default_config_files)
    oslo_log.setup(conf, "vmctl")
    logging.getLogger("oslo.messaging._drivers.impl_rabbit").setLevel(logging.WARNING)
    return conf


def run_service(binary, make_manager, topic_of, argv=None):
    """Build the manager, run its Service until SIGTERM."""
    from vmctl import service

    conf = prepare(binary, argv)
    transport = rpc.get_transport(conf)
    manager = make_manager(conf, transport)
    svc = service.Service(conf, binary, topic_of(conf), manager, transport)
    service.run_until_signalled(conf, svc.start, svc.stop)
    transport.cleanup()
