"""The Windows Firewall rules that matter to WinRM, as the CIM provider exposes them over WS-Man.

Windows publishes firewall rules through the WMI/CIM provider WFasCim (namespace
``root/StandardCimv2``), reachable over the WinRM WMI plugin at
``http://schemas.microsoft.com/wbem/wsman/1/wmi/root/StandardCimv2/<class>``. A rule is an
``MSFT_NetFirewallRule``; its protocol/port and address conditions are separate one-to-one filter
instances (``MSFT_NetProtocolPortFilter``, ``MSFT_NetAddressFilter``) that share the rule's
InstanceID. The simulator models three of those classes with Enumerate, Get (selector InstanceID)
and Put (rule: Enabled, Profiles; address filter: RemoteAddress).

Sources:
- Class shapes and enumerations: Microsoft Learn, "MSFT_NetFirewallRule class",
  "MSFT_NetProtocolPortFilter class", "MSFT_NetFirewallRuleFilterByProtocolPort class"
  (learn.microsoft.com/windows/win32/fwp/wmi/wfascimprov/...): Action Allow (2) / AllowBypass (3) /
  Block (4); Enabled is CIM_PolicyRule's (1 = Enabled, 2 = Disabled; MOF default 1); Profiles is
  the FW_PROFILE_TYPE bitmask of MS-FASP (Domain 0x1, Private 0x2, Public 0x4; 0 = Any);
  Direction 1 = Inbound, 2 = Outbound; PolicyStoreSourceType 1 = Local, 2 = GroupPolicy (the
  -PolicyStoreSourceType values None, Local, GroupPolicy, Dynamic, Generated, Hardcoded of the
  NetSecurity cmdlets, in that order from 0).
- Rule names and display names: PowerShell-Docs Import-Module.md example 13 (Server:
  WINRM-HTTP-In-TCP and WINRM-HTTP-In-TCP-PUBLIC "Windows Remote Management (HTTP-In)",
  WINRM-HTTP-Compat-In-TCP "Windows Remote Management - Compatibility Mode (HTTP-In)");
  PowerShell-Docs about_Remote_Troubleshooting (client SKUs: WINRM-HTTP-In-TCP-NoScope,
  WINRM-HTTP-In-TCP, WINRM-HTTP-Compat-In-TCP-NoScope, WINRM-HTTP-Compat-In-TCP).
- Groups: a captured Get-NetFirewallRule listing (DisplayGroup "Windows Remote Management",
  Group "@FirewallAPI.dll,-30267", Description "Inbound rule for Windows Remote Management via
  WS-Management. [TCP 5985]", PolicyStoreSourceType Local); the predefined group table
  "Windows Remote Management (Compatibility)" = "@FirewallAPI.dll,-30252" (Windows Firewall group
  policy documentation and public group lists).
- Public profile scope: PowerShell-Docs about_Remote_Troubleshooting / seed 001 ("On public
  networks, the default Windows Firewall rule allows PowerShell Remoting connections only from
  within the same subnet"): the PUBLIC rule's RemoteAddress is LocalSubnet.
- Enabled per profile: seed 000 (two rules, port 80 and port 5985; after an upgrade both enabled
  if the port-80 rule was; new install both disabled; "When the compatibility listener is
  enabled, the firewall rule for port 80 will be enabled"). Modern Windows puts the port-80 rule
  in its own "(Compatibility)" group; the seed (2009, Windows 7) says "the same group".
- Reply shape: a captured WMI plugin Enumerate reply (Win32_Process): ``<p:Class xmlns:p="<URI>"
  xmlns:xsi=... xmlns:cim="http://schemas.dmtf.org/wbem/wscim/1/common" xsi:type="p:Class_Type">``,
  properties in alphabetical order, arrays as repeated elements, NULL as ``xsi:nil="true"``.
- RemoteAddress tokens: INetFwRule::RemoteAddresses (netfw.h docs): "*"/Any alone, LocalSubnet,
  DefaultGateway, DHCP, DNS, WINS, subnets by mask or prefix, addresses and "a-b" ranges. The
  NetSecurity cmdlets show an IPv4 prefix as address/mask ("10.0.0.0/255.0.0.0") [INF: from
  memory of Get-NetFirewallAddressFilter output, not from a capture here].

Inferred [INF]: CreationClassName values ("MSFT|FW|FirewallRule|<name>"), the faults for bad
Put values (87, "The parameter is incorrect") and for a Put on a rule delivered by Group Policy
(5, Access is denied), the profile of the server compatibility rule (Any), the compatibility
rule's Description text, the GPO-delivered rule of the ``gpo`` profile.

The simulator does not filter traffic by these rules: it models and reports them (README).
"""
from __future__ import annotations

import ipaddress
import xml.etree.ElementTree as ET

from .faults import WSManFault, xml_text

CIM_URI = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/StandardCimv2/"
RULE_CLASS = "MSFT_NetFirewallRule"
PORT_FILTER_CLASS = "MSFT_NetProtocolPortFilter"
ADDRESS_FILTER_CLASS = "MSFT_NetAddressFilter"
CLASSES = (RULE_CLASS, PORT_FILTER_CLASS, ADDRESS_FILTER_CLASS)
NS_XSI = "http://www.w3.org/2001/XMLSchema-instance"
NS_CIM = "http://schemas.dmtf.org/wbem/wscim/1/common"

ENABLED_TRUE, ENABLED_FALSE = 1, 2
PROFILE_ANY, PROFILE_DOMAIN, PROFILE_PRIVATE, PROFILE_PUBLIC = 0, 1, 2, 4
DIRECTION_INBOUND = 1
ACTION_ALLOW = 2
SOURCE_LOCAL, SOURCE_GROUP_POLICY = 1, 2

GROUP_WINRM = ("@FirewallAPI.dll,-30267", "Windows Remote Management")
GROUP_WINRM_COMPAT = ("@FirewallAPI.dll,-30252", "Windows Remote Management (Compatibility)")
HTTP_IN = "Windows Remote Management (HTTP-In)"
COMPAT_HTTP_IN = "Windows Remote Management - Compatibility Mode (HTTP-In)"

ADDRESS_KEYWORDS = {k.lower(): k for k in (
    "Any", "LocalSubnet", "LocalSubnet4", "LocalSubnet6", "DefaultGateway", "DefaultGateway4",
    "DefaultGateway6", "DHCP", "DHCP4", "DHCP6", "DNS", "DNS4", "DNS6", "WINS", "WINS4", "WINS6",
    "Intranet", "Internet", "PlayToDevice")}


def _rule(name, display, group, port, profiles, remote, enabled):
    return {"InstanceID": name, "DisplayName": display, "RuleGroup": group[0], "DisplayGroup": group[1],
            "Description": f"{'Compatibility mode inbound' if port == '80' else 'Inbound'} rule for Windows "
                           f"Remote Management via WS-Management. [TCP {port}]",
            "Enabled": ENABLED_TRUE if enabled else ENABLED_FALSE, "Profiles": profiles,
            "Direction": DIRECTION_INBOUND, "Action": ACTION_ALLOW, "Protocol": "TCP", "LocalPort": [port],
            "RemoteAddress": list(remote), "PolicyStoreSourceType": SOURCE_LOCAL,
            "PolicyStoreSource": "PersistentStore"}


def default_rules(profile: str) -> list[dict]:
    """The WinRM rules of a host of this profile (see the module docstring for the sources)."""
    both = PROFILE_DOMAIN | PROFILE_PRIVATE
    if profile == "workstation":
        # Client SKU names; present (predefined) but disabled until Enable-PSRemoting/quickconfig.
        return [
            _rule("WINRM-HTTP-In-TCP-NoScope", HTTP_IN, GROUP_WINRM, "5985", both, ["Any"], False),
            _rule("WINRM-HTTP-In-TCP", HTTP_IN, GROUP_WINRM, "5985", PROFILE_PUBLIC, ["LocalSubnet"], False),
            _rule("WINRM-HTTP-Compat-In-TCP-NoScope", COMPAT_HTTP_IN, GROUP_WINRM_COMPAT, "80", PROFILE_DOMAIN,
                  ["Any"], False),
            _rule("WINRM-HTTP-Compat-In-TCP", COMPAT_HTTP_IN, GROUP_WINRM_COMPAT, "80",
                  PROFILE_PRIVATE | PROFILE_PUBLIC, ["LocalSubnet"], False),
        ]
    http_on = profile in ("server2022", "gpo", "upgraded11")  # quickconfig ran / seed 000 upgrade table
    compat_on = profile in ("winrm11", "upgraded11")           # the port-80 rule of a 1.1 host
    rules = [
        _rule("WINRM-HTTP-In-TCP", HTTP_IN, GROUP_WINRM, "5985", both, ["Any"], http_on),
        _rule("WINRM-HTTP-In-TCP-PUBLIC", HTTP_IN, GROUP_WINRM, "5985", PROFILE_PUBLIC, ["LocalSubnet"], http_on),
        _rule("WINRM-HTTP-Compat-In-TCP", COMPAT_HTTP_IN, GROUP_WINRM_COMPAT, "80", PROFILE_ANY, ["Any"], compat_on),
    ]
    if profile == "gpo":
        # A domain baseline GPO that opens WinRM from the management network: delivered by Group
        # Policy, so it shows PolicyStoreSourceType GroupPolicy and cannot be changed locally.
        gpo_rule = _rule("WINRM-HTTP-In-TCP-GPO", HTTP_IN, GROUP_WINRM, "5985", both | PROFILE_PUBLIC,
                         ["10.0.0.0/255.0.0.0"], True)
        gpo_rule.update(PolicyStoreSourceType=SOURCE_GROUP_POLICY, PolicyStoreSource="corp.example.com\\WinRM Baseline")
        rules.append(gpo_rule)
    return rules


def rules_of(host) -> list[dict]:
    """The host's rules; a state file written before firewall rules existed gets the defaults."""
    if "firewall" not in host.state:
        host.state["firewall"] = default_rules(host.state.get("profile", host.profile))
    return host.state["firewall"]


# --- the coupling of seed 000 --------------------------------------------------------------------
def compat_http_on(host) -> bool:
    return host.effective_value(("Service", "EnableCompatibilityHttpListener")).lower() == "true"


def follow_compatibility_listener(host, was_on: bool) -> None:
    """Seed 000: "When the compatibility listener is enabled, the firewall rule for port 80 will be
    enabled." Called after every request; acts on the off -> on edge (config Put or policy value).
    Turning the listener off leaves the rule as it is (the seed says nothing about it)."""
    if was_on or not compat_http_on(host):
        return
    for rule in rules_of(host):
        if rule["RuleGroup"] == GROUP_WINRM_COMPAT[0] and "80" in rule["LocalPort"]:
            rule["Enabled"] = ENABLED_TRUE


# --- RemoteAddress tokens ------------------------------------------------------------------------
def canonical_address(token: str) -> str:
    """One RemoteAddress token as the provider stores it; ValueError if Windows would refuse it."""
    text = token.strip()
    if text == "*":
        return "Any"
    keyword = ADDRESS_KEYWORDS.get(text.lower())
    if keyword:
        return keyword
    if "-" in text:
        low, high = (ipaddress.ip_address(p.strip()) for p in text.split("-", 1))
        if low.version != high.version or low > high:
            raise ValueError(text)
        return f"{low}-{high}"
    if "/" in text:
        network = ipaddress.ip_network(text, strict=False)
        if network.version == 4:
            if network.prefixlen == 32:
                return str(network.network_address)
            return f"{network.network_address}/{network.netmask}"
        return str(network) if network.prefixlen != 128 else str(network.network_address)
    return str(ipaddress.ip_address(text))


def canonical_addresses(tokens: list[str]) -> list[str]:
    result = [canonical_address(t) for t in tokens if t.strip()]
    if not result or ("Any" in result and len(result) > 1):
        raise ValueError("Any must be alone")
    return result


# --- rendering -----------------------------------------------------------------------------------
def _value(name: str, value) -> str:
    if value is None or value == []:
        return f'<p:{name} xsi:nil="true"/>'
    if isinstance(value, list):
        return "".join(f"<p:{name}>{xml_text(v)}</p:{name}>" for v in value)
    if isinstance(value, bool):
        return f"<p:{name}>{'true' if value else 'false'}</p:{name}>"
    return f"<p:{name}>{xml_text(value)}</p:{name}>"


def _instance(class_name: str, properties: dict) -> str:
    uri = CIM_URI + class_name
    inner = "".join(_value(name, properties[name]) for name in sorted(properties, key=str.lower))
    return (f'<p:{class_name} xmlns:p="{uri}" xmlns:xsi="{NS_XSI}" xmlns:cim="{NS_CIM}" '
            f'xsi:type="p:{class_name}_Type">{inner}</p:{class_name}>')


def render_rule(rule: dict) -> str:
    return _instance(RULE_CLASS, {
        "Action": rule["Action"], "Caption": None, "CommonName": None, "ConditionListType": None,
        "CreationClassName": f"MSFT|FW|FirewallRule|{rule['InstanceID']}", "Description": rule["Description"],
        "Direction": rule["Direction"], "DisplayGroup": rule["DisplayGroup"], "DisplayName": rule["DisplayName"],
        "EdgeTraversalPolicy": 0, "ElementName": rule["DisplayName"], "Enabled": rule["Enabled"],
        "EnforcementStatus": [0], "ExecutionStrategy": None, "InstanceID": rule["InstanceID"],
        "LocalOnlyMapping": False, "LooseSourceMapping": False, "Mandatory": None, "Owner": None,
        "Platforms": [], "PolicyDecisionStrategy": None, "PolicyKeywords": None, "PolicyRoles": None,
        "PolicyRuleName": "", "PolicyStoreSource": rule["PolicyStoreSource"],
        "PolicyStoreSourceType": rule["PolicyStoreSourceType"], "PrimaryStatus": 1, "Priority": None,
        "Profiles": rule["Profiles"], "RuleGroup": rule["RuleGroup"], "RuleUsage": None, "SequencedActions": None,
        "Status": "The rule was parsed successfully from the store. (65536)", "StatusCode": 65536,
        "SystemCreationClassName": "", "SystemName": "",
    })


def render_port_filter(rule: dict) -> str:
    return _instance(PORT_FILTER_CLASS, {
        "Caption": None, "CommunicationStatus": None, "CreationClassName": f"MSFT|FW|FirewallRule|{rule['InstanceID']}",
        "Description": None, "DetailedStatus": None, "DynamicTransport": 0, "ElementName": None,
        "HealthState": None, "IcmpType": ["Any"], "InstallDate": None, "InstanceID": rule["InstanceID"],
        "IsNegated": None, "LocalPort": rule["LocalPort"], "Name": None, "OperatingStatus": None,
        "OperationalStatus": None, "PrimaryStatus": None, "Protocol": rule["Protocol"], "RemotePort": ["Any"],
        "Status": None, "StatusDescriptions": None, "SystemCreationClassName": None, "SystemName": None,
    })


def render_address_filter(rule: dict) -> str:
    return _instance(ADDRESS_FILTER_CLASS, {
        "Caption": None, "CommunicationStatus": None, "CreationClassName": f"MSFT|FW|FirewallRule|{rule['InstanceID']}",
        "Description": None, "DetailedStatus": None, "ElementName": None, "HealthState": None, "InstallDate": None,
        "InstanceID": rule["InstanceID"], "LocalAddress": ["Any"], "Name": None, "OperatingStatus": None,
        "OperationalStatus": None, "PrimaryStatus": None, "RemoteAddress": rule["RemoteAddress"], "Status": None,
        "StatusDescriptions": None,
    })


RENDERERS = {RULE_CLASS: render_rule, PORT_FILTER_CLASS: render_port_filter, ADDRESS_FILTER_CLASS: render_address_filter}


# --- requests ------------------------------------------------------------------------------------
def class_of(uri: str) -> str | None:
    """The modelled class a (lower-case) resource URI names, or None."""
    if not uri.startswith(CIM_URI.lower()):
        return None
    name = uri[len(CIM_URI):]
    for class_name in CLASSES:
        if class_name.lower() == name:
            return class_name
    return None


def handle(host, request, class_name: str) -> bytes:
    from . import engine  # engine imports this module; its helpers are needed only at request time

    action = request.action
    render = RENDERERS[class_name]
    if action == engine.A_ENUMERATE:
        rules = rules_of(host)
        if request.selectors:  # the WMI plugin filters an enumeration by selectors
            wanted = engine._selector_dict(request, ("InstanceID",))["InstanceID"].lower()
            rules = [r for r in rules if r["InstanceID"].lower() == wanted]
        return engine.start_enumeration(host, request, [render(r) for r in rules])
    rule = _find(host, engine._selector_dict(request, ("InstanceID",))["InstanceID"])
    if action == engine.A_GET:
        return engine.reply(engine.TRANSFER + "GetResponse", request, render(rule))
    if action == engine.A_PUT and class_name != PORT_FILTER_CLASS:
        _put(rule, class_name, request.payload, engine.local_name)
        return engine.reply(engine.TRANSFER + "PutResponse", request, render(rule))
    raise WSManFault("ACTION_NOT_SUPPORTED")


def _find(host, instance_id: str) -> dict:
    for rule in rules_of(host):
        if rule["InstanceID"].lower() == instance_id.lower():
            return rule
    raise WSManFault("RESOURCE_NOT_FOUND")


def _texts(payload: ET.Element, local_name) -> dict[str, list[str | None]]:
    values: dict[str, list[str | None]] = {}
    for child in payload:
        nil = child.get(f"{{{NS_XSI}}}nil", "").lower() == "true"
        values.setdefault(local_name(child.tag), []).append(None if nil else (child.text or "").strip())
    return values


def _put(rule: dict, class_name: str, payload, local_name) -> None:
    """Apply a (partial) instance: only the modelled writable properties may differ."""
    if payload is None or local_name(payload.tag) != class_name:
        raise WSManFault("INVALID_REPRESENTATION")
    values = _texts(payload, local_name)
    instance_id = values.pop("InstanceID", [rule["InstanceID"]])
    if len(instance_id) != 1 or (instance_id[0] or "").lower() != rule["InstanceID"].lower():
        raise WSManFault("CANNOT_CHANGE_KEYS", provider=False)
    writable = ("Enabled", "Profiles") if class_name == RULE_CLASS else ("RemoteAddress",)
    unknown = [name for name in values if name not in writable]
    if unknown:
        # The simulator models only these properties; anything else is refused rather than ignored.
        raise WSManFault("INVALID_PARAMETER_WIN32")
    changes: dict = {}
    try:
        if "Enabled" in values:
            enabled = int(values["Enabled"][-1] or "")
            if enabled not in (ENABLED_TRUE, ENABLED_FALSE):
                raise ValueError(enabled)
            changes["Enabled"] = enabled
        if "Profiles" in values:
            mask = int(values["Profiles"][-1] or "")
            if not 0 <= mask <= 7:
                raise ValueError(mask)
            changes["Profiles"] = mask
        if "RemoteAddress" in values:
            changes["RemoteAddress"] = canonical_addresses([v for v in values["RemoteAddress"] if v])
    except ValueError:
        raise WSManFault("INVALID_PARAMETER_WIN32") from None
    if rule["PolicyStoreSourceType"] == SOURCE_GROUP_POLICY and any(rule[k] != v for k, v in changes.items()):
        raise WSManFault("ACCESS_DENIED")  # a rule from Group Policy is read-only in the local store [INF]
    rule.update(changes)
