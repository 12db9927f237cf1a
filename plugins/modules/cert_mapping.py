#!/usr/bin/python
# Copyright (c) 2026 wsman.winrm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# The implementation is the action plugin plugins/action/cert_mapping.py; it runs on the controller.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cert_mapping
short_description: Manage a WinRM client certificate mapping (CertMapping) over WS-Management
version_added: 0.1.0
description:
  - Creates, changes or removes one entry of C(winrm/config/service/certmapping), the table that
    maps a client certificate (its issuing CA and subject) to a local account, so that the client
    can log on with certificate authentication. It sends the same requests as C(winrm
    create|set|delete winrm/config/service/certmapping?URI=...+Subject=...+Issuer=...); no
    PowerShell runs on the host.
  - An entry is identified by O(uri), O(subject) and O(issuer); they cannot be changed in place
    (Windows refuses it); remove the entry and create another.
  - The keys and the password are checked against Windows' rules before anything is sent, with an
    error naming the option. Windows itself checks that O(username) is a local account and that
    O(password) is its current password (fault 2150859092 otherwise).
  - Creating an entry or changing its password works only over a remote session (fault 2150859090
    when done locally); this module always connects over the network, so that holds.
  - Certificate authentication also needs the service's C(Certificate) auth switch on
    (C(winrm/config/service/auth)) and an HTTPS listener.
  - No Group Policy value controls CertMapping entries, so O(policy_controlled) has no effect here;
    it is accepted like in every module that changes WinRM.
author:
  - wsman.winrm contributors (@wsman)
extends_documentation_fragment:
  - wsman.winrm.change
options:
  uri:
    description:
      - The resource URI prefix the mapping is valid for, e.g. C(*) for every resource, or
        C(http://schemas.microsoft.com/wbem/wsman/1/*).
      - Not empty, no whitespace, no C(?), at most one C(*) and only as the last character, at most
        1023 characters.
    type: str
    required: true
  subject:
    description:
      - The subject the client certificate must carry, matched against its common name and its
        UPN and e-mail alternative names, e.g. C(ansible@example.com), or C(*.example.com).
      - Not empty, at most one C(*) and only as the first character (C(*) alone matches every
        subject), at most 1023 characters.
    type: str
    required: true
  issuer:
    description:
      - The thumbprint (40 hexadecimal digits, SHA-1) of the CA certificate that signed the client
        certificate. That CA must be in the host's Trusted Root or Intermediate Certification
        Authorities store (fault 2150859106 otherwise).
      - Spaces, colons and the invisible mark certmgr copies with a thumbprint are removed; the
        thumbprint is sent in upper case.
    type: str
    required: true
  username:
    description:
      - The local account the certificate logs on as (not a domain account).
      - Required with O(password) to create an entry. Changing it on an existing entry needs
        O(password) too, because Windows checks the account's password and stores both.
    type: str
  password:
    description:
      - The password of O(username). Windows stores it and never returns it, so it cannot be
        compared; see O(update_password).
      - Not blank, at most 255 characters.
      - Never appears in the result, the diff, warnings, error messages or the controller's debug
        log of the WS-Management requests.
    type: str
  enabled:
    description:
      - Whether the mapping is used.
    type: bool
    default: true
  state:
    description:
      - V(present) creates the entry or brings O(username) and O(enabled) to the given values.
      - V(absent) deletes it. Certificate logons through it stop at once (HTTP 401).
    type: str
    choices: [present, absent]
    default: present
  update_password:
    description:
      - V(on_create) sends O(password) only when the entry is created, or with a new O(username).
        A rerun then reports C(changed=false), but a changed account password is not detected.
      - V(always) sends O(password) on every run where the entry exists. Windows cannot tell
        whether it differs from the stored one, so such a run always reports C(changed=true) and
        RV(password_updated=true) (also in check mode); the module does not claim "no change" when
        it cannot know.
    type: str
    choices: [always, on_create]
    default: on_create
  force:
    description:
      - Apply a change even though it would cut the connection this task uses.
      - Here that is certificate authentication. When this task itself authenticates with a client
        certificate, deleting or disabling an entry that maps it (a subject the certificate carries,
        a URI covering C(winrm/config) or the mapping table) is refused with an explanation, and
        nothing is sent, unless O(force=true).
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description:
      - Reads the entries and predicts the change a real run makes. Windows may store the account
        name in its own spelling (case); the real run returns what Windows stored.
  diff_mode:
    support: full
    description:
      - Shows the entry before and after. When a password is sent to an existing entry, the diff
        says so with a placeholder; never the password.
notes:
  - Windows' rules for the keys and the password are the texts of the faults 0x80338160,
    0x80338161, 0x80338162, 0x8033816A, 0x8033816B and 0x8033816C (wsmerror.h).
seealso:
  - module: wsman.winrm.info
    description: Lists every CertMapping entry (without passwords).
  - name: winrm create winrm/config/service/certmapping
    description: Microsoft's description of certificate mapping for WinRM.
    link: https://learn.microsoft.com/windows/win32/winrm/authentication-for-remote-connections
"""

EXAMPLES = r"""
# In the inventory: client_ca_thumbprint is the thumbprint of the CA that issued the client
# certificate (it must be in the host's Trusted Root store), cert_account the local account the
# certificate logs on as, and vault_cert_account_password its password.
- name: Map the client certificate ansible@example.com, issued by our CA, to a local account
  wsman.winrm.cert_mapping:
    uri: "*"
    subject: ansible@example.com
    issuer: "{{ client_ca_thumbprint }}"
    username: "{{ cert_account }}"
    password: "{{ vault_cert_account_password }}"
  register: mapping

- name: After changing the account's password on the host, store the new one (always sends it, reports changed)
  wsman.winrm.cert_mapping:
    uri: "*"
    subject: ansible@example.com
    issuer: "{{ client_ca_thumbprint }}"
    username: "{{ cert_account }}"
    password: "{{ vault_cert_account_password_new }}"
    update_password: always

- name: Stop certificate logons through the entry without deleting it
  wsman.winrm.cert_mapping:
    uri: "*"
    subject: ansible@example.com
    issuer: "{{ client_ca_thumbprint }}"
    enabled: false

- name: Remove the entry
  wsman.winrm.cert_mapping:
    uri: "*"
    subject: ansible@example.com
    issuer: "{{ client_ca_thumbprint }}"
    state: absent
"""

RETURN = r"""
cert_mapping:
  description:
    - The entry after the task, as Windows returns it (never a password); empty when it is absent.
    - In check mode, the predicted entry.
  returned: always
  type: dict
  sample:
    uri: "*"
    subject: ansible@example.com
    issuer: 3F2C5E0E5A1B7C8D9E0F11223344556677889900
    user_name: ansible
    enabled: true
before:
  description: The entry before the task (never a password); empty when it did not exist.
  returned: always
  type: dict
  sample: {}
password_updated:
  description:
    - Whether the task sent O(password) to the host (creation, a new O(username), or
      O(update_password=always)). In check mode, whether it would.
  returned: always
  type: bool
  sample: true
diff:
  description: The entry before and after, in diff mode.
  returned: when diff mode is on
  type: dict
"""
