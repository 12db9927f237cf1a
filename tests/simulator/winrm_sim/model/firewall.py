"""Windows Firewall as it concerns WinRM: the inbound rules with their port and address conditions,
and the decision it takes on every new TCP connection.

Rules Windows ships (names, display names, groups, scopes):
- Server: ``WINRM-HTTP-In-TCP`` "Windows Remote Management (HTTP-In)" for the Domain and Private
  profiles from Any address, ``WINRM-HTTP-In-TCP-PUBLIC`` (same display name) for the Public profile
  from the LocalSubnet only, both in the group "Windows Remote Management" (@FirewallAPI.dll,-30267),
  TCP 5985; ``WINRM-HTTP-Compat-In-TCP`` "Windows Remote Management - Compatibility Mode (HTTP-In)",
  group "Windows Remote Management (Compatibility)" (@FirewallAPI.dll,-30252), TCP 80. No rule for
  5986 or 443. Sources: PowerShell-Docs, Import-Module example 13 (a Server's WinRM rules) and
  about_Remote_Troubleshooting ("On public networks, the default Windows Firewall rule allows
  PowerShell Remoting connections only from within the same subnet"); a captured Get-NetFirewallRule
  listing for the group and description texts.
- Client SKUs: ``WINRM-HTTP-In-TCP-NoScope`` (Domain, Private), ``WINRM-HTTP-In-TCP`` (Public,
  LocalSubnet), ``WINRM-HTTP-Compat-In-TCP-NoScope``, ``WINRM-HTTP-Compat-In-TCP``, all disabled until
  Enable-PSRemoting (PowerShell-Docs, about_Remote_Troubleshooting).
- Enabled states: a Server runs WinRM with its HTTP rules enabled; the port-80 rule follows the
  compatibility listener: "When the compatibility listener is enabled, the firewall rule for port 80
  will be enabled" (Microsoft, "Details on secure port configuration for WS-Management in Windows 7
  and Windows Server 2008 R2", which also gives the upgrade table).

Values (Microsoft Learn, "MSFT_NetFirewallRule class", "MSFT_NetProtocolPortFilter class",
"MSFT_NetAddressFilter class"): Enabled 1 = True, 2 = False; Profiles is the FW_PROFILE_TYPE bitmask
(Domain 1, Private 2, Public 4; 0 = Any); Direction 1 = Inbound; Action 2 = Allow, 3 = AllowBypass,
4 = Block; PolicyStoreSourceType 1 = Local, 2 = GroupPolicy. RemoteAddress tokens as INetFwRule
RemoteAddresses documents them ("Any", "LocalSubnet", "DNS", ..., addresses, ranges, subnets).

The decision (``admitted``): a connection is admitted when an enabled inbound Allow rule of the
current profile matches its protocol, local port and addresses, and no enabled Block rule does
(block wins, "Windows Firewall with Advanced Security" rule precedence). Everything else is
filtered: the SYN is dropped, the client times out. DNS/DHCP/WINS/DefaultGateway/Intranet/Internet
keywords match no loopback peer. Changes apply to the next connection (the transport re-reads the
decision whenever a request changed the rules, ``server.py``).
"""
from __future__ import annotations

import ipaddress
import uuid
from typing import Callable

ENABLED_TRUE, ENABLED_FALSE = 1, 2
PROFILE_ANY, PROFILE_DOMAIN, PROFILE_PRIVATE, PROFILE_PUBLIC = 0, 1, 2, 4
DIRECTION_INBOUND, DIRECTION_OUTBOUND = 1, 2
ACTION_ALLOW, ACTION_ALLOW_BYPASS, ACTION_BLOCK = 2, 3, 4
SOURCE_LOCAL, SOURCE_GROUP_POLICY = 1, 2

GROUP_WINRM = ("@FirewallAPI.dll,-30267", "Windows Remote Management")
GROUP_WINRM_COMPAT = ("@FirewallAPI.dll,-30252", "Windows Remote Management (Compatibility)")
HTTP_IN = "Windows Remote Management (HTTP-In)"
HTTPS_IN = "Windows Remote Management (HTTPS-In)"
COMPAT_HTTP_IN = "Windows Remote Management - Compatibility Mode (HTTP-In)"

ADDRESS_KEYWORDS = {k.lower(): k for k in (
    "Any", "LocalSubnet", "LocalSubnet4", "LocalSubnet6", "DefaultGateway", "DefaultGateway4",
    "DefaultGateway6", "DHCP", "DHCP4", "DHCP6", "DNS", "DNS4", "DNS6", "WINS", "WINS4", "WINS6",
    "Intranet", "Internet", "PlayToDevice")}
IPV4_ALL = (0, 2 ** 32 - 1)

# A new rule as New-NetFirewallRule creates it when only the name and display name are given
# (MSFT_NetFirewallRule MOF defaults: enabled, any profile, inbound, allow; filters Any).
NEW_RULE_DEFAULTS = {
    "DisplayName": "", "Description": "", "RuleGroup": "", "DisplayGroup": "", "Enabled": ENABLED_TRUE,
    "Profiles": PROFILE_ANY, "Direction": DIRECTION_INBOUND, "Action": ACTION_ALLOW, "EdgeTraversalPolicy": 0,
    "LooseSourceMapping": False, "LocalOnlyMapping": False, "Owner": None, "Platforms": [],
    "PolicyStoreSourceType": SOURCE_LOCAL, "PolicyStoreSource": "PersistentStore",
    "Protocol": "Any", "LocalPort": ["Any"], "RemotePort": ["Any"], "IcmpType": ["Any"], "DynamicTarget": 0,
    "LocalAddress": ["Any"], "RemoteAddress": ["Any"],
}
RULE_FIELDS = ("InstanceID", "DisplayName", "Description", "RuleGroup", "DisplayGroup", "Enabled", "Profiles",
               "Direction", "Action", "EdgeTraversalPolicy", "LooseSourceMapping", "LocalOnlyMapping", "Owner",
               "Platforms", "PolicyStoreSourceType", "PolicyStoreSource")
PORT_FILTER_FIELDS = ("Protocol", "LocalPort", "RemotePort", "IcmpType", "DynamicTarget")
ADDRESS_FILTER_FIELDS = ("LocalAddress", "RemoteAddress")


def _rule(name, display, group, port, profiles, remote, enabled, description=None):
    rule = dict(NEW_RULE_DEFAULTS, InstanceID=name, DisplayName=display, RuleGroup=group[0], DisplayGroup=group[1],
                Description=description if description is not None else (
                    f"{'Compatibility mode inbound' if port == '80' else 'Inbound'} rule for Windows Remote "
                    f"Management via WS-Management. [TCP {port}]"),
                Enabled=ENABLED_TRUE if enabled else ENABLED_FALSE, Profiles=profiles, Protocol="TCP",
                LocalPort=[port], RemoteAddress=list(remote))
    return rule


def https_rule(host_name: str, port: str = "5986") -> dict:
    """The rule an administrator adds with Microsoft's recipe for an HTTPS listener (Microsoft Learn,
    "Configure WinRM for HTTPS": New-NetFirewallRule -DisplayName 'Windows Remote Management (HTTPS-In)'
    -Direction Inbound -LocalPort 5986 -Protocol TCP -Action Allow): no -Name, so the name is a GUID,
    any profile, any address, no group."""
    name = "{" + str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{host_name}.https-in.winrm-sim")).upper() + "}"
    return _rule(name, HTTPS_IN, ("", ""), port, PROFILE_ANY, ["Any"], True, description="")


def default_rules(profile: str, host_name: str) -> list[dict]:
    """The WinRM rules of a host of this profile (see the module docstring for the sources)."""
    both = PROFILE_DOMAIN | PROFILE_PRIVATE
    if profile == "workstation":
        return [
            _rule("WINRM-HTTP-In-TCP-NoScope", HTTP_IN, GROUP_WINRM, "5985", both, ["Any"], False),
            _rule("WINRM-HTTP-In-TCP", HTTP_IN, GROUP_WINRM, "5985", PROFILE_PUBLIC, ["LocalSubnet"], False),
            _rule("WINRM-HTTP-Compat-In-TCP-NoScope", COMPAT_HTTP_IN, GROUP_WINRM_COMPAT, "80", PROFILE_DOMAIN,
                  ["Any"], False),
            _rule("WINRM-HTTP-Compat-In-TCP", COMPAT_HTTP_IN, GROUP_WINRM_COMPAT, "80",
                  PROFILE_PRIVATE | PROFILE_PUBLIC, ["LocalSubnet"], False),
        ]
    http_on = profile not in ("winrm11", "winrm11_scoped", "winrm11_ports")  # a 1.1 host has no 5985 rule on
    compat_on = profile in ("winrm11", "upgraded11")           # the port-80 rule of a 1.1 host
    # winrm11_scoped / winrm11_ports: the administrator disabled the predefined port-80 rule and admits
    # WinRM with a rule of their own (the firewall table's "Upgrade: port 80 rule disabled" cases).
    rules = [
        _rule("WINRM-HTTP-In-TCP", HTTP_IN, GROUP_WINRM, "5985", both, ["Any"], http_on),
        _rule("WINRM-HTTP-In-TCP-PUBLIC", HTTP_IN, GROUP_WINRM, "5985", PROFILE_PUBLIC, ["LocalSubnet"], http_on),
        _rule("WINRM-HTTP-Compat-In-TCP", COMPAT_HTTP_IN, GROUP_WINRM_COMPAT, "80", PROFILE_ANY, ["Any"], compat_on),
    ]
    if profile == "server2022_https":
        rules.append(https_rule(host_name))
    if profile in ("winrm11_scoped", "winrm11_ports"):
        ports = ["80", "443", "5985"] if profile == "winrm11_scoped" else ["8080", "8443"]
        own = _rule("WinRM-Management-In", "WinRM from the management network", ("", ""), ports[0],
                    PROFILE_ANY, ["LocalSubnet"], True, description="")
        own["LocalPort"] = ports
        rules.append(own)
    if profile == "gpo":
        # A domain baseline GPO that opens WinRM from the management network: delivered by Group
        # Policy, so it shows PolicyStoreSourceType GroupPolicy and cannot be changed locally [INF].
        gpo_rule = _rule("WINRM-HTTP-In-TCP-GPO", HTTP_IN, GROUP_WINRM, "5985", both | PROFILE_PUBLIC,
                         ["10.0.0.0/255.0.0.0"], True)
        gpo_rule.update(PolicyStoreSourceType=SOURCE_GROUP_POLICY,
                        PolicyStoreSource="corp.example.com\\WinRM Baseline")
        rules.append(gpo_rule)
    return rules


# --- tokens -----------------------------------------------------------------------------------------
def canonical_address(token: str) -> str:
    """One RemoteAddress/LocalAddress token as the provider stores it; ValueError if Windows refuses it."""
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


def canonical_ports(tokens: list[str]) -> list[str]:
    """LocalPort/RemotePort: Any, port numbers, ranges a-b (the RPC keywords are not modelled)."""
    result = []
    for token in (t.strip() for t in tokens if t.strip()):
        if token.lower() == "any":
            result.append("Any")
            continue
        low, _sep, high = token.partition("-")
        if not low.isdigit() or (high and not high.isdigit()):
            raise ValueError(token)
        if not 0 <= int(low) <= 65535 or (high and not int(low) <= int(high) <= 65535):
            raise ValueError(token)
        result.append(f"{int(low)}-{int(high)}" if high else str(int(low)))
    if not result or ("Any" in result and len(result) > 1):
        raise ValueError("Any must be alone")
    return result


def canonical_protocol(token: str) -> str:
    text = token.strip()
    names = {"any": "Any", "tcp": "TCP", "udp": "UDP", "icmpv4": "ICMPv4", "icmpv6": "ICMPv6"}
    if text.lower() in names:
        return names[text.lower()]
    if text.isdigit() and 0 <= int(text) <= 255:
        return {"6": "TCP", "17": "UDP", "1": "ICMPv4", "58": "ICMPv6"}.get(str(int(text)), str(int(text)))
    raise ValueError(text)


def _ports_match(ports: list[str], port: int) -> bool:
    for token in ports:
        if token == "Any":
            return True
        low, _sep, high = token.partition("-")
        if low.isdigit() and int(low) <= port <= int(high or low):
            return True
    return False


def _v4_ranges(tokens: list[str], local_subnets: list) -> list[tuple[int, int]]:
    """The IPv4 ranges a list of address tokens covers."""
    ranges = []
    for token in tokens:
        lower = token.lower()
        if lower == "any":
            return [IPV4_ALL]
        if lower in ("localsubnet", "localsubnet4"):
            ranges += [(int(n.network_address), int(n.broadcast_address)) for n in local_subnets if n.version == 4]
            continue
        if lower in ADDRESS_KEYWORDS:
            continue  # DNS, DHCP, WINS, gateways, Intranet/Internet: no such peer on loopback
        try:
            if "-" in token:
                low, high = (ipaddress.ip_address(p) for p in token.split("-", 1))
                if low.version == 4:
                    ranges.append((int(low), int(high)))
            else:
                network = ipaddress.ip_network(token, strict=False)
                if network.version == 4:
                    ranges.append((int(network.network_address), int(network.broadcast_address)))
        except ValueError:
            continue
    return ranges


def _merge(ranges):
    merged = []
    for low, high in sorted(ranges):
        if merged and low <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return merged


def _subtract(ranges, removed):
    result = []
    for low, high in ranges:
        pieces = [(low, high)]
        for r_low, r_high in removed:
            next_pieces = []
            for p_low, p_high in pieces:
                if r_high < p_low or r_low > p_high:
                    next_pieces.append((p_low, p_high))
                    continue
                if p_low < r_low:
                    next_pieces.append((p_low, r_low - 1))
                if r_high < p_high:
                    next_pieces.append((r_high + 1, p_high))
            pieces = next_pieces
        result += pieces
    return result


class Firewall:
    def __init__(self, state: dict, network, host_address: str, on_change: Callable[[], None]):
        self._state = state
        self.network = network
        self.host_address = host_address
        self._on_change = on_change

    @property
    def rules(self) -> list[dict]:
        return self._state["rules"]

    def find(self, instance_id: str) -> dict | None:
        for rule in self.rules:
            if rule["InstanceID"].lower() == (instance_id or "").lower():
                return rule
        return None

    # -- the decision
    def admitted_ranges(self, port: int, protocol: str = "TCP") -> list[tuple[int, int]]:
        """The IPv4 source ranges a new connection to ``port`` is admitted from (merged, sorted)."""
        bit = self.network.profile_bit
        subnets = self.network.local_subnets()
        allow, block = [], []
        for rule in self.rules:
            if rule["Enabled"] != ENABLED_TRUE or rule["Direction"] != DIRECTION_INBOUND:
                continue
            if rule["Profiles"] not in (PROFILE_ANY, 7) and not rule["Profiles"] & bit:
                continue
            if rule["Protocol"] not in ("Any", protocol) or not _ports_match(rule["LocalPort"], port):
                continue
            local = _v4_ranges(rule["LocalAddress"], subnets)
            if not any(low <= int(ipaddress.ip_address(self.host_address)) <= high for low, high in local):
                continue
            remote = _v4_ranges(rule["RemoteAddress"], subnets)
            (block if rule["Action"] == ACTION_BLOCK else allow).extend(remote)
        return _merge(_subtract(_merge(allow), _merge(block)))

    def admits(self, port: int, client_address: str) -> bool:
        address = int(ipaddress.ip_address(client_address))
        return any(low <= address <= high for low, high in self.admitted_ranges(port))

    # -- changes (CIM: New-/Set-/Remove-NetFirewallRule and the filter cmdlets)
    def create(self, values: dict) -> dict:
        """A new rule with its port and address filters (Any/Any), as the provider makes it."""
        name = values.get("InstanceID") or "{" + str(uuid.uuid4()).upper() + "}"
        if self.find(name) is not None:
            raise KeyError(name)
        rule = dict(NEW_RULE_DEFAULTS, InstanceID=name)
        rule.update({k: v for k, v in values.items() if k in RULE_FIELDS and k != "InstanceID"})
        if not rule["DisplayName"]:
            rule["DisplayName"] = name
        self.rules.append(rule)
        self._on_change()
        return rule

    def update(self, rule: dict, changes: dict) -> None:
        if any(rule.get(k) != v for k, v in changes.items()):
            rule.update(changes)
            self._on_change()

    def delete(self, rule: dict) -> None:
        """Remove-NetFirewallRule: the rule and its filters go together."""
        self.rules.remove(rule)
        self._on_change()

    def compatibility_listener_turned_on(self) -> None:
        """Microsoft's port configuration article: the port-80 rule follows the compatibility listener.
        Turning the listener off leaves the rule as it is (the article says nothing about it)."""
        for rule in self.rules:
            if rule["RuleGroup"] == GROUP_WINRM_COMPAT[0] and "80" in rule["LocalPort"]:
                self.update(rule, {"Enabled": ENABLED_TRUE})
