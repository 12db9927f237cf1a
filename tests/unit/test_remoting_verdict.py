# -*- coding: utf-8 -*-
# Copyright: contributors to the wsman.winrm collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The verdict as a compliance row (controls.security_verdict) and the profile chosen per host
(plugin_utils/remoting.py), on info views of the shape wsman.winrm.info and converge produce."""
from __future__ import annotations

import pytest

from ansible_collections.wsman.winrm.plugins.module_utils import controls
from ansible_collections.wsman.winrm.plugins.module_utils.computer import SystemInfo
from ansible_collections.wsman.winrm.plugins.plugin_utils import remoting

HTTP_ONLY = {"service": {"allow_unencrypted": False, "auth": {"basic": False, "kerberos": True, "negotiate": True}},
             "listeners": [{"transport": "HTTP", "port": 5985, "enabled": True, "source": ""}]}
OPEN = {"service": {"allow_unencrypted": True, "auth": {"basic": True, "kerberos": True, "negotiate": True}},
        "listeners": HTTP_ONLY["listeners"]}


def row(view, profile):
    (found,) = [r for r in controls.evaluate(view, profile) if r["id"] == "security_verdict"]
    return found


@pytest.mark.parametrize("view, domain, profile, status, verdict, note", [
    (HTTP_ONLY, False, "workgroup_https", "fail", "https_recommended", "the workgroup_https profile is the one"),
    (HTTP_ONLY, True, "domain_kerberos", "pass", "secure_http", "the domain_kerberos profile is the one"),
    (HTTP_ONLY, True, "workgroup_https", "pass", "secure_http", "comes with the domain_kerberos profile, not"),
    (OPEN, False, "workgroup_https", "fail", "insecure", "to change: set AllowUnencrypted to false"),
])
def test_the_verdict_row(view, domain, profile, status, verdict, note):
    system = SystemInfo(part_of_domain=domain)
    judged = row(remoting.with_verdict(view, system, None), profile)
    assert (judged["status"], judged["actual"]) == (status, verdict)
    assert note in judged["reason"]
    evidence = {item["setting"]: item["value"] for item in judged["evidence"]}
    assert evidence["system.part_of_domain"] is domain and evidence["listeners"] == ["HTTP:5985"]


def test_no_verdict_no_row():
    assert "security_verdict" not in {r["id"] for r in controls.evaluate(HTTP_ONLY, "workgroup_https")}


@pytest.mark.parametrize("domain, profile", [(True, "domain_kerberos"), (False, "workgroup_https"),
                                             (None, "workgroup_https")])
def test_auto_profile(domain, profile):
    chosen, reason = remoting.choose_profile(SystemInfo(part_of_domain=domain))
    assert chosen == profile and ("reaches secure_http" if domain else "reaches secure_https") in reason


def test_only_a_write_of_disable_run_as_reads_the_configurations():
    assert remoting.writes_disable_run_as([r"HKLM\SOFTWARE\Policies\Microsoft\Windows\WinRM\Service\DisableRunAs"])
    assert not remoting.writes_disable_run_as([r"HKLM\SOFTWARE\Policies\Microsoft\Windows\WinRM\Service\AllowBasic"])


def test_certificate_names_from_the_one_computer_read():
    """The names a listener certificate is judged against come from the verdict's Win32_ComputerSystem read."""
    assert SystemInfo(computer_name="WIN1", dns_host_name="win1", part_of_domain=False,
                      domain="WORKGROUP").certificate_names == ["WIN1"]
    assert SystemInfo(computer_name="WIN1", dns_host_name="win1", part_of_domain=True,
                      domain="corp.example").certificate_names == ["WIN1", "win1.corp.example"]
    assert "dns_host_name" not in SystemInfo(computer_name="WIN1").to_dict()  # the reports keep their shape
