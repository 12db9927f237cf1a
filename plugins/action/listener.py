# Copyright (c) 2026 wsman.winrm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""wsman.winrm.listener: one WinRM listener (winrm/config/listener), keyed by Address and Transport.

One Get of winrm/config and one Enumerate of the listeners, then at most one Create (and a Get of
what Windows made), one partial Put or one Delete (plugins/plugin_utils/listeners.py plans it). A
listener is never replaced: ``replaced`` is always false. With ``certificate: auto`` the host's
certificate stores are read first (one request per certificate) and the thumbprint chosen there
goes into that same Create or Put.
"""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleActionFail

from ansible_collections.wsman.winrm.plugins.module_utils import argspecs, plan, resources
from ansible_collections.wsman.winrm.plugins.plugin_utils.listeners import (
    certificate_lockout, certificate_result, choose_certificate, plan_listener, validate,
)
from ansible_collections.wsman.winrm.plugins.plugin_utils.wsman_action import WSManAction


class ActionModule(WSManAction):
    argument_spec = argspecs.LISTENER["argument_spec"]
    argument_options = {key: value for key, value in argspecs.LISTENER.items() if key != "argument_spec"}

    def manage(self, session, args: dict[str, t.Any], task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        try:
            wanted = validate(args)
        except ValueError as error:  # before anything is sent: the session opens on the first request
            raise AnsibleActionFail(str(error)) from None
        if args.get("certificate") and wanted["transport"] != "HTTPS":
            raise AnsibleActionFail("certificate: an HTTP listener takes no certificate; use transport: https")
        snapshot = resources.read_all(session, parts=("config", "listeners"))
        binding = machine = None
        if args.get("certificate") == "auto" and wanted["state"] == "present":
            binding, machine = choose_certificate(session, snapshot.listeners, wanted, args)
        change = plan_listener(session, snapshot, wanted)
        if binding is not None and binding.warning:
            change.warnings.append(binding.warning)
        change.refusals.append(plan.lockout(self.lockout_reasons(
            session.endpoint, snapshot.config, snapshot.config, snapshot.listeners, change.predicted)))
        change.refusals.append(plan.lockout(
            certificate_lockout(session, snapshot.listeners, change.predicted, machine),
            forced="the listener this task uses now serves a certificate the controller refuses",
            advice="Give the controller the CA that issued it (ansible_winrm_ca_trust_path), choose another certificate, "
                   "or set force: true to re-bind anyway."))
        result = self.apply_plan(change, args, {"replaced": False})
        result["listener"] = result.pop("after")
        if binding is not None:
            result["certificate"] = certificate_result(binding)
        return result
