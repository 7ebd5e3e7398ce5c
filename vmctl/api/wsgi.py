"""WSGI entry point for uwsgi / mod_wsgi: ``vmctl.api.wsgi:application``.

The config file comes from ``VMCTL_CONFIG_FILE`` (default
/etc/vmctl/vmctl.conf). The app is built on the first request, so importing
this module has no side effects. The host server must allow threads (uwsgi
``--enable-threads``): the service heartbeat runs on one.

The application brings its own body limit, JSON checks and log filter; the
connection limits (header and read timeouts, connection cap, header size)
are the host server's: doc/security.md gives the uWSGI and gunicorn
settings that match vmctl-api's own.
"""

import os
import threading

DEFAULT_CONFIG_FILE = "/etc/vmctl/vmctl.conf"


def init_application(config_file=None):
    from vmctl import rpc
    from vmctl.api import auth
    from vmctl.api import middleware
    from vmctl.cmd import api as cmd_api
    from vmctl.cmd import common
    from vmctl.db import api as db_api

    config_file = config_file or os.environ.get("VMCTL_CONFIG_FILE", DEFAULT_CONFIG_FILE)
    conf = common.prepare(cmd_api.BINARY, argv=[], default_config_files=[config_file])
    middleware.install_log_filter()
    refusal = auth.check_listen(conf)
    if refusal:
        raise RuntimeError(refusal)
    db = db_api.Database.from_conf(conf)
    cmd_api.register(conf, db)
    cmd_api.heartbeat_task(conf, db).start()
    return cmd_api.build_app(conf, db, rpc.get_transport(conf))


class _LazyApplication:
    def __init__(self):
        self._app = None
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):
        if self._app is None:
            with self._lock:
                if self._app is None:
                    self._app = init_application()
        return self._app(environ, start_response)


application = _LazyApplication()
