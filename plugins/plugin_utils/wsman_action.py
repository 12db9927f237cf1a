# Copyright (c) 2026 wsman.winrm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The base of every wsman.winrm action plugin.

One task flows through here: validate the arguments against the spec, resolve the host's endpoint
with the one resolver, open the one session, let the module do its requests, and turn every
failure into a result with a clear message. Modules implement ``execute()`` only.
"""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.wsman.winrm.plugins.module_utils import resources
from ansible_collections.wsman.winrm.plugins.module_utils.endpoint import EndpointError, resolve
from ansible_collections.wsman.winrm.plugins.module_utils.guards import lockout_reasons
from ansible_collections.wsman.winrm.plugins.module_utils.wsman import (
    ConnectionFailed,
    Session,
    TimedOut,
    TLSFailed,
    WSManError,
    WSManFault,
)
from ansible_collections.wsman.winrm.plugins.plugin_utils.connection_options import (
    resolver_input,
    winrm_plugin,
    winrm_plugin_of,
    without_injected,
)

display = Display()

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

# The config sections a partial Put can address, deepest first: a change is sent to the deepest
# section that holds all of its settings, so a task changing only service auth sends only Auth.
PUT_TARGETS = (
    ("service.auth", resources.ServiceAuth),
    ("service.default_ports", resources.ServiceDefaultPorts),
    ("client.auth", resources.ClientAuth),
    ("client.default_ports", resources.ClientDefaultPorts),
    ("service", resources.ServiceConfig),
    ("client", resources.ClientConfig),
    ("winrs", resources.Winrs),
    ("", resources.WinRMConfig),
)


def unreachable(error: WSManError) -> bool:
    """Refused or dropped connections, DNS, routing, proxies, TLS and timeouts: the host was not
    reached (or stopped answering). A WS-Man fault, even the service's own operation timeout, is an
    answer."""
    if isinstance(error, WSManFault):
        return False
    return isinstance(error, (ConnectionFailed, TLSFailed, TimedOut))


class ChangeRefused(AnsibleActionFail):
    """A change the module will not send (GPO-controlled, read-only, or cutting its own connection)."""


def put_target(paths: t.Iterable[str]) -> tuple[str, type]:
    """The deepest section holding every dotted path, and its resource class."""
    paths = list(paths)
    for prefix, resource_class in PUT_TARGETS:
        if all(not prefix or path.startswith(prefix + ".") for path in paths):
            return prefix, resource_class
    raise AssertionError("unreachable: the root holds every path")


def policy_refusal(snapshot: resources.ConfigSnapshot, controlled: dict[str, t.Any]) -> str:
    """The message for changes Windows refuses because Group Policy sets the value."""
    parts = []
    for path, change in sorted(controlled.items()):
        policies = snapshot.policy.controlling(path)
        named = ", ".join(f"{setting.path}\\{setting.name}" for setting in policies) or "a WinRM policy"
        parts.append(f"{path} (wanted {change['after']!r}, Group Policy sets {change['before']!r} through {named})")
    return ("These settings are controlled by Group Policy and Windows refuses to change them "
            "(fault 2150858890): " + "; ".join(parts) + ". Change the policy value with wsman.winrm.policy "
            "(state: absent means Not Configured), or set policy_controlled: skip to leave them and go on.")


class WSManAction(ActionBase):
    """Runs on the controller and talks WS-Management to the host; no module code is shipped."""

    # The WS-Man session is this plugin's own: Ansible's connection to the host is never opened.
    _requires_connection = False
    _supports_check_mode = True
    _supports_async = False

    # Subclasses set these from plugins/module_utils/argspecs.py.
    argument_spec: dict[str, t.Any] = {}
    argument_options: dict[str, t.Any] = {}

    def execute(self, session: Session, args: dict[str, t.Any], task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        raise NotImplementedError

    # ---- helpers the modules share ---------------------------------------------------------

    def guard_lockout(self, session: Session, config_after: t.Any, listeners_before: t.Sequence[t.Any],
                      listeners_after: t.Sequence[t.Any], force: bool, result: dict[str, t.Any],
                      config_before: t.Any = None) -> None:
        """Refuse a change that would cut this task's own connection, unless force is set.

        With ``config_before``, a reason that already holds for the current state is not the
        change's doing (the task did connect, e.g. through a NAT the filter check cannot see), so
        only reasons the change introduces count.
        """
        reasons = lockout_reasons(session.endpoint, config_after, listeners_before, listeners_after)
        if config_before is not None and reasons:
            already = set(lockout_reasons(session.endpoint, config_before, listeners_before, listeners_before))
            reasons = [reason for reason in reasons if reason not in already]
        WSManAction.refuse_unless_forced(
            reasons, force, result, refusal="Refusing a change that would lock this controller out",
            advice="Make the change through another listener or auth method first (the roles order it "
                   "for you), or set force: true if you have another way back in.",
            forced="this change cuts the connection the task used")

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

    def converge_config(self, session: Session, snapshot: resources.ConfigSnapshot, desired: dict[str, t.Any],
                        args: dict[str, t.Any], scope: str) -> dict[str, t.Any]:
        """Bring winrm/config settings (dotted paths -> value, None = unmanaged) to ``desired``.

        One partial Put to the deepest section holding every change; GPO-controlled settings are
        refused or skipped per ``policy_controlled``; check mode predicts the same result without
        sending; ``scope`` (e.g. ``service.auth``) is the part shown in before/after and the diff.
        """
        result: dict[str, t.Any] = {}
        changes = resources.diff(snapshot.config, desired)
        if changes["read_only"]:
            raise ChangeRefused("Read-only settings cannot be changed: " + ", ".join(sorted(changes["read_only"])))
        if changes["policy_controlled"] and not snapshot.policy.values:
            # Callers usually skip the policy read (several requests); the refusal must still name
            # the policy value, so read it now, only on this path. A failed read keeps the generic name.
            try:
                snapshot.policy = resources.PolicyValues.read(session)
            except WSManError as error:
                display.vvv(f"wsman.winrm: could not read the WinRM policy values: {error}")
        if changes["policy_controlled"]:
            if args.get("policy_controlled", "fail") == "fail":
                raise ChangeRefused(policy_refusal(snapshot, changes["policy_controlled"]))
            result["policy_skipped"] = sorted(changes["policy_controlled"])
            result.setdefault("warnings", []).append(
                "Left unchanged because Group Policy controls them: " + ", ".join(result["policy_skipped"]))
        to_send = {path: change["after"] for path, change in changes["changes"].items()}
        after = snapshot.config.updated(to_send)
        self.guard_lockout(session, after, snapshot.listeners, snapshot.listeners, args.get("force", False), result,
                           config_before=snapshot.config)
        if to_send and not self._task.check_mode:
            prefix, resource_class = put_target(to_send)
            relative = {path[len(prefix) + 1:] if prefix else path: value for path, value in to_send.items()}
            reply = session.put(resource_class.RESOURCE_URI, resource_class.render(relative))
            written = resource_class.from_xml(reply)
            after = snapshot.config.copy()
            if prefix:
                parent_path, _sep, name = prefix.rpartition(".")
                parent = after.get_section(parent_path) if parent_path else after
                parent.sections[name] = written
            else:
                after = written
        before_view = snapshot.config.get_section(scope).to_dict() if scope else snapshot.config.to_dict()
        after_view = after.get_section(scope).to_dict() if scope else after.to_dict()
        result.update(changed=bool(to_send), before=before_view, after=after_view,
                      changes=sorted(to_send))
        if self._task.diff:
            result["diff"] = {"before": before_view, "after": after_view,
                              "before_header": scope or "winrm/config", "after_header": scope or "winrm/config"}
        return result

    def connection_variables(self, task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        """The host variables the resolver reads, as the host's connection plugin reads them.

        Only the connection variables are templated (a broken template elsewhere in the inventory
        does not fail a WinRM task). ansible-core's option system picks each option's winning
        variable; what ansible-core injected into the task variables from the connection plugin's
        defaults (``ansible_port: 5986`` of ansible.builtin.winrm) is dropped, so the resolver's own
        rules apply as they do for the filter. ``ansible_connection`` is the plugin's FQCN.
        """
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
