# Copyright (c) 2026 wsman.winrm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""wsman.winrm.converge: the whole desired WinRM state of a host, in one task and one session.

Reads once (one Get of winrm/config, one Enumerate of the listeners, the policy values), plans
every part with the planner each module uses, and applies in Windows' safe order:

1. the Group Policy values (a setting the policy then holds needs no local change);
2. the winrm/config settings, in one partial Put (compatibility listeners included);
3. the HTTPS listener (create, or change the one with its keys; undone to exactly what it was);
4. the proof: a second session through the HTTPS listener, with the task's credentials;
5. the HTTP listeners removed, through that second session.

Each step has its undo; on any failure the steps applied are undone in reverse (each confirmed by
its reply or a read-back) and the result says what the host holds. Then the host is read back.
In check mode the same plan is the prediction. The controls are judged on the state before, the
state after and, in check mode, the predicted state; the per-host reports are written when asked.
"""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleActionFail

from ansible_collections.wsman.winrm.plugins.module_utils import argspecs, controls, plan, resources
from ansible_collections.wsman.winrm.plugins.module_utils.endpoint import EndpointError, resolve
from ansible_collections.wsman.winrm.plugins.module_utils.policy import (
    InvalidValue, PolicyValues, desired_options, option_for, plan_policy, same_value, writes_for,
)
from ansible_collections.wsman.winrm.plugins.module_utils.wsman import ConnectionFailed, Session, TimedOut, WSManError
from ansible_collections.wsman.winrm.plugins.plugin_utils import listeners as listener_plans
from ansible_collections.wsman.winrm.plugins.plugin_utils import settings
from ansible_collections.wsman.winrm.plugins.plugin_utils.report_files import write_reports
from ansible_collections.wsman.winrm.plugins.plugin_utils.wsman_action import Reconnecting, WSManAction

READ_PARTS = ("config", "listeners", "policy")
POLICY_STEP = "policy values"
SETTINGS_STEP = "WinRM settings"
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


class ActionModule(WSManAction):
    argument_spec = argspecs.CONVERGE["argument_spec"]

    def manage(self, session, args: dict[str, t.Any], task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        try:
            named = desired_options(dict(args.get("policy") or {}, state="present"))
        except InvalidValue as error:
            raise AnsibleActionFail("policy: invalid values: %s. Nothing was sent." % error) from None
        https = args.get("https")
        https_session = Reconnecting(Session(self._https_endpoint(task_vars, https))) if https else None
        try:
            main, snapshot = self._read(session, https_session, https)
            change, conflicts = self._plan(main, https_session, snapshot, named, args)
            result = self.apply_plan(change, args, {"policy_conflicts": conflicts})
            after = result.pop("after")
            moved = not result.get("failed") and not self._task.check_mode and result["changed"]
            final = self._final_session(main, https_session, change) if moved else main
            result["endpoint_changed"] = final.endpoint.url != session.endpoint.url
            return self._report(args, task_vars, result, change, snapshot, after, final)
        finally:
            if https_session is not None:
                https_session.session.close()

    # ---- sessions ---------------------------------------------------------------------------

    def _https_endpoint(self, task_vars: dict[str, t.Any], https: t.Mapping[str, t.Any]) -> t.Any:
        """Where the controller reaches the HTTPS listener: the host's connection variables, HTTPS,
        on the connection port (the listener's port unless NAT or a port mapping is between)."""
        variables = self.connection_variables(task_vars)
        variables.update(wsman_winrm_connection_uri="", wsman_winrm_scheme="https",
                         wsman_winrm_port=https.get("connection_port") or https["port"])
        try:
            return resolve(variables, variables.get("ansible_connection"))
        except EndpointError as error:
            raise AnsibleActionFail("https: the controller cannot reach the HTTPS listener with the host's "
                                    "connection variables: %s" % error) from None

    @staticmethod
    def _same_endpoint(first: t.Any, second: t.Any) -> bool:
        return first.url == second.url

    def _read(self, session: Session, https_session: Session | None, https: t.Mapping[str, t.Any] | None):
        """One read of the host; a host an earlier run moved to HTTPS (no HTTP listener left to
        answer the inventory's endpoint) is read, and managed, through the HTTPS listener."""
        try:
            return session, resources.read_all(session, parts=READ_PARTS)
        except (ConnectionFailed, TimedOut) as error:
            if https_session is None or not https.get("remove_http") or session.endpoint.scheme != "http":
                raise
            try:
                return https_session, resources.read_all(https_session, parts=READ_PARTS)
            except WSManError:
                raise error from None

    def _final_session(self, main: Session, https_session: Session | None, change: plan.Plan) -> Session:
        moved = any(step.name == PROOF_STEP for step in change.steps) and any(
            step.name.startswith(REMOVE_STEP) for step in change.steps)
        return https_session if moved and https_session is not None else main

    # ---- the plan ---------------------------------------------------------------------------------

    def _plan(self, main: Session, https_session: Session | None, snapshot: resources.ConfigSnapshot,
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
        policy_plan, settings_plan = self._plan_values(main, snapshot, named, args)
        if args["policy_conflicts"] == "override" and settings_plan.held:
            # The policy yields: a value that holds a wanted setting at another value gets the wanted one.
            named = named + self._yielding(settings_plan.held, policy_plan.predicted, named)
            policy_plan, settings_plan = self._plan_values(main, snapshot, named, args)
        policy_after, config_after = policy_plan.predicted, settings_plan.predicted
        change.refusals += policy_plan.refusals
        change.steps += policy_plan.steps
        change.invalid += settings_plan.invalid
        change.held += settings_plan.held
        change.steps += settings_plan.steps
        listeners = settings.listeners_after_settings(snapshot.listeners, config_after)
        # 3-5. the HTTPS move
        predicted = resources.ConfigSnapshot(config_after, listeners, [], PolicyValues(policy_after))
        reasons = self.lockout_reasons(main.endpoint, snapshot.config, config_after, snapshot.listeners, listeners)
        https = args.get("https")
        if https:
            reasons += self._plan_https(change, main, https_session, snapshot, predicted, https)
        change.refusals.append(plan.lockout(reasons))
        change.before = snapshot.to_dict(parts=READ_PARTS)
        change.after = predicted.to_dict(parts=READ_PARTS)
        change.predicted = predicted
        return change, conflicts

    @staticmethod
    def _plan_values(main: Session, snapshot: resources.ConfigSnapshot, named: list[t.Any],
                     args: t.Mapping[str, t.Any]) -> tuple[plan.Plan, plan.Plan]:
        """The policy writes, then the settings as the config will show once those are in place."""
        policy_plan = plan_policy(main, snapshot.policy, named)
        base = settings.with_policy(snapshot.config, policy_plan.predicted, snapshot.policy.values)
        settings_plan = settings.plan_settings(main, base, desired_settings(args, base), "",
                                               PolicyValues(policy_plan.predicted), name=SETTINGS_STEP)
        return policy_plan, settings_plan

    @staticmethod
    def _yielding(held: list[plan.Held], policy_after: t.Mapping[tuple[str, str], t.Any],
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

    def _plan_https(self, change: plan.Plan, main: Session, https_session: Session,
                    snapshot: resources.ConfigSnapshot, predicted: resources.ConfigSnapshot,
                    https: t.Mapping[str, t.Any]) -> list[str]:
        """The HTTPS listener, its proof and the HTTP removal; returns the lockout reasons of the
        part sent through the HTTPS session. ``predicted`` is updated to the listeners after."""
        try:
            wanted = listener_plans.validate({
                "address": https["address"], "transport": "https", "port": https["port"], "enabled": True,
                "certificate_thumbprint": https.get("certificate_thumbprint") or None,
                "hostname": https.get("hostname") or None, "state": "present"})
        except ValueError as error:
            raise AnsibleActionFail("https: %s" % error) from None
        listener_plan = listener_plans.plan_listener(main, predicted, wanted, name=HTTPS_STEP)
        change.held += listener_plan.held
        change.steps += listener_plan.steps
        change.warnings += listener_plan.warnings
        reasons = self.lockout_reasons(main.endpoint, snapshot.config, predicted.config, predicted.listeners,
                                       listener_plan.predicted)
        predicted.listeners = list(listener_plan.predicted)
        on_https = self._same_endpoint(main.endpoint, https_session.endpoint)
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
        if not on_https and (listener_plan.steps or removals):
            change.add(plan.Step(PROOF_STEP, [], lambda: resources.read_all(https_session, parts={"listeners"})))
        change.steps += removals
        if removals:
            # Sent through the proven HTTPS session: the guard protects that connection.
            reasons += self.lockout_reasons(through.endpoint, predicted.config, predicted.config,
                                            listener_plan.predicted, predicted.listeners)
        return reasons

    # ---- after ---------------------------------------------------------------------------------

    def _read_back(self, session: Session, change: plan.Plan, snapshot: resources.ConfigSnapshot) -> dict[str, t.Any]:
        """What the host holds now (the policy values again only when the task wrote some)."""
        wrote_policy = any(step.name.startswith("policy value ") for step in change.steps)
        parts = READ_PARTS if wrote_policy else ("config", "listeners")
        now = resources.read_all(session, parts=parts)
        if not wrote_policy:
            now.policy = snapshot.policy
        return now.to_dict(parts=READ_PARTS)

    def _report(self, args: t.Mapping[str, t.Any], task_vars: dict[str, t.Any], result: dict[str, t.Any],
                change: plan.Plan, snapshot: resources.ConfigSnapshot, after: t.Any, final: Session) -> dict[str, t.Any]:
        check = self._task.check_mode
        result["steps"] = [{"name": step.name, "changes": step.changes} for step in change.steps if step.changes]
        result["changed_steps"] = list(dict.fromkeys(name for step in change.steps for name in area(step)))
        result["predicted"] = change.after
        if result.get("failed"):
            result["after"] = after
        elif change.changes and not check:
            try:
                result["after"] = self._read_back(final, change, snapshot)
            except WSManError as error:  # every step was confirmed: say the read-back failed, show the plan
                result.setdefault("warnings", []).append("The host took every change, but reading it back "
                                                         "failed: %s" % error)
                result["after"] = change.after
        else:
            result["after"] = change.before
        result["endpoint"] = final.endpoint.redacted()
        if args.get("controls"):
            options = dict(args["controls"])
            judge = {"profile": options["profile"], "benchmark": options.get("benchmark") or controls.DEFAULT_BENCHMARK,
                     "stig": options.get("stig") or controls.DEFAULT_STIG, "deviations": options.get("deviations") or {},
                     "allowed_sddl_trustees": options.get("allowed_sddl_trustees") or []}
            try:
                result["compliance"] = {
                    "before": controls.evaluate(change.before, **judge),
                    "after": controls.evaluate(result["after"], **judge) if result.get("after") else [],
                    "predicted": controls.evaluate(change.after, **judge),
                }
            except ValueError as error:
                raise AnsibleActionFail("controls: %s" % error) from None
        if args.get("report"):
            self._write_report(args, task_vars, result)
        return result

    def _write_report(self, args: t.Mapping[str, t.Any], task_vars: dict[str, t.Any], result: dict[str, t.Any]) -> None:
        """<dir>/<host>.json, .md and .xml: what the host held, what it holds, and the judgement."""
        options = args["report"]
        host = task_vars.get("inventory_hostname") or self._task.get_name()
        compliance = result.get("compliance") or {}
        record = dict(options.get("labels") or {})
        record.update(
            host=host, profile=(args.get("controls") or {}).get("profile"),
            mode="audit" if self._task.check_mode else "apply",
            changed=bool(result.get("changed")), changed_steps=result["changed_steps"], steps=result["steps"],
            endpoint=result["endpoint"], before=compliance.get("before", []),
            after=compliance.get("before", []) if self._task.check_mode else compliance.get("after", []),
            predicted=compliance.get("predicted", []), policy_conflicts=result.get("policy_conflicts", []),
            host_state=result.get("host_state", plan.BEFORE if not result.get("changed") else plan.AFTER))
        if result.get("failed"):
            record.update(failed=True, msg=result.get("msg"))
        title = options.get("title") or "WinRM compliance of %s (%s, %s)" % (host, record["profile"], record["mode"])
        before = {host: record["before"]} if record["changed"] and not self._task.check_mode else None
        write_reports(options["dir"], host, {host: record["after"]}, before, record, title, "wsman.winrm " + host)
        result["report"] = record
