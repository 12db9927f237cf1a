"""What a simulated host is: its computer name, domain membership and Windows version.

Used by Identify (ProductVersion ``OS: <version> SP: <sp> Stack: <WinRM version>``, MS-WSMV 3.1.4.1.x
and PowerShell-Docs Test-WSMan), by WinRS (``ver``, ``hostname``), and by the NTLM CHALLENGE (the
names a Windows computer gives in its target info). ``Win32_OperatingSystem`` and
``Win32_ComputerSystem`` over WMI would read the same record.
"""
from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class WindowsVersion:
    caption: str          # Win32_OperatingSystem.Caption
    version: str          # "10.0.20348"
    build_revision: int   # what ver shows after the build
    service_pack: str     # "0.0"
    stack: str            # WinRM (WS-Management stack) version: "3.0", "2.0", "1.1"
    server: bool


# Per profile. Builds: Windows Server 2022 10.0.20348, Windows 10 22H2 10.0.19045, Windows Server 2008
# SP2 6.0.6002; WinRM stack 3.0 from WMF 3.0 on, 2.0 with KB968930, 1.1 before it. The 1.1 stack
# string is inferred [INF].
VERSIONS = {
    "server2022": WindowsVersion("Microsoft Windows Server 2022 Datacenter", "10.0.20348", 2849, "0.0", "3.0", True),
    "workstation": WindowsVersion("Microsoft Windows 10 Enterprise", "10.0.19045", 5011, "0.0", "3.0", False),
    "winrm11": WindowsVersion("Microsoft Windows Server 2008 Standard", "6.0.6002", 18005, "2.0", "1.1", True),
    "winrm11_scoped": WindowsVersion("Microsoft Windows Server 2008 Standard", "6.0.6002", 18005, "2.0", "1.1", True),
    "winrm11_ports": WindowsVersion("Microsoft Windows Server 2008 Standard", "6.0.6002", 18005, "2.0", "1.1", True),
    "upgraded11": WindowsVersion("Microsoft Windows Server 2008 Standard", "6.0.6002", 18005, "2.0", "2.0", True),
}


class System:
    def __init__(self, computer_name: str, profile: str, domain=None):
        self.computer_name = computer_name
        self.version = VERSIONS.get(profile, VERSIONS["server2022"])
        self.domain = domain          # auth.KerberosConfig when the host is a domain member

    @property
    def domain_member(self) -> bool:
        return self.domain is not None

    @property
    def product_version(self) -> str:
        return f"OS: {self.version.version} SP: {self.version.service_pack} Stack: {self.version.stack}"

    @property
    def version_line(self) -> str:
        return f"Microsoft Windows [Version {self.version.version}.{self.version.build_revision}]"
