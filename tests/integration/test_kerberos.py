"""Kerberos end to end: a real MIT KDC on loopback, winrm-sim accepting tickets with a keytab,
pypsrp, pywinrm and the collection's session as clients.

The realm WSMAN.TEST has a user ``ansible@WSMAN.TEST`` (mapped by the simulator to the built-in
Administrator, as a domain admin would be) and the ``host/``, ``HTTP/`` and ``WSMAN/`` SPNs of
every simulated host, ``<name>.wsman.test``. Those names resolve to the hosts' loopback addresses
inside this test process only (``kdc.names_resolve_to``): nothing on the machine changes.
Skipped, with the reason, when the MIT programs (``make system-deps``) or the Python Kerberos
bindings (tests/requirements.txt) are missing.
"""
from __future__ import annotations

import base64
import os
import xml.etree.ElementTree as ET

import pytest
import requests

from kdc import TestKDC, missing_binaries, names_resolve_to

_missing = missing_binaries()
if _missing:
    pytest.skip(f"MIT Kerberos programs missing ({', '.join(_missing)}): run `make system-deps` as root "
                "(Debian krb5-kdc, krb5-admin-server, krb5-user)", allow_module_level=True)
_gss = pytest.importorskip("spnego._gss")
if not _gss.HAS_GSSAPI:
    pytest.skip(f"pyspnego has no Kerberos: {_gss.GSSAPI_IMP_ERR} (pip install -r tests/requirements.txt, "
                "which needs libkrb5-dev)", allow_module_level=True)

import spnego  # noqa: E402
from pypsrp.exceptions import AuthenticationError  # noqa: E402
from pypsrp.wsman import WSMan  # noqa: E402
from spnego._spnego import NegTokenResp, unpack_token  # noqa: E402  (pyspnego's token parser)

from ansible_collections.wsman.winrm.plugins.module_utils.endpoint import EndpointError, resolve  # noqa: E402
from ansible_collections.wsman.winrm.plugins.module_utils.wsman import AuthenticationFailed, Session  # noqa: E402
from winrm_sim.cli import FleetProcess  # noqa: E402
from harness import base_address  # noqa: E402

pytestmark = pytest.mark.timeout(180)

CONFIG = "http://schemas.microsoft.com/wbem/wsman/1/config"
AUTH_NS = CONFIG + "/service/auth"
KERBEROS_OID = "1.2.840.113554.1.2.2"
KERBEROS_OID_DER = bytes.fromhex("06092a864886f712010202")
SPNEGO_ENCRYPTED = "application/HTTP-SPNEGO-session-encrypted"
KERBEROS_ENCRYPTED = "application/HTTP-Kerberos-session-encrypted"
# This module's /24 of its test process's addresses (harness.base_address).
BASE_ADDRESS = base_address(11)
HOSTS = ["SIM-2022-01", "SIM-2022-02"]


@pytest.fixture(scope="module")
def kdc(tmp_path_factory):
    with TestKDC(str(tmp_path_factory.mktemp("kdc")), hosts=HOSTS) as running:
        with pytest.MonkeyPatch.context() as patch:
            # Clients in this process and the simulator (which inherits the environment) use this
            # realm's krb5.conf and a private ticket cache, never the machine's.
            for name, value in running.client_env().items():
                patch.setenv(name, value)
            patch.setenv("WINRM_SIM_LOG", "INFO")       # the simulator logs each authentication
            yield running


@pytest.fixture(scope="module")
def fleet(kdc, tmp_path_factory):
    state_dir = tmp_path_factory.mktemp("sim-kerberos")
    with FleetProcess(str(state_dir), hosts=len(HOSTS), profiles="server2022", base_address=BASE_ADDRESS,
                      extra_args=["--keytab", kdc.keytab, "--realm", kdc.realm]) as running:
        hosts = running.hosts()
        assert sorted(hosts) == HOSTS
        with names_resolve_to({h["wsman_winrm_sim_fqdn"]: h["ansible_host"] for h in hosts.values()}):
            yield running


@pytest.fixture
def host(fleet):
    return dict(fleet.hosts()["SIM-2022-01"])


def kerberos_session(kdc, fqdn: str, **kwargs) -> WSMan:
    options = dict(port=5985, ssl=False, auth="kerberos", username=kdc.user_principal, password=kdc.password,
                   no_proxy=True, operation_timeout=10, read_timeout=20)
    options.update(kwargs)
    return WSMan(fqdn, **options)


def ntlm_session(host_vars: dict) -> WSMan:
    return WSMan(host_vars["ansible_host"], port=5985, ssl=False, auth="ntlm", username="Administrator",
                 password=host_vars["ansible_password"], no_proxy=True, operation_timeout=10, read_timeout=20)


def client_context(wsman: WSMan, hostname: str):
    return wsman.transport.session.auth.contexts[hostname]


def text_of(element, local: str) -> str:
    for node in element.iter():
        if node.tag.split("}")[-1] == local:
            return node.text or ""
    raise KeyError(local)


def put_auth(wsman: WSMan, **values: bool) -> None:
    auth = ET.Element(f"{{{AUTH_NS}}}Auth")
    for name, value in values.items():
        ET.SubElement(auth, f"{{{AUTH_NS}}}{name}").text = str(value).lower()
    wsman.put(AUTH_NS, auth)


def offered_schemes(address: str) -> list[str]:
    response = requests.post(f"http://{address}:5985/wsman", data=b"<x/>", proxies={"http": None})
    assert response.status_code == 401
    return response.raw.headers.getlist("WWW-Authenticate")


def server_log(fleet) -> str:
    with open(fleet.stderr_path, encoding="utf-8", errors="replace") as handle:
        return handle.read()


# -- Kerberos by name -----------------------------------------------------------------------------

def test_kerberos_by_name_over_http_with_encryption(kdc, fleet, host):
    fqdn = host["wsman_winrm_sim_fqdn"]
    assert fqdn == "sim-2022-01.wsman.test"
    with kerberos_session(kdc, fqdn) as wsman:
        assert text_of(wsman.get(AUTH_NS), "Kerberos") == "true"
        context = client_context(wsman, fqdn)
        assert context.negotiated_protocol == "kerberos" and context.complete
        # HTTP: every message was wrapped with the Kerberos session key. The server advertises
        # Negotiate first, so pypsrp labels the framing SPNEGO (what Windows accepts too).
        assert wsman.transport.encryption is not None
        assert wsman.transport.encryption.protocol == SPNEGO_ENCRYPTED
        wsman.get(CONFIG + "/service")       # same connection, no new handshake
    assert "ansible@WSMAN.TEST authenticated as Administrator with kerberos" in server_log(fleet)


@pytest.mark.parametrize("service", ["WSMAN", "HTTP"])
def test_every_winrm_spn_is_accepted(kdc, fleet, host, service):
    with kerberos_session(kdc, host["wsman_winrm_sim_fqdn"], negotiate_service=service) as wsman:
        assert text_of(wsman.get(AUTH_NS), "Kerberos") == "true"


def test_negotiate_by_name_selects_kerberos(kdc, fleet, host):
    fqdn = host["wsman_winrm_sim_fqdn"]
    with kerberos_session(kdc, fqdn, auth="negotiate") as wsman:
        wsman.get(CONFIG)
        assert client_context(wsman, fqdn).negotiated_protocol == "kerberos"

    # What the server sends back, decoded: a SPNEGO NegTokenResp that selects Kerberos and carries
    # a Kerberos AP-REP (mutual authentication), which the client verifies.
    client = spnego.client(kdc.user_principal, kdc.password, hostname=fqdn, service="HTTP", protocol="negotiate")
    response = requests.post(f"http://{fqdn}:5985/wsman", data=b"", proxies={"http": None},
                             headers={"Authorization": "Negotiate " + base64.b64encode(client.step()).decode()})
    assert response.status_code == 200
    scheme, _sep, token = response.headers["WWW-Authenticate"].partition(" ")
    assert scheme == "Negotiate"
    reply = unpack_token(base64.b64decode(token))
    assert isinstance(reply, NegTokenResp)
    assert reply.supported_mech == KERBEROS_OID
    # RFC 1964 framing: 0x60, length, the Kerberos mechanism OID, then the token id 02 00 (AP-REP).
    ap_rep = reply.response_token
    assert ap_rep[:1] == b"\x60"
    assert ap_rep.index(KERBEROS_OID_DER) < 6 and b"\x02\x00" == ap_rep.partition(KERBEROS_OID_DER)[2][:2]
    client.step(base64.b64decode(token))
    assert client.complete and client.negotiated_protocol == "kerberos"


def test_negotiate_to_an_ip_address_uses_ntlm(kdc, fleet, host):
    address = host["ansible_host"]
    with WSMan(address, port=5985, ssl=False, auth="negotiate", username="Administrator",
               password=host["ansible_password"], no_proxy=True, operation_timeout=10, read_timeout=20) as wsman:
        wsman.get(CONFIG)
        assert client_context(wsman, address).negotiated_protocol == "ntlm"
    assert "Administrator authenticated as Administrator with ntlm" in server_log(fleet)
    # A domain account has no ticket for an address (no SPN host/127.x.y.z), and NTLM does not
    # know it on a member computer here: refused.
    with pytest.raises(AuthenticationError):
        with kerberos_session(kdc, address, auth="negotiate") as wsman:
            wsman.get(CONFIG)


def test_ticket_for_another_computer_is_refused(kdc, fleet, host):
    other = fleet.hosts()["SIM-2022-02"]["wsman_winrm_sim_fqdn"]
    with pytest.raises(AuthenticationError):
        with kerberos_session(kdc, host["wsman_winrm_sim_fqdn"], negotiate_hostname_override=other) as wsman:
            wsman.get(CONFIG)
    assert f"Kerberos ticket for host/{other}@WSMAN.TEST refused" in server_log(fleet)


def test_wrong_password_gets_no_ticket(kdc, fleet, host):
    with pytest.raises(Exception, match="(?i)preauth|password|integrity"):
        with kerberos_session(kdc, host["wsman_winrm_sim_fqdn"], password="not-the-password") as wsman:
            wsman.get(CONFIG)


# -- pywinrm ----------------------------------------------------------------------------------------

def test_pywinrm_kerberos_shell_with_encryption(kdc, fleet, host):
    winrm = pytest.importorskip("winrm")
    import winrm.transport

    if not winrm.transport.HAVE_KERBEROS:
        pytest.skip("pywinrm's Kerberos needs pykerberos (tests/requirements.txt)")
    kdc.kinit()       # pywinrm takes the ticket from the cache (KRB5CCNAME)
    fqdn = host["wsman_winrm_sim_fqdn"]
    protocol = winrm.Protocol(endpoint=f"http://{fqdn}:5985/wsman", transport="kerberos",
                              username=kdc.user_principal, message_encryption="always", service="HTTP")
    shell_id = protocol.open_shell()
    try:
        assert shell_id
    finally:
        protocol.close_shell(shell_id)
    assert protocol.transport.encryption.protocol_string.decode() == SPNEGO_ENCRYPTED


# -- the collection's resolver and session -----------------------------------------------------------

def test_resolver_refuses_kerberos_to_an_ip_address(kdc, fleet, host):
    variables = {"ansible_host": host["ansible_host"], "ansible_port": 5985, "ansible_winrm_scheme": "http",
                 "ansible_user": kdc.user_principal, "ansible_password": kdc.password,
                 "ansible_winrm_transport": "kerberos"}
    with pytest.raises(EndpointError, match="Kerberos cannot be used with an IP address"):
        resolve(variables, "winrm")
    negotiate = resolve(dict(variables, ansible_winrm_transport="negotiate",
                             wsman_winrm_trusted_hosts=[host["ansible_host"]]), "winrm")
    assert negotiate.auth == "ntlm"


def test_collection_session_over_kerberos_by_name(kdc, fleet, host):
    endpoint = resolve({"ansible_host": host["wsman_winrm_sim_fqdn"], "ansible_port": 5985,
                        "ansible_winrm_scheme": "http", "ansible_user": kdc.user_principal,
                        "ansible_password": kdc.password, "ansible_winrm_transport": "kerberos"}, "winrm")
    assert endpoint.auth == "kerberos" and endpoint.encryption == "always"
    with Session(endpoint) as session:
        assert text_of(session.get("winrm/config/service/auth"), "Kerberos") == "true"


# -- the service settings are live -----------------------------------------------------------------

def test_service_kerberos_off_refuses_kerberos_on_the_next_request(kdc, fleet, host):
    fqdn = host["wsman_winrm_sim_fqdn"]
    assert offered_schemes(host["ansible_host"]) == ["Negotiate", "Kerberos"]
    with kerberos_session(kdc, fqdn) as kept:
        kept.get(CONFIG)
        with ntlm_session(host) as admin:
            put_auth(admin, Kerberos=False)
        try:
            assert offered_schemes(host["ansible_host"]) == ["Negotiate"]
            with pytest.raises(AuthenticationError):
                kept.get(CONFIG)                 # the authenticated connection is refused now
            with pytest.raises(AuthenticationError):
                with kerberos_session(kdc, fqdn) as fresh:
                    fresh.get(CONFIG)
            with ntlm_session(host) as admin:    # NTLM through Negotiate is unaffected
                assert text_of(admin.get(AUTH_NS), "Kerberos") == "false"
        finally:
            with ntlm_session(host) as admin:
                put_auth(admin, Kerberos=True)
    with kerberos_session(kdc, fqdn) as again:
        assert text_of(again.get(AUTH_NS), "Kerberos") == "true"


def test_negotiate_off_leaves_only_kerberos(kdc, fleet):
    host_vars = fleet.hosts()["SIM-2022-02"]
    fqdn = host_vars["wsman_winrm_sim_fqdn"]
    with kerberos_session(kdc, fqdn) as admin:
        put_auth(admin, Negotiate=False)
    try:
        # SPNEGO is still offered (MS-WSMV: while Negotiate or Kerberos is on), NTLM is not accepted.
        assert offered_schemes(host_vars["ansible_host"]) == ["Negotiate", "Kerberos"]
        with kerberos_session(kdc, fqdn) as wsman:
            assert text_of(wsman.get(AUTH_NS), "Negotiate") == "false"
        with pytest.raises(AuthenticationError):
            with ntlm_session(host_vars) as wsman:
                wsman.get(CONFIG)
    finally:
        with kerberos_session(kdc, fqdn) as admin:
            put_auth(admin, Negotiate=True)
    with ntlm_session(host_vars) as wsman:
        assert text_of(wsman.get(AUTH_NS), "Negotiate") == "true"


def test_kerberos_scheme_uses_kerberos_session_encryption(kdc, fleet, host, monkeypatch):
    """pypsrp sends `Authorization: Kerberos` and frames messages as HTTP-Kerberos-session-encrypted
    when the server's 401 names Kerberos but not Negotiate. The simulator, like Windows, offers
    Negotiate whenever Kerberos is on, so the test pins pypsrp's choice of scheme; the handshake,
    the framing and the encryption are then pypsrp's own, end to end."""
    from pypsrp.negotiate import HTTPNegotiateAuth

    monkeypatch.setattr(HTTPNegotiateAuth, "_check_auth_supported",
                        staticmethod(lambda response, providers: "Kerberos"))
    fqdn = host["wsman_winrm_sim_fqdn"]
    with kerberos_session(kdc, fqdn) as wsman:
        assert text_of(wsman.get(AUTH_NS), "Kerberos") == "true"
        assert wsman.transport.encryption.protocol == KERBEROS_ENCRYPTED
        assert client_context(wsman, fqdn).response_auth_header == "kerberos"
        wsman.get(CONFIG)
    assert "authenticated as Administrator with kerberos (Kerberos header)" in server_log(fleet)


# -- the connection plugin ---------------------------------------------------------------------------

def test_connection_plugin_opens_a_shell_over_kerberos(kdc, fleet, host, monkeypatch):
    from ansible.playbook.play_context import PlayContext
    from ansible.plugins.loader import connection_loader

    conn = connection_loader.get("wsman.winrm.winrm", PlayContext(), None)
    if conn is None:
        pytest.skip("the wsman.winrm.winrm connection plugin does not load")
    conn.set_options(var_options={
        "inventory_hostname": "SIM-2022-01", "ansible_host": host["wsman_winrm_sim_fqdn"], "ansible_port": 5985,
        "ansible_winrm_scheme": "http", "ansible_winrm_transport": "kerberos",
        "ansible_user": kdc.user_principal, "ansible_password": kdc.password, "_extras": {},
        # kinit runs with an empty environment unless told which variables to keep (as in
        # ansible.builtin.winrm): it needs this realm's krb5.conf.
        "ansible_winrm_kinit_env_vars": ["KRB5_CONFIG"],
    })
    # ansible.builtin.winrm's kinit points os.environ's KRB5CCNAME at its own cache: restore it after.
    monkeypatch.setenv("KRB5CCNAME", os.environ["KRB5CCNAME"])
    conn._connect()          # the plugin runs kinit itself (managed mode) into a private cache
    try:
        assert conn.shell_id
        assert conn._wsman_endpoint.auth == "kerberos"
        assert conn.protocol.transport.encryption is not None     # Kerberos message encryption over HTTP
        rc, stdout, dummy = conn._winrm_exec("cmd.exe", ["/c", "echo", "kerberos"])
        assert rc == 0 and stdout.strip() == b"kerberos"
    finally:
        conn.close()
    assert conn.shell_id is None


# -- Kerberos from the controller's credential cache (no password) ---------------------------------------

def _no_password(host, kdc, **extra):
    return {"ansible_host": host["wsman_winrm_sim_fqdn"], "ansible_port": 5985, "ansible_user": kdc.user_principal,
            **extra}


def test_negotiate_without_a_password_is_kerberos_from_the_cache(kdc, fleet, host):
    kdc.kinit()
    endpoint = resolve(_no_password(host, kdc), "winrm")
    assert (endpoint.auth, endpoint.password, endpoint.encryption) == ("kerberos", None, "always")
    with Session(endpoint) as session:
        assert text_of(session.get("winrm/config/service/auth"), "Kerberos") == "true"


def test_without_a_ticket_nothing_is_sent(kdc, fleet, host, tmp_path, monkeypatch):
    monkeypatch.setenv("KRB5CCNAME", "FILE:%s" % (tmp_path / "empty-cache"))
    # a port where nothing listens: had anything been sent, the error would be a refused connection
    endpoint = resolve(_no_password(host, kdc, ansible_port=1), "winrm")
    with pytest.raises(AuthenticationFailed) as info:
        with Session(endpoint) as session:
            session.get("winrm/config")
    assert "no Kerberos ticket for %s" % kdc.user_principal in str(info.value)
    assert "explicit credentials" in str(info.value) and info.value.outcome_unknown is False


def test_connection_plugin_uses_the_cache_without_a_password(kdc, fleet, host, tmp_path, monkeypatch):
    from ansible.errors import AnsibleConnectionFailure
    from ansible.playbook.play_context import PlayContext
    from ansible.plugins.loader import connection_loader

    def plugin(**extra):
        conn = connection_loader.get("wsman.winrm.winrm", PlayContext(), None)
        conn.set_options(var_options={"inventory_hostname": "SIM-2022-01", "_extras": {},
                                      **_no_password(host, kdc, **extra)})
        return conn

    kdc.kinit()
    conn = plugin()
    conn._connect()
    try:
        assert conn._wsman_endpoint.auth == "kerberos" and conn.protocol.transport.encryption is not None
        rc, stdout, _stderr = conn._winrm_exec("cmd.exe", ["/c", "echo", "from-the-cache"])
        assert rc == 0 and stdout.strip() == b"from-the-cache"
    finally:
        conn.close()
    monkeypatch.setenv("KRB5CCNAME", "FILE:%s" % (tmp_path / "empty-cache"))
    with pytest.raises(AnsibleConnectionFailure, match="no Kerberos ticket"):
        plugin(ansible_port=1)._connect()
