# -*- coding: utf-8 -*-
# Copyright: contributors to the wsman.winrm collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Windows Firewall rules, through CIM (``root/StandardCimv2``) over the same WS-Man session."""

from __future__ import annotations

import copy
import dataclasses
import ipaddress
import typing as t
import xml.etree.ElementTree as ET

from ansible_collections.wsman.winrm.plugins.module_utils.config import NOT_FOUND, URI_PREFIX, local_name, reply_int
from ansible_collections.wsman.winrm.plugins.module_utils.wsman import WSManFault

# Classes and values: Microsoft Learn "MSFT_NetFirewallRule class" and "MSFT_NetProtocolPortFilter
# class" (WFasCim provider): Enabled is CIM_PolicyRule's (1 = enabled, 2 = disabled), Direction
# 1 = inbound, Action 2 = allow, Profiles the MS-FASP FW_PROFILE_TYPE bitmask (0 = Any),
# PolicyStoreSourceType 2 = GroupPolicy. A rule's port and address conditions are separate
# one-to-one filter instances with the rule's InstanceID. WMI writes arrays as repeated elements
# and NULL as xsi:nil (captured WMI plugin replies). RemoteAddress tokens: INetFwRule::RemoteAddresses.

CIM_STANDARD_URI = URI_PREFIX + "wmi/root/StandardCimv2/"
FIREWALL_RULE_URI = CIM_STANDARD_URI + "MSFT_NetFirewallRule"
FIREWALL_PORT_FILTER_URI = CIM_STANDARD_URI + "MSFT_NetProtocolPortFilter"
FIREWALL_ADDRESS_FILTER_URI = CIM_STANDARD_URI + "MSFT_NetAddressFilter"
FIREWALL_PROFILE_BITS = {"domain": 1, "private": 2, "public": 4}
FIREWALL_ALL_PROFILES = 7
# RuleGroup of the predefined groups "Windows Remote Management" and "... (Compatibility)".
WINRM_FIREWALL_GROUPS = ("@FirewallAPI.dll,-30267", "@FirewallAPI.dll,-30252")
FIREWALL_SOURCE_GROUP_POLICY = 2
FIREWALL_ENABLED, FIREWALL_DISABLED = 1, 2
FIREWALL_INBOUND = 1
FIREWALL_ACTIONS = {"allow": 2, "block": 4}
FIREWALL_PROTOCOLS = {"any": "Any", "tcp": "TCP", "udp": "UDP", "icmpv4": "ICMPv4", "icmpv6": "ICMPv6"}
# TCP ports the WinRM service listens on: its defaults and the compatibility listeners' (Microsoft,
# "Details on secure port configuration for WS-Management in Windows 7 and Windows Server 2008 R2").
WINRM_PORTS = ("5985", "5986", "80", "443")
FIREWALL_ADDRESS_KEYWORDS = {k.lower(): k for k in (
    "Any", "LocalSubnet", "LocalSubnet4", "LocalSubnet6", "DefaultGateway", "DefaultGateway4", "DefaultGateway6",
    "DHCP", "DHCP4", "DHCP6", "DNS", "DNS4", "DNS6", "WINS", "WINS4", "WINS6", "Intranet", "Internet",
    "PlayToDevice")}
_XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"


class CimInstance:
    """A WMI/CIM instance as the WinRM WMI plugin returns it: property -> text, list or None."""

    CLASS_NAME = ""
    RESOURCE_URI = ""

    def __init__(self, values: t.Mapping[str, t.Any] | None = None):
        self.values: dict[str, t.Any] = dict(values or {})

    @classmethod
    def from_xml(cls, element: ET.Element) -> "CimInstance":
        values: dict[str, t.Any] = {}
        for child in element:
            name = local_name(child.tag)
            text = None if child.get(_XSI_NIL) == "true" else (child.text or "").strip()
            if name in values:  # an array: one element per value
                previous = values[name]
                values[name] = (previous if isinstance(previous, list) else [previous]) + [text]
            else:
                values[name] = text
        return cls(values)

    def get(self, name: str, default: t.Any = None) -> t.Any:
        value = self.values.get(name)
        return default if value is None else value

    def get_list(self, name: str) -> list[str]:
        value = self.values.get(name)
        if value is None:
            return []
        return [item for item in (value if isinstance(value, list) else [value]) if item is not None]

    def get_int(self, name: str, default: int = 0) -> int:
        value = self.get(name)
        return default if value in (None, "") else reply_int(value, "%s %s" % (self.CLASS_NAME, name))

    @property
    def selectors(self) -> dict[str, str]:
        return {"InstanceID": self.get("InstanceID", "")}

    @classmethod
    def render_put(cls, instance_id: str, values: t.Mapping[str, t.Any]) -> ET.Element:
        """A partial instance for Put: the key and the changed properties, in WMI's (alphabetical) order."""
        root = ET.Element("{%s}%s" % (cls.RESOURCE_URI, cls.CLASS_NAME))
        for name in sorted(dict(values, InstanceID=instance_id), key=str.lower):
            value = instance_id if name == "InstanceID" else values[name]
            for item in value if isinstance(value, (list, tuple)) else [value]:
                text = ("true" if item else "false") if isinstance(item, bool) else str(item)
                ET.SubElement(root, "{%s}%s" % (cls.RESOURCE_URI, name)).text = text
        return root


class FirewallRuleInstance(CimInstance):
    CLASS_NAME = "MSFT_NetFirewallRule"
    RESOURCE_URI = FIREWALL_RULE_URI


class FirewallPortFilter(CimInstance):
    CLASS_NAME = "MSFT_NetProtocolPortFilter"
    RESOURCE_URI = FIREWALL_PORT_FILTER_URI


class FirewallAddressFilter(CimInstance):
    CLASS_NAME = "MSFT_NetAddressFilter"
    RESOURCE_URI = FIREWALL_ADDRESS_FILTER_URI


def firewall_profiles(mask: int) -> list[str]:
    """Profile names of a Profiles bitmask; 0 is ``["any"]`` as Windows shows it (Profile: Any)."""
    if mask == 0:
        return ["any"]
    return [name for name, bit in FIREWALL_PROFILE_BITS.items() if mask & bit]


def firewall_profile_mask(names: t.Iterable[str]) -> int:
    """The bitmask of profile names (domain, private, public; ``any`` alone = 0); ValueError names the bad one."""
    names = [str(name).strip().lower() for name in names]
    if not names:
        raise ValueError("profiles must name at least one profile (domain, private, public) or be [any]")
    if "any" in names:
        if len(set(names)) > 1:
            raise ValueError("profiles: 'any' stands alone (it means every profile)")
        return 0
    mask = 0
    for name in names:
        if name not in FIREWALL_PROFILE_BITS:
            raise ValueError("profiles: %r is not one of domain, private, public, any" % name)
        mask |= FIREWALL_PROFILE_BITS[name]
    return mask


def firewall_covered_profiles(mask: int) -> int:
    """The profiles a rule applies to as a full mask (Any = all three)."""
    return FIREWALL_ALL_PROFILES if mask == 0 else mask & FIREWALL_ALL_PROFILES


def firewall_address(token: str) -> str:
    """One RemoteAddress token in the form Windows stores and shows; ValueError for what Windows refuses.

    ``*``/``any`` -> ``Any``; keywords in their canonical case; an IPv4 prefix as address/mask
    (``10.0.0.0/255.0.0.0``, as Get-NetFirewallAddressFilter shows it); /32 and /128 as the address.
    """
    text = str(token).strip()
    if text == "*":
        return "Any"
    keyword = FIREWALL_ADDRESS_KEYWORDS.get(text.lower())
    if keyword:
        return keyword
    try:
        if "-" in text:
            low, high = (ipaddress.ip_address(part.strip()) for part in text.split("-", 1))
            if low.version != high.version or low > high:
                raise ValueError
            return "%s-%s" % (low, high)
        if "/" in text:
            network = ipaddress.ip_network(text, strict=False)
            if network.prefixlen == network.max_prefixlen:
                return str(network.network_address)
            return "%s/%s" % (network.network_address, network.netmask) if network.version == 4 else str(network)
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise ValueError("remote_addresses: %r is not an address, a range (a-b), a subnet (CIDR or address/mask) "
                         "or a keyword (Any, LocalSubnet, DefaultGateway, DHCP, DNS, WINS, Intranet, Internet)"
                         % text) from None


def firewall_addresses(tokens: t.Iterable[str]) -> list[str]:
    """A RemoteAddress list in Windows' form, duplicates dropped; Any must stand alone."""
    result: list[str] = []
    for token in tokens:
        if not str(token).strip():
            continue
        value = firewall_address(token)
        if value.lower() not in (item.lower() for item in result):
            result.append(value)
    if not result:
        raise ValueError("remote_addresses must hold at least one entry (use [Any] for every address)")
    if "Any" in result and len(result) > 1:
        raise ValueError("remote_addresses: Any (or *) stands alone, it already admits every address")
    return result


def firewall_protocol(token: t.Any) -> str:
    """A protocol as MSFT_NetProtocolPortFilter stores it: TCP, UDP, ICMPv4, ICMPv6, Any or 0-255."""
    text = str(token).strip()
    if text.lower() in FIREWALL_PROTOCOLS:
        return FIREWALL_PROTOCOLS[text.lower()]
    if text.isdigit() and int(text) <= 255:
        return {"6": "TCP", "17": "UDP", "1": "ICMPv4", "58": "ICMPv6"}.get(str(int(text)), str(int(text)))
    raise ValueError("protocol: %r is not TCP, UDP, ICMPv4, ICMPv6, Any or a protocol number (0-255)" % text)


def firewall_ports(tokens: t.Iterable[t.Any]) -> list[str]:
    """A LocalPort list as Windows stores it: port numbers and ranges (``5985-5986``), or ``Any`` alone."""
    result: list[str] = []
    for token in (str(item).strip() for item in tokens):
        if not token:
            continue
        if token.lower() in ("any", "*"):
            value = "Any"
        else:
            low, _sep, high = token.partition("-")
            if not low.strip().isdigit() or (high and not high.strip().isdigit()) or \
                    not 0 < int(low) <= 65535 or (high and not int(low) <= int(high) <= 65535):
                raise ValueError("local_ports: %r is not a port (1-65535), a range (5985-5986) or Any" % token)
            value = "%d-%d" % (int(low), int(high)) if high else str(int(low))
        if value not in result:
            result.append(value)
    if not result:
        raise ValueError("local_ports must hold at least one port (use [Any] for every port)")
    if "Any" in result and len(result) > 1:
        raise ValueError("local_ports: Any stands alone, it already admits every port")
    return result


def _port_in_range(token: str, ports: t.Iterable[str]) -> bool:
    low, _sep, high = token.partition("-")
    if not high or not low.isdigit() or not high.isdigit():
        return False
    return any(port.isdigit() and int(low) <= int(port) <= int(high) for port in ports)


def same_firewall_addresses(first: t.Iterable[str], second: t.Iterable[str]) -> bool:
    """Equal as sets, case-insensitively, after bringing both to Windows' form."""
    def canonical(items: t.Iterable[str]) -> set[str]:
        result = set()
        for item in items:
            try:
                result.add(firewall_address(item).lower())
            except ValueError:
                result.add(str(item).strip().lower())
        return result
    return canonical(first) == canonical(second)


@dataclasses.dataclass
class FirewallRule:
    """One firewall rule with its port and address conditions (three CIM instances, one InstanceID)."""

    name: str
    display_name: str = ""
    group: str = ""
    display_group: str = ""
    enabled: bool = False
    profiles_mask: int = 0
    direction: int = 1
    action: int = 2
    protocol: str = ""
    local_ports: list[str] = dataclasses.field(default_factory=list)
    remote_addresses: list[str] = dataclasses.field(default_factory=lambda: ["Any"])
    policy_store_source_type: int = 1
    policy_store_source: str = ""
    description: str = ""

    @classmethod
    def from_instances(cls, rule: CimInstance, ports: CimInstance | None,
                       addresses: CimInstance | None) -> "FirewallRule":
        return cls(
            name=rule.get("InstanceID", ""), display_name=rule.get("DisplayName", ""),
            group=rule.get("RuleGroup", ""), display_group=rule.get("DisplayGroup", ""),
            enabled=rule.get_int("Enabled", 2) == 1, profiles_mask=rule.get_int("Profiles"),
            direction=rule.get_int("Direction", 1), action=rule.get_int("Action", 2),
            protocol=ports.get("Protocol", "") if ports else "",
            local_ports=ports.get_list("LocalPort") if ports else [],
            remote_addresses=(addresses.get_list("RemoteAddress") if addresses else []) or ["Any"],
            policy_store_source_type=rule.get_int("PolicyStoreSourceType", 1),
            policy_store_source=rule.get("PolicyStoreSource", ""),
            description=rule.get("Description", ""),
        )

    @property
    def profiles(self) -> list[str]:
        return firewall_profiles(self.profiles_mask)

    @property
    def from_group_policy(self) -> bool:
        return self.policy_store_source_type == FIREWALL_SOURCE_GROUP_POLICY

    @property
    def is_winrm(self) -> bool:
        return self.group.lower() in (g.lower() for g in WINRM_FIREWALL_GROUPS)

    def in_group(self, group: str) -> bool:
        """By display group or by the indirect RuleGroup string, case-insensitively."""
        wanted = group.strip().lower()
        return wanted in (self.display_group.lower(), self.group.lower())

    def admits_winrm(self, ports: t.Iterable[t.Any] = ()) -> bool:
        """An inbound TCP rule for a WinRM port (the service's, or one of ``ports``, a listener's)."""
        if self.direction != FIREWALL_INBOUND or self.protocol.upper() not in ("TCP", "ANY"):
            return False
        wanted = set(WINRM_PORTS) | {str(port) for port in ports}
        return bool(wanted & set(self.local_ports)) or "Any" in self.local_ports or any(
            _port_in_range(token, wanted) for token in self.local_ports)

    def copy(self) -> "FirewallRule":
        return copy.deepcopy(self)

    def to_dict(self) -> dict[str, t.Any]:
        return {
            "name": self.name, "display_name": self.display_name, "group": self.group,
            "display_group": self.display_group, "enabled": self.enabled, "profiles": self.profiles,
            "direction": {1: "inbound", 2: "outbound"}.get(self.direction, str(self.direction)),
            "action": {2: "allow", 3: "allow_bypass", 4: "block"}.get(self.action, str(self.action)),
            "protocol": self.protocol, "local_ports": list(self.local_ports),
            "remote_addresses": list(self.remote_addresses),
            "policy_store_source_type": {1: "local", 2: "group_policy"}.get(
                self.policy_store_source_type, str(self.policy_store_source_type)),
            "description": self.description,
        }

    def rule_values(self, enabled: bool | None = None, profiles_mask: int | None = None,
                    display_name: str | None = None, description: str | None = None,
                    action: int | None = None) -> dict[str, t.Any]:
        """The MSFT_NetFirewallRule properties that differ from the wanted values (None = leave)."""
        values: dict[str, t.Any] = {}
        if enabled is not None and enabled != self.enabled:
            values["Enabled"] = FIREWALL_ENABLED if enabled else FIREWALL_DISABLED
        if profiles_mask is not None and firewall_covered_profiles(profiles_mask) != \
                firewall_covered_profiles(self.profiles_mask):
            values["Profiles"] = profiles_mask
        # ElementName is what New-NetFirewallRule -DisplayName and Set-NetFirewallRule -NewDisplayName set.
        if display_name is not None and display_name != self.display_name:
            values["ElementName"] = display_name
        if description is not None and description != self.description:
            values["Description"] = description
        if action is not None and action != self.action:
            values["Action"] = action
        return values

    def rule_put(self, enabled: bool | None = None, profiles_mask: int | None = None,
                 display_name: str | None = None, description: str | None = None,
                 action: int | None = None) -> ET.Element | None:
        """The partial MSFT_NetFirewallRule Put for what differs, or None."""
        values = self.rule_values(enabled, profiles_mask, display_name, description, action)
        return FirewallRuleInstance.render_put(self.name, values) if values else None

    def restore_put(self, changed: t.Iterable[str]) -> ET.Element:
        """The Put that gives these MSFT_NetFirewallRule properties back their values from this rule."""
        current = {"Enabled": FIREWALL_ENABLED if self.enabled else FIREWALL_DISABLED, "Profiles": self.profiles_mask,
                   "ElementName": self.display_name, "Description": self.description, "Action": self.action}
        return FirewallRuleInstance.render_put(self.name, {name: current[name] for name in changed})

    def port_filter_put(self, protocol: str | None, local_ports: list[str] | None) -> ET.Element | None:
        """The partial MSFT_NetProtocolPortFilter Put (Set-NetFirewallPortFilter) for what differs, or None."""
        values: dict[str, t.Any] = {}
        if protocol is not None and protocol.lower() != (self.protocol or "Any").lower():
            values["Protocol"] = protocol
        if local_ports is not None and sorted(local_ports) != sorted(self.local_ports or ["Any"]):
            values["LocalPort"] = list(local_ports)
        if values and "LocalPort" in values:
            values.setdefault("Protocol", self.protocol or "Any")  # Windows checks ports against the protocol
        return FirewallPortFilter.render_put(self.name, values) if values else None

    def create_body(self) -> ET.Element:
        """The MSFT_NetFirewallRule instance a CIM Create sends, as New-NetFirewallRule -CimSession does
        (Microsoft Learn, "New-NetFirewallRule"): the provider makes its port and address filters
        (Any, Any) with it; their Puts follow."""
        values: dict[str, t.Any] = {
            "InstanceID": self.name, "ElementName": self.display_name or self.name, "Description": self.description,
            "Direction": self.direction, "Action": self.action, "Profiles": self.profiles_mask,
            "Enabled": FIREWALL_ENABLED if self.enabled else FIREWALL_DISABLED}
        if self.group:
            values["RuleGroup"] = self.group
        return FirewallRuleInstance.render_put(self.name, values)

    def address_put(self, remote_addresses: list[str] | None) -> ET.Element | None:
        """The partial MSFT_NetAddressFilter Put for a different RemoteAddress list, or None."""
        if remote_addresses is None or same_firewall_addresses(self.remote_addresses, remote_addresses):
            return None
        return FirewallAddressFilter.render_put(self.name, {"RemoteAddress": list(remote_addresses)})


def read_firewall_rules(session: t.Any) -> list[FirewallRule]:
    """Every rule with its filters: one Enumerate per class (three requests, whatever the rule count)."""
    rules = [FirewallRuleInstance.from_xml(e) for e in session.enumerate(FIREWALL_RULE_URI)]
    ports = {i.get("InstanceID", "").lower(): i
             for i in (FirewallPortFilter.from_xml(e) for e in session.enumerate(FIREWALL_PORT_FILTER_URI))}
    addresses = {i.get("InstanceID", "").lower(): i
                 for i in (FirewallAddressFilter.from_xml(e) for e in session.enumerate(FIREWALL_ADDRESS_FILTER_URI))}
    return [FirewallRule.from_instances(rule, ports.get(rule.get("InstanceID", "").lower()),
                                        addresses.get(rule.get("InstanceID", "").lower())) for rule in rules]


def read_firewall_rule(session: t.Any, name: str) -> FirewallRule | None:
    """One rule with its filters, by name (three Gets); None when the host has no such rule."""
    selectors = {"InstanceID": name}
    try:
        rule = FirewallRuleInstance.from_xml(session.get(FIREWALL_RULE_URI, selectors))
        ports = FirewallPortFilter.from_xml(session.get(FIREWALL_PORT_FILTER_URI, selectors))
        addresses = FirewallAddressFilter.from_xml(session.get(FIREWALL_ADDRESS_FILTER_URI, selectors))
    except WSManFault as fault:
        if fault.code == NOT_FOUND:
            return None
        raise
    return FirewallRule.from_instances(rule, ports, addresses)


def delete_firewall_rule(session: t.Any, name: str) -> None:
    """Remove-NetFirewallRule: the rule and its filters; a rule that is not there counts as deleted."""
    try:
        session.delete(FIREWALL_RULE_URI, {"InstanceID": name})
    except WSManFault as fault:
        if fault.code != NOT_FOUND:
            raise


def winrm_firewall_rules(rules: t.Iterable[FirewallRule], ports: t.Iterable[t.Any] = ()) -> list[FirewallRule]:
    """The rules that decide who reaches WinRM: both WinRM groups, and every inbound TCP rule for a
    WinRM port (``ports``: the listeners' ports beside the service's defaults)."""
    ports = list(ports)
    return [rule for rule in rules if rule.is_winrm or rule.admits_winrm(ports)]
