#!/usr/bin/python
# Copyright (c) 2026 wsman.winrm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# The implementation is the action plugin plugins/action/client.py; it runs on the controller.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: client
short_description: Configure the WinRM client settings of a Windows host, TrustedHosts included
version_added: 0.1.0
description:
  - Sets the WinRM client settings (C(winrm/config/client)) of a Windows host, the settings the
    host uses when it connects to others (event forwarding, remoting from it), with one partial
    Put that holds only the settings that differ. The client's auth switches are
    M(wsman.winrm.auth)'s (O(wsman.winrm.auth#module:scope=client)).
  - Every option left out is left as it is. Values are checked before anything is sent.
  - Settings that Group Policy controls (Windows marks them C(Source="GPO"), e.g. TrustedHosts set
    by the policy "Trusted Hosts") are never written; see O(policy_controlled).
author:
  - wsman.winrm contributors (@wsman)
options:
  allow_unencrypted:
    description:
      - Whether the client may send unencrypted messages. C(false) is the secure value
        (STIG WN22-CC-000480); C(true) succeeds with a warning.
    type: bool
  default_ports:
    description:
      - The ports the client uses when a connection names no port.
    type: dict
    suboptions:
      http:
        description: Default HTTP port, 1-65535 (Windows' default 5985).
        type: int
      https:
        description: Default HTTPS port, 1-65535 (Windows' default 5986).
        type: int
  network_delay_ms:
    description: Extra time the client waits for network delay, in milliseconds (at least 500).
    type: int
  url_prefix:
    description:
      - The URL path the client uses (Windows' default C(wsman)); letters, digits, C(_) and C(/),
        not starting or ending with C(/).
    type: str
  trusted_hosts:
    description:
      - TrustedHosts entries, one per list item - host names, IP addresses, patterns starting or
        ending with C(*) (C(*.example.com), C(192.168.1.*)), C(<local>), or C(*) for every host.
      - Host names follow RFC 1123 (letters, digits and C(-), no C(_)); IP addresses are IPv4 or IPv6. An entry
        Windows would refuse (fault 0x8033809F, invalid hostname or hostname pattern) fails the task before
        anything is sent, naming the entry.
      - Compared case-insensitively. What happens to the current list depends on O(trusted_hosts_mode).
      - C(*) succeeds with a warning; the secure baseline is an empty or explicit list.
      - With O(trusted_hosts_mode=set), an empty list empties TrustedHosts.
    type: list
    elements: str
  trusted_hosts_mode:
    description:
      - C(set) makes TrustedHosts exactly O(trusted_hosts) (order of the list kept, duplicates dropped).
      - C(add) adds the entries that are missing and keeps the others, in their order.
      - C(remove) removes the given entries and keeps the others.
      - C(*) trusts every host and stands alone (Windows takes no list with C(*) in it, MS-WSMV
        2.2.4.6) - C(set) with C(*) and other entries is refused, C(add) of C(*) makes the list C(*)
        alone, and names added to C(*) change nothing.
    type: str
    choices: [set, add, remove]
    default: set
extends_documentation_fragment:
  - wsman.winrm.change
seealso:
  - module: wsman.winrm.auth
  - module: wsman.winrm.service
"""

EXAMPLES = r"""
- name: The event collector may be reached with NTLM over HTTP
  wsman.winrm.client:
    trusted_hosts: [collector01.corp.example.com]
    trusted_hosts_mode: add

- name: Exactly these trusted hosts, no unencrypted traffic
  wsman.winrm.client:
    trusted_hosts: ["*.mgmt.corp.example.com", 10.20.0.5]
    allow_unencrypted: false

- name: Take a wildcard out again
  wsman.winrm.client:
    trusted_hosts: ["*"]
    trusted_hosts_mode: remove

- name: Empty TrustedHosts
  wsman.winrm.client:
    trusted_hosts: []
"""

RETURN = r"""
client:
  description: The client settings after the task (predicted in check mode), C(auth) and C(default_ports) included.
  returned: success
  type: dict
  sample:
    network_delay_ms: 5000
    url_prefix: wsman
    allow_unencrypted: false
    auth: {basic: true, digest: true, kerberos: true, negotiate: true, certificate: true, credssp: false}
    default_ports: {http: 5985, https: 5986}
    trusted_hosts: [collector01.corp.example.com]
trusted_hosts:
  description: The TrustedHosts entries after the task.
  returned: success
  type: list
  elements: str
  sample: ["*.mgmt.corp.example.com", "10.20.0.5"]
before:
  description: The client settings before the task, same shape as RV(client).
  returned: success
  type: dict
changes:
  description: The settings that were (or in check mode would be) changed, as dotted paths.
  returned: success
  type: list
  elements: str
  sample: ["client.trusted_hosts"]
policy_skipped:
  description: Settings left as Group Policy sets them because of O(policy_controlled=skip).
  returned: success
  type: list
  elements: str
  sample: ["client.trusted_hosts"]
diff:
  description: Before and after of the client settings, in diff mode.
  returned: when diff mode is on
  type: dict
"""
