"""The HTTPS side of a libvirt cold migration's disk transfer.

The source compute runs one small HTTPS endpoint (``TransferServer``,
started on the first migration it offers) and serves::

    GET /migrations/<migration uuid>/<file name>
    Authorization: Bearer <the migration's token>
    Range: bytes=<offset>-            (optional: resuming)

only for the migrations it currently **offers** (``Offers``: the token and
the files of each); an unknown migration or file is 404, a wrong or
missing token 401 (compared in constant time), a range beyond the end 416.
Nothing else is served, and file names map to fixed paths (never joined
from the request).

TLS: the endpoint's key and self-signed certificate are made in memory
when it starts (``make_certificate``, with ``cryptography``); the
certificate's SHA-256 travels in the manifest next to the token (the same
trusted channel: the RPC arguments), and the destination (``HttpSource``)
checks it right after the handshake, before it sends the token
(certificate pinning; no CA, no host name involved).

``file_entry`` hashes a file for the manifest (``disk_transfer``), and
``DirTarget`` is where the destination writes: ``<name>.part`` in the
instance folder, renamed to ``<name>`` once the copy is verified.
"""

import contextlib
import datetime
import hashlib
import http.client
import http.server
import logging
import os
import re
import secrets
import socket
import socketserver
import ssl
import tempfile
import threading
import urllib.parse

from vmctl.virt import disk_transfer

LOG = logging.getLogger(__name__)

CHUNK = disk_transfer.CHUNK
TIMEOUT = 60
_PATH_RE = re.compile(r"^/migrations/([0-9a-f-]{36})/([A-Za-z0-9_.-]{1,64})$")
_RANGE_RE = re.compile(r"^bytes=(\d+)-(\d*)$")


class RangeError(Exception):
    """The Range header cannot be satisfied (HTTP 416)."""


def parse_range(header, size):
    """(start, end) inclusive of a ``Range`` header for a file of ``size`` bytes.

    None when there is no header (the whole file). Only one range of the
    forms ``bytes=N-`` and ``bytes=N-M`` is understood; RangeError for
    anything else or a start beyond the end.
    """
    if not header:
        return None
    match = _RANGE_RE.match(header.strip())
    if not match:
        raise RangeError("unsupported range %r" % header[:40])
    start = int(match.group(1))
    end = int(match.group(2)) if match.group(2) else size - 1
    if start >= size or end < start:
        raise RangeError("range %d-%d outside 0-%d" % (start, end, size - 1))
    return start, min(end, size - 1)


def file_entry(name, path):
    """{"name", "size", "sha256"} of a file, read in chunks."""
    hasher, size = hashlib.sha256(), 0
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            hasher.update(chunk)
            size += len(chunk)
    return {"name": name, "size": size, "sha256": hasher.hexdigest()}


def host_for_url(address):
    return "[%s]" % address if ":" in address and not address.startswith("[") else address


# --- certificate -------------------------------------------------------------------

def make_certificate(common_name, days=3650):
    """(cert PEM, key PEM, SHA-256 hex of the DER certificate), self-signed."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64] or "vmctl")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=days))
            .sign(key, hashes.SHA256()))
    der = cert.public_bytes(serialization.Encoding.DER)
    return (cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()),
            hashlib.sha256(der).hexdigest())


def server_context(cert_pem, key_pem):
    """An SSLContext for the endpoint (the PEMs only touch a private temp dir)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    with tempfile.TemporaryDirectory(prefix="vmctl-tls-") as tmp:
        cert_path, key_path = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
        for path, data in ((cert_path, cert_pem), (key_path, key_pem)):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
        context.load_cert_chain(cert_path, key_path)
    return context


# --- what is offered -------------------------------------------------------------------

class Offers:
    """{migration uuid: (token, {file name: path})}, shared by the handler threads."""

    def __init__(self):
        self._offers = {}
        self._lock = threading.Lock()

    def add(self, migration_uuid, token, files):
        with self._lock:
            self._offers[migration_uuid] = (token, dict(files))

    def remove(self, migration_uuid):
        with self._lock:
            self._offers.pop(migration_uuid, None)

    def __len__(self):
        with self._lock:
            return len(self._offers)

    def lookup(self, migration_uuid, name, authorization):
        """(status, path): 200 with the file's path, else 404 or 401."""
        with self._lock:
            offer = self._offers.get(migration_uuid)
        if offer is None or name not in offer[1]:
            return 404, None
        scheme, _, given = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(
                given.strip().encode(), offer[0].encode()):
            return 401, None
        return 200, offer[1][name]


class _Handler(http.server.BaseHTTPRequestHandler):
    server_version = "vmctl-transfer"
    sys_version = ""
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):   # never the headers (the token)
        LOG.debug("transfer endpoint %s: %s", self.client_address[0], fmt % args)

    def _reply(self, status, message=b""):
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(message)))
        if status == 401:
            self.send_header("WWW-Authenticate", "Bearer")
        self.end_headers()
        self.wfile.write(message)

    def do_GET(self):
        match = _PATH_RE.match(urllib.parse.urlsplit(self.path).path)
        if not match:
            return self._reply(404, b"not found\n")
        status, path = self.server.offers.lookup(match.group(1), match.group(2),
                                                 self.headers.get("Authorization"))
        if status != 200:
            LOG.info("Transfer endpoint refused %s for migration %s (%d)",
                     match.group(2), match.group(1), status)
            return self._reply(status, b"refused\n" if status == 401 else b"not found\n")
        try:
            with open(path, "rb") as f:
                self._send_file(f, os.fstat(f.fileno()).st_size)
        except FileNotFoundError:
            self._reply(404, b"not found\n")

    def _send_file(self, f, size):
        try:
            wanted = parse_range(self.headers.get("Range"), size)
        except RangeError:
            self.send_response(416)
            self.send_header("Content-Range", "bytes */%d" % size)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        start, end = wanted if wanted else (0, size - 1)
        self.send_response(206 if wanted else 200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(max(0, end - start + 1)))
        if wanted:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end, size))
        self.end_headers()
        f.seek(start)
        left = end - start + 1
        while left > 0:
            chunk = f.read(min(CHUNK, left))
            if not chunk:
                break
            self.wfile.write(chunk)
            left -= len(chunk)


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, offers, context):
        self.offers = offers
        self.context = context
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.address_family = family
        super().__init__(address, _Handler)

    def server_bind(self):
        socketserver.TCPServer.server_bind(self)   # no getfqdn() (a DNS look-up)
        self.server_name, self.server_port = self.server_address[:2]

    def get_request(self):
        sock, addr = super().get_request()
        sock.settimeout(TIMEOUT)
        return self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

    def handle_error(self, request, client_address):
        LOG.info("Transfer endpoint: a connection from %s failed", client_address[0])


class TransferServer:
    """The endpoint: start() binds and serves in a daemon thread."""

    def __init__(self, listen_address, listen_port, offers, common_name="vmctl"):
        self.listen_address = listen_address
        self.listen_port = listen_port
        self.offers = offers
        self.common_name = common_name
        self.fingerprint = None
        self._server = None
        self._thread = None

    @property
    def port(self):
        return self._server.server_address[1]

    def start(self):
        cert_pem, key_pem, self.fingerprint = make_certificate(self.common_name)
        self._server = _Server((self.listen_address, self.listen_port), self.offers,
                               server_context(cert_pem, key_pem))
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="disk-transfer-endpoint", daemon=True)
        self._thread.start()
        LOG.info("Disk transfer endpoint listening on %s:%d (certificate sha256 %s)",
                 self.listen_address, self.port, self.fingerprint)
        return self

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


# --- the destination's side -----------------------------------------------------------------

class HttpSource(disk_transfer.SourceFiles):
    """Reads the source's files over HTTPS, pinned to the manifest's certificate."""

    def __init__(self, manifest, timeout=TIMEOUT):
        parts = urllib.parse.urlsplit(manifest["url"])
        if parts.scheme != "https" or not parts.hostname:
            raise disk_transfer.TransferError("the manifest's URL is not https")
        self.host, self.port = parts.hostname, parts.port or 443
        self.base = parts.path if parts.path.endswith("/") else parts.path + "/"
        self.fingerprint = (manifest.get("tls_sha256") or "").lower()
        self.timeout = timeout

    def _connect(self):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE     # pinned below instead
        conn = http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout,
                                           context=context)
        conn.connect()
        der = conn.sock.getpeercert(binary_form=True) or b""
        if not secrets.compare_digest(hashlib.sha256(der).hexdigest(), self.fingerprint):
            conn.close()
            raise disk_transfer.TransferError(
                "the source's TLS certificate is not the one the manifest names")
        return conn

    def read(self, name, offset, token):
        try:
            conn = self._connect()
        except OSError as exc:
            raise disk_transfer.BrokenStream("cannot reach the source: %s" % exc) from None
        with contextlib.closing(conn):
            headers = {"Authorization": "Bearer %s" % (token or "")}
            if offset:
                headers["Range"] = "bytes=%d-" % offset
            try:
                conn.request("GET", self.base + urllib.parse.quote(name), headers=headers)
                resp = conn.getresponse()
            except (OSError, http.client.HTTPException) as exc:
                raise disk_transfer.BrokenStream("request failed: %s" % exc) from None
            self._check_status(resp, name, offset)
            yield from self._body(resp)

    @staticmethod
    def _check_status(resp, name, offset):
        if resp.status == 416:
            return      # nothing after offset: the checksum decides
        if resp.status == 401:
            raise disk_transfer.TransferError("the source refused the transfer token")
        if resp.status == 404:
            raise disk_transfer.TransferError("the source no longer offers %s" % name)
        if resp.status not in (200, 206) or (offset and resp.status != 206):
            raise disk_transfer.TransferError("the source answered HTTP %d for %s"
                                              % (resp.status, name))

    @staticmethod
    def _body(resp):
        if resp.status == 416:
            return
        try:
            while True:
                chunk = resp.read(CHUNK)
                if not chunk:
                    return
                yield chunk
        except (OSError, http.client.HTTPException) as exc:
            raise disk_transfer.BrokenStream(str(exc) or type(exc).__name__) from None


class LocalSource(disk_transfer.SourceFiles):
    """The kept files themselves (shared storage: the same instances path)."""

    def __init__(self, directory):
        self.directory = directory

    def read(self, name, offset, token):
        try:
            f = open(os.path.join(self.directory, name), "rb")
        except FileNotFoundError:
            raise disk_transfer.TransferError("the source no longer keeps %s" % name) from None
        with f:
            f.seek(offset)
            yield from iter(lambda: f.read(CHUNK), b"")


class DirTarget(disk_transfer.TargetFiles):
    """Files land in ``<directory>/<name>.part``; ``commit`` renames them."""

    def __init__(self, directory):
        self.directory = directory

    def _part(self, name):
        return os.path.join(self.directory, name + ".part")

    def held(self, name):
        try:
            with open(self._part(name), "rb") as f:
                yield from iter(lambda: f.read(CHUNK), b"")
        except FileNotFoundError:
            return

    def append(self, name, chunk):
        with open(self._part(name), "ab") as f:
            f.write(chunk)

    def discard(self, name):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._part(name))

    def commit(self, name):
        os.replace(self._part(name), os.path.join(self.directory, name))
