"""Unit tests of the WS-Man session: URIs, the Enumerate/Pull loop, WMI invoke, error mapping,
and that no error text ever carries a password."""
from __future__ import annotations

import dataclasses
import datetime
import hashlib
import http.server
import socket
import ssl
import threading
import xml.etree.ElementTree as ET

import pytest
import requests
from pypsrp.exceptions import AuthenticationError, WinRMTransportError

from ansible_collections.wsman.winrm.plugins.module_utils import compat, wsman
from ansible_collections.wsman.winrm.plugins.module_utils.endpoint import Endpoint
from ansible_collections.wsman.winrm.plugins.module_utils.wsman import (
    HINTS,
    AuthenticationFailed,
    ConnectionFailed,
    OperationTimedOut,
    Session,
    TimedOut,
    TLSFailed,
    WSManError,
    WSManFault,
    expand_uri,
    scrub,
)

PASSWORD = "S3cr3t-P@ss!word"
PROXY_PASSWORD = "pr0xy-Pa55"

NS_S = "http://www.w3.org/2003/05/soap-envelope"
NS_WSEN = "http://schemas.xmlsoap.org/ws/2004/09/enumeration"
NS_WSMAN = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
LISTENER_NS = "http://schemas.microsoft.com/wbem/wsman/1/config/listener"


def make_endpoint(**overrides) -> Endpoint:
    values = dict(
        scheme="http", host="win01.example.test", port=5985, path="wsman", auth="ntlm",
        username="Administrator", password=PASSWORD, encryption="auto", cert_validation=True,
        cert_fingerprint=None, client_cert_pem=None, client_key_pem=None, proxy=None,
        proxy_username=None, proxy_password=None, connection_timeout=5, read_timeout=30,
        operation_timeout=20, decisions=(),
    )
    values.update(overrides)
    return Endpoint(**values)


# ---------------------------------------------------------------------------------------------
# A stand-in for pypsrp's WSMan client, so the session's logic is tested without a network.
# ---------------------------------------------------------------------------------------------

def body(*children: ET.Element) -> ET.Element:
    element = ET.Element("{%s}Body" % NS_S)
    element.extend(children)
    return element


def listener_item(address: str, transport: str) -> ET.Element:
    item = ET.Element("{%s}Listener" % LISTENER_NS)
    ET.SubElement(item, "{%s}Address" % LISTENER_NS).text = address
    ET.SubElement(item, "{%s}Transport" % LISTENER_NS).text = transport
    return item


def enumerate_response(items, context, end, response="EnumerateResponse", items_ns=NS_WSMAN):
    reply = ET.Element("{%s}%s" % (NS_WSEN, response))
    ET.SubElement(reply, "{%s}EnumerationContext" % NS_WSEN).text = context
    holder = ET.SubElement(reply, "{%s}Items" % items_ns)
    holder.extend(items)
    if end:
        ET.SubElement(reply, "{%s}EndOfSequence" % items_ns)
    return body(reply)


class FakeClient:
    def __init__(self, replies=None, error=None):
        self.calls = []
        self.replies = list(replies or [])
        self.error = error
        self.closed = False

    def _answer(self, name, uri, resource, selector_set):
        self.calls.append((name, uri, resource, selector_set))
        if self.error is not None:
            raise self.error
        return self.replies.pop(0) if self.replies else body()

    def get(self, uri, resource=None, option_set=None, selector_set=None, timeout=None):
        return self._answer("Get", uri, resource, selector_set)

    def put(self, uri, resource=None, option_set=None, selector_set=None, timeout=None):
        return self._answer("Put", uri, resource, selector_set)

    def create(self, uri, resource=None, option_set=None, selector_set=None, timeout=None):
        return self._answer("Create", uri, resource, selector_set)

    def delete(self, uri, resource=None, option_set=None, selector_set=None, timeout=None):
        return self._answer("Delete", uri, resource, selector_set)

    def enumerate(self, uri, resource=None, option_set=None, selector_set=None, timeout=None):
        return self._answer("Enumerate", uri, resource, selector_set)

    def pull(self, uri, resource=None, option_set=None, selector_set=None, timeout=None):
        return self._answer("Pull", uri, resource, selector_set)

    def invoke(self, action, uri, resource, option_set=None, selector_set=None, timeout=None):
        reply = self._answer(action, uri, resource, selector_set)
        envelope = ET.Element("{%s}Envelope" % NS_S)
        envelope.append(reply)
        return envelope

    def close(self):
        self.closed = True


def session_with(client: FakeClient, **endpoint) -> Session:
    session = Session(make_endpoint(**endpoint))
    session._client = client
    return session


# ---------------------------------------------------------------------------------------------
# URIs and operations
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("short, full", [
    ("winrm/config/listener", "http://schemas.microsoft.com/wbem/wsman/1/config/listener"),
    ("winrm/config", "http://schemas.microsoft.com/wbem/wsman/1/config"),
    ("config/service/auth", "http://schemas.microsoft.com/wbem/wsman/1/config/service/auth"),
    ("wmi/root/default/StdRegProv", "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/default/StdRegProv"),
    ("wmicimv2/Win32_Service", "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/Win32_Service"),
    ("http://schemas.microsoft.com/wbem/wsman/1/config", "http://schemas.microsoft.com/wbem/wsman/1/config"),
])
def test_expand_uri(short, full):
    assert expand_uri(short) == full


def test_get_returns_the_resource_and_sends_selectors():
    listener = listener_item("*", "HTTP")
    client = FakeClient([body(listener)])
    session = session_with(client)
    result = session.get("winrm/config/listener", {"Address": "*", "Transport": "HTTP"})
    assert result is listener
    name, uri, _resource, selector_set = client.calls[0]
    assert (name, uri) == ("Get", "http://schemas.microsoft.com/wbem/wsman/1/config/listener")
    assert selector_set.values == [("Address", "*", {}), ("Transport", "HTTP", {})]


def test_put_create_delete():
    created = ET.Element("{http://schemas.xmlsoap.org/ws/2004/09/transfer}ResourceCreated")
    client = FakeClient([body(listener_item("*", "HTTPS")), body(created), body()])
    session = session_with(client)
    document = ET.Element("{%s}Listener" % LISTENER_NS)
    assert session.put("winrm/config/listener", document, {"Address": "*", "Transport": "HTTPS"}).tag.endswith("Listener")
    assert session.create("winrm/config/listener", document, {"Address": "*", "Transport": "HTTPS"}) is created
    assert session.delete("winrm/config/listener", {"Address": "*", "Transport": "HTTPS"}) is None
    assert [c[0] for c in client.calls] == ["Put", "Create", "Delete"]


def test_enumerate_sends_optimized_body_and_pulls_until_end():
    client = FakeClient([
        enumerate_response([listener_item("*", "HTTP")], "uuid:ctx-1", end=False),
        enumerate_response([listener_item("*", "HTTPS")], "uuid:ctx-2", end=False,
                           response="PullResponse", items_ns=NS_WSEN),
        enumerate_response([listener_item("IP:10.0.0.1", "HTTP")], "", end=True,
                           response="PullResponse", items_ns=NS_WSEN),
    ])
    session = session_with(client)
    items = session.enumerate("winrm/config/listener", max_elements=1)
    assert [i.find("{%s}Transport" % LISTENER_NS).text for i in items] == ["HTTP", "HTTPS", "HTTP"]
    assert [c[0] for c in client.calls] == ["Enumerate", "Pull", "Pull"]

    request = client.calls[0][2]
    assert request.tag == "{%s}Enumerate" % NS_WSEN
    assert [child.tag for child in request] == ["{%s}OptimizeEnumeration" % NS_WSMAN, "{%s}MaxElements" % NS_WSMAN]
    assert request.find("{%s}MaxElements" % NS_WSMAN).text == "1"
    pull = client.calls[1][2]
    assert pull.find("{%s}EnumerationContext" % NS_WSEN).text == "uuid:ctx-1"
    assert client.calls[2][2].find("{%s}EnumerationContext" % NS_WSEN).text == "uuid:ctx-2"


def test_enumerate_all_in_first_reply_sends_no_pull():
    client = FakeClient([enumerate_response([listener_item("*", "HTTP"), listener_item("*", "HTTPS")], "", True)])
    assert len(session_with(client).enumerate("winrm/config/listener")) == 2
    assert [c[0] for c in client.calls] == ["Enumerate"]


def test_enumerate_loop_is_bounded(monkeypatch):
    monkeypatch.setattr(wsman, "MAX_PULLS", 3)
    replies = [enumerate_response([], "uuid:again", end=False)] + [
        enumerate_response([], "uuid:again", end=False, response="PullResponse") for _index in range(5)]
    with pytest.raises(WSManError, match="did not end after 3 pulls"):
        session_with(FakeClient(replies)).enumerate("winrm/config/listener")


def test_invoke_uses_method_action_and_returns_output():
    uri = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/default/StdRegProv"
    output = ET.Element("{%s}GetDWORDValue_OUTPUT" % uri)
    ET.SubElement(output, "{%s}uValue" % uri).text = "1"
    ET.SubElement(output, "{%s}ReturnValue" % uri).text = "0"
    client = FakeClient([body(output)])
    session = session_with(client)
    params = wsman.method_input("wmi/root/default/StdRegProv", "GetDWORDValue",
                                {"hDefKey": 2147483650, "sSubKeyName": "SOFTWARE\\X", "sValueName": "Y"})
    result = session.invoke("wmi/root/default/StdRegProv", "GetDWORDValue", params)
    assert client.calls[0][0] == uri + "/GetDWORDValue"
    assert [c.tag.rsplit("}", 1)[1] for c in params] == ["hDefKey", "sSubKeyName", "sValueName"]
    assert params.tag == "{%s}GetDWORDValue_INPUT" % uri
    assert wsman.output_values(result) == {"uValue": "1", "ReturnValue": "0"}


def test_output_array_holds_what_output_values_holds():
    uri = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/default/StdRegProv"
    output = ET.Element("{%s}GetBinaryValue_OUTPUT" % uri)
    for text in ("48", "130", None, "7"):
        item = ET.SubElement(output, "{%s}uValue" % uri)
        if text is None:
            item.set("{http://www.w3.org/2001/XMLSchema-instance}nil", "true")
        else:
            item.text = text
    ET.SubElement(output, "{%s}ReturnValue" % uri).text = "0"
    ET.SubElement(output, "{%s}uValueCount" % uri).text = "4"  # a name that only ends like it
    values = wsman.output_values(output)
    assert wsman.output_array(output, "uValue") == values["uValue"] == ["48", "130", None, "7"]
    assert wsman.output_array(output, "ReturnValue") == [values["ReturnValue"]] == ["0"]
    assert wsman.output_array(output, "sNames") == []
    # Parameters in another namespace than their output element are still found by local name.
    other = ET.Element("{%s}GetBinaryValue_OUTPUT" % uri)
    ET.SubElement(other, "{urn:other}uValue").text = "9"
    assert wsman.output_array(other, "uValue") == [wsman.output_values(other)["uValue"]] == ["9"]


def test_close_closes_the_client_and_reopens_lazily():
    client = FakeClient()
    session = session_with(client)
    session.close()
    assert client.closed and session._client is None


# ---------------------------------------------------------------------------------------------
# Faults, as Windows sends them (reference/10_real_cli_outputs.md sections 6-8)
# ---------------------------------------------------------------------------------------------

def soap_fault(code: int, message: str, provider: bool = True, subcode: str = "w:InternalError") -> str:
    inner = ('<f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" Code="%d" '
             'Machine="WIN01"><f:Message>%s</f:Message></f:WSManFault>' % (code, message))
    if provider:
        detail = ('<f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" Code="%d" '
                  'Machine="win01.example.test"><f:Message><f:ProviderFault provider="Config provider" '
                  'path="%%systemroot%%\\system32\\WsmSvc.dll">%s</f:ProviderFault></f:Message></f:WSManFault>'
                  % (code, inner))
    else:
        detail = inner
    return (
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
        'xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"><s:Header/><s:Body><s:Fault>'
        '<s:Code><s:Value>s:Sender</s:Value><s:Subcode><s:Value>%s</s:Value></s:Subcode></s:Code>'
        '<s:Reason><s:Text xml:lang="en-US">%s</s:Text></s:Reason><s:Detail>%s</s:Detail></s:Fault></s:Body>'
        '</s:Envelope>' % (subcode, message, detail)
    )


def fault_error(code, message, **kwargs):
    """The error pypsrp raises, through the session's client subclass (which keeps the XML)."""
    return compat.WSManClient._parse_wsman_fault(soap_fault(code, message, **kwargs))


GPO_TEXT = ('The config setting TrustedHosts cannot be changed because is controlled by policies. The policy '
            'would need to be set to "Not Configured" in order to change the config setting. ')


@pytest.mark.parametrize("code, message, hint_part", [
    (5, "Access is denied. ", "LocalAccountTokenFilterPolicy=1"),
    (2150858890, GPO_TEXT, "policy_controlled: skip"),
    (2150858752, "The WS-Management service cannot process the request. The service cannot find the resource "
                 "identified by the resource URI and selectors. ", "not found"),
    (2150858803, "The WS-Management service cannot create the resource because it already exists. ", "already exists"),
    (2150858817, "The SOAP XML in the message does not match the corresponding XML schema definition. "
                 "Change the XML and retry. ", "schema"),
    (2150859071, "The WinRM client cannot process the request because it is trying to update a read-only "
                 "setting. Remove this setting from the command and try again. ", "read-only"),
    (2150859192, "The WinRM service cannot process the request. The Channel Binding Token Hardening Level "
                 "(CbtHardeningLevel) value is invalid. ", "CBT"),
    (2150858987, "The WinRM client cannot process the request. When HTTP is the transport, the Certificate "
                 "thumbprint must be blank. ", "HTTP listener takes no certificate"),
    (2150859029, "Cannot create a WinRM listener on HTTPS because this machine does not have an appropriate "
                 "certificate. ", "certificate"),
    (2150859090, "The WS-Management operations to update the certificate mapping store of the WINRM service "
                 "config can only be done remotely. ", "remote session"),
    (2150859106, "WinRM cannot make the configuration change because the Issuer used for the certificate "
                 "mapping operation is not valid. ", "Root or Intermediate"),
])
def test_faults_map_to_code_windows_text_and_hint(code, message, hint_part):
    session = session_with(FakeClient(error=fault_error(code, message)))
    with pytest.raises(WSManFault) as info:
        session.put("winrm/config/client", ET.Element("Client"))
    error = info.value
    assert error.code == code
    assert error.message == message.strip()  # the innermost provider message, stripped
    assert hint_part in error.hint
    assert error.hint == HINTS[code]
    assert error.provider == "Config provider"
    assert error.machine == "win01.example.test"
    assert error.subcode == "w:InternalError"
    assert error.operation == "Put http://schemas.microsoft.com/wbem/wsman/1/config/client"
    assert str(error).startswith(message.strip().rstrip("."))
    assert "(code %d)" % code in str(error) and str(error).endswith(HINTS[code])


def test_fault_without_provider_and_access_denied_shape():
    error = fault_error(5, "Access is denied. ", provider=False, subcode="w:AccessDenied")
    with pytest.raises(WSManFault) as info:
        session_with(FakeClient(error=error)).get("winrm/config")
    assert str(info.value) == "Access is denied (code 5). " + HINTS[5]
    assert info.value.subcode == "w:AccessDenied"


def test_operation_timeout_fault_is_also_a_timeout():
    error = fault_error(2150858793, "The WS-Management service cannot complete the operation within the time "
                                    "specified in OperationTimeout. ", provider=False, subcode="w:TimedOut")
    with pytest.raises(OperationTimedOut) as info:
        session_with(FakeClient(error=error)).get("winrm/config")
    assert isinstance(info.value, TimedOut) and isinstance(info.value, WSManFault)


def test_unknown_fault_code_keeps_windows_text():
    with pytest.raises(WSManFault) as info:
        session_with(FakeClient(error=fault_error(2150858999, "Something new. "))).get("winrm/config")
    assert info.value.code == 2150858999 and info.value.hint == ""
    assert str(info.value) == "Something new (code 2150858999)"


def test_parse_fault_signed_code_and_reason_fallback():
    xml = soap_fault(5, "x", provider=False).replace('Code="5"', 'Code="-2144108406"').replace(
        "<f:Message>x</f:Message>", "<f:Message></f:Message>")
    info = wsman.parse_fault(xml)
    assert info["code"] == 2150858890
    assert info["message"] == "x"  # from s:Reason


# ---------------------------------------------------------------------------------------------
# Transport errors
# ---------------------------------------------------------------------------------------------

def test_401_names_user_and_auth_never_the_password():
    error = AuthenticationError("Failed to authenticate the user Administrator with ntlm")
    with pytest.raises(AuthenticationFailed) as info:
        session_with(FakeClient(error=error)).get("winrm/config")
    text = str(info.value)
    assert "Administrator" in text and "ntlm" in text and "http://win01.example.test:5985/wsman" in text
    assert "'ntlm' method is enabled on the service" in text
    assert PASSWORD not in text


def test_401_basic_over_http_mentions_allow_unencrypted():
    error = AuthenticationError("Failed to authenticate the user Administrator with basic")
    with pytest.raises(AuthenticationFailed) as info:
        session_with(FakeClient(error=error), auth="basic", encryption="never").get("winrm/config")
    assert "AllowUnencrypted" in info.value.hint


@pytest.mark.parametrize("port, legacy", [(5985, 80), (5986, 443)])
def test_refused_on_default_ports_suggests_winrm_11_ports(port, legacy):
    error = requests.exceptions.ConnectionError(
        "HTTPConnectionPool(host='win01', port=%d): Max retries exceeded (Caused by NewConnectionError("
        "'<urllib3.connection.HTTPConnection object>: Failed to establish a new connection: [Errno 111] "
        "Connection refused'))" % port)
    scheme = "http" if port == 5985 else "https"
    with pytest.raises(ConnectionFailed) as info:
        session_with(FakeClient(error=error), port=port, scheme=scheme).get("winrm/config")
    assert "%s://win01.example.test:%d/wsman" % (scheme, port) in info.value.message
    assert "port %d" % legacy in info.value.hint and "never falls back" in info.value.hint


def test_refused_on_other_port_has_no_legacy_hint():
    error = requests.exceptions.ConnectionError("[Errno 111] Connection refused")
    with pytest.raises(ConnectionFailed) as info:
        session_with(FakeClient(error=error), port=8080).get("winrm/config")
    assert "WinRM 1.1" not in info.value.hint


def test_dns_failure():
    error = requests.exceptions.ConnectionError("Failed to resolve: [Errno -2] Name or service not known")
    with pytest.raises(ConnectionFailed, match="does not resolve"):
        session_with(FakeClient(error=error)).get("winrm/config")


def test_tls_errors():
    error = requests.exceptions.SSLError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")
    with pytest.raises(TLSFailed) as info:
        session_with(FakeClient(error=error), scheme="https", port=5986).get("winrm/config")
    assert "CA bundle" in info.value.hint
    error = requests.exceptions.SSLError("Fingerprints did not match. Expected 'ab', got 'cd'")
    with pytest.raises(TLSFailed) as info:
        session_with(FakeClient(error=error), scheme="https", port=5986).get("winrm/config")
    assert info.value.hint == HINTS["tls_fingerprint"]


@pytest.mark.parametrize("error", [requests.exceptions.ReadTimeout("read timed out"),
                                   requests.exceptions.ConnectTimeout("connect timed out")])
def test_timeouts(error):
    with pytest.raises(TimedOut):
        session_with(FakeClient(error=error)).get("winrm/config")


def test_http_status_without_fault():
    with pytest.raises(WSManError, match="answered HTTP 404"):
        session_with(FakeClient(error=WinRMTransportError("http", 404, ""))).get("winrm/config")


# ---------------------------------------------------------------------------------------------
# Secrets
# ---------------------------------------------------------------------------------------------

LEAKY_ERRORS = [
    requests.exceptions.ProxyError("Cannot connect to proxy http://proxyuser:%s@proxy:3128 (auth %s)"
                                   % (PROXY_PASSWORD, PROXY_PASSWORD)),
    requests.exceptions.ConnectionError("refused for Administrator:%s" % PASSWORD),
    ValueError("bad password=%s given" % PASSWORD),
    AuthenticationError("user Administrator password %s rejected" % PASSWORD),
    RuntimeError("unexpected: %s and %s" % (PASSWORD, PROXY_PASSWORD)),
    requests.exceptions.SSLError("handshake with %s" % PASSWORD),
    fault_error(5, "Access is denied for %s. " % PASSWORD),
]


@pytest.mark.parametrize("error", LEAKY_ERRORS, ids=lambda e: type(e).__name__)
def test_no_exception_text_contains_a_password(error):
    session = session_with(FakeClient(error=error), proxy="http://proxy:3128", proxy_username="proxyuser",
                           proxy_password=PROXY_PASSWORD)
    with pytest.raises(WSManError) as info:
        session.get("winrm/config")
    exc = info.value
    texts = [str(exc), repr(exc), exc.message, exc.hint, repr(exc.args), repr(exc.to_dict())]
    for text in texts:
        assert PASSWORD not in text and PROXY_PASSWORD not in text
    assert exc.__cause__ is None and exc.__context__ is None  # no chained original with the secret


def test_scrub_patterns():
    assert scrub("http://u:p%40ss@host/", ()) == "http://u:********@host/"
    assert scrub("password=hunter2;", ()) == "password=********;"
    assert scrub("x %s y" % "a b", ["a b"]) == "x ******** y"


def test_scrub_removes_a_secret_only_where_it_stands_as_a_token():
    # a one-letter password must not turn every "p" into asterisks (and so spell itself out)
    text = "Access is denied for the operator (p). Put http://schemas.microsoft.com/wbem/wsman/1/config/p failed"
    assert scrub(text, ["p"]) == ("Access is denied for the operator (********). Put "
                                  "http://schemas.microsoft.com/wbem/wsman/1/config/******** failed")
    assert scrub("operator", ["p"]) == "operator"
    assert scrub("pw=Pa55!; 'Pa55!'", ["Pa55!"]) == "pw=********; '********'"
    assert scrub("user Pa%2055 quoted", ["Pa 55"]) == "user ******** quoted"


def test_messages_are_cut_after_scrubbing():
    secret = "S3cr3t" * 5
    # the secret straddles the cut: scrubbed first, so no prefix of it survives the cut
    error = WSManError("x" * (wsman.MAX_MESSAGE_CHARS - 10) + " " + secret + " tail", secrets=[secret])
    assert "S3cr" not in error.message and "more characters cut" in error.message
    error = WSManError(("a" * 5000) + " " + secret, secrets=[secret])
    assert "more characters cut" in error.message and secret not in str(error)
    assert len(error.message) < wsman.MAX_MESSAGE_CHARS + 50


def test_session_and_endpoint_reprs_hide_secrets():
    session = Session(make_endpoint(proxy="http://proxy:3128", proxy_username="u", proxy_password=PROXY_PASSWORD))
    assert PASSWORD not in repr(session) and PROXY_PASSWORD not in repr(session)
    assert PASSWORD not in repr(vars(session))  # only the endpoint, whose repr hides secrets


# ---------------------------------------------------------------------------------------------
# The real pypsrp client, built without a network
# ---------------------------------------------------------------------------------------------

def test_open_builds_pypsrp_client_from_endpoint():
    session = Session(make_endpoint(read_timeout=10, operation_timeout=20))
    client = session._open()
    transport = client.transport
    assert transport.endpoint == "http://win01.example.test:5985/wsman"
    assert transport.auth == "ntlm" and transport.ssl is False and transport.encryption is None
    assert transport.read_timeout == 25  # always longer than OperationTimeout
    assert transport.session.proxies == {"http": False}  # environment proxies ignored
    assert client.operation_timeout == 20


def test_open_with_proxy_credentials_composes_url_inside_the_call():
    session = Session(make_endpoint(scheme="https", port=5986, proxy="http://proxy:3128",
                                    proxy_username="dom\\user", proxy_password=PROXY_PASSWORD))
    client = session._open()
    proxy_url = client.transport.session.proxies["https"]
    assert proxy_url.startswith("http://dom%5Cuser:") and proxy_url.endswith("@proxy:3128")
    assert PROXY_PASSWORD not in repr(session) and not any(
        PROXY_PASSWORD in str(v) for v in vars(session).values())


def test_open_certificate_auth_passes_client_cert():
    session = Session(make_endpoint(scheme="https", port=5986, auth="certificate", username=None, password=None,
                                    client_cert_pem="/tmp/c.pem", client_key_pem="/tmp/k.pem"))
    client = session._open()
    assert client.transport.session.cert == ("/tmp/c.pem", "/tmp/k.pem")


def test_invalid_settings_become_wsman_error():
    session = Session(make_endpoint(auth="basic", encryption="always"))
    with pytest.raises(WSManError, match="invalid connection settings") as info:
        session.get("winrm/config")
    assert info.value.outcome_unknown is False  # found before anything was sent


def test_refused_for_real():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    session = Session(make_endpoint(host="127.0.0.1", port=port, connection_timeout=3))
    with pytest.raises(ConnectionFailed, match="connection refused"):
        session.get("winrm/config")


# ---------------------------------------------------------------------------------------------
# Certificate pinning against a real TLS server (answers 401 to everything)
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .sign(key, hashes.SHA256()))
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="WSMAN"')
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert_path), str(key_path))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fingerprint = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()
    yield server.server_address[1], fingerprint, str(cert_path)
    server.shutdown()


def https_session(port, **overrides):
    values = dict(scheme="https", host="localhost", port=port, auth="basic", encryption="auto",
                  cert_validation=False, connection_timeout=5)
    values.update(overrides)
    return Session(make_endpoint(**values))


def test_pinned_fingerprint_matches(tls_server):
    port, fingerprint, _ca_path = tls_server
    with pytest.raises(AuthenticationFailed):  # TLS passed; the server then refuses the credentials
        https_session(port, cert_fingerprint=fingerprint).get("winrm/config")


def test_pinned_fingerprint_mismatch_is_tls_failure(tls_server):
    port, _fingerprint, _ca_path = tls_server
    with pytest.raises(TLSFailed) as info:
        https_session(port, cert_fingerprint="00" * 32).get("winrm/config")
    assert info.value.hint == HINTS["tls_fingerprint"]
    assert PASSWORD not in str(info.value)


def test_unknown_ca_is_tls_failure_and_ca_path_fixes_it(tls_server):
    port, _fingerprint, ca_path = tls_server
    with pytest.raises(TLSFailed) as info:
        https_session(port, cert_validation=True).get("winrm/config")
    assert info.value.hint == HINTS["tls"]
    with pytest.raises(AuthenticationFailed):
        https_session(port, cert_validation=ca_path).get("winrm/config")


def test_endpoint_fields_are_all_consumed():
    """Guards against the contract growing a field the session silently ignores."""
    consumed = {"scheme", "host", "port", "path", "auth", "username", "password", "encryption", "cert_validation",
                "cert_fingerprint", "client_cert_pem", "client_key_pem", "proxy", "proxy_username",
                "proxy_password", "connection_timeout", "read_timeout", "operation_timeout", "decisions"}
    assert {f.name for f in dataclasses.fields(Endpoint)} == consumed


# ---------------------------------------------------------------------------------------------
# outcome_unknown: may the request have been applied although no trustworthy reply came back?
# ---------------------------------------------------------------------------------------------

def _dropped_mid_reply():
    from http.client import RemoteDisconnected
    from urllib3.exceptions import ProtocolError
    cause = ProtocolError("Connection aborted.", RemoteDisconnected("Remote end closed connection without response"))
    return requests.exceptions.ConnectionError(cause)


@pytest.mark.parametrize("error, unknown", [
    pytest.param(requests.exceptions.ConnectionError("[Errno 111] Connection refused"), False, id="refused"),
    pytest.param(requests.exceptions.ConnectionError("Name or service not known"), False, id="dns"),
    pytest.param(requests.exceptions.ConnectTimeout("connect timed out"), False, id="connect-timeout"),
    pytest.param(requests.exceptions.SSLError("[SSL: CERTIFICATE_VERIFY_FAILED]"), False, id="tls"),
    pytest.param(AuthenticationError("Failed to authenticate"), False, id="401"),
    pytest.param(fault_error(5, "Access is denied. "), False, id="soap-fault"),
    pytest.param(WinRMTransportError("http", 404, ""), False, id="http-404"),
    pytest.param(requests.exceptions.ReadTimeout("read timed out"), True, id="read-timeout"),
    pytest.param(_dropped_mid_reply(), True, id="dropped-mid-reply"),
    pytest.param(requests.exceptions.ChunkedEncodingError("Connection broken: IncompleteRead"), True, id="chunked"),
    pytest.param(WinRMTransportError("http", 500, "<html>oops</html>"), True, id="http-500-not-a-fault"),
    pytest.param(ET.ParseError("no element found: line 1, column 40"), True, id="truncated-xml"),
    pytest.param(RuntimeError("something unexpected"), True, id="unknown"),
])
def test_outcome_unknown(error, unknown):
    with pytest.raises(WSManError) as info:
        session_with(FakeClient(error=error)).put("winrm/config/client", ET.Element("Client"))
    assert info.value.outcome_unknown is unknown
    assert info.value.to_dict()["outcome_unknown"] is unknown
