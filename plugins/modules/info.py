#!/usr/bin/python
# Copyright (c) 2026 wsman.winrm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# The implementation is the action plugin plugins/action/info.py; it runs on the controller.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: info
short_description: Read the complete WinRM configuration of a Windows host over WS-Management
version_added: 0.1.0
description:
  - Reads the WinRM configuration of a Windows host with WS-Management requests sent from the
    controller, the way C(winrm get) and C(winrm enumerate) do, with no PowerShell on the target.
  - One Get of C(winrm/config), one Enumerate of the listeners, one of the CertMapping entries
    and the WinRM Group Policy values read through WMI C(StdRegProv).
  - With O(gather) C(certificates), also reads the machine's certificate stores (the public parts the
    registry holds, through C(StdRegProv)) and reports each certificate's fitness for an HTTPS
    listener and each HTTPS listener's certificate, including the one the controller is served in
    the TLS handshake.
  - Returns every listener with its source (C(GPO) or C(Compatibility) where Windows says so),
    the service and client settings with both auth sections, the CertMapping entries (never a
    password), the WinRS settings, the policy values with the settings they control, and a
    short security summary.
  - The host is reached with its connection variables (C(ansible.builtin.winrm),
    C(ansible.builtin.psrp) or this collection's C(wsman.winrm.winrm)); see the collection's
    endpoint resolution document for the rules.
author:
  - wsman.winrm contributors (@wsman)
options:
  gather:
    description:
      - The parts of the configuration to read. Fewer parts send fewer requests.
      - C(config) covers the service, client and WinRS settings and both auth sections.
      - C(certificates) reads the LocalMachine C(My) store, the C(Root) and C(CA) stores (local, Group
        Policy and Enterprise locations; not C(AuthRoot), the public roots Windows updates itself)
        and the computer's names (C(Win32_ComputerSystem)). That costs one request per store location
        and one per certificate, so it is not part of the default. It reads the listeners too.
      - The PowerShell remoting parts are read only when listed, and read the configuration parts
        they need (which are then returned too).
      - C(system) reads C(Win32_ComputerSystem) and C(Win32_OperatingSystem) over WMI (two requests).
      - C(session_configurations) reads every plugin of C(winrm/config/plugin) in one request, the
        PowerShell session configurations (C(Microsoft.PowerShell), its 32-bit and workflow siblings,
        JEA endpoints) and the other plugins (WMI, event forwarding).
      - C(access) says who may connect, effectively, in about ten requests; each endpoint's security
        descriptor (a session configuration's own, else RootSDDL), the local groups and their members
        (C(Win32_Group), C(Win32_GroupUser)), UAC remote restrictions (C(LocalAccountTokenFilterPolicy)),
        and the Windows Firewall's scope per network profile for the listener ports.
      - C(firewall), the Windows Firewall rules that decide who reaches WinRM, is read only when
        asked (it costs three Enumerates of every firewall rule of the host).
      - C(verdict) judges whether WinRM is secure on this host and what to change (one or two
        requests, and a TLS handshake with an HTTPS listener when the task runs over HTTP).
    type: list
    elements: str
    choices: [config, listeners, cert_mappings, policy, certificates, system, session_configurations, access, verdict,
              firewall]
    default: [config, listeners, cert_mappings, policy]
  certificate_expiry_days:
    description:
      - With O(gather) C(certificates), a listener certificate with this many days left or fewer is
        reported with C(expires_within_window=true) in RV(certificates.listeners).
    type: int
    default: 30
  check_tls:
    description:
      - With O(gather) C(certificates), connect to each HTTPS listener (the host's connection
        variables, over HTTPS on the listener's port) and report the certificate the controller is
        served in the TLS handshake, validated as the host's connection variables say. A WS-Management
        Identify is the only request sent; no credentials travel over a connection that failed
        validation.
      - The task's own connection is used when it runs through that listener.
    type: bool
    default: true
  query:
    description:
      - A JMESPath expression applied to the result; its value is returned as RV(query_result).
    type: str
requirements:
  - pypsrp >= 0.9 on the controller
  - jmespath on the controller, for O(query)
attributes:
  check_mode:
    support: full
    description: Read-only; runs the same in check mode.
  diff_mode:
    support: none
    description: Read-only; there is nothing to show a difference of.
  platform:
    support: full
    platforms: windows
    description: Reads the WinRM configuration of Windows hosts, over WS-Management from the controller.
notes:
  - Runs on the controller (action plugin). Ansible's own connection to the host is not opened,
    so the task works on hosts where PowerShell remoting is broken or not wanted.
seealso:
  - name: Installation and configuration for Windows Remote Management
    description: Microsoft's description of the configuration tree this module reads.
    link: https://learn.microsoft.com/windows/win32/winrm/installation-and-configuration-for-windows-remote-management
  - name: PowerShell Remoting Security Considerations
    description: The guidance the verdict follows (Kerberos, NTLM and HTTPS, Basic).
    link: https://learn.microsoft.com/powershell/scripting/security/remoting/winrm-security
  - name: WinRM Service Plug-in Configuration
    description: The plugin documents session configurations are kept in.
    link: https://learn.microsoft.com/windows/win32/winrm/wsman-service-plug-in-configuration
  - module: wsman.winrm.session_configuration
"""

EXAMPLES = r"""
- name: Read the WinRM configuration
  wsman.winrm.info:
  register: winrm

- name: Show the listeners and where they come from
  ansible.builtin.debug:
    msg: "{{ winrm.listeners | map(attribute='transport') | list }}"

- name: Show where Basic authentication and unencrypted traffic are allowed
  ansible.builtin.debug:
    msg:
      basic: "{{ winrm.security_summary.basic_enabled }}"
      unencrypted: "{{ winrm.security_summary.unencrypted_allowed }}"

- name: Name the hosts without an HTTPS listener
  ansible.builtin.debug:
    msg: "{{ inventory_hostname }} has no HTTPS listener"
  when: not winrm.security_summary.https_listener_present

- name: Fail when the service accepts Basic authentication
  ansible.builtin.assert:
    that: not winrm.security_summary.basic_enabled.service

- name: Read the machine certificates and what each HTTPS listener serves
  wsman.winrm.info:
    gather: [listeners, certificates]
  register: certs

- name: Name the certificates an HTTPS listener could use
  ansible.builtin.debug:
    msg: "{{ certs.certificates.my | selectattr('usable') | map(attribute='thumbprint') | list }}"

- name: Warn about HTTPS listeners whose certificate expires within 30 days
  ansible.builtin.debug:
    msg: "Port {{ item.port }}: {{ item.certificate_thumbprint }} has {{ item.days_left }} days left"
  loop: "{{ certs.certificates.listeners | selectattr('in_store') | selectattr('expires_within_window') }}"
  loop_control:
    label: "{{ item.port }}"

- name: Only the HTTPS listeners, with a JMESPath query
  wsman.winrm.info:
    gather: [listeners]
    query: "listeners[?transport=='HTTPS']"
  register: https_listeners

- name: Read the computer, its session configurations, who may connect, and the security verdict
  wsman.winrm.info:
    gather: [system, session_configurations, access, verdict]
  register: remoting

- name: Say what the computer is
  ansible.builtin.debug:
    msg: "{{ remoting.system.os_caption }}, {{ remoting.system.domain_role_name }} of {{ remoting.system.domain }}"

- name: Say who may connect to each endpoint, and from where
  ansible.builtin.debug:
    msg: "{{ remoting.who_may_connect.summary }}"

- name: Say whether this host needs HTTPS, and what to change
  ansible.builtin.debug:
    msg: "{{ remoting.verdict.summary }}: {{ remoting.verdict.changes | join('; ') }}"
- name: Which firewall rules admit WinRM, and from where
  wsman.winrm.info:
    gather: [listeners, firewall]
  register: winrm_firewall

- name: Show the enabled rules' ports and remote addresses
  ansible.builtin.debug:
    msg: "{{ winrm_firewall.firewall | selectattr('enabled') | map(attribute='name') | list }}"
"""

RETURN = r"""
endpoint:
  description: Where the host was reached and how (no secrets).
  returned: always
  type: dict
  sample: {url: "https://win01.example.com:5986/wsman", auth: negotiate, encryption: auto}
listeners:
  description: Every listener as Windows enumerates it, compatibility listeners included.
  returned: when O(gather) contains C(listeners)
  type: list
  elements: dict
  sample:
    - {address: "*", transport: HTTP, port: 5985, hostname: "", enabled: true, url_prefix: wsman,
       certificate_thumbprint: "", listening_on: ["127.0.0.1"], source: ""}
    - {address: "*", transport: HTTP, port: 80, hostname: "", enabled: true, url_prefix: wsman,
       certificate_thumbprint: "", listening_on: ["127.0.0.1"], source: Compatibility}
config:
  description: The global settings (C(winrm/config)).
  returned: when O(gather) contains C(config)
  type: dict
service:
  description: The service settings (C(winrm/config/service)), C(auth) and C(default_ports) included.
  returned: when O(gather) contains C(config)
  type: dict
client:
  description: The client settings (C(winrm/config/client)), C(auth) and C(default_ports) included.
  returned: when O(gather) contains C(config)
  type: dict
winrs:
  description: The remote shell settings (C(winrm/config/winrs)).
  returned: when O(gather) contains C(config)
  type: dict
gpo_controlled:
  description: The settings whose value comes from Group Policy (C(Source="GPO")), as paths.
  returned: when O(gather) contains C(config)
  type: list
  elements: str
  sample: ["service.allow_unencrypted", "service.auth.basic"]
firewall:
  description:
    - The inbound Windows Firewall rules that decide who reaches WinRM (C(MSFT_NetFirewallRule) with
      its port and address filters) - both WinRM groups, and every inbound TCP rule for port 5985,
      5986, 80, 443 or a listener's port - with the keys of the rules M(wsman.winrm.firewall_rule) returns.
  returned: when O(gather) contains C(firewall)
  type: list
  elements: dict
  sample:
    - {name: WINRM-HTTP-In-TCP-PUBLIC, display_name: "Windows Remote Management (HTTP-In)", enabled: true,
       profiles: [public], direction: inbound, action: allow, protocol: TCP, local_ports: ["5985"],
       remote_addresses: [LocalSubnet], group: "@FirewallAPI.dll,-30267",
       display_group: Windows Remote Management, policy_store_source_type: local, description: ""}
cert_mappings:
  description: The CertMapping entries. Passwords are never returned (Windows does not return them).
  returned: when O(gather) contains C(cert_mappings)
  type: list
  elements: dict
policy:
  description:
    - The WinRM Group Policy values that are configured (registry values under
      C(HKLM\SOFTWARE\Policies\Microsoft\Windows\WinRM) and C(LocalAccountTokenFilterPolicy)), one
      entry per value, with the settings each controls.
  returned: when O(gather) contains C(policy)
  type: list
  elements: dict
  sample:
    - {path: 'HKLM\SOFTWARE\Policies\Microsoft\Windows\WinRM\Service', name: AllowBasic, type: DWORD,
       value: 0, controls: [service.auth.basic], note: ""}
security_summary:
  description:
    - A short security summary of the host. A value about a part O(gather) left out is null (unknown).
  returned: always
  type: dict
  sample:
    basic_enabled: {service: false, client: false}
    unencrypted_allowed: {service: false, client: false}
    credssp_enabled: {service: false, client: false}
    https_listener_present: true
    http_listener_present: true
    compatibility_listeners_on: false
    trusted_hosts_wildcard: false
    cbt_hardening_level: Strict
    gpo_controlled: []
certificates:
  description:
    - The machine's certificates, as the registry stores hold their public parts
      (C(HKLM\SOFTWARE\Microsoft\SystemCertificates\<store>\Certificates\<thumbprint>), the property
      format of the open specification MS-GPEF section 2.2.1.1.1).
  returned: when O(gather) contains C(certificates)
  type: dict
  contains:
    computer_names:
      description: The computer's names (C(Win32_ComputerSystem) Name, DNSHostName, and the FQDN in a domain).
      type: list
      elements: str
    my:
      description:
        - Each certificate of LocalMachine C(My) with its fields and whether it can serve a WinRM HTTPS
          listener (C(usable)); C(reasons) says why not (codes C(no_server_auth_eku), C(no_private_key),
          C(not_yet_valid), C(expired), C(name_mismatch) against the computer's names,
          C(untrusted_issuer)).
        - C(renewed_by) is the thumbprint of the certificate that replaced it (the renewal property
          autoenrollment sets), C(archived) that Windows hides it since.
      type: list
      elements: dict
      sample:
        - {thumbprint: "6A2C0B4F...", subject: "CN=win01.example.com", issuer: "CN=Example Issuing CA",
           not_before: "2026-01-01T00:00:00+00:00", not_after: "2027-01-01T00:00:00+00:00", days_left: 240,
           sans: ["DNS:win01.example.com"], ekus: ["1.3.6.1.5.5.7.3.1"], has_private_key: true,
           friendly_name: null, template: "Machine", renewed_by: null, archived: false, self_signed: false,
           serial_number: "1A2B", unknown_properties: [20], usable: true, reasons: []}
    trusted_issuers:
      description: The CA certificates of the Root and CA stores that lead to a root (the issuers the host trusts).
      type: list
      elements: dict
    errors:
      description: Certificates whose store entry cannot be read or parsed, each with the reason; the others are reported.
      type: list
      elements: dict
      sample: [{thumbprint: "0F1E...", reason: "property 32 declares 1210 bytes but only 605 remain",
                message: "certificate 0F1E...: property 32 declares 1210 bytes but only 605 remain (at byte 196 of the blob)"}]
    listeners:
      description:
        - Each HTTPS listener's certificate, with C(in_store), C(subject), C(sans), C(issuer), C(not_after),
          C(days_left), C(expires_within_window) (see O(certificate_expiry_days)), C(renewed) and
          C(renewed_by), C(renewal_chain) and C(newest_valid) (the newest valid certificate the chain
          leads to), C(usable) and C(reasons) (against the listener's Hostname, else the computer's names).
        - C(tls) is what the controller saw when it connected to the listener (see O(check_tls)), with
          C(served_thumbprint), C(matches_listener) (the certificate served is the one the listener
          names) and C(error) when the connection or its validation failed.
      type: list
      elements: dict
      sample:
        - {address: "*", port: 5986, hostname: "win01.example.com", certificate_thumbprint: "6A2C0B4F...",
           in_store: true, days_left: 240, expires_within_window: false, renewed: false, renewed_by: null,
           newest_valid: "6A2C0B4F...", usable: true, reasons: [],
           tls: {checked: true, served_thumbprint: "6A2C0B4F...", matches_listener: true, error: null}}
system:
  description: The computer (C(Win32_ComputerSystem)) and its Windows version (C(Win32_OperatingSystem)).
  returned: when O(gather) contains C(system)
  type: dict
  sample: {computer_name: WIN01, domain: corp.example.com, part_of_domain: true, domain_role: 3,
           domain_role_name: member_server, os_caption: Microsoft Windows Server 2022 Datacenter,
           os_version: 10.0.20348, build_number: "20348", product_type: 3, product_type_name: server}
session_configurations:
  description:
    - The PowerShell session configurations, as C(winrm/config/plugin) serves them. C(sddl) is the
      descriptor of the configuration's own endpoint (null when RootSDDL applies); C(descriptors)
      lists every C(Security) element with its grants parsed. RunAs passwords are never returned
      (Windows does not return them).
  returned: when O(gather) contains C(session_configurations)
  type: list
  elements: dict
  sample:
    - name: microsoft.powershell
      kind: powershell
      enabled: true
      filename: '%windir%\system32\pwrshplugin.dll'
      uri: http://schemas.microsoft.com/powershell/microsoft.powershell
      sddl: O:NSG:BAD:P(A;;GA;;;BA)(A;;GA;;;IU)(A;;GA;;;RM)S:P(AU;FA;GA;;;WD)(AU;SA;GXGW;;;WD)
      run_as_user: null
      run_as_virtual_account: false
      configuration_file: null
      architecture: 64
      use_shared_process: false
      initialization_parameters: {PSVersion: "5.1"}
      quotas: {max_shells_per_user: 25, idle_timeout_ms: 7200000, max_memory_per_shell_mb: 1024}
      descriptors:
        - resource_uri: http://schemas.microsoft.com/powershell/microsoft.powershell
          uri: http://schemas.microsoft.com/powershell/microsoft.powershell
          sddl: O:NSG:BAD:P(A;;GA;;;BA)(A;;GA;;;IU)(A;;GA;;;RM)S:P(AU;FA;GA;;;WD)(AU;SA;GXGW;;;WD)
          uses_root_sddl: false
          grants:
            - {trustee: BA, sid: S-1-5-32-544, name: 'BUILTIN\Administrators', rights: GA, denied: null,
               winrm: [read, write, execute]}
plugins:
  description: The other WinRM plugins (WMI, event forwarding), in the same shape.
  returned: when O(gather) contains C(session_configurations)
  type: list
  elements: dict
local_groups:
  description: The computer's local groups with their SIDs and members (C(DOMAIN\name)).
  returned: when O(gather) contains C(access)
  type: list
  elements: dict
  sample:
    - {name: Remote Management Users, domain: WIN01, sid: S-1-5-32-580, members: []}
who_may_connect:
  description:
    - Who may connect, effectively, per endpoint (C(WinRM service) for C(winrm/config) and WinRS
      shells, each session configuration, the WMI plugin), with the firewall's scope per listener
      port and network profile, and one readable line per endpoint in C(summary).
    - C(who) are the trustees a remote logon can use (members listed for local groups; local
      administrators that UAC remote restrictions strip are in C(members_without_admin_rights));
      C(local_only) the ones that only grant local sessions (INTERACTIVE, service accounts).
  returned: when O(gather) contains C(access)
  type: dict
  sample:
    summary:
      - 'microsoft.powershell: BUILTIN\Administrators (members: WIN01\Administrator), BUILTIN\Remote Management
        Users (members: none); HTTP 5985 from the local subnet on the public profile, any address on domain/private'
      - the host is on the public network profile now
    network:
      profile: public
      ports:
        "5985": {transport: HTTP, scope: {domain: any address, private: any address, public: the local subnet},
                 summary: "from the local subnet on the public profile, any address on domain/private"}
verdict:
  description:
    - Whether WinRM is secure on this host, with the evidence, what to change, the sources, the best
      verdict this host's situation allows and the C(wsman.winrm.secure_baseline) profile that reaches
      it. C(verdict) is one of C(secure_https), C(secure_http), C(https_recommended), C(unknown),
      C(insecure), C(not_reachable); C(facts) are the values it was judged from.
  returned: when O(gather) contains C(verdict)
  type: dict
  sample:
    verdict: https_recommended
    summary: "HTTPS recommended: workgroup host, NTLM cannot verify the server"
    evidence: [workgroup host (not a domain member), HTTP listener on port 5985,
               "service authentication on: kerberos, negotiate", AllowUnencrypted off]
    changes: [add an HTTPS listener with a certificate from a CA the controller trusts]
    best_possible: secure_https
    recommended_profile: workgroup_https
query_result:
  description: The value of O(query) applied to the result.
  returned: when O(query) is set
  type: raw
"""
