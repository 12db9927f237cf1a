"""Every private internal of another library the collection relies on, pinned to the supported
versions: when an upgrade changes one of them, this test (and module_utils/compat.py or
plugin_utils/builtin_winrm.py) is what breaks, not the collection at a user's site.

Each test names the use it guards; the behaviour is checked, not only that a name exists.
"""
from __future__ import annotations

import inspect
import io
import xml.etree.ElementTree as ET
from importlib.metadata import version

import pytest
import requests
from ansible.playbook.play_context import PlayContext
from ansible.plugins.loader import connection_loader
from packaging.specifiers import SpecifierSet


from ansible_collections.wsman.winrm.plugins.module_utils import compat  # noqa: E402
from ansible_collections.wsman.winrm.plugins.plugin_utils import builtin_winrm  # noqa: E402

FAULT = ('<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
         'xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault"><s:Body><s:Fault><s:Code><s:Value>s:Sender'
         '</s:Value></s:Code><s:Reason><s:Text>x</s:Text></s:Reason><s:Detail><f:WSManFault Code="5" Machine="m">'
         '<f:Message>Access is denied.</f:Message></f:WSManFault></s:Detail></s:Fault></s:Body></s:Envelope>')


@pytest.mark.parametrize("package, distribution", [("pypsrp", "pypsrp"), ("pywinrm", "pywinrm"),
                                                   ("requests", "requests"), ("urllib3", "urllib3")])
def test_installed_versions_are_the_supported_ones(package, distribution):
    assert version(distribution) in SpecifierSet(compat.SUPPORTED[package]), (
        "%s %s is outside %s: re-check plugins/module_utils/compat.py and this test, then widen the range"
        % (distribution, version(distribution), compat.SUPPORTED[package]))


def test_ansible_core_is_a_supported_one():
    assert version("ansible-core") in SpecifierSet(builtin_winrm.SUPPORTED_ANSIBLE_CORE)


# -- pypsrp ---------------------------------------------------------------------------------------

def test_pypsrp_parse_wsman_fault_is_overridable_and_keeps_the_xml():
    error = compat.WSManClient._parse_wsman_fault(FAULT)
    assert error.code == 5 and error.machine == "m" and error.fault_xml == FAULT


def test_pypsrp_transport_class_swap_and_session_build():
    client = compat.WSManClient("win1.example.test", port=5985, ssl=False, auth="ntlm", username="u", password="p",
                                no_proxy=True, encryption="always")
    assert client.transport.__class__ is compat._HardenedTransport  # noqa: SLF001
    assert isinstance(client.transport, compat._TransportHTTP)  # noqa: SLF001
    session = compat.open_wsman_session(client, deadline=5)
    assert client.transport.session is session and isinstance(session, requests.Session)
    assert session.trust_env is False and session.proxies == {"http": False}
    # the private hook the hardened transport overrides, with the arguments pypsrp passes
    assert list(inspect.signature(compat._TransportHTTP._send_request).parameters) == [  # noqa: SLF001
        "self", "request", "timeout"]


class _Sent(Exception):
    pass


def _envelope(invoke, client, *args, **kwargs):
    """The envelope ``invoke`` hands to the transport (the exchange itself stopped there)."""
    def send(message, **_kwargs):
        raise _Sent(message)

    client.transport.send = send
    with pytest.raises(_Sent) as sent:
        invoke(client, *args, **kwargs)
    root = ET.fromstring(sent.value.args[0])
    for element in root.iter():
        if element.tag.endswith("}MessageID"):
            element.text = "uuid:0"
    return root


def _shape(element):
    return (element.tag, element.attrib, (element.text or "").strip(), [_shape(child) for child in element])


@pytest.mark.parametrize("with_sets", [False, True])
def test_pypsrp_invoke_envelope_is_the_one_written_as_text(with_sets):
    from pypsrp.wsman import WSMan, OptionSet, SelectorSet

    client = compat.WSManClient("win1.example.test", port=5985, ssl=False, auth="ntlm", username="u", password="p",
                                no_proxy=True, encryption="always")
    options = selectors = None
    if with_sets:
        options, selectors = OptionSet(), SelectorSet()
        options.add_option("WSMAN_CMDSHELL_OPTION_KEEPALIVE", "TRUE", {"MustComply": "true"})
        selectors.add_option("Address", "*")
        selectors.add_option("Transport", "HTTP & <more>")
    body = ET.Element("{http://schemas.microsoft.com/wbem/wsman/1/wmi/root/default/StdRegProv}EnumKey_INPUT")
    ET.SubElement(body, "{http://schemas.microsoft.com/wbem/wsman/1/wmi/root/default/StdRegProv}sSubKeyName").text = \
        "SOFTWARE\\Policies & <x>"
    arguments = ("http://schemas.xmlsoap.org/ws/2004/09/transfer/Get?a=1&b=2",
                 "http://schemas.microsoft.com/wbem/wsman/1/config/listener", body, options, selectors, 30)
    ours = _envelope(compat.WSManClient.invoke, client, *arguments)
    assert _shape(ours) == _shape(_envelope(WSMan.invoke, client, *arguments))
    assert list(inspect.signature(compat.WSManClient.invoke).parameters) == list(
        inspect.signature(WSMan.invoke).parameters)


def _pypsrp_message(session, body, encrypted=True):
    """A request as pypsrp's transport builds one (its session's headers, the content headers)."""
    headers = session.headers.copy()
    if body is None:
        return requests.Request("POST", "http://win1.example.test:5985/wsman", data=None)
    if encrypted:
        headers.update({"Content-Type": 'multipart/encrypted;protocol="application/HTTP-SPNEGO-session-encrypted";'
                                        'boundary="Encrypted Boundary"', "Content-Length": str(len(body))})
    else:
        headers["Content-Type"] = "application/soap+xml;charset=UTF-8"
    return requests.Request("POST", "http://win1.example.test:5985/wsman", data=body, headers=headers)


def _as_sent(prepared):
    return prepared.method, prepared.url, dict(prepared.headers), prepared.body, prepared.hooks


@pytest.mark.parametrize("auth, encrypted", [("ntlm", True), ("basic", False), ("kerberos", True)])
def test_a_copied_prepared_request_is_what_requests_prepares(auth, encrypted):
    client = compat.WSManClient("win1.example.test", port=5985, ssl=False, auth=auth, username="u", password="p",
                                no_proxy=True, encryption="always" if encrypted else "never")
    session = compat.open_wsman_session(client, deadline=5)
    requests_own = requests.Session.prepare_request
    sent = []
    for body in (None, None, b"<first/>", b"<second, longer/>", b"<third/>"):
        message = _pypsrp_message(session, body, encrypted)
        sent.append(session.prepare_request(message))
        assert _as_sent(sent[-1]) == _as_sent(requests_own(session, message))
    # The later messages of a shape are copies of the first (they share its hooks), not prepared again.
    assert sent[1].hooks is sent[0].hooks and sent[3].hooks is sent[2].hooks is sent[4].hooks
    assert session.prepare_request(_pypsrp_message(session, b"<x/>", encrypted)).headers["Content-Length"] == "4"


def test_a_session_with_cookies_or_digest_is_prepared_by_requests_each_time():
    client = compat.WSManClient("win1.example.test", port=5985, ssl=False, auth="ntlm", username="u", password="p",
                                no_proxy=True, encryption="always")
    session = compat.open_wsman_session(client, deadline=5)
    session.prepare_request(_pypsrp_message(session, b"<first/>"))
    session.cookies.set("affinity", "node-2", domain="win1.example.test", path="/")
    prepared = session.prepare_request(_pypsrp_message(session, b"<second/>"))
    assert prepared.headers["Cookie"] == "affinity=node-2"
    session.cookies.clear()
    session.auth = requests.auth.HTTPDigestAuth("u", "p")
    prepared = session.prepare_request(_pypsrp_message(session, b"<third/>"))
    assert prepared.hooks["response"] and prepared.body == b"<third/>"


def test_the_first_exchange_head_start_uses_rc4_and_pypsrps_framing_as_they_are():
    # warm_first_exchange swallows any error (it is only a head start), so the calls it makes are
    # pinned here: cryptography's RC4, pypsrp's auth object and its multipart framing round trip.
    assert compat.first_exchange_costs() == b"<s:Envelope/>"
    compat.warm_first_exchange()


def test_pypsrp_reads_the_environment_ca_bundle_which_the_session_undoes(monkeypatch, tmp_path):
    bundle = tmp_path / "env-ca.pem"
    bundle.write_text("")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    client = compat.WSManClient("win1", port=5986, ssl=True, auth="ntlm", username="u", password="p",
                                no_proxy=True, cert_validation=True)
    raw = client.transport._build_session()  # noqa: SLF001  # what pypsrp does on its own
    assert raw.verify == str(bundle)
    assert compat.open_wsman_session(client, deadline=5).verify is True


# -- requests and urllib3 ------------------------------------------------------------------------------

def test_requests_adapter_pin_hook():
    adapter = requests.adapters.HTTPAdapter()
    parameters = list(inspect.signature(adapter.build_connection_pool_key_attributes).parameters)
    assert parameters == ["request", "verify", "cert"]
    session = requests.Session()
    compat.pin_fingerprint(session, "AB" * 32)
    prepared = requests.Request("POST", "https://win1:5986/wsman").prepare()
    _host, pool_kwargs = session.get_adapter("https://").build_connection_pool_key_attributes(prepared, True)
    assert pool_kwargs["assert_fingerprint"] == "ab" * 32


def test_urllib3_pool_and_connection_hooks():
    session = requests.Session()
    compat.harden_session(session, deadline=5)
    manager = session.get_adapter("http://").poolmanager
    pool = manager.connection_from_host("127.0.0.1", 9, scheme="http")
    connection = pool._new_conn()  # noqa: SLF001
    assert hasattr(connection, "sock") and callable(connection.request) and callable(connection.connect)
    assert connection.request.__name__ == "wrapper"  # our watch wraps the connection


def _response(body: bytes) -> requests.Response:
    response = requests.Response()
    response.raw = io.BytesIO(body)
    return response


def test_requests_response_body_cache():
    response = _response(b"<s:Envelope/>")
    compat._read_body(response, limit=100)  # noqa: SLF001
    assert response.content == b"<s:Envelope/>"
    response = _response(b"x" * 101)
    with pytest.raises(compat.ReplyTooLarge):
        compat._read_body(response, limit=100)  # noqa: SLF001


# -- pywinrm ------------------------------------------------------------------------------------------

def test_pywinrm_transport_class_swap_and_hooks():
    from winrm.protocol import Protocol
    from winrm.transport import Transport

    class Mine(Transport):
        pass

    protocol = Protocol("https://win1:5986/wsman", transport="ntlm", username="u", password="p",
                        proxy=None, ca_trust_path=None)
    assert compat.use_transport_class(protocol, Mine).__class__ is Mine
    for hook in ("build_session", "setup_encryption", "_get_message_response_text"):
        assert callable(getattr(Transport, hook)), hook
    assert list(inspect.signature(Transport._get_message_response_text).parameters) == ["self", "response"]


# -- ansible-core ---------------------------------------------------------------------------------------

class _Settings(builtin_winrm.BuiltinWinRMAdapter):
    opened: list = []

    def winrm_settings(self):
        return builtin_winrm.WinRMSettings(host="win1", port=5985, scheme="http", path="/wsman", user="u",
                                           password="p", transport="ntlm", kerberos_managed=False,
                                           kinit_command="kinit", protocol_kwargs={"message_encryption": "always"})

    def open_protocol(self, settings):
        self.opened.append(settings)
        return "PROTOCOL"


def test_ansible_builtin_winrm_calls_the_adapters_hooks_in_order():
    conn = _Settings(PlayContext(), None)
    conn._load_name = "winrm"  # noqa: SLF001  # what the plugin loader sets
    conn.set_options(var_options={"_extras": {}})
    conn._connect()  # noqa: SLF001
    assert conn.protocol == "PROTOCOL" and len(_Settings.opened) == 1
    # the builtin's attributes its execution code reads, filled from the settings
    assert (conn._winrm_host, conn._winrm_port, conn._winrm_scheme, conn._winrm_path) == (  # noqa: SLF001
        "win1", 5985, "http", "/wsman")
    assert conn._winrm_transport == ["ntlm"] and conn._winrm_kwargs == {"message_encryption": "always"}  # noqa: SLF001
    for private in ("_kerb_auth", "_winrm_exec", "_build_winrm_kwargs", "_winrm_connect"):
        assert callable(getattr(builtin_winrm.BuiltinWinRMConnection, private)), private


def test_ansible_config_reports_each_options_origin():
    from ansible import constants as C

    load_name = connection_loader.get("winrm", class_only=True)._load_name  # noqa: SLF001
    assert C.config.get_config_value_and_origin("port", plugin_type="connection", plugin_name=load_name,
                                                variables={}) == (5986, "default")
    assert C.config.get_config_value_and_origin("port", plugin_type="connection", plugin_name=load_name,
                                                variables={}, keys={"port": 5985}) == (5985, "keyword: port")
    assert C.config.get_config_value_and_origin("connection_timeout", plugin_type="connection",
                                                plugin_name=load_name, variables={},
                                                direct={"connection_timeout": 7})[1] == "Direct"


def _tls_server(tmp_path):
    """A local HTTPS server with a fresh self-signed certificate; returns (server, DER)."""
    import datetime
    import http.server
    import ssl
    import threading

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    (tmp_path / "c.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    (tmp_path / "k.pem").write_bytes(pem)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):  # noqa: N802 - http.server's name
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *_args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(tmp_path / "c.pem"), str(tmp_path / "k.pem"))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, cert.public_bytes(serialization.Encoding.DER)


def test_urllib3_connection_hook_records_the_peer_certificate(tmp_path):
    server, der = _tls_server(tmp_path)
    try:
        session = requests.Session()
        compat.harden_session(session, deadline=10)
        recorder = compat.record_peer_certificates(session)
        assert recorder.latest is None
        url = "https://127.0.0.1:%d/" % server.server_address[1]
        assert session.get(url, verify=False).content == b"ok"
        assert session.get(url, verify=False).content == b"ok"      # the same kept-alive connection
        assert recorder.latest == der and recorder.handshakes == 1
        session.close()
        assert session.get(url, verify=False).content == b"ok"
        assert recorder.handshakes == 2
        plain = requests.Session()
        plain_recorder = compat.record_peer_certificates(plain)
        with pytest.raises(requests.exceptions.ConnectionError):
            plain.get("http://127.0.0.1:9/", timeout=2)
        assert plain_recorder.latest is None
    finally:
        server.shutdown()
