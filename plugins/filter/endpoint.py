# -*- coding: utf-8 -*-
# Copyright: (c) wsman.winrm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters on top of the endpoint resolver: ``endpoint`` and ``collector_url`` (docs: the .yml files beside)."""
from __future__ import annotations

import ipaddress
import typing as t

from ansible.errors import AnsibleFilterError

from ansible_collections.wsman.winrm.plugins.module_utils.endpoint import EndpointError, resolve
from ansible_collections.wsman.winrm.plugins.plugin_utils.connection_options import resolver_input

# Keys of the endpoint filter's result: everything a playbook needs, no credentials.
ENDPOINT_KEYS = ("url", "scheme", "host", "port", "path", "auth", "encryption", "cert_validation",
                 "cert_fingerprint", "proxy", "proxy_authenticated", "decisions")

WINRM_STATES = ("new", "winrm11", "upgraded")

# Source-initiated subscriptions: the Server= value for a new subscription that works, per
# (collector state, source state). From Microsoft's "Details on secure port configuration for
# WS-Management in Windows 7 and Windows Server 2008 R2", "Event forwarding", the two source-initiated tables
# (existing subscriptions naming the collector as Server=<FQDN> and as Server=http://<FQDN>). Where the
# two tables differ, the value chosen works in both. "{fqdn}" is replaced by the collector's FQDN.
SOURCE_INITIATED_SERVER: t.Dict[t.Tuple[str, str], t.Dict[str, str]] = {
    ("new", "new"): {
        "server": "{fqdn}",
        "microsoft": "Can specify the collector as Server=http://<FQDN>:5985 or Server=<FQDN>"},
    ("new", "winrm11"): {
        "server": "http://{fqdn}:5985",
        "microsoft": "Need to specify the collector as Server=http://<FQDN>:5985 (a 1.1 source defaults to port 80)"},
    ("new", "upgraded"): {
        "server": "{fqdn}",
        "microsoft": "Can specify the collector as Server=http://<FQDN>:5985 or Server=<FQDN>"},
    ("winrm11", "new"): {
        "server": "http://{fqdn}",
        "microsoft": "Need to specify the collector as Server=http://<FQDN> (a 2.0 source would use 5985; the "
                     "collector listens on 80); update existing subscriptions the same way"},
    ("winrm11", "winrm11"): {
        "server": "{fqdn}",
        "microsoft": "The event forwarding works correctly"},
    ("winrm11", "upgraded"): {
        "server": "http://{fqdn}",
        "microsoft": "Need to specify the collector as Server=http://<FQDN>; update existing subscriptions the same way"},
    ("upgraded", "new"): {
        "server": "{fqdn}",
        "microsoft": "Works correctly / can specify Server=http://<FQDN>:5985 or Server=<FQDN>"},
    ("upgraded", "winrm11"): {
        # Table one says it works (the compatibility listener on 80), table two needs :5985; 5985 works in both.
        "server": "http://{fqdn}:5985",
        "microsoft": "Need to specify the collector as Server=http://<FQDN>:5985 (works with either existing form)"},
    ("upgraded", "upgraded"): {
        "server": "{fqdn}",
        "microsoft": "Works correctly / can specify Server=http://<FQDN>:5985 or Server=<FQDN>"},
}


def endpoint(host_vars: t.Mapping[str, t.Any], connection: t.Optional[str] = None) -> t.Dict[str, t.Any]:
    """Host variables -> the resolved endpoint, without credentials."""
    if not isinstance(host_vars, t.Mapping):
        raise AnsibleFilterError("wsman.winrm.endpoint expects the host's variables (a dict, e.g. "
                                 "hostvars[inventory_hostname]), got %s" % type(host_vars).__name__)
    if connection is None:
        connection = host_vars.get("ansible_connection")
    connection = None if connection is None else str(connection)
    try:
        # The same input the modules and the connection plugin give the resolver: the connection
        # plugin's options as ansible-core reads them.
        variables, plugin, _notes = resolver_input(host_vars, connection)
        resolved = resolve(variables, plugin or connection)
    except EndpointError as error:
        raise AnsibleFilterError("wsman.winrm.endpoint: %s" % error) from None
    redacted = resolved.redacted()
    return {key: redacted[key] for key in ENDPOINT_KEYS}


def collector_url(fqdn: str, collector: str = "new", source: str = "new") -> str:
    """Collector FQDN -> the Server= value of a source-initiated subscription that works (Microsoft's
    event-forwarding tables)."""
    name = str(fqdn or "").strip()
    if not name or "://" in name or "/" in name:
        raise AnsibleFilterError("wsman.winrm.collector_url expects the collector's FQDN (win-ec.example.com), "
                                 "got %r" % fqdn)
    for label, state in (("collector", collector), ("source", source)):
        if state not in WINRM_STATES:
            raise AnsibleFilterError("wsman.winrm.collector_url: %s must be one of %s, got %r"
                                     % (label, ", ".join(WINRM_STATES), state))
    try:
        ipaddress.IPv6Address(name.strip("[]"))
        name = "[%s]" % name.strip("[]")
    except ValueError:
        pass
    return SOURCE_INITIATED_SERVER[(collector, source)]["server"].format(fqdn=name)


class FilterModule:
    """wsman.winrm endpoint filters."""

    def filters(self) -> t.Dict[str, t.Callable[..., t.Any]]:
        return {"endpoint": endpoint, "collector_url": collector_url}
