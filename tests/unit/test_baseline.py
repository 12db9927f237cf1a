"""The secure baseline's variables -> the converge action's desired state (plugin_utils/baseline.py),
and the converge module's documentation agreeing with its argument spec."""
from __future__ import annotations

import os

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.wsman.winrm.plugins.module_utils import argspecs
from ansible_collections.wsman.winrm.plugins.plugin_utils import baseline

from test_policy_spec import load_doc, normalized_doc, normalized_spec

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def state(**variables):
    values = baseline.variables("secure_baseline", lambda name: variables[name[len("secure_baseline_"):]])
    return baseline.desired_state(values)


def test_the_defaults_are_the_roles():
    with open(os.path.join(ROOT, "roles", "secure_baseline", "defaults", "main.yml"), encoding="utf-8") as handle:
        defaults = yaml.safe_load(handle)
    assert {name[len("secure_baseline_"):] for name in defaults} == set(baseline.VARIABLES)
    for name, value in defaults.items():
        if "{{" not in str(value):
            assert baseline.VARIABLES[name[len("secure_baseline_"):]] == value, name


@pytest.mark.parametrize("profile, kerberos, certificate, remove_http", [
    ("domain_kerberos", True, False, False), ("workgroup_https", None, False, True), ("certificate_only", None, True, True),
])
def test_profiles(profile, kerberos, certificate, remove_http):
    desired = state(profile=profile)
    auth = desired["service"]["auth"]
    assert auth.get("kerberos") == kerberos and auth["certificate"] is certificate
    assert auth["basic"] is False and auth["credssp"] is False and auth["cbt_hardening_level"] == "Strict"
    assert desired["https"]["remove_http"] is remove_http
    assert desired["controls"]["profile"] == profile
    assert set(desired["controls"]["deviations"]) == {"service_auto_config", "remote_shell_access"}
    # every state the role builds is one the converge action takes
    assert not ArgumentSpecValidator(argspecs.CONVERGE["argument_spec"]).validate(desired).error_messages


def test_a_variable_wins_over_the_profile_and_nulls_leave_it():
    desired = state(profile="domain_kerberos", service_auth_kerberos="no", remove_http_listener=True,
                    cbt_hardening_level="Relaxed", client_trusted_hosts=["web01"], https_connection_port="15986",
                    local_account_token_filter_policy=1, override_conflicting_policy=True, https_listener=True)
    assert desired["service"]["auth"]["kerberos"] is False and desired["https"]["remove_http"] is True
    assert desired["service"]["auth"]["cbt_hardening_level"] == "Relaxed"
    assert desired["client"]["trusted_hosts"] == ["web01"] and desired["client"]["trusted_hosts_mode"] == "set"
    assert desired["https"]["connection_port"] == 15986
    assert desired["policy"]["local_account_token_filter_policy"] == 1 and desired["policy_conflicts"] == "override"
    plain = state(profile="workgroup_https")
    assert plain["client"] == {"allow_unencrypted": False, "auth": {"basic": False, "digest": False, "credssp": False},
                               "trusted_hosts": ["*"], "trusted_hosts_mode": "remove"}
    assert "local_account_token_filter_policy" not in plain["policy"] and plain["policy_conflicts"] == "keep"
    assert "https" not in state(profile="workgroup_https", https_listener=False)
    assert "policy" not in state(profile="workgroup_https", write_policy=False)
    assert state(profile="workgroup_https", https_listener=False)["service"]["auth"]["cbt_hardening_level"] == "Relaxed"


def test_bad_values_name_the_variable():
    with pytest.raises(ValueError, match="secure_baseline_profile must be one of .* or auto"):
        state(profile="strict")
    with pytest.raises(ValueError, match="secure_baseline_write_policy must be true or false"):
        state(write_policy="sometimes")


def test_converge_documentation_matches_the_argument_spec():
    assert normalized_doc(load_doc("converge")) == normalized_spec(argspecs.CONVERGE["argument_spec"])


def test_auto_is_chosen_per_host_before_the_desired_state():
    """The role's default profile, auto, is the converge action's choice per host (its domain membership);
    building a desired state without choosing says so instead of guessing a profile."""
    assert baseline.variables("secure_baseline", lambda name: {}[name])["profile"] == baseline.AUTO
    with pytest.raises(ValueError, match="choose the host's profile"):
        state()
