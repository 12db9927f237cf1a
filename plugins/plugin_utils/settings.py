# Copyright (c) 2026 wsman.winrm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The winrm/config settings as changes: what a task may ask for, and the plan of one partial Put.

The auth, service, client and compat_listener modules and the converge action check their values
here (before anything is sent: errors name the option and say what Windows accepts) and build their
plan with ``plan_settings()``: one partial Put to the deepest section that holds every change, with
its undo (a Put of the values from before) and its read-back (a Get of ``winrm/config``).
"""

from __future__ import annotations

import ipaddress
import re
import typing as t

from ansible.errors import AnsibleActionFail

from ansible_collections.wsman.winrm.plugins.module_utils import config, plan, sddl
from ansible_collections.wsman.winrm.plugins.module_utils.policy import PolicyValues, effective_settings

UINT_MAX = 4294967295

# ---- service and client authentication ----------------------------------------------------------

AUTH_SWITCHES = ("basic", "digest", "kerberos", "negotiate", "certificate", "credssp")
CBT_HARDENING_LEVELS = ("none", "relaxed", "strict")  # any case; Windows spells None/Relaxed/Strict

# Why turning a switch on (or CBT to None) weakens the host (the STIG and CIS benchmark ids).
INSECURE_AUTH = {
    ("service", "basic"): "service Basic authentication sends credentials base64-encoded; STIG WN22-CC-000500 "
                          "(WN19-CC-000500, WN16-CC-000530, WN10-CC-000345) and CIS 18.10.89.2.1 require it off",
    ("client", "basic"): "client Basic authentication sends credentials base64-encoded; STIG WN22-CC-000470 "
                         "(WN16-CC-000500, WN10-CC-000330) and CIS 18.10.89.1.1 require it off",
    ("client", "digest"): "client Digest authentication; STIG WN22-CC-000490 (WN16-CC-000520, WN10-CC-000360) "
                          "and CIS 18.10.89.1.3 require it off",
    ("service", "credssp"): "service CredSSP delegates the user's credentials to this host; the secure baseline "
                            "keeps CredSSP off on both sides",
    ("client", "credssp"): "client CredSSP hands the user's credentials to the remote host; the secure baseline "
                           "keeps CredSSP off on both sides",
}
CBT_NONE_WARNING = ("service CbtHardeningLevel None ignores channel binding tokens and leaves NTLM over HTTPS open "
                    "to relay; the secure baseline is Strict with HTTPS (Relaxed at least)")


def desired_auth(args: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """The dotted-path desired state for the scope; a clear error for what the scope cannot take."""
    scope = args["scope"]
    if scope == "service" and args.get("digest") is not None:
        raise AnsibleActionFail(
            "digest: the WinRM service has no Digest authentication (Windows accepts Digest only on the client "
            "and rejects service/auth/Digest with schema fault 2150858817); remove digest or use scope: client")
    level = args.get("cbt_hardening_level")
    if level is not None:
        if scope == "client":
            raise AnsibleActionFail(
                "cbt_hardening_level: channel binding hardening is a service setting (service/auth/CbtHardeningLevel); "
                "the client has none. Use scope: service")
        if level.strip().lower() not in CBT_HARDENING_LEVELS:
            raise AnsibleActionFail(
                f"cbt_hardening_level must be one of none, relaxed, strict (any case), got {level!r}")
    desired = {f"{scope}.auth.{name}": args.get(name) for name in AUTH_SWITCHES if args.get(name) is not None}
    if level is not None:
        desired[f"{scope}.auth.cbt_hardening_level"] = level.strip()
    return desired


def auth_warnings(scope: str, args: t.Mapping[str, t.Any], after: t.Mapping[str, t.Any]) -> list[str]:
    """Warnings for the insecure values this task asks for and that are in effect afterwards."""
    warnings = []
    for (warn_scope, name), why in INSECURE_AUTH.items():
        if warn_scope == scope and args.get(name) is True and after.get(name) is True:
            warnings.append(f"{name}: true: {why}.")
    level = args.get("cbt_hardening_level")
    if scope == "service" and level and level.strip().lower() == "none" and after.get("cbt_hardening_level") == "None":
        warnings.append(f"cbt_hardening_level: None: {CBT_NONE_WARNING}.")
    return warnings


# ---- service settings ------------------------------------------------------------------------------

# Option -> (minimum, maximum); MS-WSMV 2.2.4.36 (MaxConnections "SHOULD NOT exceed 512" is
# implementation-specific, so only the type's maximum is enforced).
SERVICE_LIMITS = {
    "max_connections": (1, UINT_MAX),
    "max_concurrent_operations_per_user": (1, UINT_MAX),
    "enumeration_timeout_ms": (500, UINT_MAX),
    "max_packet_retrieval_time_seconds": (1, UINT_MAX),
}
SERVICE_OPTIONS = ("allow_unencrypted", "ipv4_filter", "ipv6_filter", "root_sddl", "certificate_thumbprint",
                   "allow_remote_access", *SERVICE_LIMITS)

# Windows' own explanation (0x803380EC ERROR_WSMAN_INVALID_IPFILTER).
IP_FILTER_SYNTAX = ("Ranges are written IP1-IP2 (the smaller address first; a single address is A-A), several "
                    "ranges are separated by commas, * alone means every address of the host, and an empty "
                    "filter means the service listens on no address of that family")
UNENCRYPTED_SERVICE_WARNING = (
    "allow_unencrypted: true lets the service accept unencrypted messages (Basic over HTTP sends the password and "
    "every message in clear); STIG WN22-CC-000510 (WN16-CC-000540, WN10-CC-000350) and CIS 18.10.89.2.3 require "
    "it off. Use HTTPS instead.")


def check_range(name: str, value: int | None, minimum: int, maximum: int) -> None:
    if value is not None and not minimum <= value <= maximum:
        raise AnsibleActionFail(f"{name} must be between {minimum} and {maximum}, got {value}")


def check_ports(option: str, ports: t.Mapping[str, t.Any] | None) -> None:
    for transport, port in (ports or {}).items():
        if port is not None and not 1 <= port <= 65535:
            raise AnsibleActionFail(f"{option}.{transport} must be a port between 1 and 65535, got {port} "
                                    "(Windows refuses it with fault 0x803380DC)")


def validate_ip_filter(option: str, text: str, version: int) -> str:
    """The filter as given (stripped) if Windows would accept it; else an error explaining the syntax."""
    value = text.strip()
    if value in ("", "*"):
        return value
    family = "IPv4" if version == 4 else "IPv6"
    for part in value.split(","):
        part = part.strip()
        low_text, dash, high_text = part.partition("-")
        problem = None
        if part == "*":
            problem = "* must stand alone"
        elif not dash:
            problem = f"{part!r} is not a range"
        else:
            try:
                low, high = ipaddress.ip_address(low_text.strip()), ipaddress.ip_address(high_text.strip())
            except ValueError:
                problem = f"{part!r} does not hold two {family} addresses"
            else:
                if low.version != version or high.version != version:
                    problem = f"{part!r} is not an {family} range"
                elif low > high:
                    problem = f"{part!r} has the larger address first"
        if problem:
            raise AnsibleActionFail(f"{option}: {problem}. {IP_FILTER_SYNTAX} (the check Windows makes with "
                                    f"fault 0x803380EC); e.g. 10.0.0.1-10.0.0.254, 192.168.5.10-192.168.5.10")
    return value


SDDL_EXAMPLE = "O:NSG:BAD:P(A;;GA;;;BA)(A;;GR;;;IU)S:P(AU;FA;GA;;;WD)(AU;SA;GXGW;;;WD)"


def validate_root_sddl(text: str) -> str:
    """A security descriptor string (MS-DTYP 2.5.1.1, parsed by module_utils/sddl.py) with an owner and
    a DACL; Windows refuses anything else with fault 0x8033815C (ERROR_WSMAN_INVALID_SECURITY_DESCRIPTOR)."""
    value = text.strip()
    if not value.startswith("O:"):
        raise AnsibleActionFail("root_sddl must be an SDDL security descriptor starting with the owner (O:), "
                                f"e.g. {SDDL_EXAMPLE}")
    try:
        descriptor = sddl.parse(value)
    except sddl.SddlError as error:
        raise AnsibleActionFail(f"root_sddl: {error}; Windows refuses it with fault 0x8033815C. e.g. {SDDL_EXAMPLE}") \
            from None
    if descriptor.dacl is None or not descriptor.dacl.aces:
        raise AnsibleActionFail("root_sddl has no DACL (D: followed by ACEs such as (A;;GA;;;BA)); without one "
                                "Windows either refuses it or lets no one in")
    return value


def normalise_thumbprint(text: str) -> str:
    """40 hex digits, upper case (spaces and colons as copied from certificate viewers dropped); '' clears."""
    value = re.sub(r"[\s:]", "", text).upper()
    if value and not re.fullmatch(r"[0-9A-F]{40}", value):
        raise AnsibleActionFail("certificate_thumbprint must be the certificate's SHA-1 thumbprint, 40 hexadecimal "
                                f"digits, got {len(value)} characters")
    return value


def desired_service(args: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """The dotted-path desired state; every bad value fails here, before anything is sent."""
    for name, (minimum, maximum) in SERVICE_LIMITS.items():
        check_range(name, args.get(name), minimum, maximum)
    check_ports("default_ports", args.get("default_ports"))
    values = {name: args.get(name) for name in SERVICE_OPTIONS}
    if values["ipv4_filter"] is not None:
        values["ipv4_filter"] = validate_ip_filter("ipv4_filter", values["ipv4_filter"], 4)
    if values["ipv6_filter"] is not None:
        values["ipv6_filter"] = validate_ip_filter("ipv6_filter", values["ipv6_filter"], 6)
    if values["root_sddl"] is not None:
        values["root_sddl"] = validate_root_sddl(values["root_sddl"])
    if values["certificate_thumbprint"] is not None:
        values["certificate_thumbprint"] = normalise_thumbprint(values["certificate_thumbprint"])
    desired = {f"service.{name}": value for name, value in values.items() if value is not None}
    for transport, port in (args.get("default_ports") or {}).items():
        if port is not None:
            desired[f"service.default_ports.{transport}"] = port
    return desired


def service_warnings(args: t.Mapping[str, t.Any], after: t.Mapping[str, t.Any]) -> list[str]:
    return [UNENCRYPTED_SERVICE_WARNING] if args.get("allow_unencrypted") and after.get("allow_unencrypted") else []


# ---- client settings -------------------------------------------------------------------------------

NETWORK_DELAY_MIN = 500  # MS-WSMV 2.2.4.6: NetworkDelayms minimum 500, maximum 4294967295
# MS-WSMV 2.2.4.6: URLPrefix is not blank, only a-zA-Z0-9_/ and neither starts nor ends with "/".
URL_PREFIX = re.compile(r"[A-Za-z0-9_]+(?:/[A-Za-z0-9_]+)*")
# MS-WSMV 2.2.4.6 TrustedHosts: blank, "*", or comma-separated entries, each an Internet host name
# (RFC 1123 2.1: labels of letters, digits and "-", neither first nor last, 1-63 characters, 255 in
# all) or IP address, a pattern with one "*" at its start or end (two characters at least), or
# "<local>"; Windows refuses anything else with fault 0x8033809F (ERROR_WSMAN_INVALID_HOSTNAME_PATTERN).
# Microsoft's about_Remote_Troubleshooting: "a comma-separated list of computer names, IP addresses,
# and fully-qualified domain names", wildcards permitted.
_HOST_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
MAX_HOST_NAME = 255
INVALID_HOSTNAME_PATTERN = "0x8033809F"
TRUSTED_HOSTS_WILDCARD_WARNING = (
    "trusted_hosts contains *: the client will send credentials with NTLM or Basic over HTTP to any host, including "
    "a rogue one; the secure baseline is an empty or explicit list, never * (CIS and Microsoft's PowerShell "
    "remoting security guidance: TrustedHosts names the hosts you trust, the servers are not authenticated). "
    "Prefer HTTPS with validated certificates, or Kerberos.")
UNENCRYPTED_CLIENT_WARNING = ("allow_unencrypted: true lets the client send unencrypted messages; STIG WN22-CC-000480 "
                              "(WN16-CC-000510, WN10-CC-000335) and CIS 18.10.89.1.2 require it off.")


def _ip_address(text: str) -> bool:
    """An IPv4 or IPv6 address (a %zone allowed); brackets only as a pair around an IPv6 address."""
    bracketed = text.startswith("[") and text.endswith("]")
    if not bracketed and ("[" in text or "]" in text):
        return False
    try:
        address = ipaddress.ip_address(text[1:-1] if bracketed else text)
    except ValueError:
        return False
    return address.version == 6 or not bracketed


def _host_name_or_address(text: str) -> bool:
    return len(text) <= MAX_HOST_NAME and (
        _ip_address(text) or all(_HOST_LABEL.fullmatch(label) for label in text.split(".")))


def trusted_host_entry_valid(entry: str) -> bool:
    """One TrustedHosts entry as Windows takes it (see above). A pattern's fixed part is checked as the
    name or address it is, or as the start/end of a host name ("web-*" matches web-01)."""
    if entry in ("*", "<local>"):
        return True
    if "*" not in entry:
        return _host_name_or_address(entry)
    if len(entry) < 2 or entry.count("*") > 1:
        return False
    if entry.startswith("*"):
        fixed = entry[1:].lstrip(".")
    elif entry.endswith("*"):
        fixed = entry[:-1].rstrip(".")
    else:
        return False
    return not fixed or _host_name_or_address(fixed) or _host_name_or_address(entry.replace("*", "x"))


def trusted_host_entries(entries: t.Iterable[t.Any]) -> list[str]:
    """Single TrustedHosts entries, stripped, as MS-WSMV 2.2.4.6 allows them; a clear error otherwise,
    before anything is sent."""
    result = []
    for entry in entries:
        text = str(entry).strip()
        shown = repr(text) if len(text) <= 60 else "%r... (%d characters)" % (text[:60], len(text))
        if not text:
            raise AnsibleActionFail("trusted_hosts: an entry is empty; give host names, IP addresses or patterns")
        if "," in text:
            raise AnsibleActionFail(f"trusted_hosts: {shown} holds a comma; give one entry per list item "
                                    "(Windows separates entries with commas)")
        stars = text.count("*")
        if stars and text != "*" and not (stars == 1 and (text.startswith("*") or text.endswith("*"))):
            raise AnsibleActionFail(f"trusted_hosts: {shown}: a wildcard may only start or end an entry "
                                    "(*.example.com, 192.168.1.*) or stand alone (*)")
        if len(text) > MAX_HOST_NAME:
            raise AnsibleActionFail(f"trusted_hosts: {shown} is longer than a host name can be ({MAX_HOST_NAME} "
                                    "characters)")
        if not trusted_host_entry_valid(text):
            raise AnsibleActionFail(
                f"trusted_hosts: {shown} is not a host name, an IP address or a pattern, and Windows would refuse "
                f"the list with fault {INVALID_HOSTNAME_PATTERN} (invalid hostname or hostname pattern). A host name "
                "is labels of letters, digits and '-' joined by '.', each 1 to 63 characters, starting and ending "
                "with a letter or digit (RFC 1123: no '_', no empty label); an IP address is IPv4 or IPv6 (IPv6 "
                "may be in [] or carry a %zone); a pattern is one of these with one '*' at its start or end "
                "(*.example.com, 192.168.1.*); or '<local>'; spaces and characters such as < > & ' \" are not "
                "allowed (MS-WSMV 2.2.4.6; Microsoft, about_Remote_Troubleshooting)")
        result.append(text)
    return result


def merge_trusted_hosts(current: t.Sequence[str], wanted: t.Sequence[str], mode: str) -> list[str]:
    """The TrustedHosts list after ``mode`` (set/add/remove), entries compared case-insensitively.

    ``set`` keeps the wanted order (duplicates dropped); ``add`` keeps the current entries in their
    order and appends the missing ones; ``remove`` keeps the current order without the given ones.
    """
    def unique(items: t.Iterable[str]) -> list[str]:
        seen: set[str] = set()
        kept = []
        for item in items:
            if item.lower() not in seen:
                seen.add(item.lower())
                kept.append(item)
        return kept

    current = list(current or [])
    # MS-WSMV 2.2.4.6: TrustedHosts is blank, "*" alone, or a list of names and patterns (each at
    # least two characters), so "*" never shares the list with other entries; Windows refuses "a,b,*".
    if mode == "set":
        if "*" in wanted and len(unique(wanted)) > 1:
            raise AnsibleActionFail("trusted_hosts: '*' stands alone (it trusts every host; Windows refuses it in a "
                                    "list, MS-WSMV 2.2.4.6): give ['*'] or the host names")
        return unique(wanted)
    if mode == "add":
        # Adding '*' trusts every host: the list becomes '*' alone; adding names to '*' changes nothing.
        merged = unique([*current, *wanted])
        return ["*"] if "*" in merged else merged
    if mode == "remove":
        unwanted = {item.lower() for item in wanted}
        return [item for item in current if item.lower() not in unwanted]
    raise ValueError(mode)


def validate_client_args(args: t.Mapping[str, t.Any]) -> None:
    check_ports("default_ports", args.get("default_ports"))
    delay = args.get("network_delay_ms")
    if delay is not None and not NETWORK_DELAY_MIN <= delay <= UINT_MAX:
        raise AnsibleActionFail(f"network_delay_ms must be between {NETWORK_DELAY_MIN} and {UINT_MAX}, got {delay}")
    prefix = args.get("url_prefix")
    if prefix is not None and not URL_PREFIX.fullmatch(prefix):
        raise AnsibleActionFail(f"url_prefix {prefix!r} is not valid: it must not be blank, may hold only letters, "
                                "digits, _ and /, and must not start or end with / (e.g. wsman)")
    if args.get("trusted_hosts") is not None:
        trusted_host_entries(args["trusted_hosts"])


def desired_client(args: t.Mapping[str, t.Any], current: config.WinRMConfig) -> dict[str, t.Any]:
    """The dotted-path desired state of the client settings (TrustedHosts merged per its mode)."""
    validate_client_args(args)
    desired: dict[str, t.Any] = {
        f"client.{name}": args.get(name) for name in ("allow_unencrypted", "network_delay_ms", "url_prefix")
    }
    for transport, port in (args.get("default_ports") or {}).items():
        desired[f"client.default_ports.{transport}"] = port
    if args.get("trusted_hosts") is not None:
        desired["client.trusted_hosts"] = merge_trusted_hosts(current.client.get("trusted_hosts") or [],
                                                              trusted_host_entries(args["trusted_hosts"]),
                                                              args.get("trusted_hosts_mode") or "set")
    return desired


def client_warnings(args: t.Mapping[str, t.Any], after: t.Mapping[str, t.Any]) -> list[str]:
    warnings = []
    if args.get("trusted_hosts") is not None and "*" in (after.get("trusted_hosts") or []) \
            and args.get("trusted_hosts_mode") != "remove":
        warnings.append(TRUSTED_HOSTS_WILDCARD_WARNING)
    if args.get("allow_unencrypted") and after.get("allow_unencrypted"):
        warnings.append(UNENCRYPTED_CLIENT_WARNING)
    return warnings


# ---- compatibility listeners ----------------------------------------------------------------------

class Compatibility(t.NamedTuple):
    transport: str
    path: str  # the service setting, as a dotted path of the model
    port: int  # the WinRM 1.1 port


# The compatibility listeners are not addressable listeners: they are on or off through these service
# settings, on the WinRM 1.1 ports (Microsoft, "Details on secure port configuration for WS-Management
# in Windows 7 and Windows Server 2008 R2").
COMPATIBILITY = {
    "http": Compatibility("HTTP", "service.enable_compatibility_http_listener", 80),
    "https": Compatibility("HTTPS", "service.enable_compatibility_https_listener", 443),
}
# The predefined rule for port 80 (WINRM-HTTP-Compat-In-TCP, "Windows Remote Management - Compatibility
# Mode (HTTP-In)"). Windows predefines no rule for port 443.
COMPAT_FIREWALL_RULE = "WINRM-HTTP-Compat-In-TCP"
COMPAT_FIREWALL_QUOTE = "When the compatibility listener is enabled, the firewall rule for port 80 will be enabled"


def desired_compatibility(args: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    return {spec.path: args.get(option) for option, spec in COMPATIBILITY.items()}


def compatibility_view(current: config.WinRMConfig) -> dict[str, bool]:
    return {option: bool(current.get(spec.path)) for option, spec in COMPATIBILITY.items()}


def predicted_compatibility_listeners(listeners: t.Sequence[config.Listener],
                                      config_after: config.WinRMConfig) -> list[config.Listener]:
    """The compatibility listeners Enumerate shows after the change, as Windows makes them:
    Address *, port 80/443, URLPrefix wsman, enabled; the HTTPS one with the service's
    CertificateThumbprint, else the certificate of the HTTPS listener."""
    existing = {(item.get("transport") or "").upper(): item for item in listeners if item.is_compatibility}
    wildcard = next((item for item in listeners if (item.get("address") or "") == "*"), None)
    result = []
    for spec in COMPATIBILITY.values():
        transport = spec.transport
        if not config_after.get(spec.path):
            continue
        if transport in existing:
            result.append(existing[transport])
            continue
        thumbprint: str = ""
        if transport == "HTTPS":
            https = [item for item in listeners
                     if not item.is_compatibility and (item.get("transport") or "").upper() == "HTTPS"
                     and item.get("certificate_thumbprint")]
            # Neither: Enumerate shows an empty CertificateThumbprint, as for the HTTP listeners.
            thumbprint = (config_after.service.get("certificate_thumbprint")
                          or (https[0].get("certificate_thumbprint") if https else ""))
        listener = config.Listener({"address": "*", "transport": transport, "port": spec.port, "hostname": "",
                                    "enabled": True, "url_prefix": "wsman"}, source=config.SOURCE_COMPATIBILITY)
        listener.values["certificate_thumbprint"] = thumbprint
        listener.values["listening_on"] = list(wildcard.get("listening_on") or []) if wildcard is not None else None
        result.append(listener)
    return result


def listeners_after_settings(listeners: t.Sequence[config.Listener],
                             config_after: config.WinRMConfig) -> list[config.Listener]:
    """The listeners Enumerate shows once the settings change: compatibility ones follow their switch."""
    return [item for item in listeners if not item.is_compatibility] + \
        predicted_compatibility_listeners(listeners, config_after)


def compatibility_warnings(before: dict[str, bool], after: dict[str, bool]) -> list[str]:
    """What a change of the compatibility listeners means for the firewall and for the clients.

    Said only when the task turns a listener on or off: a run that changes nothing says nothing."""
    warnings = []
    for option, spec in COMPATIBILITY.items():
        if before[option] == after[option]:
            continue
        if spec.transport == "HTTP":
            rule = f"the Windows firewall rule for port 80 ({COMPAT_FIREWALL_RULE})"
            if after[option]:
                state = (f"The HTTP compatibility listener is turned on, and Windows enables {rule} with it "
                         f"('{COMPAT_FIREWALL_QUOTE}', Microsoft: Details on secure port configuration for "
                         "WS-Management): WinRM now answers on the web port 80.")
            else:
                state = (f"The HTTP compatibility listener is turned off; {rule}, which Windows enabled with it, is "
                         "left as it is (Windows documents only the enabling): disable it with "
                         "wsman.winrm.firewall_rule if nothing else needs port 80.")
        else:
            state = (f"The HTTPS compatibility listener is turned {'on' if after[option] else 'off'}; Windows "
                     "predefines no firewall rule for port 443, so it is reachable only where a rule of yours "
                     "allows port 443.")
        new_port = 5985 if spec.transport == "HTTP" else 5986
        if after[option]:
            state += (f" Clients on port {spec.port} (WinRM 1.1 clients, connection URIs without a port) depend on "
                      f"this listener from now on: move them to port {new_port} before turning it off.")
        else:
            state += (f" Clients still on port {spec.port} (WinRM 1.1 clients, connection URIs without a port) lose "
                      f"this listener: they must use port {new_port}.")
        warnings.append(state)
    return warnings


# ---- the plan of one partial Put -----------------------------------------------------------------

# The config sections a partial Put can address, deepest first: a change is sent to the deepest
# section that holds all of its settings, so a task changing only service auth sends only Auth.
PUT_TARGETS = (
    ("service.auth", config.ServiceAuth),
    ("service.default_ports", config.ServiceDefaultPorts),
    ("client.auth", config.ClientAuth),
    ("client.default_ports", config.ClientDefaultPorts),
    ("service", config.ServiceConfig),
    ("client", config.ClientConfig),
    ("winrs", config.Winrs),
    ("", config.WinRMConfig),
)


def put_target(paths: t.Iterable[str]) -> tuple[str, type[config.Resource]]:
    """The deepest section holding every dotted path, and its resource class."""
    paths = list(paths)
    for prefix, resource_class in PUT_TARGETS:
        if all(not prefix or path.startswith(prefix + ".") for path in paths):
            return prefix, resource_class
    raise AssertionError("unreachable: the root holds every path")


def with_policy(current: config.WinRMConfig, policy_after: t.Mapping[tuple[str, str], t.Any],
                policy_before: t.Mapping[tuple[str, str], t.Any] | None = None) -> config.WinRMConfig:
    """The config as Windows shows it once these policy values are in place: the settings they force
    take the policy's value and ``Source="GPO"``. A setting the policy releases (its value removed,
    ``policy_before`` held it) shows its local value, which Windows does not show while the policy
    holds it: it keeps the value shown now, without ``Source="GPO"``."""
    result = current.copy()
    forced = effective_settings(policy_after)
    released = set(effective_settings(policy_before)) - set(forced) if policy_before is not None else set()
    for path in list(forced) + sorted(released):
        head, _sep, name = path.rpartition(".")
        section = result.get_section(head) if head else result
        if path in released:
            section.sources.pop(name, None)
            continue
        try:
            result.set(path, forced[path])
        except (KeyError, ValueError):
            continue  # a malformed policy string: Windows reads it as unset; nothing to predict
        section.sources[name] = config.SOURCE_GPO
    return result


def _relative(prefix: str, values: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    return {path[len(prefix) + 1:] if prefix else path: value for path, value in values.items()}


def plan_settings(session: t.Any, current: config.WinRMConfig, desired: t.Mapping[str, t.Any], scope: str,
                  policy: PolicyValues | None = None, name: str = "") -> plan.Plan:
    """Bring winrm/config settings (dotted path -> value, None = unmanaged) to ``desired``.

    ``current`` is the config as the Put will find it (after any policy step of the same plan).
    Settings Windows marks ``Source="GPO"`` are held back, named with the policy value behind them
    (``policy``, the values read; the generic name when they were not read). ``scope`` (e.g.
    ``service.auth``) is the part the plan's before/after views show.
    """
    changes = config.diff(current, desired)
    change = plan.Plan(header=scope or "winrm/config", invalid=sorted(changes["read_only"]))
    for path, item in sorted(changes["policy_controlled"].items()):
        policies = policy.controlling(path) if policy is not None else []
        source = ", ".join(setting.describe() for setting in policies) or "a WinRM policy"
        change.held.append(plan.Held(path, item["after"], item["before"], source))
    to_send = {path: item["after"] for path, item in changes["changes"].items()}
    to_restore = {path: item["before"] for path, item in changes["changes"].items()}
    after = current.updated(to_send)

    def view(resource: config.Resource) -> dict[str, t.Any]:
        return resource.get_section(scope).to_dict() if scope else resource.to_dict()

    change.before, change.after, change.predicted = view(current), view(after), after
    if not to_send:
        return change
    prefix, resource_class = put_target(to_send)
    uri = resource_class.RESOURCE_URI
    body = resource_class.render(_relative(prefix, to_send))

    def send() -> config.Resource:
        return resource_class.from_xml(session.put(uri, body))

    def undo() -> None:
        session.put(uri, resource_class.render(_relative(prefix, to_restore)))

    def applied() -> bool:
        now = config.WinRMConfig.from_xml(session.get(config.CONFIG_URI))
        return all(config.WinRMConfig.field(path).same(now.get(path), value) for path, value in to_send.items())

    step_name = name or ("%s settings" % (scope or "winrm/config"))
    change.add(plan.Step(step_name, sorted(to_send), send, undo, applied))

    def finish(answers: dict[str, t.Any]) -> dict[str, t.Any]:
        written = current.copy()
        if prefix:
            parent_path, _sep, section = prefix.rpartition(".")
            parent = written.get_section(parent_path) if parent_path else written
            parent.sections[section] = answers[step_name]
        else:
            written = answers[step_name]
        return view(written)

    change.finish = finish
    return change
