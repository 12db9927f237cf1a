# Copyright (c) 2026 wsman.winrm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""wsman.winrm.limits: MaxEnvelopeSizekb, MaxTimeoutms, MaxBatchItems and the WinRS quotas, in one partial Put."""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleActionFail

from ansible_collections.wsman.winrm.plugins.module_utils import argspecs, plan, resources
from ansible_collections.wsman.winrm.plugins.plugin_utils.wsman_action import WSManAction

UINT_MAX = 4294967295
INT_MAX = 2147483647
# [MS-WSMV] 2.2.4.x ConfigType (MaxTimeoutms at least 500, MaxBatchItems at least 1; the service
# refuses an envelope limit under 32 KB) and 2.2.4.42 WinrsType (0 to 0x7FFFFFFF; 0 is unlimited
# for processes, memory and shells; at least one concurrent user).
RANGES = {
    "max_envelope_size_kb": (32, UINT_MAX), "max_timeout_ms": (500, UINT_MAX), "max_batch_items": (1, UINT_MAX),
    "winrs.idle_timeout": (0, INT_MAX), "winrs.max_concurrent_users": (1, INT_MAX),
    "winrs.max_processes_per_shell": (0, INT_MAX), "winrs.max_memory_per_shell_mb": (0, INT_MAX),
    "winrs.max_shells_per_user": (0, INT_MAX),
}
# The envelope this controller's client asks for (pypsrp's MaxEnvelopeSize header, 153600 bytes):
# the service refuses a request asking for more than its MaxEnvelopeSizekb ([MS-WSMV] 3.1.4.1.20,
# fault 2150858823), so a smaller limit refuses every later request of the collection.
CLIENT_ENVELOPE_KB = 150


def desired_limits(args: t.Mapping[str, t.Any]) -> dict[str, int]:
    desired = {name: args.get(name) for name in ("max_envelope_size_kb", "max_timeout_ms", "max_batch_items")}
    desired.update({"winrs." + name: value for name, value in (args.get("winrs") or {}).items()})
    desired = {path: value for path, value in desired.items() if value is not None}
    for path, value in desired.items():
        low, high = RANGES[path]
        if not low <= value <= high:
            raise AnsibleActionFail("%s must be between %d and %d, got %d. Nothing was sent." % (path, low, high, value))
    return desired


def view(config: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """The limits of a winrm/config view: the three global ones and the WinRS quotas."""
    winrs = config.get("winrs") or {}
    return {"max_envelope_size_kb": config.get("max_envelope_size_kb"), "max_timeout_ms": config.get("max_timeout_ms"),
            "max_batch_items": config.get("max_batch_items"),
            "winrs": {name: winrs.get(name) for name in argspecs.LIMITS_WINRS}}


class ActionModule(WSManAction):
    argument_spec = argspecs.LIMITS["argument_spec"]

    def manage(self, session, args: dict[str, t.Any], task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        desired = desired_limits(args)
        snapshot = resources.read_all(session, parts={"config", "listeners"})
        change = self.plan_settings(session, snapshot, desired, "")
        change.before, change.after = view(change.before), view(change.after)
        if change.finish is not None:
            finish = change.finish
            change.finish = lambda answers: view(finish(answers))
        envelope = desired.get("max_envelope_size_kb")
        if envelope is not None and envelope < CLIENT_ENVELOPE_KB and "max_envelope_size_kb" in change.changes:
            change.refusals.append(plan.lockout([
                "max_envelope_size_kb=%d is below the %d KB envelope this controller's WS-Management client asks "
                "for: the service would refuse every later request (fault 2150858823)" % (envelope, CLIENT_ENVELOPE_KB)
            ]))
        result = self.apply_plan(change, args)
        result["limits"] = result.get("after")
        result.setdefault("policy_skipped", [])
        return result
