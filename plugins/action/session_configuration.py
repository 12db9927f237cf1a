# Copyright (c) 2026 wsman.winrm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""wsman.winrm.session_configuration: a session configuration's descriptor, Enabled and quotas."""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleActionFail

from ansible_collections.wsman.winrm.plugins.module_utils import argspecs, computer, plan, resources
from ansible_collections.wsman.winrm.plugins.module_utils import session_configurations as model
from ansible_collections.wsman.winrm.plugins.plugin_utils import session_configuration as planner
from ansible_collections.wsman.winrm.plugins.plugin_utils.wsman_action import WSManAction

LOCKOUT_ADVICE = ("Grant the right another way first (to the task's user itself, or to a local group that lists it by "
                  "name: a domain group's members cannot be read from the host), or set force: true if you have "
                  "another way back in.")
# The endpoints this controller itself relies on: the PowerShell configuration ansible.builtin.psrp
# connects to (its configuration_name option, Microsoft.PowerShell by default) and WMI, which the
# collection reads and writes policy values and firewall rules through.
PSRP_CONFIGURATION_VARIABLE = "ansible_psrp_configuration_name"
PSRP_DEFAULT_CONFIGURATION = "Microsoft.PowerShell"


class ActionModule(WSManAction):
    argument_spec = argspecs.SESSION_CONFIGURATION["argument_spec"]

    def manage(self, session, args: dict[str, t.Any], task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        quotas = planner.check_quotas(args.get("quotas"))
        plugins = model.read_all(session)
        before = model.find(plugins, args["name"])
        if before is None:
            raise AnsibleActionFail("%s has no session configuration named %r; it has: %s (winrm/config/plugin)"
                                    % (session.endpoint.host, args["name"], ", ".join(p.name for p in plugins)))
        # RootSDDL guards a configuration without a descriptor of its own; the WinRS settings cap quotas.
        snapshot = (resources.read_all(session, parts={"config"})
                    if before.sddl is None or quotas else None)
        root_sddl = snapshot.config.service.get("root_sddl") if snapshot is not None else None
        trustees = planner.Trustees(session)
        change = planner.plan_change(session, before, planner.desired_sddl(before.sddl, args, trustees, root_sddl),
                                     args.get("enabled"), quotas)
        if {"sddl", "enabled"} & set(change.changes) and self.relied_on(before, task_vars):
            user = planner.user_sids(session, session.endpoint.username, computer.read_local_groups(session),
                                     trustees)
            reasons = planner.lockout_reasons(before, change.predicted, root_sddl, user)
            if reasons:
                change.refusals.append(plan.lockout(reasons, forced="this change takes away the task's own access",
                                                    advice=LOCKOUT_ADVICE))
        restart = bool(set(change.changes) - {"sddl"})
        if restart:
            change.warnings.append(planner.RESTART_NOTE)
        change.warnings.extend(self.quota_warnings(snapshot, quotas))
        if before.run_as_user and resources.registry_get_value(
                session, resources.POLICY_ROOT + "\\Service", "DisableRunAs", "DWORD") == 1:
            change.warnings.append(run_as_warning(before))
        result = self.apply_plan(change, args)
        result["session_configuration"] = result.get("after")
        result["restart_required"] = restart and bool(result.get("changed"))
        return result

    def relied_on(self, configuration: model.SessionConfiguration, task_vars: dict[str, t.Any]) -> bool:
        if configuration.kind == "wmi":
            return True
        name = self._templar.template(task_vars.get(PSRP_CONFIGURATION_VARIABLE)) or PSRP_DEFAULT_CONFIGURATION
        return configuration.name.lower() == str(name).lower()

    @staticmethod
    def quota_warnings(snapshot: t.Any, quotas: t.Mapping[str, int]) -> list[str]:
        """A session configuration's quota above the global WinRS value is capped by it (the WSMan
        provider warns the same), and Group Policy may be what sets the global one."""
        if snapshot is None:
            return []
        winrs = snapshot.config.winrs
        warnings = []
        for option, setting in planner.GLOBAL_QUOTAS.items():
            wanted, limit = quotas.get(option), winrs.get(setting)
            if wanted is None or limit is None or wanted <= limit:
                continue
            source = " (set by Group Policy, WinRS policy %s)" % setting if winrs.source_of(setting) == "GPO" else ""
            warnings.append("quotas.%s=%d is above the global winrs.%s=%d%s, which caps it" % (
                option, wanted, setting, limit, source))
        return warnings


def run_as_warning(configuration: model.SessionConfiguration) -> str:
    return ("%s runs as %s, and the policy 'Disallow WinRM from storing RunAs credentials' (DisableRunAs) is on: "
            "Windows erased its stored password, so the configuration no longer opens. Use a virtual account "
            "(JEA, RunAsVirtualAccount) or a group managed service account instead." % (
                configuration.name, configuration.run_as_user))
