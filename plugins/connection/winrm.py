# -*- coding: utf-8 -*-
# Copyright: (c) wsman.winrm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""wsman.winrm.winrm: ansible.builtin.winrm's execution with the collection's endpoint resolver."""
from __future__ import annotations

DOCUMENTATION = r"""
name: winrm
short_description: Run tasks over WinRM with secure endpoint, transport and proxy rules
description:
  - A drop-in replacement for C(ansible.builtin.winrm). Commands, PowerShell pipelining, C(put) and
    C(fetch) run exactly as in that plugin, through pywinrm, and every C(ansible_winrm_*) variable keeps
    its meaning.
  - What changes is how the endpoint is chosen. URL, port, authentication, message encryption, TLS
    checks and proxy come from the collection's one resolver (the same rules as the
    C(wsman.winrm.endpoint) filter and the modules); see C(docs/endpoint-resolution.md).
  - The options are read by ansible-core's own option system, as for C(ansible.builtin.winrm); a default
    of a plugin (such as C(ansible.builtin.winrm)'s port 5986) never counts as a choice.
  - With a computer name the ports are the WinRM 2.0 client defaults 5985 (HTTP) and 5986 (HTTPS); port
    5985 without a scheme means HTTP, as in C(ansible.builtin.winrm). A WinRM 1.1 host on 80/443 is
    reached only by explicit choice (O(legacy_ports), an explicit port, or O(connection_uri)).
  - Over HTTP, Negotiate to a computer name is Kerberos only, as the WinRM client does for a host that is
    not in its TrustedHosts; NTLM over HTTP needs the host in O(trusted_hosts).
  - Basic over HTTP, NTLM over HTTP to an untrusted host, Kerberos to an IP address, NTLM, Basic or
    CredSSP without a user name and password, unencrypted or authenticated traffic through a proxy over
    HTTP, and proxy credentials to an C(http://) proxy are refused before any byte is sent.
  - At C(-vvv) the resolved URL, authentication, encryption, proxy (never its credentials) and the
    reason for every decision are shown.
  - Variables named C(wsman_winrm_*) win over C(ansible_winrm_*), which win over the generic C(ansible_*).
author:
  - wsman.winrm contributors (@wsman)
version_added: 0.1.0
extends_documentation_fragment:
  - ansible.builtin.connection_pipelining
requirements:
  - pywinrm
options:
  remote_addr:
    description:
      - The Windows host's computer name or IP address.
      - A URL here is read as a connection URI (see O(connection_uri)).
    vars:
      - name: inventory_hostname
      - name: ansible_host
      - name: ansible_winrm_host
      - name: wsman_winrm_host
    type: str
  remote_user:
    description:
      - The user to log in as (V(user), V(DOMAIN\\user) or V(user@REALM)).
      - Unlike C(ansible.builtin.winrm), the user name never chooses the authentication; see O(transport).
    vars:
      - name: ansible_user
      - name: ansible_winrm_user
      - name: wsman_winrm_user
    keyword:
      - name: remote_user
    type: str
  remote_password:
    description:
      - The password of O(remote_user). Never shown, not even at C(-vvvvvv).
    vars:
      - name: ansible_password
      - name: ansible_winrm_pass
      - name: ansible_winrm_password
      - name: wsman_winrm_password
    type: str
    aliases:
      - password
  port:
    description:
      - An explicit port. It always wins. Without a scheme, port 5985 means HTTP (as in C(ansible.builtin.winrm)),
        any other port HTTPS.
      - Without it the port is 5985 (HTTP) or 5986 (HTTPS), or 80/443 with O(legacy_ports), or the
        ports of O(default_ports), or the port of O(connection_uri).
    vars:
      - name: ansible_port
      - name: ansible_winrm_port
      - name: wsman_winrm_port
    keyword:
      - name: port
    type: int
  scheme:
    description:
      - V(http) or V(https). Default V(https), or V(http) when the port is 5985.
    choices: [http, https]
    vars:
      - name: ansible_winrm_scheme
      - name: wsman_winrm_scheme
    type: str
  use_ssl:
    description:
      - V(true) means HTTPS and V(false) HTTP, like C(-UseSSL). It must agree with O(scheme) when both are set.
    vars:
      - name: wsman_winrm_use_ssl
    type: bool
  path:
    description:
      - The URL prefix of the listener. Default C(wsman).
    vars:
      - name: ansible_winrm_path
      - name: wsman_winrm_path
    type: str
  connection_uri:
    description:
      - A connection URI such as C(http://win1.example.com/wsman), as C(-ConnectionUri) takes it. Without a
        port in it the port is 80 (HTTP) or 443 (HTTPS). A port, scheme or path variable contradicting it
        is an error.
    vars:
      - name: wsman_winrm_connection_uri
    ini:
      - section: wsman_winrm_connection
        key: connection_uri
    env:
      - name: WSMAN_WINRM_CONNECTION_URI
    type: str
  legacy_ports:
    description:
      - Reach a WinRM 1.1 host on port 80 (HTTP) or 443 (HTTPS) instead of 5985/5986.
      - A refused connection on 5985/5986 never falls back to these ports by itself.
    vars:
      - name: wsman_winrm_legacy_ports
    ini:
      - section: wsman_winrm_connection
        key: legacy_ports
    env:
      - name: WSMAN_WINRM_LEGACY_PORTS
    type: bool
  default_ports:
    description:
      - "The client's DefaultPorts when they are not 5985/5986, as a mapping (C({http: 8985, https: 8986}))
        or, from C(ansible.cfg) or the environment, as JSON or C(http=8985,https=8986)."
    vars:
      - name: wsman_winrm_default_ports
    ini:
      - section: wsman_winrm_connection
        key: default_ports
    env:
      - name: WSMAN_WINRM_DEFAULT_PORTS
    type: raw
  transport:
    description:
      - The authentication, as a list or a comma separated string; the first supported entry wins.
        V(basic), V(ntlm), V(negotiate), V(kerberos), V(credssp), V(certificate); pywinrm's V(plaintext)
        and V(ssl) mean V(basic).
      - When not set, V(negotiate), whatever the user name looks like, or V(certificate) when only a client
        certificate is given. Basic is never guessed.
      - pywinrm has no Negotiate. Where Negotiate may only use Kerberos (over HTTP to a computer name that is not
        in O(trusted_hosts), or without a password) Kerberos is sent; elsewhere NTLM (choose V(kerberos) for
        Kerberos over HTTPS).
    vars:
      - name: ansible_winrm_transport
      - name: wsman_winrm_auth
    type: list
    elements: str
  kerberos_command:
    description: The C(kinit) command used to get a Kerberos ticket when Ansible manages tickets.
    default: kinit
    vars:
      - name: ansible_winrm_kinit_cmd
    type: str
  kinit_args:
    description:
      - Extra arguments for C(kinit). When set they replace the C(-f) added for C(ansible_winrm_kerberos_delegation).
    vars:
      - name: ansible_winrm_kinit_args
    type: str
  kinit_env_vars:
    description:
      - Environment variables passed through to C(kinit); it otherwise runs with an empty environment.
    default: []
    ini:
      - section: winrm
        key: kinit_env_vars
    vars:
      - name: ansible_winrm_kinit_env_vars
    type: list
    elements: str
  kerberos_mode:
    description:
      - V(managed) lets Ansible get a ticket with C(kinit) and the password; V(manual) uses the ticket the
        user already has. Default V(managed) when Kerberos is used with a password.
    choices: [managed, manual]
    vars:
      - name: ansible_winrm_kinit_mode
    type: str
  kerberos_hostname_override:
    description:
      - The host name used for the Kerberos service principal. It does not allow Kerberos to an IP address.
    vars:
      - name: ansible_winrm_kerberos_hostname_override
      - name: wsman_winrm_kerberos_hostname_override
    type: str
  cert_validation:
    description:
      - V(validate) or V(ignore) the server certificate over HTTPS. Default V(validate).
    vars:
      - name: ansible_winrm_server_cert_validation
      - name: wsman_winrm_cert_validation
    ini:
      - section: wsman_winrm_connection
        key: cert_validation
    env:
      - name: WSMAN_WINRM_CERT_VALIDATION
    type: str
  ca_path:
    description:
      - A PEM bundle of the CAs that may issue the server certificate. Environment variables such as
        C(REQUESTS_CA_BUNDLE) are never read.
    vars:
      - name: ansible_winrm_ca_trust_path
      - name: wsman_winrm_ca_path
    ini:
      - section: wsman_winrm_connection
        key: ca_path
    env:
      - name: WSMAN_WINRM_CA_PATH
    type: path
  cert_fingerprint:
    description:
      - The SHA-256 fingerprint of the server certificate (hex, colons allowed). When set, a server
        presenting any other certificate is refused, in addition to the usual validation.
    vars:
      - name: wsman_winrm_cert_fingerprint
    ini:
      - section: wsman_winrm_connection
        key: cert_fingerprint
    env:
      - name: WSMAN_WINRM_CERT_FINGERPRINT
    type: str
  cert_pem:
    description: The client certificate (PEM file) for certificate authentication.
    vars:
      - name: ansible_winrm_cert_pem
      - name: wsman_winrm_cert_pem
    type: path
  cert_key_pem:
    description: The key of O(cert_pem) (PEM file).
    vars:
      - name: ansible_winrm_cert_key_pem
      - name: wsman_winrm_cert_key_pem
    type: path
  message_encryption:
    description:
      - V(auto), V(always) or V(never). Over HTTP, messages are always encrypted and V(never) is refused;
        over HTTPS V(auto) relies on TLS.
    vars:
      - name: ansible_winrm_message_encryption
      - name: wsman_winrm_message_encryption
    ini:
      - section: wsman_winrm_connection
        key: message_encryption
    env:
      - name: WSMAN_WINRM_MESSAGE_ENCRYPTION
    type: str
  proxy:
    description:
      - The proxy URL (C(http://proxy.example.com:3128)). Credentials in it are moved to O(proxy_username) and
        O(proxy_password) and never shown.
      - HTTPS may go through a proxy. Unencrypted HTTP never does; encrypted HTTP only with O(allow_http_proxy);
        an authenticated proxy needs HTTPS.
    vars:
      - name: ansible_winrm_proxy
      - name: wsman_winrm_proxy
    ini:
      - section: wsman_winrm_connection
        key: proxy
    env:
      - name: WSMAN_WINRM_PROXY
    type: str
  use_env_proxy:
    description:
      - Use C(HTTPS_PROXY) and C(NO_PROXY) from the controller's environment, for HTTPS only. Default
        V(false), unlike C(ansible.builtin.winrm), which uses environment proxies silently.
    vars:
      - name: wsman_winrm_use_env_proxy
    ini:
      - section: wsman_winrm_connection
        key: use_env_proxy
    env:
      - name: WSMAN_WINRM_USE_ENV_PROXY
    type: bool
  proxy_username:
    description: The proxy user name. Never shown.
    vars:
      - name: wsman_winrm_proxy_username
    ini:
      - section: wsman_winrm_connection
        key: proxy_username
    env:
      - name: WSMAN_WINRM_PROXY_USERNAME
    type: str
  proxy_password:
    description: The proxy password. Never shown.
    vars:
      - name: wsman_winrm_proxy_password
    ini:
      - section: wsman_winrm_connection
        key: proxy_password
    env:
      - name: WSMAN_WINRM_PROXY_PASSWORD
    type: str
  allow_http_proxy:
    description:
      - Let message-encrypted HTTP go through an unauthenticated proxy that keeps connection affinity.
    vars:
      - name: wsman_winrm_allow_http_proxy
    ini:
      - section: wsman_winrm_connection
        key: allow_http_proxy
    env:
      - name: WSMAN_WINRM_ALLOW_HTTP_PROXY
    type: bool
  allow_clear_proxy_credentials:
    description:
      - Send the proxy credentials to an C(http://) or SOCKS proxy, which receives them in clear (Basic). Without
        it, an authenticated proxy must be given as an C(https://) URL.
    vars:
      - name: wsman_winrm_allow_clear_proxy_credentials
    ini:
      - section: wsman_winrm_connection
        key: allow_clear_proxy_credentials
    env:
      - name: WSMAN_WINRM_ALLOW_CLEAR_PROXY_CREDENTIALS
    type: bool
  trusted_hosts:
    description:
      - Hosts that may be reached over HTTP with NTLM, Negotiate, CredSSP or Basic, whose identity HTTP
        cannot prove, like the WinRM client's TrustedHosts. A list or a comma separated string of names,
        addresses and wildcards (C(*.example.com), C(192.168.1.*)).
    vars:
      - name: wsman_winrm_trusted_hosts
    ini:
      - section: wsman_winrm_connection
        key: trusted_hosts
    env:
      - name: WSMAN_WINRM_TRUSTED_HOSTS
    type: list
    elements: str
  allow_basic_http:
    description:
      - First of the two switches that allow Basic authentication over HTTP (with O(allow_unencrypted)).
    vars:
      - name: wsman_winrm_allow_basic_http
    ini:
      - section: wsman_winrm_connection
        key: allow_basic_http
    env:
      - name: WSMAN_WINRM_ALLOW_BASIC_HTTP
    type: bool
  allow_unencrypted:
    description:
      - The second switch (with O(allow_basic_http)) that allows unencrypted traffic, which Basic over HTTP always is.
    vars:
      - name: wsman_winrm_allow_unencrypted
    ini:
      - section: wsman_winrm_connection
        key: allow_unencrypted
    env:
      - name: WSMAN_WINRM_ALLOW_UNENCRYPTED
    type: bool
  connection_timeout:
    description:
      - As in C(ansible.builtin.winrm), the WS-Man operation timeout in seconds, with the read timeout
        10 seconds longer. When set it wins over O(read_timeout) and O(operation_timeout).
    vars:
      - name: ansible_winrm_connection_timeout
    type: int
  connect_timeout:
    description:
      - The TCP connect timeout in seconds of the modules' session. pywinrm connects within O(read_timeout).
    vars:
      - name: wsman_winrm_connection_timeout
    ini:
      - section: wsman_winrm_connection
        key: connection_timeout
    env:
      - name: WSMAN_WINRM_CONNECTION_TIMEOUT
    type: int
  read_timeout:
    description:
      - The HTTP read timeout in seconds (pywinrm also uses it to connect); it must exceed
        O(operation_timeout). Default 30.
    vars:
      - name: ansible_winrm_read_timeout_sec
      - name: ansible_winrm_read_timeout
      - name: wsman_winrm_read_timeout
    ini:
      - section: wsman_winrm_connection
        key: read_timeout
    env:
      - name: WSMAN_WINRM_READ_TIMEOUT
    type: int
  operation_timeout:
    description: The WS-Man OperationTimeout in seconds. Default 20.
    vars:
      - name: ansible_winrm_operation_timeout_sec
      - name: wsman_winrm_operation_timeout
    ini:
      - section: wsman_winrm_connection
        key: operation_timeout
    env:
      - name: WSMAN_WINRM_OPERATION_TIMEOUT
    type: int
notes:
  - Other C(ansible_winrm_<name>) variables that match an argument of pywinrm's C(Protocol) (for example
    C(ansible_winrm_kerberos_delegation), C(ansible_winrm_send_cbt)) are passed through as in
    C(ansible.builtin.winrm).
  - C(ansible_winrm_trusted_hosts) and similar names of this collection's options are not read; use the
    C(wsman_winrm_*) names.
  - Every request has an overall deadline (twice the read timeout), and a reply in clear to a message-encrypted
    request is refused as not coming from the host.
"""

EXAMPLES = r"""
# inventory: switch a group from ansible.builtin.winrm
# windows:
#   vars:
#     ansible_connection: wsman.winrm.winrm
#     ansible_winrm_transport: ntlm
#     ansible_winrm_ca_trust_path: /etc/pki/winrm-ca.pem

# a WinRM 1.1 host still listening on 80 (HTTP), inside a trusted domain
# legacy1:
#   ansible_connection: wsman.winrm.winrm
#   ansible_winrm_scheme: http
#   wsman_winrm_legacy_ports: true
#   wsman_winrm_trusted_hosts: "*.corp.example.com"
"""

import json
import re
import traceback
import typing as t
from inspect import getfullargspec

from ansible.errors import AnsibleConnectionFailure
from ansible.module_utils.common.text.converters import to_text
from ansible.utils.display import Display

from ansible_collections.wsman.winrm.plugins.module_utils import compat
from ansible_collections.wsman.winrm.plugins.module_utils.compat import ResolvedProtocol
from ansible_collections.wsman.winrm.plugins.module_utils.endpoint import DEFAULTS as RESOLVER_DEFAULTS, VARIABLES, EndpointError, resolve
from ansible_collections.wsman.winrm.plugins.module_utils.wsman import kerberos_ticket_problem, scrub
from ansible_collections.wsman.winrm.plugins.plugin_utils.builtin_winrm import BuiltinWinRMAdapter, WinRMSettings
from ansible_collections.wsman.winrm.plugins.plugin_utils.connection_options import OWN_PLUGIN, resolver_input

try:
    import requests
    import winrm
    from winrm.protocol import Protocol
    HAS_PYWINRM = True
except ImportError:  # reported by the parent's _connect
    HAS_PYWINRM = False
    Protocol = object  # type: ignore[assignment,misc]

display = Display()

PLUGIN_NAME = OWN_PLUGIN

# plugin option -> the resolver's option (docs/contracts.md section 1, VARIABLES in endpoint.py); the
# unit tests check that each option declares exactly the resolver's variable names.
RESOLVER_OPTIONS: t.Dict[str, str] = {
    "remote_addr": "host",
    "remote_user": "user",
    "remote_password": "password",
    "port": "port",
    "scheme": "scheme",
    "use_ssl": "use_ssl",
    "path": "path",
    "connection_uri": "connection_uri",
    "legacy_ports": "legacy_ports",
    "default_ports": "default_ports",
    "transport": "auth",
    "kerberos_hostname_override": "kerberos_hostname_override",
    "cert_validation": "cert_validation",
    "ca_path": "ca_path",
    "cert_fingerprint": "cert_fingerprint",
    "cert_pem": "client_cert_pem",
    "cert_key_pem": "client_key_pem",
    "message_encryption": "message_encryption",
    "proxy": "proxy",
    "use_env_proxy": "use_env_proxy",
    "proxy_username": "proxy_username",
    "proxy_password": "proxy_password",
    "allow_http_proxy": "allow_http_proxy",
    "allow_clear_proxy_credentials": "allow_clear_proxy_credentials",
    "trusted_hosts": "trusted_hosts",
    "allow_basic_http": "allow_basic_http",
    "allow_unencrypted": "allow_unencrypted",
    "connect_timeout": "connection_timeout",
    "connection_timeout": "winrm_connection_timeout",
    "read_timeout": "read_timeout",
    "operation_timeout": "operation_timeout",
}

SECRET_OPTIONS = ("remote_password", "proxy_password", "proxy_username")

# The resolver's auth -> pywinrm's transport name. pywinrm has no Negotiate: the resolver already
# turned Negotiate into Kerberos wherever only Kerberos may be used; elsewhere NTLM is what pywinrm
# can do without guessing.
PYWINRM_TRANSPORTS = {
    "basic": "basic",
    "ntlm": "ntlm",
    "negotiate": "ntlm",
    "kerberos": "kerberos",
    "credssp": "credssp",
    "certificate": "certificate",
}

# Protocol arguments the endpoint decides; same-named ansible_winrm_* extras never override them.
ENDPOINT_KWARGS = frozenset((
    "self", "endpoint", "transport", "username", "password", "server_cert_validation", "ca_trust_path",
    "cert_pem", "cert_key_pem", "message_encryption", "proxy", "read_timeout_sec", "operation_timeout_sec",
    "kerberos_hostname_override", "scheme", "path", "kinit_mode", "kinit_cmd",
))

# The client's WinRM 2.0 default ports, from the one resolver's table.
CLIENT_DEFAULT_PORTS = tuple(RESOLVER_DEFAULTS["client_ports"].values())


def parse_default_ports(value: t.Any) -> t.Any:
    """ansible.cfg/environment text -> the mapping the resolver expects; mappings pass unchanged."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.startswith("{"):
        try:
            return json.loads(text)
        except ValueError:
            return value  # the resolver names the variable and the expected form
    pairs = [item.split("=", 1) for item in text.split(",") if item.strip()]
    if pairs and all(len(pair) == 2 for pair in pairs):
        return {key.strip().lower(): port.strip() for key, port in pairs}
    return value


class Connection(BuiltinWinRMAdapter):
    """ansible.builtin.winrm with the endpoint from wsman.winrm's resolver."""

    transport = PLUGIN_NAME

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self._wsman_endpoint = None
        self._wsman_notes: t.List[str] = []
        self._winrm_host = None
        self._wsman_given: t.Dict[str, t.Any] = {"var_options": {}, "task_keys": {}, "direct": {}}

    # -- what the user gave, for the option system ------------------------------------------------
    def set_options(self, task_keys: t.Any = None, var_options: t.Any = None, direct: t.Any = None) -> None:
        super().set_options(task_keys=task_keys, var_options=var_options, direct=direct)
        self._wsman_given = {"var_options": dict(var_options or {}), "task_keys": dict(task_keys or {}),
                             "direct": dict(direct or {})}

    def set_option(self, option: str, value: t.Any) -> None:
        super().set_option(option, value)
        self._wsman_given["direct"][option] = value  # win_reboot sets connection_timeout this way

    def _resolver_host_vars(self) -> t.Dict[str, t.Any]:
        """The resolver's input, built by the same code as for the modules and the filter."""
        given = self._wsman_given
        variables = {name: value for name, value in given["var_options"].items() if name != "_extras"}
        variables.update((given["var_options"].get("_extras") or {}) if self.allow_extras else {})
        keys = {name: given["task_keys"].get(name) for name in ("remote_user", "port", "password")
                if given["task_keys"].get(name) is not None}
        host_vars, _plugin, notes = resolver_input(variables, PLUGIN_NAME, keys=keys, direct=given["direct"])
        host_vars = dict(host_vars)
        if "wsman_winrm_default_ports" in host_vars:
            host_vars["wsman_winrm_default_ports"] = parse_default_ports(host_vars["wsman_winrm_default_ports"])
        self._wsman_notes = notes
        return host_vars

    def _passthrough_kwargs(self) -> t.Dict[str, t.Any]:
        """ansible_winrm_<arg> extras naming other pywinrm Protocol arguments, as ansible.builtin.winrm passes them."""
        extras = self.get_option("_extras") if self.allow_extras else {}
        supported = set(getfullargspec(Protocol.__init__).args) if HAS_PYWINRM else set()
        own_names = {name for row in VARIABLES.values() for name in row.get("wsman", [])}
        resolver_names = {name for row in VARIABLES.values() for family in ("winrm", "generic")
                          for name in row.get(family, [])}
        kwargs = {}
        for variable, value in sorted((extras or {}).items()):
            argument = variable[len("ansible_winrm_"):]
            if variable in resolver_names:
                continue  # read through this plugin's options
            if "wsman_winrm_" + argument in own_names:
                display.warning("%s is not read by %s; use wsman_winrm_%s" % (variable, PLUGIN_NAME, argument))
            elif argument in ENDPOINT_KWARGS:
                continue
            elif argument in supported:
                kwargs[argument] = value
            else:
                display.warning("%s unsupported by pywinrm (is an up-to-date version of pywinrm installed?)"
                                % variable)
        return kwargs

    def winrm_settings(self) -> WinRMSettings:
        """Resolve the endpoint and derive pywinrm's arguments; refuse here, before any byte is sent."""
        host_vars = self._resolver_host_vars()
        try:
            endpoint = resolve(host_vars, connection=PLUGIN_NAME)
        except EndpointError as error:
            raise AnsibleConnectionFailure(self._scrub("%s refused the connection: %s" % (PLUGIN_NAME, error))) from None
        self._wsman_endpoint = endpoint
        transport = PYWINRM_TRANSPORTS[endpoint.auth]

        kinit_mode = self.get_option("kerberos_mode")
        if kinit_mode is None:
            kerberos_managed = transport == "kerberos" and bool(endpoint.password)
        else:
            kerberos_managed = kinit_mode == "managed"
        if transport == "kerberos" and not kerberos_managed:
            problem = kerberos_ticket_problem(endpoint.username)
            if problem is not None:
                raise AnsibleConnectionFailure(
                    "%s (kerberos): %s, and no password is given: Windows requires explicit credentials or a Kerberos "
                    "ticket; run kinit for the user, or set ansible_password" % (endpoint.url, problem))

        kwargs = self._passthrough_kwargs()
        validate = endpoint.cert_validation is not False
        kwargs.update(
            username=endpoint.username,
            password=endpoint.password,
            server_cert_validation="validate" if validate else "ignore",
            # None, not pywinrm's "legacy_requests": the CA never comes from REQUESTS_CA_BUNDLE.
            ca_trust_path=endpoint.cert_validation if isinstance(endpoint.cert_validation, str) else None,
            cert_pem=endpoint.client_cert_pem,
            cert_key_pem=endpoint.client_key_pem,
            message_encryption=endpoint.encryption,
            proxy=endpoint.proxy_url_with_credentials(),
            read_timeout_sec=endpoint.read_timeout,
            operation_timeout_sec=endpoint.operation_timeout,
        )
        override = self.get_option("kerberos_hostname_override")
        if override and transport == "kerberos":
            kwargs["kerberos_hostname_override"] = override
        self._log_endpoint(endpoint, transport)
        return WinRMSettings(host=endpoint.host, port=endpoint.port, scheme=endpoint.scheme, path="/" + endpoint.path,
                             user=endpoint.username, password=endpoint.password, transport=transport,
                             kerberos_managed=kerberos_managed, kinit_command=self.get_option("kerberos_command"),
                             protocol_kwargs=kwargs)

    def _log_endpoint(self, endpoint: t.Any, transport: str) -> None:
        # Named like the task's other output: by inventory host, so a run over many hosts can be read.
        host = self._wsman_given["var_options"].get("inventory_hostname") or endpoint.host
        proxy = "none"
        if endpoint.proxy:
            authenticated = endpoint.proxy_username is not None or endpoint.proxy_password is not None
            proxy = endpoint.proxy + (" (authenticated)" if authenticated else "")
        display.vvv("WSMAN ENDPOINT %s auth=%s (pywinrm transport %s) encryption=%s cert_validation=%s%s proxy=%s"
                    % (endpoint.url, endpoint.auth, transport, endpoint.encryption, endpoint.cert_validation,
                       " pinned" if endpoint.cert_fingerprint else "", proxy), host=host)
        for note in self._wsman_notes:
            display.vvv("WSMAN OPTION %s" % note, host=host)
        for decision in endpoint.decisions:
            display.vvv("WSMAN DECISION %s" % decision, host=host)
        display.vvv("WSMAN DECISION pywinrm applies the read timeout (%ds) to connecting as well; every request "
                    "ends within %ds" % (endpoint.read_timeout, 2 * endpoint.read_timeout), host=host)
        if endpoint.auth == "negotiate":
            display.vvv("WSMAN DECISION auth negotiate is sent as NTLM: pywinrm has no Negotiate; set "
                        "ansible_winrm_transport: kerberos to use Kerberos", host=host)

    # -- connecting -------------------------------------------------------------------------------
    def open_protocol(self, settings: WinRMSettings) -> t.Any:
        endpoint = self._wsman_endpoint
        display.vvv("ESTABLISH WINRM CONNECTION FOR USER: %s TO %s" % (settings.user, endpoint.url), host=settings.host)
        if settings.transport == "kerberos" and settings.kerberos_managed:
            self.kinit(settings.user, settings.password)
        try:
            protocol = ResolvedProtocol(endpoint.url, pinned_sha256=endpoint.cert_fingerprint,
                                        transport=settings.transport, **settings.protocol_kwargs)
            if not self.shell_id:
                self.shell_id = protocol.open_shell(codepage=65001)  # UTF-8
                display.vvvvv("WINRM OPEN SHELL: %s" % self.shell_id, host=settings.host)
            return protocol
        except Exception as error:  # every failure becomes one clear, secret-free message
            display.vvvvv("WINRM CONNECTION ERROR: %s" % self._scrub(traceback.format_exc()), host=settings.host)
            raise AnsibleConnectionFailure(self._connect_error_message(error)) from None

    def _connect_error_message(self, error: BaseException) -> str:
        endpoint = self._wsman_endpoint
        text = self._scrub(to_text(error).strip())
        where = "%s (%s)" % (endpoint.url, endpoint.auth)
        if isinstance(error, compat.DeadlineExceeded):
            return ("%s: no complete reply within %g seconds although the connection stayed open: a reply trickling "
                    "in is not waited for; check the network path and proxies" % (where, error.seconds))
        if isinstance(error, compat.UnencryptedReply):
            return ("%s: a message-encrypted request got an unencrypted reply (HTTP %s, %s): refused, as anyone on the "
                    "network path could have written it" % (where, error.status, error.content_type))
        if isinstance(error, compat.UndecryptableReply):
            return "%s: the encrypted reply cannot be decrypted (%s)" % (where, text)
        if isinstance(error, (compat.ReplyTooLarge, compat.DocumentTypeDeclared)):
            return "%s: the reply is not a valid WS-Management message: %s" % (where, text or type(error).__name__)
        if HAS_PYWINRM and isinstance(error, winrm.exceptions.InvalidCredentialsError):
            return "%s: the server rejected the credentials of %s" % (where, endpoint.username or "the client certificate")
        if "Fingerprints did not match" in text:
            return ("%s: the server certificate does not match the pinned SHA-256 fingerprint "
                    "(wsman_winrm_cert_fingerprint); refusing to talk to it: %s" % (where, text))
        if HAS_PYWINRM and isinstance(error, requests.exceptions.SSLError):
            if re.search(r"wrong.version.number|record layer failure|http.request", text, re.I):
                return ("%s: port %d speaks plain HTTP, not TLS (the TLS handshake got an HTTP answer): set "
                        "ansible_winrm_scheme: http for it, or use the HTTPS listener's port" % (where, endpoint.port))
            return ("%s: TLS failed (server certificate not trusted or handshake refused; the CA comes from "
                    "ansible_winrm_ca_trust_path, never from REQUESTS_CA_BUNDLE): %s" % (where, text))
        if HAS_PYWINRM and isinstance(error, requests.exceptions.ProxyError):
            return "%s: the proxy %s failed: %s" % (where, endpoint.proxy, text)
        # A WinRM 1.1 host has no listener on 5985/5986 and no firewall rule for them either: the
        # attempt is refused, or (Windows Firewall dropping the SYN) times out.
        legacy_hint = ""
        if endpoint.port in CLIENT_DEFAULT_PORTS and not endpoint.proxy:
            legacy_hint = (". Port %d is the WinRM 2.0 default; a WinRM 1.1 host listens on 80 (HTTP) / 443 "
                           "(HTTPS) instead: if this host is one, set wsman_winrm_legacy_ports: true (or an "
                           "explicit ansible_port, or wsman_winrm_connection_uri). %s never falls back to "
                           "another port by itself" % (endpoint.port, PLUGIN_NAME))
        if HAS_PYWINRM and isinstance(error, requests.exceptions.Timeout) or re.search(r"timed\s+out", text, re.I):
            connecting = HAS_PYWINRM and isinstance(error, requests.exceptions.ConnectTimeout)
            return "%s: the connection attempt timed out: %s%s" % (where, text, legacy_hint if connecting else "")
        if _connection_refused(error):
            return "%s: connection refused%s" % (where, legacy_hint)
        return "%s: %s" % (where, text)

    def _scrub(self, text: str) -> str:
        """Remove every secret this connection knows from a message, raw and URL-quoted."""
        secrets = []
        for option in SECRET_OPTIONS:
            try:
                value = self.get_option(option)
            except KeyError:
                value = None
            if value:
                secrets.append(str(value))
        endpoint = self._wsman_endpoint
        if endpoint is not None:
            secrets += [s for s in (endpoint.password, endpoint.proxy_username, endpoint.proxy_password) if s]
        return scrub(text, secrets).replace("********", "<redacted>")

    def reset(self) -> None:
        self._wsman_endpoint = None
        super().reset()


def _connection_refused(error: BaseException) -> bool:
    seen = set()
    pending = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ConnectionRefusedError):
            return True
        if "Connection refused" in str(current) or "[Errno 111]" in str(current):
            return True
        pending += [current.__cause__, current.__context__]
        pending += [arg for arg in getattr(current, "args", ()) if isinstance(arg, BaseException)]
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            pending.append(reason)
    return False
