"""The state file of a simulated host: format version, migration of older files, atomic writes.

Version 2 keeps the sections of version 1 (``config``, ``listeners``, ``certmappings``,
``registry``) and adds ``network`` (location, local subnet) and ``firewall`` as ``{"rules": [...]}``
with every filter condition of each rule. Version 3 (this one) adds the local ``groups``, the
plugins (session configurations) as registry values under ``...\\WSMAN\\Plugin`` and
``plugin_run_as`` (whose credentials each RunAs session configuration stored). An older file is
migrated on load: the host resumes with what it held, plus the defaults of what is new.
"""
from __future__ import annotations

import json
import os
import tempfile

from .model import accounts, firewall, network, plugins

VERSION = 3


def migrate(state: dict, host_name: str) -> dict:
    """Bring an older state up to VERSION in place; returns it."""
    version = state.get("version", 1)
    if version < 2:
        rules = state.get("firewall")
        if rules is None:
            rules = firewall.default_rules(state.get("profile", "server2022"), host_name)
        if isinstance(rules, list):
            state["firewall"] = {"rules": rules}
        for rule in state["firewall"]["rules"]:
            for name, value in firewall.NEW_RULE_DEFAULTS.items():
                rule.setdefault(name, value if not isinstance(value, list) else list(value))
        state.setdefault("network", network.default_state())
        state["version"] = 2
    if state["version"] < 3:
        profile = state.get("profile", "server2022")
        state.setdefault("groups", accounts.default_groups(plugins.profile_groups(profile)))
        registry = state.setdefault("registry", {})
        if not any(key.lower().startswith(plugins.PLUGIN_KEY.lower()) for key in registry):
            plugins.install(registry, plugins.default_plugins(profile, accounts.machine_sid(host_name)))
        state.setdefault("plugin_run_as", plugins.initial_run_as(profile))
        state["version"] = 3
    return state


def load(path: str) -> dict | None:
    if not path or not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def dump(state: dict) -> str:
    # Compact: json's C encoder runs only without indent, and a host's state (certificate stores
    # included) is written after every change; with indent=1 the pure-Python encoder was about a
    # quarter of the simulator's CPU in a fleet apply (tests/benchmarks/fleet.py).
    return json.dumps(state, separators=(",", ":"), sort_keys=False)


def write_atomic(path: str, text: str) -> None:
    if not path:
        return
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
