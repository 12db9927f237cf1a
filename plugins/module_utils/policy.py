# -*- coding: utf-8 -*-
# Copyright: contributors to the wsman.winrm collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The WinRM Group Policy values: the one place that knows them.

- the table: each registry value, its Group Policy setting (friendly name and where it sits in the
  Group Policy editor), the ``winrm/config`` settings it controls;
- the options of ``wsman.winrm.policy`` derived from the table (names, kinds, argument spec), and how
  a task value becomes registry data;
- which ``winrm/config`` values a set of policy values forces (Windows' reading of them);
- the registry access through WMI ``StdRegProv`` over the WS-Man session, and the order of writes.

Standard library only at import time, so the control catalog, its docs script and the report
filters share it.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
import typing as t

# The config model (and through it the session module) is imported where it is used: this module
# stays importable with the standard library alone (the control catalog and its docs script need it).

STDREGPROV_URI = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/default/StdRegProv"
HKEY_LOCAL_MACHINE = 2147483650
POLICY_ROOT = r"SOFTWARE\Policies\Microsoft\Windows\WinRM"
SYSTEM_POLICIES = r"SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System"
REG_SZ = 1
REG_DWORD = 4
REG_RETURN_NOT_FOUND = 2
REG_RETURN_ACCESS_DENIED = 5
MAX_DWORD = 0xFFFFFFFF

_CLIENT = POLICY_ROOT + r"\Client"
_SERVICE = POLICY_ROOT + r"\Service"
_WINRS = POLICY_ROOT + r"\Service\WinRS"

# Where each key's settings sit in the Group Policy editor (Computer Configuration > Administrative
# Templates > ...): Microsoft Learn "Policy CSP - RemoteManagement" / "Policy CSP - RemoteShell"
# (ADMX mapping, "Path"); LocalAccountTokenFilterPolicy is the MS Security Guide template of the
# Security Compliance Toolkit ("Policy CSP - MSSecurityGuide", SecGuide.admx).
GPO_LOCATIONS = {
    _CLIENT: r"Windows Components > Windows Remote Management (WinRM) > WinRM Client",
    _SERVICE: r"Windows Components > Windows Remote Management (WinRM) > WinRM Service",
    _WINRS: r"Windows Components > Windows Remote Shell",
    SYSTEM_POLICIES: r"MS Security Guide",
}


@dataclasses.dataclass(frozen=True)
class PolicySetting:
    """One policy registry value, its Group Policy setting and the config settings it controls."""

    key: str
    name: str
    type: str  # "DWORD" | "string"
    controls: tuple[str, ...]  # dotted winrm/config paths ("listeners" for the GPO listener)
    title: str  # the setting's friendly name in the Group Policy editor
    note: str = ""

    @property
    def path(self) -> str:
        return "HKLM\\" + self.key

    @property
    def full_name(self) -> str:
        return "%s\\%s" % (self.path, self.name)

    @property
    def location(self) -> str:
        return "Computer Configuration > Administrative Templates > " + GPO_LOCATIONS[self.key]

    def describe(self) -> str:
        """The value and the Group Policy setting behind it, as an admin looks it up."""
        return "%s (Group Policy '%s', %s)" % (self.full_name, self.title, self.location)


# Value names and friendly names from WindowsRemoteManagement.admx as Microsoft Learn publishes them
# ("Policy CSP - RemoteManagement", "Policy CSP - RemoteShell": ADMX mapping tables). The "Disallow X"
# policies write AllowX (1 = allowed). TrustedHostsList, CbtHardeningLevel, IPv4Filter/IPv6Filter and
# the WinRS values are the policies' element values (same ADMX).
_ALLOW_REMOTE = "Allow remote server management through WinRM"
_CBT = "Specify channel binding token hardening level"
POLICY_SETTINGS: tuple[PolicySetting, ...] = (
    PolicySetting(_CLIENT, "AllowBasic", "DWORD", ("client.auth.basic",), "Allow Basic authentication"),
    PolicySetting(_CLIENT, "AllowDigest", "DWORD", ("client.auth.digest",), "Disallow Digest authentication",
                  "policy 'Disallow Digest authentication'"),
    PolicySetting(_CLIENT, "AllowKerberos", "DWORD", ("client.auth.kerberos",), "Disallow Kerberos authentication",
                  "policy 'Disallow Kerberos authentication'"),
    PolicySetting(_CLIENT, "AllowNegotiate", "DWORD", ("client.auth.negotiate",), "Disallow Negotiate authentication",
                  "policy 'Disallow Negotiate authentication'"),
    PolicySetting(_CLIENT, "AllowCredSSP", "DWORD", ("client.auth.credssp",), "Allow CredSSP authentication"),
    PolicySetting(_CLIENT, "AllowUnencryptedTraffic", "DWORD", ("client.allow_unencrypted",),
                  "Allow unencrypted traffic"),
    PolicySetting(_CLIENT, "TrustedHosts", "DWORD", ("client.trusted_hosts",), "Trusted Hosts",
                  "1 = the policy sets the list"),
    PolicySetting(_CLIENT, "TrustedHostsList", "string", ("client.trusted_hosts",), "Trusted Hosts"),
    PolicySetting(_SERVICE, "AllowAutoConfig", "DWORD", ("listeners", "service.ipv4_filter", "service.ipv6_filter"),
                  _ALLOW_REMOTE, "policy '%s': a GPO listener on the default HTTP port" % _ALLOW_REMOTE),
    PolicySetting(_SERVICE, "IPv4Filter", "string", ("service.ipv4_filter",), _ALLOW_REMOTE),
    PolicySetting(_SERVICE, "IPv6Filter", "string", ("service.ipv6_filter",), _ALLOW_REMOTE),
    PolicySetting(_SERVICE, "AllowBasic", "DWORD", ("service.auth.basic",), "Allow Basic authentication"),
    PolicySetting(_SERVICE, "AllowKerberos", "DWORD", ("service.auth.kerberos",), "Disallow Kerberos authentication",
                  "policy 'Disallow Kerberos authentication'"),
    PolicySetting(_SERVICE, "AllowNegotiate", "DWORD", ("service.auth.negotiate",),
                  "Disallow Negotiate authentication", "policy 'Disallow Negotiate authentication'"),
    PolicySetting(_SERVICE, "AllowCredSSP", "DWORD", ("service.auth.credssp",), "Allow CredSSP authentication"),
    PolicySetting(_SERVICE, "AllowUnencryptedTraffic", "DWORD", ("service.allow_unencrypted",),
                  "Allow unencrypted traffic"),
    PolicySetting(_SERVICE, "CBTHardeningLevelStatus", "DWORD", ("service.auth.cbt_hardening_level",), _CBT,
                  "1 = the policy sets the level"),
    PolicySetting(_SERVICE, "CbtHardeningLevel", "string", ("service.auth.cbt_hardening_level",), _CBT),
    PolicySetting(_SERVICE, "HttpCompatibilityListener", "DWORD", ("service.enable_compatibility_http_listener",),
                  "Turn On Compatibility HTTP Listener"),
    PolicySetting(_SERVICE, "HttpsCompatibilityListener", "DWORD", ("service.enable_compatibility_https_listener",),
                  "Turn On Compatibility HTTPS Listener"),
    PolicySetting(_SERVICE, "DisableRunAs", "DWORD", (), "Disallow WinRM from storing RunAs credentials",
                  "plugins may not store RunAs credentials"),
    PolicySetting(_WINRS, "AllowRemoteShellAccess", "DWORD", ("winrs.allow_remote_shell_access",),
                  "Allow Remote Shell Access"),
    PolicySetting(_WINRS, "IdleTimeout", "DWORD", ("winrs.idle_timeout",), "Specify idle Timeout"),
    PolicySetting(_WINRS, "MaxConcurrentUsers", "DWORD", ("winrs.max_concurrent_users",), "MaxConcurrentUsers"),
    PolicySetting(_WINRS, "MaxProcessesPerShell", "DWORD", ("winrs.max_processes_per_shell",),
                  "Specify maximum number of processes per Shell"),
    PolicySetting(_WINRS, "MaxMemoryPerShellMB", "DWORD", ("winrs.max_memory_per_shell_mb",),
                  "Specify maximum amount of memory in MB per Shell"),
    PolicySetting(_WINRS, "MaxShellsPerUser", "DWORD", ("winrs.max_shells_per_user",),
                  "Specify maximum number of remote shells per user"),
    PolicySetting(SYSTEM_POLICIES, "LocalAccountTokenFilterPolicy", "DWORD", (),
                  "Apply UAC restrictions to local accounts on network logons",
                  "1 = local administrators other than the built-in one get a full token over the network"),
)
POLICY_KEYS: tuple[str, ...] = tuple(dict.fromkeys(s.key for s in POLICY_SETTINGS))


def group_policy_state(setting: PolicySetting, data: t.Any) -> str:
    """How the Group Policy editor shows the policy that writes ``data`` into this value.

    The "Disallow X" policies write AllowX = 0 when Enabled, and "Apply UAC restrictions to local
    accounts on network logons" writes LocalAccountTokenFilterPolicy = 0 when Enabled (the ADMX
    files' enabledValue/disabledValue: WindowsRemoteManagement.admx, SecGuide.admx); a string value
    is an option of the Enabled policy.
    """
    if setting.type != "DWORD":
        return "Enabled, with %s" % data
    inverted = (setting.title.startswith("Disallow") and setting.name.startswith("Allow")) or \
        setting.name == "LocalAccountTokenFilterPolicy"
    try:
        enabled = int(data) != 0
    except (TypeError, ValueError):
        return "Enabled, with %s" % data
    return "Disabled" if enabled == inverted else "Enabled"


def policy_setting(key: str, name: str) -> PolicySetting:
    """The table entry for a value; ``key`` may be short ("Client", "Service\\WinRS", "System")."""
    wanted = _policy_key(key).lower()
    for setting in POLICY_SETTINGS:
        if setting.key.lower() == wanted and setting.name.lower() == name.lower():
            return setting
    raise KeyError("%s\\%s is not a WinRM policy value this collection knows" % (key, name))


def _policy_key(key: str) -> str:
    short = {"client": _CLIENT, "service": _SERVICE, "service\\winrs": _WINRS, "winrs": _WINRS,
             "system": SYSTEM_POLICIES}
    key = key.strip().strip("\\")
    if key.upper().startswith("HKLM\\"):
        key = key[5:]
    return short.get(key.lower(), key)


def short_key(setting: PolicySetting) -> str:
    """``Client``, ``Service``, ``Service\\WinRS`` or ``System``: how the control catalog names a key."""
    if setting.key == SYSTEM_POLICIES:
        return "System"
    return setting.key[len(POLICY_ROOT) + 1:]


# ---- the configured values ----------------------------------------------------------------------

class PolicyValues:
    """The configured WinRM policy values (absent = "Not Configured")."""

    def __init__(self, values: t.Mapping[tuple[str, str], t.Any] | None = None):
        # (key, value name) -> int | str, for configured values only; names as in the table
        self.values: dict[tuple[str, str], t.Any] = {}
        for (key, name), value in (values or {}).items():
            setting = policy_setting(key, name)
            self.values[(setting.key, setting.name)] = value

    def get(self, key: str, name: str, default: t.Any = None) -> t.Any:
        setting = policy_setting(key, name)
        return self.values.get((setting.key, setting.name), default)

    def controlling(self, path: str) -> list[PolicySetting]:
        """The configured policy values that control a setting (dotted path, e.g. ``client.auth.basic``)."""
        return [s for s in POLICY_SETTINGS if path in s.controls and (s.key, s.name) in self.values]

    def to_list(self) -> list[dict[str, t.Any]]:
        return [
            {"path": s.path, "name": s.name, "type": s.type, "value": self.values[(s.key, s.name)],
             "controls": list(s.controls), "note": s.note}
            for s in POLICY_SETTINGS if (s.key, s.name) in self.values
        ]

    def __repr__(self) -> str:
        return "PolicyValues(%r)" % self.values

    @classmethod
    def read(cls, session: t.Any) -> "PolicyValues":
        """EnumValues per policy key, then one Get<Type>Value per value the table knows.

        The floor Windows allows: StdRegProv has no method returning a key's values with their data,
        and WS-Management sends one method call per request."""
        values: dict[tuple[str, str], t.Any] = {}
        for key in POLICY_KEYS:
            present = registry_enum_values(session, key)
            known = {s.name.lower(): s for s in POLICY_SETTINGS if s.key == key}
            for name in present:
                setting = known.get(name.lower())
                if setting is None:
                    continue
                value = registry_get_value(session, key, setting.name, setting.type)
                if value is not None:
                    values[(setting.key, setting.name)] = value
        return cls(values)


def effective_settings(values: t.Mapping[tuple[str, str], t.Any]) -> dict[str, t.Any]:
    """winrm/config paths -> the value the configured policy values give them (Windows' reading)."""
    def configured(key: str, name: str) -> t.Any:
        setting = policy_setting(key, name)
        return values.get((setting.key, setting.name))

    from ansible_collections.wsman.winrm.plugins.module_utils.config import WinRMConfig

    effective: dict[str, t.Any] = {}
    for options in policy_options().values():
        for option in options.values():
            if option.switch is not None:
                if configured(option.switch.key, option.switch.name) == 1:
                    text = configured(option.value.key, option.value.name) or ""
                    for path in option.value.controls:
                        effective[path] = text
            elif option.value.type == "DWORD" and option.kind in ("bool", "int"):
                data = configured(option.value.key, option.value.name)
                if data is None:
                    continue
                for path in option.value.controls:
                    try:
                        kind = WinRMConfig.field(path).kind
                    except KeyError:
                        continue
                    if kind is bool:
                        effective[path] = bool(data)
                    elif kind is int:
                        effective[path] = int(data)
    # "Allow remote server management through WinRM" Enabled: its filters replace the local ones
    # (an absent filter is empty: the service listens nowhere).
    if configured("Service", "AllowAutoConfig") == 1:
        effective["service.ipv4_filter"] = configured("Service", "IPv4Filter") or ""
        effective["service.ipv6_filter"] = configured("Service", "IPv6Filter") or ""
    return effective


# ---- the options of wsman.winrm.policy, derived from the table ---------------------------------------

NOT_CONFIGURED = "absent"
TOP_LEVEL = "top"  # the scope of values outside the WinRM policy key (UAC System policies)

# Compound words kept whole, then acronyms, then ordinary words: AllowCredSSP -> allow_credssp,
# CBTHardeningLevelStatus -> cbt_hardening_level_status, MaxMemoryPerShellMB -> max_memory_per_shell_mb.
_POLICY_WORDS = r"CredSSP|IPv[46]|[A-Z]{2,}(?=[A-Z][a-z]|\d|$)|[A-Z]?[a-z]+|[A-Z]+|\d+"
# A switch (DWORD 1 = "the policy sets the value") and its value share one option: the suffixes go.
_POLICY_PAIR_SUFFIXES = ("_status", "_list")


def option_name(value_name: str) -> str:
    """snake_case of a registry value name, with a pair's _status/_list suffix removed."""
    name = "_".join(word.lower() for word in re.findall(_POLICY_WORDS, value_name))
    for suffix in _POLICY_PAIR_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def option_scope(key: str) -> str:
    """``client``, ``service`` or ``winrs`` for the WinRM policy keys; ``top`` for the others."""
    if not key.lower().startswith(POLICY_ROOT.lower() + "\\"):
        return TOP_LEVEL
    return key.rsplit("\\", 1)[-1].lower()


class PolicyOption:
    """One option of the policy module: the registry value(s) it writes and the type it takes.

    ``switch`` is the DWORD the policy sets to 1 when it sets ``value`` (TrustedHosts ->
    TrustedHostsList); a single value has no switch. ``kind`` is bool, int, str or list, taken
    from the winrm/config setting the value controls (a DWORD with no such setting is a bool).
    """

    def __init__(self, scope: str, name: str, settings: list[PolicySetting]):
        self.scope, self.name = scope, name
        strings = [s for s in settings if s.type != "DWORD"]
        dwords = [s for s in settings if s.type == "DWORD"]
        self.switch: PolicySetting | None
        if len(settings) == 2 and len(strings) == 1 and len(dwords) == 1:
            self.switch, self.value = dwords[0], strings[0]
        elif len(settings) == 1:
            self.switch, self.value = None, settings[0]
        else:
            raise ValueError("policy option %s.%s groups %d values; the table needs a rule" % (scope, name, len(settings)))
        self.kind, self.choices = self._kind()

    @property
    def settings(self) -> tuple[PolicySetting, ...]:
        """Every value this option writes, switch first."""
        return tuple(s for s in (self.switch, self.value) if s is not None)

    @property
    def path(self) -> str:
        return self.name if self.scope == TOP_LEVEL else "%s.%s" % (self.scope, self.name)

    def _kind(self) -> tuple[str, tuple[str, ...]]:
        from ansible_collections.wsman.winrm.plugins.module_utils.config import WinRMConfig

        fields = []
        for path in self.value.controls:
            try:
                fields.append(WinRMConfig.field(path))
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


_OPTIONS: dict[str, dict[str, PolicyOption]] = {}


def policy_options() -> dict[str, dict[str, PolicyOption]]:
    """scope -> option name -> PolicyOption, in the table's order."""
    if not _OPTIONS:
        grouped: dict[str, dict[str, list[PolicySetting]]] = {}
        for setting in POLICY_SETTINGS:
            grouped.setdefault(option_scope(setting.key), {}).setdefault(option_name(setting.name), []).append(setting)
        _OPTIONS.update({scope: {name: PolicyOption(scope, name, settings) for name, settings in options.items()}
                         for scope, options in grouped.items()})
    return _OPTIONS


def option_for(setting: PolicySetting) -> PolicyOption:
    return policy_options()[option_scope(setting.key)][option_name(setting.name)]


def argument_spec(change_options: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """The argument spec of wsman.winrm.policy (and of the converge action's ``policy`` option).

    type raw: each value is the policy's own (true/false, a number, a string or a list) or "absent"
    (Not Configured); ``parse_value`` checks each against the option's kind."""
    spec: dict[str, t.Any] = {}
    for scope, options in policy_options().items():
        if scope == TOP_LEVEL:
            spec.update({name: dict(type="raw") for name in options})
        else:
            spec[scope] = dict(type="dict", options={name: dict(type="raw") for name in options})
    spec["state"] = dict(type="str", choices=["present", "absent"], default="present")
    spec.update(change_options)
    return spec


# ---- task values -> registry writes -------------------------------------------------------------

_TRUE = {"true", "yes", "on", "1", "enabled"}
_FALSE = {"false", "no", "off", "0", "disabled"}

# A written value (an int for a DWORD, a str for a string) or None: delete it ("Not Configured").
Write = t.Tuple[PolicySetting, t.Optional[t.Union[int, str]]]

# CIS level 2 values a host managed over WinRM cannot follow: written only with force.
# AllowAutoConfig=0 ("Allow remote server management through WinRM" Disabled) stops the service
# answering remote requests, this module's included; AllowRemoteShellAccess=0 leaves WS-Man config
# requests working but refuses every remote shell, which is how ansible.builtin.winrm and psrp run
# every task.
CUTS_REMOTE_MANAGEMENT = {
    ("service", "allow_auto_config"): "CIS 18.10.89.2.2 (level 2): 'Allow remote server management through WinRM' "
                                      "Disabled stops the WinRM service answering remote requests, this controller's "
                                      "included",
    ("winrs", "allow_remote_shell_access"): "CIS 18.10.90.1 (level 2): 'Allow Remote Shell Access' Disabled refuses "
                                            "every remote shell, and ansible.builtin.winrm / psrp run every task in one",
}


class InvalidValue(ValueError):
    pass


def parse_value(option: PolicyOption, raw: t.Any) -> t.Any:
    """A task value in the option's kind; NOT_CONFIGURED for "absent"; InvalidValue names the option."""
    if isinstance(raw, str) and raw.strip().lower() == NOT_CONFIGURED:
        return NOT_CONFIGURED
    if option.kind == "bool":
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, int) and raw in (0, 1):
            return bool(raw)
        if isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
            return raw.strip().lower() in _TRUE
        raise InvalidValue("%s must be true, false (1/0) or absent, got %r" % (option.path, raw))
    if option.kind == "int":
        if not isinstance(raw, bool):
            text = str(raw).strip()
            number = int(text) if re.fullmatch(r"[0-9]{1,10}", text) else -1
            if 0 <= number <= MAX_DWORD:
                return number
        raise InvalidValue("%s must be a whole number from 0 to %d, or absent, got %r" % (option.path, MAX_DWORD, raw))
    if option.kind == "list":
        if isinstance(raw, str):
            items = raw.split(",")
        elif isinstance(raw, (list, tuple)):
            items = list(raw)
        else:
            raise InvalidValue("%s must be a list of host names/addresses (or a comma string), or absent, got %r"
                               % (option.path, raw))
        items = [str(item).strip() for item in items if str(item).strip()]
        if any(item.lower() == NOT_CONFIGURED for item in items):
            raise InvalidValue("%s: give absent alone (not in a list) to remove the policy value" % option.path)
        return items
    if not isinstance(raw, (str, int)) or isinstance(raw, bool):
        raise InvalidValue("%s must be a string or absent, got %r" % (option.path, raw))
    text = str(raw).strip()
    if option.choices:
        for choice in option.choices:
            if choice.lower() == text.lower():
                return choice
        raise InvalidValue("%s must be one of %s, or absent, got %r" % (option.path, ", ".join(option.choices), raw))
    if option.name in ("ipv4_filter", "ipv6_filter"):
        check_ip_filter(option, text)
    return text


def check_ip_filter(option: PolicyOption, text: str) -> None:
    """'*', empty (listen nowhere) or ranges 'first-last' / addresses of the right family, comma separated.

    Windows reads a malformed filter as empty, i.e. the service listens on no address."""
    version = 6 if option.name == "ipv6_filter" else 4
    if not text or "*" in [part.strip() for part in text.split(",")]:
        return  # empty: nowhere; '*' anywhere: every address, the ranges are ignored
    for part in text.split(","):
        bounds = [bound.strip() for bound in part.split("-")]
        try:
            addresses = [ipaddress.ip_address(bound) for bound in bounds]
        except ValueError:
            addresses = []
        if not 1 <= len(addresses) <= 2 or any(a.version != version for a in addresses) \
                or (len(addresses) == 2 and addresses[0] > addresses[1]):
            raise InvalidValue("%s must be '*', empty, or IPv%d addresses and ranges 'first-last' separated by commas "
                               "(Windows reads anything else as empty and listens nowhere), got %r"
                               % (option.path, version, text))


def desired_options(args: t.Mapping[str, t.Any]) -> list[tuple[PolicyOption, t.Any]]:
    """(option, value) for every option the task names, in the table's order; errors name the option."""
    named, errors = [], []
    state = args.get("state") or "present"
    for scope, options in policy_options().items():
        values = args if scope == TOP_LEVEL else (args.get(scope) or {})
        for name, option in options.items():
            raw = values.get(name)
            if raw is None:
                continue
            if state == "absent":
                named.append((option, NOT_CONFIGURED))
                continue
            try:
                named.append((option, parse_value(option, raw)))
            except InvalidValue as error:
                errors.append(str(error))
    if state == "present":
        by_path = {option.path: value for option, value in named}
        for name in ("ipv4_filter", "ipv6_filter"):
            if by_path.get("service." + name) not in (None, NOT_CONFIGURED) and by_path.get("service.allow_auto_config") \
                    is not True:
                errors.append("service.%s belongs to the policy 'Allow remote server management through WinRM': "
                              "set service.allow_auto_config: true in the same task" % name)
    if errors:
        raise InvalidValue("; ".join(errors))
    return named


def writes_for(option: PolicyOption, value: t.Any) -> list[Write]:
    """The registry writes for one option (write_order() puts them in a safe order)."""
    if value == NOT_CONFIGURED:
        return [(setting, None) for setting in option.settings]
    if option.kind == "list":
        data: t.Any = ",".join(value)
    elif option.kind == "bool":
        data = 1 if value else 0
    else:
        data = value
    writes: list[Write] = [(option.value, data)]
    if option.switch is not None:
        writes.append((option.switch, 1))
    return writes


def is_gate(setting: PolicySetting) -> bool:
    """A DWORD that switches other table values on: every setting those values control, it controls
    too (TrustedHosts -> TrustedHostsList, CBTHardeningLevelStatus -> CbtHardeningLevel,
    AllowAutoConfig -> IPv4Filter and IPv6Filter)."""
    return setting.type == "DWORD" and any(
        other is not setting and other.controls and set(other.controls) <= set(setting.controls)
        for other in POLICY_SETTINGS)


def write_order(writes: t.Sequence[Write]) -> list[Write]:
    """The order that never passes through a state worse than before or after: switches off
    first, then the values they switch, then switches on. Writing AllowAutoConfig=1 before its
    filters would leave the service listening on no address for a moment, and cut this session."""
    def rank(write: Write) -> int:
        setting, data = write
        if is_gate(setting):
            return 0 if data is None else 3
        return 1 if data is not None else 2
    return sorted(writes, key=rank)


def same_value(option: PolicyOption, setting: PolicySetting, current: t.Any, wanted: t.Any) -> bool:
    if current is None or wanted is None:
        return current is None and wanted is None
    if setting.type == "DWORD":
        return int(current) == int(wanted)
    if option.kind == "list" and setting is option.value:  # Windows reads the list, not its spelling
        def items(text: str) -> list[str]:
            return sorted(item.strip().lower() for item in str(text).split(",") if item.strip())
        return items(current) == items(wanted)
    if option.choices:
        return str(current).lower() == str(wanted).lower()
    return str(current) == str(wanted)


def pending_writes(named: t.Sequence[tuple[PolicyOption, t.Any]],
                   current: t.Mapping[tuple[str, str], t.Any]) -> tuple[list[Write], list[Write]]:
    """(every write the task names, the ones that change something, in write order)."""
    writes = [write for option, value in named for write in writes_for(option, value)]
    to_send = write_order([(setting, data) for setting, data in writes
                           if not same_value(option_for(setting), setting, current.get((setting.key, setting.name)),
                                             data)])
    return writes, to_send


def values_after(current: t.Mapping[tuple[str, str], t.Any], to_send: t.Sequence[Write]) -> dict[tuple[str, str], t.Any]:
    after = dict(current)
    for setting, data in to_send:
        if data is None:
            after.pop((setting.key, setting.name), None)
        else:
            after[(setting.key, setting.name)] = data
    return after


def diff_view(writes: t.Sequence[Write], values: t.Mapping[tuple[str, str], t.Any]) -> dict[str, t.Any]:
    """Full registry path -> value (None = Not Configured) of every value the task touches."""
    return {setting.full_name: values.get((setting.key, setting.name)) for setting, _value in writes}


# ---- registry access (WMI StdRegProv over the session) ----------------------------------------------

def _registry_call(session: t.Any, method: str, params: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    from ansible_collections.wsman.winrm.plugins.module_utils.wsman import method_input, output_values

    output = session.invoke(STDREGPROV_URI, method, method_input(STDREGPROV_URI, method, params))
    return output_values(output)


def _reply_int(value: t.Any, element: str) -> int:
    from ansible_collections.wsman.winrm.plugins.module_utils.config import reply_int

    return reply_int(value, element)


def _return_value(out: t.Mapping[str, t.Any], method: str) -> int:
    return _reply_int(out.get("ReturnValue") or 0, "StdRegProv %s ReturnValue" % method)


def _as_list(value: t.Any) -> list[t.Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def registry_enum_values(session: t.Any, key: str) -> list[str]:
    """Value names under HKLM\\key; [] when the key does not exist (ReturnValue 2)."""
    out = _registry_call(session, "EnumValues", {"hDefKey": HKEY_LOCAL_MACHINE, "sSubKeyName": key})
    if _return_value(out, "EnumValues") != 0:
        return []
    return [name for name in _as_list(out.get("sNames")) if name]


def registry_enum_keys(session: t.Any, key: str) -> list[str] | None:
    """Subkey names under HKLM\\key; None when the key does not exist or cannot be read."""
    out = _registry_call(session, "EnumKey", {"hDefKey": HKEY_LOCAL_MACHINE, "sSubKeyName": key})
    if _return_value(out, "EnumKey") != 0:
        return None
    return [name for name in _as_list(out.get("sNames")) if name]


def registry_value_names(session: t.Any, key: str) -> list[str] | None:
    """Value names under HKLM\\key; None (unlike ``registry_enum_values``) when the key is missing or unreadable."""
    out = _registry_call(session, "EnumValues", {"hDefKey": HKEY_LOCAL_MACHINE, "sSubKeyName": key})
    if _return_value(out, "EnumValues") != 0:
        return None
    return [name for name in _as_list(out.get("sNames")) if name]


def registry_get_binary(session: t.Any, key: str, name: str) -> bytes | None:
    """A REG_BINARY value; None when absent or unreadable."""
    out = _registry_call(session, "GetBinaryValue", {"hDefKey": HKEY_LOCAL_MACHINE, "sSubKeyName": key,
                                                     "sValueName": name})
    if _return_value(out, "GetBinaryValue") != 0:
        return None
    return bytes(_reply_int(item, "%s\\%s (uValue)" % (key, name)) for item in _as_list(out.get("uValue")))


def registry_get_value(session: t.Any, key: str, name: str, value_type: str) -> int | str | None:
    """A DWORD or string value; None when not configured (ReturnValue 2) or unreadable."""
    method, field = ("GetDWORDValue", "uValue") if value_type == "DWORD" else ("GetStringValue", "sValue")
    out = _registry_call(session, method, {"hDefKey": HKEY_LOCAL_MACHINE, "sSubKeyName": key, "sValueName": name})
    if _return_value(out, method) != 0:
        return None
    value = out.get(field)
    if value is None:
        return None
    return _reply_int(value, "%s\\%s (uValue)" % (key, name)) if value_type == "DWORD" else value


def registry_set_value(session: t.Any, key: str, name: str, value_type: str, value: int | str,
                       create_key: bool = True) -> int:
    """Create the key if needed (``create_key``) and write the value; returns StdRegProv's
    ReturnValue (0 = done)."""
    if create_key:
        _registry_call(session, "CreateKey", {"hDefKey": HKEY_LOCAL_MACHINE, "sSubKeyName": key})
    if value_type == "DWORD":
        method = "SetDWORDValue"
        params: dict[str, t.Any] = {"hDefKey": HKEY_LOCAL_MACHINE, "sSubKeyName": key, "sValueName": name,
                                    "uValue": int(value)}
    else:
        method = "SetStringValue"
        params = {"hDefKey": HKEY_LOCAL_MACHINE, "sSubKeyName": key, "sValueName": name, "sValue": str(value)}
    return _return_value(_registry_call(session, method, params), method)


def registry_delete_value(session: t.Any, key: str, name: str) -> int:
    """Delete a value ("Not Configured"); ReturnValue 2 (already absent) counts as done."""
    out = _registry_call(session, "DeleteValue", {"hDefKey": HKEY_LOCAL_MACHINE, "sSubKeyName": key,
                                                  "sValueName": name})
    code = _return_value(out, "DeleteValue")
    return 0 if code == REG_RETURN_NOT_FOUND else code


def registry_write(session: t.Any, setting: PolicySetting, data: int | str | None, create_key: bool = True) -> int:
    """One write of the plan: set the value, or delete it when ``data`` is None."""
    if data is None:
        return registry_delete_value(session, setting.key, setting.name)
    return registry_set_value(session, setting.key, setting.name, setting.type, data, create_key)


# ---- the plan of the writes -----------------------------------------------------------------------

def _write_step(session: t.Any, setting: PolicySetting, data: int | str | None, old: int | str | None,
                keys: set[str]) -> t.Any:
    """One value's write; ``keys`` are the policy keys known to exist (CreateKey once per key)."""
    from ansible_collections.wsman.winrm.plugins.module_utils import plan

    def write(value: int | str | None) -> None:
        code = registry_write(session, setting, value, create_key=setting.key not in keys)
        if code == 0 and value is not None:
            keys.add(setting.key)
        if code != 0:
            raise plan.StepFailed(
                "StdRegProv could not write %s (ReturnValue %d%s). The account needs write access to "
                "HKLM\\SOFTWARE\\Policies (a local administrator)"
                % (setting.full_name, code, ", access denied" if code == REG_RETURN_ACCESS_DENIED else ""))

    def holds_new() -> bool:
        return registry_get_value(session, setting.key, setting.name, setting.type) == data

    return plan.Step("policy value " + setting.full_name, [setting.full_name], lambda: write(data),
                     undo=lambda: write(old), applied=holds_new)


def plan_policy(session: t.Any, current: PolicyValues, named: t.Sequence[tuple[PolicyOption, t.Any]]) -> t.Any:
    """The writes that bring the named options to their values, in the safe order, each with its undo
    (the value from before, or its deletion); before/after are the configured values as lists.

    ``plan.predicted`` holds the policy values afterwards ((key, name) -> data)."""
    from ansible_collections.wsman.winrm.plugins.module_utils import plan

    writes, to_send = pending_writes(named, current.values)
    after = values_after(current.values, to_send)
    change = plan.Plan(before=current.to_list(), after=PolicyValues(after).to_list(), predicted=after,
                       header="WinRM policy values", diff=(diff_view(writes, current.values), diff_view(writes, after)))
    cuts = ["%s: false (%s)" % (option.path, CUTS_REMOTE_MANAGEMENT[(option.scope, option.name)])
            for option, _value in named
            if (option.scope, option.name) in CUTS_REMOTE_MANAGEMENT
            and any(setting is option.value and data == 0 for setting, data in to_send)]
    change.refusals.append(plan.Refusal(
        cuts, "Refusing policy values that cut remote management of this host",
        "A host managed over WinRM cannot follow these controls; record them as deliberate deviations, or set "
        "force: true if the host will be managed another way. Nothing was sent.",
        "these policy values cut remote management of this host"))
    keys = {key for key, _name in current.values}  # a key with a value exists: no CreateKey needed
    for setting, data in to_send:
        change.add(_write_step(session, setting, data, current.values.get((setting.key, setting.name)), keys))
    return change
