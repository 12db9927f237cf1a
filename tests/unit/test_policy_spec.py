"""wsman.winrm.policy: the table (resources.POLICY_SETTINGS), the argument spec and the module's
DOCUMENTATION describe the same options; and the pure logic of the action plugin."""

from __future__ import annotations

import importlib.util
import os

import pytest
import yaml

from ansible_collections.wsman.winrm.plugins.module_utils import policy as action
from ansible_collections.wsman.winrm.plugins.module_utils import argspecs, resources

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def load_doc(module: str) -> dict:
    """The module's DOCUMENTATION with the change fragment merged the way ansible-doc merges it."""
    spec = importlib.util.spec_from_file_location(module, os.path.join(ROOT, "plugins", "modules", module + ".py"))
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    doc = yaml.safe_load(loaded.DOCUMENTATION)
    fragments = doc.get("extends_documentation_fragment", [])
    assert fragments == ["wsman.winrm.change"]
    from ansible_collections.wsman.winrm.plugins.doc_fragments.change import ModuleDocFragment

    options = dict(yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"])
    options.update(doc["options"])
    return options


def normalized_doc(options: dict) -> dict:
    return {name: {"type": option.get("type", "str"), "required": option.get("required", False),
                   "default": option.get("default"), "choices": option.get("choices"),
                   "elements": option.get("elements"),
                   "suboptions": normalized_doc(option["suboptions"]) if "suboptions" in option else None}
            for name, option in options.items()}


def normalized_spec(spec: dict) -> dict:
    return {name: {"type": option.get("type", "str"), "required": option.get("required", False),
                   "default": option.get("default"), "choices": option.get("choices"),
                   "elements": option.get("elements"),
                   "suboptions": normalized_spec(option["options"]) if "options" in option else None}
            for name, option in spec.items()}


def test_documentation_matches_the_argument_spec():
    assert normalized_doc(load_doc("policy")) == normalized_spec(argspecs.POLICY["argument_spec"])


def test_argument_spec_matches_the_table():
    spec = argspecs.POLICY["argument_spec"]
    from_spec = {(scope, name) for scope in ("client", "service", "winrs") for name in spec[scope]["options"]}
    from_spec |= {("top", name) for name in spec if name not in ("client", "service", "winrs", "state",
                                                                 "policy_controlled", "force")}
    covered = []
    for scope, options in argspecs.policy_options().items():
        for name, option in options.items():
            covered.extend(option.settings)
            for setting in option.settings:
                assert argspecs.policy_value_option_name(setting.name) == name
                assert argspecs.policy_scope(setting.key) == scope
    assert from_spec == {(scope, name) for scope, options in argspecs.policy_options().items() for name in options}
    # every table value is written by exactly one option
    assert sorted(covered, key=lambda s: (s.key, s.name)) == sorted(resources.POLICY_SETTINGS, key=lambda s: (s.key, s.name))


def test_every_documented_policy_option_names_the_values_it_writes():
    doc = load_doc("policy")
    for scope, options in argspecs.policy_options().items():
        documented = doc if scope == argspecs.POLICY_TOP_LEVEL else doc[scope]["suboptions"]
        for name, option in options.items():
            text = " ".join(documented[name]["description"])
            for setting in option.settings:
                assert "C(%s)" % setting.name in text, (scope, name, setting.name)


@pytest.mark.parametrize("value_name, option", [
    ("AllowCredSSP", "allow_credssp"), ("AllowUnencryptedTraffic", "allow_unencrypted_traffic"),
    ("CBTHardeningLevelStatus", "cbt_hardening_level"), ("CbtHardeningLevel", "cbt_hardening_level"),
    ("TrustedHostsList", "trusted_hosts"), ("IPv4Filter", "ipv4_filter"), ("IPv6Filter", "ipv6_filter"),
    ("MaxMemoryPerShellMB", "max_memory_per_shell_mb"), ("DisableRunAs", "disable_run_as"),
    ("LocalAccountTokenFilterPolicy", "local_account_token_filter_policy"),
    ("HttpsCompatibilityListener", "https_compatibility_listener"),
])
def test_option_names_are_the_value_names_in_snake_case(value_name, option):
    assert argspecs.policy_value_option_name(value_name) == option


def test_option_kinds_come_from_the_settings_they_control():
    options = argspecs.policy_options()
    assert options["client"]["trusted_hosts"].kind == "list"
    assert [s.name for s in options["client"]["trusted_hosts"].settings] == ["TrustedHosts", "TrustedHostsList"]
    assert options["service"]["cbt_hardening_level"].choices == ("None", "Relaxed", "Strict")
    assert options["winrs"]["idle_timeout"].kind == "int"
    assert options["service"]["allow_auto_config"].kind == "bool"
    assert options["service"]["disable_run_as"].kind == "bool"
    assert options["top"]["local_account_token_filter_policy"].kind == "bool"


# -- values --------------------------------------------------------------------------------------------

def option(path: str) -> argspecs.PolicyOption:
    scope, _sep, name = path.rpartition(".")
    return argspecs.policy_options()[scope or "top"][name]


@pytest.mark.parametrize("path, raw, parsed", [
    ("service.allow_basic", False, False), ("service.allow_basic", 1, True), ("service.allow_basic", "no", False),
    ("service.allow_basic", "Absent", "absent"), ("local_account_token_filter_policy", "0", False),
    ("winrs.idle_timeout", "60000", 60000), ("winrs.idle_timeout", 0, 0),
    ("service.cbt_hardening_level", "strict", "Strict"),
    ("client.trusted_hosts", "a.example.com, *.b.example.com", ["a.example.com", "*.b.example.com"]),
    ("client.trusted_hosts", [], []), ("service.ipv4_filter", "*", "*"), ("service.ipv4_filter", "", ""),
    ("service.ipv4_filter", "10.0.0.1-10.0.0.9, 10.1.0.1", "10.0.0.1-10.0.0.9, 10.1.0.1"),
    ("service.ipv6_filter", "2001:db8::1-2001:db8::ff", "2001:db8::1-2001:db8::ff"),
])
def test_parse_value(path, raw, parsed):
    assert action.parse_value(option(path), raw) == parsed


@pytest.mark.parametrize("path, raw, message", [
    ("service.allow_basic", 2, "service.allow_basic must be true, false (1/0) or absent"),
    ("service.allow_basic", "maybe", "must be true, false"),
    ("winrs.idle_timeout", True, "winrs.idle_timeout must be a whole number"),
    ("winrs.idle_timeout", 2 ** 32, "winrs.idle_timeout must be a whole number"),
    ("service.cbt_hardening_level", "high", "must be one of None, Relaxed, Strict"),
    ("client.trusted_hosts", 5, "client.trusted_hosts must be a list"),
    ("service.ipv4_filter", "::1", "service.ipv4_filter must be '*', empty, or IPv4"),
    ("service.ipv4_filter", "10.0.0.9-10.0.0.1", "service.ipv4_filter must be"),
    ("service.ipv6_filter", "fe80::1-nothing", "service.ipv6_filter must be"),
])
def test_parse_value_errors_name_the_option(path, raw, message):
    with pytest.raises(action.InvalidValue) as error:
        action.parse_value(option(path), raw)
    assert message in str(error.value)


def args(**values):
    base = {"client": None, "service": None, "winrs": None, "local_account_token_filter_policy": None,
            "state": "present", "force": False, "policy_controlled": "fail"}
    base.update(values)
    return base


def test_filters_go_with_allow_auto_config():
    with pytest.raises(action.InvalidValue, match="service.ipv4_filter belongs to the policy"):
        action.desired_options(args(service={"ipv4_filter": "*"}))
    named = action.desired_options(args(service={"allow_auto_config": True, "ipv4_filter": "*"}))
    assert [(o.path, v) for o, v in named] == [("service.allow_auto_config", True), ("service.ipv4_filter", "*")]
    # removing a filter alone is fine
    assert action.desired_options(args(service={"ipv4_filter": "absent"}))[0][1] == "absent"


def test_state_absent_names_values_whatever_they_are():
    named = action.desired_options(args(state="absent", service={"allow_basic": False}, winrs={"idle_timeout": "x"}))
    assert [(o.path, v) for o, v in named] == [("service.allow_basic", "absent"), ("winrs.idle_timeout", "absent")]


def test_writes_and_their_order():
    trusted = option("client.trusted_hosts")
    writes = action.writes_for(trusted, ["a", "b"])
    assert [(s.name, v) for s, v in writes] == [("TrustedHostsList", "a,b"), ("TrustedHosts", 1)]
    assert [(s.name, v) for s, v in action.writes_for(trusted, "absent")] == [("TrustedHosts", None),
                                                                              ("TrustedHostsList", None)]
    assert {s.name for s in resources.POLICY_SETTINGS if action.is_gate(s)} == \
        {"TrustedHosts", "CBTHardeningLevelStatus", "AllowAutoConfig"}
    auto = action.writes_for(option("service.allow_auto_config"), True)
    v4 = action.writes_for(option("service.ipv4_filter"), "*")
    basic_off = action.writes_for(option("service.allow_basic"), "absent")
    ordered = action.write_order(auto + v4 + basic_off + action.writes_for(trusted, "absent"))
    # switches off first, then values, then removals of values, then switches on
    assert [(s.name, v) for s, v in ordered] == [("TrustedHosts", None), ("IPv4Filter", "*"), ("AllowBasic", None),
                                                 ("TrustedHostsList", None), ("AllowAutoConfig", 1)]


def test_same_value():
    trusted = option("client.trusted_hosts")
    assert action.same_value(trusted, trusted.value, "a,B", "b,a")
    assert not action.same_value(trusted, trusted.value, "a", "a,b")
    cbt = option("service.cbt_hardening_level")
    assert action.same_value(cbt, cbt.value, "strict", "Strict")
    basic = option("service.allow_basic")
    assert action.same_value(basic, basic.value, 0, 0) and not action.same_value(basic, basic.value, None, 0)
    assert action.same_value(basic, basic.value, None, None)


def test_effective_settings_read_the_policy_like_windows():
    values = {
        (resources._SERVICE, "AllowBasic"): 0,
        (resources._CLIENT, "TrustedHosts"): 1, (resources._CLIENT, "TrustedHostsList"): "a,b",
        (resources._SERVICE, "CbtHardeningLevel"): "Strict",   # no CBTHardeningLevelStatus=1: not in effect
        (resources._WINRS, "IdleTimeout"): 60000,
        (resources._SERVICE, "AllowAutoConfig"): 1, (resources._SERVICE, "IPv4Filter"): "*",
        (resources._SERVICE, "HttpCompatibilityListener"): 0,
    }
    assert action.effective_settings(values) == {
        "service.auth.basic": False, "client.trusted_hosts": "a,b", "winrs.idle_timeout": 60000,
        "service.ipv4_filter": "*", "service.ipv6_filter": "", "service.enable_compatibility_http_listener": False,
    }
