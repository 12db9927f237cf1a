# Copyright (c) 2026 wsman.winrm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""wsman.winrm.policy: the WinRM Group Policy registry values, written through WMI StdRegProv.

The options come from resources.POLICY_SETTINGS through argspecs.policy_options(). One read of
the policy values; when something is to be written, one Get of winrm/config and one Enumerate
of the listeners for the anti-lockout check; then CreateKey + Set<Type>Value or DeleteValue per
value. A value that fails is reported after the values written before it are put back.
"""

from __future__ import annotations

import ipaddress
import typing as t

from ansible_collections.wsman.winrm.plugins.module_utils import argspecs, resources
from ansible_collections.wsman.winrm.plugins.module_utils.wsman import WSManError
from ansible_collections.wsman.winrm.plugins.plugin_utils.wsman_action import ChangeRefused, WSManAction

NOT_CONFIGURED = argspecs.POLICY_NOT_CONFIGURED
_TRUE = {"true", "yes", "on", "1", "enabled"}
_FALSE = {"false", "no", "off", "0", "disabled"}
MAX_DWORD = 0xFFFFFFFF

# CIS level 2 values a host managed over WinRM cannot follow (security-controls.md): written only
# with force. AllowAutoConfig=0 ("Allow remote server management through WinRM" Disabled) stops the
# service answering remote requests, this module's included; AllowRemoteShellAccess=0 leaves
# WS-Man config requests working but refuses every remote shell, which is how ansible.builtin.winrm
# and psrp run every task.
CUTS_REMOTE_MANAGEMENT = {
    ("service", "allow_auto_config"): "CIS 18.10.89.2.2 (level 2): 'Allow remote server management through WinRM' "
                                      "Disabled stops the WinRM service answering remote requests, this controller's "
                                      "included",
    ("winrs", "allow_remote_shell_access"): "CIS 18.10.90.1 (level 2): 'Allow Remote Shell Access' Disabled refuses "
                                            "every remote shell, and ansible.builtin.winrm / psrp run every task in one",
}

# A written value (an int for a DWORD, a str for a string) or None: delete it ("Not Configured").
Write = t.Tuple[resources.PolicySetting, t.Optional[t.Union[int, str]]]


class InvalidValue(ValueError):
    pass


def parse_value(option: argspecs.PolicyOption, raw: t.Any) -> t.Any:
    """A task value in the option's kind; NOT_CONFIGURED for "absent"; InvalidValue names the option."""
    if isinstance(raw, str) and raw.strip().lower() == NOT_CONFIGURED:
        return NOT_CONFIGURED
    if option.kind == "bool":
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, int) and raw in (0, 1):
            return bool(raw)
        if isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
            return raw.strip().lower() in _TRUE
        raise InvalidValue("%s must be true, false (1/0) or absent, got %r" % (option.path, raw))
    if option.kind == "int":
        if not isinstance(raw, bool):
            try:
                number = int(str(raw).strip())
            except ValueError:
                number = -1
            if 0 <= number <= MAX_DWORD:
                return number
        raise InvalidValue("%s must be a whole number from 0 to %d, or absent, got %r" % (option.path, MAX_DWORD, raw))
    if option.kind == "list":
        if isinstance(raw, str):
            items = raw.split(",")
        elif isinstance(raw, (list, tuple)):
            items = list(raw)
        else:
            raise InvalidValue("%s must be a list of host names/addresses (or a comma string), or absent, got %r"
                               % (option.path, raw))
        items = [str(item).strip() for item in items if str(item).strip()]
        if any(item.lower() == NOT_CONFIGURED for item in items):
            raise InvalidValue("%s: give absent alone (not in a list) to remove the policy value" % option.path)
        return items
    if not isinstance(raw, (str, int)) or isinstance(raw, bool):
        raise InvalidValue("%s must be a string or absent, got %r" % (option.path, raw))
    text = str(raw).strip()
    if option.choices:
        for choice in option.choices:
            if choice.lower() == text.lower():
                return choice
        raise InvalidValue("%s must be one of %s, or absent, got %r" % (option.path, ", ".join(option.choices), raw))
    if option.name in ("ipv4_filter", "ipv6_filter"):
        check_ip_filter(option, text)
    return text


def check_ip_filter(option: argspecs.PolicyOption, text: str) -> None:
    """'*', empty (listen nowhere) or ranges 'first-last' / addresses of the right family, comma separated.

    Windows reads a malformed filter as empty, i.e. the service listens on no address."""
    version = 6 if option.name == "ipv6_filter" else 4
    if not text or "*" in [part.strip() for part in text.split(",")]:
        return  # empty: nowhere; '*' anywhere: every address, the ranges are ignored
    for part in text.split(","):
        bounds = [bound.strip() for bound in part.split("-")]
        try:
            addresses = [ipaddress.ip_address(bound) for bound in bounds]
        except ValueError:
            addresses = []
        if not 1 <= len(addresses) <= 2 or any(a.version != version for a in addresses) \
                or (len(addresses) == 2 and addresses[0] > addresses[1]):
            raise InvalidValue("%s must be '*', empty, or IPv%d addresses and ranges 'first-last' separated by commas "
                               "(Windows reads anything else as empty and listens nowhere), got %r"
                               % (option.path, version, text))


def desired_options(args: t.Mapping[str, t.Any]) -> list[tuple[argspecs.PolicyOption, t.Any]]:
    """(option, value) for every option the task names, in the table's order; errors name the option."""
    named, errors = [], []
    for scope, options in argspecs.policy_options().items():
        values = args if scope == argspecs.POLICY_TOP_LEVEL else (args.get(scope) or {})
        for name, option in options.items():
            raw = values.get(name)
            if raw is None:
                continue
            if args["state"] == "absent":
                named.append((option, NOT_CONFIGURED))
                continue
            try:
                named.append((option, parse_value(option, raw)))
            except InvalidValue as error:
                errors.append(str(error))
    if args["state"] == "present":
        by_path = {option.path: value for option, value in named}
        for name in ("ipv4_filter", "ipv6_filter"):
            if by_path.get("service." + name) not in (None, NOT_CONFIGURED) and by_path.get("service.allow_auto_config") \
                    is not True:
                errors.append("service.%s belongs to the policy 'Allow remote server management through WinRM': "
                              "set service.allow_auto_config: true in the same task" % name)
    if errors:
        raise InvalidValue("; ".join(errors))
    return named


def writes_for(option: argspecs.PolicyOption, value: t.Any) -> list[Write]:
    """The registry writes for one option (write_order() puts them in a safe order)."""
    if value == NOT_CONFIGURED:
        return [(setting, None) for setting in option.settings]
    if option.kind == "list":
        data: t.Any = ",".join(value)
    elif option.kind == "bool":
        data = 1 if value else 0
    else:
        data = value
    writes: list[Write] = [(option.value, data)]
    if option.switch is not None:
        writes.append((option.switch, 1))
    return writes


def is_gate(setting: resources.PolicySetting) -> bool:
    """A DWORD that switches other table values on: every setting those values control, it controls
    too (TrustedHosts -> TrustedHostsList, CBTHardeningLevelStatus -> CbtHardeningLevel,
    AllowAutoConfig -> IPv4Filter and IPv6Filter)."""
    return setting.type == "DWORD" and any(
        other is not setting and other.controls and set(other.controls) <= set(setting.controls)
        for other in resources.POLICY_SETTINGS)


def write_order(writes: t.Sequence[Write]) -> list[Write]:
    """The order that never passes through a state worse than before or after: switches off
    first, then the values they switch, then switches on. Writing AllowAutoConfig=1 before its
    filters would leave the service listening on no address for a moment, and cut this session."""
    def rank(write: Write) -> int:
        setting, data = write
        if is_gate(setting):
            return 0 if data is None else 3
        return 1 if data is not None else 2
    return sorted(writes, key=rank)


def same_value(option: argspecs.PolicyOption, setting: resources.PolicySetting, current: t.Any, wanted: t.Any) -> bool:
    if current is None or wanted is None:
        return current is None and wanted is None
    if setting.type == "DWORD":
        return int(current) == int(wanted)
    if option.kind == "list" and setting is option.value:  # Windows reads the list, not its spelling
        def items(text: str) -> list[str]:
            return sorted(item.strip().lower() for item in str(text).split(",") if item.strip())
        return items(current) == items(wanted)
    if option.choices:
        return str(current).lower() == str(wanted).lower()
    return str(current) == str(wanted)


def effective_settings(values: t.Mapping[tuple[str, str], t.Any]) -> dict[str, t.Any]:
    """winrm/config paths -> the value the configured policy values give them (Windows' reading)."""
    def configured(key: str, name: str) -> t.Any:
        setting = resources.policy_setting(key, name)
        return values.get((setting.key, setting.name))

    effective: dict[str, t.Any] = {}
    for scope, options in argspecs.policy_options().items():
        for option in options.values():
            if option.switch is not None:
                if configured(option.switch.key, option.switch.name) == 1:
                    text = configured(option.value.key, option.value.name) or ""
                    for path in option.value.controls:
                        effective[path] = text
            elif option.value.type == "DWORD" and option.kind in ("bool", "int"):
                data = configured(option.value.key, option.value.name)
                if data is None:
                    continue
                for path in option.value.controls:
                    try:
                        kind = resources.WinRMConfig.field(path).kind
                    except KeyError:
                        continue
                    if kind is bool:
                        effective[path] = bool(data)
                    elif kind is int:
                        effective[path] = int(data)
    # "Allow remote server management through WinRM" Enabled: its filters replace the local ones
    # (an absent filter is empty: the service listens nowhere).
    if configured("Service", "AllowAutoConfig") == 1:
        effective["service.ipv4_filter"] = configured("Service", "IPv4Filter") or ""
        effective["service.ipv6_filter"] = configured("Service", "IPv6Filter") or ""
    return effective


def diff_view(writes: t.Sequence[Write], values: t.Mapping[tuple[str, str], t.Any]) -> dict[str, t.Any]:
    """Full registry path -> value (None = Not Configured) of every value the task touches."""
    return {"%s\\%s" % (setting.path, setting.name): values.get((setting.key, setting.name))
            for setting, _value in writes}


class ActionModule(WSManAction):
    argument_spec = argspecs.POLICY["argument_spec"]

    def execute(self, session, args: dict[str, t.Any], task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        try:
            named = desired_options(args)
        except InvalidValue as error:
            return dict(failed=True, msg="Invalid policy values: %s. Nothing was sent." % error)
        if not named:
            return dict(failed=True, msg="Name at least one policy value (client, service, winrs or "
                                         "local_account_token_filter_policy). Nothing was sent.")

        result: dict[str, t.Any] = {}
        before = resources.PolicyValues.read(session)
        writes = [write for option, value in named for write in writes_for(option, value)]
        to_send = write_order([(setting, data) for setting, data in writes
                               if not same_value(self._option_of(named, setting), setting,
                                                 before.values.get((setting.key, setting.name)), data)])
        self._refuse_remote_management_cuts(named, to_send, args["force"], result)
        after_values = dict(before.values)
        for setting, data in to_send:
            if data is None:
                after_values.pop((setting.key, setting.name), None)
            else:
                after_values[(setting.key, setting.name)] = data

        if any(data is not None for _setting, data in to_send):
            self._guard(session, before.values, after_values, args["force"], result)
        if to_send and not self._task.check_mode:
            self._apply(session, to_send, before.values)

        after = resources.PolicyValues(after_values)
        result.update(changed=bool(to_send), before=before.to_list(), policy=after.to_list(),
                      changes=["%s\\%s" % (s.path, s.name) for s, _data in to_send])
        if self._task.diff:
            result["diff"] = {"before": diff_view(writes, before.values), "after": diff_view(writes, after_values),
                              "before_header": "WinRM policy values", "after_header": "WinRM policy values"}
        return result

    @staticmethod
    def _option_of(named, setting: resources.PolicySetting) -> argspecs.PolicyOption:
        return next(option for option, _value in named if setting in option.settings)

    def _refuse_remote_management_cuts(self, named, to_send: t.Sequence[Write], force: bool,
                                       result: dict[str, t.Any]) -> None:
        """Refuse writing the CIS level 2 values that cut remote management, unless forced."""
        sent = {setting for setting, data in to_send if data == 0}
        cuts = ["%s: false (%s)" % (option.path, CUTS_REMOTE_MANAGEMENT[(option.scope, option.name)])
                for option, value in named
                if (option.scope, option.name) in CUTS_REMOTE_MANAGEMENT and option.value in sent]
        self.refuse_unless_forced(
            cuts, force, result, refusal="Refusing policy values that cut remote management of this host",
            advice="A host managed over WinRM cannot follow these controls; record them as deliberate deviations, "
                   "or set force: true if the host will be managed another way. Nothing was sent.",
            forced="these policy values cut remote management of this host")

    def _guard(self, session, before_values, after_values, force: bool, result: dict[str, t.Any]) -> None:
        """The anti-lockout check on the settings the new policy values will force.

        Removing a value ("Not Configured") gives the local setting back, which Windows does not
        show while the policy is set, so removals cannot be checked and are not refused."""
        snapshot = resources.read_all(session, parts={"config", "listeners"})
        changed = {path: value for path, value in effective_settings(after_values).items()
                   if effective_settings(before_values).get(path, object()) != value}
        config_after = snapshot.config.copy()
        for path, value in changed.items():
            try:
                config_after.set(path, value)
            except ValueError:
                continue  # a malformed policy string: Windows reads it as unset; nothing to predict
        listeners_after = [
            listener for listener in snapshot.listeners
            if not (listener.is_compatibility and config_after.get(
                "service.enable_compatibility_%s_listener" % (listener.get("transport") or "").lower()) is False)
        ]
        self.guard_lockout(session, config_after, snapshot.listeners, listeners_after, force, result,
                           config_before=snapshot.config)

    @staticmethod
    def _apply(session, to_send: t.Sequence[Write], before_values) -> None:
        """Write in order; on a failure put back what was written, then report."""
        done: list[resources.PolicySetting] = []
        for setting, data in to_send:
            try:
                if data is None:
                    code = resources.registry_delete_value(session, setting.key, setting.name)
                else:
                    code = resources.registry_set_value(session, setting.key, setting.name, setting.type, data)
            except WSManError as error:
                restored = ActionModule._restore(session, done, before_values)
                error.message = "writing %s\\%s failed: %s (%s)" % (setting.path, setting.name, error.message, restored)
                raise
            if code != 0:
                restored = ActionModule._restore(session, done, before_values)
                raise ChangeRefused(
                    "StdRegProv could not write %s\\%s (ReturnValue %d%s); %s. The account needs write access to "
                    "HKLM\\SOFTWARE\\Policies (a local administrator)." % (
                        setting.path, setting.name, code, ", access denied" if code == 5 else "", restored))
            done.append(setting)

    @staticmethod
    def _restore(session, done: t.Sequence[resources.PolicySetting], before_values) -> str:
        failed = []
        for setting in reversed(done):
            old = before_values.get((setting.key, setting.name))
            try:
                if old is None:
                    code = resources.registry_delete_value(session, setting.key, setting.name)
                else:
                    code = resources.registry_set_value(session, setting.key, setting.name, setting.type, old)
            except WSManError:
                code = -1
            if code != 0:
                failed.append("%s\\%s" % (setting.path, setting.name))
        if not done:
            return "nothing had been written"
        if failed:
            return "could not put back " + ", ".join(failed) + ": check them"
        return "the %d value(s) written before it were put back" % len(done)
