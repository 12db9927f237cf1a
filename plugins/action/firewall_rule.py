# Copyright (c) 2026 wsman.winrm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""wsman.winrm.firewall_rule: the Windows Firewall rules WinRM comes in through, over CIM.

The rules live in WMI (``root/StandardCimv2``): ``MSFT_NetFirewallRule`` holds Enabled and
Profiles, the one-to-one ``MSFT_NetAddressFilter`` holds RemoteAddress. The task reads every rule
with three Enumerates, changes each selected rule with at most two partial Puts, and puts back
what it already changed if a later Put fails, so a failure leaves nothing half-applied.
"""

from __future__ import annotations

import socket
import typing as t

from ansible.errors import AnsibleActionFail

from ansible_collections.wsman.winrm.plugins.module_utils import argspecs, resources
from ansible_collections.wsman.winrm.plugins.module_utils.guards import firewall_lockout_reasons
from ansible_collections.wsman.winrm.plugins.module_utils.wsman import WSManError
from ansible_collections.wsman.winrm.plugins.plugin_utils.wsman_action import ChangeRefused, WSManAction


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


class ActionModule(WSManAction):
    argument_spec = argspecs.FIREWALL_RULE["argument_spec"]
    argument_options = {key: value for key, value in argspecs.FIREWALL_RULE.items() if key != "argument_spec"}

    def execute(self, session, args: dict[str, t.Any], task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        try:
            wanted = validate(args)
        except ValueError as error:
            raise AnsibleActionFail(str(error)) from None
        result: dict[str, t.Any] = {}
        rules = resources.read_firewall_rules(session)
        selected = select(rules, args)

        plan: list[tuple[resources.FirewallRule, t.Any, t.Any]] = []  # rule, rule Put, address Put
        predicted: dict[str, resources.FirewallRule] = {}
        skipped: list[str] = []
        for rule in selected:
            rule_body = rule.rule_put(wanted["enabled"], wanted["profiles_mask"])
            address_body = rule.address_put(wanted["remote_addresses"])
            if rule_body is None and address_body is None:
                continue
            if rule.from_group_policy:
                if args.get("policy_controlled", "fail") == "fail":
                    raise ChangeRefused(
                        f"The firewall rule {rule.name} comes from Group Policy ({rule.policy_store_source or 'a GPO'}) "
                        "and Windows does not let the local store change it. Change the GPO, or set "
                        "policy_controlled: skip to leave it and go on.")
                skipped.append(rule.name)
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
            plan.append((rule, rule_body, address_body))
        if skipped:
            result["policy_skipped"] = skipped
            result.setdefault("warnings", []).append(
                "Left unchanged because they come from Group Policy: " + ", ".join(skipped))

        rules_after = [predicted.get(rule.name, rule) for rule in rules]
        self._guard(session, rules, rules_after, args.get("force", False), result)

        if plan and not self._task.check_mode:
            for rule, written in self._apply(session, plan).items():
                predicted[rule] = written
            rules_after = [predicted.get(rule.name, rule) for rule in rules]

        before_view = {rule.name: rule.to_dict() for rule in selected}
        after_view = {rule.name: predicted.get(rule.name, rule).to_dict() for rule in selected}
        result.update(
            changed=bool(plan),
            changes=sorted(f"{name}.{key}" for name in after_view for key in after_view[name]
                           if after_view[name][key] != before_view[name][key]),
            before=before_view, after=after_view,
            rules=[rule.to_dict() for rule in rules_after if rule.is_winrm or rule.name in before_view],
        )
        if self._task.diff:
            header = f"firewall rule {args['name']}" if args.get("name") else f"firewall group {args['group']}"
            result["diff"] = {"before": before_view, "after": after_view, "before_header": header,
                              "after_header": header}
        return result

    def _guard(self, session, rules_before, rules_after, force: bool, result: dict[str, t.Any]) -> None:
        controller, host_address = controller_address(session.endpoint)
        listener_ports: list[int] = []
        if not any(str(session.endpoint.port) in rule.local_ports for rule in rules_before):
            # A NAT or port forward between: the rules in use are those of the listeners this
            # transport reaches (one Enumerate, only on this path).
            transport = session.endpoint.scheme.upper()
            listener_ports = [listener.get("port") for listener in
                              (resources.Listener.from_xml(e) for e in session.enumerate(resources.LISTENER_URI))
                              if (listener.get("transport") or "").upper() == transport
                              and listener.get("enabled", True) and listener.get("port")]
        reasons = firewall_lockout_reasons(session.endpoint, controller, [r.to_dict() for r in rules_before],
                                           [r.to_dict() for r in rules_after], host_address, listener_ports)
        self.refuse_unless_forced(
            reasons, force, result, refusal="Refusing a firewall change that would lock this controller out",
            advice="Open another way in first (another rule for this port and address), or set force: true "
                   "if you have another way back in.",
            forced="this firewall change may cut the connection the task used")

    def _apply(self, session, plan) -> dict[str, resources.FirewallRule]:
        """Send the Puts; on a failure put back what was already changed, then fail."""
        done: list[tuple[str, t.Any, t.Any]] = []  # resource URI, InstanceID, Put body restoring it
        written: dict[str, resources.FirewallRule] = {}
        try:
            for rule, rule_body, address_body in plan:
                after = rule.copy()
                if rule_body is not None:
                    reply = resources.FirewallRuleInstance.from_xml(
                        session.put(resources.FIREWALL_RULE_URI, rule_body, selectors={"InstanceID": rule.name}))
                    done.append((resources.FIREWALL_RULE_URI, rule.name, resources.FirewallRuleInstance.render_put(
                        rule.name, {"Enabled": 1 if rule.enabled else 2, "Profiles": rule.profiles_mask})))
                    after.enabled = reply.get_int("Enabled", 1 if after.enabled else 2) == 1
                    after.profiles_mask = reply.get_int("Profiles", after.profiles_mask)
                if address_body is not None:
                    reply = resources.FirewallAddressFilter.from_xml(
                        session.put(resources.FIREWALL_ADDRESS_FILTER_URI, address_body,
                                    selectors={"InstanceID": rule.name}))
                    done.append((resources.FIREWALL_ADDRESS_FILTER_URI, rule.name,
                                 resources.FirewallAddressFilter.render_put(
                                     rule.name, {"RemoteAddress": list(rule.remote_addresses)})))
                    after.remote_addresses = reply.get_list("RemoteAddress") or after.remote_addresses
                written[rule.name] = after
        except WSManError as error:
            failed_back = []
            for uri, name, body in reversed(done):
                try:
                    session.put(uri, body, selectors={"InstanceID": name})
                except WSManError:
                    failed_back.append(name)
            note = (f" The rules already changed by this task were put back ({', '.join(n for _u, n, _b in done)})."
                    if done and not failed_back else
                    f" Putting back the rules already changed failed for {', '.join(failed_back)}: check them."
                    if failed_back else "")
            raise WSManError(error.message + note, error.code, error.hint, operation=error.operation) from None
        return written
