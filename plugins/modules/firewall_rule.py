#!/usr/bin/python
# Copyright (c) 2026 wsman.winrm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# The implementation is the action plugin plugins/action/firewall_rule.py; it runs on the controller.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: firewall_rule
short_description: Create, change and delete Windows Firewall inbound rules (the ones that admit WinRM), over WS-Management
version_added: 0.1.0
description:
  - Creates, changes and deletes Windows Firewall inbound rules with WS-Management requests sent
    from the controller to the WMI/CIM classes C(root/StandardCimv2/MSFT_NetFirewallRule),
    C(MSFT_NetProtocolPortFilter) and C(MSFT_NetAddressFilter), the way C(New-NetFirewallRule
    -CimSession), C(Set-NetFirewallRule) and C(Remove-NetFirewallRule -CimSession) do. No
    PowerShell runs on the host.
  - A new rule is a CIM Create of C(MSFT_NetFirewallRule) (Windows makes its port and address
    filters with it, admitting any port and address), then a Put of each filter. So that the rule
    never admits more than asked, a rule that is to be enabled is created disabled and enabled
    once its filters are set. If any of those requests fails, the rule is deleted again.
  - Windows ships these WinRM rules. On Windows Server C(WINRM-HTTP-In-TCP) (Domain and Private
    profiles) and C(WINRM-HTTP-In-TCP-PUBLIC) (Public profile, C(LocalSubnet) only) in the group
    "Windows Remote Management", and C(WINRM-HTTP-Compat-In-TCP) (port 80) in the group
    "Windows Remote Management (Compatibility)". Client editions name them
    C(WINRM-HTTP-In-TCP-NoScope) (Domain, Private) and C(WINRM-HTTP-In-TCP) (Public). No rule
    opens the HTTPS port 5986, so create one before an HTTPS listener can be reached (the role
    C(wsman.winrm.secure_baseline) does).
  - Windows turns the port 80 rule on when the compatibility HTTP listener is enabled (see
    M(wsman.winrm.compat_listener)); this module can turn it off again once no WinRM 1.1 client needs it.
  - The rules are read with one Enumerate of each class. A change is at most one partial Put per
    instance; if a request fails, what this task already changed is put back.
  - Anti-lockout is about the firewall here. A change is refused, unless O(force=true), when on
    some network profile no enabled rule for the port this task connects to would admit the
    controller's address any more. That happens when you delete or disable such a rule, take a
    profile away from it, turn it into a block rule, or narrow O(remote_addresses) so that the
    controller is left out. The host's network profile cannot be seen from the controller, so
    every profile counts.
  - For this module O(policy_controlled) is about rules that come from Group Policy (policy store
    source C(GroupPolicy)), which Windows does not let the local store change. V(fail) fails the
    task naming the rule; V(skip) leaves those rules, lists them in RV(policy_skipped) and changes
    the others.
author:
  - wsman.winrm contributors (@wsman)
options:
  name:
    description:
      - The rule's name (its C(InstanceID), what C(New-NetFirewallRule -Name) and
        C(Get-NetFirewallRule -Name) take), for example C(WINRM-HTTP-In-TCP-PUBLIC). Matched
        case-insensitively. A name the host does not have is created (O(state=present)) when
        O(local_ports) is given; without it the task fails naming the host's WinRM rules, so a
        mistyped name never creates a rule.
      - At least one of O(name) and O(group) is required.
    type: str
  state:
    description:
      - V(present) creates the rule when the host has none of that name, and changes the settings
        given. V(absent) deletes it (with O(group) alone, every rule of the group).
    type: str
    choices: [present, absent]
    default: present
  group:
    description:
      - Without O(name), the task is about every rule of this group, by display group
        (C(Windows Remote Management)) or by the indirect group string (C(@FirewallAPI.dll,-30267)),
        matched case-insensitively; only O(enabled), O(profiles), O(remote_addresses), O(action) and
        O(state) apply then.
      - With O(name), the group a new rule is created in (C(New-NetFirewallRule -Group)). Windows does
        not move an existing rule to another group, so a different group for an existing rule is an error.
    type: str
  display_name:
    description:
      - The name Windows Defender Firewall shows (C(-DisplayName)). A new rule without it shows its name.
    type: str
  description:
    description:
      - The rule's description.
    type: str
  protocol:
    description:
      - V(TCP), V(UDP), V(ICMPv4), V(ICMPv6), V(Any) or a protocol number. A new rule with
        O(local_ports) is V(TCP) unless told otherwise, without them V(Any).
    type: str
  local_ports:
    description:
      - The local ports the rule admits - port numbers, ranges (V(5985-5986)) or V(Any) alone.
        Ports need O(protocol) V(TCP) or V(UDP).
    type: list
    elements: str
  enabled:
    description:
      - Whether the rule is on. Leave unset to keep it as it is; a new rule is on.
    type: bool
  action:
    description:
      - V(allow) or V(block). A block rule wins over the allow rules for the same traffic. A new rule allows.
    type: str
    choices: [allow, block]
  profiles:
    description:
      - The network profiles the rule applies to. V(any) means all of them and stands alone; a new
        rule applies to V(any).
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
        (V(10.0.0.0/8) or V(10.0.0.0/255.0.0.0)). A new rule admits V(Any).
      - Windows stores an IPv4 subnet as address/mask. The comparison understands both forms and
        ignores order and case, so a second run reports no change.
    type: list
    elements: str
extends_documentation_fragment:
  - wsman.winrm.change
seealso:
  - module: wsman.winrm.compat_listener
  - name: New-NetFirewallRule
    description: The cmdlet whose CIM requests this module sends; its parameters and defaults.
    link: https://learn.microsoft.com/powershell/module/netsecurity/new-netfirewallrule
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

- name: Open the HTTPS listener's port 5986 to the management subnets, on every profile
  wsman.winrm.firewall_rule:
    name: WINRM-HTTPS-In-TCP-Mgmt
    display_name: Windows Remote Management (HTTPS-In)
    group: Windows Remote Management (HTTPS)
    description: WinRM over HTTPS from the management subnets
    protocol: TCP
    local_ports: [5986]
    profiles: [any]
    remote_addresses: "{{ management_subnets }}"

- name: Delete that rule again
  wsman.winrm.firewall_rule:
    name: WINRM-HTTPS-In-TCP-Mgmt
    state: absent

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
  description:
    - The changed settings, as C(<rule>.<setting>); a rule created or deleted is C(<rule>.state).
  returned: always
  type: list
  elements: str
  sample: ["WINRM-HTTP-In-TCP-PUBLIC.remote_addresses"]
before:
  description: The selected rules before the task, by name (a rule the task creates is not in it).
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
      description: Inbound rule for Windows Remote Management via WS-Management. [TCP 5985]
after:
  description:
    - The selected rules after the task, or as a real run would leave them in check mode, by name
      (a rule the task deletes is not in it).
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
    - Every WinRM firewall rule of the host (both WinRM groups, and every inbound TCP rule for
      port 5985, 5986, 80 or 443) plus the selected rules, as they are after the task. Same keys
      as RV(before).
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
