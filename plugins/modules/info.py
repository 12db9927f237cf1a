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
    type: list
    elements: str
    choices: [config, listeners, cert_mappings, policy, certificates]
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
query_result:
  description: The value of O(query) applied to the result.
  returned: when O(query) is set
  type: raw
"""
