#!/usr/bin/python
# Copyright (c) 2026 wsman.winrm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# The implementation is the action plugin plugins/action/auth.py; it runs on the controller.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: auth
short_description: Turn WinRM authentication methods of the service or the client on and off
version_added: 0.1.0
description:
  - Sets the authentication switches of the WinRM service (C(winrm/config/service/auth)) or of the
    WinRM client (C(winrm/config/client/auth)) of a Windows host, the settings
    C(winrm set winrm/config/service/auth @{Basic="false"}) changes, with one partial Put that
    holds only the switches that differ.
  - Every option left out is left as it is.
  - Settings that Group Policy controls (Windows marks them C(Source="GPO")) are never written;
    see O(policy_controlled).
  - Turning off the service authentication this task itself uses is refused unless O(force=true)
    (NTLM arrives as Negotiate, Kerberos is admitted by Kerberos or Negotiate).
  - Turning Basic, Digest (client) or CredSSP on, or setting O(cbt_hardening_level=none), succeeds
    with a warning that names the security control it breaks (STIG/CIS).
author:
  - wsman.winrm contributors (@wsman)
options:
  scope:
    description:
      - Which side to configure. C(service) is what the host accepts from others; C(client) is what
        the host uses when it connects elsewhere (event forwarding, PowerShell remoting from it).
    type: str
    required: true
    choices: [service, client]
  basic:
    description:
      - Basic authentication. It sends the password base64-encoded; off is the secure value
        (STIG WN22-CC-000500 for the service, WN22-CC-000470 for the client).
    type: bool
  digest:
    description:
      - Digest authentication, client only. Windows has no Digest on the service side, so with
        O(scope=service) the task fails before sending anything.
    type: bool
  kerberos:
    description:
      - Kerberos authentication.
    type: bool
  negotiate:
    description:
      - Negotiate authentication (Kerberos or NTLM). NTLM connections, including this task's when the
        inventory uses NTLM, need it on the service.
    type: bool
  certificate:
    description:
      - Client certificate authentication (service side needs HTTPS and CertMapping entries).
    type: bool
  credssp:
    description:
      - CredSSP authentication, which hands the user's credentials to the other side; off is the
        secure value.
    type: bool
  cbt_hardening_level:
    description:
      - Channel binding token hardening of the service (C(service/auth/CbtHardeningLevel)), one of
        C(none), C(relaxed) or C(strict), in any case; the result uses Windows' spelling
        (C(None), C(Relaxed), C(Strict)).
      - Service only; with O(scope=client) the task fails before sending anything.
    type: str
extends_documentation_fragment:
  - wsman.winrm.change
seealso:
  - module: wsman.winrm.service
  - module: wsman.winrm.client
  - name: Installation and configuration for Windows Remote Management
    description: Microsoft's description of the auth settings.
    link: https://learn.microsoft.com/windows/win32/winrm/installation-and-configuration-for-windows-remote-management
"""

EXAMPLES = r"""
- name: Service accepts Kerberos and Negotiate only, with strict channel binding
  wsman.winrm.auth:
    scope: service
    basic: false
    credssp: false
    kerberos: true
    negotiate: true
    cbt_hardening_level: strict

- name: Client never uses Basic, Digest or CredSSP (STIG WN22-CC-000470 / -000490)
  wsman.winrm.auth:
    scope: client
    basic: false
    digest: false
    credssp: false

- name: Turn Basic off where Group Policy allows it, and report the hosts where the policy decides
  wsman.winrm.auth:
    scope: service
    basic: false
    policy_controlled: skip
  register: service_auth

- name: Certificate-only host, reached over HTTPS with a client certificate; Negotiate goes away
  wsman.winrm.auth:
    scope: service
    certificate: true
    negotiate: false
    force: true   # only when this task itself does not connect with NTLM/Negotiate
"""

RETURN = r"""
auth:
  description: The auth section of the scope after the task (predicted in check mode).
  returned: success
  type: dict
  sample: {basic: false, kerberos: true, negotiate: true, certificate: false, credssp: false,
           cbt_hardening_level: Strict}
before:
  description: The auth section of the scope before the task.
  returned: success
  type: dict
  sample: {basic: false, kerberos: true, negotiate: true, certificate: false, credssp: false,
           cbt_hardening_level: Relaxed}
changes:
  description: The settings that were (or in check mode would be) changed, as dotted paths.
  returned: success
  type: list
  elements: str
  sample: ["service.auth.cbt_hardening_level"]
policy_skipped:
  description: Settings left as Group Policy sets them because of O(policy_controlled=skip).
  returned: success
  type: list
  elements: str
  sample: ["service.auth.basic"]
diff:
  description: Before and after of the auth section, in diff mode.
  returned: when diff mode is on
  type: dict
"""
