#!/usr/bin/python
# Copyright (c) 2026 wsman.winrm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# The implementation is the action plugin plugins/action/session_configuration.py; it runs on the controller.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: session_configuration
short_description: Manage who may use a PowerShell session configuration, whether it is enabled, and its quotas
version_added: 0.2.0
description:
  - Changes an existing session configuration (C(Microsoft.PowerShell), its 32-bit and workflow
    siblings, a JEA endpoint) or another WinRM plugin (C(WMI Provider)) the way
    C(Set-PSSessionConfiguration), C(Enable-PSSessionConfiguration) and C(Disable-PSSessionConfiguration)
    do it through WS-Management, from the controller, with no PowerShell on the target - a Get of
    C(winrm/config/plugin?Name=<name>), the edit, and a Put of the whole document.
  - The security descriptor decides who may connect to the endpoint; Windows checks it instead of
    the service's RootSDDL. Give the whole descriptor with O(sddl), or add and remove trustees with
    O(access). Descriptors are compared by meaning (ACE order, aliases and SIDs), not as strings, so
    a second run reports no change.
  - A change that would take away the right the task's own user holds on the endpoint (execute on a
    PowerShell endpoint, what C(ansible.builtin.psrp) connects with; read on WMI) is refused unless
    O(force=true). The host cannot list a domain group's members, so for a domain user the change must
    leave the right to the user itself or to a local group that lists the user by name (or touch no group
    the user may be in); otherwise it cannot be proven safe and is refused.
  - The descriptor applies at once. O(enabled) and O(quotas) take effect when the WinRM service
    restarts (C(Set-PSSessionConfiguration) restarts it; this module does not, as that would cut its
    own connection) - the result says RV(restart_required).
  - Registering and unregistering session configurations, and their RunAs credentials, are not managed.
author:
  - wsman.winrm contributors (@wsman)
extends_documentation_fragment:
  - wsman.winrm.change
options:
  name:
    description:
      - The session configuration (plugin) name, in any case, as C(Get-PSSessionConfiguration) or
        C(winrm enumerate winrm/config/plugin) list it.
    type: str
    required: true
  sddl:
    description:
      - The whole security descriptor of the configuration's endpoint, in SDDL (what
        C(Set-PSSessionConfiguration -SecurityDescriptorSddl) takes). Applied before O(access).
      - For a PowerShell endpoint a user needs execute (C(GX), or C(GA)). Windows' default for
        C(Microsoft.PowerShell) grants full access to Administrators, INTERACTIVE and Remote Management
        Users (the SDDL aliases C(BA), C(IU) and C(RM)); the examples show it in SDDL.
    type: str
  access:
    description:
      - Trustees to grant (O(access[].state=present)) or take rights from (O(access[].state=absent)), in order,
        after O(sddl). A configuration without a descriptor of its own starts from RootSDDL.
    type: list
    elements: dict
    suboptions:
      trustee:
        description:
          - An account or group - C(DOMAIN\\name) (a domain member resolves domain names), a local name,
            a well-known name (C(BUILTIN\\Remote Management Users)), an SDDL alias (C(RM)) or a SID.
            Names that are not well known are looked up on the host over WMI (C(Win32_Group), C(Win32_UserAccount)).
        type: str
        required: true
      rights:
        description:
          - The rights, as the permissions dialog of C(Set-PSSessionConfiguration -ShowSecurityDescriptorUI)
            names them; C(execute) is what opening a PowerShell session needs.
          - With O(access[].state=present) the default is C(full); with O(access[].state=absent) every right of the trustee.
        type: list
        elements: str
        choices: [full, read, write, execute]
      state:
        description: Grant (C(present)) or take away (C(absent)).
        type: str
        choices: [present, absent]
        default: present
  enabled:
    description:
      - Whether the configuration accepts sessions (the C(Enabled) setting, what
        C(Enable-/Disable-PSSessionConfiguration) set). Takes effect when the WinRM service restarts.
    type: bool
  quotas:
    description:
      - The configuration's own quotas (C(WSMan:\\localhost\\Plugin\\<name>\\Quotas)). A value above the
        global WinRS setting (C(winrm/config/winrs), or its Group Policy value) is capped by it, and the
        task warns. Takes effect when the WinRM service restarts.
    type: dict
    suboptions:
      idle_timeout_ms: {description: C(IdleTimeoutms), type: int}
      max_idle_timeout_ms: {description: C(MaxIdleTimeoutms), type: int}
      max_concurrent_users: {description: C(MaxConcurrentUsers), type: int}
      max_processes_per_shell: {description: C(MaxProcessesPerShell), type: int}
      max_memory_per_shell_mb: {description: C(MaxMemoryPerShellMB), type: int}
      max_concurrent_commands_per_shell: {description: C(MaxConcurrentCommandsPerShell), type: int}
      max_shells: {description: C(MaxShells), type: int}
      max_shells_per_user: {description: C(MaxShellsPerUser), type: int}
      max_concurrent_operations: {description: C(MaxConcurrentOperations), type: int}
      max_concurrent_operations_per_user: {description: C(MaxConcurrentOperationsPerUser), type: int}
requirements:
  - pypsrp >= 0.9 on the controller
attributes:
  check_mode:
    support: full
    description: Predicts the change, the refusals and the warnings without sending a change.
  diff_mode:
    support: full
    description: Shows the configuration's Enabled, descriptor (with the access it grants, readable) and quotas.
  platform:
    support: full
    platforms: windows
    description: Windows hosts with WinRM 2.0 or later (session configurations are PowerShell remoting's).
notes:
  - Runs on the controller (action plugin); Ansible's own connection to the host is not opened.
  - With the policy C(Disallow WinRM from storing RunAs credentials) on (C(DisableRunAs), which the
    STIG and CIS baselines set), a configuration that runs as another user no longer opens; the task warns.
seealso:
  - name: Set-PSSessionConfiguration
    description: The cmdlet this module does the work of.
    link: https://learn.microsoft.com/powershell/module/microsoft.powershell.core/set-pssessionconfiguration
  - name: "[MS-WSMV] 3.1.4.1.28 Security"
    description: A plugin's descriptor authorizes its resource URIs; a shell needs GX.
    link: https://learn.microsoft.com/openspecs/windows_protocols/ms-wsmv/991337f5-1c79-46ec-b433-f901dd28e573
  - module: wsman.winrm.info
    description: O(wsman.winrm.info#module:gather=[session_configurations, access]) reads every configuration and who may connect.
"""

EXAMPLES = r"""
- name: Remote sessions only - take INTERACTIVE off the default endpoint
  wsman.winrm.session_configuration:
    name: microsoft.powershell
    access:
      - trustee: NT AUTHORITY\INTERACTIVE
        state: absent
  register: default_endpoint

- name: Say who may open sessions now
  ansible.builtin.debug:
    msg: "{{ default_endpoint.session_configuration.access }}"

- name: Let Remote Management Users open sessions on the workflow endpoint, nothing more
  wsman.winrm.session_configuration:
    name: microsoft.powershell.workflow
    access:
      - trustee: BUILTIN\Remote Management Users
        state: absent
      - trustee: BUILTIN\Remote Management Users
        rights: [execute]

- name: The descriptor as a whole (Administrators and Remote Management Users)
  wsman.winrm.session_configuration:
    name: microsoft.powershell
    sddl: O:NSG:BAD:P(A;;GA;;;BA)(A;;GA;;;RM)S:P(AU;FA;GA;;;WD)(AU;SA;GXGW;;;WD)

- name: Limit the workflow endpoint (takes effect when WinRM restarts)
  wsman.winrm.session_configuration:
    name: microsoft.powershell.workflow
    quotas:
      max_shells_per_user: 5
      max_memory_per_shell_mb: 512

- name: Close the 32-bit endpoint nobody uses
  wsman.winrm.session_configuration:
    name: microsoft.powershell32
    enabled: false
  register: closed

- name: Tell when the WinRM service must restart
  ansible.builtin.debug:
    msg: "Restart WinRM on {{ inventory_hostname }} for the change to take effect"
  when: closed.restart_required
"""

RETURN = r"""
session_configuration:
  description:
    - The configuration after the task (as the host answered the Put; predicted in check mode).
      C(access) reads the descriptor as trustee and WinRM permissions.
  returned: success
  type: dict
  sample:
    name: microsoft.powershell
    enabled: true
    sddl: O:NSG:BAD:P(A;;GA;;;BA)(A;;GA;;;RM)S:P(AU;FA;GA;;;WD)(AU;SA;GXGW;;;WD)
    access: ['BUILTIN\Administrators: read, write, execute', 'BUILTIN\Remote Management Users: read, write, execute']
    quotas: {max_shells_per_user: 25, max_memory_per_shell_mb: 1024}
    run_as_user: null
restart_required:
  description: Whether the change waits for a restart of the WinRM service (O(enabled) or O(quotas) changed).
  returned: success
  type: bool
  sample: false
changes:
  description: What the task changed (or would change, in check mode).
  returned: always
  type: list
  elements: str
  sample: [sddl]
before:
  description: The configuration before the task, in the shape of RV(session_configuration).
  returned: success
  type: dict
after:
  description: The configuration after the task, as RV(session_configuration).
  returned: success
  type: dict
"""
