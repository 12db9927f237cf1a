# Copyright (c) 2026 wsman.winrm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A host's connection variables as ansible-core's option system reads them, for the resolver.

The filter, every module and the connection plugin hand the resolver the same input, built here:
the options of the host's connection plugin (``ansible.builtin.winrm``, ``ansible.builtin.psrp`` or
``wsman.winrm.winrm``) resolved by ansible-core itself, from the plugin's own option definitions
(variables in the plugin's precedence, playbook keywords, ``ansible.cfg``, environment), each
under the name of the variable that won; the collection's ``wsman_winrm_*`` options the same way
(they have ``ansible.cfg`` and environment entries too); and the ``ansible_winrm_*`` extras that
``ansible.builtin.winrm`` passes to pywinrm. A default of the connection plugin is never part of
it: the resolver applies its own rules where the user chose nothing. docs/endpoint-resolution.md
explains the choice.
"""

from __future__ import annotations

import functools
import typing as t

from ansible import constants as C
from ansible.errors import AnsibleError
from ansible.plugins.loader import connection_loader

from ansible_collections.wsman.winrm.plugins.module_utils.endpoint import VARIABLES

WINRM_PLUGINS = ("ansible.builtin.winrm", "ansible.builtin.psrp", "wsman.winrm.winrm")
OWN_PLUGIN = "wsman.winrm.winrm"
OWN_PREFIX = "wsman_winrm_"
# Variables ansible-core puts into the task variables from the connection plugin's options when the
# host does not set them (ConnectionBase.update_vars, constants.COMMON_CONNECTION_VARS).
INJECTED = ("ansible_host", "ansible_port", "ansible_user", "ansible_connection")
# The playbook keywords that feed WinRM connection options (remote_user:, port:, and the password
# given with --ask-pass), as TaskExecutor passes them to the connection plugin.
KEYWORDS = ("remote_user", "port", "password")
_GENERIC = ("ansible_host", "ansible_port", "ansible_user", "ansible_password")
# Every variable name the resolver reads (notes are kept for these only).
_RESOLVER_NAMES = frozenset(name for row in VARIABLES.values() for family in ("wsman", "winrm", "psrp", "generic")
                            for name in row.get(family, ()))


def winrm_plugin(connection: t.Optional[str]) -> t.Optional[str]:
    """The FQCN of the WinRM connection plugin a connection name means (``winrm``,
    ``ansible.legacy.psrp``, a plugin's load name...), or None for any other plugin."""
    return _winrm_plugin(str(connection)) if connection else None


@functools.lru_cache(maxsize=64)  # the plugin loader's answer does not change within a process
def _winrm_plugin(connection: str) -> t.Optional[str]:
    try:
        wanted = connection_loader.get(connection, class_only=True)
    except Exception:  # pylint: disable=broad-except  # an unknown or broken plugin is not ours
        return None
    if wanted is None:
        return None
    for name in WINRM_PLUGINS:
        if connection_loader.get(name, class_only=True) is wanted:
            return name
    return None


@functools.lru_cache(maxsize=8)
def _load_name(plugin: str) -> str:
    return connection_loader.get(plugin, class_only=True)._load_name


def _definitions(plugin: str) -> t.Tuple[str, t.Dict[str, t.Any]]:
    load_name = _load_name(plugin)
    return load_name, C.config.get_configuration_definitions("connection", load_name)


def _variable_name(origin: str, definition: t.Mapping[str, t.Any]) -> t.Optional[str]:
    """The variable an option's value is handed over as: the one that set it, else the name that
    means the same (keywords: the generic ansible_* one; ansible.cfg or environment: ours)."""
    if origin.startswith("var: "):
        return origin[len("var: "):]
    names = [entry["name"] for entry in definition.get("vars") or ()]
    if not names:
        return None
    if origin.startswith("keyword: "):
        generic = [name for name in names if name in _GENERIC]
        if generic:
            return generic[0]
    own = [name for name in names if name.startswith(OWN_PREFIX)]
    return own[0] if own else names[-1]


def _choices(plugin: str, variables: t.Mapping[str, t.Any], keys: t.Optional[t.Mapping[str, t.Any]],
             only_prefix: t.Optional[str] = None, direct: t.Optional[t.Mapping[str, t.Any]] = None
             ) -> t.Tuple[t.Dict[str, t.Any], t.List[str]]:
    """Every option of ``plugin`` that something other than its default set: variable -> value."""
    load_name, definitions = _definitions(plugin)
    var_names = set(C.config.get_plugin_vars("connection", load_name))
    var_options = {name: variables[name] for name in var_names
                   if name in variables and (only_prefix is None or name.startswith(only_prefix))}
    chosen: t.Dict[str, t.Any] = {}
    notes: t.List[str] = []
    for option, definition in sorted(definitions.items()):
        try:
            value, origin = C.config.get_config_value_and_origin(
                option, plugin_type="connection", plugin_name=load_name, variables=var_options, keys=keys, direct=direct)
        except AnsibleError:
            # A value of the wrong type: hand it over as written, the resolver names the variable and the fix.
            value, origin = _raw_choice(definition, var_options)
        if value is None or origin == "default" or not isinstance(origin, str):
            continue
        name = _variable_name(origin, definition)
        if name is None or (only_prefix is not None and not name.startswith(only_prefix)):
            continue
        chosen[name] = value
        if not origin.startswith("var: ") and name in _RESOLVER_NAMES:
            notes.append("%s from %s (read as %s)" % (option, origin, name))
    return chosen, notes


def _raw_choice(definition: t.Mapping[str, t.Any], var_options: t.Mapping[str, t.Any]) -> t.Tuple[t.Any, str]:
    for entry in reversed(definition.get("vars") or ()):
        if entry["name"] in var_options:
            return var_options[entry["name"]], "var: %s" % entry["name"]
    return None, "default"


def without_injected(variables: t.Mapping[str, t.Any], plugin: str,
                     keys: t.Optional[t.Mapping[str, t.Any]] = None) -> t.Dict[str, t.Any]:
    """The task variables without what ansible-core injected from the plugin's defaults: a variable
    whose value is exactly what the plugin's option would be without it, by default (ansible_port
    5986 of ansible.builtin.winrm). Writing the default explicitly is the same as not writing it."""
    cleaned = dict(variables)
    load_name = _definitions(plugin)[0]
    for name in INJECTED:
        if name not in cleaned:
            continue
        options = C.config.get_plugin_options_from_var("connection", load_name, name)
        if not options:
            continue
        rest = {key: value for key, value in cleaned.items() if key != name}
        try:
            value, origin = C.config.get_config_value_and_origin(
                options[0], plugin_type="connection", plugin_name=load_name, variables=rest, keys=keys)
        except AnsibleError:
            continue
        if origin == "default" and _same(value, cleaned[name]):
            del cleaned[name]
    return cleaned


def _same(default: t.Any, value: t.Any) -> bool:
    """The injected value is the option's typed default (5986); the same in an inventory may be text."""
    return default == value or (default is not None and str(default) == str(value).strip())


def resolver_input(variables: t.Mapping[str, t.Any], connection: t.Optional[str],
                   keys: t.Optional[t.Mapping[str, t.Any]] = None, direct: t.Optional[t.Mapping[str, t.Any]] = None
                   ) -> t.Tuple[t.Mapping[str, t.Any], t.Optional[str], t.List[str]]:
    """(host variables for ``endpoint.resolve``, the connection plugin's FQCN or None, notes).

    With a WinRM connection plugin, only what the user chose reaches the resolver, each option
    under the variable that won in ansible-core's own precedence. With any other connection (or
    none), the variables pass unchanged and the resolver reads every family.
    """
    plugin = winrm_plugin(connection)
    if plugin is None:
        return variables, None, []
    host_vars: t.Dict[str, t.Any] = {}
    if variables.get("inventory_hostname") is not None:
        host_vars["inventory_hostname"] = variables["inventory_hostname"]
    chosen, notes = _choices(plugin, variables, keys, direct=direct)
    host_vars.update(chosen)
    if plugin != OWN_PLUGIN:
        own, own_notes = _choices(OWN_PLUGIN, variables, None, only_prefix=OWN_PREFIX)
        host_vars.update(own)
        notes += own_notes
    if plugin != "ansible.builtin.psrp":
        # ansible.builtin.winrm hands other ansible_winrm_<name> variables to pywinrm (its "extras").
        for name in [name for name in variables if name.startswith("ansible_winrm_") and name not in host_vars]:
            if variables[name] is not None:
                host_vars[name] = variables[name]
    return host_vars, plugin, notes


def winrm_plugin_of(connection: t.Any) -> t.Optional[str]:
    """The FQCN of a loaded connection plugin instance if it is one of the WinRM plugins."""
    if connection is None:
        return None
    identity = (type(connection).__module__, type(connection).__qualname__)
    for name in (OWN_PLUGIN,) + tuple(n for n in WINRM_PLUGINS if n != OWN_PLUGIN):
        if _plugin_identity(name) == identity:
            return name
    return None


@functools.lru_cache(maxsize=8)  # each get() parses the plugin's documentation again
def _plugin_identity(name: str) -> t.Optional[t.Tuple[str, str]]:
    plugin_class = connection_loader.get(name, class_only=True)
    return (plugin_class.__module__, plugin_class.__qualname__) if plugin_class is not None else None


def warm() -> None:
    """Load the WinRM plugins' answers once in this process. Called when an action plugin is
    imported - ansible-core's strategy imports it in the controller's main process - so every
    worker forked from there starts with them instead of parsing each plugin's documentation."""
    for name in WINRM_PLUGINS:
        try:
            _plugin_identity(name)
            _load_name(name)
            _winrm_plugin(name)
        except Exception:  # pylint: disable=broad-except  # a plugin that cannot load is found out later
            continue
