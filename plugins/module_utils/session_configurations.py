# -*- coding: utf-8 -*-
# Copyright: contributors to the wsman.winrm collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""WinRM plugins and the PowerShell session configurations among them, as ``winrm/config/plugin`` serves them.

Windows keeps each plugin as one ``PlugInConfiguration`` document ([MS-WSMV] 2.2.4.22 PluginType,
2.2.4.29 ResourceType; Microsoft Learn, "WinRM Service Plug-in Configuration"): attributes (Name,
Filename, Enabled, RunAsUser, ...), ``InitializationParameters/Param``, ``Resources/Resource`` with
its ``Security`` elements (``Uri``, ``Sddl``) and ``Capability`` elements, and ``Quotas``. It is read
by a Get with the selector ``Name`` or an Enumerate, and changed by a Put of the whole document
([MS-WSMV] 3.1.4.1.34.2) - what ``Set-PSSessionConfiguration`` does through PowerShell's WSMan
provider: Get, edit, Put back (the provider drops ``xml:lang`` first).

A resource's ``Security/@Sddl`` replaces RootSDDL for the URIs it covers ([MS-WSMV] 3.1.4.1.28;
Microsoft, "Installation and Configuration for Windows Remote Management": RootSDDL "is only used
for security access checks if the requested resource URI does not specify its own specific SDDL as a
part of the plug-in configuration"); an empty Sddl falls back to RootSDDL. Security changes apply
at once; Enabled, quotas and the rest when the WinRM service restarts
(``Set-PSSessionConfiguration`` restarts it).
"""

from __future__ import annotations

import copy
import re
import typing as t
import xml.etree.ElementTree as ET

from ansible_collections.wsman.winrm.plugins.module_utils import sddl as sddl_parser

PLUGIN_URI = "http://schemas.microsoft.com/wbem/wsman/1/config/plugin"
PLUGIN_NS = "http://schemas.microsoft.com/wbem/wsman/1/config/PluginConfiguration"
POWERSHELL_URI = "http://schemas.microsoft.com/powershell/"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_Q = "{%s}" % PLUGIN_NS

# Quotas attributes ([MS-WSMV] QuotasType and what PowerShell 3.0+ writes) <-> option names.
QUOTAS = (
    ("IdleTimeoutms", "idle_timeout_ms"),
    ("MaxIdleTimeoutms", "max_idle_timeout_ms"),
    ("MaxConcurrentUsers", "max_concurrent_users"),
    ("MaxProcessesPerShell", "max_processes_per_shell"),
    ("MaxMemoryPerShellMB", "max_memory_per_shell_mb"),
    ("MaxConcurrentCommandsPerShell", "max_concurrent_commands_per_shell"),
    ("MaxShells", "max_shells"),
    ("MaxShellsPerUser", "max_shells_per_user"),
    ("MaxConcurrentOperations", "max_concurrent_operations"),
    ("MaxConcurrentOperationsPerUser", "max_concurrent_operations_per_user"),
)
QUOTA_OPTION = dict(QUOTAS)
QUOTA_ATTRIBUTE = {option: attribute for attribute, option in QUOTAS}
MAX_QUOTA = 2147483647          # every quota is a signed 32-bit count or time in Windows' checks


def _bool(text: t.Optional[str], default: bool = False) -> bool:
    if text is None or text == "":
        return default
    return str(text).strip().lower() == "true"


def _int(text: t.Optional[str]) -> t.Optional[int]:
    value = (text or "").strip()
    return int(value) if value.isdigit() else None


def _snake(name: str) -> str:
    return QUOTA_OPTION.get(name) or re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


class SessionConfiguration:
    """One plugin document: read-only views for reports, edited copies for the Put."""

    def __init__(self, element: ET.Element):
        if element.tag.lower() != (_Q + "PlugInConfiguration").lower():
            raise ValueError("not a PlugInConfiguration element: %s" % element.tag)
        self.element = element

    @classmethod
    def from_reply(cls, element: ET.Element) -> "SessionConfiguration":
        """From a Get reply (the SOAP Body or the document itself)."""
        if element.tag.lower() != (_Q + "PlugInConfiguration").lower():
            found = next((e for e in element.iter() if e.tag.lower() == (_Q + "PlugInConfiguration").lower()), None)
            if found is None:
                raise ValueError("the reply holds no PlugInConfiguration")
            element = found
        return cls(element)

    # ---- attributes
    @property
    def name(self) -> str:
        return self.element.get("Name", "")

    @property
    def filename(self) -> str:
        return self.element.get("Filename", "")

    @property
    def kind(self) -> str:
        """powershell (a session configuration), wmi, event_forwarding or other."""
        filename = self.filename.lower()
        if filename.endswith("pwrshplugin.dll"):
            return "powershell"
        if filename.endswith("wsmwmipl.dll"):
            return "wmi"
        if filename.endswith("wevtfwd.dll"):
            return "event_forwarding"
        return "other"

    @property
    def enabled(self) -> bool:
        return _bool(self.element.get("Enabled"), default=True)

    @property
    def run_as_user(self) -> str:
        return (self.element.get("RunAsUser") or "").strip()

    @property
    def run_as_virtual_account(self) -> bool:
        return _bool(self.element.get("RunAsVirtualAccount"))

    @property
    def parameters(self) -> t.Dict[str, str]:
        section = self.element.find(_Q + "InitializationParameters")
        if section is None:
            return {}
        return {p.get("Name", ""): p.get("Value", "") for p in section if p.tag == _Q + "Param"}

    @property
    def quotas(self) -> t.Dict[str, int]:
        section = self.element.find(_Q + "Quotas")
        if section is None:
            return {}
        return {_snake(name): value for name, value in ((n, _int(v)) for n, v in section.attrib.items())
                if value is not None}

    @property
    def configuration_file(self) -> t.Optional[str]:
        """The .pssc a JEA or file-based configuration was registered from (ConfigFilePath)."""
        return next((v for k, v in self.parameters.items() if k.lower() == "configfilepath"), None)

    # ---- resources and their descriptors
    def resources(self) -> t.List[ET.Element]:
        section = self.element.find(_Q + "Resources")
        return [] if section is None else [r for r in section if r.tag == _Q + "Resource"]

    @staticmethod
    def resource_uri(resource: ET.Element) -> str:
        return (resource.get("ResourceUri") or resource.get("ResourceURI") or "").strip()

    def security_elements(self) -> t.List[t.Tuple[ET.Element, ET.Element]]:
        return [(resource, security) for resource in self.resources() for security in resource
                if security.tag == _Q + "Security"]

    @property
    def endpoint_uri(self) -> str:
        """The URI clients connect to (a session configuration's own resource)."""
        resources = self.resources()
        return self.resource_uri(resources[0]) if resources else ""

    @property
    def sddl(self) -> t.Optional[str]:
        """The descriptor of the configuration's own resource URI; None when RootSDDL applies."""
        uri = self.endpoint_uri.lower()
        chosen = None
        for resource, security in self.security_elements():
            target = (security.get("Uri") or "").strip().lower()
            if self.resource_uri(resource).lower() == uri and (target in ("", uri) or uri.startswith(target)):
                if chosen is None or len(target) > len((chosen.get("Uri") or "")):
                    chosen = security
        value = (chosen.get("Sddl") or "").strip() if chosen is not None else ""
        return value or None

    def descriptors(self) -> t.List[t.Dict[str, t.Any]]:
        """Every Security element: the URI it guards, its SDDL parsed (grants), or RootSDDL's fallback."""
        found = []
        for resource, security in self.security_elements():
            text = (security.get("Sddl") or "").strip()
            entry: t.Dict[str, t.Any] = {"resource_uri": self.resource_uri(resource),
                                         "uri": security.get("Uri") or "", "sddl": text or None,
                                         "uses_root_sddl": not text}
            if text:
                try:
                    entry["grants"] = [g.to_dict() for g in sddl_parser.grants(text)]
                except sddl_parser.SddlError as error:
                    entry["error"] = str(error)
            found.append(entry)
        return found

    def to_dict(self) -> t.Dict[str, t.Any]:
        return {
            "name": self.name, "kind": self.kind, "enabled": self.enabled, "filename": self.filename,
            "uri": self.endpoint_uri, "sddl": self.sddl, "run_as_user": self.run_as_user or None,
            "run_as_virtual_account": self.run_as_virtual_account,
            "configuration_file": self.configuration_file,
            "architecture": _int(self.element.get("Architecture")),
            "use_shared_process": _bool(self.element.get("UseSharedProcess")),
            "initialization_parameters": self.parameters, "quotas": self.quotas,
            "descriptors": self.descriptors(),
        }

    # ---- edited copies (nothing changes in place)
    def with_changes(self, sddl: t.Optional[str] = None, enabled: t.Optional[bool] = None,
                     quotas: t.Optional[t.Mapping[str, int]] = None) -> "SessionConfiguration":
        element = copy.deepcopy(self.element)
        element.attrib.pop(XML_LANG, None)
        edited = SessionConfiguration(element)
        if sddl is not None:
            uri = self.endpoint_uri.lower()
            targets = [s for r, s in edited.security_elements() if self.resource_uri(r).lower() == uri]
            if not targets:
                resource = edited.resources()[0]
                security = ET.Element(_Q + "Security", {"Uri": self.endpoint_uri, "Sddl": sddl, "ExactMatch": "False"})
                resource.insert(0, security)
            for security in targets:
                security.set("Sddl", sddl)
        if enabled is not None:
            element.set("Enabled", "true" if enabled else "false")
        if quotas:
            section = element.find(_Q + "Quotas")
            if section is None:
                section = ET.SubElement(element, _Q + "Quotas")
            for option, value in quotas.items():
                section.set(QUOTA_ATTRIBUTE[option], str(int(value)))
        return edited

    def selectors(self) -> t.Dict[str, str]:
        return {"Name": self.name}

    def copy(self) -> "SessionConfiguration":
        return SessionConfiguration(copy.deepcopy(self.element))


def read_all(session: t.Any) -> t.List[SessionConfiguration]:
    """Every plugin, in the order Windows lists them (one Enumerate)."""
    return [SessionConfiguration.from_reply(element) for element in session.enumerate(PLUGIN_URI)]


def read(session: t.Any, name: str) -> SessionConfiguration:
    return SessionConfiguration.from_reply(session.get(PLUGIN_URI, selectors={"Name": name}))


def put(session: t.Any, configuration: SessionConfiguration) -> SessionConfiguration:
    """The whole document back, as Set-PSSessionConfiguration sends it; Windows' reply parsed."""
    return SessionConfiguration.from_reply(session.put(PLUGIN_URI, configuration.element,
                                                       selectors=configuration.selectors()))


def find(configurations: t.Iterable[SessionConfiguration], name: str) -> t.Optional[SessionConfiguration]:
    wanted = (name or "").lower()
    return next((c for c in configurations if c.name.lower() == wanted), None)
