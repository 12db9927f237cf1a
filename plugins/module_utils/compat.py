# -*- coding: utf-8 -*-
# Copyright: contributors to the wsman.winrm collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every use of another library's private internals, in one place.

The session (``wsman.py``) and the connection plugin need a few things pypsrp, pywinrm, requests
and urllib3 do not offer publicly: pypsrp's raw fault XML and its requests session before the first
request, a certificate pin and an overall deadline on requests' connection pools, and a check of
every reply of a message-encrypted session. Each is done here and nowhere else, and
``tests/unit/test_compat.py`` pins each one against the supported versions (``requirements.txt``),
so a library upgrade breaks this file and that test, not the collection. ansible-core's private
connection-plugin hooks live in ``plugins/plugin_utils/builtin_winrm.py`` for the same reason.
"""

from __future__ import annotations

import heapq
import os
import socket
import threading
import time
import typing as t
import uuid
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape, quoteattr

try:
    import requests
    import requests.adapters
    import requests.auth
    HAS_REQUESTS = True
except ImportError:  # pragma: no cover - pypsrp and pywinrm both need requests
    HAS_REQUESTS = False

try:
    from winrm.protocol import Protocol
    from winrm.transport import Transport

    HAS_PYWINRM = True
except ImportError:  # pragma: no cover - reported by the connection plugin
    HAS_PYWINRM = False
    Protocol = Transport = object  # type: ignore[assignment,misc]

try:
    from pypsrp.exceptions import AuthenticationError, WinRMError, WinRMTransportError
    from pypsrp.negotiate import HTTPNegotiateAuth
    from pypsrp.wsman import WSMan, _TransportHTTP

    HAS_PYPSRP = True
except ImportError:  # pragma: no cover - reported by the session
    HAS_PYPSRP = False
    WSMan = _TransportHTTP = object  # type: ignore[assignment,misc]

# The versions this file was written and tested against (requirements.txt says the same).
SUPPORTED = {
    "pypsrp": ">=0.9,<1.0",
    "pywinrm": ">=0.5,<0.6",
    "requests": ">=2.31,<3",
    "urllib3": ">=1.26,<3",
}

# Content types of a message-encrypted WS-Man body (MS-WSMV 2.2.9.1: multipart/encrypted; CredSSP
# sends large messages as multipart/x-multi-encrypted).
ENCRYPTED_TYPES = ("multipart/encrypted", "multipart/x-multi-encrypted")

# The largest reply body read. pypsrp and pywinrm ask for envelopes of at most 150 KiB
# (MaxEnvelopeSize, MS-WSMV 2.2.4.19) and Windows keeps to it; this leaves room for encryption and
# anything a server may legitimately add, and stops a hostile one from filling the controller's memory.
MAX_REPLY_BYTES = 8 * 1024 * 1024


class UnencryptedReply(Exception):
    """A reply in clear to an encrypted request: anyone on the network path can have written it."""

    def __init__(self, status: int, content_type: str):
        self.status = status
        self.content_type = content_type or "none"
        super().__init__("HTTP %s with content type %s" % (status, self.content_type))


class UndecryptableReply(Exception):
    """A reply that claims to be encrypted but cannot be unwrapped (truncated, bogus parts, bad signature)."""


class ReplyTooLarge(Exception):
    """A reply body larger than any WS-Man envelope the client asked for."""

    def __init__(self, limit: int):
        self.limit = limit
        super().__init__("reply body larger than %d bytes" % limit)


class DocumentTypeDeclared(Exception):
    """A reply with a DTD: SOAP 1.2 forbids them (Part 1, section 5), and they carry entity expansion and
    external entities."""


class DeadlineExceeded(Exception):
    """A request (with its authentication round trips) did not complete within its overall deadline."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        super().__init__("no complete reply within %g seconds" % seconds)


def is_encrypted(content_type: t.Optional[str]) -> bool:
    return (content_type or "").strip().lower().startswith(ENCRYPTED_TYPES)


# ---------------------------------------------------------------------------------------------
# An overall deadline per request (requests' timeouts apply to each socket read, so a server
# sending one byte at a time would otherwise hold a task forever).
# ---------------------------------------------------------------------------------------------

class _Watch:
    """The connections one request uses; at the deadline their sockets are shut, which ends any
    blocked read with an error the caller turns into ``DeadlineExceeded``."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.connections: t.List[t.Any] = []
        self.fired = False
        self.cancelled = False
        self._lock = threading.Lock()

    def start(self) -> None:
        _WATCHDOG.watch(self)

    def cancel(self) -> None:
        self.cancelled = True

    def add(self, connection: t.Any) -> None:
        with self._lock:
            self.connections.append(connection)
            fired = self.fired
        if fired:
            _shut(connection)

    def fire(self) -> None:
        with self._lock:
            self.fired = True
            connections = list(self.connections)
        for connection in connections:
            _shut(connection)


class _Watchdog:
    """One thread per process fires every request's deadline (a timer thread per request cost a
    thread start, about a millisecond of CPU, on each of the dozen exchanges a host needs). Ansible
    forks a worker per host: the thread does not survive a fork, so the child starts its own."""

    def __init__(self) -> None:
        self._reset()
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._ready = threading.Condition(threading.Lock())
        self._due: t.List[t.Tuple[float, int, _Watch]] = []
        self._count = 0
        self._thread: t.Optional[threading.Thread] = None

    def watch(self, watch: _Watch) -> None:
        with self._ready:
            self._count += 1
            heapq.heappush(self._due, (time.monotonic() + watch.seconds, self._count, watch))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="wsman-deadlines", daemon=True)
                self._thread.start()
            elif self._due[0][2] is watch:
                self._ready.notify()

    def _run(self) -> None:
        while True:
            with self._ready:
                while self._due and self._due[0][2].cancelled:
                    heapq.heappop(self._due)
                if not self._due:
                    self._ready.wait()
                    continue
                wait = self._due[0][0] - time.monotonic()
                if wait > 0:
                    self._ready.wait(wait)
                    continue
                watch = heapq.heappop(self._due)[2]
            watch.fire()


_WATCHDOG = _Watchdog()


def _shut(connection: t.Any) -> None:
    sock = getattr(connection, "sock", None)
    if sock is None:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


_CURRENT = threading.local()


def _watch_connection(connection: t.Any) -> None:
    watch = getattr(_CURRENT, "watch", None)
    if watch is not None:
        watch.add(connection)


def _watched(method: t.Callable[..., t.Any], connection: t.Any) -> t.Callable[..., t.Any]:
    def wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
        _watch_connection(connection)
        return method(*args, **kwargs)
    return wrapper


def _watched_connection_class(connection_class: t.Any) -> t.Callable[..., t.Any]:
    def create(*args: t.Any, **kwargs: t.Any) -> t.Any:
        connection = connection_class(*args, **kwargs)
        # urllib3 connects lazily inside request(); a reused connection only calls request().
        connection.connect = _watched(connection.connect, connection)
        connection.request = _watched(connection.request, connection)
        return connection
    return create


def _watched_pool_class(pool_class: t.Any) -> t.Callable[..., t.Any]:
    def create(*args: t.Any, **kwargs: t.Any) -> t.Any:
        pool = pool_class(*args, **kwargs)
        # urllib3 private: the class a pool builds its connections from (pypsrp wraps it the same way).
        pool.ConnectionCls = _watched_connection_class(pool.ConnectionCls)
        return pool
    return create


def _watch_pool_manager(manager: t.Any) -> None:
    if getattr(manager, "_wsman_watched", False):
        return
    # urllib3: an instance's pool_classes_by_scheme decides the pool class of each new pool.
    manager.pool_classes_by_scheme = {scheme: _watched_pool_class(pool_class)
                                      for scheme, pool_class in manager.pool_classes_by_scheme.items()}
    manager._wsman_watched = True


def _watch_adapter(adapter: t.Any) -> None:
    _watch_pool_manager(adapter.poolmanager)
    original = adapter.proxy_manager_for

    def proxy_manager_for(proxy: str, **proxy_kwargs: t.Any) -> t.Any:
        manager = original(proxy, **proxy_kwargs)
        _watch_pool_manager(manager)
        return manager

    adapter.proxy_manager_for = proxy_manager_for


def harden_session(session: "requests.Session", deadline: float) -> None:
    """Give every request of ``session`` an overall deadline and refuse unencrypted replies to
    encrypted requests. Works for pypsrp's and pywinrm's sessions (both send through Session.send;
    their authentication round trips run inside that call and share its deadline)."""
    for adapter in session.adapters.values():
        _watch_adapter(adapter)
    send = session.send

    def guarded_send(request: t.Any, **kwargs: t.Any) -> t.Any:
        outer = getattr(_CURRENT, "watch", None)
        if outer is not None:  # a nested send (authentication) shares the outer deadline
            return _checked(request, send(request, **kwargs), body_read=not kwargs.get("stream"))
        watch = _Watch(deadline)
        _CURRENT.watch = watch
        watch.start()
        stream = kwargs.pop("stream", False)
        try:
            response = send(request, stream=True, **kwargs)
            if not stream:
                _read_body(response, MAX_REPLY_BYTES)
        except ReplyTooLarge:
            raise
        except Exception:  # pylint: disable=broad-except
            if watch.fired:
                raise DeadlineExceeded(deadline) from None
            raise
        finally:
            watch.cancel()
            _CURRENT.watch = None
        if watch.fired:
            raise DeadlineExceeded(deadline)
        return _checked(request, response, body_read=not stream)

    session.send = guarded_send  # type: ignore[method-assign]


def _read_body(response: t.Any, limit: int) -> None:
    """What requests' Response.content does (iter_content, then cache), with a size limit."""
    chunks = []
    size = 0
    for chunk in response.iter_content(64 * 1024):
        size += len(chunk)
        if size > limit:
            response.close()
            raise ReplyTooLarge(limit)
        chunks.append(chunk)
    # requests private: the cached body that Response.content returns.
    response._content = b"".join(chunks)
    response._content_consumed = True


def _checked(request: t.Any, response: t.Any, body_read: bool) -> t.Any:
    sent_encrypted = is_encrypted(request.headers.get("Content-Type"))
    if sent_encrypted and response.status_code != 401 and not is_encrypted(response.headers.get("Content-Type")):
        # MS-WSMV 2.2.9.1: once a session encrypts, the service encrypts every reply; a 401 is the
        # only clear answer (authentication starts again).
        raise UnencryptedReply(response.status_code, response.headers.get("Content-Type", ""))
    if body_read and not response.headers.get("Content-Type", "").lower().startswith("multipart/") and \
            b"<!DOCTYPE" in (response.content or b""):
        raise DocumentTypeDeclared()
    return response


# ---------------------------------------------------------------------------------------------
# pypsrp
# ---------------------------------------------------------------------------------------------

_PASS_THROUGH = (AuthenticationError, WinRMTransportError) if HAS_PYPSRP else ()


class _HardenedTransport(_TransportHTTP):  # type: ignore[misc,valid-type]
    """pypsrp's HTTP transport; a reply that arrived but cannot be unwrapped is named as such (pypsrp
    lets pyspnego's decryption errors through, which look like authentication failures)."""

    def _send_request(self, request: t.Any, timeout: t.Any = None) -> bytes:
        self._wsman_replied = False
        try:
            return super()._send_request(request, timeout=timeout)
        except (UnencryptedReply, UndecryptableReply, DeadlineExceeded, ReplyTooLarge,
                DocumentTypeDeclared) + _PASS_THROUGH:
            raise
        except Exception as error:  # pylint: disable=broad-except
            if not self._wsman_replied or (HAS_REQUESTS and isinstance(error, requests.RequestException)):
                raise
            detail = "%s: %s" % (type(error).__name__, str(error)[:200])
        raise UndecryptableReply(detail)


def _mark_replies(transport: t.Any, session: "requests.Session") -> None:
    send = session.send

    def marking_send(request: t.Any, **kwargs: t.Any) -> t.Any:
        response = send(request, **kwargs)
        transport._wsman_replied = True
        return response

    session.send = marking_send  # type: ignore[method-assign]


NS_SOAP = "http://www.w3.org/2003/05/soap-envelope"
NS_ADDRESSING = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
# The envelope and header pypsrp's WSMan.invoke and _create_header build (same elements, order and
# attributes), as text.
_ENVELOPE = ('<s:Envelope xmlns:s="%s" xmlns:wsa="%s" xmlns:wsman="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" '
             'xmlns:wsmv="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd"><s:Header>%%s</s:Header>'
             '<s:Body>%%s</s:Body></s:Envelope>' % (NS_SOAP, NS_ADDRESSING))
_HEADER = (
    '<wsa:Action s:mustUnderstand="true">%(action)s</wsa:Action>'
    '<wsmv:DataLocale s:mustUnderstand="false" xml:lang=%(data_locale)s />'
    '<wsman:Locale s:mustUnderstand="false" xml:lang=%(locale)s />'
    '<wsman:MaxEnvelopeSize s:mustUnderstand="true">%(max_envelope_size)d</wsman:MaxEnvelopeSize>'
    '<wsa:MessageID>%(message_id)s</wsa:MessageID>'
    '<wsman:OperationTimeout>PT%(timeout)sS</wsman:OperationTimeout>'
    '<wsa:ReplyTo><wsa:Address s:mustUnderstand="true">'
    'http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsa:Address></wsa:ReplyTo>'
    '<wsman:ResourceURI s:mustUnderstand="true">%(resource_uri)s</wsman:ResourceURI>'
    '<wsmv:SessionId s:mustUnderstand="false">uuid:%(session_id)s</wsmv:SessionId>'
    '<wsa:To>%(to)s</wsa:To>'
)


class WSManClient(WSMan):  # type: ignore[misc,valid-type]
    """pypsrp's WS-Man client: keeps the raw fault XML (pypsrp drops nested provider messages) and
    uses the hardened transport."""

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        # pypsrp private: WSMan builds a _TransportHTTP; swap in the subclass (same state).
        self.transport.__class__ = _HardenedTransport

    def invoke(self, action: str, resource_uri: str, resource: t.Optional[ET.Element],
               option_set: t.Any = None, selector_set: t.Any = None, timeout: t.Optional[int] = None, *,
               retries_on_read_timeout: int = 0) -> ET.Element:
        """pypsrp's WSMan.invoke (every Get, Put, Create, Delete, Enumerate, Pull and method call goes
        through it) with the same envelope written as text: the header's fixed elements need no
        ElementTree serializer, which cost a sixth of an exchange's CPU. Only the body (and an
        option or selector set) is serialized, with its own namespace declarations."""
        message_id = "uuid:" + str(uuid.uuid4()).upper()
        header = _HEADER % {
            "action": escape(action), "data_locale": quoteattr(self.data_locale), "locale": quoteattr(self.locale),
            "max_envelope_size": int(self.max_envelope_size), "message_id": message_id,
            "timeout": escape(str(timeout or self.operation_timeout)), "resource_uri": escape(resource_uri),
            "session_id": escape(str(self.session_id).upper()), "to": escape(self.transport.endpoint),
        }
        sets = "".join(ET.tostring(item.pack(), encoding="unicode") for item in (option_set, selector_set)
                       if item is not None)
        body = ET.tostring(resource, encoding="unicode") if resource is not None else ""
        xml = (_ENVELOPE % (header + sets, body)).encode("utf-8")
        # As pypsrp: the HTTP timeout outlasts a request's own OperationTimeout.
        http_timeout = timeout + 2 if timeout else None
        try:
            response = self.transport.send(xml, retries_on_read_timeout=retries_on_read_timeout, timeout=http_timeout)
        except WinRMTransportError as error:
            try:
                fault = self._parse_wsman_fault(error.response_text)
            except ET.ParseError:
                raise error from None  # no XML: not a WS-Management fault
            raise fault from None
        reply = ET.fromstring(response)
        relates_to = reply.findtext("{%s}Header/{%s}RelatesTo" % (NS_SOAP, NS_ADDRESSING)) or ""
        if relates_to != message_id:
            raise WinRMError("Received related id does not match related expected message id: Sent: %s, Received: %s"
                             % (message_id, relates_to))
        return reply

    @staticmethod
    def _parse_wsman_fault(xml_text: str) -> t.Any:
        # pypsrp private: the static method that turns a fault reply into WSManFaultError.
        error = WSMan._parse_wsman_fault(xml_text)
        error.fault_xml = xml_text
        return error


def open_wsman_session(client: t.Any, deadline: float) -> "requests.Session":
    """Build pypsrp's requests session now (pypsrp would on the first send) so it can be hardened:
    nothing from the environment (proxies, CA bundles, .netrc), the deadline, the reply checks, and
    the server certificate of each TLS handshake (``client.peer_certificates``)."""
    transport = client.transport
    # pypsrp private: _build_session reads environment proxies and REQUESTS_CA_BUNDLE itself.
    session = transport._build_session()
    session.trust_env = False
    session.verify = transport.cert_validation
    transport.session = session
    harden_session(session, deadline)
    _mark_replies(transport, session)
    reuse_prepared_requests(session)
    client.peer_certificates = record_peer_certificates(session)
    return session


# Authentication whose per-request step only adds the same headers and response hook every time
# (pypsrp's Negotiate/Kerberos/NTLM, requests' Basic, none for certificates): a prepared request of
# the session can be copied for the next message. Others (requests' Digest counts nonces per request)
# are prepared each time.
_REUSABLE_AUTH: t.Tuple[type, ...] = ((requests.auth.HTTPBasicAuth,) if HAS_REQUESTS else ()) + \
    ((HTTPNegotiateAuth,) if HAS_PYPSRP else ())


def reuse_prepared_requests(session: "requests.Session") -> None:
    """pypsrp prepares every message from scratch (requests merges the session's headers, cookies,
    hooks and authentication and parses the URL: a fifth of an exchange's CPU), yet its messages to
    one endpoint differ only in the body and the values of the content headers. The first message
    of each shape is prepared by requests; later ones copy it with their own body and headers. A
    session holding cookies, or a request with anything else, is prepared by requests as before."""
    prepare = session.prepare_request
    templates: t.Dict[t.Any, t.Any] = {}

    def prepare_request(request: t.Any) -> t.Any:
        data = request.data or None  # requests.Request keeps "no body" as []
        auth = session.auth
        if session.cookies or session.params or session.trust_env or request.auth or request.cookies \
                or request.files or request.json is not None or request.params or request.hooks.get("response") \
                or not (data is None or isinstance(data, bytes)) or not (auth is None or isinstance(auth, _REUSABLE_AUTH)):
            return prepare(request)
        key = (request.method, request.url, data is None, frozenset(name.lower() for name in request.headers), id(auth))
        if key not in templates:
            prepared = prepare(request)
            templates[key] = (prepared.copy(), {name.lower(): value for name, value in request.headers.items()})
            return prepared
        template, template_headers = templates[key]
        prepared = template.copy()
        for name, value in request.headers.items():
            # Only what this message changes: a header the authentication set stays as it set it.
            if template_headers[name.lower()] != value:
                prepared.headers[name] = value
        if data is not None:
            prepared.body = data
            prepared.headers["Content-Length"] = str(len(data))
        return prepared

    session.prepare_request = prepare_request  # type: ignore[method-assign]


def warm_first_exchange() -> None:
    """Pay once, in the controller's main process (Ansible forks a worker per host from it), what
    the first NTLM exchange of every process would pay again: OpenSSL's RC4 from the legacy
    provider (NTLM's message sealing) and the regular expressions pypsrp and the email header
    parser compile on first use. Nothing is sent; a failure only loses the head start."""
    try:
        first_exchange_costs()
    except Exception:  # pylint: disable=broad-except  # only a head start: the exchange does it anyway
        return


class _ClearContext:
    """A security context that seals nothing: lets pypsrp frame and unframe a message offline."""

    @staticmethod
    def wrap_winrm(data: bytes) -> tuple[bytes, bytes, int]:
        return b"", data, 0

    @staticmethod
    def unwrap_winrm(_header: bytes, data: bytes) -> bytes:
        return data


def first_exchange_costs() -> bytes:
    """The one-time work of warm_first_exchange, raising when cryptography or pypsrp changed the
    calls it relies on (pinned by tests/unit/test_compat.py). Returns the message pypsrp's framing
    gave back, which is the message it was given."""
    from cryptography.hazmat.backends import default_backend
    from cryptography.hazmat.primitives.ciphers import Cipher
    try:
        from cryptography.hazmat.decrepit.ciphers.algorithms import ARC4
    except ImportError:  # pragma: no cover - cryptography < 43
        from cryptography.hazmat.primitives.ciphers.algorithms import ARC4  # type: ignore[no-redef]
    Cipher(ARC4(bytes(16)), mode=None, backend=default_backend()).encryptor().update(b"\0")
    if not HAS_PYPSRP:
        return b""
    import http.client
    import io
    from pypsrp.encryption import WinRMEncryption

    HTTPNegotiateAuth()
    encryption = WinRMEncryption(_ClearContext(), WinRMEncryption.SPNEGO)
    content_type, framed = encryption.wrap_message(b"<s:Envelope/>")
    boundary = WinRMEncryption.MIME_BOUNDARY[2:]
    http.client.parse_headers(io.BytesIO(('Content-Type: %s;protocol="%s";boundary="%s"\r\n\r\n'
                                          % (content_type, WinRMEncryption.SPNEGO, boundary)).encode()))
    return encryption.unwrap_message(framed, boundary)


def send_raw(client: t.Any, envelope: bytes) -> bytes:
    """POST a complete SOAP envelope on pypsrp's transport (authentication and message encryption
    as for any request) and return the reply body: for messages pypsrp has no method for (Identify)."""
    return client.transport.send(envelope)


# ---------------------------------------------------------------------------------------------
# urllib3: the certificate the server presented in the TLS handshake
# ---------------------------------------------------------------------------------------------

class PeerCertificates:
    """What the session's HTTPS connections were served: the DER certificate of the latest TLS
    handshake (None before the first one, or over HTTP)."""

    def __init__(self) -> None:
        self.latest: t.Optional[bytes] = None
        self.handshakes = 0

    def _connected(self, connection: t.Any) -> None:
        # urllib3: ``sock`` is the SSLSocket (or SSLTransport through a proxy tunnel) after connect().
        getpeercert = getattr(getattr(connection, "sock", None), "getpeercert", None)
        if getpeercert is None:
            return
        der = getpeercert(binary_form=True)
        if der:
            self.latest = der
            self.handshakes += 1


def record_peer_certificates(session: "requests.Session") -> PeerCertificates:
    """Remember the server certificate of every new HTTPS connection of ``session`` (direct or through
    a proxy tunnel), read from the very connection the requests travel on."""
    recorder = PeerCertificates()

    def connection_class(connection_class: t.Any) -> t.Callable[..., t.Any]:
        def create(*args: t.Any, **kwargs: t.Any) -> t.Any:
            connection = connection_class(*args, **kwargs)
            connect = connection.connect

            def recording_connect(*c_args: t.Any, **c_kwargs: t.Any) -> t.Any:
                result = connect(*c_args, **c_kwargs)
                recorder._connected(connection)
                return result

            connection.connect = recording_connect
            return connection
        return create

    def pool_class(pool_class: t.Any) -> t.Callable[..., t.Any]:
        def create(*args: t.Any, **kwargs: t.Any) -> t.Any:
            pool = pool_class(*args, **kwargs)
            pool.ConnectionCls = connection_class(pool.ConnectionCls)   # urllib3 private, as above
            return pool
        return create

    def install(manager: t.Any) -> t.Any:
        if not getattr(manager, "_wsman_peer_recorded", False):
            classes = dict(manager.pool_classes_by_scheme)
            classes["https"] = pool_class(classes["https"])
            manager.pool_classes_by_scheme = classes
            manager._wsman_peer_recorded = True
        return manager

    adapter = session.get_adapter("https://")
    install(adapter.poolmanager)
    proxy_manager_for = adapter.proxy_manager_for
    adapter.proxy_manager_for = lambda proxy, **kwargs: install(proxy_manager_for(proxy, **kwargs))
    return recorder


# ---------------------------------------------------------------------------------------------
# requests: certificate pinning
# ---------------------------------------------------------------------------------------------

def pin_fingerprint(session: "requests.Session", fingerprint: str) -> None:
    """Make urllib3 compare the server certificate's SHA-256 with the pin on every new TLS
    connection, direct or through a proxy tunnel."""
    digest = fingerprint.replace(":", "").replace(" ", "").lower()
    adapter = session.get_adapter("https://")
    original = getattr(adapter, "build_connection_pool_key_attributes", None)
    if original is not None:  # requests >= 2.32
        def pinned(request: t.Any, verify: t.Any, cert: t.Any = None) -> t.Any:
            host_params, pool_kwargs = original(request, verify, cert)
            pool_kwargs["assert_fingerprint"] = digest
            return host_params, pool_kwargs

        adapter.build_connection_pool_key_attributes = pinned
    else:  # pragma: no cover - requests < 2.32
        adapter.poolmanager.connection_pool_kw["assert_fingerprint"] = digest


# ---------------------------------------------------------------------------------------------
# pywinrm (the connection plugin)
# ---------------------------------------------------------------------------------------------

class FingerprintPinningAdapter(requests.adapters.HTTPAdapter if HAS_REQUESTS else object):  # type: ignore[misc]
    """HTTPS adapter that refuses any server certificate but the pinned one (direct or through CONNECT)."""

    def __init__(self, sha256_hex: str, **kwargs: t.Any) -> None:
        self.sha256_hex = sha256_hex.lower()
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: t.Any, **kwargs: t.Any) -> None:
        kwargs["assert_fingerprint"] = self.sha256_hex
        super().init_poolmanager(*args, **kwargs)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: t.Any) -> t.Any:
        proxy_kwargs["assert_fingerprint"] = self.sha256_hex
        return super().proxy_manager_for(proxy, **proxy_kwargs)


class ResolvedTransport(Transport):  # type: ignore[misc,valid-type]
    """pywinrm's Transport with the resolver's decisions enforced on the requests session.

    pywinrm builds its session lazily and may send a first request (to set up message encryption)
    while building it; that request is held back until the session is hardened.
    """

    pinned_sha256: t.Optional[str] = None
    proxy_url: t.Optional[str] = None
    _holding_encryption = False
    _encryption_held = False

    def build_session(self) -> "requests.Session":
        if self.session:
            return self.session
        self._holding_encryption, self._encryption_held = True, False
        try:
            session = super().build_session()
        finally:
            self._holding_encryption = False
        # The endpoint already decided proxies and CA trust: nothing comes from the environment
        # (no *_PROXY, REQUESTS_CA_BUNDLE or .netrc).
        session.trust_env = False
        session.proxies = {"http": self.proxy_url, "https": self.proxy_url} if self.proxy_url else {}
        if self.pinned_sha256:
            session.mount("https://", FingerprintPinningAdapter(self.pinned_sha256))
        # pywinrm sends with one timeout for connecting and for each read; the deadline bounds the whole request.
        harden_session(session, deadline=2.0 * float(self.read_timeout_sec))
        if self._encryption_held:
            super().setup_encryption(session)
        return session

    def setup_encryption(self, session: "requests.Session") -> None:
        if self._holding_encryption:
            self._encryption_held = True
            return
        super().setup_encryption(session)

    def _get_message_response_text(self, response: t.Any) -> bytes:
        try:
            return super()._get_message_response_text(response)
        except Exception as error:  # pylint: disable=broad-except
            if not self.encryption:
                raise
            detail = "%s: %s" % (type(error).__name__, str(error)[:200])
        raise UndecryptableReply(detail)


class ResolvedProtocol(Protocol):  # type: ignore[misc,valid-type]
    """pywinrm's Protocol using ResolvedTransport."""

    def __init__(self, endpoint: str, pinned_sha256: t.Optional[str] = None, **kwargs: t.Any) -> None:
        proxy_url = kwargs.get("proxy")
        super().__init__(endpoint, **kwargs)
        transport = use_transport_class(self, ResolvedTransport)
        transport.pinned_sha256 = pinned_sha256
        transport.proxy_url = proxy_url


def use_transport_class(protocol: t.Any, transport_class: type) -> t.Any:
    """pywinrm's Protocol builds its own Transport; give that instance our subclass (same state)."""
    protocol.transport.__class__ = transport_class
    return protocol.transport
