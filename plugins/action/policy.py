# Copyright (c) 2026 wsman.winrm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""wsman.winrm.policy: the WinRM Group Policy registry values, written through WMI StdRegProv.

The options, their values and the order of the writes come from module_utils/policy.py, the one
place that knows the policy values. One read of the policy values; when something is to be
written, one Get of winrm/config and one Enumerate of the listeners for the anti-lockout check;
then CreateKey + Set<Type>Value or DeleteValue per value. A value that fails is reported after
the values written before it are put back (each read back when its reply was lost).
"""

from __future__ import annotations

import typing as t

from ansible_collections.wsman.winrm.plugins.module_utils import argspecs, httpsys, plan, resources
from ansible_collections.wsman.winrm.plugins.module_utils.policy import InvalidValue, PolicyValues, desired_options, plan_policy
from ansible_collections.wsman.winrm.plugins.plugin_utils.remoting import run_as_warnings, writes_disable_run_as
from ansible_collections.wsman.winrm.plugins.plugin_utils.settings import listeners_after_settings, with_policy
from ansible_collections.wsman.winrm.plugins.plugin_utils.wsman_action import WSManAction


# The policy values "Turn On Compatibility HTTP (HTTPS) Listener" (Windows Remote Management, WinRM Service).
COMPATIBILITY_VALUES = {"http": "HttpCompatibilityListener", "https": "HttpsCompatibilityListener"}


class ActionModule(WSManAction):
    argument_spec = argspecs.POLICY["argument_spec"]

    def manage(self, session, args: dict[str, t.Any], task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        try:
            named = desired_options(args)
        except InvalidValue as error:
            return dict(failed=True, msg="Invalid policy values: %s. Nothing was sent." % error)
        if not named:
            return dict(failed=True, msg="Name at least one policy value (client, service, winrs or "
                                         "local_account_token_filter_policy). Nothing was sent.")
        before = PolicyValues.read(session)
        change = plan_policy(session, before, named)
        written = [key for key, value in change.predicted.items() if before.values.get(key) != value]
        if written:
            change.refusals.append(plan.lockout(self._lockout(session, change.predicted)))
        if any(option.path == "service.disable_run_as" and value is True for option, value in named) \
                and writes_disable_run_as(change.changes):
            change.warnings.extend(run_as_warnings(session))    # one Enumerate of winrm/config/plugin
        result = self.apply_plan(change, args)
        result["policy"] = result.pop("after")
        turned_on = [transport for transport, name in COMPATIBILITY_VALUES.items()
                     if any(key[1] == name and value == 1 and before.values.get(key) != 1
                            for key, value in change.predicted.items())]
        if turned_on and not result.get("failed"):
            # Enabled directly, not through the WinRM 2.0 upgrade: HTTP.sys needs its reservations too.
            missing = httpsys.missing_for_compatibility(httpsys.read(session), turned_on)
            result["http_sys_missing"] = missing
            if missing:
                result.setdefault("warnings", []).append(httpsys.compatibility_warning(
                    missing, "wsman.winrm.policy (Turn On Compatibility HTTP/HTTPS Listener)"))
        return result

    def _lockout(self, session, after_values) -> list[str]:
        """The anti-lockout check on the settings the new policy values will force (one Get of
        winrm/config and one Enumerate, only when a value is written).

        Removing a value ("Not Configured") gives the local setting back, which Windows does not
        show while the policy is set, so removals cannot be checked and are not refused."""
        snapshot = resources.read_all(session, parts={"config", "listeners"})
        config_after = with_policy(snapshot.config, after_values)
        listeners_after = listeners_after_settings(snapshot.listeners, config_after)
        return self.lockout_reasons(session.endpoint, snapshot.config, config_after, snapshot.listeners,
                                    listeners_after)
