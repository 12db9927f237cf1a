# -*- coding: utf-8 -*-
# Copyright: contributors to the wsman.winrm collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The resource model of a WinRM host: the whole picture one read gives, and the model's public names.

The model is split along the change pipeline: ``config`` (the ``winrm/config`` tree: settings,
listeners, CertMapping entries), ``policy`` (the Group Policy values and their registry access) and
``firewall`` (the Windows Firewall rules over CIM). This module reads them together
(``read_all``: one Get of ``winrm/config``, one Enumerate per table, the policy values) into a
``ConfigSnapshot``, and re-exports their names so callers import one module.
"""

from __future__ import annotations

import dataclasses
import datetime
import typing as t

from ansible_collections.wsman.winrm.plugins.module_utils import certificates as machine_certificates

# Re-exported: the model's public names, from the module that owns each.
from ansible_collections.wsman.winrm.plugins.module_utils.config import (  # noqa: F401
    Auth, CERTMAPPING_URI, CONFIG_URI, CertMapping, ClientAuth, ClientConfig, ClientDefaultPorts, DefaultPorts,
    Field, InvalidReply, LISTENER_URI, Listener, REPLY_HINT, Resource, SOURCE_COMPATIBILITY, SOURCE_GPO, Section,
    ServiceAuth, ServiceConfig, ServiceDefaultPorts, URI_PREFIX, WinRMConfig, Winrs, certmapping_selectors, diff,
    listener_selectors, local_name, reply_int,
)
from ansible_collections.wsman.winrm.plugins.module_utils.firewall import (  # noqa: F401
    CIM_STANDARD_URI, CimInstance, FIREWALL_ADDRESS_FILTER_URI, FIREWALL_ADDRESS_KEYWORDS, FIREWALL_ALL_PROFILES,
    FIREWALL_PORT_FILTER_URI, FIREWALL_PROFILE_BITS, FIREWALL_RULE_URI, FIREWALL_SOURCE_GROUP_POLICY,
    FirewallAddressFilter, FirewallPortFilter, FirewallRule, FirewallRuleInstance, WINRM_FIREWALL_GROUPS,
    firewall_address, firewall_addresses, firewall_covered_profiles, firewall_profile_mask, firewall_profiles,
    read_firewall_rules, same_firewall_addresses, winrm_firewall_rules,
)
from ansible_collections.wsman.winrm.plugins.module_utils.wsman import expand_uri  # noqa: F401
from ansible_collections.wsman.winrm.plugins.module_utils.policy import (  # noqa: F401
    CUTS_REMOTE_MANAGEMENT, GPO_LOCATIONS, HKEY_LOCAL_MACHINE, InvalidValue, MAX_DWORD, NOT_CONFIGURED, POLICY_KEYS,
    POLICY_ROOT, POLICY_SETTINGS, PolicyOption, PolicySetting, PolicyValues, REG_DWORD, REG_RETURN_ACCESS_DENIED,
    REG_RETURN_NOT_FOUND, REG_SZ, STDREGPROV_URI, SYSTEM_POLICIES, TOP_LEVEL, Write, _CLIENT, _SERVICE, _WINRS,
    argument_spec, check_ip_filter, desired_options, diff_view, effective_settings, is_gate, option_for, option_name,
    option_scope, parse_value, pending_writes, policy_options, policy_setting, registry_delete_value,
    registry_enum_values, registry_get_value, registry_set_value, registry_write, same_value, short_key,
    values_after, write_order, writes_for,
)

# The parts of the configuration read_all() can read; info's "gather" option chooses among them.
ALL_PARTS = ("config", "listeners", "cert_mappings", "policy")
# Read only when asked for (a request per certificate): the machine's certificate stores.
CERTIFICATES = "certificates"
# Read only when asked (three Enumerates of CIM classes that hold every rule of the host).
FIREWALL_PART = "firewall"


@dataclasses.dataclass
class ConfigSnapshot:
    config: WinRMConfig
    listeners: list[Listener]
    cert_mappings: list[CertMapping]
    policy: PolicyValues
    certificates: machine_certificates.MachineCertificates | None = None
    firewall: list[FirewallRule] | None = None   # every rule of the host; None = not read

    def find_listener(self, address: str, transport: str) -> Listener | None:
        """The real (non-compatibility) listener with these selectors."""
        for listener in self.listeners:
            if listener.matches(address, transport):
                return listener
        return None

    def find_cert_mapping(self, uri: str, subject: str, issuer: str) -> CertMapping | None:
        for mapping in self.cert_mappings:
            if mapping.matches(uri, subject, issuer):
                return mapping
        return None

    def policy_controlled(self) -> list[str]:
        """Settings (dotted paths) and listeners under Group Policy."""
        paths = self.config.policy_controlled()
        paths += ["listener[%s:%s]" % (l.get("address"), l.get("transport"))
                  for l in self.listeners if l.source == SOURCE_GPO]
        return paths

    def security_summary(self) -> dict[str, t.Any]:
        client, service = self.config.client, self.config.service
        enabled = [l for l in self.listeners if l.get("enabled", True)]
        transports = {(l.get("transport") or "").upper() for l in enabled}
        trusted = client.get("trusted_hosts") or []
        return {
            "basic_enabled": {"service": bool(service.get("auth.basic")), "client": bool(client.get("auth.basic"))},
            "unencrypted_allowed": {"service": bool(service.get("allow_unencrypted")),
                                    "client": bool(client.get("allow_unencrypted"))},
            "https_listener_present": "HTTPS" in transports,
            "http_listener_present": "HTTP" in transports,
            "compatibility_listeners_on": bool(service.get("enable_compatibility_http_listener"))
            or bool(service.get("enable_compatibility_https_listener")),
            "credssp_enabled": {"service": bool(service.get("auth.credssp")),
                                "client": bool(client.get("auth.credssp"))},
            "trusted_hosts_wildcard": "*" in trusted,
            "cbt_hardening_level": service.get("auth.cbt_hardening_level"),
            "gpo_controlled": self.policy_controlled(),
        }

    def to_dict(self, parts: t.Iterable[str] = ALL_PARTS, certificate_window: int = 30) -> dict[str, t.Any]:
        """The result of wsman.winrm.info: only the parts that were read, and the summary.
        ``certificate_window``: the days left under which a listener certificate expires soon."""
        parts = set(parts)
        report: dict[str, t.Any] = {}
        if "config" in parts:
            root = self.config.to_dict()
            report["config"] = {k: v for k, v in root.items() if k not in ("client", "service", "winrs")}
            report.update(service=root["service"], client=root["client"], winrs=root["winrs"])
        if "listeners" in parts:
            report["listeners"] = [listener.to_dict() for listener in self.listeners]
        if "cert_mappings" in parts:
            report["cert_mappings"] = [mapping.to_dict() for mapping in self.cert_mappings]
        if "policy" in parts:
            report["policy"] = self.policy.to_list()
        if CERTIFICATES in parts and self.certificates is not None:
            now = datetime.datetime.now(datetime.timezone.utc)
            report[CERTIFICATES] = dict(machine_certificates.store_view(self.certificates, now), listeners=(
                machine_certificates.listener_views(self.listeners, self.certificates, now, certificate_window)))
        if FIREWALL_PART in parts and self.firewall is not None:
            ports = [listener.get("port") for listener in self.listeners if listener.get("port")]
            report[FIREWALL_PART] = [rule.to_dict() for rule in winrm_firewall_rules(self.firewall, ports)]
        report["gpo_controlled"] = self.policy_controlled()
        summary = self.security_summary()
        # A summary value about a part that was not read would be a guess: say "unknown" (None).
        unknown = set()
        if "config" not in parts:
            unknown |= {"basic_enabled", "unencrypted_allowed", "compatibility_listeners_on", "credssp_enabled",
                        "trusted_hosts_wildcard", "cbt_hardening_level"}
        if "listeners" not in parts:
            unknown |= {"https_listener_present", "http_listener_present"}
        report["security_summary"] = {key: (None if key in unknown else value) for key, value in summary.items()}
        return report


def read_all(session: t.Any, include_policy: bool = True, parts: t.Iterable[str] = ALL_PARTS,
             computer_names: t.Sequence[str] | None = None) -> ConfigSnapshot:
    """One Get of winrm/config, one Enumerate of listeners, one of certmappings, the policy values.

    ``parts`` leaves out what the caller does not need (fewer requests); what is left out is empty.
    ``computer_names``: the computer's names when the caller has read them (the certificates need them).
    """
    parts = set(parts)
    if not include_policy:
        parts.discard("policy")
    config = t.cast(WinRMConfig, WinRMConfig.from_xml(session.get(CONFIG_URI))) if "config" in parts else WinRMConfig()
    listeners = ([t.cast(Listener, Listener.from_xml(e)) for e in session.enumerate(LISTENER_URI)]
                 if "listeners" in parts else [])
    mappings = ([t.cast(CertMapping, CertMapping.from_xml(e)) for e in session.enumerate(CERTMAPPING_URI)]
                if "cert_mappings" in parts else [])
    policy = PolicyValues.read(session) if "policy" in parts else PolicyValues()
    machine = machine_certificates.read(session, computer_names) if CERTIFICATES in parts else None
    firewall = read_firewall_rules(session) if FIREWALL_PART in parts else None
    return ConfigSnapshot(config, listeners, mappings, policy, machine, firewall)


__all__ = [
    "ALL_PARTS", "Auth", "CERTIFICATES", "FIREWALL_PART", "CERTMAPPING_URI", "CIM_STANDARD_URI", "CONFIG_URI",
    "CUTS_REMOTE_MANAGEMENT",
    "CertMapping", "CimInstance", "ClientAuth", "ClientConfig", "ClientDefaultPorts", "ConfigSnapshot",
    "DefaultPorts", "FIREWALL_ADDRESS_FILTER_URI", "FIREWALL_ADDRESS_KEYWORDS", "FIREWALL_ALL_PROFILES",
    "FIREWALL_PORT_FILTER_URI", "FIREWALL_PROFILE_BITS", "FIREWALL_RULE_URI", "FIREWALL_SOURCE_GROUP_POLICY",
    "Field", "FirewallAddressFilter", "FirewallPortFilter", "FirewallRule", "FirewallRuleInstance", "GPO_LOCATIONS",
    "HKEY_LOCAL_MACHINE", "InvalidReply", "InvalidValue", "LISTENER_URI", "Listener", "MAX_DWORD", "NOT_CONFIGURED",
    "POLICY_KEYS", "POLICY_ROOT", "POLICY_SETTINGS", "PolicyOption", "PolicySetting", "PolicyValues", "REG_DWORD",
    "REG_RETURN_ACCESS_DENIED", "REG_RETURN_NOT_FOUND", "REG_SZ", "REPLY_HINT", "Resource", "SOURCE_COMPATIBILITY",
    "SOURCE_GPO", "STDREGPROV_URI", "SYSTEM_POLICIES", "Section", "ServiceAuth", "ServiceConfig",
    "ServiceDefaultPorts", "TOP_LEVEL", "URI_PREFIX", "WINRM_FIREWALL_GROUPS", "WinRMConfig", "Winrs", "Write",
    "_CLIENT", "_SERVICE", "_WINRS", "argument_spec", "certmapping_selectors", "check_ip_filter", "desired_options",
    "diff", "diff_view", "effective_settings", "expand_uri", "firewall_address", "firewall_addresses",
    "firewall_covered_profiles", "firewall_profile_mask", "firewall_profiles", "is_gate", "listener_selectors",
    "local_name", "option_for", "option_name", "option_scope", "parse_value", "pending_writes", "policy_options",
    "policy_setting", "read_all", "read_firewall_rules", "registry_delete_value", "registry_enum_values",
    "registry_get_value", "registry_set_value", "registry_write", "reply_int", "same_firewall_addresses",
    "same_value", "short_key", "values_after", "winrm_firewall_rules", "write_order", "writes_for",
]
