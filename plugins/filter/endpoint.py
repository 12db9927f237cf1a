# -*- coding: utf-8 -*-
# Copyright: (c) wsman.winrm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The filter on top of the endpoint resolver: ``endpoint`` (docs: endpoint.yml beside).

``collector_url`` lives with the other event-forwarding filters in event_forwarding.py."""
from __future__ import annotations

import typing as t

from ansible.errors import AnsibleFilterError

from ansible_collections.wsman.winrm.plugins.module_utils.endpoint import EndpointError, resolve
from ansible_collections.wsman.winrm.plugins.plugin_utils.connection_options import resolver_input

# Keys of the endpoint filter's result: everything a playbook needs, no credentials.
ENDPOINT_KEYS = ("url", "scheme", "host", "port", "path", "auth", "encryption", "cert_validation",
                 "cert_fingerprint", "proxy", "proxy_authenticated", "decisions")


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


class FilterModule:
    """wsman.winrm endpoint filters."""

    def filters(self) -> t.Dict[str, t.Callable[..., t.Any]]:
        return {"endpoint": endpoint}
