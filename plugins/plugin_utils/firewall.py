# Copyright (c) 2026 wsman.winrm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plans for one Windows Firewall rule (create, change, delete), shared by wsman.winrm.firewall_rule
and the converge action's firewall step.

A rule is three CIM instances with one InstanceID (Microsoft Learn, "MSFT_NetFirewallRule class"):
the rule, its MSFT_NetProtocolPortFilter and its MSFT_NetAddressFilter. New-NetFirewallRule
-CimSession creates the rule and the provider makes both filters (Any, Any) with it; the filters
are then set with Puts (Set-NetFirewallPortFilter, Set-NetFirewallAddressFilter). So that no
moment admits more than asked, a new enabled rule is created disabled, its filters set, then
enabled; a failure at any of those steps deletes it again (the rollback of the change pipeline).
"""

from __future__ import annotations

import dataclasses
import socket
import typing as t

from ansible_collections.wsman.winrm.plugins.module_utils import plan
from ansible_collections.wsman.winrm.plugins.module_utils.firewall import (
    FIREWALL_ACTIONS, FIREWALL_ADDRESS_FILTER_URI, FIREWALL_ENABLED, FIREWALL_PORT_FILTER_URI, FIREWALL_RULE_URI,
    WINRM_FIREWALL_GROUPS, FirewallAddressFilter, FirewallPortFilter, FirewallRule, FirewallRuleInstance,
    delete_firewall_rule, firewall_addresses, firewall_ports, firewall_profile_mask,
    firewall_protocol, read_firewall_rule, same_firewall_addresses,
)

# The display names Windows resolves the WinRM groups' indirect strings to.
GROUP_DISPLAY_NAMES = dict(zip((group.lower() for group in WINRM_FIREWALL_GROUPS),
                               ("Windows Remote Management", "Windows Remote Management (Compatibility)")))


@dataclasses.dataclass
class WantedRule:
    """A rule as a task wants it, in Windows' terms; None = leave as it is (a new rule: the default)."""

    name: str
    state: str = "present"
    display_name: str | None = None
    group: str | None = None
    description: str | None = None
    protocol: str | None = None
    local_ports: list[str] | None = None
    profiles_mask: int | None = None
    remote_addresses: list[str] | None = None
    enabled: bool | None = None
    action: int | None = None

    @classmethod
    def from_args(cls, name: str, args: t.Mapping[str, t.Any]) -> "WantedRule":
        """From a task's options (firewall_rule's names); ValueError names the field."""
        wanted = cls(name=name, state=args.get("state") or "present", display_name=args.get("display_name"),
                     group=args.get("group"), description=args.get("description"), enabled=args.get("enabled"))
        if args.get("protocol") is not None:
            wanted.protocol = firewall_protocol(args["protocol"])
        if args.get("local_ports") is not None:
            wanted.local_ports = firewall_ports(args["local_ports"])
        if args.get("profiles") is not None:
            wanted.profiles_mask = firewall_profile_mask(args["profiles"])
        if args.get("remote_addresses") is not None:
            wanted.remote_addresses = firewall_addresses(args["remote_addresses"])
        if args.get("action") is not None:
            wanted.action = FIREWALL_ACTIONS[args["action"]]
        if wanted.local_ports not in (None, ["Any"]) and wanted.protocol not in (None, "TCP", "UDP"):
            raise ValueError("local_ports: ports need protocol TCP or UDP (got %s)" % wanted.protocol)
        if wanted.display_name is not None and not wanted.display_name.strip():
            raise ValueError("display_name must not be empty (leave it out to keep the rule's, or the name for a new rule)")
        return wanted

    def new_rule(self) -> FirewallRule:
        """The rule a Create makes: New-NetFirewallRule's defaults (enabled, any profile, inbound,
        allow, any address), TCP once ports are given."""
        group = self.group or ""
        protocol = self.protocol or ("TCP" if self.local_ports and self.local_ports != ["Any"] else "Any")
        return FirewallRule(
            name=self.name, display_name=self.display_name or self.name, group=group,
            display_group=GROUP_DISPLAY_NAMES.get(group.lower(), group), description=self.description or "",
            enabled=True if self.enabled is None else self.enabled,
            profiles_mask=0 if self.profiles_mask is None else self.profiles_mask,
            action=self.action or FIREWALL_ACTIONS["allow"], protocol=protocol,
            local_ports=list(self.local_ports or ["Any"]), remote_addresses=list(self.remote_addresses or ["Any"]))


# The names of the steps plan_rule makes start with these (the converge report groups them).
STEP_PREFIXES = ("firewall rule ", "port filter ", "address filter ")


@dataclasses.dataclass
class RulePlan:
    steps: list[plan.Step]
    after: FirewallRule | None       # the rule as the steps leave it (None: deleted or never there)
    held: plan.Held | None = None    # a rule from Group Policy that would have to change


def _selectors(name: str) -> dict[str, str]:
    return {"InstanceID": name}


def _exists(session: t.Any, name: str) -> bool:
    return read_firewall_rule(session, name) is not None


def _create_requests(session: t.Any, rule: FirewallRule) -> None:
    """Create the rule with its filters, disabled until they are set (used to put a deleted rule back)."""
    for _name, send in _creation(session, rule):
        send()


def _creation(session: t.Any, rule: FirewallRule) -> list[tuple[str, t.Callable[[], t.Any]]]:
    """The requests that make ``rule``: the Create, the filters' Puts, the enabling Put."""
    blank = FirewallRule(name=rule.name, protocol="Any", local_ports=["Any"], remote_addresses=["Any"])
    port_body = blank.port_filter_put(rule.protocol, rule.local_ports)
    address_body = blank.address_put(rule.remote_addresses)
    staged = rule.copy()
    staged.enabled = rule.enabled and port_body is None and address_body is None
    requests: list[tuple[str, t.Callable[[], t.Any]]] = [
        ("created", lambda: session.create(FIREWALL_RULE_URI, staged.create_body()))]
    if port_body is not None:
        requests.append(("port filter", lambda: session.put(FIREWALL_PORT_FILTER_URI, port_body,
                                                            selectors=_selectors(rule.name))))
    if address_body is not None:
        requests.append(("address filter", lambda: session.put(FIREWALL_ADDRESS_FILTER_URI, address_body,
                                                               selectors=_selectors(rule.name))))
    if rule.enabled and not staged.enabled:
        enable = FirewallRuleInstance.render_put(rule.name, {"Enabled": FIREWALL_ENABLED})
        requests.append(("enabled", lambda: session.put(FIREWALL_RULE_URI, enable, selectors=_selectors(rule.name))))
    return requests


def plan_rule(session: t.Any, current: FirewallRule | None, wanted: WantedRule) -> RulePlan:
    """The steps that bring one rule (``current``, None when the host has none) to ``wanted``."""
    name = current.name if current is not None else wanted.name
    if wanted.state == "absent":
        if current is None:
            return RulePlan([], None)
        if current.from_group_policy:
            return RulePlan([], current, _held(current, {"state": "absent"}, {"state": "present"}))
        return RulePlan([plan.Step(
            "firewall rule %s deleted" % name, ["%s.state" % name], lambda: delete_firewall_rule(session, name),
            undo=lambda: _create_requests(session, current), applied=lambda: not _exists(session, name))], None)
    if current is None:
        rule = wanted.new_rule()
        steps = []
        for index, (what, send) in enumerate(_creation(session, rule)):
            if index == 0:
                # The Delete takes the filters with it: one undo puts back everything the creation did.
                steps.append(plan.Step("firewall rule %s created" % name, ["%s.state" % name], send,
                                       undo=lambda: delete_firewall_rule(session, name),
                                       applied=lambda: _exists(session, name)))
            else:
                steps.append(plan.Step("firewall rule %s %s" % (name, what), [], send))
        return RulePlan(steps, rule)
    if wanted.group is not None and not current.in_group(wanted.group):
        raise ValueError("group: the rule %s is in the group %r; Windows does not move an existing rule to another "
                         "group (Set-NetFirewallRule has no such parameter). Delete it first (state: absent) or "
                         "leave group out." % (name, current.display_group or current.group or ""))
    return _change(session, current, wanted)


def _change(session: t.Any, current: FirewallRule, wanted: WantedRule) -> RulePlan:
    name, selectors = current.name, _selectors(current.name)
    rule_values = current.rule_values(wanted.enabled, wanted.profiles_mask, wanted.display_name,
                                      wanted.description, wanted.action)
    port_body = current.port_filter_put(wanted.protocol, wanted.local_ports)
    address_body = current.address_put(wanted.remote_addresses)
    after = current.copy()
    if wanted.enabled is not None:
        after.enabled = wanted.enabled
    if "Profiles" in rule_values:
        after.profiles_mask = rule_values["Profiles"]
    after.display_name = rule_values.get("ElementName", after.display_name)
    after.description = rule_values.get("Description", after.description)
    after.action = rule_values.get("Action", after.action)
    if port_body is not None:
        after.protocol = wanted.protocol or after.protocol
        after.local_ports = list(wanted.local_ports or after.local_ports)
    if address_body is not None:
        after.remote_addresses = list(wanted.remote_addresses or after.remote_addresses)
    if not rule_values and port_body is None and address_body is None:
        return RulePlan([], current)
    if current.from_group_policy:
        before_view, after_view = current.to_dict(), after.to_dict()
        asked = {key: value for key, value in after_view.items() if value != before_view[key]}
        return RulePlan([], current, _held(current, asked, {key: before_view[key] for key in asked}))
    steps = []
    if rule_values:
        body = FirewallRuleInstance.render_put(name, rule_values)
        old = current.restore_put(rule_values)
        labels = {"Enabled": "enabled", "Profiles": "profiles", "ElementName": "display_name",
                  "Description": "description", "Action": "action"}

        def rule_applied() -> bool:
            now = FirewallRuleInstance.from_xml(session.get(FIREWALL_RULE_URI, selectors))
            return all(str(now.get(key)) == str(value) for key, value in rule_values.items())

        steps.append(plan.Step(
            "firewall rule " + name, ["%s.%s" % (name, labels[key]) for key in sorted(rule_values)],
            lambda: FirewallRuleInstance.from_xml(session.put(FIREWALL_RULE_URI, body, selectors=selectors)),
            undo=lambda: session.put(FIREWALL_RULE_URI, old, selectors=selectors), applied=rule_applied))
    if port_body is not None:
        old_ports = FirewallPortFilter.render_put(name, {"Protocol": current.protocol or "Any",
                                                         "LocalPort": list(current.local_ports or ["Any"])})

        def ports_applied() -> bool:
            now = FirewallPortFilter.from_xml(session.get(FIREWALL_PORT_FILTER_URI, selectors))
            return now.get("Protocol", "").lower() == after.protocol.lower() and \
                sorted(now.get_list("LocalPort")) == sorted(after.local_ports)

        steps.append(plan.Step(
            "port filter " + name, ["%s.protocol" % name, "%s.local_ports" % name],
            lambda: FirewallPortFilter.from_xml(session.put(FIREWALL_PORT_FILTER_URI, port_body, selectors=selectors)),
            undo=lambda: session.put(FIREWALL_PORT_FILTER_URI, old_ports, selectors=selectors), applied=ports_applied))
    if address_body is not None:
        old_addresses = FirewallAddressFilter.render_put(name, {"RemoteAddress": list(current.remote_addresses)})

        def addresses_applied() -> bool:
            now = FirewallAddressFilter.from_xml(session.get(FIREWALL_ADDRESS_FILTER_URI, selectors))
            return same_firewall_addresses(now.get_list("RemoteAddress"), after.remote_addresses)

        steps.append(plan.Step(
            "address filter " + name, ["%s.remote_addresses" % name],
            lambda: FirewallAddressFilter.from_xml(
                session.put(FIREWALL_ADDRESS_FILTER_URI, address_body, selectors=selectors)),
            undo=lambda: session.put(FIREWALL_ADDRESS_FILTER_URI, old_addresses, selectors=selectors),
            applied=addresses_applied))
    return RulePlan(steps, after)


def _held(rule: FirewallRule, asked: dict[str, t.Any], held: dict[str, t.Any]) -> plan.Held:
    return plan.Held(rule.name, asked, held,
                     "the Group Policy object %s (Windows does not let the local store change its rules)"
                     % (rule.policy_store_source or "that defines it"), label="the firewall rule " + rule.name)


def controller_address(endpoint: t.Any) -> tuple[str | None, str | None]:
    """(the controller's source address toward the host, the host's address); None when unknown.

    A UDP socket's connect() only picks the route: nothing is sent. Through a proxy the host sees
    the proxy's address, so the controller's own address says nothing."""
    try:
        family, _kind, _proto, _name, address = socket.getaddrinfo(endpoint.host, endpoint.port,
                                                                   proto=socket.IPPROTO_TCP)[0]
    except (OSError, IndexError):
        return None, None
    if endpoint.proxy:
        return None, address[0]
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.connect(address)
            return probe.getsockname()[0], address[0]
    except OSError:
        return None, address[0]


# ---- the rules that open the HTTPS listener's port (the converge action's firewall step) ----------

HTTPS_RULE = "WINRM-HTTPS-In-TCP"
HTTPS_PUBLIC_RULE = "WINRM-HTTPS-In-TCP-PUBLIC"
HTTPS_DISPLAY_NAME = "Windows Remote Management (HTTPS-In)"


def https_rules(port: int, remote_addresses: t.Sequence[str] | None = None) -> list[WantedRule]:
    """The inbound rules for the HTTPS listener's port, beside Windows' own for 5985: the same group,
    Domain and Private from Any address, Public from the local subnet only (the scope of
    WINRM-HTTP-In-TCP and WINRM-HTTP-In-TCP-PUBLIC; Microsoft Learn, "Security Considerations for
    PowerShell Remoting using WinRM": on public networks only the same subnet). ``remote_addresses``
    given: both rules admit exactly those."""
    scoped = firewall_addresses(remote_addresses) if remote_addresses else None
    description = "Inbound rule for Windows Remote Management via WS-Management over HTTPS. [TCP %d]" % port
    common = dict(group=WINRM_FIREWALL_GROUPS[0], display_name=HTTPS_DISPLAY_NAME, description=description,
                  protocol="TCP", local_ports=[str(port)], enabled=True, action=FIREWALL_ACTIONS["allow"])
    return [
        WantedRule(HTTPS_RULE, profiles_mask=firewall_profile_mask(["domain", "private"]),
                   remote_addresses=scoped or ["Any"], **common),
        WantedRule(HTTPS_PUBLIC_RULE, profiles_mask=firewall_profile_mask(["public"]),
                   remote_addresses=scoped or ["LocalSubnet"], **common),
    ]
