# -*- coding: utf-8 -*-
# Copyright: contributors to the wsman.winrm collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Security descriptors in SDDL: parse, render canonically, compare, read grants, add/remove an allow ACE.

WinRM keeps who may connect in SDDL strings: the service's ``RootSDDL``
(``O:NSG:BAD:P(A;;GA;;;BA)(A;;GR;;;IU)S:P(...)``) and each session configuration's resource
``Security/@Sddl``. This module is a small scanner and recursive-descent parser over the grammar of
[MS-DTYP] 2.5.1.1 "Syntax" (SDDL), with the codes of Microsoft Learn "ACE Strings" and "SID Strings"
(``Sddl.h``). Every error names the 1-based character where the text stops making sense.

WinRM's meaning of the generic rights ([MS-WSMV] 3.1.4.1.28): GR allows Get and Enumerate, GW
Put/Create/Delete, GX shells and every other action; GA is all three.

No PyPI package fits: ``sddl-parser`` declares no licence; ``winsddl`` (GPLv3, first released
2026) pulls in ``rich`` and offers no rendering or editing. Pure standard library.
"""

from __future__ import annotations

import dataclasses
import re
import typing as t

# ----------------------------------------------------------------------------------------------
# Vocabulary (Microsoft Learn "SID Strings", "ACE Strings"; [MS-DTYP] 2.5.1.1)
# ----------------------------------------------------------------------------------------------

# alias -> (SID, readable name). A SID of None: relative to the domain (or the forest root, or the
# machine), so it cannot be written as S-1-... without knowing that domain's SID.
SID_ALIASES: t.Dict[str, t.Tuple[t.Optional[str], str]] = {
    "AA": ("S-1-5-32-579", "BUILTIN\\Access Control Assistance Operators"),
    "AC": ("S-1-15-2-1", "ALL APPLICATION PACKAGES"),
    "AN": ("S-1-5-7", "NT AUTHORITY\\ANONYMOUS LOGON"),
    "AO": ("S-1-5-32-548", "BUILTIN\\Account Operators"),
    "AP": (None, "Protected Users (domain)"),
    "AS": ("S-1-18-1", "Authentication authority asserted identity"),
    "AU": ("S-1-5-11", "NT AUTHORITY\\Authenticated Users"),
    "BA": ("S-1-5-32-544", "BUILTIN\\Administrators"),
    "BG": ("S-1-5-32-546", "BUILTIN\\Guests"),
    "BO": ("S-1-5-32-551", "BUILTIN\\Backup Operators"),
    "BU": ("S-1-5-32-545", "BUILTIN\\Users"),
    "CA": (None, "Cert Publishers (domain)"),
    "CD": ("S-1-5-32-574", "BUILTIN\\Certificate Service DCOM Access"),
    "CG": ("S-1-3-1", "CREATOR GROUP"),
    "CN": (None, "Cloneable Domain Controllers (domain)"),
    "CO": ("S-1-3-0", "CREATOR OWNER"),
    "CY": ("S-1-5-32-569", "BUILTIN\\Cryptographic Operators"),
    "DA": (None, "Domain Admins (domain)"),
    "DC": (None, "Domain Computers (domain)"),
    "DD": (None, "Domain Controllers (domain)"),
    "DG": (None, "Domain Guests (domain)"),
    "DU": (None, "Domain Users (domain)"),
    "EA": (None, "Enterprise Admins (forest root domain)"),
    "ED": ("S-1-5-9", "NT AUTHORITY\\ENTERPRISE DOMAIN CONTROLLERS"),
    "EK": (None, "Enterprise Key Admins (forest root domain)"),
    "ER": ("S-1-5-32-573", "BUILTIN\\Event Log Readers"),
    "ES": ("S-1-5-32-576", "BUILTIN\\RDS Endpoint Servers"),
    "HA": ("S-1-5-32-578", "BUILTIN\\Hyper-V Administrators"),
    "HI": ("S-1-16-12288", "Mandatory Label\\High Mandatory Level"),
    "IS": ("S-1-5-32-568", "BUILTIN\\IIS_IUSRS"),
    "IU": ("S-1-5-4", "NT AUTHORITY\\INTERACTIVE"),
    "KA": (None, "Key Admins (domain)"),
    "LA": (None, "the local Administrator account"),
    "LG": (None, "the local Guest account"),
    "LS": ("S-1-5-19", "NT AUTHORITY\\LOCAL SERVICE"),
    "LU": ("S-1-5-32-559", "BUILTIN\\Performance Log Users"),
    "LW": ("S-1-16-4096", "Mandatory Label\\Low Mandatory Level"),
    "ME": ("S-1-16-8192", "Mandatory Label\\Medium Mandatory Level"),
    "MP": ("S-1-16-8448", "Mandatory Label\\Medium Plus Mandatory Level"),
    "MS": ("S-1-5-32-577", "BUILTIN\\RDS Management Servers"),
    "MU": ("S-1-5-32-558", "BUILTIN\\Performance Monitor Users"),
    "NO": ("S-1-5-32-556", "BUILTIN\\Network Configuration Operators"),
    "NS": ("S-1-5-20", "NT AUTHORITY\\NETWORK SERVICE"),
    "NU": ("S-1-5-2", "NT AUTHORITY\\NETWORK"),
    "OW": ("S-1-3-4", "OWNER RIGHTS"),
    "PA": (None, "Group Policy Creator Owners (domain)"),
    "PO": ("S-1-5-32-550", "BUILTIN\\Print Operators"),
    "PS": ("S-1-5-10", "NT AUTHORITY\\SELF"),
    "PU": ("S-1-5-32-547", "BUILTIN\\Power Users"),
    "RA": ("S-1-5-32-575", "BUILTIN\\RDS Remote Access Servers"),
    "RC": ("S-1-5-12", "NT AUTHORITY\\RESTRICTED"),
    "RD": ("S-1-5-32-555", "BUILTIN\\Remote Desktop Users"),
    "RE": ("S-1-5-32-552", "BUILTIN\\Replicator"),
    "RM": ("S-1-5-32-580", "BUILTIN\\Remote Management Users"),
    "RO": (None, "Enterprise Read-only Domain Controllers (forest root domain)"),
    "RS": (None, "RAS and IAS Servers (domain)"),
    "RU": ("S-1-5-32-554", "BUILTIN\\Pre-Windows 2000 Compatible Access"),
    "SA": (None, "Schema Admins (forest root domain)"),
    "SI": ("S-1-16-16384", "Mandatory Label\\System Mandatory Level"),
    "SO": ("S-1-5-32-549", "BUILTIN\\Server Operators"),
    "SS": ("S-1-18-2", "Service asserted identity"),
    "SU": ("S-1-5-6", "NT AUTHORITY\\SERVICE"),
    "SY": ("S-1-5-18", "NT AUTHORITY\\SYSTEM"),
    "UD": ("S-1-5-84-0-0-0-0-0", "User-mode drivers"),
    "WD": ("S-1-1-0", "Everyone"),
    "WR": ("S-1-5-33", "NT AUTHORITY\\WRITE RESTRICTED"),
}
_ALIAS_OF_SID = {sid: alias for alias, (sid, _name) in SID_ALIASES.items() if sid}

ALLOW_TYPES = ("A", "OA", "XA", "ZA")
# Callback ACEs (MS-DTYP 2.4.4.6/2.4.4.8): the allow holds only when its condition does.
CONDITIONAL_ALLOW_TYPES = ("XA", "ZA")
DENY_TYPES = ("D", "OD", "XD")
SACL_TYPES = ("AU", "AL", "OU", "OL", "ML", "SP", "RA", "XU", "TL")
ACE_TYPES = ALLOW_TYPES + DENY_TYPES + SACL_TYPES
# Types whose 7th field is a condition expression or a resource attribute, kept verbatim.
_TYPES_WITH_EXTRA = ("XA", "XD", "XU", "ZA", "RA")
ACE_FLAGS = ("OI", "CI", "NP", "IO", "ID", "SA", "FA", "TP", "CR")
ACL_FLAGS = ("P", "AR", "AI", "NO_ACCESS_CONTROL")

GENERIC_ALL, GENERIC_EXECUTE, GENERIC_WRITE, GENERIC_READ = 0x10000000, 0x20000000, 0x40000000, 0x80000000

# Rights codes and masks, in the order a canonical string lists them.
RIGHTS: t.Tuple[t.Tuple[str, int], ...] = (
    ("GA", GENERIC_ALL), ("GR", GENERIC_READ), ("GW", GENERIC_WRITE), ("GX", GENERIC_EXECUTE),
    ("RC", 0x00020000), ("SD", 0x00010000), ("WD", 0x00040000), ("WO", 0x00080000),
    ("RP", 0x10), ("WP", 0x20), ("CC", 0x1), ("DC", 0x2), ("LC", 0x4), ("SW", 0x8), ("LO", 0x80),
    ("DT", 0x40), ("CR", 0x100),
    ("FA", 0x1F01FF), ("FR", 0x120089), ("FW", 0x120116), ("FX", 0x1200A0),
    ("KA", 0xF003F), ("KR", 0x20019), ("KW", 0x20006), ("KX", 0x20019),
    ("NR", 0x1), ("NW", 0x2), ("NX", 0x4),
)
_RIGHT_MASK = dict(RIGHTS)
_COMPOSITE = ("FA", "FR", "FW", "FX", "KA", "KR", "KW")           # rendered only on an exact match
_SINGLE_BITS = ("GA", "GR", "GW", "GX", "RC", "SD", "WD", "WO", "RP", "WP", "CC", "DC", "LC", "SW", "LO", "DT", "CR")
_LABEL_BITS = ("NR", "NW", "NX")

# WinRM's reading of the generic rights ([MS-WSMV] 3.1.4.1.28).
WINRM_PERMISSIONS = (("read", GENERIC_READ, "Get and Enumerate"),
                     ("write", GENERIC_WRITE, "Put, Create and Delete"),
                     ("execute", GENERIC_EXECUTE, "shells (PowerShell remoting, WinRS) and other actions"))

_SID_VALUE = re.compile(r"[Ss]-1-(?:0[xX][0-9A-Fa-f]{12}|[0-9]{1,10})(?:-[0-9]{1,10}){1,15}")
_GUID = re.compile(r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$")
# Compiled when the module is imported (in the controller's main process, which Ansible's workers fork from).
_ALIAS = re.compile(r"[A-Z]{2}")
_PART = re.compile(r"[OGDS]:")
_RIGHTS_HEX = re.compile(r"0[xX][0-9A-Fa-f]{1,8}")
_RIGHTS_OCTAL = re.compile(r"0[0-7]+")
_RIGHTS_DECIMAL = re.compile(r"[1-9][0-9]*|0")


class SddlError(ValueError):
    """The SDDL text is not valid; ``position`` is the 0-based index where it goes wrong."""

    def __init__(self, text: str, position: int, problem: str) -> None:
        self.text, self.position, self.problem = text, position, problem
        near = text[position:position + 12]
        super().__init__("invalid SDDL at character %d%s: %s" % (
            position + 1, " (near %r)" % near if near else " (at the end)", problem))


# ----------------------------------------------------------------------------------------------
# Model
# ----------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Ace:
    type: str
    flags: t.FrozenSet[str]
    mask: int
    trustee: str                       # canonical: a fixed SID as S-1-..., a domain-relative alias as itself
    object_guid: str = ""
    inherit_object_guid: str = ""
    extra: t.Optional[str] = None      # condition expression / resource attribute, verbatim

    def render(self) -> str:
        fields = [self.type, "".join(f for f in ACE_FLAGS if f in self.flags),
                  render_rights(self.mask, label=self.type == "ML"), self.object_guid,
                  self.inherit_object_guid, sid_token(self.trustee)]
        if self.extra is not None:
            fields.append(self.extra)
        return "(" + ";".join(fields) + ")"

    @property
    def inherit_only(self) -> bool:
        return "IO" in self.flags


@dataclasses.dataclass(frozen=True)
class Acl:
    flags: t.FrozenSet[str]
    aces: t.Tuple[Ace, ...]

    def render(self) -> str:
        return "".join(f for f in ACL_FLAGS if f in self.flags) + "".join(a.render() for a in self.aces)


@dataclasses.dataclass(frozen=True)
class SecurityDescriptor:
    owner: t.Optional[str] = None
    group: t.Optional[str] = None
    dacl: t.Optional[Acl] = None
    sacl: t.Optional[Acl] = None

    def render(self) -> str:
        """Canonical SDDL: components in O, G, D, S order, aliases for well-known SIDs, rights by mask."""
        parts = []
        if self.owner is not None:
            parts.append("O:" + sid_token(self.owner))
        if self.group is not None:
            parts.append("G:" + sid_token(self.group))
        if self.dacl is not None:
            parts.append("D:" + self.dacl.render())
        if self.sacl is not None:
            parts.append("S:" + self.sacl.render())
        return "".join(parts)

    __str__ = render


def sid_token(trustee: str) -> str:
    """Canonical trustee -> what SDDL writes: the alias when there is one, else the S-1-... string."""
    return _ALIAS_OF_SID.get(trustee, trustee)


def trustee_name(trustee: str) -> str:
    """Readable name: 'BUILTIN\\Administrators' for S-1-5-32-544 or BA; the SID itself when unknown."""
    alias = _ALIAS_OF_SID.get(trustee, trustee)
    return SID_ALIASES[alias][1] if alias in SID_ALIASES else trustee


def render_rights(mask: int, label: bool = False) -> str:
    """Mask -> rights codes (composites only on an exact match); hex when some bit has no code; '' for 0."""
    if mask == 0:
        return ""
    for code in _COMPOSITE:
        if mask == _RIGHT_MASK[code] and not label:
            return code
    names, left = [], mask
    for code in (_LABEL_BITS if label else _SINGLE_BITS):
        bit = _RIGHT_MASK[code]
        if left & bit:
            names.append(code)
            left &= ~bit
    if left:
        return "0x%x" % mask
    return "".join(names)


# ----------------------------------------------------------------------------------------------
# Parser
# ----------------------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, problem: str, position: t.Optional[int] = None) -> t.NoReturn:
        raise SddlError(self.text, self.pos if position is None else position, problem)

    def sid(self, end: int, what: str) -> str:
        """A SID string starting at pos and ending no later than ``end``; returns the canonical form."""
        start = self.pos
        match = _SID_VALUE.match(self.text, start, end)
        if match:
            self.pos = match.end()
            return _canonical_sid(match.group(0), self, start)
        alias = self.text[start:start + 2]
        if start + 2 <= end and _ALIAS.fullmatch(alias):
            if alias not in SID_ALIASES:
                self.fail("unknown SID alias %r for the %s (Microsoft's SID strings list the aliases; "
                          "write other accounts as S-1-...)" % (alias, what))
            self.pos = start + 2
            sid = SID_ALIASES[alias][0]
            return sid or alias
        self.fail("expected the %s as a SID (S-1-...) or a two-letter alias" % what)

    def descriptor(self) -> SecurityDescriptor:
        parts: t.Dict[str, t.Any] = {}
        while self.pos < len(self.text):
            start = self.pos
            key = self.text[start:start + 2]
            if key not in ("O:", "G:", "D:", "S:"):
                if parts:
                    self.fail("unexpected text after the %s; a new part starts with O:, G:, D: or S:"
                              % _PART_NAMES[list(parts)[-1]])
                self.fail("expected O:, G:, D: or S:")
            if key[0] in parts:
                self.fail("the %s appears twice" % _PART_NAMES[key[0]])
            self.pos += 2
            if key[0] in "OG":
                end = self._next_part(self.pos)
                parts[key[0]] = self.sid(end, _PART_NAMES[key[0]])
            else:
                parts[key[0]] = self.acl(key[0])
        return SecurityDescriptor(owner=parts.get("O"), group=parts.get("G"), dacl=parts.get("D"),
                                  sacl=parts.get("S"))

    def _next_part(self, start: int) -> int:
        match = _PART.search(self.text, start)
        return match.start() if match else len(self.text)

    def acl(self, which: str) -> Acl:
        flags: t.Set[str] = set()
        while True:
            for flag in ("NO_ACCESS_CONTROL", "AR", "AI", "P"):
                if self.text.startswith(flag, self.pos):
                    flags.add(flag)
                    self.pos += len(flag)
                    break
            else:
                break
        aces = []
        while self.pos < len(self.text) and self.text[self.pos] == "(":
            aces.append(self.ace(which))
        return Acl(flags=frozenset(flags), aces=tuple(aces))

    def _ace_end(self, start: int) -> int:
        """Index of the ')' closing the ACE opened at ``start`` (conditions nest parentheses, quote strings)."""
        depth, index, quoted = 0, start, False
        while index < len(self.text):
            char = self.text[index]
            if quoted:
                quoted = char != '"'
            elif char == '"':
                quoted = True
            elif char == "(":
                depth += 1
            elif char == ")":
                depth -= 1
                if depth == 0:
                    return index
            index += 1
        self.fail("ACE is not closed by ')'", start)

    def ace(self, which: str) -> Ace:
        start = self.pos
        end = self._ace_end(start)
        body_start = start + 1
        fields, positions, cursor = [], [], body_start
        # Split on ';' at depth 0 only: the 7th field of a conditional ACE has its own parentheses.
        depth, quoted, field_start = 0, False, body_start
        for index in range(body_start, end):
            char = self.text[index]
            if quoted:
                quoted = char != '"'
            elif char == '"':
                quoted = True
            elif char == "(":
                depth += 1
            elif char == ")":
                depth -= 1
            elif char == ";" and depth == 0 and len(fields) < 6:
                fields.append(self.text[field_start:index])
                positions.append(field_start)
                field_start = index + 1
        fields.append(self.text[field_start:end])
        positions.append(field_start)
        cursor = end + 1

        ace_type = fields[0]
        if ace_type not in ACE_TYPES:
            self.fail("unknown ACE type %r (A, D, OA, OD, AU, ...)" % ace_type, positions[0])
        expected = 7 if ace_type in _TYPES_WITH_EXTRA else 6
        if len(fields) != expected:
            self.fail("a %s ACE has %d fields separated by ';' (type;flags;rights;object;inherited "
                      "object;trustee%s), found %d" % (ace_type, expected, ";condition" if expected == 7 else "",
                                                       len(fields)), start)
        if which == "D" and ace_type in SACL_TYPES:
            self.fail("a %s ACE belongs in the SACL (S:), not the DACL" % ace_type, positions[0])
        if which == "S" and ace_type in ALLOW_TYPES + DENY_TYPES:
            self.fail("a %s ACE belongs in the DACL (D:), not the SACL" % ace_type, positions[0])
        flags = self._flags(fields[1], positions[1])
        mask = self._rights(fields[2], positions[2], ace_type)
        guids = []
        for index in (3, 4):
            guid = fields[index]
            if guid and not _GUID.match(guid):
                self.fail("not a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx): %r" % guid, positions[index])
            guids.append(guid.lower())
        if any(guids) and ace_type not in ("OA", "OD", "OU", "OL"):
            self.fail("only object ACEs (OA, OD, OU, OL) carry object GUIDs", positions[3])
        self.pos = positions[5]
        trustee = self.sid(positions[5] + len(fields[5]), "ACE's trustee")
        if self.pos != positions[5] + len(fields[5]):
            self.fail("unexpected text after the ACE's trustee")
        extra = None
        if expected == 7:
            extra = fields[6]
            if not (extra.startswith("(") and extra.endswith(")")):
                self.fail("a %s ACE's last field is a parenthesised expression" % ace_type, positions[6])
        # Microsoft "ACE Strings": an OA ACE without GUIDs is converted to an A ACE.
        if ace_type == "OA" and not any(guids):
            ace_type = "A"
        self.pos = cursor
        return Ace(type=ace_type, flags=flags, mask=mask, trustee=trustee, object_guid=guids[0],
                   inherit_object_guid=guids[1], extra=extra)

    def _flags(self, text: str, at: int) -> t.FrozenSet[str]:
        if len(text) % 2:
            self.fail("ACE flags are two-letter codes (%s)" % ", ".join(ACE_FLAGS), at)
        flags = set()
        for index in range(0, len(text), 2):
            code = text[index:index + 2]
            if code not in ACE_FLAGS:
                self.fail("unknown ACE flag %r (%s)" % (code, ", ".join(ACE_FLAGS)), at + index)
            flags.add(code)
        return frozenset(flags)

    def _rights(self, text: str, at: int, ace_type: str) -> int:
        # [MS-DTYP] ace-rights: text codes, or "0x" 1*8HEXDIG, or octal "0" 1*7, or decimal.
        if _RIGHTS_HEX.fullmatch(text):
            return int(text, 16)
        if _RIGHTS_OCTAL.fullmatch(text):
            return int(text, 8)
        if _RIGHTS_DECIMAL.fullmatch(text):
            value = int(text)
            if value > 0xFFFFFFFF:
                self.fail("rights value %s does not fit in 32 bits" % text, at)
            return value
        if len(text) % 2:
            self.fail("rights are two-letter codes (GA, GR, GW, GX, ...) or a number such as 0x10000000", at)
        mask = 0
        for index in range(0, len(text), 2):
            code = text[index:index + 2]
            if code not in _RIGHT_MASK:
                self.fail("unknown right %r (GA, GR, GW, GX, RC, SD, WD, WO, FA, KA, ...)" % code, at + index)
            mask |= _RIGHT_MASK[code]
        return mask


_PART_NAMES = {"O": "owner", "G": "group", "D": "DACL", "S": "SACL"}


def _canonical_sid(text: str, parser: t.Optional[_Parser] = None, at: int = 0) -> str:
    parts = text.split("-")
    authority = parts[2]
    value = int(authority, 16) if authority.lower().startswith("0x") else int(authority)
    numbers = [int(p) for p in parts[3:]]
    if value >= 1 << 48 or any(n > 0xFFFFFFFF for n in numbers):
        if parser:
            parser.fail("SID %s has a part out of range" % text, at)
        raise ValueError("SID %s has a part out of range" % text)
    # [MS-DTYP] 2.4.2.1: authorities below 2^32 are written in decimal, larger ones in hex.
    head = str(value) if value < 1 << 32 else "0x%012X" % value
    return "-".join(["S", "1", head] + [str(n) for n in numbers])


def parse(text: str) -> SecurityDescriptor:
    """SDDL -> SecurityDescriptor. Raises SddlError naming the position for anything Windows refuses."""
    if not isinstance(text, str):
        raise SddlError(str(text), 0, "an SDDL string is text")
    parser = _Parser(text.strip())
    if not parser.text:
        parser.fail("the SDDL string is empty")
    return parser.descriptor()


def canonical(text: str) -> str:
    return parse(text).render()


def equivalent(first: t.Union[str, SecurityDescriptor], second: t.Union[str, SecurityDescriptor]) -> bool:
    """Same descriptor up to spelling: aliases vs SIDs, rights codes vs masks, flag order, GUID case."""
    one = parse(first) if isinstance(first, str) else first
    two = parse(second) if isinstance(second, str) else second
    return one.render() == two.render()


# ----------------------------------------------------------------------------------------------
# Who may do what
# ----------------------------------------------------------------------------------------------


def resolve_trustee(value: str) -> str:
    """'RM', 'S-1-5-32-580', 'BUILTIN\\Remote Management Users' or 'Remote Management Users' -> canonical."""
    text = str(value or "").strip()
    if _SID_VALUE.fullmatch(text):
        return _canonical_sid(text)
    if text in SID_ALIASES:
        return SID_ALIASES[text][0] or text
    wanted = text.lower()
    for alias, (sid, name) in SID_ALIASES.items():
        if wanted in (name.lower(), name.split("\\")[-1].lower()):
            return sid or alias
    raise ValueError("trustee %r is neither a SID (S-1-...), an SDDL alias (BA, RM, ...) nor a well-known "
                     "account name; give a domain or local account by its SID" % value)


def expand_generic(mask: int) -> int:
    """GA stands for GR, GW and GX in WinRM's checks."""
    return mask | (GENERIC_READ | GENERIC_WRITE | GENERIC_EXECUTE if mask & GENERIC_ALL else 0)


@dataclasses.dataclass(frozen=True)
class Grant:
    trustee: str
    name: str
    allowed: int
    denied: int

    @property
    def effective(self) -> int:
        return expand_generic(self.allowed) & ~expand_generic(self.denied)

    @property
    def rights(self) -> str:
        return render_rights(self.allowed)

    def winrm_permissions(self) -> t.List[str]:
        return [name for name, bit, _meaning in WINRM_PERMISSIONS if self.effective & bit]

    def to_dict(self) -> t.Dict[str, t.Any]:
        return {"trustee": sid_token(self.trustee), "sid": self.trustee if self.trustee.startswith("S-") else None,
                "name": self.name, "rights": self.rights,
                "denied": render_rights(self.denied) if self.denied else None,
                "winrm": self.winrm_permissions()}


def grants(descriptor: t.Union[str, SecurityDescriptor], unconditional: bool = False) -> t.List[Grant]:
    """Per trustee of the DACL (in order of first appearance): allowed and denied rights.

    Inherit-only ACEs do not apply to the object itself and are skipped. Group membership is not
    expanded: a deny for Everyone is reported on Everyone. No DACL means full access for everyone
    (a NULL DACL); an empty DACL grants nothing. ``unconditional``: leave out the callback
    (conditional) allows, whose condition may not hold for a given token (denies always count).
    """
    sd = parse(descriptor) if isinstance(descriptor, str) else descriptor
    if sd.dacl is None:
        return [Grant("S-1-1-0", trustee_name("S-1-1-0"), GENERIC_ALL, 0)]
    table: t.Dict[str, t.List[int]] = {}
    for ace in sd.dacl.aces:
        if ace.inherit_only or ace.type not in ALLOW_TYPES + DENY_TYPES or ace.object_guid:
            continue
        if unconditional and ace.type in CONDITIONAL_ALLOW_TYPES:
            continue
        entry = table.setdefault(ace.trustee, [0, 0])
        entry[0 if ace.type in ALLOW_TYPES else 1] |= ace.mask
    return [Grant(trustee, trustee_name(trustee), allowed, denied) for trustee, (allowed, denied) in table.items()]


def allows(descriptor: t.Union[str, SecurityDescriptor], trustees: t.Iterable[str], right: int,
           denied_to: t.Optional[t.Iterable[str]] = None, unconditional: bool = False) -> bool:
    """Whether any of ``trustees`` (canonical or aliases) holds ``right`` after the DACL's denies.

    ``denied_to``: the trustees whose deny ACEs count, when they are not ``trustees`` (a token known
    only in part: allowed through what it surely holds, denied through whatever it may hold).
    ``unconditional``: only allows that hold whatever the token's claims (see ``grants``).
    """
    wanted = {resolve_trustee(x) for x in trustees}
    deny_wanted = wanted if denied_to is None else {resolve_trustee(x) for x in denied_to}
    every = grants(descriptor, unconditional)
    denied = 0
    for grant in every:
        if grant.trustee in deny_wanted or grant.trustee == "S-1-1-0":
            denied |= expand_generic(grant.denied)
    allowed = 0
    for grant in every:
        if grant.trustee in wanted:
            allowed |= expand_generic(grant.allowed)
    return bool(allowed & right) and not denied & right


def _mask_of(rights: t.Union[str, int]) -> int:
    if isinstance(rights, int):
        return rights
    parser = _Parser(str(rights))
    return parser._rights(str(rights), 0, "A")


def add_allow(descriptor: t.Union[str, SecurityDescriptor], trustee: str,
              rights: t.Union[str, int] = "GA") -> SecurityDescriptor:
    """Grant ``rights`` to ``trustee`` with a plain allow ACE; unchanged if it already holds them.

    Widens the trustee's existing explicit allow ACE, else adds one after the explicit ACEs and
    before the inherited ones (the canonical ACL order).
    """
    sd = parse(descriptor) if isinstance(descriptor, str) else descriptor
    who, mask = resolve_trustee(trustee), _mask_of(rights)
    dacl = sd.dacl if sd.dacl is not None else Acl(frozenset(), ())
    aces = list(dacl.aces)
    for index, ace in enumerate(aces):
        if _plain_allow(ace, who):
            if expand_generic(ace.mask) & expand_generic(mask) == expand_generic(mask):
                return sd
            aces[index] = dataclasses.replace(ace, mask=ace.mask | mask)
            break
    else:
        at = next((i for i, ace in enumerate(aces) if "ID" in ace.flags), len(aces))
        aces.insert(at, Ace(type="A", flags=frozenset(), mask=mask, trustee=who))
    return dataclasses.replace(sd, dacl=dataclasses.replace(dacl, aces=tuple(aces)))


def remove_allow(descriptor: t.Union[str, SecurityDescriptor], trustee: str,
                 rights: t.Optional[t.Union[str, int]] = None) -> SecurityDescriptor:
    """Take ``rights`` (all, when None) from the trustee's explicit allow ACEs; drops ACEs left empty."""
    sd = parse(descriptor) if isinstance(descriptor, str) else descriptor
    if sd.dacl is None:
        return sd
    who = resolve_trustee(trustee)
    mask = None if rights is None else _mask_of(rights)
    aces = []
    for ace in sd.dacl.aces:
        if _plain_allow(ace, who):
            if mask is None:
                continue
            held = ace.mask
            if held & GENERIC_ALL and not mask & GENERIC_ALL:
                # Taking part of GA (say GW): what stays is the rest of GA (GR and GX).
                held = expand_generic(held) & ~GENERIC_ALL
            left = held & ~mask
            if left == 0:
                continue
            ace = dataclasses.replace(ace, mask=left)
        aces.append(ace)
    return dataclasses.replace(sd, dacl=dataclasses.replace(sd.dacl, aces=tuple(aces)))


def _plain_allow(ace: Ace, trustee: str) -> bool:
    return ace.type == "A" and ace.trustee == trustee and not ace.flags & {"ID", "IO"}
