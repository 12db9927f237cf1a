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
    type: list
    elements: str
    choices: [config, listeners, cert_mappings, policy]
    default: [config, listeners, cert_mappings, policy]
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
query_result:
  description: The value of O(query) applied to the result.
  returned: when O(query) is set
  type: raw
"""
