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
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.wsman.winrm.plugins.module_utils import argspecs, computer, controls, plan
from ansible_collections.wsman.winrm.plugins.module_utils.endpoint import EndpointError
from ansible_collections.wsman.winrm.plugins.module_utils.policy import InvalidValue, desired_options
from ansible_collections.wsman.winrm.plugins.module_utils.wsman import (
    ConnectionFailed, Session, TimedOut, WSManError, WSManFault,
)
from ansible_collections.wsman.winrm.plugins.plugin_utils import baseline, converge, remoting
from ansible_collections.wsman.winrm.plugins.plugin_utils.report_files import provenance, write_reports
from ansible_collections.wsman.winrm.plugins.plugin_utils.wsman_action import Reconnecting, WSManAction


def summary(results: list[dict[str, t.Any]]) -> dict[str, t.Any]:
    """A judgement in a few lines: the counts per status and the controls that fail."""
    return dict(controls.summarize(results), failing=[item["id"] for item in results if item["status"] == controls.FAIL])


class ActionModule(WSManAction):
    argument_spec = argspecs.CONVERGE["argument_spec"]

    def manage(self, session, args: dict[str, t.Any], task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        # The verdict and the "auto" profile need the host's domain membership (one WMI Enumerate).
        self._system, self._profile_reason, self._verdicts = None, None, None
        self._answered_https = None  # the HTTPS session that read the computer when HTTP was gone
        try:
            return self._converge(session, args, task_vars)
        finally:
            if self._answered_https is not None:
                self._answered_https.session.close()

    def _converge(self, session, args: dict[str, t.Any], task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        if args.get("baseline"):
            args = self._baseline_args(args, task_vars, session)
        elif (args.get("controls") or {}).get("profile") == baseline.AUTO:
            profile, reason = remoting.choose_profile(self._read_system(session))
            args = dict(args, controls=dict(args["controls"], profile=profile))
            self._profile_reason = reason
        try:
            named = desired_options(dict(args.get("policy") or {}, state="present"))
        except InvalidValue as error:
            raise AnsibleActionFail("policy: invalid values: %s. Nothing was sent." % error) from None
        https = args.get("https")
        https_session, reached = self._https_session_for(task_vars, https), session
        if https_session is not None and https_session is self._answered_https:
            reached = https_session  # HTTP did not answer a moment ago: read through HTTPS, not HTTP again
        try:
            names = None
            if args.get("controls"):
                # The verdict needs the computer: read it now, before an HTTPS move can remove the
                # endpoint; its Win32_ComputerSystem also gives the certificates the computer's names.
                reached, names = converge.reach(reached, https_session, https,
                                                lambda through: self._read_system(through).certificate_names)
            main, snapshot = converge.read(reached, https_session, https, converge.read_parts(args), names)
            system = self._provenance_system(main, args)
            change, conflicts = converge.plan_host(main, https_session, snapshot, named, args)
            if any(option.path == "service.disable_run_as" and value is True for option, value in named) \
                    and remoting.writes_disable_run_as(change.changes):
                change.warnings.extend(remoting.run_as_warnings(main))
            self._https_session, self._main, self._snapshot = https_session, main, snapshot
            result = self.apply_plan(change, args, {"policy_conflicts": conflicts})
            after = result.pop("after")
            moved = not result.get("failed") and not self._task.check_mode and result["changed"]
            final = converge.final_session(main, https_session, change) if moved else main
            result["endpoint_changed"] = final.endpoint.url != session.endpoint.url
            return self._report(args, task_vars, result, change, snapshot, after, final, system)
        finally:
            if https_session is not None and https_session is not self._answered_https:
                https_session.session.close()

    def _https_session_for(self, task_vars: dict[str, t.Any], https: t.Mapping[str, t.Any] | None) -> t.Any:
        """The session through the HTTPS listener: the one that already read the computer when it
        goes to the same endpoint (one TLS and NTLM handshake, not two), else a new one."""
        if not https:
            return None
        endpoint = self._https_endpoint(task_vars, https)
        answered = self._answered_https
        if answered is not None and converge.same_endpoint(answered.endpoint, endpoint):
            return answered
        return Reconnecting(Session(endpoint))

    def _read_system(self, session: t.Any) -> computer.SystemInfo:
        """The host's computer and Windows version over WMI (Win32_ComputerSystem and
        Win32_OperatingSystem: two Enumerates), read once per task: the "auto" profile and the verdict
        need the domain membership, the STIG choice and the reports the version and domain role."""
        if self._system is None:
            self._system = computer.read_system(session)
        return self._system

    def _system_for_profile(self, session: t.Any, task_vars: dict[str, t.Any],
                            values: t.Mapping[str, t.Any]) -> computer.SystemInfo:
        """The computer, for the "auto" profile, before anything else is read: a host an earlier run
        moved to HTTPS no longer answers the inventory's HTTP endpoint, so it is read through the
        HTTPS listener then (as converge.read does for the configuration)."""
        try:
            return self._read_system(session)
        except (ConnectionFailed, TimedOut) as error:
            if session.endpoint.scheme != "http" or not values.get("https_listener", True):
                raise
            port = values.get("https_connection_port") or values["https_port"]  # the role's default is 5986
            try:
                https = Reconnecting(Session(self.endpoint_on(task_vars, "https", port)))
            except EndpointError:
                raise error from None
            try:
                system = self._read_system(https)
            except WSManError:
                https.session.close()
                raise error from None
            self._answered_https = https  # manage reads and converges through it (closed at its end)
            return system

    def _provenance_system(self, session: t.Any, args: t.Mapping[str, t.Any]) -> dict[str, t.Any] | None:
        """The system for the STIG chosen per host (stig: auto) and the reports; None when neither needs
        it, or when WMI refuses (the report then says it was not read)."""
        options = args.get("controls") or {}
        if not options or not (options.get("stig") == controls.AUTO_STIG or args.get("report")):
            return None
        try:
            return self._read_system(session).to_dict()
        except WSManFault:
            return None

    def _baseline_args(self, args: dict[str, t.Any], task_vars: dict[str, t.Any], session: t.Any) -> dict[str, t.Any]:
        """The options built from a role's variables (``<baseline>_*``), under the options the task gives."""
        prefix = args["baseline"]

        def get(name: str) -> t.Any:
            return self._templar.template(task_vars[name])

        try:
            values = baseline.variables(prefix, get)
            if values["profile"] == baseline.AUTO:
                values["profile"], self._profile_reason = remoting.choose_profile(
                    self._system_for_profile(session, task_vars, values))
            state = baseline.desired_state(values)
        except (ValueError, TypeError) as error:
            raise AnsibleActionFail("baseline %s: %s" % (prefix, error)) from None
        given = {name: value for name, value in self._task.args.items() if name != "baseline"}
        validated = ArgumentSpecValidator(argspecs.CONVERGE["argument_spec"]).validate(dict(state, **given))
        if validated.error_messages:
            raise AnsibleActionFail("baseline %s: %s" % (prefix, "; ".join(validated.error_messages)))
        return validated.validated_parameters

    def _https_endpoint(self, task_vars: dict[str, t.Any], https: t.Mapping[str, t.Any]) -> t.Any:
        """Where the controller reaches the HTTPS listener: the host's connection variables, HTTPS,
        on the connection port (the listener's port unless NAT or a port mapping is between)."""
        try:
            return self.endpoint_on(task_vars, "https", https.get("connection_port") or https["port"])
        except EndpointError as error:
            raise AnsibleActionFail("https: the controller cannot reach the HTTPS listener with the host's "
                                    "connection variables: %s" % error) from None

    def _report(self, args: t.Mapping[str, t.Any], task_vars: dict[str, t.Any], result: dict[str, t.Any],
                change: plan.Plan, snapshot: t.Any, after: t.Any, final: Session,
                system: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        check = self._task.check_mode
        result["steps"] = [{"name": step.name, "changes": step.changes} for step in change.steps if step.changes]
        result["changed_steps"] = list(dict.fromkeys(name for step in change.steps for name in converge.area(step)))
        if result.get("failed"):
            now = after
        elif change.changes and not check:
            try:
                now = converge.read_back(final, change, snapshot)
            except WSManError as error:  # every step was confirmed: say the read-back failed, show the plan
                result.setdefault("warnings", []).append("The host took every change, but reading it back "
                                                         "failed: %s" % error)
                now = change.after
        else:
            now = change.before
        result["endpoint"] = final.endpoint.redacted()
        if result["endpoint_changed"]:
            # The collection's modules and connection plugin follow these for the rest of the play.
            result["ansible_facts"] = {"wsman_winrm_connection_uri": "", "wsman_winrm_scheme": final.endpoint.scheme,
                                       "wsman_winrm_port": final.endpoint.port}
        judged, stig = self._judge(args, *self._with_verdicts(args, change, now, final), system=system)
        if args["details"]:
            result.update(before=change.before, after=now, predicted=change.after)
            if judged:
                result["compliance"] = judged
        else:
            result.pop("before", None)  # the configuration views are details, not the compact result
            if judged:
                result["compliance"] = {moment: summary(results) for moment, results in judged.items()}
        if stig:
            result["stig"] = stig
        verdicts = self._verdicts
        if verdicts:
            result["verdict"] = {moment: {"verdict": v["verdict"], "summary": v["summary"]} for moment, v in verdicts.items()}
            result["verdict"]["profile"] = (args.get("controls") or {}).get("profile")
            result["verdict"]["profile_reason"] = self._profile_reason
        if args.get("report"):
            self._write_report(args, task_vars, result, judged, stig, system)
        failing = [item["id"] for item in judged["after"] if item["status"] == controls.FAIL] if judged else []
        if args["fail_on_noncompliance"] and failing and not check and not result.get("failed"):
            result.update(failed=True, msg="Controls still failing on this host after the change: %s (the report "
                                           "says why for each)" % ", ".join(failing))
        return result

    def _with_verdicts(self, args: t.Mapping[str, t.Any], change: plan.Plan, now: t.Any,
                       final: Session) -> tuple[t.Any, t.Any, t.Any]:
        """The views the controls judge, each with the host's security verdict (module_utils/verdict.py).

        The controller validates the HTTPS listener's certificate: before, if a TLS handshake with
        the endpoint's trust settings succeeds; after, if the final session is HTTPS with validation
        or the plan's HTTPS proof (a session validated the same way) went through."""
        before, predicted = change.before, change.after
        if not args.get("controls"):
            return before, now, predicted
        system = self._read_system(final)  # read before the change (manage); else through the session that works now
        validated = remoting.https_certificate_validated(self._main.endpoint, self._snapshot.listeners,
                                                         self._snapshot.firewall)
        proven = any(step.name == converge.PROOF_STEP for step in change.steps)
        https = self._https_session.endpoint if self._https_session is not None else None
        will_validate = bool(https.cert_validation or https.cert_fingerprint) if proven and https else validated
        if final.endpoint.scheme == "https":
            now_validated = bool(final.endpoint.cert_validation or final.endpoint.cert_fingerprint)
        else:
            now_validated = will_validate if proven and not self._task.check_mode and now is not before else validated
        same_now, same_predicted = now is before, predicted == before
        before = remoting.with_verdict(before, system, validated)
        now = before if same_now else remoting.with_verdict(now, system, now_validated)
        predicted = before if same_predicted else remoting.with_verdict(predicted, system, will_validate)
        self._verdicts = {moment: view["verdict"] for moment, view in
                          (("before", before), ("after", now), ("predicted", predicted)) if view}
        return before, now, predicted

    def _judge(self, args: t.Mapping[str, t.Any], before: t.Any, now: t.Any, predicted: t.Any,
               system: dict[str, t.Any] | None = None) -> tuple[dict[str, list[dict[str, t.Any]]], dict[str, t.Any]]:
        """The controls judged on the state before, the state the host holds now and the prediction;
        and the STIG used (pinned, or chosen from the host's Windows version and domain role)."""
        if not args.get("controls"):
            return {}, {}
        options = dict(args["controls"])
        judge, stig = controls.judgement(options, system)
        try:
            judged = {"before": controls.evaluate(before, **judge)}
            # Nothing changed, or nothing will: the same judgement (the controls are pure).
            judged["after"] = judged["before"] if now is before else controls.evaluate(now, **judge) if now else []
            judged["predicted"] = judged["before"] if predicted == before else controls.evaluate(predicted, **judge)
            return judged, stig
        except ValueError as error:
            raise AnsibleActionFail("controls: %s" % error) from None

    def _write_report(self, args: t.Mapping[str, t.Any], task_vars: dict[str, t.Any], result: dict[str, t.Any],
                      compliance: dict[str, list[dict[str, t.Any]]], stig: dict[str, t.Any],
                      system: dict[str, t.Any] | None) -> None:
        """<dir>/<host>.json, .md, .html and .xml: what the host held, what it holds, and the judgement."""
        options = args["report"]
        host = task_vars.get("inventory_hostname") or self._task.get_name()
        record = dict(options.get("labels") or {})
        check = self._task.check_mode
        before, predicted = compliance.get("before", []), compliance.get("predicted", [])
        # Each row says what an apply would change (check mode: the plan's prediction) or what it changed.
        after = (controls.with_changes(before, before, predicted, applied=False) if check
                 else controls.with_changes(compliance.get("after", []), before, compliance.get("after", []), applied=True))
        benchmark = (args.get("controls") or {}).get("benchmark") or controls.DEFAULT_BENCHMARK
        record.update(
            host=host, profile=(args.get("controls") or {}).get("profile"),
            mode="audit" if check else "apply",
            provenance=provenance(benchmark, stig, system),
            changed=bool(result.get("changed")), changed_steps=result["changed_steps"], steps=result["steps"],
            endpoint=result["endpoint"], before=before, after=after,
            predicted=predicted, policy_conflicts=result.get("policy_conflicts", []), verdict=result.get("verdict"),
            host_state=result.get("host_state", plan.BEFORE if not result.get("changed") else plan.AFTER))
        if result.get("failed"):
            record.update(failed=True, msg=result.get("msg"))
        title = options.get("title") or "WinRM compliance of %s (%s, %s)" % (host, record["profile"], record["mode"])
        before = {host: record["before"]} if record["changed"] and not self._task.check_mode else None
        try:
            files = write_reports(options["dir"], host, {host: record["after"]}, before, record, title,
                                  "wsman.winrm " + host, run=record["provenance"],
                                  host_provenance={host: record["provenance"]},
                                  templates={"markdown": options.get("markdown_template"),
                                             "html": options.get("html_template")})
        except ValueError as error:
            raise AnsibleActionFail("report: %s" % error) from None
        result["report"] = files
