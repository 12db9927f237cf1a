# Copyright (c) 2026 wsman.winrm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""wsman.winrm.session_configuration: the plan for one session configuration's descriptor, Enabled and quotas.

What ``Set-PSSessionConfiguration -SecurityDescriptorSddl`` / ``Enable-`` / ``Disable-PSSessionConfiguration``
and the ``WSMan:\\localhost\\Plugin\\<name>\\Quotas`` items do, through WS-Man: a Get of
``winrm/config/plugin?Name=<name>``, the edit, a Put of the whole document (PowerShell's WSMan
provider, ``ConfigProvider.SetItem``). The descriptor applies at once; Enabled and quotas when the
WinRM service restarts, which Set-PSSessionConfiguration does and this module does not (it would cut
its own connection): the result says ``restart_required``.

Anti-lockout: a change that takes away the right the task's own user holds on an endpoint the
controller relies on (execute on the PowerShell configuration ``ansible.builtin.psrp`` connects to;
read on WMI, which the collection itself uses) is refused unless ``force``. Which SIDs the user holds is worked out from the local groups
(``Win32_GroupUser``): a local group with domain members is assumed to hold a domain user, since a
domain group's members cannot be read from the host.
"""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleActionFail

from ansible_collections.wsman.winrm.plugins.module_utils import computer, plan, sddl
from ansible_collections.wsman.winrm.plugins.module_utils import session_configurations as model
from ansible_collections.wsman.winrm.plugins.module_utils.access import AUTHENTICATED_USERS, EVERYONE, NETWORK, USERS

RIGHTS = {"full": sddl.GENERIC_ALL, "read": sddl.GENERIC_READ, "write": sddl.GENERIC_WRITE,
          "execute": sddl.GENERIC_EXECUTE}
# The global WinRS settings that cap a session configuration's own quota (PowerShell's WSMan
# provider warns when a per-plugin quota exceeds them): quota option -> winrm/config/winrs setting.
GLOBAL_QUOTAS = {"idle_timeout_ms": "idle_timeout", "max_concurrent_users": "max_concurrent_users",
                 "max_processes_per_shell": "max_processes_per_shell",
                 "max_memory_per_shell_mb": "max_memory_per_shell_mb", "max_shells_per_user": "max_shells_per_user"}
RESTART_NOTE = ("Enabled and quotas take effect when the WinRM service restarts (Restart-Service WinRM, or the next "
                "reboot); Set-PSSessionConfiguration restarts it, this module does not, as that would cut its own "
                "connection. The descriptor applies at once.")


def needed_right(configuration: model.SessionConfiguration) -> t.Tuple[str, int]:
    """The right a connection needs: a shell (execute) on a PowerShell endpoint, read elsewhere."""
    if configuration.kind == "powershell":
        return "execute", sddl.GENERIC_EXECUTE
    return "read", sddl.GENERIC_READ


def check_quotas(quotas: t.Optional[t.Mapping[str, t.Any]]) -> t.Dict[str, int]:
    wanted = {name: value for name, value in (quotas or {}).items() if value is not None}
    for name, value in wanted.items():
        if not 0 <= int(value) <= model.MAX_QUOTA:
            raise AnsibleActionFail("quotas.%s must be between 0 and %d, got %s" % (name, model.MAX_QUOTA, value))
    return {name: int(value) for name, value in wanted.items()}


class Trustees:
    """Names in the task's arguments -> SIDs: well-known ones offline, the others over WMI."""

    def __init__(self, session: t.Any):
        self.session = session
        self._computer_name: t.Optional[str] = None

    @property
    def computer_name(self) -> str:
        if self._computer_name is None:
            self._computer_name = computer.read_system(self.session, operating_system=False).computer_name or ""
        return self._computer_name

    def sid(self, name: str, option: str) -> str:
        try:
            return sddl.resolve_trustee(name)
        except ValueError:
            pass
        found = computer.find_account_sid(self.session, name, self.computer_name)
        if found is None:
            raise AnsibleActionFail(
                "%s: no account or group named %r on %s (looked up with Win32_Group and Win32_UserAccount). Give "
                "DOMAIN\\name for a domain account, a well-known name (BUILTIN\\Remote Management Users), an SDDL "
                "alias (RM) or the SID." % (option, name, self.computer_name or "the host"))
        return found


def desired_sddl(current: t.Optional[str], args: t.Mapping[str, t.Any], trustees: Trustees,
                 root_sddl: t.Optional[str]) -> t.Optional[str]:
    """The descriptor the task asks for (``sddl`` replaces, then ``access`` entries in order); None
    when it asks for nothing. A configuration without its own descriptor starts from RootSDDL,
    which is what guarded it until now."""
    if args.get("sddl") is None and not args.get("access"):
        return None
    base = args.get("sddl") if args.get("sddl") is not None else (current or root_sddl)
    try:
        descriptor = sddl.parse(base)
    except sddl.SddlError as error:
        option = "sddl" if args.get("sddl") is not None else "the current descriptor"
        raise AnsibleActionFail("%s is not a security descriptor Windows accepts: %s (Windows would answer fault "
                                "2150859100)" % (option, error)) from None
    for index, entry in enumerate(args.get("access") or []):
        who = trustees.sid(entry["trustee"], "access[%d].trustee" % index)
        rights = entry.get("rights")
        mask = 0
        for right in rights or ["full"]:
            mask |= RIGHTS[right]
        if entry.get("state", "present") == "present":
            descriptor = sddl.add_allow(descriptor, who, mask)
        else:
            descriptor = sddl.remove_allow(descriptor, who, mask if rights else None)
    return descriptor.render()


def user_sids(session: t.Any, username: t.Optional[str], groups: computer.LocalGroups,
              trustees: Trustees) -> t.Tuple[t.Set[str], str]:
    """The SIDs the task's user may hold on the host, and how the user is named in messages."""
    name = username or ""
    local = trustees.computer_name.lower()
    if "\\" in name:
        domain, _sep, account = name.partition("\\")
    elif "@" in name:
        account, _sep, domain = name.partition("@")
    else:
        domain, account = "", name
    is_local = domain in ("", ".") or domain.split(".")[0].lower() == local
    sids = {EVERYONE, AUTHENTICATED_USERS, NETWORK, USERS}
    for group in groups.by_sid.values():
        for member in group.members:
            member_domain, _sep, member_name = member.rpartition("\\")
            same_name = member_name.lower() == account.lower()
            if (is_local and same_name and member_domain.lower() == local) or \
                    (not is_local and (same_name or member_domain.lower() != local)):
                sids.add(group.sid.upper())
    if is_local and account:
        own = computer.find_account_sid(session, account, trustees.computer_name)
        if own:
            sids.add(own.upper())
    return sids, name or "the task's user"


def lockout_reasons(before: model.SessionConfiguration, after: model.SessionConfiguration, root_sddl: t.Optional[str],
                    sids: t.Set[str], user: str) -> t.List[str]:
    right_name, right = needed_right(before)
    before_sddl, after_sddl = before.sddl or root_sddl, after.sddl or root_sddl
    had = before.enabled and bool(before_sddl) and sddl.allows(before_sddl, sids, right)
    keeps = after.enabled and bool(after_sddl) and sddl.allows(after_sddl, sids, right)
    if not had or keeps:
        return []
    through = [g.name for g in sddl.grants(before_sddl)
               if g.trustee.upper() in sids and sddl.expand_generic(g.allowed) & right]
    cause = "disabling it" if before.enabled and not after.enabled else "the new descriptor"
    return ["%s holds %s on %s through %s, and %s takes it away" % (
        user, right_name, before.name, ", ".join(through) or "its groups", cause)]


def view(configuration: model.SessionConfiguration) -> t.Dict[str, t.Any]:
    """What the result and the diff show of a configuration."""
    descriptor = configuration.sddl
    access = []
    if descriptor:
        for grant in sddl.grants(descriptor):
            access.append("%s: %s%s" % (grant.name, ", ".join(grant.winrm_permissions()) or "nothing",
                                        " (denied %s)" % sddl.render_rights(grant.denied) if grant.denied else ""))
    return {"name": configuration.name, "enabled": configuration.enabled, "sddl": descriptor,
            "access": access, "quotas": configuration.quotas, "run_as_user": configuration.run_as_user or None}


def same(first: model.SessionConfiguration, second: model.SessionConfiguration) -> bool:
    descriptors_match = (first.sddl == second.sddl) or bool(
        first.sddl and second.sddl and sddl.equivalent(first.sddl, second.sddl))
    return descriptors_match and first.enabled == second.enabled and first.quotas == second.quotas


def plan_change(session: t.Any, before: model.SessionConfiguration, sddl_after: t.Optional[str],
                enabled: t.Optional[bool], quotas: t.Mapping[str, int]) -> plan.Plan:
    """One Put of the whole document when something differs; undo is the document as it was."""
    changes = []
    new_sddl = None
    if sddl_after is not None and not (before.sddl and sddl.equivalent(before.sddl, sddl_after)):
        new_sddl = sddl_after
        changes.append("sddl")
    new_enabled = enabled if enabled is not None and enabled != before.enabled else None
    if new_enabled is not None:
        changes.append("enabled")
    current_quotas = before.quotas
    new_quotas = {name: value for name, value in quotas.items() if current_quotas.get(name) != value}
    changes += ["quotas.%s" % name for name in sorted(new_quotas)]
    after = before.with_changes(sddl=new_sddl, enabled=new_enabled, quotas=new_quotas)
    change = plan.Plan(before=view(before), after=view(after), header="session configuration %s" % before.name,
                       predicted=after)
    if not changes:
        return change
    step_name = "session configuration %s" % before.name
    restore = before.with_changes()

    def send() -> model.SessionConfiguration:
        return model.put(session, after)

    def undo() -> None:
        model.put(session, restore)

    def applied() -> bool:
        return same(model.read(session, before.name), after)

    change.add(plan.Step(step_name, changes, send, undo, applied))
    change.finish = lambda answers: view(answers[step_name])
    return change
