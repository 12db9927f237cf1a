# Copyright (c) 2026 wsman.winrm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""wsman.winrm.compat_listener: the WinRM 1.1 compatibility listeners on ports 80 and 443.

They are not listeners one can address ("not directly addressable ... cannot be retrieved via winrm
get and their settings cannot be modified", Microsoft: Details on secure port configuration for
WS-Management in Windows 7 and Windows Server 2008 R2): they are on or off through
EnableCompatibilityHttpListener / EnableCompatibilityHttpsListener in winrm/config/service, and
Group Policy may hold those values (HttpCompatibilityListener / HttpsCompatibilityListener).
"""

from __future__ import annotations

import typing as t

from ansible_collections.wsman.winrm.plugins.module_utils import argspecs, httpsys, resources
from ansible_collections.wsman.winrm.plugins.plugin_utils.settings import (
    COMPATIBILITY, compatibility_view, compatibility_warnings, desired_compatibility, predicted_compatibility_listeners,
)
from ansible_collections.wsman.winrm.plugins.plugin_utils.wsman_action import WSManAction


class ActionModule(WSManAction):
    argument_spec = argspecs.COMPAT_LISTENER["argument_spec"]

    def manage(self, session, args: dict[str, t.Any], task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        snapshot = resources.read_all(session, parts=("config", "listeners"))
        change = self.plan_settings(session, snapshot, desired_compatibility(args), "service")
        predicted = predicted_compatibility_listeners(snapshot.listeners, change.predicted)
        cuts_own_connection = any(refusal.reasons for refusal in change.refusals)  # only sent with force
        change.before = compatibility_view(snapshot.config)
        change.after = compatibility_view(change.predicted)
        change.header = "winrm/config/service compatibility"
        if change.steps:
            step = change.steps[0].name
            change.finish = lambda answers: {option: bool(answers[step].get(spec.path.split(".", 1)[1]))
                                             for option, spec in COMPATIBILITY.items()}
        result = self.apply_plan(change, args)
        if result.get("failed"):
            return result
        if result["changed"] and not self._task.check_mode and not cuts_own_connection:
            # Enumerate again: what Windows made is the answer, not the prediction.
            predicted = [item for item in (resources.Listener.from_xml(element)
                                           for element in session.enumerate(resources.LISTENER_URI))
                         if item.is_compatibility]
        result["compatibility_listeners"] = [item.to_dict() for item in predicted]
        warnings = compatibility_warnings(result["before"], result["after"])
        turned_on = [option for option in ("http", "https") if result["after"].get(option) and not result["before"].get(option)]
        if turned_on and not cuts_own_connection:
            # Enabled directly, not through the upgrade: HTTP.sys needs its reservations (and the 443 binding).
            missing = httpsys.missing_for_compatibility(httpsys.read(session), turned_on,
                                                        thumbprint=snapshot.config.get("service.certificate_thumbprint") or "")
            result["http_sys_missing"] = missing
            if missing:
                warnings.append(httpsys.compatibility_warning(missing, "wsman.winrm.compat_listener"))
        if warnings:
            result.setdefault("warnings", []).extend(warnings)
        return result
