# Copyright (c) 2026 wsman.winrm contributors
# MIT License (see LICENSE)
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

from ansible_collections.wsman.winrm.plugins.module_utils.endpoint import EndpointError, resolve
from ansible_collections.wsman.winrm.plugins.module_utils.wsman import Session, WSManError

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

    def connection_variables(self, task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        wanted = {
            name: value
            for name, value in task_vars.items()
            if name in CONNECTION_VARIABLES or name.startswith(CONNECTION_PREFIXES)
        }
        resolved = {}
        for name, value in wanted.items():
            try:
                resolved[name] = self._templar.template(value)
            except Exception as error:  # a template error names the variable, never its value
                raise AnsibleActionFail(f"Could not template the host variable {name}: {type(error).__name__}") from None
        resolved.setdefault("ansible_host", resolved.get("inventory_hostname"))
        return resolved

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
            result.update(failed=True, msg=str(error), fault_code=error.code)
        finally:
            session.close()
        result.setdefault("changed", False)
        return result
