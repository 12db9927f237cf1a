"""What the resolver is handed: a host's variables read through ansible-core's option system for the
host's connection plugin (plugins/plugin_utils/connection_options.py). The filter, the modules and
the connection plugin all use it; tests/integration/test_inventories.py checks the three agree
over real HTTP."""
from __future__ import annotations


import pytest


from ansible_collections.wsman.winrm.plugins.module_utils.endpoint import resolve  # noqa: E402
from ansible_collections.wsman.winrm.plugins.plugin_utils.connection_options import (  # noqa: E402
    resolver_input,
    winrm_plugin,
    without_injected,
)

HOST = {"inventory_hostname": "win1.example.com", "ansible_user": "admin@EXAMPLE.COM", "ansible_password": "pw"}


@pytest.mark.parametrize("name, plugin", [
    ("winrm", "ansible.builtin.winrm"), ("ansible.builtin.winrm", "ansible.builtin.winrm"),
    ("ansible.legacy.winrm", "ansible.builtin.winrm"), ("psrp", "ansible.builtin.psrp"),
    ("wsman.winrm.winrm", "wsman.winrm.winrm"), ("local", None), ("ssh", None), ("no.such.plugin", None), (None, None),
])
def test_which_plugin(name, plugin):
    assert winrm_plugin(name) == plugin


def test_the_injected_default_port_is_not_a_choice():
    # what ansible-core puts into the task variables of an ansible_connection: winrm host without a port
    task_vars = dict(HOST, ansible_connection="winrm", ansible_winrm_scheme="http", ansible_port=5986,
                     ansible_host="win1.example.com")
    cleaned = without_injected(task_vars, "ansible.builtin.winrm")
    assert "ansible_port" not in cleaned and cleaned["ansible_host"] == "win1.example.com"
    variables, plugin, _notes = resolver_input(cleaned, "winrm")
    assert resolve(variables, plugin).url == "http://win1.example.com:5985/wsman"


@pytest.mark.parametrize("task_vars, keys, kept", [
    pytest.param({"ansible_port": 5985}, None, True, id="a-port-the-user-wrote"),
    pytest.param({"ansible_port": "5986"}, None, False, id="the-default-as-text-is-the-default"),
    pytest.param({"ansible_port": 5986}, {"port": 5986}, True, id="set-by-the-port-keyword"),
])
def test_what_counts_as_injected(task_vars, keys, kept):
    assert ("ansible_port" in without_injected(dict(HOST, **task_vars), "ansible.builtin.winrm", keys)) is kept


def test_psrp_has_no_default_port_to_inject():
    cleaned = without_injected(dict(HOST, ansible_port=5986), "ansible.builtin.psrp")
    assert cleaned["ansible_port"] == 5986


def test_the_plugins_own_precedence_picks_one_variable():
    variables, _plugin, _notes = resolver_input(dict(HOST, ansible_port=1, ansible_winrm_port=8443), "winrm")
    assert variables["ansible_winrm_port"] == 8443 and "ansible_port" not in variables


def test_defaults_of_the_plugin_are_not_handed_over():
    variables, _plugin, _notes = resolver_input(HOST, "psrp")
    # ansible.builtin.psrp's defaults (auth negotiate, cert_validation validate, path wsman, timeouts...)
    assert set(variables) == set(HOST)


def test_other_families_are_not_read():
    variables, _plugin, _notes = resolver_input(dict(HOST, ansible_psrp_port=1234), "winrm")
    assert "ansible_psrp_port" not in variables
    variables, _plugin, _notes = resolver_input(dict(HOST, ansible_winrm_transport="basic"), "psrp")
    assert "ansible_winrm_transport" not in variables


def test_builtin_winrm_extras_pass_through():
    variables, _plugin, _notes = resolver_input(dict(HOST, ansible_winrm_server_cert_validation="ignore"), "winrm")
    assert variables["ansible_winrm_server_cert_validation"] == "ignore"


def test_the_collections_options_come_from_the_environment_whatever_the_plugin(monkeypatch):
    monkeypatch.setenv("WSMAN_WINRM_TRUSTED_HOSTS", "*.example.com")
    for connection in ("winrm", "psrp", "wsman.winrm.winrm"):
        variables, _plugin, notes = resolver_input(HOST, connection)
        assert variables["wsman_winrm_trusted_hosts"] == ["*.example.com"], connection
        assert any("WSMAN_WINRM_TRUSTED_HOSTS" in note for note in notes)


def test_keywords_are_named_as_the_generic_variable():
    variables, _plugin, notes = resolver_input({"inventory_hostname": "win1"}, "winrm",
                                               keys={"remote_user": "bob", "port": 5985})
    assert (variables["ansible_user"], variables["ansible_port"]) == ("bob", 5985)
    assert "remote_user from keyword: remote_user (read as ansible_user)" in notes


def test_a_value_ansible_core_cannot_convert_reaches_the_resolver_as_written():
    variables, plugin, _notes = resolver_input(dict(HOST, ansible_port="five"), "winrm")
    assert variables["ansible_port"] == "five"
    with pytest.raises(ValueError, match="ansible_port must be a port number"):
        resolve(variables, plugin)


def test_any_other_connection_passes_the_variables_unchanged():
    given = dict(HOST, ansible_psrp_port=1234)
    variables, plugin, _notes = resolver_input(given, "local")
    assert variables is given and plugin is None
