# Copyright (c) 2026 wsman.winrm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""wsman.winrm.firewall_rule: create, change and delete Windows Firewall inbound rules, over CIM.

A rule lives in WMI (``root/StandardCimv2``) as three instances with one InstanceID:
``MSFT_NetFirewallRule`` (Enabled, Profiles, Action, DisplayName...), ``MSFT_NetProtocolPortFilter``
(Protocol, LocalPort) and ``MSFT_NetAddressFilter`` (RemoteAddress). The task reads every rule with
three Enumerates and plans the rule's Create, Puts or Delete (``plugin_utils/firewall.py``, the
planner the converge action shares); the change pipeline undoes what was applied if a later
request fails, so a failure leaves nothing half-applied.
"""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleActionFail

from ansible_collections.wsman.winrm.plugins.module_utils import argspecs, plan, resources
from ansible_collections.wsman.winrm.plugins.module_utils.guards import firewall_lockout_reasons
from ansible_collections.wsman.winrm.plugins.plugin_utils.firewall import WantedRule, controller_address, plan_rule
from ansible_collections.wsman.winrm.plugins.plugin_utils.wsman_action import WSManAction

# What a group task may set on every rule of the group (a rule's own identity needs its name).
GROUP_OPTIONS = ("enabled", "profiles", "remote_addresses", "action")
RULE_OPTIONS = ("display_name", "description", "protocol", "local_ports")


def validate(args: t.Mapping[str, t.Any]) -> None:
    """Refuse what Windows would refuse, before anything is sent; ValueError names the field."""
    for field in ("name", "group"):
        if args.get(field) is not None and not args[field].strip():
            raise ValueError(f"{field} must not be empty")
    if not args.get("name"):
        given = [option for option in RULE_OPTIONS if args.get(option) is not None]
        if given:
            raise ValueError("%s: set only with name (one rule); with group alone the task changes %s of every "
                             "rule of the group" % (", ".join(given), ", ".join(GROUP_OPTIONS)))
    WantedRule.from_args(args.get("name") or "-", args)


def select(rules: list[resources.FirewallRule], args: t.Mapping[str, t.Any]) -> list[resources.FirewallRule]:
    """The rules the task is about: the named one (none yet: it is to be created), or a group's."""
    if args.get("name"):
        return [rule for rule in rules if rule.name.lower() == args["name"].strip().lower()]
    found = [rule for rule in rules if rule.in_group(args["group"])]
    if not found and args.get("state") != "absent":
        winrm = [rule for rule in rules if rule.is_winrm]
        names = ", ".join(sorted(rule.name for rule in winrm)) or "none"
        groups = ", ".join(sorted({rule.display_group for rule in winrm})) or "none"
        raise AnsibleActionFail(f"no firewall rule is in the group {args['group']!r} on this host. Its WinRM "
                                f"rules: {names}; WinRM groups: {groups}. To create a rule, give its name.")
    return found


class ActionModule(WSManAction):
    argument_spec = argspecs.FIREWALL_RULE["argument_spec"]
    argument_options = {key: value for key, value in argspecs.FIREWALL_RULE.items() if key != "argument_spec"}

    def manage(self, session, args: dict[str, t.Any], task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        try:
            validate(args)
        except ValueError as error:
            raise AnsibleActionFail(str(error)) from None
        rules = resources.read_firewall_rules(session)
        selected = select(rules, args)
        header = f"firewall rule {args['name']}" if args.get("name") else f"firewall group {args['group']}"
        change = plan.Plan(header=header)
        after: dict[str, resources.FirewallRule | None] = {}
        targets: list[tuple[resources.FirewallRule | None, str]] = [(rule, rule.name) for rule in selected]
        if args.get("name") and not targets:
            if args.get("state") != "absent" and args.get("local_ports") is None:
                # A name alone (a typo, a rule another host has) never creates a rule for every port.
                winrm = ", ".join(sorted(rule.name for rule in resources.winrm_firewall_rules(rules))) or "none"
                raise AnsibleActionFail(f"no firewall rule is named {args['name']!r} on this host (its WinRM rules: "
                                        f"{winrm}). To create it, give local_ports (and protocol, display_name...).")
            targets = [(None, args["name"].strip())]   # not on the host: state present creates it
        for current, name in targets:
            options = dict(args) if args.get("name") else {key: args.get(key) for key in GROUP_OPTIONS + ("state",)}
            try:
                rule_plan = plan_rule(session, current, WantedRule.from_args(name, options))
            except ValueError as error:
                raise AnsibleActionFail(str(error)) from None
            if rule_plan.held is not None:
                change.held.append(rule_plan.held)
                continue
            if rule_plan.steps:
                after[name] = rule_plan.after
                change.steps += rule_plan.steps

        names = [name for _current, name in targets]

        def views(after_rules: dict[str, resources.FirewallRule | None]) -> dict[str, t.Any]:
            view = {}
            for current, name in targets:
                rule = after_rules[name] if name in after_rules else current
                if rule is not None:
                    view[name] = rule.to_dict()
            return view

        change.before, change.after = views({}), views(after)
        known = {rule.name.lower() for rule in rules}
        rules_after = [rule for rule in [after.get(rule.name, rule) for rule in rules] +
                       [rule for name, rule in after.items() if name.lower() not in known] if rule is not None]
        change.refusals.append(self._lockout(session, rules, rules_after))

        def finish(answers: dict[str, t.Any]) -> dict[str, t.Any]:
            for name, written in after.items():
                if written is None:
                    continue
                reply = answers.get("firewall rule " + name)
                if isinstance(reply, resources.CimInstance):
                    written.enabled = reply.get_int("Enabled", 1 if written.enabled else 2) == 1
                    written.profiles_mask = reply.get_int("Profiles", written.profiles_mask)
                reply = answers.get("address filter " + name)
                if isinstance(reply, resources.CimInstance):
                    written.remote_addresses = reply.get_list("RemoteAddress") or written.remote_addresses
            return views(after)

        change.finish = finish
        result = self.apply_plan(change, args)
        if result.get("failed"):
            return result
        before_view, after_view = result["before"], result["after"]
        changes = []
        for name in names:
            if (name in before_view) != (name in after_view):
                changes.append(f"{name}.state")
            elif name in after_view:
                changes += [f"{name}.{key}" for key in after_view[name] if after_view[name][key] != before_view[name][key]]
        result["changes"] = sorted(changes)
        relevant = {rule.name for rule in resources.winrm_firewall_rules(rules_after)}
        result["rules"] = [rule.to_dict() for rule in rules_after
                           if rule.name in relevant or rule.name in before_view or rule.name in after_view]
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
