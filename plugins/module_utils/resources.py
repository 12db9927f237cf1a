# -*- coding: utf-8 -*-
# Copyright: contributors to the wsman.winrm collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The WinRM configuration tree as data.

One class per resource. Each knows its fields in Windows' element order (reference:
wsman-config-facts.md, MS-WSMV 2.2.4), parses what Windows returns (keeping ``Source="GPO"`` per
field and ``Source="GPO"|"Compatibility"`` per listener), renders partial Put and Create bodies,
and diffs a desired state against the current one. No XML is built anywhere else.
"""

from __future__ import annotations

import copy
import dataclasses
import ipaddress
import typing as t
import xml.etree.ElementTree as ET

from ansible_collections.wsman.winrm.plugins.module_utils.wsman import (
    URI_PREFIX,
    expand_uri,
    method_input,
    output_values,
)

CONFIG_URI = URI_PREFIX + "config"
LISTENER_URI = CONFIG_URI + "/listener"
CERTMAPPING_URI = CONFIG_URI + "/service/certmapping"
STDREGPROV_URI = URI_PREFIX + "wmi/root/default/StdRegProv"

SOURCE_GPO = "GPO"
SOURCE_COMPATIBILITY = "Compatibility"

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


# --------------------------------------------------------------------------------------------
# Field definitions
# --------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Field:
    """One leaf setting: its XML element, its Ansible option, its type and how it may be written."""

    xml: str
    option: str
    kind: type  # bool, int, str or list
    read_only: bool = False
    write_only: bool = False  # sent, never returned (CertMapping Password)
    key: bool = False  # a selector: identifies the instance, not in Create/Put bodies
    case_insensitive: bool = False  # Windows compares and canonicalises these
    choices: tuple[str, ...] = ()  # canonical spellings; a desired value in any case maps to one

    def parse(self, text: str | None) -> t.Any:
        text = (text or "").strip()
        if self.kind is bool:
            return None if not text else text.lower() == "true"
        if self.kind is int:
            return int(text) if text else None
        if self.kind is list:
            return [item.strip() for item in text.split(",") if item.strip()]
        return text

    def coerce(self, value: t.Any) -> t.Any:
        """A desired value (bool, int, str or list from a task) in this field's type."""
        if value is None:
            return None
        if self.kind is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
            raise ValueError("%s must be a boolean, got %r" % (self.option, value))
        if self.kind is int:
            if isinstance(value, bool):
                raise ValueError("%s must be an integer, got %r" % (self.option, value))
            try:
                return int(str(value).strip())
            except ValueError:
                raise ValueError("%s must be an integer, got %r" % (self.option, value)) from None
        if self.kind is list:
            items = value.split(",") if isinstance(value, str) else list(value)
            return [str(item).strip() for item in items if str(item).strip()]
        text = str(value)
        for choice in self.choices:
            if choice.lower() == text.strip().lower():
                return choice
        if self.choices:
            raise ValueError("%s must be one of %s, got %r" % (self.option, ", ".join(self.choices), value))
        return text

    def render(self, value: t.Any) -> str:
        if value is None:
            return ""
        if self.kind is bool:
            return "true" if value else "false"
        if self.kind is list:
            return ",".join(value)
        return str(value)

    def same(self, current: t.Any, desired: t.Any) -> bool:
        if self.kind is list:  # TrustedHosts and the like: order and case do not matter to Windows
            return sorted(v.lower() for v in current or []) == sorted(v.lower() for v in desired or [])
        if self.kind is str:
            current, desired = current or "", desired or ""
            if self.case_insensitive:
                return current.replace(" ", "").lower() == desired.replace(" ", "").lower()
        return current == desired


@dataclasses.dataclass(frozen=True)
class Section:
    """A nested resource (``Auth`` inside ``Service``), rendered as a nested element."""

    xml: str
    option: str
    resource: type  # a Resource subclass


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _flatten(desired: t.Mapping[str, t.Any], prefix: str = "") -> dict[str, t.Any]:
    flat: dict[str, t.Any] = {}
    for name, value in desired.items():
        path = prefix + name
        if isinstance(value, t.Mapping) and not ("after" in value and "before" in value):
            flat.update(_flatten(value, path + "."))
        else:
            flat[path] = value
    return flat


# --------------------------------------------------------------------------------------------
# The resource base
# --------------------------------------------------------------------------------------------

class Resource:
    """A WinRM config resource: values by option name, Source per option, nested sections."""

    XML_NAME = ""
    RESOURCE_URI = ""
    MEMBERS: tuple[Field | Section, ...] = ()

    def __init__(self, values: t.Mapping[str, t.Any] | None = None, *, source: str = "",
                 sources: t.Mapping[str, str] | None = None,
                 sections: t.Mapping[str, "Resource"] | None = None):
        self.values: dict[str, t.Any] = {}
        self.sources: dict[str, str] = dict(sources or {})
        self.sections: dict[str, Resource] = {}
        self.source = source  # the root element's Source attribute ("", "GPO", "Compatibility")
        for member in self.MEMBERS:
            if isinstance(member, Section):
                given = (sections or {}).get(member.option)
                self.sections[member.option] = given if given is not None else member.resource()
            elif not member.write_only:
                self.values[member.option] = None
        for option, value in (values or {}).items():
            self.set(option, value)

    # ---- metadata -------------------------------------------------------------------------

    @classmethod
    def fields(cls) -> list[Field]:
        return [m for m in cls.MEMBERS if isinstance(m, Field)]

    @classmethod
    def field(cls, path: str) -> Field:
        """The field at a dotted option path (``auth.basic``); KeyError names the unknown option."""
        head, _sep, rest = path.partition(".")
        for member in cls.MEMBERS:
            if member.option == head:
                if isinstance(member, Section):
                    if not rest:
                        break
                    return member.resource.field(rest)
                if not rest:
                    return member
        raise KeyError("%s has no setting '%s'" % (cls.__name__, path))

    @classmethod
    def option_paths(cls, prefix: str = "") -> list[str]:
        paths: list[str] = []
        for member in cls.MEMBERS:
            if isinstance(member, Section):
                paths.extend(member.resource.option_paths(prefix + member.option + "."))
            else:
                paths.append(prefix + member.option)
        return paths

    # ---- values ---------------------------------------------------------------------------

    def get(self, path: str, default: t.Any = None) -> t.Any:
        head, _sep, rest = path.partition(".")
        if rest:
            return self.sections[head].get(rest, default)
        self.field(head)
        value = self.values.get(head)
        return default if value is None else value

    __getitem__ = get

    def set(self, path: str, value: t.Any) -> None:
        head, _sep, rest = path.partition(".")
        if head in self.sections:
            if isinstance(value, Resource):
                self.sections[head] = value
            elif isinstance(value, t.Mapping):
                for name, item in value.items():
                    self.sections[head].set(name if not rest else rest + "." + name, item)
            else:
                self.sections[head].set(rest, value)
            return
        field = self.field(head)
        if field.write_only:
            raise KeyError("%s is write-only and never kept" % field.option)
        self.values[head] = field.coerce(value)

    def get_section(self, path: str) -> "Resource":
        """The nested resource at a dotted section path (``service.auth``)."""
        resource = self
        for name in path.split("."):
            resource = resource.sections[name]
        return resource

    def source_of(self, path: str) -> str:
        head, _sep, rest = path.partition(".")
        if rest:
            return self.sections[head].source_of(rest)
        return self.sources.get(head, "")

    def policy_controlled(self, prefix: str = "") -> list[str]:
        """Dotted option paths whose value Windows marked ``Source="GPO"``."""
        paths = [prefix + option for option, source in self.sources.items() if source == SOURCE_GPO]
        for option, section in self.sections.items():
            paths.extend(section.policy_controlled(prefix + option + "."))
        return sorted(paths)

    def to_dict(self) -> dict[str, t.Any]:
        """Snake-case keys, nested sections as dicts; write-only values never appear."""
        result: dict[str, t.Any] = {}
        for member in self.MEMBERS:
            if isinstance(member, Section):
                result[member.option] = self.sections[member.option].to_dict()
            elif not member.write_only:
                value = self.values.get(member.option)
                result[member.option] = list(value) if isinstance(value, list) else value
        return result

    def copy(self) -> "Resource":
        return copy.deepcopy(self)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self.to_dict() == other.to_dict() \
            and self.source == other.source  # type: ignore[attr-defined]

    def __repr__(self) -> str:
        return "%s(%r)" % (type(self).__name__, self.to_dict())

    # ---- XML in ---------------------------------------------------------------------------

    @classmethod
    def from_xml(cls, element: ET.Element) -> "Resource":
        """Parse a reply element; names are matched on the local name (clients vary the namespace)."""
        resource = cls(source=element.get("Source") or "")
        by_name = {m.xml: m for m in cls.MEMBERS}
        for child in element:
            member = by_name.get(_local(child.tag))
            if member is None:
                continue  # settings of newer Windows versions are ignored, not fatal
            if isinstance(member, Section):
                resource.sections[member.option] = member.resource.from_xml(child)
                continue
            if member.write_only:
                continue
            value = member.parse("".join(child.itertext()))
            if member.kind is list and member.read_only:  # ListeningOn: one element per value
                resource.values[member.option] = (resource.values.get(member.option) or []) + value
            else:
                resource.values[member.option] = value
            source = child.get("Source")
            if source:
                resource.sources[member.option] = source
        for member in cls.fields():
            if member.kind is list and member.read_only and resource.values.get(member.option) is None:
                resource.values[member.option] = []  # no ListeningOn element: listening nowhere
        return resource

    # ---- XML out --------------------------------------------------------------------------

    @classmethod
    def _render_into(cls, parent: ET.Element, namespace: str, values: t.Mapping[str, t.Any],
                     include_keys: bool) -> None:
        for member in cls.MEMBERS:
            if isinstance(member, Section):
                nested = {k[len(member.option) + 1:]: v for k, v in values.items()
                          if k.startswith(member.option + ".")}
                if nested:
                    element = ET.SubElement(parent, "{%s}%s" % (namespace, member.xml))
                    member.resource._render_into(element, namespace, nested, include_keys)
                continue
            if member.option not in values or (member.key and not include_keys):
                continue
            value = values[member.option]
            if value is None:
                continue
            value = member.coerce(value)
            if member.kind is list and member.read_only:
                continue
            ET.SubElement(parent, "{%s}%s" % (namespace, member.xml)).text = member.render(value)

    @classmethod
    def render(cls, values: t.Mapping[str, t.Any], namespace: str | None = None,
               include_keys: bool = False) -> ET.Element:
        """A (partial) document holding only ``values`` (dotted option paths or nested dicts),
        in Windows' element order; read-only fields are refused, write-only ones are allowed."""
        flat = {k: (v["after"] if isinstance(v, t.Mapping) else v) for k, v in _flatten(values).items()}
        for path in flat:
            field = cls.field(path)
            if field.read_only:
                raise ValueError("%s is read-only and cannot be written" % path)
        namespace = namespace or cls.RESOURCE_URI
        root = ET.Element("{%s}%s" % (namespace, cls.XML_NAME))
        cls._render_into(root, namespace, flat, include_keys)
        return root

    def render_put(self, changes: t.Mapping[str, t.Any], namespace: str | None = None) -> ET.Element:
        """The partial Put body for ``changes`` (``diff()['changes']`` or option -> value)."""
        return self.render(changes, namespace)

    def updated(self, changes: t.Mapping[str, t.Any]) -> "Resource":
        """A copy with ``changes`` applied: the predicted state after a Put (check mode)."""
        result = self.copy()
        for path, value in _flatten(changes).items():
            value = value["after"] if isinstance(value, t.Mapping) else value
            if not self.field(path).write_only:
                result.set(path, value)
        return result

    def diff(self, desired: t.Mapping[str, t.Any]) -> dict[str, dict[str, dict[str, t.Any]]]:
        return diff(self, desired)


def diff(current: Resource, desired: t.Mapping[str, t.Any]) -> dict[str, dict[str, dict[str, t.Any]]]:
    """Compare a desired state (option -> value, nested dicts or dotted paths; None = unmanaged).

    Returns ``{"changes": {...}, "policy_controlled": {...}, "read_only": {...}}``, each mapping a
    dotted option path to ``{"before": ..., "after": ...}``. Changes to settings Windows marks
    ``Source="GPO"`` or that are read-only are listed apart and left out of ``changes``, so a
    module can refuse or skip them; ``changes`` is what a Put may send.
    """
    result: dict[str, dict[str, dict[str, t.Any]]] = {"changes": {}, "policy_controlled": {}, "read_only": {}}
    for path, value in _flatten(desired).items():
        if value is None:
            continue
        field = current.field(path)
        if field.write_only:
            continue  # never returned, so never comparable: the module decides (e.g. update_password)
        wanted = field.coerce(value)
        before = current.get(path)
        if field.same(before, wanted):
            continue
        entry = {"before": before, "after": wanted}
        if field.read_only:
            result["read_only"][path] = entry
        elif current.source_of(path) == SOURCE_GPO:
            result["policy_controlled"][path] = entry
        else:
            result["changes"][path] = entry
    return result


# --------------------------------------------------------------------------------------------
# The resources (element order = Windows' order, wsman-config-facts.md)
# --------------------------------------------------------------------------------------------

class Auth(Resource):
    """Authentication switches of the client or of the service."""

    XML_NAME = "Auth"
    ROLE = ""

    @staticmethod
    def for_role(role: str) -> type["Auth"]:
        return {"client": ClientAuth, "service": ServiceAuth}[role]


class ClientAuth(Auth):
    ROLE = "client"
    RESOURCE_URI = CONFIG_URI + "/client/auth"
    MEMBERS = (
        Field("Basic", "basic", bool),
        Field("Digest", "digest", bool),
        Field("Kerberos", "kerberos", bool),
        Field("Negotiate", "negotiate", bool),
        Field("Certificate", "certificate", bool),
        Field("CredSSP", "credssp", bool),
    )


class ServiceAuth(Auth):
    """The service has no Digest: Windows refuses it with a schema fault (2150858817)."""

    ROLE = "service"
    RESOURCE_URI = CONFIG_URI + "/service/auth"
    MEMBERS = (
        Field("Basic", "basic", bool),
        Field("Kerberos", "kerberos", bool),
        Field("Negotiate", "negotiate", bool),
        Field("Certificate", "certificate", bool),
        Field("CredSSP", "credssp", bool),
        Field("CbtHardeningLevel", "cbt_hardening_level", str, case_insensitive=True,
              choices=("None", "Relaxed", "Strict")),
    )


class DefaultPorts(Resource):
    XML_NAME = "DefaultPorts"
    MEMBERS = (
        Field("HTTP", "http", int),
        Field("HTTPS", "https", int),
    )


class ClientDefaultPorts(DefaultPorts):
    RESOURCE_URI = CONFIG_URI + "/client/defaultports"


class ServiceDefaultPorts(DefaultPorts):
    RESOURCE_URI = CONFIG_URI + "/service/defaultports"


class ClientConfig(Resource):
    XML_NAME = "Client"
    RESOURCE_URI = CONFIG_URI + "/client"
    MEMBERS = (
        Field("NetworkDelayms", "network_delay_ms", int),
        Field("URLPrefix", "url_prefix", str),
        Field("AllowUnencrypted", "allow_unencrypted", bool),
        Section("Auth", "auth", ClientAuth),
        Section("DefaultPorts", "default_ports", ClientDefaultPorts),
        Field("TrustedHosts", "trusted_hosts", list),
    )


class ServiceConfig(Resource):
    XML_NAME = "Service"
    RESOURCE_URI = CONFIG_URI + "/service"
    MEMBERS = (
        Field("RootSDDL", "root_sddl", str),
        Field("MaxConcurrentOperations", "max_concurrent_operations", int, read_only=True),
        Field("MaxConcurrentOperationsPerUser", "max_concurrent_operations_per_user", int),
        Field("EnumerationTimeoutms", "enumeration_timeout_ms", int),
        Field("MaxConnections", "max_connections", int),
        Field("MaxPacketRetrievalTimeSeconds", "max_packet_retrieval_time_seconds", int),
        Field("AllowUnencrypted", "allow_unencrypted", bool),
        Section("Auth", "auth", ServiceAuth),
        Section("DefaultPorts", "default_ports", ServiceDefaultPorts),
        Field("IPv4Filter", "ipv4_filter", str),
        Field("IPv6Filter", "ipv6_filter", str),
        Field("EnableCompatibilityHttpListener", "enable_compatibility_http_listener", bool),
        Field("EnableCompatibilityHttpsListener", "enable_compatibility_https_listener", bool),
        Field("CertificateThumbprint", "certificate_thumbprint", str, case_insensitive=True),
        Field("AllowRemoteAccess", "allow_remote_access", bool),
    )


class Winrs(Resource):
    XML_NAME = "Winrs"
    RESOURCE_URI = CONFIG_URI + "/winrs"
    MEMBERS = (
        Field("AllowRemoteShellAccess", "allow_remote_shell_access", bool),
        Field("IdleTimeout", "idle_timeout", int),
        Field("MaxConcurrentUsers", "max_concurrent_users", int),
        Field("MaxShellRunTime", "max_shell_run_time", int, read_only=True),
        Field("MaxProcessesPerShell", "max_processes_per_shell", int),
        Field("MaxMemoryPerShellMB", "max_memory_per_shell_mb", int),
        Field("MaxShellsPerUser", "max_shells_per_user", int),
    )


class WinRMConfig(Resource):
    """``winrm/config`` as a whole: one Get answers most questions, one partial Put changes many."""

    XML_NAME = "Config"
    RESOURCE_URI = CONFIG_URI
    MEMBERS = (
        Field("MaxEnvelopeSizekb", "max_envelope_size_kb", int),
        Field("MaxTimeoutms", "max_timeout_ms", int),
        Field("MaxBatchItems", "max_batch_items", int),
        Field("MaxProviderRequests", "max_provider_requests", int, read_only=True),
        Section("Client", "client", ClientConfig),
        Section("Service", "service", ServiceConfig),
        Section("Winrs", "winrs", Winrs),
    )

    @property
    def client(self) -> ClientConfig:
        return t.cast(ClientConfig, self.sections["client"])

    @property
    def service(self) -> ServiceConfig:
        return t.cast(ServiceConfig, self.sections["service"])

    @property
    def winrs(self) -> Winrs:
        return t.cast(Winrs, self.sections["winrs"])


def listener_selectors(address: str, transport: str) -> dict[str, str]:
    """Selectors of a listener; Windows matches them case-insensitively and replies canonically."""
    return {"Address": address, "Transport": transport.upper()}


def certmapping_selectors(uri: str, subject: str, issuer: str) -> dict[str, str]:
    return {"URI": uri, "Subject": subject, "Issuer": issuer}


class Listener(Resource):
    """A listener; ``source`` is "" (local), "GPO" or "Compatibility" (never addressable as a listener)."""

    XML_NAME = "Listener"
    RESOURCE_URI = LISTENER_URI
    MEMBERS = (
        Field("Address", "address", str, key=True, case_insensitive=True),
        Field("Transport", "transport", str, key=True, case_insensitive=True, choices=("HTTP", "HTTPS")),
        Field("Port", "port", int),
        Field("Hostname", "hostname", str, case_insensitive=True),
        Field("Enabled", "enabled", bool),
        Field("URLPrefix", "url_prefix", str),
        Field("CertificateThumbprint", "certificate_thumbprint", str, case_insensitive=True),
        Field("ListeningOn", "listening_on", list, read_only=True),
    )

    @property
    def is_compatibility(self) -> bool:
        return self.source == SOURCE_COMPATIBILITY

    @property
    def selectors(self) -> dict[str, str]:
        return listener_selectors(self.get("address", "*"), self.get("transport", ""))

    def matches(self, address: str, transport: str) -> bool:
        """Same Address and Transport (case-insensitive); compatibility listeners never match."""
        return not self.is_compatibility \
            and (self.get("address") or "").lower() == address.lower() \
            and (self.get("transport") or "").lower() == transport.lower()

    def to_dict(self) -> dict[str, t.Any]:
        result = super().to_dict()
        result["source"] = self.source
        return result

    @classmethod
    def create_body(cls, port: int | None = None, hostname: str | None = None, enabled: bool | None = None,
                    url_prefix: str | None = None, certificate_thumbprint: str | None = None) -> ET.Element:
        """The Create body; Address and Transport go in the selectors. Omitted values take Windows'
        defaults (Port from service DefaultPorts, Enabled=true, URLPrefix=wsman)."""
        values = {"port": port, "hostname": hostname, "enabled": enabled, "url_prefix": url_prefix,
                  "certificate_thumbprint": certificate_thumbprint}
        return cls.render({k: v for k, v in values.items() if v is not None})


class CertMapping(Resource):
    """A client-certificate mapping. The password is write-only: it is rendered into a Create or
    Put body when given, and never stored, returned, printed or diffed."""

    XML_NAME = "CertMapping"
    RESOURCE_URI = CERTMAPPING_URI
    MEMBERS = (
        Field("URI", "uri", str, key=True),
        Field("Subject", "subject", str, key=True),
        Field("Issuer", "issuer", str, key=True, case_insensitive=True),
        Field("UserName", "user_name", str, case_insensitive=True),
        Field("Enabled", "enabled", bool),
        Field("Password", "password", str, write_only=True),
    )

    @property
    def selectors(self) -> dict[str, str]:
        return certmapping_selectors(self.get("uri", ""), self.get("subject", ""), self.get("issuer", ""))

    def matches(self, uri: str, subject: str, issuer: str) -> bool:
        return (self.get("uri") or "").lower() == uri.lower() \
            and (self.get("subject") or "").lower() == subject.lower() \
            and (self.get("issuer") or "").lower() == issuer.lower()

    @classmethod
    def create_body(cls, user_name: str, password: str, enabled: bool = True) -> ET.Element:
        """UserName and Password go together (fault 2150859116 otherwise)."""
        return cls.render({"user_name": user_name, "enabled": enabled, "password": password})

    def render_put(self, changes: t.Mapping[str, t.Any], namespace: str | None = None,
                   password: str | None = None) -> ET.Element:
        values = dict(_flatten(changes))
        if password is not None:
            values["password"] = password
            # Windows checks the password against the account: send the name with it.
            values.setdefault("user_name", self.get("user_name"))
        return self.render(values, namespace)


# --------------------------------------------------------------------------------------------
# Group Policy values (read through WMI StdRegProv)
# --------------------------------------------------------------------------------------------

HKEY_LOCAL_MACHINE = 2147483650
POLICY_ROOT = r"SOFTWARE\Policies\Microsoft\Windows\WinRM"
SYSTEM_POLICIES = r"SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System"
REG_SZ = 1
REG_DWORD = 4
REG_RETURN_NOT_FOUND = 2


@dataclasses.dataclass(frozen=True)
class PolicySetting:
    """One policy registry value and the config settings it controls (dotted ``read_all`` paths)."""

    key: str
    name: str
    type: str  # "DWORD" | "string"
    controls: tuple[str, ...]
    note: str = ""

    @property
    def path(self) -> str:
        return "HKLM\\" + self.key


# Value names from WindowsRemoteManagement.admx, as published in Microsoft's Policy CSP
# RemoteManagement page (MicrosoftDocs/windows-itpro-docs windows/client-management/mdm/
# policy-csp-remotemanagement.md, "ADMX mapping" tables). The "Disallow X" policies write
# AllowX (1 = allowed). TrustedHostsList, CbtHardeningLevel, IPv4Filter/IPv6Filter and the
# Service\WinRS values are the policies' element values (same ADMX; seen in STIG/CIS scripts).
_CLIENT = POLICY_ROOT + r"\Client"
_SERVICE = POLICY_ROOT + r"\Service"
_WINRS = POLICY_ROOT + r"\Service\WinRS"
POLICY_SETTINGS: tuple[PolicySetting, ...] = (
    PolicySetting(_CLIENT, "AllowBasic", "DWORD", ("client.auth.basic",)),
    PolicySetting(_CLIENT, "AllowDigest", "DWORD", ("client.auth.digest",), "policy 'Disallow Digest authentication'"),
    PolicySetting(_CLIENT, "AllowKerberos", "DWORD", ("client.auth.kerberos",),
                  "policy 'Disallow Kerberos authentication'"),
    PolicySetting(_CLIENT, "AllowNegotiate", "DWORD", ("client.auth.negotiate",),
                  "policy 'Disallow Negotiate authentication'"),
    PolicySetting(_CLIENT, "AllowCredSSP", "DWORD", ("client.auth.credssp",)),
    PolicySetting(_CLIENT, "AllowUnencryptedTraffic", "DWORD", ("client.allow_unencrypted",)),
    PolicySetting(_CLIENT, "TrustedHosts", "DWORD", ("client.trusted_hosts",), "1 = the policy sets the list"),
    PolicySetting(_CLIENT, "TrustedHostsList", "string", ("client.trusted_hosts",)),
    PolicySetting(_SERVICE, "AllowAutoConfig", "DWORD", ("listeners", "service.ipv4_filter", "service.ipv6_filter"),
                  "policy 'Allow remote server management through WinRM': a GPO listener on the default HTTP port"),
    PolicySetting(_SERVICE, "IPv4Filter", "string", ("service.ipv4_filter",)),
    PolicySetting(_SERVICE, "IPv6Filter", "string", ("service.ipv6_filter",)),
    PolicySetting(_SERVICE, "AllowBasic", "DWORD", ("service.auth.basic",)),
    PolicySetting(_SERVICE, "AllowKerberos", "DWORD", ("service.auth.kerberos",),
                  "policy 'Disallow Kerberos authentication'"),
    PolicySetting(_SERVICE, "AllowNegotiate", "DWORD", ("service.auth.negotiate",),
                  "policy 'Disallow Negotiate authentication'"),
    PolicySetting(_SERVICE, "AllowCredSSP", "DWORD", ("service.auth.credssp",)),
    PolicySetting(_SERVICE, "AllowUnencryptedTraffic", "DWORD", ("service.allow_unencrypted",)),
    PolicySetting(_SERVICE, "CBTHardeningLevelStatus", "DWORD", ("service.auth.cbt_hardening_level",),
                  "1 = the policy sets the level"),
    PolicySetting(_SERVICE, "CbtHardeningLevel", "string", ("service.auth.cbt_hardening_level",)),
    PolicySetting(_SERVICE, "HttpCompatibilityListener", "DWORD", ("service.enable_compatibility_http_listener",)),
    PolicySetting(_SERVICE, "HttpsCompatibilityListener", "DWORD", ("service.enable_compatibility_https_listener",)),
    PolicySetting(_SERVICE, "DisableRunAs", "DWORD", (), "plugins may not store RunAs credentials"),
    PolicySetting(_WINRS, "AllowRemoteShellAccess", "DWORD", ("winrs.allow_remote_shell_access",)),
    PolicySetting(_WINRS, "IdleTimeout", "DWORD", ("winrs.idle_timeout",)),
    PolicySetting(_WINRS, "MaxConcurrentUsers", "DWORD", ("winrs.max_concurrent_users",)),
    PolicySetting(_WINRS, "MaxProcessesPerShell", "DWORD", ("winrs.max_processes_per_shell",)),
    PolicySetting(_WINRS, "MaxMemoryPerShellMB", "DWORD", ("winrs.max_memory_per_shell_mb",)),
    PolicySetting(_WINRS, "MaxShellsPerUser", "DWORD", ("winrs.max_shells_per_user",)),
    PolicySetting(SYSTEM_POLICIES, "LocalAccountTokenFilterPolicy", "DWORD", (),
                  "1 = local administrators other than the built-in one get a full token over the network"),
)
POLICY_KEYS: tuple[str, ...] = tuple(dict.fromkeys(s.key for s in POLICY_SETTINGS))


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
        """EnumValues per policy key, then one Get<Type>Value per value the table knows."""
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


def _registry_call(session: t.Any, method: str, params: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    output = session.invoke(STDREGPROV_URI, method, method_input(STDREGPROV_URI, method, params))
    return output_values(output)


def _as_list(value: t.Any) -> list[t.Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def registry_enum_values(session: t.Any, key: str) -> list[str]:
    """Value names under HKLM\\key; [] when the key does not exist (ReturnValue 2)."""
    out = _registry_call(session, "EnumValues", {"hDefKey": HKEY_LOCAL_MACHINE, "sSubKeyName": key})
    if int(out.get("ReturnValue") or 0) != 0:
        return []
    return [name for name in _as_list(out.get("sNames")) if name]


def registry_get_value(session: t.Any, key: str, name: str, value_type: str) -> int | str | None:
    """A DWORD or string value; None when not configured (ReturnValue 2) or unreadable."""
    method, field = ("GetDWORDValue", "uValue") if value_type == "DWORD" else ("GetStringValue", "sValue")
    out = _registry_call(session, method, {"hDefKey": HKEY_LOCAL_MACHINE, "sSubKeyName": key, "sValueName": name})
    if int(out.get("ReturnValue") or 0) != 0:
        return None
    value = out.get(field)
    if value is None:
        return None
    return int(value) if value_type == "DWORD" else value


def registry_set_value(session: t.Any, key: str, name: str, value_type: str, value: int | str) -> int:
    """Create the key if needed and write the value; returns StdRegProv's ReturnValue (0 = done)."""
    _registry_call(session, "CreateKey", {"hDefKey": HKEY_LOCAL_MACHINE, "sSubKeyName": key})
    if value_type == "DWORD":
        params = {"hDefKey": HKEY_LOCAL_MACHINE, "sSubKeyName": key, "sValueName": name, "uValue": int(value)}
        out = _registry_call(session, "SetDWORDValue", params)
    else:
        params = {"hDefKey": HKEY_LOCAL_MACHINE, "sSubKeyName": key, "sValueName": name, "sValue": str(value)}
        out = _registry_call(session, "SetStringValue", params)
    return int(out.get("ReturnValue") or 0)


def registry_delete_value(session: t.Any, key: str, name: str) -> int:
    """Delete a value ("Not Configured"); ReturnValue 2 (already absent) counts as done."""
    out = _registry_call(session, "DeleteValue", {"hDefKey": HKEY_LOCAL_MACHINE, "sSubKeyName": key,
                                                  "sValueName": name})
    code = int(out.get("ReturnValue") or 0)
    return 0 if code == REG_RETURN_NOT_FOUND else code


# --------------------------------------------------------------------------------------------
# The whole picture
# --------------------------------------------------------------------------------------------

# The parts of the configuration read_all() can read; info's "gather" option chooses among them.
ALL_PARTS = ("config", "listeners", "cert_mappings", "policy")


@dataclasses.dataclass
class ConfigSnapshot:
    config: WinRMConfig
    listeners: list[Listener]
    cert_mappings: list[CertMapping]
    policy: PolicyValues

    def find_listener(self, address: str, transport: str) -> Listener | None:
        """The real (non-compatibility) listener with these selectors."""
        for listener in self.listeners:
            if listener.matches(address, transport):
                return listener
        return None

    def find_cert_mapping(self, uri: str, subject: str, issuer: str) -> CertMapping | None:
        for mapping in self.cert_mappings:
            if mapping.matches(uri, subject, issuer):
                return mapping
        return None

    def policy_controlled(self) -> list[str]:
        """Settings (dotted paths) and listeners under Group Policy."""
        paths = self.config.policy_controlled()
        paths += ["listener[%s:%s]" % (l.get("address"), l.get("transport"))
                  for l in self.listeners if l.source == SOURCE_GPO]
        return paths

    def security_summary(self) -> dict[str, t.Any]:
        client, service = self.config.client, self.config.service
        enabled = [l for l in self.listeners if l.get("enabled", True)]
        transports = {(l.get("transport") or "").upper() for l in enabled}
        trusted = client.get("trusted_hosts") or []
        return {
            "basic_enabled": {"service": bool(service.get("auth.basic")), "client": bool(client.get("auth.basic"))},
            "unencrypted_allowed": {"service": bool(service.get("allow_unencrypted")),
                                    "client": bool(client.get("allow_unencrypted"))},
            "https_listener_present": "HTTPS" in transports,
            "http_listener_present": "HTTP" in transports,
            "compatibility_listeners_on": bool(service.get("enable_compatibility_http_listener"))
            or bool(service.get("enable_compatibility_https_listener")),
            "credssp_enabled": {"service": bool(service.get("auth.credssp")),
                                "client": bool(client.get("auth.credssp"))},
            "trusted_hosts_wildcard": "*" in trusted,
            "cbt_hardening_level": service.get("auth.cbt_hardening_level"),
            "gpo_controlled": self.policy_controlled(),
        }

    def to_dict(self, parts: t.Iterable[str] = ALL_PARTS) -> dict[str, t.Any]:
        """The result of wsman.winrm.info: only the parts that were read, and the summary."""
        parts = set(parts)
        report: dict[str, t.Any] = {}
        if "config" in parts:
            root = self.config.to_dict()
            report["config"] = {k: v for k, v in root.items() if k not in ("client", "service", "winrs")}
            report.update(service=root["service"], client=root["client"], winrs=root["winrs"])
        if "listeners" in parts:
            report["listeners"] = [listener.to_dict() for listener in self.listeners]
        if "cert_mappings" in parts:
            report["cert_mappings"] = [mapping.to_dict() for mapping in self.cert_mappings]
        if "policy" in parts:
            report["policy"] = self.policy.to_list()
        report["gpo_controlled"] = self.policy_controlled()
        summary = self.security_summary()
        # A summary value about a part that was not read would be a guess: say "unknown" (None).
        unknown = set()
        if "config" not in parts:
            unknown |= {"basic_enabled", "unencrypted_allowed", "compatibility_listeners_on", "credssp_enabled",
                        "trusted_hosts_wildcard", "cbt_hardening_level"}
        if "listeners" not in parts:
            unknown |= {"https_listener_present", "http_listener_present"}
        report["security_summary"] = {key: (None if key in unknown else value) for key, value in summary.items()}
        return report


def read_all(session: t.Any, include_policy: bool = True, parts: t.Iterable[str] = ALL_PARTS) -> ConfigSnapshot:
    """One Get of winrm/config, one Enumerate of listeners, one of certmappings, the policy values.

    ``parts`` leaves out what the caller does not need (fewer requests); what is left out is empty.
    """
    parts = set(parts)
    if not include_policy:
        parts.discard("policy")
    config = t.cast(WinRMConfig, WinRMConfig.from_xml(session.get(CONFIG_URI))) if "config" in parts else WinRMConfig()
    listeners = ([t.cast(Listener, Listener.from_xml(e)) for e in session.enumerate(LISTENER_URI)]
                 if "listeners" in parts else [])
    mappings = ([t.cast(CertMapping, CertMapping.from_xml(e)) for e in session.enumerate(CERTMAPPING_URI)]
                if "cert_mappings" in parts else [])
    policy = PolicyValues.read(session) if "policy" in parts else PolicyValues()
    return ConfigSnapshot(config, listeners, mappings, policy)


# --------------------------------------------------------------------------------------------
# Windows Firewall rules, through CIM (root/StandardCimv2) over the same WS-Man session
# --------------------------------------------------------------------------------------------
# Classes and values: Microsoft Learn "MSFT_NetFirewallRule class" and "MSFT_NetProtocolPortFilter
# class" (WFasCim provider): Enabled is CIM_PolicyRule's (1 = enabled, 2 = disabled), Direction
# 1 = inbound, Action 2 = allow, Profiles the MS-FASP FW_PROFILE_TYPE bitmask (0 = Any),
# PolicyStoreSourceType 2 = GroupPolicy. A rule's port and address conditions are separate
# one-to-one filter instances with the rule's InstanceID. WMI writes arrays as repeated elements
# and NULL as xsi:nil (captured WMI plugin replies). RemoteAddress tokens: INetFwRule::RemoteAddresses.

CIM_STANDARD_URI = URI_PREFIX + "wmi/root/StandardCimv2/"
FIREWALL_RULE_URI = CIM_STANDARD_URI + "MSFT_NetFirewallRule"
FIREWALL_PORT_FILTER_URI = CIM_STANDARD_URI + "MSFT_NetProtocolPortFilter"
FIREWALL_ADDRESS_FILTER_URI = CIM_STANDARD_URI + "MSFT_NetAddressFilter"
FIREWALL_PROFILE_BITS = {"domain": 1, "private": 2, "public": 4}
FIREWALL_ALL_PROFILES = 7
# RuleGroup of the predefined groups "Windows Remote Management" and "... (Compatibility)".
WINRM_FIREWALL_GROUPS = ("@FirewallAPI.dll,-30267", "@FirewallAPI.dll,-30252")
FIREWALL_SOURCE_GROUP_POLICY = 2
FIREWALL_ADDRESS_KEYWORDS = {k.lower(): k for k in (
    "Any", "LocalSubnet", "LocalSubnet4", "LocalSubnet6", "DefaultGateway", "DefaultGateway4", "DefaultGateway6",
    "DHCP", "DHCP4", "DHCP6", "DNS", "DNS4", "DNS6", "WINS", "WINS4", "WINS6", "Intranet", "Internet",
    "PlayToDevice")}
_XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"


class CimInstance:
    """A WMI/CIM instance as the WinRM WMI plugin returns it: property -> text, list or None."""

    CLASS_NAME = ""
    RESOURCE_URI = ""

    def __init__(self, values: t.Mapping[str, t.Any] | None = None):
        self.values: dict[str, t.Any] = dict(values or {})

    @classmethod
    def from_xml(cls, element: ET.Element) -> "CimInstance":
        values: dict[str, t.Any] = {}
        for child in element:
            name = _local(child.tag)
            text = None if child.get(_XSI_NIL) == "true" else (child.text or "").strip()
            if name in values:  # an array: one element per value
                previous = values[name]
                values[name] = (previous if isinstance(previous, list) else [previous]) + [text]
            else:
                values[name] = text
        return cls(values)

    def get(self, name: str, default: t.Any = None) -> t.Any:
        value = self.values.get(name)
        return default if value is None else value

    def get_list(self, name: str) -> list[str]:
        value = self.values.get(name)
        if value is None:
            return []
        return [item for item in (value if isinstance(value, list) else [value]) if item is not None]

    def get_int(self, name: str, default: int = 0) -> int:
        try:
            return int(self.get(name))
        except (TypeError, ValueError):
            return default

    @property
    def selectors(self) -> dict[str, str]:
        return {"InstanceID": self.get("InstanceID", "")}

    @classmethod
    def render_put(cls, instance_id: str, values: t.Mapping[str, t.Any]) -> ET.Element:
        """A partial instance for Put: the key and the changed properties, in WMI's (alphabetical) order."""
        root = ET.Element("{%s}%s" % (cls.RESOURCE_URI, cls.CLASS_NAME))
        for name in sorted(dict(values, InstanceID=instance_id), key=str.lower):
            value = instance_id if name == "InstanceID" else values[name]
            for item in value if isinstance(value, (list, tuple)) else [value]:
                text = ("true" if item else "false") if isinstance(item, bool) else str(item)
                ET.SubElement(root, "{%s}%s" % (cls.RESOURCE_URI, name)).text = text
        return root


class FirewallRuleInstance(CimInstance):
    CLASS_NAME = "MSFT_NetFirewallRule"
    RESOURCE_URI = FIREWALL_RULE_URI


class FirewallPortFilter(CimInstance):
    CLASS_NAME = "MSFT_NetProtocolPortFilter"
    RESOURCE_URI = FIREWALL_PORT_FILTER_URI


class FirewallAddressFilter(CimInstance):
    CLASS_NAME = "MSFT_NetAddressFilter"
    RESOURCE_URI = FIREWALL_ADDRESS_FILTER_URI


def firewall_profiles(mask: int) -> list[str]:
    """Profile names of a Profiles bitmask; 0 is ``["any"]`` as Windows shows it (Profile: Any)."""
    if mask == 0:
        return ["any"]
    return [name for name, bit in FIREWALL_PROFILE_BITS.items() if mask & bit]


def firewall_profile_mask(names: t.Iterable[str]) -> int:
    """The bitmask of profile names (domain, private, public; ``any`` alone = 0); ValueError names the bad one."""
    names = [str(name).strip().lower() for name in names]
    if not names:
        raise ValueError("profiles must name at least one profile (domain, private, public) or be [any]")
    if "any" in names:
        if len(set(names)) > 1:
            raise ValueError("profiles: 'any' stands alone (it means every profile)")
        return 0
    mask = 0
    for name in names:
        if name not in FIREWALL_PROFILE_BITS:
            raise ValueError("profiles: %r is not one of domain, private, public, any" % name)
        mask |= FIREWALL_PROFILE_BITS[name]
    return mask


def firewall_covered_profiles(mask: int) -> int:
    """The profiles a rule applies to as a full mask (Any = all three)."""
    return FIREWALL_ALL_PROFILES if mask == 0 else mask & FIREWALL_ALL_PROFILES


def firewall_address(token: str) -> str:
    """One RemoteAddress token in the form Windows stores and shows; ValueError for what Windows refuses.

    ``*``/``any`` -> ``Any``; keywords in their canonical case; an IPv4 prefix as address/mask
    (``10.0.0.0/255.0.0.0``, as Get-NetFirewallAddressFilter shows it); /32 and /128 as the address.
    """
    text = str(token).strip()
    if text == "*":
        return "Any"
    keyword = FIREWALL_ADDRESS_KEYWORDS.get(text.lower())
    if keyword:
        return keyword
    try:
        if "-" in text:
            low, high = (ipaddress.ip_address(part.strip()) for part in text.split("-", 1))
            if low.version != high.version or low > high:
                raise ValueError
            return "%s-%s" % (low, high)
        if "/" in text:
            network = ipaddress.ip_network(text, strict=False)
            if network.prefixlen == network.max_prefixlen:
                return str(network.network_address)
            return "%s/%s" % (network.network_address, network.netmask) if network.version == 4 else str(network)
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise ValueError("remote_addresses: %r is not an address, a range (a-b), a subnet (CIDR or address/mask) "
                         "or a keyword (Any, LocalSubnet, DefaultGateway, DHCP, DNS, WINS, Intranet, Internet)"
                         % text) from None


def firewall_addresses(tokens: t.Iterable[str]) -> list[str]:
    """A RemoteAddress list in Windows' form, duplicates dropped; Any must stand alone."""
    result: list[str] = []
    for token in tokens:
        if not str(token).strip():
            continue
        value = firewall_address(token)
        if value.lower() not in (item.lower() for item in result):
            result.append(value)
    if not result:
        raise ValueError("remote_addresses must hold at least one entry (use [Any] for every address)")
    if "Any" in result and len(result) > 1:
        raise ValueError("remote_addresses: Any (or *) stands alone, it already admits every address")
    return result


def same_firewall_addresses(first: t.Iterable[str], second: t.Iterable[str]) -> bool:
    """Equal as sets, case-insensitively, after bringing both to Windows' form."""
    def canonical(items: t.Iterable[str]) -> set[str]:
        result = set()
        for item in items:
            try:
                result.add(firewall_address(item).lower())
            except ValueError:
                result.add(str(item).strip().lower())
        return result
    return canonical(first) == canonical(second)


@dataclasses.dataclass
class FirewallRule:
    """One firewall rule with its port and address conditions (three CIM instances, one InstanceID)."""

    name: str
    display_name: str = ""
    group: str = ""
    display_group: str = ""
    enabled: bool = False
    profiles_mask: int = 0
    direction: int = 1
    action: int = 2
    protocol: str = ""
    local_ports: list[str] = dataclasses.field(default_factory=list)
    remote_addresses: list[str] = dataclasses.field(default_factory=lambda: ["Any"])
    policy_store_source_type: int = 1
    policy_store_source: str = ""

    @classmethod
    def from_instances(cls, rule: CimInstance, ports: CimInstance | None,
                       addresses: CimInstance | None) -> "FirewallRule":
        return cls(
            name=rule.get("InstanceID", ""), display_name=rule.get("DisplayName", ""),
            group=rule.get("RuleGroup", ""), display_group=rule.get("DisplayGroup", ""),
            enabled=rule.get_int("Enabled", 2) == 1, profiles_mask=rule.get_int("Profiles"),
            direction=rule.get_int("Direction", 1), action=rule.get_int("Action", 2),
            protocol=ports.get("Protocol", "") if ports else "",
            local_ports=ports.get_list("LocalPort") if ports else [],
            remote_addresses=(addresses.get_list("RemoteAddress") if addresses else []) or ["Any"],
            policy_store_source_type=rule.get_int("PolicyStoreSourceType", 1),
            policy_store_source=rule.get("PolicyStoreSource", ""),
        )

    @property
    def profiles(self) -> list[str]:
        return firewall_profiles(self.profiles_mask)

    @property
    def from_group_policy(self) -> bool:
        return self.policy_store_source_type == FIREWALL_SOURCE_GROUP_POLICY

    @property
    def is_winrm(self) -> bool:
        return self.group.lower() in (g.lower() for g in WINRM_FIREWALL_GROUPS)

    def in_group(self, group: str) -> bool:
        """By display group or by the indirect RuleGroup string, case-insensitively."""
        wanted = group.strip().lower()
        return wanted in (self.display_group.lower(), self.group.lower())

    def copy(self) -> "FirewallRule":
        return copy.deepcopy(self)

    def to_dict(self) -> dict[str, t.Any]:
        return {
            "name": self.name, "display_name": self.display_name, "group": self.group,
            "display_group": self.display_group, "enabled": self.enabled, "profiles": self.profiles,
            "direction": {1: "inbound", 2: "outbound"}.get(self.direction, str(self.direction)),
            "action": {2: "allow", 3: "allow_bypass", 4: "block"}.get(self.action, str(self.action)),
            "protocol": self.protocol, "local_ports": list(self.local_ports),
            "remote_addresses": list(self.remote_addresses),
            "policy_store_source_type": {1: "local", 2: "group_policy"}.get(
                self.policy_store_source_type, str(self.policy_store_source_type)),
        }

    def rule_put(self, enabled: bool | None = None, profiles_mask: int | None = None) -> ET.Element | None:
        """The partial MSFT_NetFirewallRule Put for what differs, or None."""
        values: dict[str, int] = {}
        if enabled is not None and enabled != self.enabled:
            values["Enabled"] = 1 if enabled else 2
        if profiles_mask is not None and firewall_covered_profiles(profiles_mask) != \
                firewall_covered_profiles(self.profiles_mask):
            values["Profiles"] = profiles_mask
        return FirewallRuleInstance.render_put(self.name, values) if values else None

    def address_put(self, remote_addresses: list[str] | None) -> ET.Element | None:
        """The partial MSFT_NetAddressFilter Put for a different RemoteAddress list, or None."""
        if remote_addresses is None or same_firewall_addresses(self.remote_addresses, remote_addresses):
            return None
        return FirewallAddressFilter.render_put(self.name, {"RemoteAddress": list(remote_addresses)})


def read_firewall_rules(session: t.Any) -> list[FirewallRule]:
    """Every rule with its filters: one Enumerate per class (three requests, whatever the rule count)."""
    rules = [FirewallRuleInstance.from_xml(e) for e in session.enumerate(FIREWALL_RULE_URI)]
    ports = {i.get("InstanceID", "").lower(): i
             for i in (FirewallPortFilter.from_xml(e) for e in session.enumerate(FIREWALL_PORT_FILTER_URI))}
    addresses = {i.get("InstanceID", "").lower(): i
                 for i in (FirewallAddressFilter.from_xml(e) for e in session.enumerate(FIREWALL_ADDRESS_FILTER_URI))}
    return [FirewallRule.from_instances(rule, ports.get(rule.get("InstanceID", "").lower()),
                                        addresses.get(rule.get("InstanceID", "").lower())) for rule in rules]


__all__ = [
    "Auth", "CERTMAPPING_URI", "CONFIG_URI", "CertMapping", "ClientAuth", "ClientConfig", "ClientDefaultPorts",
    "ALL_PARTS", "ConfigSnapshot", "DefaultPorts", "Field", "LISTENER_URI", "Listener", "POLICY_SETTINGS", "PolicySetting",
    "PolicyValues", "Resource", "STDREGPROV_URI", "Section", "ServiceAuth", "ServiceConfig", "ServiceDefaultPorts",
    "WinRMConfig", "Winrs", "certmapping_selectors", "diff", "expand_uri", "listener_selectors", "policy_setting",
    "read_all", "registry_delete_value", "registry_enum_values", "registry_get_value", "registry_set_value",
    "CIM_STANDARD_URI", "CimInstance", "FIREWALL_ADDRESS_FILTER_URI", "FIREWALL_PORT_FILTER_URI",
    "FIREWALL_RULE_URI", "FirewallAddressFilter", "FirewallPortFilter", "FirewallRule", "FirewallRuleInstance",
    "WINRM_FIREWALL_GROUPS", "firewall_address", "firewall_addresses", "firewall_covered_profiles",
    "firewall_profile_mask", "firewall_profiles", "read_firewall_rules", "same_firewall_addresses",
]
