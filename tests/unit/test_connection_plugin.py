"""The wsman.winrm.winrm connection plugin: options -> resolver -> the arguments handed to pywinrm.

No WinRM server here: pywinrm's Protocol is replaced by a recorder, except where a test needs a
real socket (a refused port on loopback). tests/integration/test_connection_plugin.py runs it
against the simulator.
"""
from __future__ import annotations


import pytest
from ansible.errors import AnsibleConnectionFailure
from ansible.playbook.play_context import PlayContext
from ansible.plugins.connection.winrm import Connection as BuiltinWinRMConnection
from ansible.plugins.loader import connection_loader
from ansible.utils.display import Display


from ansible_collections.wsman.winrm.plugins.connection import winrm as plugin  # noqa: E402
from ansible_collections.wsman.winrm.plugins.module_utils import compat  # noqa: E402
from ansible_collections.wsman.winrm.plugins.module_utils.endpoint import VARIABLES, resolve  # noqa: E402

PASSWORD = "Plugin-Pa55-never-shown"
PROXY_USER = "proxy-user-never-shown"
PROXY_PASSWORD = "Proxy:Pa55@never/shown"


class RecordingProtocol:
    """Stands in for ResolvedProtocol: records what pywinrm would be given, sends nothing."""

    calls: list = []

    def __init__(self, endpoint, pinned_sha256=None, **kwargs):
        RecordingProtocol.calls.append(dict(kwargs, endpoint=endpoint, pinned_sha256=pinned_sha256))

    def open_shell(self, codepage=None):
        return "SHELL-1"

    def close_shell(self, shell_id):
        RecordingProtocol.calls.append({"closed": shell_id})


@pytest.fixture
def recorder(monkeypatch):
    RecordingProtocol.calls = []
    monkeypatch.setattr(plugin, "ResolvedProtocol", RecordingProtocol)
    return RecordingProtocol.calls


@pytest.fixture
def verbose(monkeypatch):
    display = Display()
    monkeypatch.setattr(display, "verbosity", 6)
    return display


def connection(var_options: dict, extras: dict | None = None):
    conn = connection_loader.get("wsman.winrm.winrm", PlayContext(), None)
    options = {"inventory_hostname": "win1", **var_options}
    options["_extras"] = dict(extras or {})
    conn.set_options(var_options=options)
    return conn


def connect(var_options: dict, extras: dict | None = None):
    conn = connection(var_options, extras)
    conn._connect()
    return conn


def refusal(var_options: dict, recorder: list) -> str:
    with pytest.raises(AnsibleConnectionFailure) as raised:
        connect(var_options)
    assert recorder == [], "a refused connection must not reach pywinrm"
    return str(raised.value)


CREDENTIALS = {"ansible_user": "Administrator", "ansible_password": PASSWORD}


# -- loading --------------------------------------------------------------------------------------

def test_loads_through_the_plugin_loader():
    conn = connection_loader.get("wsman.winrm.winrm", PlayContext(), None)
    assert isinstance(conn, plugin.Connection) and isinstance(conn, BuiltinWinRMConnection)
    assert conn.transport == "wsman.winrm.winrm"
    assert conn.extras_prefix == "winrm"  # ansible_winrm_* extras still reach the plugin
    assert conn.has_pipelining


def test_every_resolver_option_is_a_plugin_option_with_the_resolvers_variable_names():
    conn = connection_loader.get("wsman.winrm.winrm", PlayContext(), None)
    definitions = conn.option_definitions
    for option, resolver_option in plugin.RESOLVER_OPTIONS.items():
        declared = {entry["name"] for entry in definitions[option].get("vars", [])}
        resolver_names = {name for family in ("wsman", "winrm", "generic")
                          for name in VARIABLES[resolver_option].get(family, [])}
        assert declared == resolver_names, option


@pytest.mark.parametrize("option", ["trusted_hosts", "legacy_ports", "default_ports", "connection_uri",
                                    "allow_basic_http", "allow_unencrypted", "cert_fingerprint", "use_env_proxy",
                                    "proxy_username", "proxy_password", "allow_http_proxy",
                                    "allow_clear_proxy_credentials"])
def test_collection_options_have_vars_ini_and_env(option):
    definition = connection_loader.get("wsman.winrm.winrm", PlayContext(), None).option_definitions[option]
    assert definition["vars"] == [{"name": "wsman_winrm_%s" % option}]
    assert definition["ini"] == [{"section": "wsman_winrm_connection", "key": option}]
    assert definition["env"] == [{"name": "WSMAN_WINRM_%s" % option.upper()}]


# -- where ansible.builtin.winrm goes wrong ---------------------------------------------------------

TRUSTED = {"wsman_winrm_trusted_hosts": ["win1", "2001:db8::10"]}


@pytest.mark.parametrize("var_options, url, transport", [
    pytest.param({}, "https://win1:5986/wsman", "ntlm", id="nothing"),
    pytest.param({"ansible_winrm_scheme": "http", **TRUSTED}, "http://win1:5985/wsman", "ntlm",
                 id="scheme-http-is-5985-not-5986"),
    pytest.param({"ansible_port": 80}, "https://win1:80/wsman", "ntlm", id="port-80-does-not-choose-the-scheme"),
    pytest.param({"ansible_port": 5985, **TRUSTED}, "http://win1:5985/wsman", "ntlm",
                 id="port-5985-means-http-as-in-ansible-builtin-winrm"),
    pytest.param({"ansible_port": 5985}, "http://win1:5985/wsman", "kerberos",
                 id="negotiate-over-http-to-an-untrusted-name-is-kerberos"),
    pytest.param({"ansible_port": 80, "ansible_winrm_scheme": "http", **TRUSTED}, "http://win1:80/wsman", "ntlm",
                 id="port-80-with-scheme-http"),
    pytest.param({"ansible_winrm_scheme": "http", "wsman_winrm_legacy_ports": True, **TRUSTED},
                 "http://win1:80/wsman", "ntlm", id="legacy-ports-http"),
    pytest.param({"wsman_winrm_legacy_ports": "yes"}, "https://win1:443/wsman", "ntlm", id="legacy-ports-https"),
    pytest.param({"wsman_winrm_connection_uri": "http://win1/wsman", **TRUSTED}, "http://win1:80/wsman", "ntlm",
                 id="connection-uri-defaults-to-80"),
    pytest.param({"wsman_winrm_default_ports": {"http": 8985, "https": 8986}}, "https://win1:8986/wsman", "ntlm",
                 id="client-default-ports"),
    pytest.param({"ansible_host": "2001:db8::10"}, "https://[2001:db8::10]:5986/wsman", "ntlm", id="ipv6"),
    pytest.param({"ansible_user": "admin@EXAMPLE.COM"}, "https://win1:5986/wsman", "ntlm",
                 id="upn-is-negotiate-not-kerberos"),
    pytest.param({"ansible_winrm_transport": "ssl"}, "https://win1:5986/wsman", "basic", id="pywinrm-ssl-is-basic"),
    pytest.param({"ansible_winrm_transport": "kerberos"}, "https://win1:5986/wsman", "kerberos", id="kerberos"),
    pytest.param({"wsman_winrm_use_ssl": False, **TRUSTED}, "http://win1:5985/wsman", "ntlm", id="use-ssl-false"),
    pytest.param({"wsman_winrm_scheme": "http", "ansible_winrm_scheme": "https", **TRUSTED},
                 "http://win1:5985/wsman", "ntlm", id="wsman-variable-wins"),
])
def test_endpoint_rows(var_options, url, transport, recorder, monkeypatch):
    monkeypatch.setattr(plugin.Connection, "_kerb_auth", lambda self, user, password: None)
    all_vars = {**CREDENTIALS, **var_options}
    conn = connect(all_vars)
    (call,) = recorder
    assert call["endpoint"] == url
    assert call["transport"] == transport
    # the plugin computes nothing itself: same answer as the resolver on the same variables
    assert resolve({"inventory_hostname": "win1", **all_vars}, "wsman.winrm.winrm").url == url
    assert conn.shell_id == "SHELL-1" and conn._connected


def test_port_without_scheme_says_why_in_the_decisions(recorder):
    conn = connect({**CREDENTIALS, "ansible_port": 80})
    assert any("does not choose the scheme" in decision for decision in conn._wsman_endpoint.decisions)


def test_kwargs_handed_to_pywinrm_over_https(recorder, tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("not read here")
    connect({**CREDENTIALS, "ansible_winrm_transport": "ntlm", "ansible_winrm_ca_trust_path": str(ca),
             "ansible_winrm_read_timeout_sec": 70, "ansible_winrm_operation_timeout_sec": 60},
            extras={"ansible_winrm_send_cbt": False, "ansible_winrm_credssp_disable_tlsv1_2": True})
    (call,) = recorder
    assert call == {
        "endpoint": "https://win1:5986/wsman", "pinned_sha256": None, "transport": "ntlm",
        "username": "Administrator", "password": PASSWORD,
        "server_cert_validation": "validate", "ca_trust_path": str(ca),
        "cert_pem": None, "cert_key_pem": None, "message_encryption": "auto", "proxy": None,
        "read_timeout_sec": 70, "operation_timeout_sec": 60,
        "send_cbt": False, "credssp_disable_tlsv1_2": True,
    }


def test_http_is_always_message_encrypted_and_never_reads_environment_ca(recorder):
    connect({**CREDENTIALS, "ansible_winrm_scheme": "http", **TRUSTED})
    (call,) = recorder
    assert call["message_encryption"] == "always"
    assert call["ca_trust_path"] is None  # not pywinrm's "legacy_requests" (REQUESTS_CA_BUNDLE)
    assert call["proxy"] is None  # not "legacy_requests" (environment proxies)


def test_certificate_validation_opt_out_and_pin(recorder):
    pin = "ab:" * 31 + "ab"
    connect({**CREDENTIALS, "ansible_winrm_server_cert_validation": "ignore", "wsman_winrm_cert_fingerprint": pin})
    (call,) = recorder
    assert call["server_cert_validation"] == "ignore" and call["ca_trust_path"] is None
    assert call["pinned_sha256"] == "AB" * 32


def test_certificate_auth(recorder, tmp_path):
    connect({"ansible_winrm_cert_pem": "/keys/c.pem", "ansible_winrm_cert_key_pem": "/keys/c.key"})
    (call,) = recorder
    assert call["transport"] == "certificate" and call["username"] is None
    assert (call["cert_pem"], call["cert_key_pem"]) == ("/keys/c.pem", "/keys/c.key")


def test_connection_timeout_keeps_ansible_builtin_meaning(recorder):
    conn = connection({**CREDENTIALS, "ansible_winrm_connection_timeout": 45})
    conn._connect()
    assert (recorder[0]["operation_timeout_sec"], recorder[0]["read_timeout_sec"]) == (45, 55)
    # win_reboot changes it with set_option and reconnects
    conn.close()
    conn.set_option("connection_timeout", 100)
    conn._connect()
    assert (recorder[-1]["operation_timeout_sec"], recorder[-1]["read_timeout_sec"]) == (100, 110)


def test_kerberos_hostname_override_is_passed_for_kerberos(recorder, monkeypatch):
    kinits = []
    monkeypatch.setattr(plugin.Connection, "_kerb_auth", lambda self, user, password: kinits.append(user))
    connect({"ansible_user": "admin@EXAMPLE.COM", "ansible_password": PASSWORD,
             "ansible_winrm_transport": "kerberos", "ansible_winrm_kerberos_hostname_override": "win1.example.com"})
    assert recorder[0]["kerberos_hostname_override"] == "win1.example.com"
    assert kinits == ["admin@EXAMPLE.COM"]  # managed ticket, as in ansible.builtin.winrm


def test_default_ports_from_the_environment(recorder, monkeypatch):
    monkeypatch.setenv("WSMAN_WINRM_DEFAULT_PORTS", "http=8985,https=8986")
    connect(CREDENTIALS)
    assert recorder[0]["endpoint"] == "https://win1:8986/wsman"


def test_close_deletes_the_shell(recorder):
    conn = connect(CREDENTIALS)
    conn.close()
    assert recorder[-1] == {"closed": "SHELL-1"}
    assert conn.shell_id is None and not conn._connected


# -- refusals, before any byte ----------------------------------------------------------------------

def test_ntlm_over_http_needs_a_trusted_host(recorder):
    message = refusal({**CREDENTIALS, "ansible_winrm_scheme": "http", "ansible_winrm_transport": "ntlm"}, recorder)
    assert "refused" in message and 'wsman_winrm_trusted_hosts: "win1"' in message


def test_negotiate_over_http_to_a_name_sends_kerberos_not_ntlm(recorder, monkeypatch):
    kinits = []
    monkeypatch.setattr(plugin.Connection, "_kerb_auth", lambda self, user, password: kinits.append(user))
    connect({"ansible_user": "ansible@CORP.EXAMPLE.COM", "ansible_password": PASSWORD,
             "ansible_host": "win1.corp.example.com", "ansible_port": 5985})
    assert (recorder[0]["endpoint"], recorder[0]["transport"]) == ("http://win1.corp.example.com:5985/wsman", "kerberos")
    assert recorder[0]["message_encryption"] == "always" and kinits == ["ansible@CORP.EXAMPLE.COM"]


def test_ntlm_without_a_password_is_refused(recorder):
    message = refusal({"ansible_user": "Administrator", "ansible_winrm_transport": "ntlm"}, recorder)
    assert "Windows requires explicit credentials" in message and "ansible_password" in message


@pytest.mark.parametrize("trusted", ["*.example.com", ["other", "*.example.com"], "10.0.0.1,*.EXAMPLE.com"])
def test_trusted_hosts_patterns(recorder, trusted):
    connect({**CREDENTIALS, "ansible_host": "win1.example.com", "ansible_winrm_scheme": "http",
             "wsman_winrm_trusted_hosts": trusted})
    assert recorder[0]["endpoint"] == "http://win1.example.com:5985/wsman"


def test_trusted_hosts_from_the_environment(recorder, monkeypatch):
    monkeypatch.setenv("WSMAN_WINRM_TRUSTED_HOSTS", "win1")
    conn = connect({**CREDENTIALS, "ansible_winrm_scheme": "http"})
    assert recorder[0]["endpoint"] == "http://win1:5985/wsman"
    assert any("trusted_hosts from env: WSMAN_WINRM_TRUSTED_HOSTS" in note for note in conn._wsman_notes)


def test_basic_over_http_is_refused(recorder):
    message = refusal({**CREDENTIALS, "ansible_winrm_scheme": "http", "ansible_winrm_transport": "basic",
                       **TRUSTED}, recorder)
    assert "Basic auth over HTTP is refused" in message
    message = refusal({**CREDENTIALS, "ansible_winrm_scheme": "http", "ansible_winrm_transport": "basic",
                       "wsman_winrm_allow_basic_http": True, **TRUSTED}, recorder)
    assert "wsman_winrm_allow_unencrypted" in message


def test_basic_over_http_with_both_switches(recorder):
    connect({**CREDENTIALS, "ansible_winrm_scheme": "http", "ansible_winrm_transport": "plaintext",
             "wsman_winrm_allow_basic_http": "true", "wsman_winrm_allow_unencrypted": "yes", **TRUSTED})
    assert (recorder[0]["transport"], recorder[0]["message_encryption"]) == ("basic", "never")


def test_kerberos_to_an_ip_address_is_refused(recorder):
    message = refusal({**CREDENTIALS, "ansible_host": "192.0.2.10", "ansible_winrm_transport": "kerberos"}, recorder)
    assert "Kerberos cannot be used with an IP address" in message


def test_plain_user_is_never_basic(recorder):
    connect({"ansible_user": "admin", "ansible_password": PASSWORD})
    assert recorder[0]["transport"] == "ntlm"


# -- proxies ----------------------------------------------------------------------------------------

def test_https_through_an_authenticated_proxy(recorder, verbose, capsys):
    conn = connect({**CREDENTIALS, "ansible_winrm_proxy": "https://proxy.example.com:3128",
                    "wsman_winrm_proxy_username": PROXY_USER, "wsman_winrm_proxy_password": PROXY_PASSWORD})
    proxy = recorder[0]["proxy"]
    assert proxy.startswith("https://proxy-user-never-shown:Proxy%3APa55%40never%2Fshown@proxy.example.com:3128")
    output = capsys.readouterr().out
    assert "proxy=https://proxy.example.com:3128 (authenticated)" in output
    assert PROXY_USER not in output and PROXY_PASSWORD not in output and "Pa55" not in output
    assert conn._wsman_endpoint.proxy == "https://proxy.example.com:3128"


def test_proxy_credentials_to_an_http_proxy_only_when_allowed(recorder):
    given = {**CREDENTIALS, "ansible_winrm_proxy": "http://proxy.example.com:3128",
             "wsman_winrm_proxy_username": PROXY_USER, "wsman_winrm_proxy_password": PROXY_PASSWORD}
    message = refusal(given, recorder)
    assert "in clear" in message and PROXY_PASSWORD not in message and PROXY_USER not in message
    conn = connect({**given, "wsman_winrm_allow_clear_proxy_credentials": True})
    assert recorder[0]["proxy"].startswith("http://proxy-user-never-shown:")
    assert any("in CLEAR" in decision for decision in conn._wsman_endpoint.decisions)


def test_credentials_inside_the_proxy_url_are_moved_out(recorder, verbose, capsys):
    connect({**CREDENTIALS, "wsman_winrm_proxy": "https://%s:pw-in-url-secret@proxy:3128" % PROXY_USER})
    assert recorder[0]["proxy"] == "https://%s:pw-in-url-secret@proxy:3128" % PROXY_USER
    output = capsys.readouterr().out
    assert "pw-in-url-secret" not in output and PROXY_USER not in output


def test_http_through_a_proxy_is_refused(recorder):
    base = {**CREDENTIALS, "ansible_winrm_scheme": "http", "ansible_winrm_proxy": "http://proxy:3128", **TRUSTED}
    assert "HTTPS should be used through proxies" in refusal(base, recorder)
    message = refusal({**base, "wsman_winrm_proxy_username": PROXY_USER,
                       "wsman_winrm_proxy_password": PROXY_PASSWORD}, recorder)
    assert "authenticated proxy" in message and PROXY_PASSWORD not in message and PROXY_USER not in message
    message = refusal({**base, "ansible_winrm_transport": "basic", "wsman_winrm_allow_basic_http": True,
                       "wsman_winrm_allow_unencrypted": True}, recorder)
    assert "unencrypted HTTP is never sent through a proxy" in message


def test_encrypted_http_through_a_proxy_when_allowed(recorder):
    connect({**CREDENTIALS, "ansible_winrm_scheme": "http", "ansible_winrm_proxy": "http://proxy:3128",
             "wsman_winrm_allow_http_proxy": True, **TRUSTED})
    assert recorder[0]["proxy"] == "http://proxy:3128" and recorder[0]["message_encryption"] == "always"


def test_environment_proxies_only_when_asked(recorder, monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://envproxy:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("https_proxy", raising=False)
    connect(CREDENTIALS)
    assert recorder[0]["proxy"] is None
    connect({**CREDENTIALS, "wsman_winrm_use_env_proxy": True})
    assert recorder[1]["proxy"] == "http://envproxy:3128"


# -- the transport's session ------------------------------------------------------------------------

def test_session_is_hardened_before_the_first_request(monkeypatch):
    sent = []
    monkeypatch.setenv("HTTPS_PROXY", "http://envproxy:3128")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/nonexistent/env-ca.pem")
    protocol = compat.ResolvedProtocol(
        "http://win1:5985/wsman", pinned_sha256="CD" * 32, transport="ntlm", username="u", password=PASSWORD,
        message_encryption="always", proxy="http://p:3128", ca_trust_path=None)
    transport = protocol.transport
    assert isinstance(transport, compat.ResolvedTransport)

    def first_request(session):  # what pywinrm does to set up encryption: must see the hardened session
        sent.append((session.trust_env, dict(session.proxies), session.get_adapter("https://win1")))
    monkeypatch.setattr(compat.Transport, "setup_encryption", lambda self, session: first_request(session))
    session = transport.build_session()
    assert len(sent) == 1
    trust_env, proxies, adapter = sent[0]
    assert trust_env is False and proxies == {"http": "http://p:3128", "https": "http://p:3128"}
    assert isinstance(adapter, compat.FingerprintPinningAdapter) and adapter.sha256_hex == "cd" * 32
    assert session.verify is True
    assert transport.build_session() is session and len(sent) == 1


def test_session_without_proxy_uses_none():
    protocol = compat.ResolvedProtocol("https://win1:5986/wsman", transport="ntlm", username="u",
                                       password=PASSWORD, proxy=None, ca_trust_path=None)
    session = protocol.transport.build_session()
    assert session.proxies == {} and session.trust_env is False


# -- secrets and messages -----------------------------------------------------------------------------

def test_vvv_shows_the_endpoint_and_every_decision_but_no_secret(recorder, verbose, capsys):
    conn = connect({**CREDENTIALS, "ansible_winrm_scheme": "http", **TRUSTED})
    output = capsys.readouterr().out
    assert "WSMAN ENDPOINT http://win1:5985/wsman auth=negotiate (pywinrm transport ntlm) encryption=always" in output
    for decision in conn._wsman_endpoint.decisions:
        assert "WSMAN DECISION " + decision in output
    assert "sent as NTLM" in output
    assert PASSWORD not in output


def test_secrets_never_in_errors_or_output(recorder, verbose, capsys, monkeypatch):
    class FailingProtocol(RecordingProtocol):
        def open_shell(self, codepage=None):
            raise RuntimeError("boom with %s and %s inside" % (PASSWORD, "Proxy%3APa55%40never%2Fshown"))
    monkeypatch.setattr(plugin, "ResolvedProtocol", FailingProtocol)
    with pytest.raises(AnsibleConnectionFailure) as raised:
        connect({**CREDENTIALS, "ansible_winrm_proxy": "https://proxy:3128", "wsman_winrm_proxy_username": PROXY_USER,
                 "wsman_winrm_proxy_password": PROXY_PASSWORD})
    output = capsys.readouterr().out
    for text in (str(raised.value), output):
        assert PASSWORD not in text and "Pa55" not in text and PROXY_USER not in text
    assert "<redacted>" in str(raised.value)


def test_refused_on_the_default_port_names_the_legacy_ports():
    # a loopback address where nothing listens: a real refused TCP connection
    address = "127.0.98.20"
    conn = connection({**CREDENTIALS, "ansible_host": address, "ansible_winrm_scheme": "http",
                       "wsman_winrm_trusted_hosts": address, "ansible_winrm_connection_timeout": 5})
    with pytest.raises(AnsibleConnectionFailure) as raised:
        conn._connect()
    message = str(raised.value)
    assert "connection refused" in message
    assert "WinRM 1.1 host listens on 80 (HTTP) / 443 (HTTPS)" in message
    assert "wsman_winrm_legacy_ports: true" in message and "never falls back" in message
    assert PASSWORD not in message


def test_refused_on_another_port_has_no_legacy_hint():
    conn = connection({**CREDENTIALS, "ansible_host": "127.0.98.21", "ansible_port": 1,
                       "ansible_winrm_scheme": "http", "wsman_winrm_trusted_hosts": "127.0.98.21"})
    with pytest.raises(AnsibleConnectionFailure) as raised:
        conn._connect()
    assert "connection refused" in str(raised.value) and "WinRM 1.1" not in str(raised.value)


def test_unknown_collection_style_variable_gets_a_hint(recorder, monkeypatch):
    warnings = []
    monkeypatch.setattr(plugin.display, "warning", lambda message, *a, **k: warnings.append(message))
    connect(CREDENTIALS, extras={"ansible_winrm_trusted_hosts": "win1"})
    assert warnings == ["ansible_winrm_trusted_hosts is not read by wsman.winrm.winrm; use wsman_winrm_trusted_hosts"]
