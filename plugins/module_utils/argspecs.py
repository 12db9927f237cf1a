# Copyright (c) 2026 wsman.winrm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
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


# ---- wsman.winrm.cert_mapping ------------------------------------------------------------------

CERT_MAPPING = dict(
    argument_spec=dict(
        uri=dict(type="str", required=True),
        subject=dict(type="str", required=True),
        issuer=dict(type="str", required=True),
        username=dict(type="str"),
        password=dict(type="str", no_log=True),
        enabled=dict(type="bool", default=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        update_password=dict(type="str", choices=["always", "on_create"], default="on_create", no_log=False),
        **CHANGE_OPTIONS,
    ),
)


# ---- wsman.winrm.policy ------------------------------------------------------------------------
# The options are derived from resources.POLICY_SETTINGS, the one table of policy values, so the
# table, this spec and the module's DOCUMENTATION cannot drift (tests/unit/test_policy_spec.py).

POLICY_NOT_CONFIGURED = "absent"
POLICY_TOP_LEVEL = "top"  # the scope of values outside the WinRM policy key (UAC System policies)

# Compound words kept whole, then acronyms, then ordinary words: AllowCredSSP -> allow_credssp,
# CBTHardeningLevelStatus -> cbt_hardening_level_status, MaxMemoryPerShellMB -> max_memory_per_shell_mb.
_POLICY_WORDS = r"CredSSP|IPv[46]|[A-Z]{2,}(?=[A-Z][a-z]|\d|$)|[A-Z]?[a-z]+|[A-Z]+|\d+"
# A switch (DWORD 1 = "the policy sets the value") and its value share one option: the suffixes go.
_POLICY_PAIR_SUFFIXES = ("_status", "_list")


def policy_value_option_name(value_name: str) -> str:
    """snake_case of a registry value name, with a pair's _status/_list suffix removed."""
    import re

    name = "_".join(word.lower() for word in re.findall(_POLICY_WORDS, value_name))
    for suffix in _POLICY_PAIR_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def policy_scope(key: str) -> str:
    """``client``, ``service`` or ``winrs`` for the WinRM policy keys; ``top`` for the others."""
    from ansible_collections.wsman.winrm.plugins.module_utils import resources

    if not key.lower().startswith(resources.POLICY_ROOT.lower() + "\\"):
        return POLICY_TOP_LEVEL
    return key.rsplit("\\", 1)[-1].lower()


class PolicyOption:
    """One option of the policy module: the registry value(s) it writes and the type it takes.

    ``switch`` is the DWORD the policy sets to 1 when it sets ``value`` (TrustedHosts ->
    TrustedHostsList); a single value has no switch. ``kind`` is bool, int, str or list, taken
    from the winrm/config setting the value controls (a DWORD with no such setting is a bool).
    """

    def __init__(self, scope: str, name: str, settings: list):
        self.scope, self.name = scope, name
        strings = [s for s in settings if s.type != "DWORD"]
        dwords = [s for s in settings if s.type == "DWORD"]
        if len(settings) == 2 and len(strings) == 1 and len(dwords) == 1:
            self.switch, self.value = dwords[0], strings[0]
        elif len(settings) == 1:
            self.switch, self.value = None, settings[0]
        else:
            raise ValueError("policy option %s.%s groups %d values; the table needs a rule" % (scope, name, len(settings)))
        self.kind, self.choices = self._kind()

    @property
    def settings(self) -> tuple:
        """Every value this option writes, switch first."""
        return tuple(s for s in (self.switch, self.value) if s is not None)

    @property
    def path(self) -> str:
        return self.name if self.scope == POLICY_TOP_LEVEL else "%s.%s" % (self.scope, self.name)

    def _kind(self) -> tuple:
        from ansible_collections.wsman.winrm.plugins.module_utils import resources

        fields = []
        for path in self.value.controls:
            try:
                fields.append(resources.WinRMConfig.field(path))
            except KeyError:
                continue  # "listeners": not a setting
        if self.value.type == "DWORD":
            is_int = bool(fields) and len(fields) == len(self.value.controls) and all(f.kind is int for f in fields)
            return ("int" if is_int else "bool"), ()
        kinds = {f.kind for f in fields}
        if kinds == {list}:
            return "list", ()
        choices = tuple(c for f in fields for c in f.choices)
        return "str", choices

    def __repr__(self) -> str:
        return "PolicyOption(%s)" % self.path


def policy_options() -> dict:
    """scope -> option name -> PolicyOption, in the table's order."""
    from ansible_collections.wsman.winrm.plugins.module_utils import resources

    grouped: dict = {}
    for setting in resources.POLICY_SETTINGS:
        scope = policy_scope(setting.key)
        grouped.setdefault(scope, {}).setdefault(policy_value_option_name(setting.name), []).append(setting)
    return {scope: {name: PolicyOption(scope, name, settings) for name, settings in options.items()}
            for scope, options in grouped.items()}


def _policy_argument_spec() -> dict:
    # type raw: each value is the policy's own (true/false, a number, a string or a list) or
    # "absent" (Not Configured); the action plugin checks each against the option's kind.
    spec: dict = {}
    for scope, options in policy_options().items():
        if scope == POLICY_TOP_LEVEL:
            spec.update({name: dict(type="raw") for name in options})
        else:
            spec[scope] = dict(type="dict", options={name: dict(type="raw") for name in options})
    spec["state"] = dict(type="str", choices=["present", "absent"], default="present")
    spec.update(CHANGE_OPTIONS)
    return spec


POLICY = dict(argument_spec=_policy_argument_spec())

# wsman.winrm.listener: one listener, keyed by Address and Transport (winrm/config/listener).
LISTENER_TRANSPORTS = ("http", "https")
LISTENER = dict(
    argument_spec=dict(
        address=dict(type="str", default="*"),
        transport=dict(type="str", required=True, choices=list(LISTENER_TRANSPORTS)),
        port=dict(type="int"),
        hostname=dict(type="str"),
        enabled=dict(type="bool"),
        url_prefix=dict(type="str"),
        certificate_thumbprint=dict(type="str"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        **CHANGE_OPTIONS,
    ),
)

# wsman.winrm.compat_listener: EnableCompatibilityHttp(s)Listener; None = unmanaged.
COMPAT_LISTENER = dict(
    argument_spec=dict(
        http=dict(type="bool"),
        https=dict(type="bool"),
        **CHANGE_OPTIONS,
    ),
)

# wsman.winrm.firewall_rule: Windows Firewall rules (MSFT_NetFirewallRule over CIM); None = unmanaged.
FIREWALL_PROFILES = ("domain", "private", "public", "any")
FIREWALL_RULE = dict(
    argument_spec=dict(
        name=dict(type="str"),
        group=dict(type="str"),
        enabled=dict(type="bool"),
        profiles=dict(type="list", elements="str", choices=list(FIREWALL_PROFILES)),
        remote_addresses=dict(type="list", elements="str"),
        **CHANGE_OPTIONS,
    ),
    mutually_exclusive=[("name", "group")],
    required_one_of=[("name", "group")],
)
