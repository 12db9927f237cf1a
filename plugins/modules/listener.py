#!/usr/bin/python
# Copyright (c) 2026 wsman.winrm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# The implementation is the action plugin plugins/action/listener.py; it runs on the controller.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: listener
short_description: Create, change or delete a WinRM listener over WS-Management
version_added: 0.1.0
description:
  - Manages one listener of the WinRM service (C(winrm/config/listener)), identified by O(address)
    and O(transport), with the requests C(winrm create), C(winrm set) and C(winrm delete) send,
    from the controller, with no PowerShell on the target.
  - Windows changes every other setting of a listener in place (MS-WSMV 3.1.4.1.29.5), so a change
    is one Put, which Windows validates whole before it applies anything; a listener is never
    deleted and re-created to change it (RV(replaced) is always false).
  - Compatibility listeners (C(Source="Compatibility"), ports 80 and 443) are not listeners one can
    address; a task describing one is refused with a pointer to M(wsman.winrm.compat_listener).
  - A listener that Group Policy creates (C(Source="GPO"), policy value C(Service\AllowAutoConfig))
    cannot be changed or deleted; see O(policy_controlled).
  - Deleting or disabling the listener the task connects through, or moving it to another port
    or URL prefix, is refused unless O(force=true).
  - With O(certificate=auto), the certificate of an HTTPS listener is chosen from the host's
    machine store (read over WS-Management from the registry, no code on the host) - the matching
    certificate valid longest - and kept current on later runs - it follows renewals and replaces a
    certificate that is gone or expires within O(renew_within_days). Check mode predicts the exact
    thumbprint. Re-binding the listener the task connects through to a certificate the controller
    would refuse (its CA bundle, validation setting or pinned fingerprint) is refused unless O(force=true).
author:
  - wsman.winrm contributors (@wsman)
options:
  address:
    description:
      - The addresses the listener accepts connections on, the listener's first key.
      - C(*) for every address of the host, C(IP:<address>) for one IPv4 or IPv6 address, or
        C(MAC:<aa-bb-cc-dd-ee-ff>) for the addresses of one network adapter.
    type: str
    default: "*"
  transport:
    description:
      - The listener's transport, its second key.
    type: str
    required: true
    choices: [http, https]
  port:
    description:
      - The TCP port, 1-65535.
      - When a listener is created without it, Windows takes the service's C(DefaultPorts) (5985
        for HTTP and 5986 for HTTPS on WinRM 2.0 and later); for an existing listener, leaving it
        out leaves the port as it is.
      - With O(state=absent), only a listener on this port is deleted.
    type: int
  hostname:
    description:
      - The host name the listener answers for. For HTTPS it must be the certificate's CN
        (Windows refuses a mismatch with fault 2150858985).
    type: str
  enabled:
    description:
      - Whether the listener accepts connections. A new listener is enabled unless this is false.
    type: bool
  url_prefix:
    description:
      - The URL path the listener serves (C(wsman) when a listener is created without it).
      - Only C(a-z), C(A-Z), C(0-9), C(_) and C(/), not blank, not starting or ending with C(/).
    type: str
  certificate_thumbprint:
    description:
      - The SHA-1 thumbprint (40 hexadecimal characters; spaces are ignored) of the server
        certificate of an HTTPS listener, in the machine store (C(Cert:\LocalMachine\My)). The
        certificate needs the Server Authentication EKU and, when O(hostname) is set, a CN equal to it.
      - Without it (and without O(certificate)), Windows picks the machine certificate whose CN
        matches the host name; a check mode run cannot know which, and predicts it as null.
      - Not allowed with O(transport=http). Mutually exclusive with O(certificate).
    type: str
  certificate:
    description:
      - C(auto) chooses the certificate of an HTTPS listener from the host's LocalMachine C(My) store.
      - A new listener gets the best match - Server Authentication EKU, a private key, within its
        validity, issued to the listener's O(hostname) (as its CN, which Windows requires) or else to
        the computer's name, by an issuer in the host's Root or intermediate CA stores, not archived,
        meeting O(certificate_criteria) and with more than O(renew_within_days) left; among those the
        latest not-after date wins, then the latest not-before date, then the lowest thumbprint.
      - An existing listener keeps its certificate while it qualifies. One that was renewed (the
        renewal property autoenrollment sets on the old certificate) follows the renewal chain to the
        newest valid certificate; one that is gone from the store, expires within O(renew_within_days)
        or no longer meets the criteria is re-bound to the best match. Each is one Put.
      - When no certificate qualifies, the task fails listing each certificate and why it does not;
        an expiring certificate with no better one to replace it is kept (a warning says so).
      - Reading the store costs one request per store location and one per certificate.
    type: str
    choices: [auto]
  certificate_criteria:
    description:
      - What O(certificate=auto) also asks of the certificate.
    type: dict
    suboptions:
      hostname:
        description:
          - The name the certificate must be issued to (subject CN or a SAN), instead of the listener's
            O(hostname) or the computer's name.
        type: str
      issuer:
        description:
          - The issuer - its distinguished name, common name, or the thumbprint of its CA certificate.
        type: str
      template:
        description:
          - The certificate template it was enrolled from - the autoenrollment property or the
            certificate's template extension, by name or OID.
        type: str
      min_days_left:
        description:
          - Days of validity the certificate must have left (O(renew_within_days) applies as well).
        type: int
        default: 0
  renew_within_days:
    description:
      - With O(certificate=auto), a bound certificate with fewer days left than this is replaced by the
        best match, and a replacement must have more left than this.
    type: int
    default: 30
  state:
    description:
      - C(present) creates the listener or brings the given settings to the given values;
        C(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - wsman.winrm.change
seealso:
  - module: wsman.winrm.compat_listener
  - module: wsman.winrm.policy
  - module: wsman.winrm.info
  - name: Installation and configuration for Windows Remote Management
    description: Microsoft's description of listeners and their defaults.
    link: https://learn.microsoft.com/windows/win32/winrm/installation-and-configuration-for-windows-remote-management
"""

EXAMPLES = r"""
- name: An HTTPS listener on every address, with the host's server certificate
  wsman.winrm.listener:
    transport: https
    hostname: "{{ inventory_hostname }}"
    certificate_thumbprint: "{{ server_certificate_thumbprint }}"

- name: An HTTPS listener with the host's matching certificate valid longest
  wsman.winrm.listener:
    transport: https
    certificate: auto
  register: https_listener

- name: Show the certificate chosen and why
  ansible.builtin.debug:
    msg: "{{ https_listener.certificate.thumbprint }}: {{ https_listener.certificate.reason }}"

- name: Keep the HTTPS listener on a current certificate from the Machine template (run it regularly)
  wsman.winrm.listener:
    transport: https
    certificate: auto
    certificate_criteria:
      template: Machine
    renew_within_days: 30

- name: Renew the certificate of the HTTPS listener in place
  wsman.winrm.listener:
    transport: https
    certificate_thumbprint: "{{ new_thumbprint }}"

- name: An HTTP listener on one address and a port of our choice
  wsman.winrm.listener:
    address: IP:192.0.2.10
    transport: http
    port: 8085

- name: Remove the HTTP listener once the HTTPS one answers (run it through HTTPS)
  wsman.winrm.listener:
    transport: http
    state: absent

- name: Leave a listener Group Policy creates alone, and report it
  wsman.winrm.listener:
    transport: http
    port: 5985
    policy_controlled: skip
"""

RETURN = r"""
listener:
  description:
    - The listener after the task, as M(wsman.winrm.info) returns listeners; null when it is absent.
    - In check mode, the prediction; values Windows chooses itself and the controller cannot know
      (the certificate of an HTTPS listener created without a thumbprint or O(certificate=auto)) are null.
  returned: always
  type: dict
  sample: {address: "*", transport: HTTPS, port: 5986, hostname: win01.example.com, enabled: true,
           url_prefix: wsman, certificate_thumbprint: 9A3B5E1C0D2F4A6B8C7D9E0F1A2B3C4D5E6F7A8B,
           listening_on: ["192.0.2.10", "127.0.0.1"], source: ""}
before:
  description: The listener before the task; null when there was none.
  returned: always
  type: dict
changes:
  description: The settings the task changed (C(listener) when it created or deleted the listener).
  returned: always
  type: list
  elements: str
  sample: [certificate_thumbprint]
replaced:
  description:
    - Whether the listener was deleted and created again to apply the change. Always false
      (Windows changes every listener setting in place).
  returned: always
  type: bool
  sample: false
certificate:
  description:
    - With O(certificate=auto), the certificate chosen and why.
    - C(action) is C(selected) (a new listener), C(keep), C(renewed) (followed the renewal chain) or
      C(replaced) (the bound one was gone, expiring or no longer qualified); C(previous) is the
      thumbprint the listener named before, C(renewal_chain) the thumbprints followed.
  returned: when O(certificate=auto) and O(state=present)
  type: dict
  sample: {action: renewed, thumbprint: 0C2F5E9A1B3D4C6E8F0A2B4C6D8E0F1A3B5C7D9E,
           previous: 9A3B5E1C0D2F4A6B8C7D9E0F1A2B3C4D5E6F7A8B, renewal_chain: [9A3B5E1C0D2F4A6B8C7D9E0F1A2B3C4D5E6F7A8B,
           0C2F5E9A1B3D4C6E8F0A2B4C6D8E0F1A3B5C7D9E],
           reason: "9A3B... was renewed: 0C2F... is the newest valid certificate of its renewal chain"}
policy_skipped:
  description: The settings of a Group Policy listener left unchanged with O(policy_controlled=skip).
  returned: when a wanted change was skipped
  type: list
  elements: str
diff:
  description: The listener before and after.
  returned: in diff mode
  type: dict
"""
