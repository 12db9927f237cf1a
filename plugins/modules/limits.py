#!/usr/bin/python
# Copyright (c) 2026 wsman.winrm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# The implementation is the action plugin plugins/action/limits.py; it runs on the controller.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: limits
short_description: Manage the WinRM message limits and the WinRS shell quotas
version_added: 0.2.0
description:
  - Sets the limits admins tune, locally, from the controller over WS-Management (what
    C(winrm set winrm/config @{...}) and C(winrm set winrm/config/winrs @{...}) do), in one partial Put.
  - C(MaxEnvelopeSizekb), C(MaxTimeoutms) and C(MaxBatchItems) of C(winrm/config), and the WinRS quotas
    C(IdleTimeout), C(MaxConcurrentUsers), C(MaxProcessesPerShell), C(MaxMemoryPerShellMB) and
    C(MaxShellsPerUser) of C(winrm/config/winrs), which also cap every session configuration's own quotas.
  - A value Group Policy sets (the WinRS policies under
    C(HKLM\SOFTWARE\Policies\Microsoft\Windows\WinRM\Service\WinRS), written by M(wsman.winrm.policy))
    is shown with C(Source="GPO") and Windows refuses to change it; the task fails naming the policy,
    or leaves it with O(policy_controlled=skip).
  - An envelope limit below the 150 KB this controller's client asks for would make the service refuse
    every later request; it is refused unless O(force=true).
author:
  - wsman.winrm contributors (@wsman)
extends_documentation_fragment:
  - wsman.winrm.change
options:
  max_envelope_size_kb:
    description: C(MaxEnvelopeSizekb), the largest SOAP message the service takes, in KB (at least 32).
    type: int
  max_timeout_ms:
    description: C(MaxTimeoutms), the longest operation timeout a client may ask for, in milliseconds (at least 500).
    type: int
  max_batch_items:
    description: C(MaxBatchItems), the most items one Pull returns (at least 1).
    type: int
  winrs:
    description: The WinRS quotas (C(winrm/config/winrs)); 0 is unlimited for processes, memory and shells.
    type: dict
    suboptions:
      idle_timeout:
        description: C(IdleTimeout), how long an idle remote shell stays open, in milliseconds.
        type: int
      max_concurrent_users:
        description: C(MaxConcurrentUsers), the users with remote shells open at once.
        type: int
      max_processes_per_shell:
        description: C(MaxProcessesPerShell), the processes one shell may start.
        type: int
      max_memory_per_shell_mb:
        description: C(MaxMemoryPerShellMB), the memory one shell and its processes may take, in MB.
        type: int
      max_shells_per_user:
        description: C(MaxShellsPerUser), the shells one user may have open.
        type: int
requirements:
  - pypsrp >= 0.9 on the controller
attributes:
  check_mode:
    support: full
    description: Predicts the change without sending it.
  diff_mode:
    support: full
    description: Shows the limits before and after.
  platform:
    support: full
    platforms: windows
    description: Windows hosts with WinRM 2.0 or later.
notes:
  - Runs on the controller (action plugin); Ansible's own connection to the host is not opened.
seealso:
  - name: "[MS-WSMV] 2.2.4.42 WinrsType"
    description: The WinRS quotas and their ranges.
    link: https://learn.microsoft.com/openspecs/windows_protocols/ms-wsmv/7ffb4acd-cf01-4fbe-9e48-7746f5001957
  - module: wsman.winrm.policy
    description: The WinRS quotas as Group Policy values (O(wsman.winrm.policy#module:winrs)).
  - module: wsman.winrm.session_configuration
    description: A session configuration's own quotas.
"""

EXAMPLES = r"""
- name: Room for large PowerShell remoting payloads, and a shorter idle time for shells
  wsman.winrm.limits:
    max_envelope_size_kb: 8192
    winrs:
      idle_timeout: 1800000
      max_memory_per_shell_mb: 2048

- name: At most five shells per user
  wsman.winrm.limits:
    winrs:
      max_shells_per_user: 5
  register: limits

- name: Show the limits now in force
  ansible.builtin.debug:
    msg: "{{ limits.limits }}"
"""

RETURN = r"""
limits:
  description: The limits after the task (as the host answered; predicted in check mode).
  returned: success
  type: dict
  sample:
    max_envelope_size_kb: 8192
    max_timeout_ms: 60000
    max_batch_items: 32000
    winrs: {idle_timeout: 1800000, max_concurrent_users: 2147483647, max_processes_per_shell: 2147483647,
            max_memory_per_shell_mb: 2048, max_shells_per_user: 5}
changes:
  description: The settings the task changed (or would change, in check mode), as dotted paths.
  returned: always
  type: list
  elements: str
  sample: [max_envelope_size_kb, winrs.idle_timeout]
policy_skipped:
  description: Settings left unchanged because Group Policy controls them (O(policy_controlled=skip)).
  returned: success
  type: list
  elements: str
before:
  description: The limits before the task, in the shape of RV(limits).
  returned: success
  type: dict
after:
  description: The limits after the task, as RV(limits).
  returned: success
  type: dict
"""
