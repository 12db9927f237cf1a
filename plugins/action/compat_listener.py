# Copyright (c) 2026 wsman.winrm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""wsman.winrm.compat_listener: the WinRM 1.1 compatibility listeners on ports 80 and 443.

They are not listeners one can address (seed 000: "not directly addressable ... cannot be retrieved
via winrm get and their settings cannot be modified"): they are on or off through
EnableCompatibilityHttpListener / EnableCompatibilityHttpsListener in winrm/config/service, and
Group Policy may hold those values (HttpCompatibilityListener / HttpsCompatibilityListener).
"""

from __future__ import annotations

import typing as t

from ansible_collections.wsman.winrm.plugins.module_utils import argspecs, resources
from ansible_collections.wsman.winrm.plugins.plugin_utils.wsman_action import WSManAction


class Compatibility(t.NamedTuple):
    transport: str
    path: str  # the service setting, as a dotted path of the model
    port: int  # the WinRM 1.1 port (seed 000)


COMPATIBILITY = {
    "http": Compatibility("HTTP", "service.enable_compatibility_http_listener", 80),
    "https": Compatibility("HTTPS", "service.enable_compatibility_https_listener", 443),
}


def predicted_compatibility_listeners(snapshot: resources.ConfigSnapshot,
                                      config_after: resources.WinRMConfig) -> list[resources.Listener]:
    """The compatibility listeners Enumerate shows after the change, as Windows makes them:
    Address *, port 80/443, URLPrefix wsman, enabled; the HTTPS one with the service's
    CertificateThumbprint, else the certificate of the HTTPS listener [INF: what the simulator does]."""
    existing = {(item.get("transport") or "").upper(): item for item in snapshot.listeners if item.is_compatibility}
    wildcard = next((item for item in snapshot.listeners if (item.get("address") or "") == "*"), None)
    result = []
    for spec in COMPATIBILITY.values():
        transport = spec.transport
        if not config_after.get(spec.path):
            continue
        if transport in existing:
            result.append(existing[transport])
            continue
        thumbprint: str | None = ""
        if transport == "HTTPS":
            https = [item for item in snapshot.listeners
                     if not item.is_compatibility and (item.get("transport") or "").upper() == "HTTPS"
                     and item.get("certificate_thumbprint")]
            thumbprint = (config_after.service.get("certificate_thumbprint")
                          or (https[0].get("certificate_thumbprint") if https else None))
        listener = resources.Listener({"address": "*", "transport": transport, "port": spec.port, "hostname": "",
                                       "enabled": True, "url_prefix": "wsman"},
                                      source=resources.SOURCE_COMPATIBILITY)
        listener.values["certificate_thumbprint"] = thumbprint
        listener.values["listening_on"] = list(wildcard.get("listening_on") or []) if wildcard is not None else None
        result.append(listener)
    return result


# The predefined rule for port 80 (PowerShell-Docs: WINRM-HTTP-Compat-In-TCP, "Windows Remote
# Management - Compatibility Mode (HTTP-In)"). Windows predefines no rule for port 443.
COMPAT_FIREWALL_RULE = "WINRM-HTTP-Compat-In-TCP"
SEED_000_FIREWALL = "When the compatibility listener is enabled, the firewall rule for port 80 will be enabled"


def firewall_warnings(before: dict[str, bool], after: dict[str, bool], managed: list[str]) -> list[str]:
    """Every run says it: the firewall rules go with the listeners, and clients on 80/443 need them."""
    warnings = []
    for option in managed or list(COMPATIBILITY):
        transport, port = COMPATIBILITY[option].transport, COMPATIBILITY[option].port
        if transport == "HTTP":
            rule = f"the Windows firewall rule for port 80 ({COMPAT_FIREWALL_RULE})"
            if after[option] and not before[option]:
                state = (f"The HTTP compatibility listener is turned on, and Windows enables {rule} with it "
                         f"(seed 000: '{SEED_000_FIREWALL}'): WinRM now answers on the web port 80.")
            elif before[option] and not after[option]:
                state = (f"The HTTP compatibility listener is turned off; {rule}, which Windows enabled with it, is "
                         "left as it is (Windows documents only the enabling): disable it with "
                         "wsman.winrm.firewall_rule if nothing else needs port 80.")
            else:
                state = (f"The HTTP compatibility listener is {'on' if after[option] else 'off'}; {rule} follows it: "
                         f"'{SEED_000_FIREWALL}'.")
        else:
            state = (f"The HTTPS compatibility listener is {'on' if after[option] else 'off'}"
                     f"{' (changed)' if before[option] != after[option] else ''}; Windows predefines no firewall "
                     "rule for port 443, so it is reachable only where a rule of yours allows port 443.")
        new_port = 5985 if transport == "HTTP" else 5986
        warnings.append(state + f" Clients still on port {port} (WinRM 1.1 clients, connection URIs without a "
                                f"port) depend on this listener: move them to port {new_port} before turning it off.")
    return warnings


class ActionModule(WSManAction):
    argument_spec = argspecs.COMPAT_LISTENER["argument_spec"]

    def execute(self, session, args: dict[str, t.Any], task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        desired = {spec.path: args.get(option) for option, spec in COMPATIBILITY.items()}
        managed = [option for option in COMPATIBILITY if args.get(option) is not None]
        snapshot = resources.read_all(session, parts=("config", "listeners"))
        result: dict[str, t.Any] = {}

        changes = resources.diff(snapshot.config, desired)
        refused_by_policy = changes["policy_controlled"] and args.get("policy_controlled", "fail") == "fail"
        to_send = {path: change["after"] for path, change in changes["changes"].items()}
        config_after = snapshot.config.updated(to_send)
        predicted = [item for item in snapshot.listeners if not item.is_compatibility]
        predicted += predicted_compatibility_listeners(snapshot, config_after)
        cuts_own_connection = False
        if not refused_by_policy:  # a policy refusal comes first, from converge_config, with nothing sent
            cuts_own_connection = self._guard_listeners(session, snapshot, config_after, predicted, args, result)

        converged = self.converge_config(session, snapshot, desired, args, scope="service")
        warnings = result.pop("warnings", []) + converged.pop("warnings", [])

        def view(config: t.Any) -> dict[str, bool]:
            return {option: bool(config.get(spec.path)) for option, spec in COMPATIBILITY.items()}

        before = view(snapshot.config)
        after = view(config_after)
        if converged["changed"] and not self._task.check_mode:
            if cuts_own_connection:  # forced: the connection is gone, the prediction is all there is
                compatibility = [item for item in predicted if item.is_compatibility]
            else:  # Enumerate again: what Windows made is the answer, not the prediction
                listeners = [resources.Listener.from_xml(item) for item in session.enumerate(resources.LISTENER_URI)]
                compatibility = [item for item in listeners if item.is_compatibility]
            service_after = converged["after"]  # scope "service": what Windows answered the Put with
            after = {option: bool(service_after.get(spec.path.split(".", 1)[1]))
                     for option, spec in COMPATIBILITY.items()}
        else:
            compatibility = [item for item in predicted if item.is_compatibility]
        result.update(
            changed=converged["changed"],
            changes=converged.get("changes", []),
            before=before,
            after=after,
            compatibility_listeners=[item.to_dict() for item in compatibility],
        )
        if "policy_skipped" in converged:
            result["policy_skipped"] = converged["policy_skipped"]
        if self._task.diff:
            result["diff"] = {"before": before, "after": after, "before_header": "winrm/config/service compatibility",
                              "after_header": "winrm/config/service compatibility"}
        result["warnings"] = warnings + firewall_warnings(before, after, managed)
        return result

    def _guard_listeners(self, session, snapshot: resources.ConfigSnapshot, config_after: resources.WinRMConfig,
                         listeners_after: list[resources.Listener], args: dict[str, t.Any],
                         result: dict[str, t.Any]) -> bool:
        """The shared anti-lockout guard over the predicted listeners (it sees a task dialling port
        80/443 through the compatibility listener). True when the change goes ahead although it
        cuts this connection (force)."""
        warned = len(result.get("warnings", []))
        self.guard_lockout(session, config_after, snapshot.listeners, listeners_after, args.get("force", False), result)
        return len(result.get("warnings", [])) > warned
