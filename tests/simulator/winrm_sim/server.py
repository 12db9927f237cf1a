"""The HTTP(S) side of the simulated WinRM service: listeners, TLS, request handling.

Threading model (measured with ``tests/simulator/bench.py``): one acceptor thread waits on every
listening socket of every host with a single selector (idle listeners cost nothing); each accepted
TCP connection gets a daemon thread running an HTTP/1.1 keep-alive handler. Authentication state
(the NTLM context) lives on the connection, as in HTTP.sys.

What the handler reproduces from Windows (HTTP.sys + the WinRM service):

- ``Server: Microsoft-HTTPAPI/2.0`` on every answer;
- only the listener's URL prefix (``/wsman``, case-insensitive like HTTP.sys URL matching) is
  served; other paths get HTTP.sys' 404 page; other methods on ``/wsman`` get 405 with
  ``Allow: POST``;
- POST without a length is 411 (HTTP.sys requires Content-Length or chunked);
- a body larger than ``MAX_BODY`` is 413; smaller bodies go to the engine, which answers the
  MaxEnvelopeSizekb fault itself;
- replies are ``application/soap+xml;charset=UTF-8``, or the ``multipart/encrypted`` framing when
  the request came encrypted;
- an idle keep-alive connection is closed after 120 s (HTTP.sys' default IdleConnection timeout);
- headers in the order HTTP.sys writes them: the service's own (Content-Type, Server,
  WWW-Authenticate, Allow), then Date, Connection, Content-Length (captured Windows 401 and HTTP.sys
  400 replies), with HTTP.sys' reason phrases; ``Connection: close`` where HTTP.sys closes: its own
  error pages (400, 411, 413, ...) and a 401 that refused credentials (``auth.py``);
- an Identify without an Authorization header is answered at once, before authentication (what
  Test-WSMan sends by default, see ``protocol/resources/identify.py``);
- the host's firewall decides each new connection (``netfilter.py``): a port no enabled inbound
  rule admits for the client's address is filtered, so the attempt times out; a WinRM port without
  a listener that is admitted for every loopback source is refused by the kernel, as Windows
  refuses it; one admitted for some loopback sources only gets a "guard" socket that drops the
  others and resets the admitted ones at once (Windows would refuse their SYN);
- over HTTP, an authenticated but unencrypted request while the service's AllowUnencrypted is false
  gets HTTP 500 with an empty body: MS-WSMV 3.1.4.1.29.1 ("MUST NOT accept requests if either the
  SOAP request or response would be unencrypted"); clients report "Bad HTTP response ... Code 500"
  and nothing more (diyan/pywinrm#208, #129; rundeck-winrm-plugin#18). Basic over HTTP is refused
  with 401 before that (``auth.py``).
"""
from __future__ import annotations

import dataclasses
import email.utils
import errno
import logging
import os
import queue
import selectors
import socket
import ssl
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler

from winrm_sim import auth as authmod, netfilter
from winrm_sim.pki import PKI, tls_server_end_point
from winrm_sim.protocol.resources import identify

log = logging.getLogger("winrm_sim.server")

SERVER_HEADER = "Microsoft-HTTPAPI/2.0"
MAX_BODY = 8 * 1024 * 1024
IDLE_TIMEOUT = 120.0
HANDSHAKE_TIMEOUT = 30.0
# Where a port cannot be bound (privileged port without root, or in use), try these in turn.
PORT_FALLBACK_OFFSETS = (18000, 28000)

_HTTPSYS_PAGE = (
    '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN""http://www.w3.org/TR/html4/strict.dtd">\r\n'
    "<HTML><HEAD><TITLE>{title}</TITLE>\r\n"
    '<META HTTP-EQUIV="Content-Type" Content="text/html; charset=us-ascii"></HEAD>\r\n'
    "<BODY><h2>{title}</h2>\r\n<hr><p>HTTP Error {code}. {text}</p>\r\n</BODY></HTML>\r\n"
)
# Reason phrases HTTP.sys writes (RFC 7231 names; 413 with its older name).
REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed",
           411: "Length Required", 413: "Request Entity Too Large", 414: "Request-URI Too Long",
           500: "Internal Server Error", 501: "Not Implemented", 503: "Service Unavailable",
           505: "HTTP Version Not Supported"}
_HTTPSYS_TEXT = {
    400: ("Bad Request", "The request is badly formed."),
    404: ("Not Found", "The requested resource is not found."),
    411: ("Length Required", "The request must be chunked or have a content length."),
    413: ("Request Entity Too Large", "The page was not displayed because the request entity is too large."),
    431: ("Bad Request - Header Field Too Long", "A request header field is too long."),
    501: ("Not Implemented", "The request verb is not supported."),
    505: ("HTTP Version Not Supported", "The HTTP version is not supported."),
}


@dataclasses.dataclass
class Binding:
    """One bound socket: a (host, port) pair serving one transport and one or more URL prefixes."""
    entry: "HostEntry"
    windows_port: int
    bound_port: int
    transport: str
    prefixes: set[str]
    thumbprint: str = ""
    served: tuple | None = None  # (certificate file, key file) behind ssl_context
    sock: socket.socket | None = None
    ssl_context: ssl.SSLContext | None = None
    cbt_data: bytes | None = None
    closed: bool = False
    handlers: set = dataclasses.field(default_factory=set)
    guard: bool = False          # nothing listens: the firewall's decision only
    admitted: tuple = netfilter.IPV4_ALL

    @property
    def host(self):
        return self.entry.host


@dataclasses.dataclass
class HostEntry:
    host: object
    cert_store: object | None = None
    bindings: dict[int, Binding] = dataclasses.field(default_factory=dict)   # windows port -> binding
    port_map: dict[int, int] = dataclasses.field(default_factory=dict)       # windows port -> bound port
    guards: dict[int, Binding] = dataclasses.field(default_factory=dict)     # windows port -> guard socket
    problems: list[str] = dataclasses.field(default_factory=list)


class Acceptor(threading.Thread):
    """Accepts connections for every listening socket with one selector."""

    def __init__(self, on_accept):
        super().__init__(name="winrm-sim-acceptor", daemon=True)
        self.selector = selectors.DefaultSelector()
        self.on_accept = on_accept
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        self.selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._commands: queue.Queue = queue.Queue()
        self._stopping = False

    def call(self, function) -> None:
        """Run ``function`` on the acceptor thread (selector changes) and wait for it."""
        if not self.is_alive():
            function()
            return
        done = threading.Event()
        self._commands.put((function, done))
        os.write(self._wake_w, b"x")
        if not done.wait(10):
            log.error("acceptor did not process a listener change within 10 s")

    def add(self, binding: Binding) -> None:
        self.call(lambda: self.selector.register(binding.sock, selectors.EVENT_READ, binding))

    def remove(self, binding: Binding) -> None:
        def _remove():
            try:
                self.selector.unregister(binding.sock)
            except (KeyError, ValueError):
                pass
            binding.sock.close()
        self.call(_remove)

    def stop(self) -> None:
        self._stopping = True
        os.write(self._wake_w, b"x")

    def run(self) -> None:
        while not self._stopping:
            # The timeout only bounds the loop; wake-ups come through the pipe.
            for key, _events in self.selector.select(timeout=5.0):
                if key.data is None:
                    try:
                        os.read(self._wake_r, 4096)
                    except BlockingIOError:
                        pass
                    self._run_commands()
                    continue
                binding: Binding = key.data
                for _attempt in range(64):         # drain the backlog, bounded
                    try:
                        conn, address = binding.sock.accept()
                    except (BlockingIOError, InterruptedError):
                        break
                    except OSError as exc:
                        if exc.errno in (errno.EMFILE, errno.ENFILE):
                            log.error("out of file descriptors: %s", exc)
                            time.sleep(0.1)
                        break
                    self.on_accept(conn, address, binding)
            self._run_commands()
        for key in list(self.selector.get_map().values()):
            if key.data is not None:
                key.data.sock.close()
        self.selector.close()
        os.close(self._wake_r)
        os.close(self._wake_w)

    def _run_commands(self) -> None:
        while True:
            try:
                function, done = self._commands.get_nowait()
            except queue.Empty:
                return
            try:
                function()
            except Exception:
                log.exception("listener change failed")
            finally:
                done.set()


class SimServer:
    """Serves N simulated hosts; keeps each host's sockets in line with its listeners."""

    def __init__(self, hosts, pki: PKI, cert_stores: dict | None = None, allow_port_fallback: bool = True):
        self.pki = pki
        cert_stores = cert_stores or {}
        self.entries = [HostEntry(host, cert_stores.get(host.name)) for host in hosts]
        self.allow_port_fallback = allow_port_fallback
        self._lock = threading.RLock()
        self.acceptor = Acceptor(self._spawn_connection)
        self.on_ports_changed = None      # callback(entry), e.g. to rewrite the inventory
        self.connections_served = 0

    # -- lifecycle

    def start(self) -> None:
        for entry in self.entries:
            entry.host.on_listeners_changed = (lambda e=entry: self.reconcile(e))
            self.reconcile(entry, notify=False)
        self.acceptor.start()

    def stop(self) -> None:
        with self._lock:
            for entry in self.entries:
                entry.host.on_listeners_changed = None
                for binding in list(entry.bindings.values()) + list(entry.guards.values()):
                    self._close_binding(entry, binding, via_acceptor=False)
        self.acceptor.stop()
        self.acceptor.join(10)

    def entry_for(self, host) -> HostEntry:
        for entry in self.entries:
            if entry.host is host:
                return entry
        raise KeyError(host)

    # -- listeners

    def reconcile(self, entry: HostEntry, notify: bool = True) -> None:
        """Open, close, re-certify and filter sockets so that they match the host's listeners and
        its firewall's decisions."""
        host = entry.host
        view = _network_view(host)
        wanted: dict[int, dict] = {}
        for listener in view.listeners:
            slot = wanted.setdefault(listener.port, {"transport": listener.transport.lower(), "prefixes": set(),
                                                     "thumbprint": ""})
            if slot["transport"] != listener.transport.lower():
                # HTTP.sys cannot serve http and https on one address and port; the first one wins.
                entry.problems.append(f"port {listener.port}: {listener.transport} conflicts with {slot['transport']}")
                continue
            slot["prefixes"].add((listener.url_prefix or "wsman").strip("/").lower())
            if listener.thumbprint and not slot["thumbprint"]:
                slot["thumbprint"] = listener.thumbprint.upper()
        address = host.address
        guarded = {port: netfilter.effective(ranges, address) for port, ranges in view.admitted if port not in wanted}
        guarded = {port: ranges for port, ranges in guarded.items() if ranges != netfilter.IPV4_ALL}
        changed = False
        with self._lock:
            for port, guard in list(entry.guards.items()):
                if port not in guarded:
                    self._close_binding(entry, guard)
            for port, binding in list(entry.bindings.items()):
                spec = wanted.get(port)
                if spec is None or spec["transport"] != binding.transport:
                    self._close_binding(entry, binding)
                    changed = True
            for port, spec in wanted.items():
                binding = entry.bindings.get(port)
                if binding is None:
                    binding = self._open_binding(entry, port, spec)
                    changed = changed or binding is not None
                else:
                    binding.prefixes = spec["prefixes"]
                    if binding.transport == "https" and (spec["thumbprint"], self._served(entry, spec["thumbprint"])) \
                            != (binding.thumbprint, binding.served):
                        # Another thumbprint, or its certificate added to or removed from the store:
                        # new connections get what the store now holds.
                        self._set_certificate(entry, binding, spec["thumbprint"])
                if binding is not None:
                    self._admit(entry, binding, netfilter.effective(view.admitted_ranges(port), address))
            for port, ranges in guarded.items():
                listening = {"transport": "tcp", "prefixes": set()}
                guard = entry.guards.get(port) or self._open_binding(entry, port, listening, guard=True)
                if guard is not None:
                    self._admit(entry, guard, ranges)
        if changed and notify and self.on_ports_changed:
            try:
                self.on_ports_changed(entry)
            except Exception:
                log.exception("ports-changed callback failed")

    def _admit(self, entry: HostEntry, binding: Binding, ranges) -> None:
        ranges = tuple(ranges)
        if ranges == binding.admitted:
            return
        try:
            netfilter.admit(binding.sock, ranges)
            binding.admitted = ranges
        except OSError as exc:
            entry.problems.append(f"port {binding.windows_port}: cannot apply the firewall ({exc.strerror})")
            log.error("%s: cannot filter port %d: %s", entry.host.name, binding.windows_port, exc)

    def _open_binding(self, entry: HostEntry, port: int, spec: dict, guard: bool = False) -> Binding | None:
        address = entry.host.address
        candidates = [port]
        if self.allow_port_fallback:
            candidates += [port + offset for offset in PORT_FALLBACK_OFFSETS if port + offset < 65536]
            candidates.append(0)
        sock = None
        for candidate in candidates:
            try:
                sock = _listen(address, candidate)
                break
            except OSError as exc:
                log.info("%s: cannot bind %s:%d (%s)", entry.host.name, address, candidate, exc.strerror)
        if sock is None:
            entry.problems.append(f"port {port}: cannot bind on {address}")
            return None
        bound_port = sock.getsockname()[1]
        binding = Binding(entry=entry, windows_port=port, bound_port=bound_port, transport=spec["transport"],
                          prefixes=spec["prefixes"], sock=sock, guard=guard)
        if guard:
            entry.guards[port] = binding
            self.acceptor.add(binding)
            log.info("%s: firewall guard on %s:%d (Windows port %d)", entry.host.name, address, bound_port, port)
            return binding
        if binding.transport == "https":
            self._set_certificate(entry, binding, spec["thumbprint"])
        entry.bindings[port] = binding
        entry.port_map[port] = bound_port
        self.acceptor.add(binding)
        log.info("%s: listening on %s:%d (%s, Windows port %d)", entry.host.name, address, bound_port,
                 binding.transport, port)
        return binding

    def _close_binding(self, entry: HostEntry, binding: Binding, via_acceptor: bool = True) -> None:
        binding.closed = True
        if via_acceptor:
            self.acceptor.remove(binding)
        else:
            binding.sock.close()
        if binding.guard:
            entry.guards.pop(binding.windows_port, None)
            return
        entry.bindings.pop(binding.windows_port, None)
        entry.port_map.pop(binding.windows_port, None)
        # Idle keep-alive connections to a removed listener go too, as its URL is unregistered.
        for handler in list(binding.handlers):
            handler.abort_if_idle()
        log.info("%s: closed port %d", entry.host.name, binding.bound_port)

    @staticmethod
    def _certificate(entry: HostEntry, thumbprint: str):
        """The certificate of the host's MY store the thumbprint names (the engine's store first)."""
        store = getattr(entry.host, "cert_store", None) or entry.cert_store
        return store.find(thumbprint) if (store is not None and thumbprint) else None

    def _served(self, entry: HostEntry, thumbprint: str):
        cert = self._certificate(entry, thumbprint)
        return (cert.cert_path, cert.key_path) if cert is not None else None

    def _set_certificate(self, entry: HostEntry, binding: Binding, thumbprint: str) -> None:
        binding.thumbprint = thumbprint
        binding.ssl_context = None
        binding.cbt_data = None
        cert = self._certificate(entry, thumbprint)
        binding.served = (cert.cert_path, cert.key_path) if cert is not None else None
        if cert is None or not cert.key_path:
            # Windows keeps the listener but has no SSL binding: every TLS handshake fails.
            entry.problems.append(f"port {binding.windows_port}: no certificate {thumbprint or '(none)'}")
            return
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(cert.cert_path, cert.key_path)
        # Client certificates are requested but optional; whether one maps to an account is the
        # CertMapping's decision (401 when none does), not the handshake's.
        context.verify_mode = ssl.CERT_OPTIONAL
        context.load_verify_locations(self.pki.client_ca_bundle)
        binding.ssl_context = context
        with open(cert.cert_path, "rb") as handle:
            der = ssl.PEM_cert_to_DER_cert(handle.read().decode("ascii"))
        binding.cbt_data = tls_server_end_point(der)

    # -- connections

    def _spawn_connection(self, conn: socket.socket, address, binding: Binding) -> None:
        if binding.guard:
            # Admitted by the firewall, but nothing listens: reset at once (SO_LINGER 0 sends RST).
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()
            return
        self.connections_served += 1
        thread = threading.Thread(target=self._serve_connection, args=(conn, address, binding),
                                  name=f"winrm-sim-conn-{binding.bound_port}", daemon=True)
        thread.start()

    def _serve_connection(self, conn: socket.socket, address, binding: Binding) -> None:
        try:
            conn.setblocking(True)
            conn.settimeout(HANDSHAKE_TIMEOUT)
            peer_cert = None
            if binding.transport == "https":
                context = binding.ssl_context
                if context is None:
                    conn.close()
                    return
                try:
                    conn = context.wrap_socket(conn, server_side=True)
                except (ssl.SSLError, OSError) as exc:
                    log.debug("%s: TLS handshake failed: %s", binding.host.name, exc)
                    conn.close()
                    return
                peer_cert = conn.getpeercert(binary_form=True)
            WinRMRequestHandler(conn, address, binding, peer_cert)
        except Exception:
            log.exception("connection handler crashed")
        finally:
            try:
                conn.close()
            except OSError:
                pass


@dataclasses.dataclass(frozen=True)
class _OpenView:
    """What a host without a firewall model (the stand-in engine) asks for: its listeners, open to all."""
    listeners: tuple
    admitted: tuple = ()

    def admitted_ranges(self, port):
        return netfilter.IPV4_ALL


def _network_view(host):
    with host.lock:
        if hasattr(host, "network_view"):
            return host.network_view()
        return _OpenView(tuple(host.active_listeners()))


def _listen(address: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, port))
        sock.listen(128)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


class WinRMRequestHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive handler for one connection to one listener."""

    protocol_version = "HTTP/1.1"
    server_version = SERVER_HEADER
    sys_version = ""
    timeout = IDLE_TIMEOUT
    disable_nagle_algorithm = True

    def __init__(self, conn, address, binding: Binding, peer_cert: bytes | None):
        self.binding = binding
        self.peer_cert = peer_cert
        self.busy = False
        self.auth = authmod.ConnectionAuth(binding.host, binding.transport, binding.cbt_data)
        binding.handlers.add(self)
        try:
            super().__init__(conn, address, None)
        finally:
            binding.handlers.discard(self)

    def abort_if_idle(self) -> None:
        self.close_connection = True
        if not self.busy:
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    # -- plumbing

    def version_string(self) -> str:
        return SERVER_HEADER

    def log_message(self, format, *args) -> None:  # noqa: A002 - BaseHTTPRequestHandler's signature
        log.debug("%s %s", self.binding.host.name, format % args)

    def handle_one_request(self) -> None:
        self.busy = False
        try:
            super().handle_one_request()
        except (ConnectionError, TimeoutError, ssl.SSLError, socket.timeout):
            self.close_connection = True
        finally:
            self.busy = False

    def parse_request(self) -> bool:
        self.busy = True
        if self.binding.closed:
            # The listener was deleted while this connection idled: nobody answers any more.
            self.close_connection = True
            return False
        return super().parse_request()

    def _send(self, status: int, headers: list[tuple[str, str]] = (), body: bytes = b"") -> None:
        reason = REASONS.get(status) or self.responses.get(status, ("",))[0]
        own = [h for h in headers if h[0].lower() == "content-type"] + [("Server", SERVER_HEADER)]
        own += [h for h in headers if h[0].lower() != "content-type"]
        lines = [f"HTTP/1.1 {status} {reason}"] + [f"{name}: {value}" for name, value in own]
        lines.append(f"Date: {email.utils.formatdate(usegmt=True)}")
        if self.close_connection:
            lines.append("Connection: close")
        lines.append(f"Content-Length: {len(body)}")
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        self.log_request(status, len(body))

    def send_error(self, code, message=None, explain=None) -> None:
        """HTTP.sys-style error pages (also used by BaseHTTPRequestHandler's parser)."""
        if code == 431:
            code = 400  # HTTP.sys answers an oversized header with 400 "Bad Request - Header Field Too Long"
            title, text = _HTTPSYS_TEXT[431]
        else:
            title, text = _HTTPSYS_TEXT.get(code, (self.responses.get(code, ("Error",))[0], message or ""))
        body = _HTTPSYS_PAGE.format(title=title, code=code, text=text).encode("ascii")
        if code >= 400 and code not in (404, 405):
            self.close_connection = True
        try:
            self._send(code, [("Content-Type", "text/html; charset=us-ascii")], body)
        except OSError:
            self.close_connection = True

    # -- methods

    def _path_matches(self) -> bool:
        path = self.path.split("?", 1)[0].split("#", 1)[0]
        if path.startswith(("http://", "https://")):        # absolute-form request target
            path = "/" + path.split("://", 1)[1].partition("/")[2]
        return path.strip("/").lower() in self.binding.prefixes

    def _not_post(self) -> None:
        if not self._path_matches():
            self._drain_body()
            self.send_error(404)
            return
        self._drain_body()
        self._send(405, [("Allow", "POST")])

    do_GET = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _not_post

    def do_HEAD(self) -> None:
        self.send_error(404) if not self._path_matches() else self._send(405, [("Allow", "POST")])

    def _drain_body(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            return
        if 0 < length <= MAX_BODY:
            self.rfile.read(length)
        elif length:
            self.close_connection = True

    def _read_body(self) -> bytes | None:
        """The request body, or None after answering an HTTP error."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        length_text = self.headers.get("Content-Length")
        if length_text is None:
            self.send_error(411)
            return None
        try:
            length = int(length_text)
            if length < 0:
                raise ValueError
        except ValueError:
            self.send_error(400)
            return None
        if length > MAX_BODY:
            self.send_error(413)
            return None
        body = self.rfile.read(length)
        if len(body) != length:
            self.close_connection = True
            return None
        return body

    def _read_chunked(self) -> bytes | None:
        chunks, total = [], 0
        for _attempt in range(100000):
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                self.send_error(400)
                return None
            if size == 0:
                for _trailer in range(100):        # trailers up to the empty line
                    if self.rfile.readline(8192) in (b"\r\n", b"\n", b""):
                        break
                return b"".join(chunks)
            total += size
            if total > MAX_BODY:
                self.send_error(413)
                return None
            chunks.append(self.rfile.read(size))
            self.rfile.readline(8)
        self.send_error(413)
        return None

    def do_POST(self) -> None:
        if not self._path_matches():
            self._drain_body()
            self.send_error(404)
            return
        body = self._read_body()
        if body is None:
            return
        host = self.binding.host
        authorization = self.headers.get("Authorization")
        if not authorization and identify.is_identify_request(body):
            system = getattr(host, "system", None)   # the stand-in engine has none
            self._send(200, [("Content-Type", authmod.SOAP_CONTENT_TYPE)],
                       identify.anonymous_reply(system.version.stack if system else "3.0"))
            return
        outcome = self.auth.authenticate(authorization, body, self.peer_cert)
        if outcome.status:
            if outcome.close:
                self.close_connection = True
            self._send(outcome.status, outcome.headers)
            return
        principal = outcome.principal
        content_type = (self.headers.get("Content-Type") or "").lower()
        encrypted_request = content_type.startswith(("multipart/encrypted", "multipart/x-multi-encrypted"))
        if encrypted_request:
            if outcome.context is None:
                self._send(401, authmod.challenge_headers(host))
                return
            try:
                body = authmod.unwrap_body(outcome.context, body)
            except authmod.EncryptionError as exc:
                log.info("%s: %s", host.name, exc)
                self.auth.reset()
                self.close_connection = True
                self._send(401, authmod.challenge_headers(host))
                return
            principal = dataclasses.replace(principal, encrypted=True)
        elif not body:
            # The empty POST clients send to set up the security context before encrypting.
            self._send(200, outcome.headers)
            return
        elif self.binding.transport == "http" and not host.allow_unencrypted():
            log.info("%s: unencrypted request over HTTP refused (AllowUnencrypted=false)", host.name)
            self._send(500, outcome.headers)
            return
        else:
            principal = dataclasses.replace(principal, encrypted=self.binding.transport == "https")
        try:
            status, reply = host.handle(body, principal)
        except Exception:
            log.exception("%s: engine failed", host.name)
            status, reply = 500, b""
        headers = list(outcome.headers)
        if encrypted_request and reply:
            # Answer in the framing the client used: HTTP-Kerberos-session-encrypted after an
            # `Authorization: Kerberos` handshake, SPNEGO otherwise (pywinrm reads a reply in
            # another framing as plain text).
            protocol = (authmod.KERBEROS_ENCRYPTED if authmod.KERBEROS_ENCRYPTED.lower() in content_type
                        else authmod.SPNEGO_ENCRYPTED)
            content_type_out, reply = authmod.wrap_body(outcome.context, reply, protocol)
            headers.append(("Content-Type", content_type_out))
        elif reply:
            headers.append(("Content-Type", authmod.SOAP_CONTENT_TYPE))
        self._send(status, headers, reply)
