# Copyright (c) 2026 wsman.winrm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""wsman.winrm.info: read the whole WinRM configuration of a host in a handful of requests."""

from __future__ import annotations

import dataclasses
import typing as t

from ansible.errors import AnsibleActionFail

from ansible_collections.wsman.winrm.plugins.module_utils import argspecs, certificates
from ansible_collections.wsman.winrm.plugins.module_utils.endpoint import EndpointError
from ansible_collections.wsman.winrm.plugins.module_utils.guards import serves
from ansible_collections.wsman.winrm.plugins.module_utils.resources import CERTIFICATES, FIREWALL_PART, read_all
from ansible_collections.wsman.winrm.plugins.module_utils.wsman import Session, TLSFailed, WSManError
from ansible_collections.wsman.winrm.plugins.plugin_utils import remoting
from ansible_collections.wsman.winrm.plugins.plugin_utils.wsman_action import WSManAction

try:
    import jmespath
except ImportError:  # only needed for the query option
    jmespath = None

# A listener the controller cannot reach (a filtering firewall) should not hold the task for long.
TLS_CHECK_CONNECT_TIMEOUT = 10


class ActionModule(WSManAction):
    argument_spec = argspecs.INFO["argument_spec"]

    def manage(self, session, args: dict[str, t.Any], task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        parts = set(args["gather"])
        # What the asked parts need is read and reported too; the listeners' certificates are part
        # of what the certificates part reports.
        read = remoting.config_parts(parts) | (parts & {CERTIFICATES, FIREWALL_PART})
        if CERTIFICATES in parts:
            read.add("listeners")
        snapshot = read_all(session, parts=read)
        report = snapshot.to_dict(parts=read, certificate_window=args["certificate_expiry_days"])
        if CERTIFICATES in parts:
            for listener, view in zip(certificates.https_listeners(snapshot.listeners),
                                      report[CERTIFICATES]["listeners"]):
                view["tls"] = self._tls(session, listener, task_vars) if args["check_tls"] \
                    else certificates.tls_view(None, None)
        report.update(remoting.gather(session, parts, snapshot))
        report["endpoint"] = session.endpoint.redacted()
        if args.get("query"):
            if jmespath is None:
                raise AnsibleActionFail("The query option needs the Python package jmespath on the controller.")
            try:
                report["query_result"] = jmespath.search(args["query"], report)
            except jmespath.exceptions.JMESPathError as error:
                raise AnsibleActionFail(f"query is not a valid JMESPath expression: {error}") from None
        return report

    # ---- certificates ---------------------------------------------------------------------------

    def _tls(self, session: Session, listener: t.Any, task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        """The certificate the controller is served in the TLS handshake with this listener: from the
        task's own session when it runs through that listener, else from an Identify through a second
        session to its port (the host's connection variables, over HTTPS)."""
        named = listener.get("certificate_thumbprint")
        if listener.get("enabled") is False:
            return certificates.tls_view(named, None, "the listener is disabled")
        if serves(session.endpoint, listener) and session.peer_certificate is not None:
            return certificates.tls_view(named, session.peer_certificate)
        address = listener.get("address") or "*"
        host = session.endpoint.host
        if address.upper().startswith("IP:") and address[3:].strip("[]") != host:
            return certificates.tls_view(named, None, "the listener takes connections to %s only; the controller "
                                         "connects to %s" % (address[3:], host))
        try:
            endpoint = self.endpoint_on(task_vars, "https", listener.get("port"))
        except EndpointError as error:
            return certificates.tls_view(named, None, "no HTTPS endpoint for port %s: %s" % (listener.get("port"), error))
        endpoint = dataclasses.replace(endpoint, connection_timeout=min(endpoint.connection_timeout,
                                                                        TLS_CHECK_CONNECT_TIMEOUT))
        probe = Session(endpoint)
        try:
            probe.identify()
            return certificates.tls_view(named, probe.peer_certificate)
        except TLSFailed as error:
            return certificates.tls_view(named, None, "the controller refused the TLS handshake: %s" % error.message)
        except WSManError as error:
            served = probe.peer_certificate  # the handshake may have succeeded before the request failed
            if served is not None:
                return certificates.tls_view(named, served)
            return certificates.tls_view(named, None, str(error))
        finally:
            probe.close()
