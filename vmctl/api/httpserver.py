"""vmctl-api's own HTTP server: cheroot, hardened against slow and greedy clients.

cheroot keeps idle connections in a selector and hands a connection to a
thread of its pool once bytes arrive; that thread then reads the request
line, the headers and the body with a per-read socket timeout. Left as is,
a client sending one byte every few seconds holds a thread for ever, and
an unread body of known length is read whole into memory before the next
request on the connection. Here:

- the pool has ``[api] max_connections`` threads, and the WSGI pipeline
  lets only ``[api] threads`` requests into the application at once
  (vmctl.api.limits), so slow clients hold connection threads, not the
  application;
- from its first byte a request has ``[api] client_header_timeout`` seconds
  to deliver its request line, headers and (except streamed image data)
  body: the reads themselves refuse to wait past that deadline, the client
  gets 408 and the connection is closed;
- a body left unread by the answer (a 401 to a big upload) is never read
  into memory: past a few KiB the connection is closed instead;
- request line and headers are capped at ``[api] max_request_header_size``.

Under uWSGI or gunicorn the same limits are the server's (doc/security.md).
"""

import functools
import io
import socket
import time

from cheroot import makefile as cheroot_makefile
from cheroot import server as cheroot_server
from cheroot import wsgi as cheroot_wsgi

# An unread rest of body up to this size is read and dropped so the
# connection can be kept; a larger one closes the connection.
DRAIN_LIMIT = 64 * 1024
# The WSGI environ key of a callable that lifts the read deadline of the
# request (for a body that streams, such as image data).
LIFT_DEADLINE_KEY = "vmctl.lift_read_deadline"


class _DeadlineSocketIO(socket.SocketIO):
    """The reading side of a socket that never waits past ``deadline``
    (monotonic seconds; None: only the idle timeout applies)."""

    def __init__(self, sock, mode, idle_timeout):
        super().__init__(sock, mode)
        self.idle_timeout = idle_timeout
        self.deadline = None

    def readinto(self, buffer):
        if self.deadline is None:
            return super().readinto(buffer)
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("timed out")
        self._sock.settimeout(min(left, self.idle_timeout))
        try:
            return super().readinto(buffer)
        finally:
            self._sock.settimeout(self.idle_timeout)


class _DeadlineReader(cheroot_makefile.StreamReader):
    def __init__(self, sock, mode, bufsize, idle_timeout):
        # StreamReader.__init__ would wrap a plain SocketIO: skip to its base.
        super(cheroot_makefile.StreamReader, self).__init__(
            _DeadlineSocketIO(sock, mode, idle_timeout), bufsize)
        self.bytes_read = 0


def _makefile(idle_timeout, sock, mode="r", bufsize=io.DEFAULT_BUFFER_SIZE):
    if "r" in mode:
        return _DeadlineReader(sock, mode, bufsize, idle_timeout)
    return cheroot_makefile.StreamWriter(sock, mode, bufsize)


class _Request(cheroot_server.HTTPRequest):
    def parse_request(self):
        self.conn.rfile.raw.deadline = time.monotonic() + self.server.header_timeout
        super().parse_request()

    def respond(self):
        try:
            super().respond()
        finally:
            self.conn.rfile.raw.deadline = None

    def send_headers(self):
        if getattr(self.rfile, "remaining", 0) > DRAIN_LIMIT:
            self.close_connection = True
        super().send_headers()


class _Connection(cheroot_server.HTTPConnection):
    RequestHandlerClass = _Request

    def __init__(self, server, sock, makefile=None):
        # No TLS here (a proxy terminates it), so the plain socket files.
        super().__init__(server, sock, functools.partial(_makefile, server.timeout))


class _Gateway(cheroot_wsgi.Gateway_10):
    def get_environ(self):
        env = super().get_environ()
        raw = self.req.conn.rfile.raw
        env[LIFT_DEADLINE_KEY] = functools.partial(setattr, raw, "deadline", None)
        return env


class Server(cheroot_wsgi.Server):
    ConnectionClass = _Connection

    def __init__(self, bind_addr, app, conf, shutdown_timeout):
        super().__init__(bind_addr, app, numthreads=conf.api.max_connections,
                         max=conf.api.max_connections, server_name="vmctl-api",
                         timeout=conf.api.client_socket_timeout,
                         shutdown_timeout=shutdown_timeout,
                         request_queue_size=128)
        self.gateway = _Gateway
        self.header_timeout = conf.api.client_header_timeout
        self.max_request_header_size = conf.api.max_request_header_size
