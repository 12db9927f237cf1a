# Copyright (c) 2026 wsman.winrm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Argument specs of the modules, shared by the documentation stubs' tests and the action plugins.

The action plugins validate task arguments against these with ansible-core's validator; the
sanity test validate-modules checks that each module's DOCUMENTATION agrees with its spec.
"""

from __future__ import annotations

from ansible_collections.wsman.winrm.plugins.module_utils import policy

INFO_PARTS = ("config", "listeners", "cert_mappings", "policy")
# Read only when asked for: the certificate stores cost a request per certificate;
# PowerShell remoting security (plugin_utils/remoting.py).
INFO_EXTRA_PARTS = ("certificates",)
INFO_REMOTING_PARTS = ("system", "session_configurations", "access", "verdict")

# Gathered only when asked: the WinRM firewall rules (three Enumerates of every rule of the host).
INFO_ON_REQUEST = ("firewall",)

INFO = dict(
    argument_spec=dict(
        gather=dict(type="list", elements="str", choices=list(INFO_PARTS + INFO_EXTRA_PARTS + INFO_REMOTING_PARTS + INFO_ON_REQUEST),
                    default=list(INFO_PARTS)),
        query=dict(type="str"),
        certificate_expiry_days=dict(type="int", default=30),
        check_tls=dict(type="bool", default=True),
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
# The options are derived from the one table of policy values (module_utils/policy.py), so the
# table, this spec and the module's DOCUMENTATION cannot drift (tests/unit/test_policy_spec.py).

POLICY_NOT_CONFIGURED = policy.NOT_CONFIGURED
POLICY_TOP_LEVEL = policy.TOP_LEVEL
PolicyOption = policy.PolicyOption
policy_options = policy.policy_options
policy_value_option_name = policy.option_name
policy_scope = policy.option_scope

POLICY = dict(argument_spec=policy.argument_spec(CHANGE_OPTIONS))

# wsman.winrm.listener: one listener, keyed by Address and Transport (winrm/config/listener).
LISTENER_TRANSPORTS = ("http", "https")
# An HTTPS listener's certificate chosen from the host's store (wsman.winrm.listener, converge https).
CERTIFICATE_CRITERIA = dict(
    hostname=dict(type="str"),
    issuer=dict(type="str"),
    template=dict(type="str"),
    min_days_left=dict(type="int", default=0),
)
CERTIFICATE_SELECTION = dict(
    certificate=dict(type="str", choices=["auto"]),
    certificate_criteria=dict(type="dict", options=CERTIFICATE_CRITERIA),
    renew_within_days=dict(type="int", default=30),
)

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
        **CERTIFICATE_SELECTION,
        **CHANGE_OPTIONS,
    ),
    mutually_exclusive=[("certificate_thumbprint", "certificate")],
)

# wsman.winrm.compat_listener: EnableCompatibilityHttp(s)Listener; None = unmanaged.
COMPAT_LISTENER_OPTIONS = dict(http=dict(type="bool"), https=dict(type="bool"))
COMPAT_LISTENER = dict(argument_spec=dict(COMPAT_LISTENER_OPTIONS, **CHANGE_OPTIONS))

# wsman.winrm.firewall_rule: Windows Firewall rules (MSFT_NetFirewallRule over CIM); None = unmanaged.
FIREWALL_PROFILES = ("domain", "private", "public", "any")
FIREWALL_RULE = dict(
    argument_spec=dict(
        name=dict(type="str"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        group=dict(type="str"),
        display_name=dict(type="str"),
        description=dict(type="str"),
        protocol=dict(type="str"),
        local_ports=dict(type="list", elements="str"),
        enabled=dict(type="bool"),
        profiles=dict(type="list", elements="str", choices=list(FIREWALL_PROFILES)),
        remote_addresses=dict(type="list", elements="str"),
        action=dict(type="str", choices=["allow", "block"]),
        **CHANGE_OPTIONS,
    ),
    required_one_of=[("name", "group")],
)

# ---- wsman.winrm.converge: the desired WinRM state of a host, in one task -------------------------
# Each part takes the options of the module that manages it alone (None = leave as it is), so a
# part of a converge task reads like that module's task.

_AUTH_SWITCHES = dict(basic=dict(type="bool"), kerberos=dict(type="bool"), negotiate=dict(type="bool"),
                      certificate=dict(type="bool"), credssp=dict(type="bool"))
_SETTING_OPTIONS = ("policy_controlled", "force")
CONVERGE_SERVICE = dict(
    {name: spec for name, spec in SERVICE["argument_spec"].items() if name not in _SETTING_OPTIONS},
    auth=dict(type="dict", options=dict(_AUTH_SWITCHES, cbt_hardening_level=dict(type="str"))),
)
CONVERGE_CLIENT = dict(
    {name: spec for name, spec in CLIENT["argument_spec"].items() if name not in _SETTING_OPTIONS},
    auth=dict(type="dict", options=dict(_AUTH_SWITCHES, digest=dict(type="bool"))),
)
CONVERGE_POLICY = {name: spec for name, spec in POLICY["argument_spec"].items()
                   if name not in _SETTING_OPTIONS + ("state",)}
CONVERGE_HTTPS = dict(
    port=dict(type="int", default=5986),
    connection_port=dict(type="int"),
    address=dict(type="str", default="*"),
    certificate_thumbprint=dict(type="str"),
    hostname=dict(type="str"),
    remove_http=dict(type="bool", default=False),
    **CERTIFICATE_SELECTION,
    firewall=dict(type="bool", default=True),
    firewall_remote_addresses=dict(type="list", elements="str"),
)
CONVERGE_CONTROLS = dict(
    profile=dict(type="str", choices=["domain_kerberos", "workgroup_https", "certificate_only", "auto"],
                 default="domain_kerberos"),
    benchmark=dict(type="str"),
    stig=dict(type="str"),
    deviations=dict(type="dict", default={}),
    allowed_sddl_trustees=dict(type="list", elements="str", default=[]),
    certificate_expiry_days=dict(type="int", default=30),
)
CONVERGE_REPORT = dict(
    dir=dict(type="path", required=True),
    title=dict(type="str"),
    labels=dict(type="dict", default={}),
    markdown_template=dict(type="path"),
    html_template=dict(type="path"),
)
CONVERGE = dict(
    argument_spec=dict(
        service=dict(type="dict", options=CONVERGE_SERVICE),
        client=dict(type="dict", options=CONVERGE_CLIENT),
        compatibility_listeners=dict(type="dict", options=COMPAT_LISTENER_OPTIONS),
        policy=dict(type="dict", options=CONVERGE_POLICY),
        policy_conflicts=dict(type="str", choices=["keep", "override"], default="keep"),
        https=dict(type="dict", options=CONVERGE_HTTPS),
        controls=dict(type="dict", options=CONVERGE_CONTROLS),
        report=dict(type="dict", options=CONVERGE_REPORT),
        fail_on_noncompliance=dict(type="bool", default=False),
        details=dict(type="bool", default=False),
        baseline=dict(type="str", choices=["secure_baseline"]),
        **CHANGE_OPTIONS,
    ),
)

# wsman.winrm.session_configuration: one WinRM plugin's descriptor, Enabled and quotas (None = unmanaged).
SESSION_CONFIGURATION_RIGHTS = ("full", "read", "write", "execute")
SESSION_CONFIGURATION_QUOTAS = ("idle_timeout_ms", "max_idle_timeout_ms", "max_concurrent_users",
                                "max_processes_per_shell", "max_memory_per_shell_mb",
                                "max_concurrent_commands_per_shell", "max_shells", "max_shells_per_user",
                                "max_concurrent_operations", "max_concurrent_operations_per_user")
SESSION_CONFIGURATION = dict(
    argument_spec=dict(
        name=dict(type="str", required=True),
        sddl=dict(type="str"),
        access=dict(type="list", elements="dict", options=dict(
            trustee=dict(type="str", required=True),
            rights=dict(type="list", elements="str", choices=list(SESSION_CONFIGURATION_RIGHTS)),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        )),
        enabled=dict(type="bool"),
        quotas=dict(type="dict", options={name: dict(type="int") for name in SESSION_CONFIGURATION_QUOTAS}),
        **CHANGE_OPTIONS,
    ),
)

# wsman.winrm.limits: the service-wide limits (winrm/config) and the WinRS quotas (winrm/config/winrs).
LIMITS_WINRS = ("idle_timeout", "max_concurrent_users", "max_processes_per_shell", "max_memory_per_shell_mb",
                "max_shells_per_user")
LIMITS = dict(
    argument_spec=dict(
        max_envelope_size_kb=dict(type="int"),
        max_timeout_ms=dict(type="int"),
        max_batch_items=dict(type="int"),
        winrs=dict(type="dict", options={name: dict(type="int") for name in LIMITS_WINRS}),
        **CHANGE_OPTIONS,
    ),
)

# wsman.winrm.compliance_report: the run's report from the per-host reports of wsman.winrm.converge.
COMPLIANCE_REPORT = dict(
    argument_spec=dict(
        dir=dict(type="path", required=True),
        name=dict(type="str", default="compliance"),
        hosts=dict(type="list", elements="str"),
        title=dict(type="str"),
        markdown_template=dict(type="path"),
        html_template=dict(type="path"),
        dashboard=dict(type="bool", default=True),
        dashboard_template=dict(type="path"),
        checklists=dict(type="bool", default=True),
    ),
)
