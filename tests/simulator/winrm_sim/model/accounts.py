"""Local accounts of a simulated host and the authorization WinRM applies to them (RootSDDL).

- Names: local accounts log on as ``user``, ``.\\user``, ``COMPUTER\\user`` or ``user@COMPUTER``
  (Microsoft Learn, "Authentication for Remote Connections").
- UAC remote restrictions: a network logon of a local administrator other than the built-in
  Administrator gets a filtered token unless LocalAccountTokenFilterPolicy=1 (same page).
- RootSDDL: SDDL as MS-DTYP 2.5.1 defines it (owner, group, DACL, SACL, in that order, nothing else);
  GR is needed to read, GW to write, GX to run shells (wsman-config-facts.md). Later engineers who
  model group membership over WMI extend ``Accounts.groups_of``.
"""
from __future__ import annotations

import dataclasses
import re


@dataclasses.dataclass
class Principal:
    user: str            # local account name as stored ("Administrator"), or "" before auth
    auth: str            # "basic" | "negotiate" | "ntlm" | "kerberos" | "certificate" | "credssp"
    transport: str       # "http" | "https"
    encrypted: bool      # message encryption or TLS
    remote: bool = True


# --- SDDL ------------------------------------------------------------------------------------------
# SID string aliases of MS-DTYP 2.5.1.1 mapped to the SIDs authorization needs; the others are valid
# aliases that no simulated principal holds.
SID_ALIASES = {
    "WD": "S-1-1-0", "NU": "S-1-5-2", "IU": "S-1-5-4", "AU": "S-1-5-11", "SY": "S-1-5-18",
    "LS": "S-1-5-19", "NS": "S-1-5-20", "BA": "S-1-5-32-544", "BU": "S-1-5-32-545",
    "BG": "S-1-5-32-546", "RD": "S-1-5-32-555", "RM": "S-1-5-32-580",
}
OTHER_ALIASES = {"AA", "AC", "AN", "AO", "AP", "BO", "CA", "CD", "CG", "CN", "CO", "CY", "DA", "DC", "DD",
                 "DG", "DU", "EA", "ED", "EK", "ER", "ES", "HA", "HI", "IS", "KA", "LA", "LG", "LU", "LW",
                 "ME", "MP", "MS", "MU", "NO", "OW", "PA", "PO", "PS", "PU", "RA", "RC", "RE", "RO", "RS",
                 "RU", "SA", "SI", "SO", "SS", "SU", "UD", "WR"}
ACE_TYPES = {"A", "D", "OA", "OD", "AU", "AL", "OU", "OL", "ML", "XA", "XD", "ZA", "XU", "SP"}
ACE_FLAGS = {"CI", "OI", "NP", "IO", "ID", "SA", "FA", "TP", "CR"}
ACL_FLAGS = ("NO_ACCESS_CONTROL", "AI", "AR", "P")
GENERIC_ALL, GENERIC_EXECUTE, GENERIC_WRITE, GENERIC_READ = 0x10000000, 0x20000000, 0x40000000, 0x80000000
RIGHT_CODES = {"GA": GENERIC_ALL, "GX": GENERIC_EXECUTE, "GW": GENERIC_WRITE, "GR": GENERIC_READ}
OTHER_RIGHTS = {"RC", "SD", "WD", "WO", "CC", "DC", "LC", "SW", "RP", "WP", "DT", "LO", "CR", "FA", "FR",
                "FW", "FX", "KA", "KR", "KW", "KX", "NR", "NW", "NX", "MA"}
ACCESS = {"read": GENERIC_READ, "write": GENERIC_WRITE, "execute": GENERIC_EXECUTE}
_SID = re.compile(r"S-1-\d+(-\d+)+\Z")
_GUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\Z")


class SddlError(ValueError):
    pass


def _sid(text: str) -> str:
    if text in SID_ALIASES:
        return SID_ALIASES[text]
    if text in OTHER_ALIASES or _SID.match(text):
        return text
    raise SddlError(f"unknown SID {text!r}")


def _rights(text: str) -> int:
    if re.fullmatch(r"0[xX][0-9A-Fa-f]{1,8}", text):
        return int(text, 16)
    if text.isdigit():
        return int(text)
    if not text or len(text) % 2:
        raise SddlError(f"bad rights {text!r}")
    mask = 0
    for index in range(0, len(text), 2):
        code = text[index:index + 2]
        if code in RIGHT_CODES:
            mask |= RIGHT_CODES[code]
        elif code not in OTHER_RIGHTS:
            raise SddlError(f"bad right {code!r}")
    return mask


def _sid_token(text: str, index: int) -> tuple[str, int]:
    """A SID string at ``index``: S-1-... or a two-letter alias."""
    match = re.compile(r"S-1-\d+(?:-\d+)+").match(text, index)
    if match:
        return match.group(0), match.end()
    return _sid(text[index:index + 2]), index + 2


def _acl(text: str, index: int) -> tuple[list[tuple[str, int, str]], int]:
    """ACL flags then ACEs from ``index``; stops at the next section tag."""
    for flag in ACL_FLAGS:
        while text.startswith(flag, index):
            index += len(flag)
    aces = []
    while index < len(text) and text[index] == "(":
        end = text.find(")", index)
        if end < 0:
            raise SddlError(f"unterminated ACE at {index}")
        fields = text[index + 1:end].split(";")
        if len(fields) not in (6, 7) or fields[0] not in ACE_TYPES:
            raise SddlError(f"bad ACE at {index}")
        flags = fields[1]
        if len(flags) % 2 or any(flags[i:i + 2] not in ACE_FLAGS for i in range(0, len(flags), 2)):
            raise SddlError(f"bad ACE flags at {index}")
        for guid in fields[3:5]:
            if guid and not _GUID.match(guid):
                raise SddlError(f"bad object GUID at {index}")
        if not _SID.match(fields[5]) and fields[5] not in SID_ALIASES and fields[5] not in OTHER_ALIASES:
            raise SddlError(f"unknown SID {fields[5]!r} at {index}")
        aces.append((fields[0], _rights(fields[2]), _sid(fields[5])))
        index = end + 1
    return aces, index


def parse_sddl(sddl: str) -> dict:
    """Owner, group, DACL and SACL of an SDDL string, in the order MS-DTYP 2.5.1 gives them; SddlError
    for anything else (white space, unknown tokens, text after the last section)."""
    text = sddl or ""
    result = {"owner": None, "group": None, "dacl": None, "sacl": None}
    index = 0
    for tag, key in (("O:", "owner"), ("G:", "group"), ("D:", "dacl"), ("S:", "sacl")):
        if not text.startswith(tag, index):
            continue
        index += 2
        if key in ("owner", "group"):
            result[key], index = _sid_token(text, index)
        else:
            result[key], index = _acl(text, index)
    if index != len(text) or not text:
        raise SddlError(f"unexpected text at {index}")
    return result


def parse_dacl(sddl: str) -> list[tuple[str, int, str]]:
    """The DACL as [(type, generic rights mask, SID)]; SddlError without one."""
    dacl = parse_sddl(sddl)["dacl"]
    if dacl is None:
        raise SddlError("no DACL")
    return [ace for ace in dacl if ace[0] in ("A", "D")]


def access_check(aces, sids: set[str], wanted: int) -> bool:
    """Windows' DACL walk: stop at a deny of a wanted right, succeed once all are granted."""
    granted = 0
    for kind, rights, sid in aces:
        if sid not in sids:
            continue
        if rights & GENERIC_ALL:
            rights |= GENERIC_READ | GENERIC_WRITE | GENERIC_EXECUTE
        if kind == "D" and rights & wanted & ~granted:
            return False
        if kind == "A":
            granted |= rights & wanted
            if granted == wanted:
                return True
    return False


# --- accounts --------------------------------------------------------------------------------------
GROUP_SIDS = {
    "administrators": "S-1-5-32-544", "users": "S-1-5-32-545", "guests": "S-1-5-32-546",
    "remote desktop users": "S-1-5-32-555", "remote management users": "S-1-5-32-580",
}


class Accounts:
    def __init__(self, computer_name: str, accounts: dict, policy):
        self.computer_name = computer_name
        self.table = dict(accounts or {})
        self.policy = policy

    def canonical(self, user: str) -> str | None:
        """The stored spelling of a local account given as user, .\\user, COMPUTER\\user or user@COMPUTER."""
        if not user:
            return None
        name = user
        if "\\" in name:
            domain, _sep, name = name.partition("\\")
            if domain != "." and domain.lower() != self.computer_name.lower():
                return None
        elif "@" in name:
            name, _sep, domain = name.partition("@")
            if domain.lower() != self.computer_name.lower():
                return None
        for account in self.table:
            if account.lower() == name.lower():
                return account
        return None

    def check_password(self, user, password) -> str | None:
        account = self.canonical(user)
        if account is None or password is None or self.table[account].get("password") != password:
            return None
        return account

    def password_of(self, account: str) -> str | None:
        return self.table.get(account, {}).get("password")

    @staticmethod
    def is_builtin_administrator(account: str) -> bool:
        return account.lower() == "administrator"

    def groups_of(self, account: str) -> list[str]:
        return list(self.table.get(account, {}).get("groups", []))

    def effective_admin(self, account: str, remote: bool) -> bool:
        info = self.table.get(account, {})
        groups = [g.lower() for g in self.groups_of(account)]
        member = bool(info.get("admin")) or "administrators" in groups or self.is_builtin_administrator(account)
        if not member:
            return False
        if self.is_builtin_administrator(account) or not remote:
            return True
        return self.policy.local_account_token_filter()

    def sids(self, principal: Principal) -> set[str]:
        account = self.canonical(principal.user)
        if account is None:
            return set()
        sids = {"S-1-1-0", "S-1-5-11", "S-1-5-32-545", "S-1-5-2" if principal.remote else "S-1-5-4"}
        for group in self.groups_of(account):
            sid = GROUP_SIDS.get(group.lower(), group if group.startswith("S-1-") else None)
            if sid and sid != "S-1-5-32-544":
                sids.add(sid)
        if self.effective_admin(account, principal.remote):
            sids.add("S-1-5-32-544")
        return sids

    def authorized(self, principal: Principal, root_sddl: str, access: str) -> bool:
        try:
            aces = parse_dacl(root_sddl)
        except SddlError:
            return False
        return access_check(aces, self.sids(principal), ACCESS[access])
