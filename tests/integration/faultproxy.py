"""A fault-injecting WS-Management relay between the controller and a simulated host.

The controller talks to the proxy as if it were the host: the same address, another port, HTTPS
with the host's own certificate. The proxy authenticates the controller itself (NTLM through
pyspnego's acceptor, from the simulator's account file), decrypts each request, picks out its
WS-Management action and resource URI, and relays it to the host through its own pypsrp session
over the same transport. A ``Rule`` picks requests by what they are and does one fault to them:

- ``refuse``: the connection is closed before anything is relayed (nothing applied)
- ``fault``: a well-formed WS-Management fault, not relayed (nothing applied)
- ``unauthorized``: HTTP 401 after authentication, not relayed (nothing applied)
- ``drop_reply``: relayed, then the connection is closed without the reply (applied, reply lost)
- ``half_reply``: relayed, then half the reply and the connection closed
- ``delay``: relayed, then the reply held past the client's read timeout
- ``http500``: relayed, then HTTP 500 with a body that is not SOAP
- ``malformed``: relayed, then the reply's XML cut in half (encrypted like a real reply)
- ``rewrite``: relayed, then the reply with ``pattern`` replaced by ``replacement`` (a hostile value)

``FaultProxy.seen`` lists every request relayed or faulted, as ``(action, resource)``.
"""

from __future__ import annotations

import base64
import dataclasses
import re
import socket
import ssl
import struct
import threading
import time

import spnego

BOUNDARY = b"--Encrypted Boundary"
SPNEGO_ENCRYPTED = "application/HTTP-SPNEGO-session-encrypted"
_LENGTH = re.compile(rb"Length=(\d+)")
_ACTION = re.compile(r"<(?:\w+:)?Action\b[^>]*>\s*([^<\s]+)\s*<")
_RESOURCE = re.compile(r"<(?:\w+:)?ResourceURI\b[^>]*>\s*([^<\s]+)\s*<")
FAULTS = ("refuse", "fault", "unauthorized", "drop_reply", "half_reply", "delay", "http500", "malformed")
HOSTILE = ("rewrite",)
NOT_APPLIED = ("refuse", "fault", "unauthorized")

FAULT_REPLY = (
    '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
    'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing">'
    '<s:Header><a:Action>http://schemas.dmtf.org/wbem/wsman/1/wsman/fault</a:Action></s:Header>'
    '<s:Body><s:Fault><s:Code><s:Value>s:Receiver</s:Value><s:Subcode><s:Value '
    'xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd">w:InternalError</s:Value></s:Subcode></s:Code>'
    '<s:Reason><s:Text xml:lang="en-US">The WS-Management service cannot process the request.</s:Text></s:Reason>'
    '<s:Detail><f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" Code="2150858770" '
    'Machine="proxy"><f:Message>The WS-Management service cannot process the request (injected fault). '
    '</f:Message></f:WSManFault></s:Detail></s:Fault></s:Body></s:Envelope>')


@dataclasses.dataclass
class Rule:
    """Fault the requests whose action ends with ``action`` (``Delete``, ``Put``, ``SetDWORDValue``...),
    whose resource URI contains ``resource`` and whose body contains ``contains``; ``skip`` matching
    requests go through first, then ``times`` are faulted."""

    fault: str
    action: str = ""
    resource: str = ""
    contains: str = ""
    skip: int = 0
    times: int = 1
    delay: float = 60.0
    pattern: str = ""
    replacement: str = ""

    def __post_init__(self) -> None:
        assert self.fault in FAULTS + HOSTILE, self.fault

    def matches(self, action: str, resource: str, body: str) -> bool:
        return (action.lower().endswith(self.action.lower()) and self.resource.lower() in resource.lower()
                and self.contains in body)


def _unwrap(context, body: bytes) -> bytes:
    start = body.find(BOUNDARY)
    header_end = body.find(BOUNDARY, start + len(BOUNDARY))
    length = int(_LENGTH.search(body[start:header_end]).group(1))
    data_start = body.find(b"\r\n", body.find(b"application/octet-stream", header_end)) + 2
    sig_len = struct.unpack("<I", body[data_start:data_start + 4])[0]
    sealed = data_start + 4 + sig_len
    return context.unwrap_winrm(body[data_start + 4:sealed], body[sealed:sealed + length])


def _wrap(context, message: bytes) -> tuple[str, bytes]:
    header, sealed, padding = context.wrap_winrm(message)
    payload = b"".join([
        BOUNDARY, b"\r\n", b"\tContent-Type: ", SPNEGO_ENCRYPTED.encode(), b"\r\n",
        b"\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=", str(len(message) + padding).encode(),
        b"\r\n", BOUNDARY, b"\r\n", b"\tContent-Type: application/octet-stream\r\n",
        struct.pack("<I", len(header)), header, sealed, BOUNDARY, b"--\r\n"])
    return 'multipart/encrypted;protocol="%s";boundary="Encrypted Boundary"' % SPNEGO_ENCRYPTED, payload


class _Closed(Exception):
    pass


class FaultProxy:
    """One listening port relaying to one host port; ``rules`` can be changed between runs."""

    def __init__(self, listen: tuple[str, int], upstream: tuple[str, int], https: bool, username: str,
                 password: str, user_file: str, certificate: tuple[str, str] | None = None, rules=()):
        self.listen, self.upstream, self.https = listen, upstream, https
        self.username, self.password, self.user_file = username, password, user_file
        self.certificate = certificate
        self.rules: list[Rule] = list(rules)
        self.seen: list[tuple[str, str]] = []
        self.faulted: list[tuple[str, str, str]] = []
        self._lock = threading.Lock()
        self._client = None
        self._socket: socket.socket | None = None
        self._running = False

    # ---- lifecycle ---------------------------------------------------------------------------

    def start(self) -> "FaultProxy":
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(self.listen)
        self._socket.listen(16)
        self._socket.settimeout(0.2)  # the accept loop sees stop() at once
        self._running = True
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def stop(self) -> None:
        self._running = False
        if self._socket is not None:
            try:
                self._socket.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._socket.close()
        if self._client is not None:
            self._client.close()

    def __enter__(self) -> "FaultProxy":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def _accept(self) -> None:
        context = None
        if self.https:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.certificate)
        while self._running:
            try:
                conn, _address = self._socket.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            conn.settimeout(None)
            threading.Thread(target=self._serve, args=(conn, context), daemon=True).start()

    # ---- one client connection -------------------------------------------------------------------

    def _serve(self, conn: socket.socket, tls: ssl.SSLContext | None) -> None:
        try:
            if tls is not None:
                conn = tls.wrap_socket(conn, server_side=True)
            stream = conn.makefile("rb")
            security = None
            while True:
                headers, body = self._read_request(stream)
                authorization = headers.get("authorization", "")
                if authorization.lower().startswith("negotiate "):
                    if security is None or security.complete:
                        security = spnego.server(protocol="negotiate")
                    out = security.step(base64.b64decode(authorization.split(None, 1)[1]))
                    challenge = [("WWW-Authenticate", "Negotiate " + base64.b64encode(out).decode())] if out else []
                    if not security.complete:
                        self._send(conn, 401, challenge)
                        continue
                    if not body:
                        self._send(conn, 200, challenge)
                        continue
                elif security is None or not security.complete:
                    self._send(conn, 401, [("WWW-Authenticate", "Negotiate")])
                    continue
                encrypted = headers.get("content-type", "").lower().startswith("multipart/encrypted")
                plain = _unwrap(security, body) if encrypted else body
                if not self._relay(conn, security if encrypted else None, plain):
                    security = None
        except Exception:  # noqa: BLE001 - a broken exchange (or a bad MIC from a confused client) ends the connection
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    @staticmethod
    def _read_request(stream) -> tuple[dict[str, str], bytes]:
        line = stream.readline()
        if not line:
            raise _Closed()
        headers = {}
        while True:
            line = stream.readline()
            if not line:
                raise _Closed()
            if line in (b"\r\n", b"\n"):
                break
            name, _sep, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length") or 0)
        return headers, stream.read(length) if length else b""

    @staticmethod
    def _send(conn, status: int, headers=(), body: bytes = b"") -> None:
        reason = {200: "OK", 401: "Unauthorized", 500: "Internal Server Error"}.get(status, "Status")
        lines = ["HTTP/1.1 %d %s" % (status, reason), "Server: Microsoft-HTTPAPI/2.0",
                 "Content-Length: %d" % len(body)] + ["%s: %s" % item for item in headers]
        conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)

    def _reply(self, conn, security, status: int, message: bytes) -> None:
        if security is not None and message:
            content_type, payload = _wrap(security, message)
        else:
            content_type, payload = "application/soap+xml;charset=UTF-8", message
        self._send(conn, status, [("Content-Type", content_type)] if payload else [], payload)

    # ---- relaying and faults --------------------------------------------------------------------------

    def _rule_for(self, action: str, resource: str, body: str) -> Rule | None:
        with self._lock:
            for rule in self.rules:
                if rule.times > 0 and rule.matches(action, resource, body):
                    if rule.skip > 0:
                        rule.skip -= 1
                        return None
                    rule.times -= 1
                    return rule
        return None

    def _relay(self, conn, security, plain: bytes) -> bool:
        """Relay one request; False when the client's security context is gone (401 sent)."""
        text = plain.decode("utf-8", "replace")
        action = (_ACTION.search(text) or [None, ""])[1]
        resource = (_RESOURCE.search(text) or [None, ""])[1]
        self.seen.append((action.rsplit("/", 1)[-1], resource))
        rule = self._rule_for(action, resource, text)
        if rule is not None:
            self.faulted.append((rule.fault, action.rsplit("/", 1)[-1], resource))
            if rule.fault == "refuse":
                raise _Closed()
            if rule.fault == "fault":
                self._reply(conn, security, 500, FAULT_REPLY.encode())
                return True
            if rule.fault == "unauthorized":
                self._send(conn, 401, [("WWW-Authenticate", "Negotiate")])
                return False
        status, reply = self._upstream(plain)
        if rule is None:
            self._reply(conn, security, status, reply)
            return True
        if rule.fault == "drop_reply":
            raise _Closed()
        if rule.fault == "delay":
            time.sleep(rule.delay)
            raise _Closed()
        if rule.fault == "http500":
            self._send(conn, 500, [("Content-Type", "text/html")], b"<html><body>Internal error</body></html>")
            return True
        if rule.fault == "malformed":
            self._reply(conn, security, 200, reply[: len(reply) // 2])
            return True
        if rule.fault == "rewrite":
            self._reply(conn, security, status, re.sub(rule.pattern.encode(), rule.replacement.encode(), reply))
            return True
        # half_reply: the headers promise the whole reply, half of it arrives
        content_type, payload = _wrap(security, reply) if security is not None else ("application/soap+xml", reply)
        head = "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n" % (content_type, len(payload))
        conn.sendall(head.encode("latin-1") + payload[: len(payload) // 2])
        raise _Closed()

    def _upstream(self, message: bytes) -> tuple[int, bytes]:
        from pypsrp.exceptions import WinRMTransportError
        from pypsrp.wsman import WSMan

        with self._lock:
            if self._client is None:
                self._client = WSMan(self.upstream[0], port=self.upstream[1], ssl=self.https, auth="ntlm",
                                     username=self.username, password=self.password, cert_validation=False,
                                     no_proxy=True, connection_timeout=10, read_timeout=60, operation_timeout=50)
            transport = self._client.transport
            for attempt in (1, 2):
                try:
                    return 200, transport.send(message)
                except WinRMTransportError as error:
                    return error.code, (error.response_text or "").encode("utf-8")
                except Exception:  # a connection the host closed (its listener was re-created): log on again
                    transport.session = None
                    transport.encryption = None
                    if attempt == 2:  # the host went away: so does the relay
                        raise _Closed() from None
            raise AssertionError("unreachable")


# ---- reading a host back with a plain pypsrp client (not the collection) ---------------------------

CONFIG = "http://schemas.microsoft.com/wbem/wsman/1/config"
STDREGPROV = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/default/StdRegProv"
POLICY_KEYS = (r"SOFTWARE\Policies\Microsoft\Windows\WinRM\Client", r"SOFTWARE\Policies\Microsoft\Windows\WinRM\Service",
               r"SOFTWARE\Policies\Microsoft\Windows\WinRM\Service\WinRS",
               r"SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def plain_client(host_vars: dict, https: bool, port: int | None = None):
    from pypsrp.wsman import WSMan

    ports = host_vars["wsman_winrm_sim_ports"]
    port = port or (ports.get(5986) or ports.get(443) if https else ports.get(5985) or ports.get(80))
    return WSMan(host_vars["ansible_host"], port=port, ssl=https, auth="ntlm", username=host_vars["ansible_user"],
                 password=host_vars["ansible_password"], no_proxy=True, operation_timeout=10, read_timeout=20,
                 cert_validation=host_vars["ansible_winrm_ca_trust_path"] if https else False)


def _invoke(client, method: str, **params) -> dict[str, list]:
    import xml.etree.ElementTree as ET

    body = ET.Element("{%s}%s_INPUT" % (STDREGPROV, method))
    ET.SubElement(body, "{%s}hDefKey" % STDREGPROV).text = "2147483650"
    for name, value in params.items():
        ET.SubElement(body, "{%s}%s" % (STDREGPROV, name)).text = str(value)
    reply = client.invoke(STDREGPROV + "/" + method, STDREGPROV, body)
    values: dict[str, list] = {}
    for element in reply.iter():
        if element.tag.endswith("_OUTPUT"):
            for child in element:
                values.setdefault(_local(child.tag), []).append(child.text)
    return values


def plain_state(host_vars: dict, https: bool = False, port: int | None = None) -> dict:
    """What the host holds, read with plain pypsrp: every leaf of winrm/config (with its Source),
    every listener, and every value under the WinRM policy keys."""
    with plain_client(host_vars, https, port) as client:
        config = client.get(CONFIG)[0]
        leaves = {}

        def walk(element, path):
            children = list(element)
            if not children:
                leaves[path] = ((element.text or "").strip(), element.get("Source") or "")
            for child in children:
                walk(child, path + "/" + _local(child.tag))
        walk(config, "")
        leaves.pop("/Service/MaxConcurrentOperations", None)
        from pypsrp.wsman import WSMan  # noqa: F401  (the client's own enumerate)
        import xml.etree.ElementTree as ET

        request = ET.Element("{http://schemas.xmlsoap.org/ws/2004/09/enumeration}Enumerate")
        ET.SubElement(request, "{http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd}OptimizeEnumeration")
        ET.SubElement(request, "{http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd}MaxElements").text = "100"
        reply = client.enumerate(CONFIG + "/listener", request)
        listeners = []
        for element in reply.iter():
            if _local(element.tag) == "Listener":
                fields = {_local(child.tag): (child.text or "") for child in element if _local(child.tag) != "ListeningOn"}
                listeners.append(tuple(sorted(fields.items())) + (("Source", element.get("Source") or ""),))
        policy = {}
        for key in POLICY_KEYS:
            listing = _invoke(client, "EnumValues", sSubKeyName=key)
            if listing.get("ReturnValue") != ["0"]:
                continue
            for name, kind in zip(listing.get("sNames", []), listing.get("Types", [])):
                if name is None:
                    continue
                if kind == "4":
                    value = _invoke(client, "GetDWORDValue", sSubKeyName=key, sValueName=name)["uValue"][0]
                else:
                    value = _invoke(client, "GetStringValue", sSubKeyName=key, sValueName=name)["sValue"][0]
                policy[key + "\\" + name] = value
        firewall = _firewall_state(client)
    return {"config": leaves, "listeners": sorted(listeners), "policy": policy, "firewall": firewall}


def _firewall_state(client) -> dict:
    """Every firewall rule: (Enabled, Profiles, Action, LocalPort, RemoteAddress) by InstanceID, with
    plain Enumerates of MSFT_NetFirewallRule and its filters."""
    import xml.etree.ElementTree as ET

    cim = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/StandardCimv2/"

    def items(class_name):
        request = ET.Element("{http://schemas.xmlsoap.org/ws/2004/09/enumeration}Enumerate")
        ET.SubElement(request, "{http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd}OptimizeEnumeration")
        ET.SubElement(request, "{http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd}MaxElements").text = "1000"
        reply = client.enumerate(cim + class_name, request)
        found = {}
        for element in reply.iter():
            if _local(element.tag) == class_name:
                values = {}
                for child in element:
                    values.setdefault(_local(child.tag), []).append(child.text or "")
                found[values["InstanceID"][0]] = values
        return found

    rules, ports, addresses = (items(name) for name in (
        "MSFT_NetFirewallRule", "MSFT_NetProtocolPortFilter", "MSFT_NetAddressFilter"))
    return {name: (rule["Enabled"][0], rule["Profiles"][0], rule["Action"][0],
                   tuple(ports.get(name, {}).get("LocalPort", [])), tuple(addresses.get(name, {}).get("RemoteAddress", [])))
            for name, rule in rules.items()}


class ProxiedHost:
    """A simulated host behind two fault proxies (HTTP and HTTPS, each on the host's own address at
    port + 10000), and an inventory naming the proxies as the host's endpoint, as a NAT would."""

    OFFSET = 10000

    def __init__(self, fleet, name: str, tmp_path, https: bool = True, read_timeout: int = 6):
        import os

        import yaml

        self.fleet, self.name = fleet, name
        self.vars = fleet.hosts()[name]
        state_dir = os.path.dirname(os.path.dirname(self.vars["ansible_winrm_ca_trust_path"]))
        os.environ["NTLM_USER_FILE"] = os.path.join(state_dir, "ntlm-users.txt")
        address, ports = self.vars["ansible_host"], self.vars["wsman_winrm_sim_ports"]
        credentials = (self.vars["ansible_user"], self.vars["ansible_password"], os.environ["NTLM_USER_FILE"])
        self.http = FaultProxy((address, 5985 + self.OFFSET), (address, ports.get(5985, 5985)), False, *credentials)
        self.https = FaultProxy((address, 5986 + self.OFFSET), (address, ports.get(5986, 5986)), True, *credentials,
                                certificate=(os.path.join(state_dir, "pki", "hosts", name, "server.pem"),
                                             os.path.join(state_dir, "pki", "host.key")))
        self.serve_https = https
        inventory = fleet.process.inventory
        windows = inventory["all"]["children"]["windows"]
        host_vars = dict(self.vars, ansible_port=5985 + self.OFFSET, ansible_winrm_scheme="http",
                         ansible_winrm_operation_timeout_sec=max(1, read_timeout - 3),
                         ansible_winrm_read_timeout_sec=read_timeout)
        self.inventory_path = str(tmp_path / ("inventory-%s.yml" % name))
        with open(self.inventory_path, "w", encoding="utf-8") as handle:
            yaml.safe_dump({"all": {"children": {"windows": {"vars": windows["vars"],
                                                             "hosts": {name: host_vars}}}}}, handle)

    def __enter__(self) -> "ProxiedHost":
        self.http.start()
        if self.serve_https:
            self.https.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.http.stop()
        self.https.stop()

    def rules(self, http=(), https=()) -> None:
        self.http.rules, self.https.rules = list(http), list(https)
