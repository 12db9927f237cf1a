# Copyright (c) 2026 wsman.winrm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The base of every wsman.winrm action plugin.

One task flows through here: validate the arguments against the spec, resolve the host's endpoint
with the one resolver, open the one session, let the module do its requests, and turn every
failure into a result with a clear message. Modules implement ``manage()`` (see ``WSManAction``).
"""

from __future__ import annotations

import gc
import typing as t

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.wsman.winrm.plugins.module_utils import compat, plan
from ansible_collections.wsman.winrm.plugins.module_utils.config import InvalidReply
from ansible_collections.wsman.winrm.plugins.module_utils.endpoint import EndpointError, resolve
from ansible_collections.wsman.winrm.plugins.module_utils.guards import lockout_reasons
from ansible_collections.wsman.winrm.plugins.module_utils.policy import PolicyValues
from ansible_collections.wsman.winrm.plugins.module_utils.wsman import (
    AuthenticationFailed,
    ConnectionFailed,
    Session,
    TimedOut,
    TLSFailed,
    WSManError,
    WSManFault,
)
from ansible_collections.wsman.winrm.plugins.plugin_utils import settings
from ansible_collections.wsman.winrm.plugins.plugin_utils.connection_options import (
    resolver_input,
    warm,
    winrm_plugin,
    winrm_plugin_of,
    without_injected,
)

display = Display()
# ansible-core's strategy imports the action plugin in the controller's main process, which then
# forks a worker per host and task: warm the connection plugins' answers there, so every worker
# inherits them, and freeze what that process holds (the inventory, the variables) out of the
# garbage collector, so no worker's collection walks - and copies, page by page - the inherited
# heap (Python docs, gc.freeze: "If a process will fork() without exec() ... gc.freeze() right before
# fork()"). On a 1,000-host fleet that is about a quarter of the workers' CPU. The first NTLM
# exchange's one-time costs (OpenSSL's RC4, compiled patterns) are paid here too.
warm()
compat.warm_first_exchange()
gc.freeze()

# The host variables the resolver reads: exact names and prefixes. Only these are templated, so a
# broken template elsewhere in the inventory does not fail a WinRM task.
CONNECTION_VARIABLES = (
    "ansible_host",
    "ansible_port",
    "ansible_user",
    "ansible_password",
    "ansible_connection",
    "inventory_hostname",
)
CONNECTION_PREFIXES = ("ansible_winrm_", "ansible_psrp_", "wsman_winrm_")


def unreachable(error: WSManError) -> bool:
    """Refused or dropped connections, DNS, routing, proxies, TLS and timeouts: the host was not
    reached (or stopped answering). A WS-Man fault, even the service's own operation timeout, is an
    answer."""
    if isinstance(error, WSManFault):
        return False
    return isinstance(error, (ConnectionFailed, TLSFailed, TimedOut))


class ChangeRefused(AnsibleActionFail):
    """A change the module will not send (GPO-controlled, read-only, or cutting its own connection)."""


def held_refusal(held: t.Sequence[plan.Held]) -> str:
    """The message for changes Group Policy holds: what, the policy value, and where to change it."""
    return ("These settings are controlled by Group Policy and Windows refuses to change them "
            "(fault 2150858890): " + "; ".join(item.describe() for item in held) + ". Change them where the policy "
            "is set (the Group Policy object, or for a local WinRM policy value wsman.winrm.policy, where state: "
            "absent means Not Configured), or set policy_controlled: skip to leave them and go on.")


class Reconnecting:
    """A session that starts afresh after its connection broke, and logs on again once when the
    host forgot it.

    A dropped or timed-out exchange leaves the client's message encryption out of step with any
    new connection, so the next request opens a new session. Deleting and re-creating a listener
    (a rollback of the HTTP removal) closes the connections it carried: the next request meets
    HTTP 401, which means it was not processed, so one fresh logon and the same request again is
    safe; a second 401 is a real refusal."""

    OPERATIONS = ("get", "put", "create", "delete", "enumerate", "invoke")

    def __init__(self, session: Session):
        self.session, self.endpoint = session, session.endpoint
        self._answered = False

    def __getattr__(self, name: str) -> t.Any:
        operation = getattr(self.session, name)
        if name not in self.OPERATIONS:
            return operation

        def call(*args: t.Any, **kwargs: t.Any) -> t.Any:
            try:
                reply = operation(*args, **kwargs)
            except AuthenticationFailed:
                if not self._answered:
                    raise
                self.session.close()
                reply = getattr(self.session, name)(*args, **kwargs)
            except WSManFault:
                raise  # the host's own answer: the connection is fine
            except WSManError:
                self.session.close()  # the next request starts a new connection and logon
                raise
            self._answered = True
            return reply
        return call


class WSManAction(ActionBase):
    """Runs on the controller and talks WS-Management to the host; no module code is shipped.

    A module implements ``manage()``: validate its arguments, read the host, build a
    ``plan.Plan`` and hand it to ``apply_plan()``, which is where check mode, diff, Group Policy
    refusal or skip, the anti-lockout guard, rollback and the read-back after faults live.
    """

    # The WS-Man session is this plugin's own: Ansible's connection to the host is never opened.
    _requires_connection = False
    _supports_check_mode = True
    _supports_async = False

    # Subclasses set these from plugins/module_utils/argspecs.py.
    argument_spec: dict[str, t.Any] = {}
    argument_options: dict[str, t.Any] = {}

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        # In the worker Ansible forked for this task: what it inherited from the controller's main
        # process stays out of this process's garbage collections (see the module's freeze below).
        gc.freeze()
        super().__init__(*args, **kwargs)

    def execute(self, session: Session, args: dict[str, t.Any], task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        """The module's work, with a malformed reply value reported against the host it came from."""
        try:
            return self.manage(Reconnecting(session), args, task_vars)
        except InvalidReply as error:
            raise error.at(session.endpoint.url) from None

    def manage(self, session: Session, args: dict[str, t.Any], task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        raise NotImplementedError

    # ---- the pipeline ---------------------------------------------------------------------------

    def apply_plan(self, change: plan.Plan, args: t.Mapping[str, t.Any],
                   result: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        """Decide and carry out a plan; the result has changed, before, after, changes, diff.

        Refused before anything is sent: invalid items, items Group Policy holds (unless
        ``policy_controlled: skip``, which leaves them and reports ``policy_skipped``) and changes
        that would cut the task's own connection (unless ``force``). Check mode stops there with
        the prediction. A failure while sending rolls back what was applied and fails the task
        with what the host holds (``host_state``).
        """
        result = result if result is not None else {}
        warnings = result.setdefault("warnings", [])
        if change.invalid:
            raise ChangeRefused("Read-only settings cannot be changed: " + ", ".join(change.invalid))
        if change.held:
            if args.get("policy_controlled", "fail") == "fail":
                raise ChangeRefused(held_refusal(change.held))
            result["policy_skipped"] = [item.item for item in change.held]
            warnings.append("Left unchanged because Group Policy controls them: "
                            + "; ".join(item.describe() for item in change.held))
        for refusal in change.refusals:
            self.refuse_unless_forced(refusal.reasons, bool(args.get("force", False)), result, refusal.refusal,
                                      refusal.advice, refusal.forced)
        warnings.extend(change.warnings)
        after = change.after
        if change.changes and not self._task.check_mode:
            outcome = plan.carry_out(change.steps)
            result["host_state"] = outcome.host_state
            if outcome.error is not None:
                return self.failed_plan(change, outcome, result)
            if outcome.notes:
                warnings.extend(outcome.notes)
            if change.finish is not None:
                after = change.finish(outcome.answers)
        result.update(change.report)
        result.update(changed=bool(change.changes), before=change.before, after=after, changes=change.changes)
        if self._task.diff:
            diff_before, diff_after = change.diff if change.diff is not None else (change.before, after)
            result["diff"] = {"before": diff_before if diff_before is not None else {},
                              "after": diff_after if diff_after is not None else {},
                              "before_header": change.header, "after_header": change.header}
        if not warnings:
            del result["warnings"]
        return result

    @staticmethod
    def failed_plan(change: plan.Plan, outcome: plan.Outcome, result: dict[str, t.Any]) -> dict[str, t.Any]:
        """The failed result of a plan: the cause, what was put back, what the host holds.

        ``after`` is what the host holds when that is known (its state before, or the whole
        change), else None; ``changed`` is true unless the host is back where it was."""
        error = outcome.error
        cause = error.message if isinstance(error, plan.StepFailed) else str(error)
        state = outcome.host_state
        result.update(failed=True, host_state=state, rolled_back=outcome.rolled_back, failed_step=outcome.failed_step,
                      changed=state != plan.BEFORE, before=change.before, changes=change.changes,
                      after={plan.BEFORE: change.before, plan.AFTER: change.after}.get(state),
                      msg="%s failed: %s. %s" % (outcome.failed_step, cause.rstrip(". "), outcome.summary()))
        code = getattr(error, "code", None)
        if code is not None:
            result["fault_code"] = code
        if not result.get("warnings"):
            result.pop("warnings", None)
        return result

    @staticmethod
    def refuse_unless_forced(reasons: list[str], force: bool, result: dict[str, t.Any], refusal: str, advice: str,
                             forced: str) -> None:
        """The one shape of every anti-lockout decision: refuse with the reasons and what to do
        (nothing sent), or with force go ahead and say in a warning what it cuts."""
        if not reasons:
            return
        if not force:
            raise ChangeRefused(f"{refusal}: " + "; ".join(reasons) + ". " + advice)
        result.setdefault("warnings", []).append(f"force: true: {forced}: " + "; ".join(reasons))

    def plan_settings(self, session: Session, snapshot: t.Any, desired: t.Mapping[str, t.Any],
                      scope: str) -> plan.Plan:
        """The plan bringing winrm/config settings to ``desired`` (one partial Put), guarded against
        cutting this task's connection (compatibility listeners follow their switches)."""
        change = settings.plan_settings(session, snapshot.config, desired, scope, snapshot.policy)
        if change.held and not snapshot.policy.values:
            # Callers usually skip the policy read (several requests); the refusal must still name
            # the policy value, so read it now, only on this path. A failed read keeps the generic name.
            try:
                snapshot.policy = PolicyValues.read(session)
                change = settings.plan_settings(session, snapshot.config, desired, scope, snapshot.policy)
            except WSManError as error:
                display.vvv(f"wsman.winrm: could not read the WinRM policy values: {error}")
        listeners_after = settings.listeners_after_settings(snapshot.listeners, change.predicted)
        change.refusals.append(plan.lockout(self.lockout_reasons(
            session.endpoint, snapshot.config, change.predicted, snapshot.listeners, listeners_after)))
        return change

    @staticmethod
    def lockout_reasons(endpoint: t.Any, config_before: t.Any, config_after: t.Any, listeners_before: t.Sequence[t.Any],
                        listeners_after: t.Sequence[t.Any]) -> list[str]:
        """Why the change would cut this task's own connection. A reason that already holds for the
        current state is not the change's doing (the task did connect, e.g. through a NAT the filter
        check cannot see), so only reasons the change introduces count."""
        reasons = lockout_reasons(endpoint, config_after, listeners_before, listeners_after)
        if reasons:
            already = set(lockout_reasons(endpoint, config_before, listeners_before, listeners_before))
            reasons = [reason for reason in reasons if reason not in already]
        return reasons

    def endpoint_on(self, task_vars: dict[str, t.Any], scheme: str, port: t.Any) -> t.Any:
        """Where the controller reaches another listener of the host: the host's connection variables,
        with this scheme and port (the listener's, unless NAT or a port mapping is between).
        Raises EndpointError when the variables do not allow it."""
        variables = self.connection_variables(task_vars)
        variables.update(wsman_winrm_connection_uri="", wsman_winrm_scheme=scheme, wsman_winrm_port=port)
        return resolve(variables, variables.get("ansible_connection"))

    def connection_variables(self, task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        """The host variables the resolver reads, as the host's connection plugin reads them.

        Only the connection variables are templated (a broken template elsewhere in the inventory
        does not fail a WinRM task). ansible-core's option system picks each option's winning
        variable; what ansible-core injected into the task variables from the connection plugin's
        defaults (``ansible_port: 5986`` of ansible.builtin.winrm) is dropped, so the resolver's own
        rules apply as they do for the filter. ``ansible_connection`` is the plugin's FQCN.
        Resolved once per task (the HTTPS endpoint of a converge starts from the same variables).
        """
        cached = getattr(self, "_connection_variables", None)
        if cached is not None and cached[0] is task_vars:
            return dict(cached[1])
        variables = self._resolve_connection_variables(task_vars)
        self._connection_variables = (task_vars, variables)
        return dict(variables)

    def _resolve_connection_variables(self, task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        wanted = {
            name: value
            for name, value in task_vars.items()
            if name in CONNECTION_VARIABLES or name.startswith(CONNECTION_PREFIXES)
        }
        templated = {}
        for name, value in wanted.items():
            try:
                templated[name] = self._templar.template(value)
            except Exception as error:  # a template error names the variable, never its value
                raise AnsibleActionFail(f"Could not template the host variable {name}: {type(error).__name__}") from None
        # The task's own connection plugin says which family applies (ansible_connection may be
        # unset, or hold the plugin's load name that ansible-core injected).
        plugin = winrm_plugin_of(self._connection) or winrm_plugin(templated.get("ansible_connection"))
        keys = {"remote_user": self._task.remote_user, "port": self._task.port,
                "password": getattr(self._play_context, "password", None)}
        keys = {name: value for name, value in keys.items() if value is not None}
        if plugin is None:
            templated.setdefault("ansible_host", templated.get("inventory_hostname"))
            return templated
        host_vars, plugin, notes = resolver_input(without_injected(templated, plugin, keys), plugin, keys)
        for note in notes:
            display.vvv(f"wsman.winrm: option {note}", host=task_vars.get("inventory_hostname"))
        host_vars["ansible_connection"] = plugin
        return host_vars

    def run(self, tmp: str | None = None, task_vars: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        result = super().run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}

        validation, args = self.validate_argument_spec(argument_spec=self.argument_spec, **self.argument_options)
        if validation.error_messages:
            result.update(failed=True, msg="; ".join(validation.error_messages))
            return result

        connection_vars = self.connection_variables(task_vars)
        try:
            endpoint = resolve(connection_vars, connection_vars.get("ansible_connection"))
        except EndpointError as error:
            result.update(failed=True, msg=str(error))
            return result

        host = task_vars.get("inventory_hostname")
        display.vvv(f"wsman.winrm endpoint {endpoint.url} auth={endpoint.auth} encryption={endpoint.encryption}", host=host)
        for decision in endpoint.decisions:
            display.vvv(f"wsman.winrm: {decision}", host=host)

        session = Session(endpoint)
        try:
            result.update(self.execute(session, args, task_vars))
        except WSManError as error:
            if unreachable(error):
                # As a connection plugin's failure is: ignore_unreachable, max_fail_percentage and the
                # recap then treat the host as Ansible users expect.
                result.update(unreachable=True, msg=str(error))
            else:
                result.update(failed=True, msg=str(error), fault_code=error.code)
        except ChangeRefused as error:
            result.update(failed=True, msg=error.message)
        finally:
            session.close()
        result.setdefault("changed", False)
        return result
