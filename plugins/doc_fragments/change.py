# Copyright (c) 2026 wsman.winrm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Options and behaviour every wsman.winrm module that changes WinRM shares."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  policy_controlled:
    description:
      - What to do with a wanted change to a setting that Group Policy controls (Windows marks it
        C(Source="GPO") and refuses to change it with fault 2150858890).
      - C(fail) fails the task, naming the setting and the policy value, before anything is sent.
      - C(skip) leaves those settings as the policy sets them, reports them in the C(policy_skipped) return value
        with a warning, and applies the rest.
      - To change such a setting, change the policy value with M(wsman.winrm.policy).
    type: str
    choices: [fail, skip]
    default: fail
  force:
    description:
      - Apply a change even though it would cut the connection this task uses (delete or disable
        the listener it came in on, turn off the auth method it uses, refuse unencrypted traffic
        while it runs Basic over HTTP, or filter out the address it connects to).
      - Without it such a change is refused with an explanation and nothing is sent.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description: Check mode reads the current state and predicts exactly the change a real run makes.
  diff_mode:
    support: full
    description: Shows the settings before and after the change.
  platform:
    support: full
    platforms: windows
    description: Manages the WinRM service of Windows hosts, over WS-Management from the controller.
notes:
  - Runs on the controller (action plugin) and sends WS-Management requests to the host, the same
    requests C(winrm set) and C(winrm create) send; no PowerShell runs on the host.
  - The host is reached with its connection variables (C(ansible.builtin.winrm), C(ansible.builtin.psrp)
    or C(wsman.winrm.winrm)); see the collection's endpoint resolution document.
requirements:
  - pypsrp >= 0.9 on the controller
"""
