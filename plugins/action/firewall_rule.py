# Copyright (c) 2026 wsman.winrm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""wsman.winrm.firewall_rule: the Windows Firewall rules WinRM comes in through, over CIM.

The rules live in WMI (``root/StandardCimv2``): ``MSFT_NetFirewallRule`` holds Enabled and
Profiles, the one-to-one ``MSFT_NetAddressFilter`` holds RemoteAddress. The task reads every rule
with three Enumerates, changes each selected rule with at most two partial Puts, and puts back
what it already changed if a later Put fails (the change pipeline), so a failure leaves nothing
half-applied.
"""

from __future__ import annotations

import socket
import typing as t

from ansible.errors import AnsibleActionFail

from ansible_collections.wsman.winrm.plugins.module_utils import argspecs, plan, resources
from ansible_collections.wsman.winrm.plugins.module_utils.guards import firewall_lockout_reasons
from ansible_collections.wsman.winrm.plugins.plugin_utils.wsman_action import WSManAction


def validate(args: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """The wanted state in Windows' terms (None = leave as it is); ValueError names the field."""
    for field in ("name", "group"):
        if args.get(field) is not None and not args[field].strip():
            raise ValueError(f"{field} must not be empty")
    wanted: dict[str, t.Any] = {"enabled": args.get("enabled"), "profiles_mask": None, "remote_addresses": None}
    if args.get("profiles") is not None:
        wanted["profiles_mask"] = resources.firewall_profile_mask(args["profiles"])
    if args.get("remote_addresses") is not None:
        wanted["remote_addresses"] = resources.firewall_addresses(args["remote_addresses"])
    return wanted


def select(rules: list[resources.FirewallRule], args: t.Mapping[str, t.Any]) -> list[resources.FirewallRule]:
    if args.get("name"):
        found = [rule for rule in rules if rule.name.lower() == args["name"].strip().lower()]
        what = f"no firewall rule is named {args['name']!r}"
    else:
        found = [rule for rule in rules if rule.in_group(args["group"])]
        what = f"no firewall rule is in the group {args['group']!r}"
    if not found:
        winrm = [rule for rule in rules if rule.is_winrm]
        names = ", ".join(sorted(rule.name for rule in winrm)) or "none"
        groups = ", ".join(sorted({rule.display_group for rule in winrm})) or "none"
        raise AnsibleActionFail(f"{what} on this host. Its WinRM rules: {names}; WinRM groups: {groups}.")
    return found


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


def _rule_steps(session, rule: resources.FirewallRule, rule_body, address_body) -> list[plan.Step]:
    """The partial Puts of one rule (MSFT_NetFirewallRule, then its MSFT_NetAddressFilter), each undone
    by a Put of the values from before and read back by a Get of the instance."""
    selectors = {"InstanceID": rule.name}
    steps = []
    if rule_body is not None:
        wanted = resources.FirewallRuleInstance.from_xml(rule_body)
        old = resources.FirewallRuleInstance.render_put(rule.name, {"Enabled": 1 if rule.enabled else 2,
                                                                    "Profiles": rule.profiles_mask})

        def rule_applied() -> bool:
            now = resources.FirewallRuleInstance.from_xml(session.get(resources.FIREWALL_RULE_URI, selectors))
            return all(now.get(name) == value for name, value in wanted.values.items() if name != "InstanceID")

        steps.append(plan.Step(
            "firewall rule " + rule.name, ["%s.%s" % (rule.name, name.lower()) for name in sorted(wanted.values)
                                           if name != "InstanceID"],
            lambda: resources.FirewallRuleInstance.from_xml(
                session.put(resources.FIREWALL_RULE_URI, rule_body, selectors=selectors)),
            undo=lambda: session.put(resources.FIREWALL_RULE_URI, old, selectors=selectors), applied=rule_applied))
    if address_body is not None:
        wanted_addresses = resources.FirewallAddressFilter.from_xml(address_body).get_list("RemoteAddress")
        old_addresses = resources.FirewallAddressFilter.render_put(
            rule.name, {"RemoteAddress": list(rule.remote_addresses)})

        def addresses_applied() -> bool:
            now = resources.FirewallAddressFilter.from_xml(session.get(resources.FIREWALL_ADDRESS_FILTER_URI,
                                                                       selectors))
            return resources.same_firewall_addresses(now.get_list("RemoteAddress"), wanted_addresses)

        steps.append(plan.Step(
            "address filter " + rule.name, ["%s.remote_addresses" % rule.name],
            lambda: resources.FirewallAddressFilter.from_xml(
                session.put(resources.FIREWALL_ADDRESS_FILTER_URI, address_body, selectors=selectors)),
            undo=lambda: session.put(resources.FIREWALL_ADDRESS_FILTER_URI, old_addresses, selectors=selectors),
            applied=addresses_applied))
    return steps


class ActionModule(WSManAction):
    argument_spec = argspecs.FIREWALL_RULE["argument_spec"]
    argument_options = {key: value for key, value in argspecs.FIREWALL_RULE.items() if key != "argument_spec"}

    def manage(self, session, args: dict[str, t.Any], task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        try:
            wanted = validate(args)
        except ValueError as error:
            raise AnsibleActionFail(str(error)) from None
        rules = resources.read_firewall_rules(session)
        selected = select(rules, args)
        header = f"firewall rule {args['name']}" if args.get("name") else f"firewall group {args['group']}"
        change = plan.Plan(header=header)
        predicted: dict[str, resources.FirewallRule] = {}
        for rule in selected:
            rule_body = rule.rule_put(wanted["enabled"], wanted["profiles_mask"])
            address_body = rule.address_put(wanted["remote_addresses"])
            if rule_body is None and address_body is None:
                continue
            if rule.from_group_policy:
                current = rule.to_dict()
                asked = {"enabled": wanted["enabled"], "remote_addresses": wanted["remote_addresses"],
                         "profiles": resources.firewall_profiles(wanted["profiles_mask"])
                         if wanted["profiles_mask"] is not None else None}
                asked = {key: value for key, value in asked.items() if value is not None and value != current[key]}
                change.held.append(plan.Held(
                    rule.name, asked, {key: current[key] for key in asked},
                    "the Group Policy object %s (Windows does not let the local store change its rules)"
                    % (rule.policy_store_source or "that defines it"), label="the firewall rule " + rule.name))
                continue
            after = rule.copy()
            if rule_body is not None:
                after.enabled = rule.enabled if wanted["enabled"] is None else wanted["enabled"]
                if wanted["profiles_mask"] is not None and \
                        resources.firewall_covered_profiles(wanted["profiles_mask"]) != \
                        resources.firewall_covered_profiles(rule.profiles_mask):
                    after.profiles_mask = wanted["profiles_mask"]
            if address_body is not None:
                after.remote_addresses = list(wanted["remote_addresses"])
            predicted[rule.name] = after
            for step in _rule_steps(session, rule, rule_body, address_body):
                change.add(step)

        def views(after_rules: dict[str, resources.FirewallRule]) -> dict[str, t.Any]:
            return {rule.name: after_rules.get(rule.name, rule).to_dict() for rule in selected}

        change.before, change.after = views({}), views(predicted)
        rules_after = [predicted.get(rule.name, rule) for rule in rules]
        change.refusals.append(self._lockout(session, rules, rules_after))

        def finish(answers: dict[str, t.Any]) -> dict[str, t.Any]:
            for rule in selected:
                written = predicted.get(rule.name)
                if written is None:
                    continue
                reply = answers.get("firewall rule " + rule.name)
                if reply is not None:
                    written.enabled = reply.get_int("Enabled", 1 if written.enabled else 2) == 1
                    written.profiles_mask = reply.get_int("Profiles", written.profiles_mask)
                reply = answers.get("address filter " + rule.name)
                if reply is not None:
                    written.remote_addresses = reply.get_list("RemoteAddress") or written.remote_addresses
            return views(predicted)

        change.finish = finish
        result = self.apply_plan(change, args)
        if result.get("failed"):
            return result
        after_view = result["after"]
        result["changes"] = sorted(f"{name}.{key}" for name in after_view for key in after_view[name]
                                   if after_view[name][key] != result["before"][name][key])
        result["rules"] = [predicted.get(rule.name, rule).to_dict() for rule in rules
                           if rule.is_winrm or rule.name in result["before"]]
        return result

    def _lockout(self, session, rules_before, rules_after) -> plan.Refusal:
        controller, host_address = controller_address(session.endpoint)
        listener_ports: list[int] = []
        if rules_before != rules_after and \
                not any(str(session.endpoint.port) in rule.local_ports for rule in rules_before):
            # A NAT or port forward between: the rules in use are those of the listeners this
            # transport reaches (one Enumerate, only on this path).
            transport = session.endpoint.scheme.upper()
            listener_ports = [listener.get("port") for listener in
                              (resources.Listener.from_xml(e) for e in session.enumerate(resources.LISTENER_URI))
                              if (listener.get("transport") or "").upper() == transport
                              and listener.get("enabled", True) and listener.get("port")]
        reasons = firewall_lockout_reasons(session.endpoint, controller, [r.to_dict() for r in rules_before],
                                           [r.to_dict() for r in rules_after], host_address, listener_ports)
        return plan.Refusal(reasons, "Refusing a firewall change that would lock this controller out",
                            "Open another way in first (another rule for this port and address), or set force: true "
                            "if you have another way back in.",
                            "this firewall change may cut the connection the task used")
