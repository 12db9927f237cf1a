# Copyright (c) 2026 wsman.winrm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""wsman.winrm.listener: one WinRM listener (winrm/config/listener), keyed by Address and Transport.

One Get of winrm/config and one Enumerate of the listeners, then at most one Create (and a Get of
what Windows made), one partial Put or one Delete (plugins/plugin_utils/listeners.py plans it). A
listener is never replaced: ``replaced`` is always false.
"""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleActionFail

from ansible_collections.wsman.winrm.plugins.module_utils import argspecs, plan, resources
from ansible_collections.wsman.winrm.plugins.plugin_utils.listeners import plan_listener, validate
from ansible_collections.wsman.winrm.plugins.plugin_utils.wsman_action import WSManAction


class ActionModule(WSManAction):
    argument_spec = argspecs.LISTENER["argument_spec"]

    def manage(self, session, args: dict[str, t.Any], task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        try:
            wanted = validate(args)
        except ValueError as error:  # before anything is sent: the session opens on the first request
            raise AnsibleActionFail(str(error)) from None
        snapshot = resources.read_all(session, parts=("config", "listeners"))
        change = plan_listener(session, snapshot, wanted)
        change.refusals.append(plan.lockout(self.lockout_reasons(
            session.endpoint, snapshot.config, snapshot.config, snapshot.listeners, change.predicted)))
        result = self.apply_plan(change, args, {"replaced": False})
        result["listener"] = result.pop("after")
        return result
