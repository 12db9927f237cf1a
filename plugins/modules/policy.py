#!/usr/bin/python
# Copyright (c) 2026 wsman.winrm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# The implementation is the action plugin plugins/action/policy.py; it runs on the controller.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: policy
short_description: Manage the WinRM Group Policy values over WS-Management (WMI StdRegProv)
version_added: 0.1.0
description:
  - Writes or removes the registry values the WinRM Group Policy settings store
    (C(HKLM\SOFTWARE\Policies\Microsoft\Windows\WinRM\Client), C(...\Service),
    C(...\Service\WinRS)) and C(LocalAccountTokenFilterPolicy), through WMI C(StdRegProv) over the
    same WS-Management session as every module of the collection; no PowerShell runs on the host.
  - A setting under policy wins over the local WinRM configuration. Windows then reports it with
    C(Source="GPO") and refuses to change it through C(winrm/config) (fault 2150858890); the other
    modules of the collection fail or skip such settings and point here. Removing the value
    (V(absent), "Not Configured") gives control back to the local configuration.
  - These are the values a scanner checks for the STIG and CIS WinRM controls (client and service
    Basic, unencrypted traffic, Digest, RunAs).
  - These are the local values. A domain Group Policy Object that configures the same setting
    writes its own value back at its next refresh; manage such settings in the GPO itself.
  - The option names are the registry value names in snake_case (C(AllowUnencryptedTraffic) ->
    C(allow_unencrypted_traffic)); a switch and its value share one option (C(TrustedHosts) and
    C(TrustedHostsList) -> O(client.trusted_hosts), C(CBTHardeningLevelStatus) and
    C(CbtHardeningLevel) -> O(service.cbt_hardening_level)).
  - An option left out (or null) is not managed. Every value is checked before anything is sent,
    with an error naming the option.
  - O(policy_controlled) has no effect here (this module writes the policy values themselves); it
    is accepted like in every module that changes WinRM.
author:
  - wsman.winrm contributors (@wsman)
extends_documentation_fragment:
  - wsman.winrm.change
options:
  client:
    description:
      - The WinRM client policy values, under C(HKLM\SOFTWARE\Policies\Microsoft\Windows\WinRM\Client).
    type: dict
    suboptions:
      allow_basic:
        description:
          - The policy 'Allow Basic authentication' of the client; writes C(AllowBasic).
          - V(true) writes 1, V(false) writes 0 (1/0 and yes/no are accepted too); V(absent) removes
            the value (Not Configured).
          - Windows then reports C(client.auth.basic) with C(Source="GPO").
        type: raw
      allow_digest:
        description:
          - The policy 'Disallow Digest authentication' (V(false) = that policy Enabled); writes
            C(AllowDigest).
          - V(true) writes 1, V(false) writes 0 (1/0 and yes/no are accepted too); V(absent) removes
            the value (Not Configured).
          - Windows then reports C(client.auth.digest) with C(Source="GPO").
        type: raw
      allow_kerberos:
        description:
          - The client policy 'Disallow Kerberos authentication' (V(false) = that policy Enabled);
            writes C(AllowKerberos).
          - V(true) writes 1, V(false) writes 0 (1/0 and yes/no are accepted too); V(absent) removes
            the value (Not Configured).
          - Windows then reports C(client.auth.kerberos) with C(Source="GPO").
        type: raw
      allow_negotiate:
        description:
          - The client policy 'Disallow Negotiate authentication' (V(false) = that policy Enabled);
            writes C(AllowNegotiate).
          - V(true) writes 1, V(false) writes 0 (1/0 and yes/no are accepted too); V(absent) removes
            the value (Not Configured).
          - Windows then reports C(client.auth.negotiate) with C(Source="GPO").
        type: raw
      allow_credssp:
        description:
          - The policy 'Allow CredSSP authentication' of the client; writes C(AllowCredSSP).
          - V(true) writes 1, V(false) writes 0 (1/0 and yes/no are accepted too); V(absent) removes
            the value (Not Configured).
          - Windows then reports C(client.auth.credssp) with C(Source="GPO").
        type: raw
      allow_unencrypted_traffic:
        description:
          - The policy 'Allow unencrypted traffic' of the client; writes C(AllowUnencryptedTraffic).
          - V(true) writes 1, V(false) writes 0 (1/0 and yes/no are accepted too); V(absent) removes
            the value (Not Configured).
          - Windows then reports C(client.allow_unencrypted) with C(Source="GPO").
        type: raw
      trusted_hosts:
        description:
          - The policy 'Trusted Hosts'; writes C(TrustedHosts) and C(TrustedHostsList).
          - A list of hosts (or one comma-separated string), written as C(TrustedHostsList) with
            C(TrustedHosts=1); V(absent) removes both (Not Configured).
          - Windows then reports C(client.trusted_hosts) with C(Source="GPO").
        type: raw
  service:
    description:
      - The WinRM service policy values, under C(HKLM\SOFTWARE\Policies\Microsoft\Windows\WinRM\Service).
    type: dict
    suboptions:
      allow_auto_config:
        description:
          - The policy 'Allow remote server management through WinRM'; writes C(AllowAutoConfig).
          - V(true) writes 1, V(false) writes 0 (1/0 and yes/no are accepted too); V(absent) removes
            the value (Not Configured).
          - Enabled, Windows listens on the default HTTP port through a listener of its own
            (C(Source="GPO")) on the addresses O(service.ipv4_filter) and O(service.ipv6_filter)
            allow; a filter left out is empty and the service listens on no address of that family.
          - V(false) (CIS 18.10.89.2.2, level 2) stops the service answering remote requests, this
            module's included. It is refused unless O(force=true); a host managed over WinRM records
            that control as a deliberate deviation instead.
        type: raw
      ipv4_filter:
        description:
          - The IPv4 filter of the policy 'Allow remote server management through WinRM'; writes
            C(IPv4Filter).
          - V(*) (every address; other ranges are then ignored), empty (none), or IPv4 addresses
            and ranges C(first-last) separated by commas, e.g. C(10.0.0.1-10.0.0.20, 192.168.1.5). Anything else is refused before sending
            (Windows would read it as empty).
          - Only with O(service.allow_auto_config=true) in the same task; V(absent) removes the value.
          - Windows then reports C(service.ipv4_filter) with C(Source="GPO").
        type: raw
      ipv6_filter:
        description:
          - The IPv6 filter of the policy 'Allow remote server management through WinRM'; writes
            C(IPv6Filter).
          - V(*) (every address; other ranges are then ignored), empty (none), or IPv6 addresses
            and ranges C(first-last) separated by commas, e.g. C(2001:db8::1-2001:db8::ff). Anything else is refused before sending
            (Windows would read it as empty).
          - Only with O(service.allow_auto_config=true) in the same task; V(absent) removes the value.
          - Windows then reports C(service.ipv6_filter) with C(Source="GPO").
        type: raw
      allow_basic:
        description:
          - The policy 'Allow Basic authentication' of the service; writes C(AllowBasic).
          - V(true) writes 1, V(false) writes 0 (1/0 and yes/no are accepted too); V(absent) removes
            the value (Not Configured).
          - Windows then reports C(service.auth.basic) with C(Source="GPO").
        type: raw
      allow_kerberos:
        description:
          - The service policy 'Disallow Kerberos authentication' (V(false) = that policy Enabled);
            writes C(AllowKerberos).
          - V(true) writes 1, V(false) writes 0 (1/0 and yes/no are accepted too); V(absent) removes
            the value (Not Configured).
          - Windows then reports C(service.auth.kerberos) with C(Source="GPO").
        type: raw
      allow_negotiate:
        description:
          - The service policy 'Disallow Negotiate authentication' (V(false) = that policy Enabled);
            writes C(AllowNegotiate).
          - V(true) writes 1, V(false) writes 0 (1/0 and yes/no are accepted too); V(absent) removes
            the value (Not Configured).
          - Windows then reports C(service.auth.negotiate) with C(Source="GPO").
        type: raw
      allow_credssp:
        description:
          - The policy 'Allow CredSSP authentication' of the service; writes C(AllowCredSSP).
          - V(true) writes 1, V(false) writes 0 (1/0 and yes/no are accepted too); V(absent) removes
            the value (Not Configured).
          - Windows then reports C(service.auth.credssp) with C(Source="GPO").
        type: raw
      allow_unencrypted_traffic:
        description:
          - The policy 'Allow unencrypted traffic' of the service; writes
            C(AllowUnencryptedTraffic).
          - V(true) writes 1, V(false) writes 0 (1/0 and yes/no are accepted too); V(absent) removes
            the value (Not Configured).
          - Windows then reports C(service.allow_unencrypted) with C(Source="GPO").
        type: raw
      cbt_hardening_level:
        description:
          - The policy 'Specify channel binding token hardening level'; writes
            C(CBTHardeningLevelStatus) and C(CbtHardeningLevel).
          - One of V(None), V(Relaxed), V(Strict) (any case), written as C(CbtHardeningLevel) with
            C(CBTHardeningLevelStatus=1); V(absent) removes both (Not Configured).
          - Windows then reports C(service.auth.cbt_hardening_level) with C(Source="GPO").
        type: raw
      http_compatibility_listener:
        description:
          - The policy 'Turn On Compatibility HTTP Listener'; writes C(HttpCompatibilityListener).
          - V(true) writes 1, V(false) writes 0 (1/0 and yes/no are accepted too); V(absent) removes
            the value (Not Configured).
          - Windows then reports C(service.enable_compatibility_http_listener) with C(Source="GPO").
        type: raw
      https_compatibility_listener:
        description:
          - The policy 'Turn On Compatibility HTTPS Listener'; writes C(HttpsCompatibilityListener).
          - V(true) writes 1, V(false) writes 0 (1/0 and yes/no are accepted too); V(absent) removes
            the value (Not Configured).
          - Windows then reports C(service.enable_compatibility_https_listener) with
            C(Source="GPO").
        type: raw
      disable_run_as:
        description:
          - The policy 'Disallow WinRM from storing RunAs credentials'; writes C(DisableRunAs).
          - V(true) writes 1, V(false) writes 0 (1/0 and yes/no are accepted too); V(absent) removes
            the value (Not Configured).
        type: raw
  winrs:
    description:
      - The Windows Remote Shell policy values, under
        C(HKLM\SOFTWARE\Policies\Microsoft\Windows\WinRM\Service\WinRS).
    type: dict
    suboptions:
      allow_remote_shell_access:
        description:
          - The policy 'Allow Remote Shell Access'; writes C(AllowRemoteShellAccess).
          - V(true) writes 1, V(false) writes 0 (1/0 and yes/no are accepted too); V(absent) removes
            the value (Not Configured).
          - V(false) (CIS 18.10.90.1, level 2) refuses every remote shell. WS-Management
            configuration requests (this collection) still work, but C(ansible.builtin.winrm) and
            C(ansible.builtin.psrp) run every task in a remote shell, so it is refused unless
            O(force=true).
          - Windows then reports C(winrs.allow_remote_shell_access) with C(Source="GPO").
        type: raw
      idle_timeout:
        description:
          - Writes C(IdleTimeout).
          - A whole number (DWORD), written as it is; V(absent) removes the value (Not Configured).
          - Windows then reports C(winrs.idle_timeout) with C(Source="GPO").
        type: raw
      max_concurrent_users:
        description:
          - Writes C(MaxConcurrentUsers).
          - A whole number (DWORD), written as it is; V(absent) removes the value (Not Configured).
          - Windows then reports C(winrs.max_concurrent_users) with C(Source="GPO").
        type: raw
      max_processes_per_shell:
        description:
          - Writes C(MaxProcessesPerShell).
          - A whole number (DWORD), written as it is; V(absent) removes the value (Not Configured).
          - Windows then reports C(winrs.max_processes_per_shell) with C(Source="GPO").
        type: raw
      max_memory_per_shell_mb:
        description:
          - Writes C(MaxMemoryPerShellMB).
          - A whole number (DWORD), written as it is; V(absent) removes the value (Not Configured).
          - Windows then reports C(winrs.max_memory_per_shell_mb) with C(Source="GPO").
        type: raw
      max_shells_per_user:
        description:
          - Writes C(MaxShellsPerUser).
          - A whole number (DWORD), written as it is; V(absent) removes the value (Not Configured).
          - Windows then reports C(winrs.max_shells_per_user) with C(Source="GPO").
        type: raw
  local_account_token_filter_policy:
    description:
      - Writes C(LocalAccountTokenFilterPolicy) under
        C(HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System) (UAC remote restrictions).
      - V(true) (1) gives local administrators other than the built-in Administrator a full token over
        the network, so they can use WinRM; V(false) (0, STIG WN22-MS-000020 and CIS 18.4.1 on domain
        members) filters it.
      - V(true) writes 1, V(false) writes 0 (1/0 and yes/no are accepted too); V(absent) removes the
        value (Not Configured).
    type: raw
  state:
    description:
      - V(present) writes every value the task gives (V(absent) as a value removes that one).
      - V(absent) removes every value the task names, whatever value it is given ("Not
        Configured"); for a switch and its value, both.
    type: str
    choices: [present, absent]
    default: present
  force:
    description:
      - Write O(service.allow_auto_config=false) or O(winrs.allow_remote_shell_access=false), the CIS
        level 2 values that cut remote management; refused without it.
      - Apply values that would cut the connection this task uses (for example
        O(service.allow_negotiate=false) while the task authenticates with NTLM, or a filter that
        leaves out the address it connects to); refused without it.
      - Removing a value is never refused; the local setting it gives back cannot be read while the
        policy is set, so check it first with M(wsman.winrm.info) if in doubt.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description: Reads the values and predicts exactly the values a real run writes or removes.
  diff_mode:
    support: full
    description: Shows each value the task touches before and after (null = Not Configured).
notes:
  - Each value is a CreateKey and a Set<Type>Value (or one DeleteValue) request. When one fails,
    the values written before it in the same task are put back, and the task fails.
  - The simulator the collection is tested against applies a written value at once. Whether the
    WinRM service of a real host applies a value written outside Group Policy processing at once or
    only at its next policy refresh was not verified; if RV(policy) shows the value but the setting
    does not show C(Source="GPO"), refresh policy (C(gpupdate)) or restart the WinRM service.
  - Value names and meanings come from WindowsRemoteManagement.admx as published in Microsoft's
    Policy CSP RemoteManagement reference; the collection keeps them in one table
    (resources.POLICY_SETTINGS) from which these options are derived.
seealso:
  - module: wsman.winrm.info
    description: Reads the configured policy values and the settings marked C(Source="GPO").
  - name: Policy CSP - RemoteManagement
    description: The WinRM policies and their registry values.
    link: https://learn.microsoft.com/windows/client-management/mdm/policy-csp-remotemanagement
"""

EXAMPLES = r"""
- name: STIG/CIS level 1 WinRM values (client and service Basic, unencrypted traffic, Digest, RunAs)
  wsman.winrm.policy:
    client:
      allow_basic: false
      allow_unencrypted_traffic: false
      allow_digest: false
    service:
      allow_basic: false
      allow_unencrypted_traffic: false
      disable_run_as: true

- name: Trusted hosts and channel binding through policy
  wsman.winrm.policy:
    client:
      trusted_hosts: [web01.example.com, "*.mgmt.example.com"]
    service:
      cbt_hardening_level: strict

# management_ipv4_range, in the inventory: e.g. 10.20.0.1-10.20.0.254 (the address this task
# connects to must be in it).
- name: Listen through policy on the management network only
  wsman.winrm.policy:
    service:
      allow_auto_config: true
      ipv4_filter: "{{ management_ipv4_range }}"
      ipv6_filter: ""

- name: Hand one setting back to the local configuration (Not Configured), set another
  wsman.winrm.policy:
    client:
      trusted_hosts: absent
      allow_credssp: false

- name: Remove the values this collection wrote (Not Configured)
  wsman.winrm.policy:
    state: absent
    service:
      allow_basic: absent
      allow_unencrypted_traffic: absent
    local_account_token_filter_policy: absent
"""

RETURN = r"""
http_sys_missing:
  description:
    - When the task enables "Turn On Compatibility HTTP (HTTPS) Listener", what HTTP.sys lacks for
      that listener (the URL reservation, and for HTTPS the certificate bound to port 443), read
      through WMI StdRegProv under C(HKLM\SYSTEM\CurrentControlSet\Services\HTTP\Parameters). An
      administrator who enables these policies directly must configure those too (Microsoft, "Details
      on secure port configuration for WS-Management in Windows 7 and Windows Server 2008 R2"). Each
      entry is also a warning.
  returned: when a compatibility listener policy is enabled
  type: list
  elements: str
  sample: ["no HTTP.sys URL reservation for http://+:80/wsman/ (netsh http show urlacl; HKLM\\...\\UrlAclInfo)"]
policy:
  description:
    - Every configured WinRM policy value after the task, as M(wsman.winrm.info) returns them
      (registry path, value name, type, value, the settings it controls). In check mode, the
      predicted values.
  returned: always
  type: list
  elements: dict
  sample:
    - {path: "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\WinRM\\Service", name: AllowBasic, type: DWORD,
       value: 0, controls: [service.auth.basic], note: ""}
before:
  description: Every configured WinRM policy value before the task, in the same form as RV(policy).
  returned: always
  type: list
  elements: dict
changes:
  description: The values written or removed (or that would be, in check mode), as registry paths.
  returned: always
  type: list
  elements: str
  sample: ["HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\WinRM\\Service\\AllowBasic"]
diff:
  description: The values the task touches, before and after (null = Not Configured), in diff mode.
  returned: when diff mode is on
  type: dict
"""
