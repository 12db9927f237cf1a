"""WMI/CIM classes of a simulated host, as the WinRM WMI plugin exposes them.

A class lives at ``http://schemas.microsoft.com/wbem/wsman/1/wmi/<namespace>/<class>`` (MS-WSMV
3.1.4.1.1, DSP0227): WS-Transfer Get/Put/Create/Delete on an instance (selectors = the keys),
WS-Enumeration of the instances (selectors filter them), association traversal through the DSP0227
association filter, and methods as Invoke (``wsa:Action <resource URI>/<Method>``).

Each class below maps CIM properties to the component models; ``protocol/resources/wmi.py`` turns
them into XML and back. To add a class, subclass ``CimClass`` and list it in ``CLASSES``. Who may
use them: the WMI plugin's security descriptor (``model/plugins.py``), then an administrator's token
for anything that writes.
"""
from __future__ import annotations

import dataclasses
import uuid

from ..protocol.faults import WSManFault
from . import firewall as fw
from .registry import (ACCESS_DENIED, NOT_FOUND, REG_BINARY, REG_DWORD, REG_EXPAND_SZ, REG_MULTI_SZ, REG_QWORD,
                       REG_SZ, TYPE_NUMBERS)

HKEY_LOCAL_MACHINE = 2147483650
WBEM_E_TYPE_MISMATCH = 2147749893


@dataclasses.dataclass(frozen=True)
class Reference:
    """A CIM reference property: the referenced instance's class and keys (rendered as its EPR)."""
    class_name: str
    keys: tuple[tuple[str, str], ...]
    namespace: str = "root/cimv2"


class CimClass:
    namespace = "root/cimv2"
    name = ""
    keys: tuple[str, ...] = ("InstanceID",)
    writable = True    # whether WS-Transfer writes are possible at all (an administrator's)

    def __init__(self, host):
        self.host = host

    def instances(self) -> list[dict]:
        return []

    def get(self, keys: dict) -> dict:
        for instance in self.instances():
            if all(str(instance.get(k, "")).lower() == str(v).lower() for k, v in keys.items()):
                return instance
        raise WSManFault("RESOURCE_NOT_FOUND")

    def put(self, keys: dict, values: dict[str, list]) -> dict:
        raise WSManFault("ACTION_NOT_SUPPORTED")

    def create(self, values: dict[str, list]) -> dict:
        raise WSManFault("ACTION_NOT_SUPPORTED")

    def delete(self, keys: dict) -> None:
        raise WSManFault("ACTION_NOT_SUPPORTED")

    def method(self, name: str):
        """The implementation of a method (``m_<Name>``), or None."""
        return getattr(self, "m_" + name, None)

    def associated(self, association: str, keys: dict, result_class: str | None) -> list[tuple[str, dict]]:
        """Instances associated with the instance ``keys`` through ``association``: [(class, instance)]."""
        raise WSManFault("CANNOT_PROCESS_FILTER")

    def key_values(self, instance: dict) -> list[tuple[str, str]]:
        return [(k, str(instance[k])) for k in self.keys]


def _single(values: dict, name: str) -> str | None:
    items = values.get(name)
    return None if not items else items[-1]


def _int(text, allowed=None) -> int:
    try:
        value = int((text or "").strip())
    except ValueError:
        raise WSManFault("INVALID_PARAMETER_WIN32") from None
    if allowed is not None and value not in allowed:
        raise WSManFault("INVALID_PARAMETER_WIN32")
    return value


def _bool(text) -> bool:
    lower = (text or "").strip().lower()
    if lower not in ("true", "false"):
        raise WSManFault("INVALID_PARAMETER_WIN32")
    return lower == "true"


# --- root/default StdRegProv ----------------------------------------------------------------------
class StdRegProv(CimClass):
    """The registry provider (Microsoft Learn, "StdRegProv class"): ReturnValue 0, 2 (not found),
    5 (access denied) or WBEM_E_TYPE_MISMATCH; only HKEY_LOCAL_MACHINE is modelled."""

    namespace = "root/default"
    name = "StdRegProv"
    keys = ()

    @property
    def registry(self):
        return self.host.registry

    def read_access(self, method: str) -> bool:
        return method.startswith(("Get", "Enum", "Check"))

    @staticmethod
    def _hive(params) -> int:
        hive = (params.get("hDefKey") or [str(HKEY_LOCAL_MACHINE)])[-1].strip()
        if not hive.isdigit():
            raise WSManFault("INVALID_PARAMETER_WIN32")
        return int(hive)

    def _target(self, params):
        """(key path, value name), or None for another hive."""
        if self._hive(params) != HKEY_LOCAL_MACHINE:
            return None
        return (_single(params, "sSubKeyName") or "").strip("\\"), _single(params, "sValueName") or ""

    def _get(self, params, kind, out_name, convert=lambda v: v):
        target = self._target(params)
        entry = self.registry.value(*target) if target else None
        if entry is None:
            return [("ReturnValue", NOT_FOUND), (out_name, None)]
        if entry[0] != kind:
            return [("ReturnValue", WBEM_E_TYPE_MISMATCH), (out_name, None)]
        return [("ReturnValue", 0), (out_name, convert(entry[1]))]

    def _set(self, params, kind, data):
        target = self._target(params)
        if target is None:
            return [("ReturnValue", NOT_FOUND)]
        return [("ReturnValue", self.registry.set_value(target[0], target[1], kind, data))]

    def m_GetDWORDValue(self, params):
        return self._get(params, REG_DWORD, "uValue")

    def m_GetQWORDValue(self, params):
        return self._get(params, REG_QWORD, "uValue")

    def m_GetStringValue(self, params):
        return self._get(params, REG_SZ, "sValue")

    def m_GetExpandedStringValue(self, params):
        return self._get(params, REG_EXPAND_SZ, "sValue")

    def m_GetMultiStringValue(self, params):
        return self._get(params, REG_MULTI_SZ, "sValue", list)

    def m_GetBinaryValue(self, params):
        return self._get(params, REG_BINARY, "uValue", list)

    def _number(self, params, limit):
        raw = (_single(params, "uValue") or "0").strip()
        if not raw.isdigit() or int(raw) > limit:
            raise WSManFault("INVALID_PARAMETER_WIN32")
        return int(raw)

    def m_SetDWORDValue(self, params):
        return self._set(params, REG_DWORD, self._number(params, 0xFFFFFFFF))

    def m_SetQWORDValue(self, params):
        return self._set(params, REG_QWORD, self._number(params, 0xFFFFFFFFFFFFFFFF))

    def m_SetStringValue(self, params):
        return self._set(params, REG_SZ, _single(params, "sValue") or "")

    def m_SetExpandedStringValue(self, params):
        return self._set(params, REG_EXPAND_SZ, _single(params, "sValue") or "")

    def m_SetMultiStringValue(self, params):
        return self._set(params, REG_MULTI_SZ, [v or "" for v in params.get("sValue", [])])

    def m_SetBinaryValue(self, params):
        try:
            data = bytes(int(v) for v in params.get("uValue", []))
        except ValueError:
            raise WSManFault("INVALID_PARAMETER_WIN32") from None
        return self._set(params, REG_BINARY, data)

    def m_DeleteValue(self, params):
        target = self._target(params)
        return [("ReturnValue", self.registry.delete_value(*target) if target else NOT_FOUND)]

    def m_CreateKey(self, params):
        target = self._target(params)
        return [("ReturnValue", self.registry.create_key(target[0]) if target else NOT_FOUND)]

    def m_DeleteKey(self, params):
        target = self._target(params)
        return [("ReturnValue", self.registry.delete_key(target[0]) if target else NOT_FOUND)]

    def m_EnumKey(self, params):
        target = self._target(params)
        key = self.registry.key(target[0]) if target else None
        if key is None:
            return [("ReturnValue", NOT_FOUND), ("sNames", None)]
        return [("ReturnValue", 0), ("sNames", self.registry.subkeys(key) or None)]

    def m_EnumValues(self, params):
        target = self._target(params)
        values = self.registry.values(target[0]) if target else None
        if values is None:
            return [("ReturnValue", NOT_FOUND), ("sNames", None), ("Types", None)]
        names = list(values)
        if not names:
            return [("ReturnValue", 0), ("sNames", None), ("Types", None)]
        return [("ReturnValue", 0), ("sNames", names), ("Types", [TYPE_NUMBERS[values[n][0]] for n in names])]

    def m_CheckAccess(self, params):
        target = self._target(params)
        key = self.registry.key(target[0]) if target else None
        if key is None:
            return [("ReturnValue", NOT_FOUND), ("bGranted", False)]
        required = int((_single(params, "uRequired") or "1").strip() or "1")
        granted = required & ~1 == 0 or self.registry.writable(key)   # KEY_QUERY_VALUE is always granted
        return [("ReturnValue", 0 if granted else ACCESS_DENIED), ("bGranted", granted)]


# --- root/StandardCimv2: Windows Firewall --------------------------------------------------------
def _creation_class(rule: dict) -> str:
    return f"MSFT|FW|FirewallRule|{rule['InstanceID']}"


class _FirewallClass(CimClass):
    namespace = "root/StandardCimv2"

    @property
    def firewall(self):
        return self.host.firewall

    def _rule(self, keys: dict) -> dict:
        rule = self.firewall.find(keys.get("InstanceID", ""))
        if rule is None:
            raise WSManFault("RESOURCE_NOT_FOUND")
        return rule

    def _changes(self, rule: dict, values: dict, writable: dict) -> dict:
        """Validated changes of a (partial or whole) instance Put: writable properties parsed, every
        other property must keep its value (a whole instance comes back with them unchanged)."""
        instance_id = values.pop("InstanceID", [rule["InstanceID"]])
        if len(instance_id) != 1 or (instance_id[0] or "").lower() != rule["InstanceID"].lower():
            raise WSManFault("CANNOT_CHANGE_KEYS")
        current = self.render(rule)
        changes = {}
        for name, items in values.items():
            if name in writable:
                changes.update(writable[name](items))
            elif name not in current or _texts(current[name]) != [i for i in items if i is not None]:
                # A property the provider does not let a Put change [INF: the code].
                raise WSManFault("INVALID_PARAMETER_WIN32")
        if rule["PolicyStoreSourceType"] == fw.SOURCE_GROUP_POLICY and any(rule[k] != v for k, v in changes.items()):
            raise WSManFault("ACCESS_DENIED")  # a rule from Group Policy is read-only in the local store [INF]
        return changes

    WRITABLE: dict = {}

    def render(self, rule: dict) -> dict:
        raise NotImplementedError

    def check(self, rule: dict, changes: dict) -> None:
        """Rules between properties, beyond each value's own (none by default)."""

    def put(self, keys, values):
        rule = self._rule(keys)
        changes = self._changes(rule, dict(values), self.WRITABLE)
        self.check(rule, changes)
        self.firewall.update(rule, changes)
        return self.render(rule)

    def instances(self) -> list[dict]:
        return [self.render(rule) for rule in self.firewall.rules]

    def get(self, keys: dict) -> dict:
        return self.render(self._rule(keys))


def _texts(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [_text(v) for v in value]
    return [_text(value)]


def _text(value) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _addresses(items):
    try:
        return fw.canonical_addresses([i for i in items if i])
    except ValueError:
        raise WSManFault("INVALID_PARAMETER_WIN32") from None


def _ports(items):
    try:
        return fw.canonical_ports([i for i in items if i])
    except ValueError:
        raise WSManFault("INVALID_PARAMETER_WIN32") from None


def _protocol(items):
    try:
        return fw.canonical_protocol(items[-1] or "")
    except ValueError:
        raise WSManFault("INVALID_PARAMETER_WIN32") from None


GROUP_NAMES = dict([fw.GROUP_WINRM, fw.GROUP_WINRM_COMPAT])
RULE_WRITABLE = {
    "Enabled": lambda items: {"Enabled": _int(items[-1], (fw.ENABLED_TRUE, fw.ENABLED_FALSE))},
    "Profiles": lambda items: {"Profiles": _int(items[-1], range(0, 8))},
    "Direction": lambda items: {"Direction": _int(items[-1], (fw.DIRECTION_INBOUND, fw.DIRECTION_OUTBOUND))},
    "Action": lambda items: {"Action": _int(items[-1], (fw.ACTION_ALLOW, fw.ACTION_ALLOW_BYPASS, fw.ACTION_BLOCK))},
    "EdgeTraversalPolicy": lambda items: {"EdgeTraversalPolicy": _int(items[-1], range(0, 4))},
    "DisplayName": lambda items: {"DisplayName": items[-1] or ""},
    "ElementName": lambda items: {"DisplayName": items[-1] or ""},
    "Description": lambda items: {"Description": items[-1] or ""},
    "LooseSourceMapping": lambda items: {"LooseSourceMapping": _bool(items[-1])},
    "LocalOnlyMapping": lambda items: {"LocalOnlyMapping": _bool(items[-1])},
    "Owner": lambda items: {"Owner": items[-1]},
}


class NetFirewallRule(_FirewallClass):
    name = "MSFT_NetFirewallRule"
    WRITABLE = RULE_WRITABLE

    def render(self, rule: dict) -> dict:
        return {
            "Action": rule["Action"], "Caption": None, "CommonName": None, "ConditionListType": None,
            "CreationClassName": _creation_class(rule), "Description": rule["Description"],
            "Direction": rule["Direction"], "DisplayGroup": rule["DisplayGroup"] or None,
            "DisplayName": rule["DisplayName"], "EdgeTraversalPolicy": rule["EdgeTraversalPolicy"],
            "ElementName": rule["DisplayName"], "Enabled": rule["Enabled"], "EnforcementStatus": [0],
            "ExecutionStrategy": None, "InstanceID": rule["InstanceID"],
            "LocalOnlyMapping": rule["LocalOnlyMapping"], "LooseSourceMapping": rule["LooseSourceMapping"],
            "Mandatory": None, "Owner": rule["Owner"], "Platforms": rule["Platforms"],
            "PolicyDecisionStrategy": None, "PolicyKeywords": None, "PolicyRoles": None, "PolicyRuleName": "",
            "PolicyStoreSource": rule["PolicyStoreSource"], "PolicyStoreSourceType": rule["PolicyStoreSourceType"],
            "PrimaryStatus": 1, "Priority": None, "Profiles": rule["Profiles"], "RuleGroup": rule["RuleGroup"] or None,
            "RuleUsage": None, "SequencedActions": None,
            "Status": "The rule was parsed successfully from the store. (65536)", "StatusCode": 65536,
            "SystemCreationClassName": "", "SystemName": "",
        }

    def create(self, values):
        """New-NetFirewallRule: the rule, and its port and address filters (Any/Any) with it."""
        fields = {"InstanceID": _single(values, "InstanceID") or None}
        for name, parse in RULE_WRITABLE.items():
            if name in values:
                fields.update(parse(values[name]))
        group = _single(values, "RuleGroup")
        if group:
            fields["RuleGroup"], fields["DisplayGroup"] = group, GROUP_NAMES.get(group, group)
        if not fields.get("DisplayName"):
            raise WSManFault("INVALID_PARAMETER_WIN32")  # New-NetFirewallRule requires -DisplayName
        try:
            rule = self.firewall.create(fields)
        except KeyError:
            raise WSManFault("ALREADY_EXISTS_WIN32") from None
        return {"InstanceID": rule["InstanceID"]}

    def delete(self, keys):
        rule = self._rule(keys)
        if rule["PolicyStoreSourceType"] == fw.SOURCE_GROUP_POLICY:
            raise WSManFault("ACCESS_DENIED")
        self.firewall.delete(rule)

    def associated(self, association, keys, result_class):
        rule = self._rule(keys)
        targets = {"msft_netfirewallrulefilterbyprotocolport": NetProtocolPortFilter,
                   "msft_netfirewallrulefilterbyaddress": NetAddressFilter}
        target = targets.get(association.lower())
        if target is None or (result_class and result_class.lower() != target.name.lower()):
            return []
        return [(target.name, target(self.host).render(rule))]


class _FilterClass(_FirewallClass):
    association = ""

    def associated(self, association, keys, result_class):
        if association.lower() != self.association.lower() or \
                (result_class and result_class.lower() != NetFirewallRule.name.lower()):
            return []
        return [(NetFirewallRule.name, NetFirewallRule(self.host).render(self._rule(keys)))]


class NetProtocolPortFilter(_FilterClass):
    name = "MSFT_NetProtocolPortFilter"
    association = "MSFT_NetFirewallRuleFilterByProtocolPort"
    WRITABLE = {
        "Protocol": lambda items: {"Protocol": _protocol(items)},
        "LocalPort": lambda items: {"LocalPort": _ports(items)},
        "RemotePort": lambda items: {"RemotePort": _ports(items)},
        "IcmpType": lambda items: {"IcmpType": [i for i in items if i] or ["Any"]},
        "DynamicTarget": lambda items: {"DynamicTarget": _int(items[-1], range(0, 6))},
    }

    def render(self, rule):
        return {
            "Caption": None, "CommunicationStatus": None, "CreationClassName": _creation_class(rule),
            "Description": None, "DetailedStatus": None, "DynamicTransport": rule["DynamicTarget"],
            "ElementName": None, "HealthState": None, "IcmpType": rule["IcmpType"], "InstallDate": None,
            "InstanceID": rule["InstanceID"], "IsNegated": None, "LocalPort": rule["LocalPort"], "Name": None,
            "OperatingStatus": None, "OperationalStatus": None, "PrimaryStatus": None, "Protocol": rule["Protocol"],
            "RemotePort": rule["RemotePort"], "Status": None, "StatusDescriptions": None,
            "SystemCreationClassName": None, "SystemName": None,
        }

    def check(self, rule, changes):
        protocol = changes.get("Protocol", rule["Protocol"])
        ports = changes.get("LocalPort", rule["LocalPort"]) + changes.get("RemotePort", rule["RemotePort"])
        if protocol not in ("TCP", "UDP") and any(p != "Any" for p in ports):
            # Set-NetFirewallPortFilter: ports apply to TCP and UDP only [INF: the fault code].
            raise WSManFault("INVALID_PARAMETER_WIN32")


class NetAddressFilter(_FilterClass):
    name = "MSFT_NetAddressFilter"
    association = "MSFT_NetFirewallRuleFilterByAddress"
    WRITABLE = {
        "LocalAddress": lambda items: {"LocalAddress": _addresses(items)},
        "RemoteAddress": lambda items: {"RemoteAddress": _addresses(items)},
    }

    def render(self, rule):
        return {
            "Caption": None, "CommunicationStatus": None, "CreationClassName": _creation_class(rule),
            "Description": None, "DetailedStatus": None, "ElementName": None, "HealthState": None,
            "InstallDate": None, "InstanceID": rule["InstanceID"], "LocalAddress": rule["LocalAddress"], "Name": None,
            "OperatingStatus": None, "OperationalStatus": None, "PrimaryStatus": None,
            "RemoteAddress": rule["RemoteAddress"], "Status": None, "StatusDescriptions": None,
        }


# --- root/StandardCimv2: the network location ------------------------------------------------------
class NetConnectionProfile(CimClass):
    """Get-/Set-NetConnectionProfile (Microsoft Learn, "MSFT_NetConnectionProfile class"):
    NetworkCategory 0 = Public, 1 = Private, 2 = DomainAuthenticated (not settable)."""

    namespace = "root/StandardCimv2"
    name = "MSFT_NetConnectionProfile"
    CATEGORY_NUMBERS = {"Public": 0, "Private": 1, "DomainAuthenticated": 2}

    def _instance_id(self) -> str:
        return "{" + str(uuid.uuid5(uuid.NAMESPACE_DNS, self.host.name + ".network.winrm-sim")).upper() + "}"

    def instances(self):
        info = self.host.network.info()
        domain = self.host.system.domain
        return [{
            "Caption": None, "Description": None, "DomainAuthenticationKind": 1 if domain else 0,
            "ElementName": None, "InstanceID": self._instance_id(), "InterfaceAlias": info["interface_alias"],
            "InterfaceIndex": info["interface_index"], "IPv4Connectivity": 3, "IPv6Connectivity": 1,
            "Name": domain.domain_suffix if domain else info["name"],
            "NetworkCategory": self.CATEGORY_NUMBERS[info["category"]],
        }]

    def put(self, keys, values):
        current = self.get(keys)
        for name, items in values.items():
            if name == "NetworkCategory":
                category = {0: "Public", 1: "Private"}.get(_int(items[-1]))
                try:
                    self.host.network.set_category(category)
                except ValueError:
                    raise WSManFault("INVALID_PARAMETER_WIN32") from None
            elif _texts(current.get(name)) != [i for i in items if i is not None]:
                raise WSManFault("INVALID_PARAMETER_WIN32")
        return self.get(keys)


# --- root/cimv2: who and what the computer is -------------------------------------------------------
# Win32_ComputerSystem.DomainRole (Microsoft Learn, "Win32_ComputerSystem class"): 0 standalone
# workstation, 1 member workstation, 2 standalone server, 3 member server, 4 backup and 5 primary
# domain controller. Win32_OperatingSystem.ProductType ("Win32_OperatingSystem class"): 1 workstation,
# 2 domain controller, 3 server. Both classes are keyed by Name; `winrm enumerate
# wmicimv2/Win32_OperatingSystem` is how admins read them (a Get needs the Name selector).
class ComputerSystem(CimClass):
    name = "Win32_ComputerSystem"
    keys = ("Name",)
    writable = False

    def instances(self):
        system = self.host.system
        member = system.domain_member
        role = (3 if member else 2) if system.version.server else (1 if member else 0)
        return [{
            "AdminPasswordStatus": 3, "AutomaticResetBootOption": True, "BootupState": "Normal boot",
            "Caption": system.computer_name, "CurrentTimeZone": 0,
            "DNSHostName": system.computer_name.lower(),
            "Domain": system.domain.domain_suffix if member else "WORKGROUP",
            "DomainRole": role, "Manufacturer": "winrm-sim", "Model": "Simulated Windows host",
            "Name": system.computer_name, "NumberOfLogicalProcessors": 2, "NumberOfProcessors": 1,
            "PartOfDomain": member, "PCSystemType": 0 if system.version.server else 1,
            "PrimaryOwnerName": "Windows User", "Status": "OK", "SystemType": "x64-based PC",
            "TotalPhysicalMemory": 8589934592, "UserName": None,
            "Workgroup": None if member else "WORKGROUP",
        }]

    def put(self, keys, values):
        raise WSManFault("ACCESS_DENIED")


class OperatingSystem(CimClass):
    name = "Win32_OperatingSystem"
    keys = ("Name",)
    writable = False

    def instances(self):
        system = self.host.system
        version = system.version
        sp_major, _dot, sp_minor = version.service_pack.partition(".")
        product_type = 3 if version.server else 1
        return [{
            "BuildNumber": version.version.rsplit(".", 1)[-1], "BuildType": "Multiprocessor Free",
            "Caption": version.caption, "CodeSet": "1252", "CountryCode": "1",
            "CSName": system.computer_name, "CurrentTimeZone": 0, "Locale": "0409",
            "Manufacturer": "Microsoft Corporation",
            "Name": f"{version.caption}|C:\\Windows|\\Device\\Harddisk0\\Partition2",
            "OSArchitecture": "64-bit" if not version.version.startswith("6.0") else "32-bit",
            "OSLanguage": 1033, "OSType": 18, "Primary": True, "ProductType": product_type,
            "ServicePackMajorVersion": int(sp_major or 0), "ServicePackMinorVersion": int(sp_minor or 0),
            "Status": "OK", "SystemDirectory": "C:\\Windows\\system32", "SystemDrive": "C:",
            "Version": version.version, "WindowsDirectory": "C:\\Windows",
        }]

    def put(self, keys, values):
        raise WSManFault("ACCESS_DENIED")


# --- root/cimv2: local groups and accounts -----------------------------------------------------
# Microsoft Learn, "Win32_Group class" (keys Domain and Name; SIDType 4 = alias, a local group),
# "Win32_UserAccount class" (AccountType 512 = normal account, SIDType 1 = user) and
# "Win32_GroupUser class" (GroupComponent: the Win32_Group; PartComponent: a Win32_Account member,
# a user or a group - on a domain member, Domain Admins in Administrators and Domain Users in Users).
# `Get-CimAssociatedInstance -ResultClassName Win32_UserAccount` of a Win32_Group, or an Enumerate of
# Win32_GroupUser, is how a remote reader lists a group's members over WS-Man.
class _LocalAccountClass(CimClass):
    keys = ("Domain", "Name")
    writable = False

    @property
    def users(self):
        return self.host.users

    def put(self, keys, values):
        raise WSManFault("ACCESS_DENIED")


class Group(_LocalAccountClass):
    name = "Win32_Group"

    def instance(self, group: str) -> dict:
        computer = self.host.name
        return {"Caption": f"{computer}\\{group}", "Description": self.users.groups[group].get("description", ""),
                "Domain": computer, "InstallDate": None, "LocalAccount": True, "Name": group,
                "SID": self.users.group_sid(group), "SIDType": 4, "Status": "OK"}

    def instances(self):
        return [self.instance(group) for group in sorted(self.users.groups, key=str.lower)]

    def associated(self, association, keys, result_class):
        if association.lower() != GroupUser.name.lower():
            return []
        group = self.get(keys)["Name"]
        return [(cls, instance) for cls, instance in GroupUser(self.host).members(group)
                if not result_class or result_class.lower() == cls.lower()]


class UserAccount(_LocalAccountClass):
    name = "Win32_UserAccount"

    def instance(self, account: str) -> dict:
        computer = self.host.name
        builtin = self.users.is_builtin_administrator(account)
        return {"AccountType": 512, "Caption": f"{computer}\\{account}",
                "Description": "Built-in account for administering the computer/domain" if builtin else "",
                "Disabled": False, "Domain": computer, "FullName": "", "InstallDate": None, "LocalAccount": True,
                "Lockout": False, "Name": account, "PasswordChangeable": True, "PasswordExpires": False,
                "PasswordRequired": True, "SID": self.users.account_sid(account), "SIDType": 1, "Status": "OK"}

    def instances(self):
        return [self.instance(account) for account in sorted(self.users.table, key=str.lower)]

    def associated(self, association, keys, result_class):
        if association.lower() != GroupUser.name.lower() or (result_class and result_class.lower() != Group.name.lower()):
            return []
        account = self.get(keys)["Name"]
        group_class = Group(self.host)
        return [(Group.name, group_class.instance(group)) for group in sorted(self.users.groups_of(account), key=str.lower)
                if group in self.users.groups]


class GroupUser(CimClass):
    name = "Win32_GroupUser"
    keys = ("GroupComponent", "PartComponent")
    writable = False

    def key_values(self, instance):
        return None   # references as keys: enumerated without endpoint references here

    def members(self, group: str) -> list[tuple[str, dict]]:
        users = self.host.users
        found = [(UserAccount.name, UserAccount(self.host).instance(account)) for account in users.members_of(group)
                 if account in users.table]
        domain = self.host.system.domain
        if domain is not None and users.group_sid(group) in ("S-1-5-32-544", "S-1-5-32-545"):
            # A domain member: Domain Admins are administrators, Domain Users users, of the computer.
            netbios = domain.realm.split(".")[0].upper()
            name = "Domain Admins" if users.group_sid(group) == "S-1-5-32-544" else "Domain Users"
            found.append((Group.name, {"Caption": f"{netbios}\\{name}", "Domain": netbios, "LocalAccount": False,
                                       "Name": name, "SIDType": 2, "Status": "OK"}))
        return found

    def instances(self):
        computer = self.host.name
        result = []
        for group in sorted(self.host.users.groups, key=str.lower):
            for cls, member in self.members(group):
                result.append({"GroupComponent": Reference(Group.name, (("Domain", computer), ("Name", group))),
                               "PartComponent": Reference(cls, (("Domain", member["Domain"]), ("Name", member["Name"])))})
        return result

    def get(self, keys):
        raise WSManFault("ACTION_NOT_SUPPORTED")


CLASSES = (StdRegProv, NetFirewallRule, NetProtocolPortFilter, NetAddressFilter, NetConnectionProfile,
           ComputerSystem, OperatingSystem, Group, UserAccount, GroupUser)


def find_class(namespace: str, class_name: str):
    for cls in CLASSES:
        if cls.namespace.lower() == namespace.lower() and cls.name.lower() == class_name.lower():
            return cls
    return None
