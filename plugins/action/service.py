# Copyright (c) 2026 wsman.winrm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""wsman.winrm.service: the WinRM service settings (winrm/config/service, without its auth section)."""

from __future__ import annotations

import ipaddress
import re
import typing as t

from ansible.errors import AnsibleActionFail

from ansible_collections.wsman.winrm.plugins.module_utils import argspecs, resources
from ansible_collections.wsman.winrm.plugins.plugin_utils.wsman_action import WSManAction

UINT_MAX = 4294967295

# Option -> (minimum, maximum); MS-WSMV 2.2.4.36 (MaxConnections "SHOULD NOT exceed 512" is
# implementation-specific, so only the type's maximum is enforced).
LIMITS = {
    "max_connections": (1, UINT_MAX),
    "max_concurrent_operations_per_user": (1, UINT_MAX),
    "enumeration_timeout_ms": (500, UINT_MAX),
    "max_packet_retrieval_time_seconds": (1, UINT_MAX),
}

SIMPLE_OPTIONS = ("allow_unencrypted", "ipv4_filter", "ipv6_filter", "root_sddl", "certificate_thumbprint",
                  "allow_remote_access", *LIMITS)

# Windows' own explanation (0x803380EC ERROR_WSMAN_INVALID_IPFILTER, wsman_error_codes.md).
IP_FILTER_SYNTAX = ("Ranges are written IP1-IP2 (the smaller address first; a single address is A-A), several "
                    "ranges are separated by commas, * alone means every address of the host, and an empty "
                    "filter means the service listens on no address of that family")


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


def validate_root_sddl(text: str) -> str:
    """A security descriptor string with an owner and a DACL (Windows: fault 0x8033815C otherwise)."""
    value = text.strip()
    if not value.startswith("O:"):
        raise AnsibleActionFail("root_sddl must be an SDDL security descriptor starting with the owner (O:), "
                                "e.g. O:NSG:BAD:P(A;;GA;;;BA)(A;;GR;;;IU)S:P(AU;FA;GA;;;WD)(AU;SA;GXGW;;;WD)")
    match = re.search(r"D:[A-Z]*((?:\([^()]*\))*)", value)
    if not match or not match.group(1):
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
    for name, (minimum, maximum) in LIMITS.items():
        check_range(name, args.get(name), minimum, maximum)
    check_ports("default_ports", args.get("default_ports"))
    values = {name: args.get(name) for name in SIMPLE_OPTIONS}
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


class ActionModule(WSManAction):
    argument_spec = argspecs.SERVICE["argument_spec"]

    def execute(self, session, args: dict[str, t.Any], task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        desired = desired_service(args)
        snapshot = resources.read_all(session, parts={"config", "listeners"})
        result = self.converge_config(session, snapshot, desired, args, "service")
        result["service"] = result.pop("after")
        result.setdefault("policy_skipped", [])
        if args.get("allow_unencrypted") and result["service"].get("allow_unencrypted"):
            result.setdefault("warnings", []).append(
                "allow_unencrypted: true lets the service accept unencrypted messages (Basic over HTTP sends the "
                "password and every message in clear); STIG WN22-CC-000510 (WN16-CC-000540, WN10-CC-000350) and "
                "CIS 18.10.89.2.3 require it off. Use HTTPS instead.")
        return result
