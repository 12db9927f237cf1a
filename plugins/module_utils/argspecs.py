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

# ---- auth, service, client: settings inside winrm/config (None = leave as it is) ------------------

AUTH_SCOPES = ("service", "client")
CBT_HARDENING_LEVELS = ("none", "relaxed", "strict")  # any case; Windows spells None/Relaxed/Strict

AUTH = dict(
    argument_spec=dict(
        scope=dict(type="str", required=True, choices=list(AUTH_SCOPES)),
        basic=dict(type="bool"),
        digest=dict(type="bool"),
        kerberos=dict(type="bool"),
        negotiate=dict(type="bool"),
        certificate=dict(type="bool"),
        credssp=dict(type="bool"),
        # Not "choices": those are case-sensitive, and Windows takes the level in any case.
        cbt_hardening_level=dict(type="str"),
        **CHANGE_OPTIONS,
    ),
)

_DEFAULT_PORTS = dict(type="dict", options=dict(http=dict(type="int"), https=dict(type="int")))

SERVICE = dict(
    argument_spec=dict(
        allow_unencrypted=dict(type="bool"),
        ipv4_filter=dict(type="str"),
        ipv6_filter=dict(type="str"),
        root_sddl=dict(type="str"),
        certificate_thumbprint=dict(type="str"),
        allow_remote_access=dict(type="bool"),
        default_ports=_DEFAULT_PORTS,
        max_connections=dict(type="int"),
        max_concurrent_operations_per_user=dict(type="int"),
        enumeration_timeout_ms=dict(type="int"),
        max_packet_retrieval_time_seconds=dict(type="int"),
        **CHANGE_OPTIONS,
    ),
)

TRUSTED_HOSTS_MODES = ("set", "add", "remove")

CLIENT = dict(
    argument_spec=dict(
        allow_unencrypted=dict(type="bool"),
        default_ports=_DEFAULT_PORTS,
        network_delay_ms=dict(type="int"),
        url_prefix=dict(type="str"),
        trusted_hosts=dict(type="list", elements="str"),
        trusted_hosts_mode=dict(type="str", choices=list(TRUSTED_HOSTS_MODES), default="set"),
        **CHANGE_OPTIONS,
    ),
)

