# Copyright (c) 2026 wsman.winrm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""wsman.winrm.client: the WinRM client settings of the host (winrm/config/client, without its auth section)."""

from __future__ import annotations

import re
import typing as t

from ansible.errors import AnsibleActionFail

from ansible_collections.wsman.winrm.plugins.module_utils import argspecs, resources
from ansible_collections.wsman.winrm.plugins.plugin_utils.wsman_action import WSManAction

UINT_MAX = 4294967295
NETWORK_DELAY_MIN = 500  # MS-WSMV 2.2.4.6: NetworkDelayms minimum 500, maximum 4294967295
# MS-WSMV 2.2.4.6: URLPrefix is not blank, only a-zA-Z0-9_/ and neither starts nor ends with "/".
URL_PREFIX = re.compile(r"[A-Za-z0-9_]+(?:/[A-Za-z0-9_]+)*")


def trusted_host_entries(entries: t.Iterable[t.Any]) -> list[str]:
    """Single TrustedHosts entries, stripped; a clear error for blanks and comma-joined lists."""
    result = []
    for entry in entries:
        text = str(entry).strip()
        if not text:
            raise AnsibleActionFail("trusted_hosts: an entry is empty; give host names, IP addresses or patterns")
        if "," in text:
            raise AnsibleActionFail(f"trusted_hosts: {text!r} holds a comma; give one entry per list item "
                                    "(Windows separates entries with commas)")
        stars = text.count("*")
        if stars and text != "*" and not (stars == 1 and (text.startswith("*") or text.endswith("*"))):
            raise AnsibleActionFail(f"trusted_hosts: {text!r}: a wildcard may only start or end an entry "
                                    "(*.example.com, 192.168.1.*) or stand alone (*)")
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
    if mode == "set":
        return unique(wanted)
    if mode == "add":
        return unique([*current, *wanted])
    if mode == "remove":
        unwanted = {item.lower() for item in wanted}
        return [item for item in current if item.lower() not in unwanted]
    raise ValueError(mode)


def validate_client_args(args: t.Mapping[str, t.Any]) -> None:
    for transport, port in (args.get("default_ports") or {}).items():
        if port is not None and not 1 <= port <= 65535:
            raise AnsibleActionFail(f"default_ports.{transport} must be a port between 1 and 65535, got {port} "
                                    "(Windows refuses it with fault 0x803380DC)")
    delay = args.get("network_delay_ms")
    if delay is not None and not NETWORK_DELAY_MIN <= delay <= UINT_MAX:
        raise AnsibleActionFail(f"network_delay_ms must be between {NETWORK_DELAY_MIN} and {UINT_MAX}, got {delay}")
    prefix = args.get("url_prefix")
    if prefix is not None and not URL_PREFIX.fullmatch(prefix):
        raise AnsibleActionFail(f"url_prefix {prefix!r} is not valid: it must not be blank, may hold only letters, "
                                "digits, _ and /, and must not start or end with / (e.g. wsman)")


class ActionModule(WSManAction):
    argument_spec = argspecs.CLIENT["argument_spec"]

    def execute(self, session, args: dict[str, t.Any], task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        validate_client_args(args)
        wanted_hosts = trusted_host_entries(args["trusted_hosts"]) if args.get("trusted_hosts") is not None else None
        snapshot = resources.read_all(session, parts={"config", "listeners"})

        desired: dict[str, t.Any] = {
            f"client.{name}": args.get(name) for name in ("allow_unencrypted", "network_delay_ms", "url_prefix")
        }
        for transport, port in (args.get("default_ports") or {}).items():
            desired[f"client.default_ports.{transport}"] = port
        current_hosts = snapshot.config.client.get("trusted_hosts") or []
        if wanted_hosts is not None:
            desired["client.trusted_hosts"] = merge_trusted_hosts(current_hosts, wanted_hosts,
                                                                  args["trusted_hosts_mode"])

        result = self.converge_config(session, snapshot, desired, args, "client")
        result["client"] = result.pop("after")
        result["trusted_hosts"] = result["client"].get("trusted_hosts") or []
        result.setdefault("policy_skipped", [])
        warnings = result.setdefault("warnings", [])
        if wanted_hosts is not None and "*" in result["trusted_hosts"] and args["trusted_hosts_mode"] != "remove":
            warnings.append("trusted_hosts contains *: the client will send credentials with NTLM or Basic over HTTP "
                            "to any host, including a rogue one; the secure baseline is an empty or explicit list, "
                            "never * (security-controls.md, client/TrustedHosts). Prefer HTTPS with validated "
                            "certificates, or Kerberos.")
        if args.get("allow_unencrypted") and result["client"].get("allow_unencrypted"):
            warnings.append("allow_unencrypted: true lets the client send unencrypted messages; STIG WN22-CC-000480 "
                            "(WN16-CC-000510, WN10-CC-000335) and CIS 18.10.89.1.2 require it off.")
        if not warnings:
            del result["warnings"]
        return result
