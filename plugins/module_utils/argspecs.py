# Copyright (c) 2026 wsman.winrm contributors
# MIT License (see LICENSE)
"""Argument specs of the modules, shared by the documentation stubs' tests and the action plugins.

The action plugins validate task arguments against these with ansible-core's validator; the
sanity test validate-modules checks that each module's DOCUMENTATION agrees with its spec.
"""

from __future__ import annotations

INFO_PARTS = ("config", "listeners", "cert_mappings", "policy")

INFO = dict(
    argument_spec=dict(
        gather=dict(type="list", elements="str", choices=list(INFO_PARTS), default=list(INFO_PARTS)),
        query=dict(type="str"),
    ),
)

# Options of every module that changes WinRM (documented in plugins/doc_fragments/change.py).
CHANGE_OPTIONS = dict(
    policy_controlled=dict(type="str", choices=["fail", "skip"], default="fail"),
    force=dict(type="bool", default=False),
)
