# Copyright (c) 2026 wsman.winrm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""wsman.winrm.auth: the authentication switches of the WinRM service or client (winrm/config/*/auth)."""

from __future__ import annotations

import typing as t

from ansible_collections.wsman.winrm.plugins.module_utils import argspecs, resources
from ansible_collections.wsman.winrm.plugins.plugin_utils.settings import auth_warnings, desired_auth
from ansible_collections.wsman.winrm.plugins.plugin_utils.wsman_action import WSManAction


class ActionModule(WSManAction):
    argument_spec = argspecs.AUTH["argument_spec"]

    def manage(self, session, args: dict[str, t.Any], task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        scope = args["scope"]
        desired = desired_auth(args)  # before anything is sent
        snapshot = resources.read_all(session, parts={"config", "listeners"})
        result = self.apply_plan(self.plan_settings(session, snapshot, desired, f"{scope}.auth"), args)
        result["auth"] = result.pop("after")
        result.setdefault("policy_skipped", [])
        warnings = auth_warnings(scope, args, result["auth"] or {})
        if warnings:
            result.setdefault("warnings", []).extend(warnings)
        return result
