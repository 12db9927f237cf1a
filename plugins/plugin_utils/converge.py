# Copyright (c) 2026 wsman.winrm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One host's whole desired WinRM state as one plan: what wsman.winrm.converge reads, plans and
reads back, without Ansible's task machinery (the benchmark's plain script runs the same code).

Order (Windows' safe order): the Group Policy values, then the winrm/config settings in one partial
Put, then the firewall rules that open the HTTPS port (no rule Windows ships admits 5986), the
HTTPS listener, the proof through a second session over HTTPS, and the removal of the HTTP
listeners through that session. Each step is planned by the planner its module uses.
"""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleActionFail

from ansible_collections.wsman.winrm.plugins.module_utils import httpsys, plan, resources
from ansible_collections.wsman.winrm.plugins.module_utils.policy import (
    PolicyValues, option_for, plan_policy, same_value, writes_for,
)
from ansible_collections.wsman.winrm.plugins.module_utils.wsman import ConnectionFailed, Session, TimedOut, WSManError
from ansible_collections.wsman.winrm.plugins.module_utils.guards import firewall_lockout_reasons
from ansible_collections.wsman.winrm.plugins.plugin_utils import firewall as firewall_plans
from ansible_collections.wsman.winrm.plugins.plugin_utils import listeners as listener_plans
from ansible_collections.wsman.winrm.plugins.plugin_utils import settings
from ansible_collections.wsman.winrm.plugins.plugin_utils.wsman_action import WSManAction

READ_PARTS = ("config", "listeners", "policy")
CERTIFICATES = resources.CERTIFICATES
POLICY_STEP = "policy values"
SETTINGS_STEP = "WinRM settings"
FIREWALL_STEP = "HTTPS firewall rules"
HTTPS_STEP = "HTTPS listener"
PROOF_STEP = "HTTPS proof"
REMOVE_STEP = "HTTP listeners removed"


def desired_settings(args: t.Mapping[str, t.Any], current: t.Any) -> dict[str, t.Any]:
    """Dotted winrm/config paths -> wanted values, from the service, client and compatibility parts."""
    desired: dict[str, t.Any] = {}
    service = dict(args.get("service") or {})
    client = dict(args.get("client") or {})
    service_auth, client_auth = service.pop("auth", None) or {}, client.pop("auth", None) or {}
    if service:
        desired.update(settings.desired_service(service))
    if service_auth:
        desired.update(settings.desired_auth(dict(service_auth, scope="service")))
    if client:
        desired.update({path: value for path, value in settings.desired_client(client, current).items()
                        if value is not None})
    if client_auth:
        desired.update(settings.desired_auth(dict(client_auth, scope="client")))
    if args.get("compatibility_listeners"):
        desired.update({path: value for path, value in
                        settings.desired_compatibility(args["compatibility_listeners"]).items() if value is not None})
    return desired


def area(step: plan.Step) -> list[str]:
    """The report's names for what a step changes (the parts a baseline is made of)."""
    if step.name.startswith("policy value "):
        return [POLICY_STEP]
    if step.name.startswith(REMOVE_STEP):
        return [REMOVE_STEP]
    if step.name.startswith(firewall_plans.STEP_PREFIXES):
        return [FIREWALL_STEP]
    if step.name != SETTINGS_STEP:
        return [step.name] if step.changes else []
    names = []
    for path in step.changes:
        if path.startswith("service.enable_compatibility_"):
            names.append("compatibility listeners")
        elif path.startswith(("service.auth.", "client.auth.")):
            names.append(path.split(".", 1)[0] + " auth")
        else:
            names.append(path.split(".", 1)[0] + " settings")
    return names


def read_parts(args: t.Mapping[str, t.Any]) -> tuple[str, ...]:
    """What one read of the host takes: the certificate stores too when the HTTPS listener's
    certificate is chosen there (``certificate: auto``) or the controls judge listener certificates."""
    https = args.get("https") or {}
    # The firewall rules too when the plan opens the HTTPS port (three Enumerates).
    firewall = (resources.FIREWALL_PART,) if https.get("firewall") else ()
    if https.get("certificate") == "auto" or args.get("controls"):
        return READ_PARTS + (CERTIFICATES,) + firewall
    return READ_PARTS + firewall


def view_parts(snapshot: resources.ConfigSnapshot) -> tuple[str, ...]:
    return READ_PARTS + ((CERTIFICATES,) if snapshot.certificates is not None else ()) + (
        (resources.FIREWALL_PART,) if snapshot.firewall is not None else ())


def same_endpoint(first: t.Any, second: t.Any) -> bool:
    return first.url == second.url


def reach(session: Session, https_session: Session | None, https: t.Mapping[str, t.Any] | None,
          read: t.Callable[[Session], t.Any]) -> tuple[Session, t.Any]:
    """(the session that answered, ``read(session)``); a host an earlier run moved to HTTPS (no HTTP
    listener left to answer the inventory's endpoint) is read, and managed, through the HTTPS listener."""
    try:
        return session, read(session)
    except (ConnectionFailed, TimedOut) as error:
        if https_session is None or not (https or {}).get("remove_http") or session.endpoint.scheme != "http":
            raise
        try:
            return https_session, read(https_session)
        except WSManError:
            raise error from None


def read(session: Session, https_session: Session | None, https: t.Mapping[str, t.Any] | None,
         parts: t.Iterable[str] = READ_PARTS, computer_names: t.Sequence[str] | None = None):
    """One read of the host, through the session that answers (``reach``). ``computer_names``: the
    computer's names when the caller has read Win32_ComputerSystem already (not read again)."""
    return reach(session, https_session, https,
                 lambda through: resources.read_all(through, parts=parts, computer_names=computer_names))


def final_session(main: Session, https_session: Session | None, change: plan.Plan) -> Session:
    moved = any(step.name == PROOF_STEP for step in change.steps) and any(
        step.name.startswith(REMOVE_STEP) for step in change.steps)
    return https_session if moved and https_session is not None else main


# ---- the plan ---------------------------------------------------------------------------------

def plan_host(main: Session, https_session: Session | None, snapshot: resources.ConfigSnapshot,
              named: list[t.Any], args: t.Mapping[str, t.Any]) -> tuple[plan.Plan, list[dict[str, t.Any]]]:
    change = plan.Plan(header="WinRM configuration")
    # 1. policy values; a value configured otherwise is somebody's policy: kept unless told to override.
    conflicts: list[dict[str, t.Any]] = []
    if args["policy_conflicts"] == "keep":
        kept = []
        for option, value in named:
            clashes = [(setting, data) for setting, data in writes_for(option, value)
                       if snapshot.policy.values.get((setting.key, setting.name)) is not None
                       and not same_value(option_for(setting), setting,
                                          snapshot.policy.values[(setting.key, setting.name)], data)]
            for setting, data in clashes:
                conflicts.append({"policy": setting.full_name, "title": setting.title, "location": setting.location,
                                  "configured": snapshot.policy.values[(setting.key, setting.name)], "wanted": data})
            if not clashes:
                kept.append((option, value))
        named = kept
    policy_plan, settings_plan = plan_values(main, snapshot, named, args)
    if args["policy_conflicts"] == "override" and settings_plan.held:
        # The policy yields: a value that holds a wanted setting at another value gets the wanted one.
        named = named + yielding(settings_plan.held, policy_plan.predicted, named)
        policy_plan, settings_plan = plan_values(main, snapshot, named, args)
    policy_after, config_after = policy_plan.predicted, settings_plan.predicted
    change.refusals += policy_plan.refusals
    change.steps += policy_plan.steps
    change.invalid += settings_plan.invalid
    change.held += settings_plan.held
    change.steps += settings_plan.steps
    listeners = settings.listeners_after_settings(snapshot.listeners, config_after)
    change.warnings += http_sys_warnings(main, snapshot.config, config_after)
    # 3-5. the HTTPS move
    predicted = resources.ConfigSnapshot(config_after, listeners, [], PolicyValues(policy_after), snapshot.certificates,
                                         list(snapshot.firewall) if snapshot.firewall is not None else None)
    reasons = WSManAction.lockout_reasons(main.endpoint, snapshot.config, config_after, snapshot.listeners, listeners)
    https = args.get("https")
    if https:
        reasons += plan_https(change, main, https_session, snapshot, predicted, https)
    change.refusals.append(plan.lockout(reasons))
    window = int((args.get("controls") or {}).get("certificate_expiry_days") or 30)
    change.before = snapshot.to_dict(parts=view_parts(snapshot), certificate_window=window)
    change.after = predicted.to_dict(parts=view_parts(snapshot), certificate_window=window)
    change.predicted = predicted
    return change, conflicts


def http_sys_warnings(main: Session, before: t.Any, after: t.Any) -> list[str]:
    """A compatibility listener this converge turns on directly needs HTTP.sys set up (module_utils/httpsys.py)."""
    turned_on = [option for option, spec in settings.COMPATIBILITY.items()
                 if after.get(spec.path) and not before.get(spec.path)]
    if not turned_on:
        return []
    missing = httpsys.missing_for_compatibility(httpsys.read(main), turned_on,
                                                thumbprint=after.get("service.certificate_thumbprint") or "")
    return [httpsys.compatibility_warning(missing, "wsman.winrm.converge")] if missing else []


def plan_values(main: Session, snapshot: resources.ConfigSnapshot, named: list[t.Any],
                args: t.Mapping[str, t.Any]) -> tuple[plan.Plan, plan.Plan]:
    """The policy writes, then the settings as the config will show once those are in place."""
    policy_plan = plan_policy(main, snapshot.policy, named)
    base = settings.with_policy(snapshot.config, policy_plan.predicted, snapshot.policy.values)
    settings_plan = settings.plan_settings(main, base, desired_settings(args, base), "",
                                           PolicyValues(policy_plan.predicted), name=SETTINGS_STEP)
    return policy_plan, settings_plan


def yielding(held: list[plan.Held], policy_after: t.Mapping[tuple[str, str], t.Any],
             named: list[t.Any]) -> list[t.Any]:
    """(option, value) for the policy values that hold these settings, set to the wanted values."""
    already = {option.path for option, _value in named}
    extra = []
    for item in held:
        for setting in PolicyValues(policy_after).controlling(item.item):
            option = option_for(setting)
            if option.path in already or option.value.controls != (item.item,):
                continue  # e.g. AllowAutoConfig holds the IP filters and the listeners together
            extra.append((option, item.wanted))
            already.add(option.path)
    return extra


def plan_https(change: plan.Plan, main: Session, https_session: Session,
               snapshot: resources.ConfigSnapshot, predicted: resources.ConfigSnapshot,
               https: t.Mapping[str, t.Any]) -> list[str]:
    """The HTTPS listener, its proof and the HTTP removal; returns the lockout reasons of the
    part sent through the HTTPS session. ``predicted`` is updated to the listeners after."""
    if https.get("certificate") and https.get("certificate_thumbprint"):
        raise AnsibleActionFail("https: certificate_thumbprint names the certificate, certificate: auto chooses it; "
                                "give one of them")
    try:
        wanted = listener_plans.validate({
            "address": https["address"], "transport": "https", "port": https["port"], "enabled": True,
            "certificate_thumbprint": https.get("certificate_thumbprint") or None,
            "hostname": https.get("hostname") or None, "state": "present"})
    except ValueError as error:
        raise AnsibleActionFail("https: %s" % error) from None
    machine = predicted.certificates
    if https.get("certificate") == "auto":
        # The proof connects through https_session: choose a certificate it will accept.
        binding, machine = listener_plans.choose_certificate(main, predicted.listeners, wanted, https, machine=machine,
                                                             controller_endpoint=https_session.endpoint)
        change.report["certificate"] = listener_plans.certificate_result(binding)
        if binding.warning:
            change.warnings.append(binding.warning)
    listeners_before = list(predicted.listeners)
    planned = len(change.steps)
    reasons = plan_firewall(change, main, predicted, https) if https.get("firewall") else []
    opened = len(change.steps) > planned
    listener_plan = listener_plans.plan_listener(main, predicted, wanted, name=HTTPS_STEP)
    change.held += listener_plan.held
    change.steps += listener_plan.steps
    change.warnings += listener_plan.warnings
    reasons += WSManAction.lockout_reasons(main.endpoint, snapshot.config, predicted.config, predicted.listeners,
                                           listener_plan.predicted)
    reasons += listener_plans.certificate_lockout(main, listeners_before, listener_plan.predicted, machine)
    predicted.listeners = list(listener_plan.predicted)
    on_https = same_endpoint(main.endpoint, https_session.endpoint)
    through = main if on_https else https_session
    removals = []
    if https["remove_http"]:
        for listener in [item for item in predicted.listeners
                         if (item.get("transport") or "").upper() == "HTTP" and not item.is_compatibility]:
            removal = listener_plans.plan_listener(
                through, predicted, {"address": listener.get("address"), "transport": "HTTP",
                                     "port": listener.get("port"), "state": "absent"},
                name="%s: %s port %s" % (REMOVE_STEP, listener.get("address"), listener.get("port")))
            change.held += removal.held
            removals += removal.steps
            predicted.listeners = list(removal.predicted)
    if not on_https and (listener_plan.steps or removals or opened):
        change.add(plan.Step(PROOF_STEP, [], lambda: resources.read_all(https_session, parts={"listeners"})))
    change.steps += removals
    if removals:
        # Sent through the proven HTTPS session: the guard protects that connection.
        reasons += WSManAction.lockout_reasons(through.endpoint, predicted.config, predicted.config,
                                               listener_plan.predicted, predicted.listeners)
    return reasons


def plan_firewall(change: plan.Plan, main: Session, predicted: resources.ConfigSnapshot,
                  https: t.Mapping[str, t.Any]) -> list[str]:
    """The inbound rules for the HTTPS port, created or brought to the wanted scope before the
    listener (the proof could not reach it otherwise); returns the lockout reasons (a rerun that
    connects over HTTPS and narrows the rule it came in through). ``predicted.firewall`` is updated."""
    rules = list(predicted.firewall or [])
    try:
        wanted_rules = firewall_plans.https_rules(https["port"], https.get("firewall_remote_addresses"))
    except ValueError as error:
        raise AnsibleActionFail("https: firewall_%s" % error) from None
    for wanted in wanted_rules:
        index = next((i for i, rule in enumerate(rules) if rule.name.lower() == wanted.name.lower()), None)
        try:
            rule_plan = firewall_plans.plan_rule(main, rules[index] if index is not None else None, wanted)
        except ValueError as error:
            raise AnsibleActionFail("https: firewall: %s" % error) from None
        if rule_plan.held is not None:
            change.held.append(rule_plan.held)
            continue
        change.steps += rule_plan.steps
        if rule_plan.steps and rule_plan.after is not None:
            if index is None:
                rules.append(rule_plan.after)
            else:
                rules[index] = rule_plan.after
    before = [rule.to_dict() for rule in predicted.firewall or []]
    predicted.firewall = rules
    if before == [rule.to_dict() for rule in rules]:
        return []
    controller, host_address = firewall_plans.controller_address(main.endpoint)
    return firewall_lockout_reasons(main.endpoint, controller, before, [rule.to_dict() for rule in rules],
                                    host_address)


# ---- after ---------------------------------------------------------------------------------

def read_back(session: Session, change: plan.Plan, snapshot: resources.ConfigSnapshot) -> dict[str, t.Any]:
    """What the host holds now: winrm/config and the listeners read again (what Windows derived from
    the change: Source="GPO", the compatibility listeners, the certificate it picked). The policy
    values are the ones written - each write was confirmed by StdRegProv's ReturnValue 0 - so they are
    not read again (a StdRegProv call per value)."""
    now = resources.read_all(session, parts=("config", "listeners"))
    now.policy = change.predicted.policy if change.predicted is not None else snapshot.policy
    now.certificates = snapshot.certificates  # the stores are not what a converge changes
    # The firewall rules as written: each Create and Put was confirmed by its reply.
    now.firewall = change.predicted.firewall if change.predicted is not None else snapshot.firewall
    return now.to_dict(parts=view_parts(snapshot))
