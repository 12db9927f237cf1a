#!/usr/bin/python
# Copyright (c) 2026 wsman.winrm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# The implementation is the action plugin plugins/action/service.py; it runs on the controller.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: service
short_description: Configure the WinRM service settings of a Windows host
version_added: 0.1.0
description:
  - Sets the WinRM service settings (C(winrm/config/service)) the way
    C(winrm set winrm/config/service @{...}) does, with one partial Put that holds only the
    settings that differ. Authentication switches are M(wsman.winrm.auth)'s; listeners are
    managed by the collection's listener module.
  - Every option left out is left as it is. Values are checked before anything is sent.
  - Settings that Group Policy controls (Windows marks them C(Source="GPO")) are never written;
    see O(policy_controlled).
  - Changes that would cut this task's own connection are refused unless O(force=true) -
    O(allow_unencrypted=false) while the task runs Basic over HTTP, O(allow_remote_access=false),
    or an IP filter that excludes the address the task connects to.
author:
  - wsman.winrm contributors (@wsman)
options:
  allow_unencrypted:
    description:
      - Whether the service accepts unencrypted messages (Basic over HTTP). C(false) is the secure
        value (STIG WN22-CC-000510); C(true) succeeds with a warning.
    type: bool
  ipv4_filter:
    description:
      - The IPv4 addresses of the host the service listens on (not who may connect).
      - C(*) for every address, an empty string for none, or comma-separated ranges C(IP1-IP2) with
        the smaller address first (a single address is C(A-A)), e.g. C(10.0.0.1-10.0.0.254).
    type: str
  ipv6_filter:
    description:
      - The IPv6 addresses of the host the service listens on; same syntax as O(ipv4_filter).
    type: str
  root_sddl:
    description:
      - The security descriptor (SDDL) that decides who may use WinRM; it must name an owner (C(O:))
        and hold a DACL (C(D:)). Windows' default gives Administrators full access and interactive
        users read access; the sample of RV(service) shows it.
    type: str
  certificate_thumbprint:
    description:
      - Thumbprint (40 hexadecimal digits, SHA-1) of the service certificate, used by the HTTPS
        compatibility listener; spaces and colons are dropped and letters upper-cased. An empty
        string clears it.
    type: str
  allow_remote_access:
    description:
      - Whether the service takes requests from other machines. C(false) stops every remote request,
        this task's included.
    type: bool
  default_ports:
    description:
      - The ports a listener gets when it is created without one.
    type: dict
    suboptions:
      http:
        description: Default HTTP port, 1-65535 (Windows' default 5985).
        type: int
      https:
        description: Default HTTPS port, 1-65535 (Windows' default 5986).
        type: int
  max_connections:
    description: Maximum number of requests processed at once (at least 1).
    type: int
  max_concurrent_operations_per_user:
    description: Maximum number of concurrent enumerations per user (at least 1).
    type: int
  enumeration_timeout_ms:
    description: Idle time-out between Pull requests of an enumeration, in milliseconds (at least 500).
    type: int
  max_packet_retrieval_time_seconds:
    description: Time the service allows for receiving a whole request, in seconds (at least 1).
    type: int
extends_documentation_fragment:
  - wsman.winrm.change
seealso:
  - module: wsman.winrm.auth
  - module: wsman.winrm.client
  - name: Installation and configuration for Windows Remote Management
    description: Microsoft's description of the service settings.
    link: https://learn.microsoft.com/windows/win32/winrm/installation-and-configuration-for-windows-remote-management
"""

EXAMPLES = r"""
# management_ipv4_range, in the inventory: the host's addresses the service listens on, e.g.
# 10.20.0.1-10.20.0.254. A filter without the address this task connects to is refused unless force: true.
- name: Refuse unencrypted traffic and listen on the management network only
  wsman.winrm.service:
    allow_unencrypted: false
    ipv4_filter: "{{ management_ipv4_range }}"
    ipv6_filter: ""

- name: Only administrators may use WinRM
  wsman.winrm.service:
    root_sddl: "O:NSG:BAD:P(A;;GA;;;BA)S:P(AU;FA;GA;;;WD)(AU;SA;GXGW;;;WD)"

- name: Limits, and default ports for new listeners
  wsman.winrm.service:
    max_connections: 300
    enumeration_timeout_ms: 240000
    default_ports:
      http: 5985
      https: 5986

- name: Show what would change, without changing it
  wsman.winrm.service:
    allow_unencrypted: false
  check_mode: true
  diff: true
"""

RETURN = r"""
service:
  description: The service settings after the task (predicted in check mode), C(auth) and C(default_ports) included.
  returned: success
  type: dict
  sample:
    root_sddl: "O:NSG:BAD:P(A;;GA;;;BA)(A;;GR;;;IU)S:P(AU;FA;GA;;;WD)(AU;SA;GXGW;;;WD)"
    max_concurrent_operations: 4294967295
    max_concurrent_operations_per_user: 1500
    enumeration_timeout_ms: 240000
    max_connections: 300
    max_packet_retrieval_time_seconds: 120
    allow_unencrypted: false
    auth: {basic: false, kerberos: true, negotiate: true, certificate: false, credssp: false,
           cbt_hardening_level: Relaxed}
    default_ports: {http: 5985, https: 5986}
    ipv4_filter: "*"
    ipv6_filter: "*"
    enable_compatibility_http_listener: false
    enable_compatibility_https_listener: false
    certificate_thumbprint: ""
    allow_remote_access: true
before:
  description: The service settings before the task, same shape as RV(service).
  returned: success
  type: dict
changes:
  description: The settings that were (or in check mode would be) changed, as dotted paths.
  returned: success
  type: list
  elements: str
  sample: ["service.allow_unencrypted", "service.ipv4_filter"]
policy_skipped:
  description: Settings left as Group Policy sets them because of O(policy_controlled=skip).
  returned: success
  type: list
  elements: str
  sample: ["service.allow_unencrypted"]
diff:
  description: Before and after of the service settings, in diff mode.
  returned: when diff mode is on
  type: dict
"""
