#!/usr/bin/python
# Copyright (c) 2026 wsman.winrm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# The implementation is the action plugin plugins/action/compliance_report.py; it runs on the controller.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: compliance_report
short_description: Write the run's WinRM compliance report from the hosts' reports
version_added: 0.2.0
description:
  - M(wsman.winrm.converge) with its O(wsman.winrm.converge#module:report) option writes each host's report
    (C(<dir>/<host>.json), C(.md), C(.xml)) as the host finishes. Run once (C(run_once=true)), this module
    reads them for the play's hosts and writes the run's report - C(<dir>/<name>.json) (every host's
    record), C(.md) (a summary table, what changed, every control per host) and C(.xml) (JUnit, one suite
    per host) - in one pass on the controller, whatever the number of hosts.
  - It changes nothing on any host and runs the same in check mode.
author:
  - wsman.winrm contributors (@wsman)
options:
  dir:
    description: The folder the hosts' reports are in; the run's report is written there too.
    type: path
    required: true
  name:
    description: File name of the run's report, without extension.
    type: str
    default: compliance
  hosts:
    description: The hosts to include; the play's hosts (C(ansible_play_hosts)) when left out.
    type: list
    elements: str
  title:
    description: Title of the Markdown report.
    type: str
  dashboard:
    description:
      - Also write C(<name>_dashboard.html), the fleet dashboard (the page of the
        P(wsman.winrm.compliance_dashboard#filter) filter) - one self-contained file, hosts by controls as a
        colour grid, filters, and a drill-down per host with its Windows version, STIG, evidence and fixes.
    type: bool
    default: true
  dashboard_template:
    description:
      - A Jinja template for the dashboard instead of the collection's (start from
        C(plugins/plugin_utils/templates/compliance_dashboard.html.j2)).
    type: path
  checklists:
    description:
      - Also write one DISA STIG Viewer checklist per host, C(checklists/<host>.cklb) (STIG Viewer 3) and
        C(checklists/<host>.ckl) (STIG Viewer 2), with each WinRM rule's status, the evidence as finding details
        and the host's Windows version and domain role (read over WMI) as target data.
    type: bool
    default: true
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
attributes:
  check_mode:
    support: full
    description: Writes the reports in check mode too; it changes nothing on any host.
  diff_mode:
    support: none
    description: Changes nothing on any host.
  platform:
    support: full
    platforms: windows
    description: Reports on Windows hosts; runs on the controller.
notes:
  - Runs on the controller (action plugin); no connection to any host is opened.
seealso:
  - module: wsman.winrm.converge
"""

EXAMPLES = r"""
- name: Audit every host and write its report
  wsman.winrm.converge:
    service:
      auth:
        basic: false
    controls:
      profile: workgroup_https
    report:
      dir: "{{ lookup('env', 'PWD') }}/compliance"

- name: Write the run's report once
  wsman.winrm.compliance_report:
    dir: "{{ lookup('env', 'PWD') }}/compliance"
    name: winrm
  run_once: true
  register: report

- name: Say where the reports are
  ansible.builtin.debug:
    msg: "{{ report.msg }}"
  run_once: true
"""

RETURN = r"""
msg:
  description: Where the reports are, and how many hosts have a failed control.
  returned: always
  type: str
files:
  description: The run's report files (JSON, Markdown, JUnit, the dashboard) and the checklists.
  returned: always
  type: list
  elements: str
hosts:
  description: The number of hosts in the report.
  returned: always
  type: int
failing_hosts:
  description: The hosts with at least one failed control.
  returned: always
  type: list
  elements: str
missing:
  description: Hosts of the play without a report of their own (their converge task did not write one).
  returned: always
  type: list
  elements: str
"""
