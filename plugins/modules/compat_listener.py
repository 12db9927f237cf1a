#!/usr/bin/python
# Copyright (c) 2026 wsman.winrm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# The implementation is the action plugin plugins/action/compat_listener.py; it runs on the controller.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: compat_listener
short_description: Turn the WinRM compatibility listeners on ports 80 and 443 on or off
version_added: 0.1.0
description:
  - WinRM 2.0 moved the listeners from ports 80/443 to 5985/5986 and added compatibility listeners
    on 80 and 443 for clients that still use the old ports. They are not listeners one can create,
    change or delete; they follow the service settings C(EnableCompatibilityHttpListener) and
    C(EnableCompatibilityHttpsListener) (C(winrm/config/service)), which this module sets with one
    partial Put.
  - Group Policy may hold those settings (policy values C(Service\HttpCompatibilityListener) and
    C(Service\HttpsCompatibilityListener)), as it does on hosts upgraded from WinRM 1.1; see
    O(policy_controlled).
  - Turning off the compatibility listener the task connects through (port 80 or 443) is refused
    unless O(force=true).
  - A run that turns a listener on or off warns about the firewall and the clients (a run that
    changes nothing says nothing). Windows enables its firewall rule for port 80
    (C(WINRM-HTTP-Compat-In-TCP)) when the HTTP compatibility listener is turned on, and leaves it
    when the listener is turned off; it predefines no rule for port 443. Clients still on ports
    80/443 (WinRM 1.1 clients, connection URIs without a port) depend on these listeners.
author:
  - wsman.winrm contributors (@wsman)
options:
  http:
    description:
      - Whether the HTTP compatibility listener (port 80) is on. Left as it is when not given.
    type: bool
  https:
    description:
      - Whether the HTTPS compatibility listener (port 443) is on. Left as it is when not given.
      - Windows serves it with the service's C(CertificateThumbprint) certificate.
    type: bool
extends_documentation_fragment:
  - wsman.winrm.change
seealso:
  - module: wsman.winrm.listener
  - module: wsman.winrm.policy
  - name: Details on secure port configuration for WS-Management (WinRM 2.0)
    description: The compatibility listeners and their firewall rules.
    link: https://learn.microsoft.com/previous-versions/windows/it-pro/windows-server-2008-R2-and-2008/ff520073(v=ws.10)
"""

EXAMPLES = r"""
- name: Turn both compatibility listeners off once no client uses ports 80/443
  wsman.winrm.compat_listener:
    http: false
    https: false

- name: Keep port 80 for WinRM 1.1 collectors during a migration
  wsman.winrm.compat_listener:
    http: true

- name: Report the compatibility listeners, changing nothing
  wsman.winrm.compat_listener:
  register: compat

- name: On hosts where Group Policy turns them on, leave them and go on
  wsman.winrm.compat_listener:
    http: false
    https: false
    policy_controlled: skip
"""

RETURN = r"""
compatibility_listeners:
  description:
    - The compatibility listeners after the task, as Enumerate shows them (read again after a
      change; predicted in check mode).
  returned: always
  type: list
  elements: dict
  sample:
    - {address: "*", transport: HTTP, port: 80, hostname: "", enabled: true, url_prefix: wsman,
       certificate_thumbprint: "", listening_on: ["192.0.2.10", "127.0.0.1"], source: Compatibility}
before:
  description: Whether each compatibility listener was on before the task.
  returned: always
  type: dict
  sample: {http: true, https: false}
after:
  description: Whether each compatibility listener is on after the task.
  returned: always
  type: dict
  sample: {http: false, https: false}
http_sys_missing:
  description:
    - When the task turns a compatibility listener on, what HTTP.sys lacks for it, read through WMI
      StdRegProv from C(HKLM\SYSTEM\CurrentControlSet\Services\HTTP\Parameters\UrlAclInfo) (URL
      reservations) and C(...\SslBindingInfo) (the certificate bound to port 443). The WinRM 2.0 upgrade
      sets them up; a listener turned on directly needs them configured too (Microsoft, "Details on
      secure port configuration for WS-Management in Windows 7 and Windows Server 2008 R2"). Each
      entry is also a warning.
  returned: when a compatibility listener is turned on
  type: list
  elements: str
  sample: ["no HTTP.sys URL reservation for http://+:80/wsman/ (netsh http show urlacl; HKLM\\...\\UrlAclInfo)"]
changes:
  description: The service settings the task changed, as dotted paths.
  returned: always
  type: list
  elements: str
  sample: [service.enable_compatibility_http_listener]
policy_skipped:
  description: The settings left as Group Policy sets them, with O(policy_controlled=skip).
  returned: when a wanted change was skipped
  type: list
  elements: str
  sample: [service.enable_compatibility_http_listener]
diff:
  description: The two switches before and after.
  returned: in diff mode
  type: dict
"""
