# -*- coding: utf-8 -*-
# Copyright: contributors to the wsman.winrm collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Who and what the computer is, read over WMI through the same WS-Man session.

- ``Win32_ComputerSystem`` (Microsoft Learn, "Win32_ComputerSystem class": Name, Domain,
  PartOfDomain, DomainRole 0-5) and ``Win32_OperatingSystem`` ("Win32_OperatingSystem class":
  Caption, Version, BuildNumber, ProductType 1 workstation / 2 domain controller / 3 server).
- Local groups and their members: ``Win32_Group`` (Domain, Name, SID), ``Win32_GroupUser`` (each
  membership as two references: GroupComponent, the group; PartComponent, the member - a user or a
  group, local or from the domain). Microsoft Learn, "Win32_Group class", "Win32_GroupUser class".
  Membership is what makes a descriptor's group mean people: WinRMRemoteWMIUsers__ ("Authentication
  for Remote Connections", "Default Group Access"), Remote Management Users, a JEA role group.

Each read is one Enumerate; nothing here writes.
"""

from __future__ import annotations

import dataclasses
import typing as t
import xml.etree.ElementTree as ET

from ansible_collections.wsman.winrm.plugins.module_utils.config import local_name
from ansible_collections.wsman.winrm.plugins.module_utils.wsman import WSManFault, output_values

CIMV2_URI = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/"
WSMAN_NS = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
DOMAIN_ROLES = ("standalone_workstation", "member_workstation", "standalone_server", "member_server",
                "backup_domain_controller", "primary_domain_controller")
PRODUCT_TYPES = {1: "workstation", 2: "domain_controller", 3: "server"}


def _int(value: t.Optional[str]) -> t.Optional[int]:
    text = (value or "").strip()
    return int(text) if text.lstrip("-").isdigit() else None


def _bool(value: t.Optional[str]) -> t.Optional[bool]:
    text = (value or "").strip().lower()
    return {"true": True, "false": False}.get(text)


@dataclasses.dataclass
class SystemInfo:
    computer_name: t.Optional[str] = None
    dns_host_name: t.Optional[str] = None
    domain: t.Optional[str] = None
    part_of_domain: t.Optional[bool] = None
    domain_role: t.Optional[int] = None
    os_caption: t.Optional[str] = None
    os_version: t.Optional[str] = None
    build_number: t.Optional[str] = None
    product_type: t.Optional[int] = None

    @property
    def certificate_names(self) -> t.List[str]:
        """The names a certificate for this computer is issued to: the NetBIOS name, the DNS host name,
        and the FQDN when the computer is in a domain (Microsoft Learn, "Win32_ComputerSystem class":
        Name, DNSHostName, Domain, PartOfDomain)."""
        host = self.dns_host_name or self.computer_name or ""
        candidates = [self.computer_name, host]
        if self.part_of_domain and self.domain:
            candidates.append("%s.%s" % (host, self.domain))
        names: t.List[str] = []
        for name in candidates:
            if name and name.lower() not in [n.lower() for n in names]:
                names.append(name)
        return names

    def to_dict(self) -> t.Dict[str, t.Any]:
        result = dataclasses.asdict(self)
        del result["dns_host_name"]  # the certificate names carry it; the reports keep their shape
        result["domain_role_name"] = (DOMAIN_ROLES[self.domain_role]
                                      if self.domain_role is not None and 0 <= self.domain_role < 6 else None)
        result["product_type_name"] = PRODUCT_TYPES.get(self.product_type) if self.product_type else None
        return result


def read_system(session: t.Any, operating_system: bool = True) -> SystemInfo:
    """One Enumerate of the computer, and one of its operating system unless told not to."""
    computer = next(iter(session.enumerate(CIMV2_URI + "Win32_ComputerSystem")), None)
    system = next(iter(session.enumerate(CIMV2_URI + "Win32_OperatingSystem")), None) if operating_system else None
    c = output_values(computer) if computer is not None else {}
    o = output_values(system) if system is not None else {}
    return SystemInfo(computer_name=c.get("Name"), dns_host_name=c.get("DNSHostName"), domain=c.get("Domain"), part_of_domain=_bool(c.get("PartOfDomain")),
                      domain_role=_int(c.get("DomainRole")), os_caption=o.get("Caption"), os_version=o.get("Version"),
                      build_number=o.get("BuildNumber"), product_type=_int(o.get("ProductType")))


def _reference_keys(element: t.Optional[ET.Element]) -> t.Tuple[str, t.Dict[str, str]]:
    """(class name, selectors) of a reference property (an endpoint reference)."""
    if element is None:
        return "", {}
    uri = next((e.text or "" for e in element.iter() if local_name(e.tag) == "ResourceURI"), "")
    keys = {s.get("Name", ""): (s.text or "") for s in element.iter("{%s}Selector" % WSMAN_NS)}
    return uri.rstrip("/").rpartition("/")[2], keys


@dataclasses.dataclass
class LocalGroup:
    name: str
    domain: str
    sid: str
    members: t.List[str]            # DOMAIN\name of each member, as Windows names them

    @property
    def qualified(self) -> str:
        return "%s\\%s" % (self.domain, self.name)

    def to_dict(self) -> t.Dict[str, t.Any]:
        return {"name": self.name, "domain": self.domain, "sid": self.sid, "members": list(self.members)}


class LocalGroups:
    """The computer's local groups by SID, with their members."""

    def __init__(self, groups: t.Iterable[LocalGroup]):
        self.by_sid = {g.sid.upper(): g for g in groups if g.sid}

    def get(self, sid: str) -> t.Optional[LocalGroup]:
        return self.by_sid.get((sid or "").upper())

    def find(self, name: str) -> t.Optional[LocalGroup]:
        wanted = (name or "").lower()
        return next((g for g in self.by_sid.values() if wanted in (g.name.lower(), g.qualified.lower())), None)

    def to_list(self) -> t.List[t.Dict[str, t.Any]]:
        return [g.to_dict() for g in sorted(self.by_sid.values(), key=lambda g: g.name.lower())]


def read_local_groups(session: t.Any) -> LocalGroups:
    """Two Enumerates: Win32_Group (names and SIDs), Win32_GroupUser (every membership)."""
    groups = {}
    for element in session.enumerate(CIMV2_URI + "Win32_Group"):
        values = output_values(element)
        if (values.get("LocalAccount") or "true").lower() == "false":
            continue
        key = ((values.get("Domain") or "").lower(), (values.get("Name") or "").lower())
        groups[key] = LocalGroup(values.get("Name") or "", values.get("Domain") or "", values.get("SID") or "", [])
    for element in session.enumerate(CIMV2_URI + "Win32_GroupUser"):
        parts = {local_name(child.tag): child for child in element}
        _group_class, group_keys = _reference_keys(parts.get("GroupComponent"))
        _member_class, member_keys = _reference_keys(parts.get("PartComponent"))
        group = groups.get((group_keys.get("Domain", "").lower(), group_keys.get("Name", "").lower()))
        if group is not None and member_keys.get("Name"):
            group.members.append("%s\\%s" % (member_keys.get("Domain", ""), member_keys["Name"]))
    return LocalGroups(groups.values())


def find_account_sid(session: t.Any, name: str, computer_name: str) -> t.Optional[str]:
    """The SID of a group or user given as NAME or DOMAIN\\NAME (local by default), or None.

    One Get of Win32_Group, then (if it is not a group) one of Win32_UserAccount: the WMI provider
    resolves domain accounts through the domain on a member computer.
    """
    domain, _sep, account = name.rpartition("\\")
    domain = domain or computer_name
    for cls in ("Win32_Group", "Win32_UserAccount"):
        try:
            element = session.get(CIMV2_URI + cls, selectors={"Domain": domain, "Name": account})
        except WSManFault:
            continue        # not an instance of this class (the service answers "not found")
        sid = output_values(element).get("SID")
        if sid:
            return sid
    return None
