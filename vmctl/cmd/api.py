"""vmctl-api: the REST API served by cheroot (vmctl.api.httpserver).

Start-up steps, in order: config and logging; refuse noauth on a
non-loopback address; register the service row and start its heartbeat;
build the WSGI app; bind and serve. SIGTERM stops taking connections and
drains the requests in flight (up to graceful_shutdown_timeout), then exits
0; SIGHUP re-reads the mutable options.
"""

import logging
import sys
import threading

from vmctl import rpc
from vmctl import service
from vmctl import version
from vmctl.api import app as api_app
from vmctl.api import auth
from vmctl.api import httpserver
from vmctl.api import middleware
from vmctl.cmd import common
from vmctl.conductor import rpcapi as conductor_rpcapi
from vmctl.db import api as db_api
from vmctl.db import services as db_services

LOG = logging.getLogger(__name__)

BINARY = "vmctl-api"
TOPIC = "api"


def register(conf, db):
    db_services.heartbeat_or_register(db, conf.host, BINARY, TOPIC, version.VERSION)


def heartbeat_task(conf, db):
    return service.PeriodicTask("heartbeat", conf.report_interval,
                                lambda: register(conf, db),
                                initial_delay=conf.report_interval)


def build_app(conf, db, transport):
    return api_app.setup_app(conf, db, conductor_rpcapi.ConductorAPI(conf, transport))


def make_server(conf, app):
    return httpserver.Server((conf.api.listen, conf.api.port), app, conf,
                             shutdown_timeout=conf.graceful_shutdown_timeout or 3600)


def main(argv=None):
    conf = common.prepare(BINARY, argv)
    middleware.install_log_filter()
    refusal = auth.check_listen(conf)
    if refusal:
        LOG.error("Refusing to start: %s", refusal)
        return 1
    db = db_api.Database.from_conf(conf)
    transport = rpc.get_transport(conf)
    register(conf, db)
    server = make_server(conf, build_app(conf, db, transport))
    heartbeat = heartbeat_task(conf, db)
    serving = threading.Thread(target=server.serve, name="wsgi", daemon=True)

    def start():
        server.prepare()
        serving.start()
        heartbeat.start()
        LOG.info("vmctl-api listening on %s:%s: %d requests at once, %d connections",
                 conf.api.listen, server.bind_addr[1], conf.api.threads,
                 conf.api.max_connections)

    def stop():
        LOG.info("Stopping vmctl-api: draining in-flight requests")
        heartbeat.stop()
        server.stop()
        serving.join(5)
        transport.cleanup()
        db.dispose()

    service.run_until_signalled(conf, start, stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
