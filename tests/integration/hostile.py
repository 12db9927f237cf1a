"""Hostile WS-Management peers for the tests: a server that answers every request with one bad
reply, and an on-path relay in front of a simulated host that tampers with one reply.

    with HostileServer("trickle_body") as server:       # server.address, server.port
        ...
    with OnPathRelay(("127.0.20.1", 5985), tamper="plain_fault", after=2) as relay:
        ...                                             # relay.port forwards to the host

Both run in threads of the test process on loopback and keep nothing but the bytes in flight.
"""
from __future__ import annotations

import re
import socket
import threading
import time

SOAP = "application/soap+xml;charset=UTF-8"
NS = ('xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
      'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
      'xmlns:n="http://schemas.xmlsoap.org/ws/2004/09/enumeration" '
      'xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" '
      'xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault"')


def soap_fault(code: int, message: str) -> bytes:
    """A well-formed WS-Man fault, as Windows shapes it (Code in f:WSManFault, text in f:Message)."""
    return ('<s:Envelope %s><s:Header><a:Action>http://schemas.dmtf.org/wbem/wsman/1/wsman/fault</a:Action>'
            '</s:Header><s:Body><s:Fault><s:Code><s:Value>s:Receiver</s:Value><s:Subcode>'
            '<s:Value>w:AccessDenied</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang="en-US">%s</s:Text>'
            '</s:Reason><s:Detail><f:WSManFault Code="%d" Machine="hostile"><f:Message>%s</f:Message>'
            '</f:WSManFault></s:Detail></s:Fault></s:Body></s:Envelope>' % (NS, message, code, message)).encode()


def _enumeration_reply(request: bytes, counter: list) -> bytes:
    """An Enumerate/Pull answer that always names a next page and never says EndOfSequence."""
    counter[0] += 1
    name = "PullResponse" if b"enumeration/Pull" in request else "EnumerateResponse"
    items = "w:Items" if name == "EnumerateResponse" else "n:Items"
    match = re.search(rb"<(?:\w+:)?MessageID[^>]*>([^<]+)<", request)
    relates_to = match.group(1).decode() if match else ""
    return ('<s:Envelope %s><s:Header><a:Action>http://schemas.xmlsoap.org/ws/2004/09/enumeration/%s</a:Action>'
            '<a:RelatesTo>%s</a:RelatesTo></s:Header><s:Body><n:%s><n:EnumerationContext>uuid:page-%d'
            '</n:EnumerationContext><%s><Item xmlns="urn:x">%d</Item></%s></n:%s></s:Body></s:Envelope>'
            % (NS, name, relates_to, name, counter[0], items, counter[0], items, name)).encode()


def _head(status: str, content_type: str, length: int | None, extra: str = "") -> bytes:
    lines = ["HTTP/1.1 %s" % status, "Server: Microsoft-HTTPAPI/2.0", "Content-Type: %s" % content_type]
    if length is not None:
        lines.append("Content-Length: %d" % length)
    return ("\r\n".join(lines) + "\r\n" + extra + "\r\n").encode()


def read_request(sock: socket.socket) -> bytes | None:
    """One HTTP request (head and Content-Length body); None when the peer closed."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _sep, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _colon, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        body += chunk
    return head + b"\r\n\r\n" + body


class _Loopback:
    """A listening socket on loopback and one thread per accepted connection."""

    def __init__(self, address: str = "127.0.0.1"):
        self.address = address
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((address, 0))
        self._listener.listen(16)
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.requests: list[bytes] = []

    def __enter__(self):
        thread = threading.Thread(target=self._accept, daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._listener.close()

    @property
    def url(self) -> str:
        return "http://%s:%d/wsman" % (self.address, self.port)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _peer = self._listener.accept()
            except OSError:
                return
            thread = threading.Thread(target=self._serve_safely, args=(client,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve_safely(self, client: socket.socket) -> None:
        try:
            with client:
                self.serve(client)
        except OSError:
            pass  # the client gave up (which is what the tests want it to do)

    def serve(self, client: socket.socket) -> None:
        raise NotImplementedError


class HostileServer(_Loopback):
    """Answers every request with one bad reply (see PAYLOADS)."""

    PAYLOADS = ("trickle_body", "trickle_head", "drop_mid_reply", "broken_chunks", "huge_fault", "html_500",
                "truncated_xml", "endless_enumeration", "huge_body", "billion_laughs")

    def __init__(self, payload: str, interval: float = 2.0, address: str = "127.0.0.1", fault_text: str = ""):
        if payload not in self.PAYLOADS:
            raise ValueError(payload)
        super().__init__(address)
        self.payload = payload
        self.interval = interval
        self.fault_text = fault_text
        self.pages = [0]

    def serve(self, client: socket.socket) -> None:
        while not self._stop.is_set():
            request = read_request(client)
            if request is None:
                return
            self.requests.append(request)
            if not getattr(self, "_" + self.payload)(client, request):
                return

    # Each payload returns True to keep the connection for another request.

    def _trickle_body(self, client, request) -> bool:
        client.sendall(_head("200 OK", SOAP, 1_000_000))
        while not self._stop.is_set():
            client.sendall(b" ")
            time.sleep(self.interval)
        return False

    def _trickle_head(self, client, request) -> bool:
        for char in b"HTTP/1.1 200 OK\r\nServer: Microsoft-HTTPAPI/2.0\r\nX-Slow: " + b"x" * 1_000_000:
            if self._stop.is_set():
                break
            client.sendall(bytes([char]))
            time.sleep(self.interval)
        return False

    def _drop_mid_reply(self, client, request) -> bool:
        body = soap_fault(5, "Access is denied.")
        client.sendall(_head("200 OK", SOAP, len(body) * 4) + body[:len(body) // 2])
        client.shutdown(socket.SHUT_RDWR)
        return False

    def _broken_chunks(self, client, request) -> bool:
        client.sendall(_head("200 OK", SOAP, None, "Transfer-Encoding: chunked\r\n") + b"10\r\n<s:Envelope\r\nzz\r\n")
        client.shutdown(socket.SHUT_RDWR)
        return False

    def _huge_fault(self, client, request) -> bool:
        body = soap_fault(5, self.fault_text + "A" * (1024 * 1024))
        client.sendall(_head("500 Internal Server Error", SOAP, len(body)) + body)
        return True

    def _html_500(self, client, request) -> bool:
        body = b"<html><body>Service Unavailable</body></html>"
        client.sendall(_head("500 Internal Server Error", "text/html", len(body)) + body)
        return True

    def _truncated_xml(self, client, request) -> bool:
        body = soap_fault(5, "x")[:200]
        client.sendall(_head("200 OK", SOAP, len(body)) + body)
        return True

    def _endless_enumeration(self, client, request) -> bool:
        body = _enumeration_reply(request, self.pages)
        client.sendall(_head("200 OK", SOAP, len(body)) + body)
        return True

    def _huge_body(self, client, request) -> bool:
        size = 1024 * 1024 * 1024
        client.sendall(_head("200 OK", SOAP, size))
        block = b"<" * 65536
        for _block in range(size // len(block)):
            if self._stop.is_set():
                break
            client.sendall(block)
        return False

    def _billion_laughs(self, client, request) -> bool:
        entities = '<!ENTITY a0 "lol">' + "".join('<!ENTITY a%d "%s">' % (i, "&a%d;" % (i - 1) * 10)
                                                  for i in range(1, 10))
        body = ('<?xml version="1.0"?><!DOCTYPE s:Envelope [%s]><s:Envelope %s><s:Body>&a9;</s:Body>'
                '</s:Envelope>' % (entities, NS)).encode()
        client.sendall(_head("200 OK", SOAP, len(body)) + body)
        return True


class OnPathRelay(_Loopback):
    """Relays HTTP exchanges to ``upstream`` and replaces the reply to the ``after``-th message-encrypted
    request (counted from 1) with ``tamper``: the request still reaches the host, only its answer is
    swapped, as an on-path party would do."""

    TAMPERS = ("plain_fault", "plain_ok", "bogus_multipart")

    def __init__(self, upstream: tuple[str, int], tamper: str, after: int = 1, address: str = "127.0.0.1"):
        if tamper not in self.TAMPERS:
            raise ValueError(tamper)
        super().__init__(address)
        self.upstream = upstream
        self.tamper = tamper
        self.after = after
        self.encrypted_seen = 0
        self.tampered = 0
        self._lock = threading.Lock()

    def serve(self, client: socket.socket) -> None:
        with socket.create_connection(self.upstream, timeout=30) as upstream:
            while not self._stop.is_set():
                request = read_request(client)
                if request is None:
                    return
                self.requests.append(request)
                upstream.sendall(request)
                reply = _read_reply(upstream)
                if reply is None:
                    return
                if b"multipart/encrypted" in request.partition(b"\r\n\r\n")[0].lower():
                    with self._lock:
                        self.encrypted_seen += 1
                        swap = self.encrypted_seen == self.after
                    if swap:
                        self.tampered += 1
                        reply = self._tampered()
                client.sendall(reply)

    def _tampered(self) -> bytes:
        if self.tamper == "plain_fault":
            body = soap_fault(5, "Access is denied.")
            return _head("500 Internal Server Error", SOAP, len(body)) + body
        if self.tamper == "plain_ok":
            body = ('<s:Envelope %s><s:Body/></s:Envelope>' % NS).encode()
            return _head("200 OK", SOAP, len(body)) + body
        body = (b"--Encrypted Boundary\r\n\tContent-Type: application/HTTP-SPNEGO-session-encrypted\r\n"
                b"\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=40\r\n--Encrypted Boundary\r\n"
                b"\tContent-Type: application/octet-stream\r\n\x10\x00\x00\x00" + b"\x00" * 40 +
                b"--Encrypted Boundary--\r\n")
        content_type = ('multipart/encrypted;protocol="application/HTTP-SPNEGO-session-encrypted";'
                        'boundary="Encrypted Boundary"')
        return _head("200 OK", content_type, len(body)) + body


def _read_reply(sock: socket.socket) -> bytes | None:
    """One HTTP reply with a Content-Length body (what the simulator and HTTP.sys send)."""
    return read_request(sock)
