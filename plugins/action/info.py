# Copyright (c) 2026 wsman.winrm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""wsman.winrm.info: read the whole WinRM configuration of a host in a handful of requests."""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleActionFail

from ansible_collections.wsman.winrm.plugins.module_utils import argspecs
from ansible_collections.wsman.winrm.plugins.module_utils.resources import read_all
from ansible_collections.wsman.winrm.plugins.plugin_utils.wsman_action import WSManAction

try:
    import jmespath
except ImportError:  # only needed for the query option
    jmespath = None


class ActionModule(WSManAction):
    argument_spec = argspecs.INFO["argument_spec"]

    def manage(self, session, args: dict[str, t.Any], task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        parts = set(args["gather"])
        snapshot = read_all(session, parts=parts)
        report = snapshot.to_dict(parts=parts)
        report["endpoint"] = session.endpoint.redacted()
        if args.get("query"):
            if jmespath is None:
                raise AnsibleActionFail("The query option needs the Python package jmespath on the controller.")
            try:
                report["query_result"] = jmespath.search(args["query"], report)
            except jmespath.exceptions.JMESPathError as error:
                raise AnsibleActionFail(f"query is not a valid JMESPath expression: {error}") from None
        return report
