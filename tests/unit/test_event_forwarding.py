# -*- coding: utf-8 -*-
# Copyright: contributors to the wsman.winrm collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The event-forwarding filters against every row of Microsoft's three tables.

Source: Microsoft, "Details on secure port configuration for WS-Management in Windows 7 and Windows
Server 2008 R2", section "Event forwarding". Each row below copies the article's four cells
(collector, source, existing subscriptions, new subscriptions) word for word, with the answer the
filter must give beside them. The states: "New installation of Windows 7" = new, "WinRM 1.1
installed" = winrm11, "Upgraded to WinRM 2.0" = upgraded.
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.wsman.winrm.plugins.filter.event_forwarding import (
    COLLECTOR_INITIATED, SOURCE_INITIATED, FilterModule, collector_initiated, collector_url, source_initiated)

STATE = {"New installation of Windows 7": "new", "WinRM 1.1 installed": "winrm11", "Upgraded to WinRM 2.0": "upgraded"}
WORKS = "The event forwarding works correctly."

# Table 1: collector-initiated PUSH/PULL subscriptions.
# (collector, source, existing cell, new cell) -> (existing outcome, change, port, port must be named)
COLLECTOR_TABLE = [
    ("New installation of Windows 7", "New installation of Windows 7", "Not Applicable", WORKS,
     ("not_applicable", None, 5985, False)),
    ("New installation of Windows 7", "WinRM 1.1 installed", "Not Applicable",
     "Need to specify port 80 for HTTP explicitly.", ("not_applicable", None, 80, True)),
    ("New installation of Windows 7", "Upgraded to WinRM 2.0", "Not Applicable", WORKS,
     ("not_applicable", None, 5985, False)),
    ("WinRM 1.1 installed", "New installation of Windows 7",
     "Update subscriptions on the collector to add the port 5985 for HTTPS.", "Need to specify port 5985 explicitly.",
     ("update", "add port 5985", 5985, True)),
    ("WinRM 1.1 installed", "WinRM 1.1 installed", WORKS, WORKS, ("works", None, 80, False)),
    ("WinRM 1.1 installed", "Upgraded to WinRM 2.0", WORKS, WORKS, ("works", None, 80, False)),
    ("Upgraded to WinRM 2.0", "New installation of Windows 7",
     "Update subscriptions on the collector to add the port 5985 for HTTPS.", WORKS,
     ("update", "add port 5985", 5985, False)),
    ("Upgraded to WinRM 2.0", "WinRM 1.1 installed", WORKS, "Need to specify port 80 for HTTP explicitly.",
     ("works", None, 80, True)),
    ("Upgraded to WinRM 2.0", "Upgraded to WinRM 2.0", WORKS, WORKS, ("works", None, 5985, False)),
]

EITHER = "Can specify the collector as Server=http://<FQDN>:5985 or Server=<FQDN>"
NEED_5985 = "Need to specify the collector as Server=http://<FQDN>:5985"
NEED_HTTP = "Need to specify the collector as Server=http://<FQDN>"
UPDATE_HTTP = "Update collector info on the source to Server=http://<FQDN>"
F = "wec.example.com"
H = "http://wec.example.com"
H5985 = "http://wec.example.com:5985"

# Tables 2 and 3: source-initiated PUSH subscriptions, existing subscriptions naming the collector
# as Server=<FQDN> (table 2) or Server=http://<FQDN> (table 3).
# (collector, source, existing cell, new cell) -> (existing outcome, existing Server= target, new Server=, alternatives)
FQDN_TABLE = [
    ("New installation of Windows 7", "New installation of Windows 7", "Not Applicable", EITHER,
     ("not_applicable", None, F, [H5985, F])),
    ("New installation of Windows 7", "WinRM 1.1 installed", "Not Applicable", NEED_5985,
     ("not_applicable", None, H5985, [H5985])),
    ("New installation of Windows 7", "Upgraded to WinRM 2.0", "Not Applicable", EITHER,
     ("not_applicable", None, F, [H5985, F])),
    ("WinRM 1.1 installed", "New installation of Windows 7", UPDATE_HTTP, NEED_HTTP, ("update", H, H, [H])),
    ("WinRM 1.1 installed", "WinRM 1.1 installed", WORKS, WORKS, ("works", None, F, [F])),
    ("WinRM 1.1 installed", "Upgraded to WinRM 2.0", UPDATE_HTTP, NEED_HTTP, ("update", H, H, [H])),
    ("Upgraded to WinRM 2.0", "New installation of Windows 7", WORKS, WORKS, ("works", None, F, [F])),
    ("Upgraded to WinRM 2.0", "WinRM 1.1 installed", WORKS, WORKS, ("works", None, F, [F])),
    ("Upgraded to WinRM 2.0", "Upgraded to WinRM 2.0", WORKS, WORKS, ("works", None, F, [F])),
]
HTTP_TABLE = [
    ("New installation of Windows 7", "New installation of Windows 7", "Not Available", EITHER,
     ("not_applicable", None, H5985, [H5985, F])),
    ("New installation of Windows 7", "WinRM 1.1 installed", "Not Applicable", NEED_5985,
     ("not_applicable", None, H5985, [H5985])),
    ("New installation of Windows 7", "Upgraded to WinRM 2.0", "Not Applicable", EITHER,
     ("not_applicable", None, H5985, [H5985, F])),
    ("WinRM 1.1 installed", "New installation of Windows 7", UPDATE_HTTP, NEED_HTTP, ("update", H, H, [H])),
    ("WinRM 1.1 installed", "WinRM 1.1 installed", WORKS, WORKS, ("works", None, H, [H])),
    ("WinRM 1.1 installed", "Upgraded to WinRM 2.0", UPDATE_HTTP, NEED_HTTP, ("update", H, H, [H])),
    ("Upgraded to WinRM 2.0", "New installation of Windows 7", WORKS, EITHER, ("works", None, H5985, [H5985, F])),
    ("Upgraded to WinRM 2.0", "WinRM 1.1 installed", WORKS, NEED_5985, ("works", None, H5985, [H5985])),
    ("Upgraded to WinRM 2.0", "Upgraded to WinRM 2.0", WORKS, EITHER, ("works", None, H5985, [H5985, F])),
]


@pytest.mark.parametrize("collector, source, existing_cell, new_cell, expected", COLLECTOR_TABLE)
def test_collector_initiated_table(collector, source, existing_cell, new_cell, expected):
    answer = collector_initiated("win7-01.example.com", STATE[collector], STATE[source])
    outcome, change, port, explicit = expected
    assert answer["article"] == {"existing_subscriptions": existing_cell, "new_subscriptions": new_cell}
    assert (answer["existing_subscriptions"], answer["existing_change"]) == (outcome, change)
    assert (answer["port"], answer["port_explicit"]) == (port, explicit)
    assert answer["url"] == "http://win7-01.example.com:%d/wsman" % port
    assert answer["table"] == "Collector-initiated PUSH/PULL subscriptions"


@pytest.mark.parametrize("table, rows", [("fqdn", FQDN_TABLE), ("http", HTTP_TABLE)])
def test_source_initiated_tables(table, rows):
    for collector, source, existing_cell, new_cell, expected in rows:
        answer = source_initiated(F, STATE[collector], STATE[source], table)
        outcome, target, server, alternatives = expected
        row = (collector, source)
        assert answer["article"] == {"existing_subscriptions": existing_cell, "new_subscriptions": new_cell}, row
        assert answer["existing_subscriptions"] == outcome, row
        assert answer["existing_server"] == target, row
        assert answer["server"] == server and answer["alternatives"] == alternatives, row
        # The table's "update" cells for Server=http://<FQDN> name the value those subscriptions already have.
        assert answer["existing_already_match"] == (None if target is None else table == "http"), row


def test_every_row_of_every_table_is_covered():
    assert len(COLLECTOR_TABLE) == len(COLLECTOR_INITIATED) == 9
    assert len(FQDN_TABLE) + len(HTTP_TABLE) == len(SOURCE_INITIATED) == 18
    pairs = {(STATE[c], STATE[s]) for c, s, *_cells in COLLECTOR_TABLE}
    assert pairs == set(COLLECTOR_INITIATED)
    keys = {("fqdn", STATE[c], STATE[s]) for c, s, *_cells in FQDN_TABLE}
    keys |= {("http", STATE[c], STATE[s]) for c, s, *_cells in HTTP_TABLE}
    assert keys == set(SOURCE_INITIATED)


@pytest.mark.parametrize("existing, table", [
    ("wec.example.com", "fqdn"), ("WEC.example.com", "fqdn"), ("http://wec.example.com", "http"),
    ("http://wec.example.com:80/", "http"), ("fqdn", "fqdn"), ("http", "http"),
])
def test_source_initiated_reads_the_existing_server_value(existing, table):
    assert source_initiated(F, "winrm11", "new", existing)["table"].endswith(
        "Server=<FQDN>" if table == "fqdn" else "Server=http://<FQDN>")


@pytest.mark.parametrize("call, message", [
    (lambda: collector_initiated("", "new", "new"), "event source's host name"),
    (lambda: collector_initiated("http://x", "new", "new"), "event source's host name"),
    (lambda: collector_initiated("x", "vista", "new"), "collector must be one of new, winrm11, upgraded"),
    (lambda: source_initiated(F, "new", "2.0"), "source must be one of"),
    (lambda: source_initiated("", "new", "new"), "collector's FQDN"),
    (lambda: source_initiated(F, "new", "new", "http://wec.example.com:5985"), "cover only these two forms"),
    (lambda: source_initiated(F, "new", "new", "other.example.com"), "cover only these two forms"),
])
def test_errors_name_the_argument(call, message):
    with pytest.raises(AnsibleFilterError, match=message):
        call()


def test_ipv6_hosts_get_brackets():
    assert collector_initiated("2001:db8::7", "new", "winrm11")["url"] == "http://[2001:db8::7]:80/wsman"
    assert source_initiated("2001:db8::5", "new", "winrm11")["server"] == "http://[2001:db8::5]:5985"


def test_filter_module_exports_all_three():
    assert FilterModule().filters() == {"collector_initiated": collector_initiated, "source_initiated": source_initiated,
                                        "collector_url": collector_url}


PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.assert:
        that:
          - pull.port == 5985 and pull.port_explicit and pull.existing_subscriptions == 'update'
          - pull.existing_change == 'add port 5985'
          - push.server == 'http://wec.example.com' and push.existing_server == 'http://wec.example.com'
          - kept.server == 'http://wec.example.com:5985' and kept.existing_subscriptions == 'works'
      vars:
        pull: "{{ 'win7-01.example.com' | wsman.winrm.collector_initiated('winrm11', 'new') }}"
        push: "{{ 'wec.example.com' | wsman.winrm.source_initiated(collector='winrm11', source='new') }}"
        kept: "{{ 'wec.example.com' | wsman.winrm.source_initiated('upgraded', 'winrm11', 'http://wec.example.com') }}"
    - ansible.builtin.debug:
        msg: "{{ 'wec.example.com' | wsman.winrm.source_initiated('new', 'new', 'https://wec.example.com') }}"
      register: refused
      ignore_errors: true
    - ansible.builtin.assert:
        that: "'cover only these two forms' in refused.msg"
"""


def test_filters_in_a_playbook(tmp_path):
    """The filters load by their FQCN in a real ansible-playbook run."""
    playbook = tmp_path / "event_forwarding.yml"
    playbook.write_text(PLAYBOOK)
    env = dict(os.environ, ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
    run = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), str(playbook)],
                         env=env, capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "failed=0" in run.stdout
