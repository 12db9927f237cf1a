"""WinRM plugins and the session configurations among them (``winrm/config/plugin``).

How Windows keeps them: each plugin is one ``PlugInConfiguration`` document (MS-WSMV 2.2.4.22
PluginType, 2.2.4.29 ResourceType, 2.2.4.x SecurityType/CapabilityType) stored as the ``ConfigXML``
value of ``HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\WSMAN\\Plugin\\<Name>`` (as registry
exports of real hosts show), served by WS-Transfer Get/Put/Create/Delete of
``http://schemas.microsoft.com/wbem/wsman/1/config/plugin`` with the selector ``Name`` (MS-WSMV
3.1.4.1.34.2) and by Enumerate. ``Set-PSSessionConfiguration`` and the ``WSMan:`` drive change one
through a Get of the whole document, an edit and a Put of the whole document (PowerShell's
WSMan config provider, ``ConfigProvider.SetItem``); Microsoft Learn, "WinRM Service Plug-in
Configuration", describes the schema and that a new plugin needs a service restart.

What the service does with them:

- Routing (MS-WSMV 3.1.4.1.34.1): a request's resource URI goes to the enabled plugin whose
  ``Resource/@ResourceUri`` matches it (``ExactMatch`` first, else the longest prefix).
- Authorization (MS-WSMV 3.1.4.1.28; Microsoft, "Installation and Configuration for Windows Remote
  Management": RootSDDL "is only used for security access checks if the requested resource URI does
  not specify its own specific SDDL as a part of the plug-in configuration"): the most specific
  ``Security`` element of the matched resource whose ``Uri`` matches decides; an empty ``Sddl`` (or
  no Security element) falls back to RootSDDL. Security changes apply at once (the config provider
  notes that the service picks them up dynamically); ``Enabled`` and the rest apply when the WinRM
  service starts (Set-/Disable-PSSessionConfiguration restart it), so the simulator keeps the value
  each plugin had when the host started (``loaded_enabled``).
- RunAs: ``RunAsUser``/``RunAsPassword`` are credentials the service validates and stores apart (a
  Get never shows the password). With the policy "Disallow WinRM from storing RunAs credentials"
  (``DisableRunAs=1``) the service refuses to set them and the stored password is erased (Microsoft,
  WindowsRemoteManagement.admx help text), so a session configuration that runs as another user no
  longer opens.

Which plugins each profile has (``default_plugins``): the ones ``Enable-PSRemoting`` registers on
that Windows version - ``microsoft.powershell``, ``microsoft.powershell32`` (64-bit Windows),
``microsoft.powershell.workflow`` (Windows PowerShell 3.0-5.1) and
``microsoft.windows.servermanagerworkflows`` (Server SKUs) - plus ``WMI Provider`` and ``Event
Forwarding Plugin``; attribute values and descriptors from registry exports of Windows Server
2012 R2-2022 and Windows 10 (BA, IU and RM on microsoft.powershell from Windows 10 / Server 2016 on,
BA only with PowerShell 2.0). ``server2022_jea`` adds a JEA endpoint (virtual account, its role
group in the descriptor) and a delegated endpoint that runs as another account.
"""
from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from typing import Callable
from xml.sax.saxutils import quoteattr

from ..protocol.faults import WSManFault
from . import accounts as accounts_model
from .registry import REG_SZ, Registry

PLUGIN_NS = "http://schemas.microsoft.com/wbem/wsman/1/config/PluginConfiguration"
PLUGIN_KEY = r"SOFTWARE\Microsoft\Windows\CurrentVersion\WSMAN\Plugin"
POWERSHELL_URI = "http://schemas.microsoft.com/powershell/"
POWERSHELL_FILENAME = r"%windir%\system32\pwrshplugin.dll"
CAPABILITIES = ("Get", "Put", "Create", "Delete", "Invoke", "Enumerate", "Subscribe", "Shell", "Identify")
# Attributes of PlugInConfiguration and what they hold (MS-WSMV 2.2.4.22 and the PowerShell 3.0+
# additions the WSMan provider documents: OutputBufferingMode, RunAsVirtualAccount...).
_BOOLEAN = {"Enabled", "UseSharedProcess", "AutoRestart", "RunAsVirtualAccount"}
_NUMBER = {"SDKVersion", "Architecture", "ProcessIdleTimeoutSec"}
_TEXT = {"Name", "Filename", "XmlRenderingType", "RunAsUser", "RunAsPassword", "OutputBufferingMode",
         "RunAsVirtualAccountGroups"}
_ATTRIBUTES = _BOOLEAN | _NUMBER | _TEXT
_RENDERING = {"text", "xmlreader"}
_BUFFERING = {"block", "drop"}


def _tag(element: ET.Element) -> str:
    return element.tag.rpartition("}")[2]


def _qualified(element: ET.Element) -> bool:
    return element.tag.startswith("{%s}" % PLUGIN_NS)


def render(element: ET.Element, root: bool = True) -> str:
    """The document as Windows keeps it: default namespace on the root, attributes in order."""
    attributes = "".join(" %s=%s" % (name.rpartition("}")[2] if not name.startswith("{http://www.w3.org/XML")
                                     else "xml:lang", quoteattr(value)) for name, value in element.attrib.items())
    namespace = ' xmlns="%s"' % PLUGIN_NS if root else ""
    children = "".join(render(child, root=False) for child in element)
    return "<%s%s%s>%s</%s>" % (_tag(element), namespace, attributes, children, _tag(element))


def parse(text: str) -> ET.Element:
    return ET.fromstring(text)


def uri_of(resource: ET.Element) -> str:
    """A Resource's URI: Windows writes ResourceUri, MS-WSMV's schema ResourceURI."""
    return (resource.get("ResourceUri") or resource.get("ResourceURI") or "").strip()


# --- what each profile starts with --------------------------------------------------------------
def _sddl(*trustees: str, audit: str = "GXGW") -> str:
    return "O:NSG:BAD:P%sS:P(AU;FA;GA;;;WD)(AU;SA;%s;;;WD)" % ("".join("(A;;GA;;;%s)" % t for t in trustees), audit)


_QUOTAS_51 = ('<Quotas MaxIdleTimeoutms="2147483647" MaxConcurrentUsers="5" IdleTimeoutms="7200000" '
              'MaxProcessesPerShell="15" MaxMemoryPerShellMB="1024" MaxConcurrentCommandsPerShell="1000" '
              'MaxShells="25" MaxShellsPerUser="25"/>')
_WORKFLOW_PARAMS = (
    '<Param Name="AssemblyName" Value="Microsoft.PowerShell.Workflow.ServiceCore, Version=3.0.0.0, Culture=neutral, '
    'PublicKeyToken=31bf3856ad364e35, processorArchitecture=MSIL"/>'
    '<Param Name="PSSessionConfigurationTypeName" Value="Microsoft.PowerShell.Workflow.PSWorkflowSessionConfiguration"/>'
    '<Param Name="SessionConfigurationData" Value="&lt;SessionConfigurationData&gt;&lt;Param Name=&quot;'
    'ModulesToImport&quot; Value=&quot;%windir%\\system32\\windowspowershell\\v1.0\\Modules\\PSWorkflow&quot;/&gt;'
    '&lt;Param Name=&quot;PrivateData&quot;&gt;&lt;PrivateData&gt;&lt;Param Name=&quot;enablevalidation&quot; '
    'Value=&quot;true&quot; /&gt;&lt;/PrivateData&gt;&lt;/Param&gt;&lt;/SessionConfigurationData&gt;"/>')


def _powershell(name: str, sddl: str, ps_version: str = "5.1", architecture: str = "64", shared: bool = False,
                params: str = "", extra_attributes: str = "", quotas: str = _QUOTAS_51, sdk: str = "2") -> str:
    uri = POWERSHELL_URI + name
    return (
        f'<PlugInConfiguration xmlns="{PLUGIN_NS}" Name="{name}" Filename="{POWERSHELL_FILENAME}" SDKVersion="{sdk}" '
        f'XmlRenderingType="text" Enabled="true" Architecture="{architecture}" '
        f'UseSharedProcess="{"true" if shared else "false"}" ProcessIdleTimeoutSec="{28800 if shared else 0}" '
        f'RunAsUser="" RunAsPassword="" {extra_attributes}AutoRestart="false" OutputBufferingMode="Block">'
        f'<InitializationParameters><Param Name="PSVersion" Value="{ps_version}"/>{params}</InitializationParameters>'
        f'<Resources><Resource ResourceUri="{uri}" SupportsOptions="true" ExactMatch="true">'
        f'<Security Uri="{uri}" Sddl="{sddl}" ExactMatch="False"/><Capability Type="Shell"/></Resource></Resources>'
        f'{quotas}</PlugInConfiguration>')


def _wmi(sddl: str) -> str:
    resources = ""
    for uri, exact, capabilities in (
            ("http://schemas.microsoft.com/wbem/wsman/1/wmi", False,
             ("Identify", "Get", "Put", "Invoke", "Create", "Delete", "Enumerate", "Subscribe")),
            ("http://schemas.dmtf.org/wbem/wscim/1/cim-schema", False,
             ("Get", "Put", "Invoke", "Create", "Delete", "Enumerate", "Subscribe")),
            ("http://schemas.dmtf.org/wbem/wscim/1/*", True, ("Enumerate", "Subscribe"))):
        caps = "".join('<Capability Type="%s"%s/>' % (c, {"Get": ' SupportsFragment="true"',
                                                          "Put": ' SupportsFragment="true"',
                                                          "Enumerate": ' SupportsFiltering="true"',
                                                          "Subscribe": ' SupportsFiltering="true"'}.get(c, ""))
                       for c in capabilities)
        exact_match = ' ExactMatch="true"' if exact else ""
        resources += (f'<Resource ResourceUri="{uri}" SupportsOptions="true"{exact_match}>'
                      f'<Security Uri="" ExactMatch="false" Sddl="{sddl}"/>{caps}</Resource>')
    return (f'<PlugInConfiguration xmlns="{PLUGIN_NS}" Name="WMI Provider" Filename="C:\\Windows\\system32\\WsmWmiPl.dll" '
            f'SDKVersion="1" XmlRenderingType="text" UseSharedProcess="false" ProcessIdleTimeoutSec="0" RunAsUser="" '
            f'RunAsPassword="" AutoRestart="false" Enabled="true" OutputBufferingMode="Block">'
            f'<Resources>{resources}</Resources>'
            f'<Quotas MaxConcurrentUsers="100" MaxConcurrentOperationsPerUser="100" MaxConcurrentOperations="1500"/>'
            f'</PlugInConfiguration>')


_EVENT_FORWARDING = (
    f'<PlugInConfiguration xmlns="{PLUGIN_NS}" Name="Event Forwarding Plugin" Filename="C:\\Windows\\system32\\wevtfwd.dll" '
    f'SDKVersion="1" XmlRenderingType="text" UseSharedProcess="false" ProcessIdleTimeoutSec="0" RunAsUser="" '
    f'RunAsPassword="" AutoRestart="false" Enabled="true" OutputBufferingMode="Block">'
    f'<Resources><Resource ResourceUri="http://schemas.microsoft.com/wbem/wsman/1/windows/EventLog" SupportsOptions="true">'
    f'<Security Uri="" ExactMatch="false" Sddl="O:NSG:BAD:P(A;;GA;;;BA)(A;;GR;;;ER)S:P(AU;FA;GA;;;WD)(AU;SA;GWGX;;;WD)"/>'
    f'<Capability Type="Subscribe" SupportsFiltering="true"/></Resource></Resources>'
    f'<Quotas MaxConcurrentUsers="100" MaxConcurrentOperationsPerUser="15" MaxConcurrentOperations="1500"/>'
    f'</PlugInConfiguration>')

JEA_GROUP = {"name": "JEA Operators", "rid": 1003, "members": ["operator"],
             "description": "Members may connect to the JEAMaintenance session configuration"}
JEA_CONFIG_FILE = r"C:\Windows\System32\WindowsPowerShell\v1.0\SessionConfig\JEAMaintenance_6f1c4a2e.pssc"


def profile_groups(profile: str) -> list[dict]:
    """Local groups a profile's host has beyond the built-in ones."""
    groups = []
    if profile in ("upgraded11",):
        # Created by WinRM 2.0 setup (Microsoft Learn, "Authentication for Remote Connections").
        groups.append({"name": accounts_model.WINRM_WMI_USERS, "rid": 1002, "members": ["operator"],
                       "description": accounts_model.WINRM_WMI_USERS_DESCRIPTION})
    if profile == "server2022_jea":
        groups.append(JEA_GROUP)
    return groups


def default_plugins(profile: str, machine_sid: str) -> dict[str, str]:
    """Plugin name -> ConfigXML for a new host of this profile."""
    rm = _sddl("BA", "IU", "RM")
    if profile in ("winrm11", "winrm11_scoped", "winrm11_ports"):
        # WinRM 1.1 authorizes every request with RootSDDL (MS-WSMV note <77>): empty descriptors.
        return {"Event Forwarding Plugin": _EVENT_FORWARDING, "WMI Provider": _wmi("")}
    if profile == "upgraded11":
        # Windows Server 2008 (32-bit) with WinRM 2.0 and PowerShell 2.0: one PowerShell endpoint,
        # Administrators only; WMI for Administrators and WinRMRemoteWMIUsers__.
        wmi_users = "%s-%d" % (machine_sid, 1002)
        ps2 = _powershell("microsoft.powershell", _sddl("BA"), ps_version="2.0", architecture="32", sdk="1",
                          quotas='<Quotas MaxConcurrentUsers="5" MaxProcessesPerShell="15" MaxMemoryPerShellMB="150" '
                                 'MaxShellsPerUser="5"/>')
        return {"Event Forwarding Plugin": _EVENT_FORWARDING, "microsoft.powershell": ps2,
                "WMI Provider": _wmi(_sddl("BA", wmi_users, audit="GWGX"))}
    plugins = {
        "Event Forwarding Plugin": _EVENT_FORWARDING,
        "microsoft.powershell": _powershell("microsoft.powershell", rm),
        "microsoft.powershell.workflow": _powershell("microsoft.powershell.workflow", _sddl("BA", "RM"), shared=True,
                                                     params=_WORKFLOW_PARAMS),
        "microsoft.powershell32": _powershell("microsoft.powershell32", rm, architecture="32"),
    }
    if profile != "workstation":
        plugins["microsoft.windows.servermanagerworkflows"] = _powershell(
            "microsoft.windows.servermanagerworkflows", _sddl("BA", "NS"), shared=True, params=_WORKFLOW_PARAMS)
    plugins["WMI Provider"] = _wmi(_sddl("BA", "IU", "RM", audit="GWGX"))
    if profile == "server2022_jea":
        jea_group = "%s-%d" % (machine_sid, JEA_GROUP["rid"])
        # Register-PSSessionConfiguration -Path JEAMaintenance.pssc: a virtual account, the role
        # group in the descriptor, the session configuration file as a parameter.
        plugins["JEAMaintenance"] = _powershell(
            "JEAMaintenance", _sddl(jea_group),
            params='<Param Name="ConfigFilePath" Value="%s"/>' % JEA_CONFIG_FILE,
            extra_attributes='RunAsVirtualAccount="true" RunAsVirtualAccountGroups="" ')
        # Register-PSSessionConfiguration -RunAsCredential: delegated administration, the
        # credentials the DisableRunAs policy forbids.
        plugins["Maintenance"] = _powershell("Maintenance", _sddl("BA", jea_group)).replace(
            'RunAsUser=""', 'RunAsUser="localadmin"')
    return plugins


def install(registry_keys: dict, plugins: dict[str, str]) -> None:
    """Write the plugins into a raw key table (initial states and migration)."""
    from .registry import set_policy
    for name, text in plugins.items():
        set_policy(registry_keys, PLUGIN_KEY + "\\" + name, "ConfigXML", REG_SZ, text)


def initial_run_as(profile: str) -> dict[str, str]:
    """Plugin name (lower case) -> the account whose password the service stored for RunAs."""
    return {"maintenance": "localadmin"} if profile == "server2022_jea" else {}


# --- the model ----------------------------------------------------------------------------------
class SessionConfigurations:
    """The plugin catalog of one host."""

    def __init__(self, registry: Registry, policy, users, run_as: dict, on_change: Callable[[], None]):
        self.registry = registry
        self.policy = policy
        self.users = users
        # Plugin name (lower case) -> account whose password is stored; the password itself is the
        # account's (validated on Put), so the state keeps no copy.
        self._run_as = run_as
        self._on_change = on_change
        self._cache: tuple[int, dict[str, ET.Element]] | None = None
        # What the service loaded when it started (Enabled changes wait for a restart).
        self.loaded_enabled = {name.lower(): self.enabled(element) for name, element in self.documents().items()}

    # ----- reading
    def documents(self) -> dict[str, ET.Element]:
        """Name -> parsed PlugInConfiguration, in registry order (parsed once per registry change)."""
        if self._cache is None or self._cache[0] != self.registry.generation:
            documents = {}
            for key in self.registry.subkeys(PLUGIN_KEY):
                text = self.registry.string(PLUGIN_KEY + "\\" + key, "ConfigXML")
                if text:
                    element = parse(text)
                    documents[element.get("Name", key)] = element
            self._cache = (self.registry.generation, documents)
        return self._cache[1]

    def find(self, name: str) -> tuple[str, ET.Element] | None:
        for stored, element in self.documents().items():
            if stored.lower() == (name or "").lower():
                return stored, element
        return None

    @staticmethod
    def enabled(element: ET.Element) -> bool:
        return (element.get("Enabled") or "true").lower() == "true"

    def rendered(self, name: str) -> str:
        """The document a Get returns: xml:lang added, the RunAs password never shown."""
        found = self.find(name)
        if found is None:
            raise WSManFault("RESOURCE_NOT_FOUND")
        element = copy.deepcopy(found[1])
        if "RunAsPassword" in element.attrib:
            element.set("RunAsPassword", "")
        element.set("{http://www.w3.org/XML/1998/namespace}lang", "en-US")
        return render(element)

    def run_as_account(self, name: str) -> str | None:
        """The account a RunAs session configuration runs as, if its stored credentials survive;
        the DisableRunAs policy erases them."""
        key = name.lower()
        if key in self._run_as and self.policy.disable_run_as():
            del self._run_as[key]
            self._on_change()
        return self._run_as.get(key)

    # ----- routing and security (MS-WSMV 3.1.4.1.34.1, 3.1.4.1.28)
    def route(self, resource_uri: str) -> tuple[ET.Element, ET.Element] | None:
        """(plugin, resource) serving this URI among the plugins the service loaded as enabled."""
        uri = (resource_uri or "").lower().rstrip("/")
        best, best_len, exact = None, -1, False
        for name, plugin in self.documents().items():
            if not self.loaded_enabled.get(name.lower(), False):
                continue
            for resource in self._children(plugin, "Resources", "Resource"):
                base = uri_of(resource).lower().rstrip("/")
                is_exact = (resource.get("ExactMatch") or "false").lower() == "true"
                if base.endswith("/*"):
                    base, is_exact = base[:-2], False
                if is_exact:
                    if uri == base and not exact:
                        best, best_len, exact = (plugin, resource), len(base), True
                elif not exact and (uri == base or uri.startswith(base + "/")) and len(base) > best_len:
                    best, best_len = (plugin, resource), len(base)
        return best

    def descriptor_for(self, resource_uri: str) -> str | None:
        """The SDDL that authorizes this URI, or None when RootSDDL does."""
        routed = self.route(resource_uri)
        if routed is None:
            return None
        uri = (resource_uri or "").lower().rstrip("/")
        best, best_len = None, -1
        for security in self._children(routed[1], "Security"):
            target = (security.get("Uri") or "").lower().rstrip("/")
            exact = (security.get("ExactMatch") or "false").lower() == "true"
            if (target == uri or (not exact and (not target or uri.startswith(target)))) and len(target) > best_len:
                best, best_len = security, len(target)
        sddl = (best.get("Sddl") or "").strip() if best is not None else ""
        return sddl or None

    @staticmethod
    def _children(element: ET.Element, *path: str) -> list[ET.Element]:
        nodes = [element]
        for name in path:
            nodes = [child for node in nodes for child in node if _tag(child) == name]
        return nodes

    # ----- writing
    def put(self, name: str, payload: ET.Element) -> str:
        found = self.find(name)
        if found is None:
            raise WSManFault("RESOURCE_NOT_FOUND")
        stored, current = found
        self._store(stored, self._validated(stored, payload, current))
        return self.rendered(stored)

    def create(self, name: str, payload: ET.Element) -> str:
        if self.find(name) is not None:
            raise WSManFault("ALREADY_EXISTS")
        element = self._validated(name, payload, None)
        self._store(element.get("Name"), element)
        return element.get("Name")

    def delete(self, name: str) -> None:
        found = self.find(name)
        if found is None:
            raise WSManFault("RESOURCE_NOT_FOUND")
        key = PLUGIN_KEY + "\\" + found[0]
        self.registry.delete_system_key(key)
        self._run_as.pop(found[0].lower(), None)

    def _store(self, name: str, element: ET.Element) -> None:
        self.registry.put_system_value(PLUGIN_KEY + "\\" + name, "ConfigXML", REG_SZ, render(element))

    def _validated(self, name: str, payload: ET.Element, current: ET.Element | None) -> ET.Element:
        """The document to store, or the fault Windows answers (MS-WSMV 2.2.4.22/.29 schema)."""
        if not _qualified(payload) or _tag(payload).lower() != "pluginconfiguration":
            raise WSManFault("INVALID_REPRESENTATION")
        element = copy.deepcopy(payload)
        element.tag = "{%s}PlugInConfiguration" % PLUGIN_NS
        element.attrib.pop("{http://www.w3.org/XML/1998/namespace}lang", None)
        for attribute, value in element.attrib.items():
            if attribute not in _ATTRIBUTES:
                raise WSManFault("SCHEMA_VALIDATION_ERROR", provider=True)
            if attribute in _BOOLEAN and value.lower() not in ("true", "false"):
                raise WSManFault("SCHEMA_VALIDATION_ERROR", provider=True)
            if attribute in _NUMBER and not value.strip().isdigit():
                raise WSManFault("SCHEMA_VALIDATION_ERROR", provider=True)
        if (element.get("Name") or "").lower() != name.lower():
            raise WSManFault("CANNOT_CHANGE_KEYS", provider=True)  # the selector names the plugin [INF: code]
        if not (element.get("Filename") or "").strip():
            raise WSManFault("SCHEMA_VALIDATION_ERROR", provider=True)
        if (element.get("XmlRenderingType") or "text").lower() not in _RENDERING or \
                (element.get("OutputBufferingMode") or "Block").lower() not in _BUFFERING:
            raise WSManFault("SCHEMA_VALIDATION_ERROR", provider=True)
        sections = [_tag(child) for child in element]
        if sections.count("Resources") != 1 or any(s not in ("Resources", "InitializationParameters", "Quotas")
                                                   for s in sections):
            raise WSManFault("SCHEMA_VALIDATION_ERROR", provider=True)
        for child in element:
            if not _qualified(child):
                raise WSManFault("SCHEMA_VALIDATION_ERROR", provider=True)
            {"Resources": self._check_resources, "InitializationParameters": self._check_parameters,
             "Quotas": self._check_quotas}[_tag(child)](child)
        self._check_run_as(name, element, current)
        return element

    @staticmethod
    def _check_resources(resources: ET.Element) -> None:
        if not len(resources):
            raise WSManFault("SCHEMA_VALIDATION_ERROR", provider=True)
        for resource in resources:
            uri = uri_of(resource)
            if _tag(resource) != "Resource" or not uri:
                raise WSManFault("SCHEMA_VALIDATION_ERROR", provider=True)
            capabilities = [c for c in resource if _tag(c) == "Capability"]
            if not capabilities or any(c.get("Type") not in CAPABILITIES for c in capabilities):
                raise WSManFault("SCHEMA_VALIDATION_ERROR", provider=True)
            for security in resource:
                if _tag(security) not in ("Security", "Capability"):
                    raise WSManFault("SCHEMA_VALIDATION_ERROR", provider=True)
                if _tag(security) != "Security":
                    continue
                target = security.get("Uri") or ""
                # "The Resource URI used in the Security elements MUST begin with the Resource URI"
                # of its Resource (MS-WSMV 2.2.4.29) [INF: the fault].
                base = uri[:-2] if uri.endswith("/*") else uri
                if target and not target.lower().startswith(base.lower()):
                    raise WSManFault("SCHEMA_VALIDATION_ERROR", provider=True)
                sddl = (security.get("Sddl") or "").strip()
                if sddl:
                    try:
                        accounts_model.parse_sddl(sddl)
                    except accounts_model.SddlError:
                        raise WSManFault("INVALID_SECURITY_DESCRIPTOR", provider=True) from None

    @staticmethod
    def _check_parameters(parameters: ET.Element) -> None:
        names = [p.get("Name") for p in parameters]
        if any(_tag(p) != "Param" or not p.get("Name") or "Value" not in p.attrib for p in parameters) or \
                len({n.lower() for n in names}) != len(names):
            raise WSManFault("SCHEMA_VALIDATION_ERROR", provider=True)

    @staticmethod
    def _check_quotas(quotas: ET.Element) -> None:
        if len(quotas) or any(not value.strip().isdigit() or int(value) > 4294967295
                              for value in quotas.attrib.values()):
            raise WSManFault("SCHEMA_VALIDATION_ERROR", provider=True)

    def _check_run_as(self, name: str, element: ET.Element, current: ET.Element | None) -> None:
        """Credentials are validated and stored apart; the document keeps the user, never the password."""
        user = (element.get("RunAsUser") or "").strip()
        password = element.get("RunAsPassword") or ""
        if "RunAsPassword" in element.attrib:
            element.set("RunAsPassword", "")
        before = (current.get("RunAsUser") or "").strip() if current is not None else ""
        key = name.lower()
        if not user:
            if password:
                raise WSManFault("RUNAS_INVALIDUSERCREDENTIALS", provider=True)
            self._run_as.pop(key, None)
            return
        if not password and user.lower() == before.lower() and self._run_as.get(key):
            return  # the whole document sent back by a config tool: the stored password stays
        if self.policy.disable_run_as():
            raise WSManFault("CONFIG_CANNOT_CHANGE_GPO_CONTROLLED_SETTING", provider=True, name="RunAsUser")
        account = self.users.check_password(user, password)
        if account is None:
            raise WSManFault("RUNAS_INVALIDUSERCREDENTIALS", provider=True)
        self._run_as[key] = account
        self._on_change()
