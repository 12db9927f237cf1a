# Copyright (c) 2026 wsman.winrm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""wsman.winrm.client: the WinRM client settings of the host (winrm/config/client, without its auth section)."""

from __future__ import annotations

import typing as t

from ansible_collections.wsman.winrm.plugins.module_utils import argspecs, resources
from ansible_collections.wsman.winrm.plugins.plugin_utils.settings import client_warnings, desired_client, validate_client_args
from ansible_collections.wsman.winrm.plugins.plugin_utils.wsman_action import WSManAction


class ActionModule(WSManAction):
    argument_spec = argspecs.CLIENT["argument_spec"]

    def manage(self, session, args: dict[str, t.Any], task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        validate_client_args(args)  # before anything is sent
        snapshot = resources.read_all(session, parts={"config", "listeners"})
        desired = desired_client(args, snapshot.config)
        result = self.apply_plan(self.plan_settings(session, snapshot, desired, "client"), args)
        result["client"] = result.pop("after")
        result["trusted_hosts"] = (result["client"] or {}).get("trusted_hosts") or []
        result.setdefault("policy_skipped", [])
        warnings = client_warnings(args, result["client"] or {})
        if warnings:
            result.setdefault("warnings", []).extend(warnings)
        return result
