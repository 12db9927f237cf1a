# -*- coding: utf-8 -*-
# Copyright: contributors to the wsman.winrm collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Who may connect to a host, effectively: the gates a remote user passes, put together.

Pure function over what the collection reads; each gate as Windows applies it:

1. The endpoint's security descriptor. A URI a plugin serves is authorized with that plugin's
   ``Security/@Sddl``, RootSDDL only when it has none ([MS-WSMV] 3.1.4.1.28; Microsoft,
   "Installation and Configuration for Windows Remote Management"). So: RootSDDL guards
   ``winrm/config`` and WinRS shells; each PowerShell session configuration its own endpoint (a shell
   needs GX); the WMI plugin's descriptor guards WMI. A deny for Everyone, Authenticated Users or
   NETWORK ("Network_Deny_All", what ``Disable-PSRemoting`` writes) shuts every remote user out.
2. Group membership: a descriptor names groups; their members (``Win32_GroupUser``) are the people.
   Users holds Authenticated Users, so it means every authenticated account. INTERACTIVE is never in
   a network logon's token: it grants local sessions only.
3. UAC remote restrictions (Microsoft Learn, "Authentication for Remote Connections"): a local
   account in Administrators other than the built-in Administrator gets a filtered token over the
   network - no Administrators - unless ``LocalAccountTokenFilterPolicy`` is 1. Domain accounts are
   not filtered.
4. The Windows Firewall's scope for the listener ports: per network profile, the remote addresses
   the enabled inbound allow rules admit (block rules win), and the profile the host is on now.
"""

from __future__ import annotations

import typing as t

from ansible_collections.wsman.winrm.plugins.module_utils import sddl as sddl_parser

EVERYONE, AUTHENTICATED_USERS, NETWORK, INTERACTIVE = "S-1-1-0", "S-1-5-11", "S-1-5-2", "S-1-5-4"
ADMINISTRATORS, USERS = "S-1-5-32-544", "S-1-5-32-545"
SERVICE_ACCOUNTS = {"S-1-5-18": "the computer itself (SYSTEM)", "S-1-5-19": "a local service",
                    "S-1-5-20": "a network service (the computer's own services)"}
EVERY_REMOTE_USER = (EVERYONE, AUTHENTICATED_USERS, NETWORK)
PROFILES = ("domain", "private", "public")
PROFILE_BITS = {"domain": 1, "private": 2, "public": 4}
RIGHT = {"read": sddl_parser.GENERIC_READ, "write": sddl_parser.GENERIC_WRITE,
         "execute": sddl_parser.GENERIC_EXECUTE}
UAC_NOTE = ("local administrators other than the built-in Administrator connect without administrator rights "
            "unless LocalAccountTokenFilterPolicy is 1 (UAC remote restrictions)")


# ---- people behind a descriptor ------------------------------------------------------------------
def _trustee_entry(grant: sddl_parser.Grant, groups: t.Any, token_filter: t.Optional[bool]) -> t.Dict[str, t.Any]:
    sid = grant.trustee
    entry: t.Dict[str, t.Any] = {"trustee": grant.name, "sid": sid if sid.startswith("S-") else None,
                                 "rights": grant.winrm_permissions(), "members": None, "remote": True, "note": None}
    group = groups.get(sid) if groups is not None and sid.startswith("S-") else None
    if group is not None:
        entry["trustee"] = ("BUILTIN\\" + group.name) if sid.startswith("S-1-5-32-") else group.qualified
        entry["members"] = list(group.members)
    if sid == INTERACTIVE:
        entry.update(remote=False, note="local sessions only: a network logon never holds INTERACTIVE")
    elif sid in SERVICE_ACCOUNTS:
        entry.update(remote=False, note=SERVICE_ACCOUNTS[sid])
    elif sid in EVERY_REMOTE_USER or sid == USERS:
        entry["note"] = "every authenticated user" + (" (Users holds Authenticated Users)" if sid == USERS else "")
    elif sid == ADMINISTRATORS and token_filter is not True:
        entry["note"] = UAC_NOTE + ("" if token_filter is False else " (the policy value was not read)")
        if group is not None:
            # The built-in Administrator (RID 500) and domain accounts keep their rights.
            filtered = [m for m in group.members if m.lower().startswith(group.domain.lower() + "\\")
                        and m.rpartition("\\")[2].lower() != "administrator"]
            entry["members"] = [m for m in group.members if m not in filtered]
            entry["members_without_admin_rights"] = filtered
    elif group is None and groups is not None and sid.startswith("S-1-5-21-"):
        entry["note"] = "not a local group of this computer: a domain account or group, or a deleted one"
    return entry


def descriptor_access(sddl: t.Optional[str], needed: str, groups: t.Any = None,
                      token_filter: t.Optional[bool] = None) -> t.Dict[str, t.Any]:
    """Who a descriptor lets in for ``needed`` (read, write, execute), as remote people."""
    if not sddl:
        return {"who": [], "local_only": [], "denied_to_all_remote_users": False, "error": "no descriptor"}
    try:
        every = sddl_parser.grants(sddl)
    except sddl_parser.SddlError as error:
        return {"who": [], "local_only": [], "denied_to_all_remote_users": True, "error": str(error)}
    right = RIGHT[needed]
    blanket = any(g.trustee in EVERY_REMOTE_USER and sddl_parser.expand_generic(g.denied) & right for g in every)
    who, local_only = [], []
    for grant in every:
        if not grant.effective & right:
            continue
        entry = _trustee_entry(grant, groups, token_filter)
        (who if entry["remote"] and not blanket else local_only).append(entry)
    return {"who": who, "local_only": local_only, "denied_to_all_remote_users": blanket, "error": None}


def _people(entry: t.Mapping[str, t.Any]) -> str:
    text = entry["trustee"]
    members = entry.get("members")
    if members is not None and entry.get("sid") not in (USERS,):
        text += " (members: %s" % (", ".join(members) if members else "none")
        filtered = entry.get("members_without_admin_rights")
        if filtered:
            text += "; %s without administrator rights unless LocalAccountTokenFilterPolicy=1" % ", ".join(filtered)
        text += ")"
    return text


# ---- the firewall's scope ----------------------------------------------------------------------------
def _port_matches(tokens: t.Iterable[str], port: int) -> bool:
    for token in tokens or ["Any"]:
        text = str(token).strip()
        if text.lower() == "any":
            return True
        low, _sep, high = text.partition("-")
        if low.isdigit() and (high.isdigit() or not high) and int(low) <= port <= int(high or low):
            return True
    return False


def _applies(rule: t.Any, port: int, profile: str) -> bool:
    mask = rule.profiles_mask or 7
    protocol = (rule.protocol or "Any").upper()
    return (rule.enabled and rule.direction == 1 and mask & PROFILE_BITS[profile]
            and protocol in ("TCP", "6", "ANY") and _port_matches(rule.local_ports, port))


def _address_text(tokens: t.Iterable[str]) -> str:
    names = []
    for token in tokens:
        lower = str(token).lower()
        if lower in ("any", "*"):
            return "any address"
        names.append({"localsubnet": "the local subnet", "intranet": "the intranet",
                      "internet": "the internet"}.get(lower, str(token)))
    return ", ".join(names)


def firewall_scope(rules: t.Sequence[t.Any], port: int) -> t.Dict[str, str]:
    """Per profile: the remote addresses admitted to TCP ``port`` (as a phrase)."""
    scope = {}
    for profile in PROFILES:
        allowed: t.List[str] = []
        blocked: t.List[str] = []
        for rule in rules:
            if not _applies(rule, port, profile):
                continue
            target = blocked if rule.action == 4 else allowed
            for address in rule.remote_addresses or ["Any"]:
                if address not in target:
                    target.append(address)
        if not allowed:
            scope[profile] = "no address (no enabled rule admits it)"
        elif any(a.lower() in ("any", "*") for a in blocked):
            scope[profile] = "no address (a block rule covers every address)"
        else:
            text = _address_text(allowed)
            scope[profile] = text + (" except %s" % _address_text(blocked) if blocked else "")
    return scope


def scope_phrase(scope: t.Mapping[str, str]) -> str:
    """{"domain": "any address", "private": "any address", "public": "the local subnet"} ->
    "from the local subnet on the public profile, any address on domain/private"."""
    grouped: t.Dict[str, t.List[str]] = {}
    for profile in PROFILES:
        grouped.setdefault(scope[profile], []).append(profile)
    parts = []
    for text, profiles in sorted(grouped.items(), key=lambda item: (len(item[1]), PROFILES.index(item[1][0]))):
        where = ("the %s profile" % profiles[0]) if len(profiles) == 1 else "/".join(profiles)
        parts.append("%s on %s" % (text, where) if len(grouped) > 1 else "%s on every profile" % text)
    return "from " + ", ".join(parts)


# ---- all together --------------------------------------------------------------------------------------
def _listener_ports(listeners: t.Sequence[t.Any]) -> t.List[t.Tuple[str, int]]:
    ports = []
    for listener in listeners:
        if not listener.get("enabled", True):
            continue
        try:
            port = int(listener.get("port"))
        except (TypeError, ValueError):
            continue
        key = ((listener.get("transport") or "").upper(), port)
        if key not in ports:
            ports.append(key)
    return sorted(ports)


def who_may_connect(root_sddl: t.Optional[str], configurations: t.Sequence[t.Any], listeners: t.Sequence[t.Any],
                    groups: t.Any = None, token_filter: t.Optional[bool] = None,
                    firewall_rules: t.Optional[t.Sequence[t.Any]] = None,
                    network_profile: t.Optional[str] = None) -> t.Dict[str, t.Any]:
    """Every endpoint with the people it admits, the network scope of each listener port, and one
    readable line per endpoint."""
    endpoints = [dict(endpoint="WinRM service", kind="winrm", uri="winrm/config, WinRS shells", enabled=True,
                      descriptor="RootSDDL", needs="read", **descriptor_access(root_sddl, "read", groups, token_filter))]
    for configuration in configurations:
        if configuration.kind not in ("powershell", "wmi"):
            continue
        own = configuration.sddl
        needs = "execute" if configuration.kind == "powershell" else "read"
        entry = dict(endpoint=configuration.name, kind=configuration.kind, uri=configuration.endpoint_uri,
                     enabled=configuration.enabled, descriptor="session configuration" if own else "RootSDDL",
                     needs=needs, **descriptor_access(own or root_sddl, needs, groups, token_filter))
        if configuration.kind == "wmi":
            entry["note"] = "reading WMI; changes (registry, firewall) also need an administrator's token"
        if not configuration.enabled:
            entry.update(who=[], note="disabled: nobody connects (Enabled=false, once the WinRM service restarts)")
        endpoints.append(entry)
    ports = _listener_ports(listeners)
    network: t.Dict[str, t.Any] = {"profile": network_profile, "ports": {}}
    if firewall_rules is not None:
        for transport, port in ports:
            scope = firewall_scope(firewall_rules, port)
            network["ports"][str(port)] = dict(transport=transport, scope=scope, summary=scope_phrase(scope))
    lines = []
    for entry in endpoints:
        if not ports:
            reach = "nobody: no enabled listener"
        elif entry["who"]:
            reach = ", ".join(_people(w) for w in entry["who"])
        elif entry.get("denied_to_all_remote_users"):
            reach = "no remote user (a deny for every network logon)"
        else:
            reach = "no remote user"
        where = []
        for transport, port in ports:
            if str(port) in network["ports"]:
                where.append("%s %d %s" % (transport, port, network["ports"][str(port)]["summary"]))
        line = "%s: %s" % (entry["endpoint"], reach)
        if entry["who"] and where:
            line += "; " + "; ".join(where)
        lines.append(line)
    if network_profile and firewall_rules is not None:
        lines.append("the host is on the %s network profile now" % network_profile)
    return {"endpoints": endpoints, "network": network, "summary": lines}
