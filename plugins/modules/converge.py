#!/usr/bin/python
# Copyright (c) 2026 wsman.winrm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# The implementation is the action plugin plugins/action/converge.py; it runs on the controller.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: converge
short_description: Bring the whole WinRM configuration of a Windows host to a desired state in one task
version_added: 0.2.0
description:
  - One task for everything the other modules of the collection do one part at a time - the service
    and client settings with their authentication switches, the compatibility listeners, the Group
    Policy values, and the move to HTTPS - with one WS-Management session and one read of the host
    (one Get of C(winrm/config), one Enumerate of the listeners, the policy values).
  - Each part takes the options of the module that manages it alone (M(wsman.winrm.service),
    M(wsman.winrm.client), M(wsman.winrm.auth), M(wsman.winrm.compat_listener),
    M(wsman.winrm.policy)); an option left out is left as it is.
  - The changes go in Windows' safe order - the policy values first (a setting they then hold needs no
    local change), the settings in one partial Put, the HTTPS listener, a proof that the host answers
    through the HTTPS listener with the task's credentials (a second session), and only then the
    removal of the HTTP listeners, through that second session.
  - Every change has its undo. When anything fails, the changes already made are put back in reverse
    order (after a lost or garbled reply the host is read back first, so what it holds is known) and
    the task fails saying what the host holds (RV(host_state)).
  - In check mode the same plan is the prediction, exactly what a real run changes. With O(controls)
    the controls of the secure baseline (STIG, CIS benchmark and Microsoft guidance) are judged on the
    state before, the state after and the predicted state - an audit is this module in check mode.
  - Group Policy is never fought by default - a policy value configured otherwise is left as it is and
    reported in RV(policy_conflicts), and the settings it holds are refused or skipped per
    O(policy_controlled).
author:
  - wsman.winrm contributors (@wsman)
extends_documentation_fragment:
  - wsman.winrm.change
options:
  service:
    description:
    - The WinRM service settings, as M(wsman.winrm.service) takes them, and its authentication switches under O(service.auth).
    type: dict
    suboptions:
      allow_unencrypted:
        description:
        - As O(wsman.winrm.service#module:allow_unencrypted).
        type: bool
      ipv4_filter:
        description:
        - As O(wsman.winrm.service#module:ipv4_filter).
        type: str
      ipv6_filter:
        description:
        - As O(wsman.winrm.service#module:ipv6_filter).
        type: str
      root_sddl:
        description:
        - As O(wsman.winrm.service#module:root_sddl).
        type: str
      certificate_thumbprint:
        description:
        - As O(wsman.winrm.service#module:certificate_thumbprint).
        type: str
      allow_remote_access:
        description:
        - As O(wsman.winrm.service#module:allow_remote_access).
        type: bool
      default_ports:
        description:
        - As O(wsman.winrm.service#module:default_ports).
        type: dict
        suboptions:
          http:
            description:
            - As O(wsman.winrm.service#module:default_ports.http).
            type: int
          https:
            description:
            - As O(wsman.winrm.service#module:default_ports.https).
            type: int
      max_connections:
        description:
        - As O(wsman.winrm.service#module:max_connections).
        type: int
      max_concurrent_operations_per_user:
        description:
        - As O(wsman.winrm.service#module:max_concurrent_operations_per_user).
        type: int
      enumeration_timeout_ms:
        description:
        - As O(wsman.winrm.service#module:enumeration_timeout_ms).
        type: int
      max_packet_retrieval_time_seconds:
        description:
        - As O(wsman.winrm.service#module:max_packet_retrieval_time_seconds).
        type: int
      auth:
        description:
        - The service authentication switches, as M(wsman.winrm.auth) with O(wsman.winrm.auth#module:scope=service)
          takes them.
        type: dict
        suboptions:
          basic: &id001
            description:
            - As O(wsman.winrm.auth#module:basic).
            type: bool
          kerberos: &id002
            description:
            - As O(wsman.winrm.auth#module:kerberos).
            type: bool
          negotiate: &id003
            description:
            - As O(wsman.winrm.auth#module:negotiate).
            type: bool
          certificate: &id004
            description:
            - As O(wsman.winrm.auth#module:certificate).
            type: bool
          credssp: &id005
            description:
            - As O(wsman.winrm.auth#module:credssp).
            type: bool
          cbt_hardening_level:
            description:
            - As O(wsman.winrm.auth#module:cbt_hardening_level).
            type: str
  client:
    description:
    - The WinRM client settings, as M(wsman.winrm.client) takes them, and its authentication switches under O(client.auth).
    type: dict
    suboptions:
      allow_unencrypted:
        description:
        - As O(wsman.winrm.client#module:allow_unencrypted).
        type: bool
      default_ports:
        description:
        - As O(wsman.winrm.client#module:default_ports).
        type: dict
        suboptions:
          http:
            description:
            - As O(wsman.winrm.client#module:default_ports.http).
            type: int
          https:
            description:
            - As O(wsman.winrm.client#module:default_ports.https).
            type: int
      network_delay_ms:
        description:
        - As O(wsman.winrm.client#module:network_delay_ms).
        type: int
      url_prefix:
        description:
        - As O(wsman.winrm.client#module:url_prefix).
        type: str
      trusted_hosts:
        description:
        - As O(wsman.winrm.client#module:trusted_hosts).
        type: list
        elements: str
      trusted_hosts_mode:
        description:
        - As O(wsman.winrm.client#module:trusted_hosts_mode).
        type: str
        choices:
        - set
        - add
        - remove
        default: set
      auth:
        description:
        - The client authentication switches, as M(wsman.winrm.auth) with O(wsman.winrm.auth#module:scope=client)
          takes them.
        type: dict
        suboptions:
          basic: *id001
          digest:
            description:
            - As O(wsman.winrm.auth#module:digest).
            type: bool
          kerberos: *id002
          negotiate: *id003
          certificate: *id004
          credssp: *id005
  compatibility_listeners:
    description:
    - The compatibility listeners on ports 80 and 443, as M(wsman.winrm.compat_listener) takes them.
    type: dict
    suboptions:
      http:
        description:
        - As O(wsman.winrm.compat_listener#module:http).
        type: bool
      https:
        description:
        - As O(wsman.winrm.compat_listener#module:https).
        type: bool
  policy:
    description:
    - The WinRM Group Policy values, as M(wsman.winrm.policy) takes them (without its O(wsman.winrm.policy#module:state);
      V(absent) removes a value).
    - Written first, so the settings they hold need no local change; see O(policy_conflicts).
    type: dict
    suboptions:
      client:
        description:
        - As O(wsman.winrm.policy#module:client).
        type: dict
        suboptions:
          allow_basic:
            description:
            - As O(wsman.winrm.policy#module:client.allow_basic).
            type: raw
          allow_digest:
            description:
            - As O(wsman.winrm.policy#module:client.allow_digest).
            type: raw
          allow_kerberos:
            description:
            - As O(wsman.winrm.policy#module:client.allow_kerberos).
            type: raw
          allow_negotiate:
            description:
            - As O(wsman.winrm.policy#module:client.allow_negotiate).
            type: raw
          allow_credssp:
            description:
            - As O(wsman.winrm.policy#module:client.allow_credssp).
            type: raw
          allow_unencrypted_traffic:
            description:
            - As O(wsman.winrm.policy#module:client.allow_unencrypted_traffic).
            type: raw
          trusted_hosts:
            description:
            - As O(wsman.winrm.policy#module:client.trusted_hosts).
            type: raw
      service:
        description:
        - As O(wsman.winrm.policy#module:service).
        type: dict
        suboptions:
          allow_auto_config:
            description:
            - As O(wsman.winrm.policy#module:service.allow_auto_config).
            type: raw
          ipv4_filter:
            description:
            - As O(wsman.winrm.policy#module:service.ipv4_filter).
            type: raw
          ipv6_filter:
            description:
            - As O(wsman.winrm.policy#module:service.ipv6_filter).
            type: raw
          allow_basic:
            description:
            - As O(wsman.winrm.policy#module:service.allow_basic).
            type: raw
          allow_kerberos:
            description:
            - As O(wsman.winrm.policy#module:service.allow_kerberos).
            type: raw
          allow_negotiate:
            description:
            - As O(wsman.winrm.policy#module:service.allow_negotiate).
            type: raw
          allow_credssp:
            description:
            - As O(wsman.winrm.policy#module:service.allow_credssp).
            type: raw
          allow_unencrypted_traffic:
            description:
            - As O(wsman.winrm.policy#module:service.allow_unencrypted_traffic).
            type: raw
          cbt_hardening_level:
            description:
            - As O(wsman.winrm.policy#module:service.cbt_hardening_level).
            type: raw
          http_compatibility_listener:
            description:
            - As O(wsman.winrm.policy#module:service.http_compatibility_listener).
            type: raw
          https_compatibility_listener:
            description:
            - As O(wsman.winrm.policy#module:service.https_compatibility_listener).
            type: raw
          disable_run_as:
            description:
            - As O(wsman.winrm.policy#module:service.disable_run_as).
            type: raw
      winrs:
        description:
        - As O(wsman.winrm.policy#module:winrs).
        type: dict
        suboptions:
          allow_remote_shell_access:
            description:
            - As O(wsman.winrm.policy#module:winrs.allow_remote_shell_access).
            type: raw
          idle_timeout:
            description:
            - As O(wsman.winrm.policy#module:winrs.idle_timeout).
            type: raw
          max_concurrent_users:
            description:
            - As O(wsman.winrm.policy#module:winrs.max_concurrent_users).
            type: raw
          max_processes_per_shell:
            description:
            - As O(wsman.winrm.policy#module:winrs.max_processes_per_shell).
            type: raw
          max_memory_per_shell_mb:
            description:
            - As O(wsman.winrm.policy#module:winrs.max_memory_per_shell_mb).
            type: raw
          max_shells_per_user:
            description:
            - As O(wsman.winrm.policy#module:winrs.max_shells_per_user).
            type: raw
      local_account_token_filter_policy:
        description:
        - As O(wsman.winrm.policy#module:local_account_token_filter_policy).
        type: raw
  policy_conflicts:
    description:
      - What to do with a policy value of O(policy) that the host already has configured at another value
        (someone's Group Policy; a domain GPO writes it back at the next refresh).
      - V(keep) leaves it, reports it in RV(policy_conflicts) with the Group Policy setting that sets it and
        where to change it, and treats the settings it holds as held by Group Policy.
      - V(override) writes the value of O(policy) all the same.
    type: str
    choices: [keep, override]
    default: keep
  https:
    description:
      - Move the host to HTTPS without locking the controller out - the port opened in Windows Firewall
        (O(https.firewall)), an HTTPS listener on O(https.port)
        (created, or the listener with the same address changed in place, its certificate kept unless
        O(https.certificate_thumbprint) is given), proven by reading the host through it, then with
        O(https.remove_http=true) the HTTP listeners removed through that HTTPS session.
      - When the task's own connection is the HTTPS listener already, nothing needs proving.
      - A host an earlier run moved (no HTTP listener left to answer the inventory's endpoint) is read and
        managed through the HTTPS listener when O(https.remove_http=true).
      - With O(https.certificate=auto) the listener's certificate is chosen from the host's store, and kept
        current on every run, as M(wsman.winrm.listener) does with O(wsman.winrm.listener#module:certificate=auto);
        the choice is in RV(certificate). Only a certificate the controller accepts when it connects for the
        proof qualifies - its host name or address (the inventory's, e.g. the FQDN of a domain member) in the
        subject alternative names, issued by a CA in its CA bundle, the pinned fingerprint when one is set.
    type: dict
    suboptions:
      port:
        description: Port of the HTTPS listener.
        type: int
        default: 5986
      connection_port:
        description: The port the controller reaches the HTTPS listener on, when it differs (NAT, port mapping).
        type: int
      address:
        description: Address of the HTTPS listener (C(*), C(IP:<address>) or C(MAC:<address>)).
        type: str
        default: "*"
      certificate_thumbprint:
        description:
          - SHA-1 thumbprint of the server certificate (machine store). Left out, a new listener gets the
            certificate Windows picks and an existing one keeps its own.
        type: str
      hostname:
        description: Host name of the HTTPS listener (the certificate's CN). Left out, it is left to Windows.
        type: str
      remove_http:
        description: Remove the HTTP listeners (not the compatibility one) once HTTPS is proven.
        type: bool
        default: false
      certificate:
        description:
          - As O(wsman.winrm.listener#module:certificate). Mutually exclusive with O(https.certificate_thumbprint).
        type: str
        choices: [auto]
      certificate_criteria:
        description:
          - As O(wsman.winrm.listener#module:certificate_criteria).
        type: dict
        suboptions:
          hostname:
            description:
              - As O(wsman.winrm.listener#module:certificate_criteria.hostname).
            type: str
          issuer:
            description:
              - As O(wsman.winrm.listener#module:certificate_criteria.issuer).
            type: str
          template:
            description:
              - As O(wsman.winrm.listener#module:certificate_criteria.template).
            type: str
          min_days_left:
            description:
              - As O(wsman.winrm.listener#module:certificate_criteria.min_days_left).
            type: int
            default: 0
      renew_within_days:
        description:
          - As O(wsman.winrm.listener#module:renew_within_days).
        type: int
        default: 30
      firewall:
        description:
          - Open O(https.port) in Windows Firewall before the listener, as M(wsman.winrm.firewall_rule)
            would - no rule Windows ships admits 5986. Creates (or brings to the wanted scope)
            C(WINRM-HTTPS-In-TCP) (Domain and Private profiles) and C(WINRM-HTTPS-In-TCP-PUBLIC)
            (Public profile) in the group "Windows Remote Management"; a rollback deletes them again.
          - Reads the host's firewall rules (three more Enumerates). V(false) leaves the firewall as it is.
        type: bool
        default: true
      firewall_remote_addresses:
        description:
          - The remote addresses both rules admit. Left out, the scope Windows gives port 5985 - Domain and
            Private from any address, Public from C(LocalSubnet) only (Microsoft Learn, "Security
            Considerations for PowerShell Remoting using WinRM").
        type: list
        elements: str
  controls:
    description:
      - Judge the secure-baseline controls (the catalog the P(wsman.winrm.compliance#filter) filter uses) on the state
        before, after and as predicted; the results are in RV(compliance).
    type: dict
    suboptions:
      profile:
        description:
          - The baseline profile the controls are judged for.
          - C(auto) takes the profile that reaches the best security verdict for the host's situation, from its
            domain membership (C(Win32_ComputerSystem) over WMI) - C(domain_kerberos) on a domain member,
            C(workgroup_https) elsewhere; RV(verdict) says which and why.
        type: str
        choices: [domain_kerberos, workgroup_https, certificate_only, auto]
        default: domain_kerberos
      benchmark:
        description: The CIS benchmark version whose ids the results name (the catalog's default when left out).
        type: str
      stig:
        description:
          - The DISA STIG whose ids the results name (C(win10), C(win11), C(ws2016), C(ws2019), C(ws2022), C(ws2025)).
          - C(auto) chooses it from the host's Windows version and domain role, read over WMI
            (C(Win32_OperatingSystem), C(Win32_ComputerSystem); two requests); RV(stig) says which and why.
          - Left out, the catalog's default (C(ws2022)).
        type: str
      deviations:
        description: "Deliberate deviations, C({control id, CIS or STIG id: reason}); reported as C(deviation)."
        type: dict
        default: {}
      allowed_sddl_trustees:
        description: SIDs or SDDL aliases RootSDDL may grant besides Administrators.
        type: list
        elements: str
        default: []
      certificate_expiry_days:
        description:
          - A listener certificate with this many days left or fewer fails the control
            C(listener_certificate_expiry). The listener certificate controls need the certificate
            stores, which the task then reads (a request per certificate).
        type: int
        default: 30
  report:
    description:
      - Write this host's compliance report on the controller - C(<dir>/<host>.json), C(.md), C(.html) and C(.xml)
        (JUnit) - in check mode too (an audit). M(wsman.winrm.compliance_report) makes the run's report of them.
      - Needs O(controls).
    type: dict
    suboptions:
      dir:
        description: The folder (created when missing).
        type: path
        required: true
      title:
        description: Title of the Markdown report.
        type: str
      html_template:
        description:
          - A Jinja template for the HTML report instead of the collection's (copy
            C(plugins/plugin_utils/templates/compliance_report.html.j2) from the installed collection; values are
            escaped as HTML).
        type: path
      markdown_template:
        description:
          - A Jinja template for the Markdown report instead of the collection's (copy
            C(plugins/plugin_utils/templates/compliance_report.md.j2) from the installed collection and change it).
        type: path
      labels:
        description: Extra keys for the JSON report (for example the role and its version).
        type: dict
        default: {}
  fail_on_noncompliance:
    description:
      - Fail the task when a control of O(controls) still fails after a real run (the reports are written
        first). Never in check mode.
    type: bool
    default: false
  baseline:
    description:
      - Build the desired state from the variables of the role C(wsman.winrm.secure_baseline) (C(secure_baseline_*),
        documented by the role), the way the role runs this module. Options given beside it win over it.
    type: str
    choices: [secure_baseline]
  details:
    description:
      - Return the configuration before, after and as predicted (RV(before), RV(after), RV(predicted)) and every
        control result in RV(compliance). Without it the result carries the counts and the failing controls only,
        which keeps a run over thousands of hosts light; the report files always hold everything.
    type: bool
    default: false
seealso:
  - module: wsman.winrm.info
  - module: wsman.winrm.compliance_report
  - name: Installation and configuration for Windows Remote Management
    description: The configuration tree this module changes.
    link: https://learn.microsoft.com/windows/win32/winrm/installation-and-configuration-for-windows-remote-management
"""

EXAMPLES = r"""
- name: Audit and secure WinRM in one task (run with --check to audit)
  wsman.winrm.converge:
    service:
      allow_unencrypted: false
      auth:
        basic: false
        credssp: false
        cbt_hardening_level: Strict
    client:
      allow_unencrypted: false
      trusted_hosts: ["*"]
      trusted_hosts_mode: remove
      auth:
        basic: false
        digest: false
    compatibility_listeners:
      http: false
      https: false
    policy:
      client:
        allow_basic: false
        allow_unencrypted_traffic: false
        allow_digest: false
      service:
        allow_basic: false
        allow_unencrypted_traffic: false
        disable_run_as: true
    https:
      port: 5986
      remove_http: true
    controls:
      profile: workgroup_https
    report:
      dir: "{{ lookup('env', 'PWD') }}/compliance"
    details: true   # before, after and predicted in the result (a large fleet leaves them out)
  register: winrm

- name: Show what the host holds
  ansible.builtin.debug:
    msg: "{{ winrm.changed_steps }} -> {{ winrm.endpoint.url }}"
"""

RETURN = r"""
changed_steps:
  description: The parts that change (or would, in check mode), e.g. C(policy values), C(service auth), C(HTTPS listener).
  returned: always
  type: list
  elements: str
steps:
  description: The requests that change the host, in the order they are sent, each with what it changes.
  returned: always
  type: list
  elements: dict
before:
  description: The host's configuration before the task, in the shape of M(wsman.winrm.info)'s result.
  returned: with O(details=true)
  type: dict
after:
  description:
    - What the host holds after the task, read back (in check mode and when nothing changed, the state before).
    - After a failure, the state before when every change was put back, else null.
  returned: with O(details=true)
  type: dict
predicted:
  description: The configuration the plan leads to (what check mode predicts).
  returned: with O(details=true)
  type: dict
policy_conflicts:
  description:
    - Policy values of O(policy) configured at another value and left as they are (O(policy_conflicts=keep)),
      each with the registry value, the Group Policy setting, where it is in the Group Policy editor, the
      configured and the wanted value.
  returned: always
  type: list
  elements: dict
policy_skipped:
  description: Settings left as Group Policy holds them (O(policy_controlled=skip)).
  returned: when Group Policy holds a wanted setting
  type: list
  elements: str
endpoint:
  description: The endpoint the task ended on (the HTTPS one after the move); no secrets.
  returned: always
  type: dict
endpoint_changed:
  description:
    - Whether that endpoint differs from the host's connection variables. When it does, the task sets the facts
      C(wsman_winrm_scheme), C(wsman_winrm_port) and C(wsman_winrm_connection_uri), which the collection's modules
      and its connection plugin follow for the rest of the play; a play that goes on with
      C(ansible.builtin.winrm) or C(ansible.builtin.psrp) sets C(ansible_port) and the scheme itself.
  returned: always
  type: bool
host_state:
  description:
    - After a real run that sent changes, what the host holds - C(after) (everything applied), or after a failure
      C(before) (everything put back), C(partial) or C(unknown) (the message says what to check).
  returned: when changes were sent
  type: str
rolled_back:
  description: The steps put back after a failure, in the order they were put back.
  returned: on failure
  type: list
  elements: str
compliance:
  description:
    - The controls judged on the state before, after and as predicted - for each, the counts per status and the
      C(failing) control ids; with O(details=true) every control result (id, references, expected, actual,
      status, reason, evidence, the C(setting) as an admin knows it and the C(fix)).
  returned: when O(controls) is given
  type: dict
stig:
  description:
    - The STIG the controls name - C(version), C(title), C(release), the host's C(role) (workstation, member_server,
      domain_controller; none when not read), C(source) (pinned, detected or default) and the C(reason).
  returned: when O(controls) is given
  type: dict
verdict:
  description:
    - The host's security verdict (Microsoft Learn, "PowerShell Remoting Security Considerations") on the state
      C(before), C(after) and C(predicted), each with C(verdict) and its C(summary); C(profile) is the profile the
      controls were judged for and C(profile_reason) why C(auto) chose it (null when the profile was given).
    - The evidence and what to change are in the control C(security_verdict) of RV(compliance).
  returned: when O(controls) is given
  type: dict
  sample:
    before: {verdict: https_recommended, summary: "HTTPS recommended: workgroup host, NTLM cannot verify the server"}
    after: {verdict: secure_https, summary: "secure: HTTPS with a certificate the controller validates"}
    predicted: {verdict: secure_https, summary: "secure: HTTPS with a certificate the controller validates"}
    profile: workgroup_https
    profile_reason: null
report:
  description: The host's report files (C(<dir>/<host>.json), C(.md), C(.xml)).
  returned: when O(report) is given
  type: list
  elements: str
certificate:
  description:
    - With O(https.certificate=auto), the HTTPS listener's certificate chosen and why, as
      RV(wsman.winrm.listener#module:certificate) describes it.
  returned: when O(https.certificate=auto)
  type: dict
  sample: {action: keep, thumbprint: 9A3B5E1C0D2F4A6B8C7D9E0F1A2B3C4D5E6F7A8B, previous: 9A3B5E1C0D2F4A6B8C7D9E0F1A2B3C4D5E6F7A8B,
           renewal_chain: [], reason: "9A3B5E1C0D2F4A6B8C7D9E0F1A2B3C4D5E6F7A8B qualifies (310 days left)"}
"""
