#!/usr/bin/python
# Copyright (c) 2026 wsman.winrm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# The implementation is the action plugin plugins/action/firewall_rule.py; it runs on the controller.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: firewall_rule
short_description: Manage the Windows Firewall rules that admit WinRM, over WS-Management
version_added: 0.1.0
description:
  - Turns Windows Firewall rules on or off, sets the network profiles they apply to and the remote
    addresses they admit, with WS-Management requests sent from the controller to the WMI/CIM
    classes C(root/StandardCimv2/MSFT_NetFirewallRule) and C(MSFT_NetAddressFilter), the classes
    C(Set-NetFirewallRule) works on. No PowerShell runs on the host.
  - Meant for the predefined WinRM rules. On Windows Server C(WINRM-HTTP-In-TCP) (Domain and
    Private profiles) and C(WINRM-HTTP-In-TCP-PUBLIC) (Public profile, C(LocalSubnet) only) in the
    group "Windows Remote Management", and C(WINRM-HTTP-Compat-In-TCP) (port 80) in the group
    "Windows Remote Management (Compatibility)". Client editions name them
    C(WINRM-HTTP-In-TCP-NoScope) (Domain, Private) and C(WINRM-HTTP-In-TCP) (Public). Any rule can be
    selected by its name.
  - Windows turns the port 80 rule on when the compatibility HTTP listener is enabled (see
    M(wsman.winrm.compat_listener)); this module can turn it off again once no WinRM 1.1 client needs it.
  - The rules are read with one Enumerate of each class; each selected rule that must change gets
    at most two partial Puts. If a Put fails, the rules this task already changed are put back.
  - Anti-lockout is about the firewall here. A change is refused, unless O(force=true), when on
    some network profile no enabled rule for the port this task connects to would admit the
    controller's address any more. That happens when you disable such a rule, take a profile away
    from it, or narrow O(remote_addresses) so that the controller is left out. The host's network
    profile cannot be seen from the controller, so every profile counts.
  - For this module O(policy_controlled) is about rules that come from Group Policy (policy store
    source C(GroupPolicy)), which Windows does not let the local store change. V(fail) fails the
    task naming the rule; V(skip) leaves those rules, lists them in RV(policy_skipped) and changes
    the others.
author:
  - wsman.winrm contributors (@wsman)
options:
  name:
    description:
      - The rule's name (its C(InstanceID), what C(Get-NetFirewallRule -Name) takes), for example
        C(WINRM-HTTP-In-TCP-PUBLIC). Matched case-insensitively.
      - Exactly one of O(name) and O(group) is required.
    type: str
  group:
    description:
      - Every rule of this group, by display group (C(Windows Remote Management)) or by the
        indirect group string (C(@FirewallAPI.dll,-30267)). Matched case-insensitively.
    type: str
  enabled:
    description:
      - Whether the rule is on. Leave unset to keep it as it is.
    type: bool
  profiles:
    description:
      - The network profiles the rule applies to. V(any) means all of them and stands alone.
      - V(any) and the three profiles together are the same thing, so changing one to the other
        counts as no change.
    type: list
    elements: str
    choices: [domain, private, public, any]
  remote_addresses:
    description:
      - The remote addresses the rule admits. Each entry can be V(Any) (or V(*)), which stands alone,
        a keyword (V(LocalSubnet), V(DefaultGateway), V(DHCP), V(DNS), V(WINS), V(Intranet),
        V(Internet)), an IPv4 or IPv6 address, a range (V(10.0.0.1-10.0.0.9)) or a subnet
        (V(10.0.0.0/8) or V(10.0.0.0/255.0.0.0)).
      - Windows stores an IPv4 subnet as address/mask. The comparison understands both forms and
        ignores order and case, so a second run reports no change.
    type: list
    elements: str
extends_documentation_fragment:
  - wsman.winrm.change
seealso:
  - module: wsman.winrm.compat_listener
  - module: wsman.winrm.info
  - name: MSFT_NetFirewallRule class
    description: The CIM class this module reads and changes.
    link: https://learn.microsoft.com/windows/win32/fwp/wmi/wfascimprov/msft-netfirewallrule
  - name: Security considerations for PowerShell Remoting using WinRM
    description: Why the Public profile rule admits only the local subnet.
    link: https://learn.microsoft.com/powershell/scripting/security/remoting/winrm-security
"""

EXAMPLES = r"""
# management_subnets, in the inventory: the networks the controllers connect from, e.g. [10.20.0.0/16].
# A list that leaves out the controller running the task is refused unless force: true.
- name: Admit WinRM on public networks from the management subnets only
  wsman.winrm.firewall_rule:
    name: WINRM-HTTP-In-TCP-PUBLIC
    remote_addresses: "{{ management_subnets }}"

- name: Close the WinRM 1.1 port 80 once no old client needs it
  wsman.winrm.firewall_rule:
    group: Windows Remote Management (Compatibility)
    enabled: false

- name: The WinRM HTTP rule on the domain and private profiles (public networks have their own rule)
  wsman.winrm.firewall_rule:
    name: WINRM-HTTP-In-TCP
    profiles: [domain, private]
    enabled: true

- name: Report the WinRM rules without changing anything
  wsman.winrm.firewall_rule:
    group: Windows Remote Management
  register: winrm_rules
"""

RETURN = r"""
changed:
  description: Whether any rule changed (or would change, in check mode).
  returned: always
  type: bool
changes:
  description: The changed settings, as C(<rule>.<setting>).
  returned: always
  type: list
  elements: str
  sample: ["WINRM-HTTP-In-TCP-PUBLIC.remote_addresses"]
before:
  description: The selected rules before the task, by name.
  returned: always
  type: dict
  sample:
    WINRM-HTTP-In-TCP-PUBLIC:
      name: WINRM-HTTP-In-TCP-PUBLIC
      display_name: Windows Remote Management (HTTP-In)
      group: "@FirewallAPI.dll,-30267"
      display_group: Windows Remote Management
      enabled: true
      profiles: [public]
      direction: inbound
      action: allow
      protocol: TCP
      local_ports: ["5985"]
      remote_addresses: [LocalSubnet]
      policy_store_source_type: local
after:
  description: The selected rules after the task, or as a real run would leave them in check mode.
  returned: always
  type: dict
  sample:
    WINRM-HTTP-In-TCP-PUBLIC:
      name: WINRM-HTTP-In-TCP-PUBLIC
      enabled: true
      profiles: [public]
      remote_addresses: [10.20.0.0/255.255.0.0]
rules:
  description:
    - Every WinRM firewall rule of the host (both WinRM groups) plus the selected rules, as they
      are after the task. Same keys as RV(before).
  returned: always
  type: list
  elements: dict
policy_skipped:
  description: Rules left unchanged because they come from Group Policy (O(policy_controlled=skip)).
  returned: when a rule was skipped
  type: list
  elements: str
  sample: ["WINRM-HTTP-In-TCP-GPO"]
"""
