"""The endpoint filter (wsman.winrm.endpoint) and wsman.winrm.collector_url (which delegates to source_initiated)."""
from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.wsman.winrm.plugins.filter.endpoint import ENDPOINT_KEYS, FilterModule, endpoint
from ansible_collections.wsman.winrm.plugins.filter.event_forwarding import (
    SOURCE_INITIATED,
    WINRM_STATES,
    collector_url,
    source_initiated,
)

SECRET = "Filter-Pa55-never-shown"
PROXY_SECRET = "Filter-proxy-never-shown"


def test_filters_registered():
    assert FilterModule().filters() == {"endpoint": endpoint}


def test_endpoint_filter_result_has_no_credentials():
    result = endpoint({"ansible_host": "win1.example.com", "ansible_user": "EXAMPLE\\admin",
                       "ansible_password": SECRET,
                       "wsman_winrm_proxy": "https://pu:%s@proxy.example.com:3128" % PROXY_SECRET})
    assert tuple(result) == ENDPOINT_KEYS
    assert result["url"] == "https://win1.example.com:5986/wsman"
    assert result["auth"] == "negotiate" and result["encryption"] == "auto"
    assert result["cert_validation"] is True
    assert result["proxy"] == "https://proxy.example.com:3128" and result["proxy_authenticated"] is True
    assert isinstance(result["decisions"], list) and result["decisions"]
    assert SECRET not in repr(result) and PROXY_SECRET not in repr(result) and "'pu'" not in repr(result)


@pytest.mark.parametrize("host_vars, connection, url", [
    pytest.param({"ansible_host": "win1", "ansible_psrp_port": 1234, "ansible_connection": "psrp"}, None,
                 "https://win1:1234/wsman", id="connection-from-host-vars"),
    pytest.param({"ansible_host": "win1", "ansible_psrp_port": 1234, "ansible_connection": "psrp"}, "winrm",
                 "https://win1:5986/wsman", id="connection-argument-wins"),
    pytest.param({"ansible_host": "old1.example.com", "ansible_winrm_scheme": "http", "wsman_winrm_legacy_ports": 1,
                  "ansible_winrm_transport": "kerberos"}, None, "http://old1.example.com:80/wsman", id="legacy"),
])
def test_endpoint_filter_urls(host_vars, connection, url):
    assert endpoint(host_vars, connection)["url"] == url


@pytest.mark.parametrize("host_vars, message", [
    pytest.param({"ansible_host": "10.0.0.1", "ansible_winrm_transport": "kerberos", "ansible_password": SECRET},
                 "Kerberos cannot be used with an IP address", id="resolver-error"),
    pytest.param({"ansible_host": "w", "ansible_winrm_scheme": "http", "ansible_winrm_transport": "basic",
                  "ansible_user": "admin", "ansible_password": SECRET}, "Basic auth over HTTP is refused",
                 id="basic-http"),
])
def test_endpoint_filter_errors(host_vars, message):
    with pytest.raises(AnsibleFilterError) as caught:
        endpoint(host_vars)
    assert message in str(caught.value) and "wsman.winrm.endpoint" in str(caught.value)
    assert SECRET not in str(caught.value)


def test_endpoint_filter_rejects_non_mapping():
    with pytest.raises(AnsibleFilterError, match="host's variables"):
        endpoint("win1")


# Microsoft, "Details on secure port configuration for WS-Management in Windows 7 and Windows Server 2008 R2",
# the two source-initiated tables, "new subscriptions" column: one value that works with either table.
@pytest.mark.parametrize("collector, source, server", [
    ("new", "new", "wec.example.com"),
    ("new", "winrm11", "http://wec.example.com:5985"),
    ("new", "upgraded", "wec.example.com"),
    ("winrm11", "new", "http://wec.example.com"),
    ("winrm11", "winrm11", "wec.example.com"),
    ("winrm11", "upgraded", "http://wec.example.com"),
    ("upgraded", "new", "wec.example.com"),
    ("upgraded", "winrm11", "http://wec.example.com:5985"),
    ("upgraded", "upgraded", "wec.example.com"),
])
def test_collector_url_seed_table(collector, source, server):
    assert collector_url("wec.example.com", collector, source) == server


def test_collector_url_answers_from_source_initiated():
    """One place: collector_url's value is one source_initiated allows for new subscriptions in both tables
    (or the table's cell says any form works), for every row."""
    assert {(c, s) for _form, c, s in SOURCE_INITIATED} == {(c, s) for c in WINRM_STATES for s in WINRM_STATES}
    for collector in WINRM_STATES:
        for source in WINRM_STATES:
            server = collector_url("wec.example.com", collector, source)
            for form in ("fqdn", "http"):
                row = source_initiated("wec.example.com", collector, source, existing=form)
                assert (server in row["alternatives"]
                        or row["article"]["new_subscriptions"] == "The event forwarding works correctly."), (
                    collector, source, form)


def test_collector_url_defaults_and_ipv6():
    assert collector_url(" wec.example.com ") == "wec.example.com"
    assert collector_url("2001:db8::5", "new", "winrm11") == "http://[2001:db8::5]:5985"


@pytest.mark.parametrize("fqdn, collector, source, message", [
    ("", "new", "new", "FQDN"),
    ("http://wec.example.com", "new", "new", "FQDN"),
    ("wec.example.com", "vista", "new", "collector must be one of"),
    ("wec.example.com", "new", "2.0", "source must be one of"),
])
def test_collector_url_errors(fqdn, collector, source, message):
    with pytest.raises(AnsibleFilterError, match=message):
        collector_url(fqdn, collector, source)


PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  vars:
    win: {ansible_host: win1.example.com, ansible_winrm_scheme: http, ansible_winrm_transport: kerberos}
  tasks:
    - ansible.builtin.assert:
        that:
          - (win | wsman.winrm.endpoint).url == 'http://win1.example.com:5985/wsman'
          - "'wec.example.com' | wsman.winrm.collector_url('new', 'winrm11') == 'http://wec.example.com:5985'"
    - ansible.builtin.debug:
        msg: "{{ {'ansible_host': '10.0.0.1', 'ansible_winrm_transport': 'kerberos'} | wsman.winrm.endpoint }}"
      register: refused
      ignore_errors: true
    - ansible.builtin.assert:
        that: "'Kerberos cannot be used with an IP address' in refused.msg"
"""


def test_filters_in_a_playbook(tmp_path):
    """The filters load by their FQCN and work in a real playbook run."""
    import os
    import subprocess
    import sys

    playbook = tmp_path / "filters.yml"
    playbook.write_text(PLAYBOOK)
    env = dict(os.environ, ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
    bin_dir = os.path.dirname(sys.executable)
    run = subprocess.run([os.path.join(bin_dir, "ansible-playbook"), str(playbook)], env=env,
                         capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
