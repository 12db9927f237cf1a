# Copyright (c) 2026 wsman.winrm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""wsman.winrm.service: the WinRM service settings (winrm/config/service, without its auth section)."""

from __future__ import annotations

import typing as t

from ansible_collections.wsman.winrm.plugins.module_utils import argspecs, resources
from ansible_collections.wsman.winrm.plugins.plugin_utils.settings import desired_service, service_warnings
from ansible_collections.wsman.winrm.plugins.plugin_utils.wsman_action import WSManAction


class ActionModule(WSManAction):
    argument_spec = argspecs.SERVICE["argument_spec"]

    def manage(self, session, args: dict[str, t.Any], task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        desired = desired_service(args)
        snapshot = resources.read_all(session, parts={"config", "listeners"})
        result = self.apply_plan(self.plan_settings(session, snapshot, desired, "service"), args)
        result["service"] = result.pop("after")
        result.setdefault("policy_skipped", [])
        warnings = service_warnings(args, result["service"] or {})
        if warnings:
            result.setdefault("warnings", []).extend(warnings)
        return result
