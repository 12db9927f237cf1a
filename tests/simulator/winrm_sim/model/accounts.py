"""Local accounts of a simulated host and the authorization WinRM applies to them (RootSDDL).

- Names: local accounts log on as ``user``, ``.\\user``, ``COMPUTER\\user`` or ``user@COMPUTER``
  (Microsoft Learn, "Authentication for Remote Connections").
- UAC remote restrictions: a network logon of a local administrator other than the built-in
  Administrator gets a filtered token unless LocalAccountTokenFilterPolicy=1 (same page).
- RootSDDL: SDDL as MS-DTYP 2.5.1 defines it (owner, group, DACL, SACL, in that order, nothing else);
  GR is needed to read, GW to write, GX to run shells (wsman-config-facts.md). A resource whose plugin
  has its own security descriptor (a session configuration, the WMI plugin) is checked against that
  one instead (MS-WSMV 3.1.4.1.28; ``model/plugins.py``).
- Local groups are the host's own (state section ``groups``): the built-in ones with their well-known
  SIDs and Windows' descriptions, and groups created on the host (``WinRMRemoteWMIUsers__``, which
  WinRM 2.0 setup creates - Microsoft Learn, "Authentication for Remote Connections", "Default Group
  Access" -, a JEA role group) with SIDs under the machine's SID. A logon's token holds the SIDs of
  every group the account is a member of; WMI shows them as ``Win32_Group``, ``Win32_UserAccount``
  and ``Win32_GroupUser`` (``model/wmi.py``).
"""
from __future__ import annotations

import dataclasses
import hashlib
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


# --- accounts and local groups ---------------------------------------------------------------------
GROUP_SIDS = {
    "administrators": "S-1-5-32-544", "users": "S-1-5-32-545", "guests": "S-1-5-32-546",
    "remote desktop users": "S-1-5-32-555", "event log readers": "S-1-5-32-573",
    "remote management users": "S-1-5-32-580",
}
ADMINISTRATORS, USERS = "S-1-5-32-544", "S-1-5-32-545"
# The built-in groups every host has, with the descriptions `net localgroup` and Win32_Group show.
BUILTIN_GROUPS = (
    ("Administrators", "S-1-5-32-544",
     "Administrators have complete and unrestricted access to the computer/domain"),
    ("Event Log Readers", "S-1-5-32-573", "Members of this group can read event logs from local machine"),
    ("Guests", "S-1-5-32-546", "Guests have the same access as members of the Users group by default, except "
                               "for the Guest account which is further restricted"),
    ("Remote Desktop Users", "S-1-5-32-555", "Members in this group are granted the right to logon remotely"),
    ("Remote Management Users", "S-1-5-32-580",
     "Members of this group can access WMI resources over management protocols (such as WS-Management via the "
     "Windows Remote Management service). This applies only to WMI namespaces that grant access to the user."),
    ("Users", "S-1-5-32-545", "Users are prevented from making accidental or intentional system-wide changes "
                              "and can run most applications"),
)
WINRM_WMI_USERS = "WinRMRemoteWMIUsers__"
WINRM_WMI_USERS_DESCRIPTION = BUILTIN_GROUPS[4][2]
FIRST_LOCAL_RID = 1000       # the first account or group an admin (or a setup) creates on the machine


def machine_sid(computer_name: str) -> str:
    """The machine's account-domain SID (S-1-5-21-a-b-c): fixed per computer name, as a real
    install keeps the one it was given."""
    digest = hashlib.sha256(computer_name.lower().encode("utf-8")).digest()
    parts = [int.from_bytes(digest[i:i + 4], "big") for i in (0, 4, 8)]
    return "S-1-5-21-" + "-".join(str(p) for p in parts)


def default_groups(profile_groups: list[dict] | None = None) -> dict:
    """The ``groups`` state section: created groups by name with their RID, description and
    explicit members (built-in groups list only members added on the host; Administrators and Users
    also hold the accounts created as such, see ``Accounts.members_of``)."""
    groups = {name: {"sid": sid, "description": text, "members": []} for name, sid, text in BUILTIN_GROUPS}
    for extra in profile_groups or []:
        groups[extra["name"]] = {"rid": extra["rid"], "description": extra.get("description", ""),
                                 "members": list(extra.get("members", []))}
    return groups


class Accounts:
    def __init__(self, computer_name: str, accounts: dict, policy, groups: dict | None = None):
        self.computer_name = computer_name
        self.table = dict(accounts or {})
        self.policy = policy
        self.groups = groups if groups is not None else default_groups()
        self.machine_sid = machine_sid(computer_name)

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

    # ----- identities
    def account_sid(self, account: str) -> str:
        """Administrator is RID 500; accounts created later take the free RIDs from 1000 in name order
        (a RID names one account or group of the machine)."""
        if self.is_builtin_administrator(account):
            return self.machine_sid + "-500"
        taken = {entry["rid"] for entry in self.groups.values() if "rid" in entry}
        rid = FIRST_LOCAL_RID
        for other in sorted((a for a in self.table if not self.is_builtin_administrator(a)), key=str.lower):
            while rid in taken:
                rid += 1
            if other == account:
                return "%s-%d" % (self.machine_sid, rid)
            rid += 1
        raise KeyError(account)

    def group_sid(self, name: str) -> str | None:
        group = self.find_group(name)
        if group is None:
            return None
        entry = self.groups[group]
        return entry.get("sid") or "%s-%d" % (self.machine_sid, entry["rid"])

    def find_group(self, name: str) -> str | None:
        """The stored spelling of a local group, by name (any case) or SID."""
        wanted = (name or "").lower()
        for group, entry in self.groups.items():
            if group.lower() == wanted:
                return group
            if wanted.startswith("s-1-") and (entry.get("sid") or "").lower() == wanted:
                return group
            if wanted.startswith("s-1-") and "rid" in entry and \
                    wanted == ("%s-%d" % (self.machine_sid, entry["rid"])).lower():
                return group
        return None

    def members_of(self, group: str) -> list[str]:
        """Member account names of a local group: explicit members, and the accounts created as
        administrators (Administrators) or as users (Users)."""
        group = self.find_group(group) or group
        members = list(self.groups.get(group, {}).get("members", []))
        sid = self.group_sid(group)
        for account, info in self.table.items():
            listed = [g.lower() for g in info.get("groups", [])]
            implicit = (sid == ADMINISTRATORS and (info.get("admin") or self.is_builtin_administrator(account))) \
                or (sid == USERS and not self.is_builtin_administrator(account))
            if (implicit or group.lower() in listed) and account.lower() not in (m.lower() for m in members):
                members.append(account)
        return members

    def groups_of(self, account: str) -> list[str]:
        """Names of the local groups the account is a member of."""
        found = [g for g in self.groups if account.lower() in (m.lower() for m in self.members_of(g))]
        for listed in self.table.get(account, {}).get("groups", []):
            if self.find_group(listed) is None and listed not in found:
                found.append(listed)   # a SID given in the account table (tests)
        return found

    def effective_admin(self, account: str, remote: bool) -> bool:
        member = any(self.group_sid(g) == ADMINISTRATORS for g in self.groups_of(account))
        if not member:
            return False
        if self.is_builtin_administrator(account) or not remote:
            return True
        return self.policy.local_account_token_filter()

    def sids(self, principal: Principal) -> set[str]:
        account = self.canonical(principal.user)
        if account is None:
            return set()
        sids = {"S-1-1-0", "S-1-5-11", USERS, "S-1-5-2" if principal.remote else "S-1-5-4",
                self.account_sid(account)}
        for group in self.groups_of(account):
            sid = self.group_sid(group) or (group if group.startswith("S-1-") else None)
            if sid and sid != ADMINISTRATORS:
                sids.add(sid)
        if self.effective_admin(account, principal.remote):
            sids.add(ADMINISTRATORS)
        return sids

    def authorized(self, principal: Principal, sddl: str, access: str) -> bool:
        try:
            aces = parse_dacl(sddl)
        except SddlError:
            return False
        return access_check(aces, self.sids(principal), ACCESS[access])
