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
read on WMI, which the collection itself uses) is refused unless ``force``. Which SIDs the user
holds is worked out from the local groups (``Win32_GroupUser``): for certain where a group lists the
user by its exact name, possibly where a group has domain members (a domain group's members cannot be
read from the host). A change is refused when the user may have held the right and is not certain to
keep it, unless it takes the right from no SID the user may hold.
"""

from __future__ import annotations

import dataclasses
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


@dataclasses.dataclass(frozen=True)
class UserSids:
    """What the host can tell of the task's user's token: ``certain`` SIDs it holds for sure (the
    well-known ones every remote logon carries, its own SID, the local groups that list it by its exact
    name) and ``possible`` ones it may hold (for a domain user also every local group with a domain
    member, as a domain group's members cannot be read from the host, and any domain SID a descriptor
    names). Certain is a subset of possible."""

    name: str
    certain: t.FrozenSet[str]
    possible: t.FrozenSet[str]
    domain_user: bool
    local_group_sids: t.FrozenSet[str] = frozenset()

    def possible_in(self, descriptor: str) -> t.Set[str]:
        """``possible`` plus, for a domain user, the domain SIDs and domain-relative aliases (DA, DU...) of
        the descriptor: the host cannot tell which domain groups the user is in."""
        extra = set()
        if self.domain_user:
            for grant in sddl.grants(descriptor):
                trustee = grant.trustee
                domain_relative = trustee in sddl.SID_ALIASES and trustee not in ("LA", "LG")
                if domain_relative or (trustee.startswith("S-1-5-21-") and trustee not in self.local_group_sids):
                    extra.add(trustee)
        return set(self.possible) | extra


def _split_user(name: str) -> t.Tuple[str, str, bool]:
    """'DOMAIN\\user' / 'user@dns.domain' / 'user' -> (domain, account, whether the domain is a UPN suffix)."""
    if "\\" in name:
        domain, _sep, account = name.partition("\\")
        return domain, account, False
    if "@" in name:
        account, _sep, domain = name.partition("@")
        return domain, account, True
    return "", name, False


def user_sids(session: t.Any, username: t.Optional[str], groups: computer.LocalGroups,
              trustees: Trustees) -> UserSids:
    """The SIDs the task's user holds for certain and may hold on the host (see UserSids)."""
    name = username or ""
    local = trustees.computer_name.lower()
    domain, account, upn = _split_user(name)
    is_local = domain in ("", ".") or domain.split(".")[0].lower() == local
    # Everyone, Authenticated Users, NETWORK: in every network logon's token; BUILTIN\Users holds
    # Authenticated Users on every Windows install ("Active Directory security groups", Microsoft Learn).
    certain = {EVERYONE, AUTHENTICATED_USERS, NETWORK, USERS}
    possible = set(certain)
    for group in groups.by_sid.values():
        for member in group.members:
            member_domain, _sep, member_name = member.rpartition("\\")
            same_name = member_name.lower() == account.lower()
            if is_local:
                exact = same_name and member_domain.lower() == local
            else:
                # A UPN suffix is a DNS name, Windows lists members by the NetBIOS domain name: no
                # exact match can be proven from the name alone.
                exact = same_name and not upn and member_domain.lower() == domain.lower()
            if exact or _well_known_member(member, certain):
                certain.add(group.sid.upper())
            if exact or (not is_local and (same_name or member_domain.lower() != local)):
                possible.add(group.sid.upper())
    if account and (is_local or not upn):
        own = computer.find_account_sid(session, account if is_local else "%s\\%s" % (domain, account),
                                        trustees.computer_name)
        if own:
            certain.add(own.upper())
            possible.add(own.upper())
    return UserSids(name or "the task's user", frozenset(certain), frozenset(possible), not is_local,
                    frozenset(groups.by_sid))


def _well_known_member(member: str, held: t.Set[str]) -> bool:
    """A local group member such as NT AUTHORITY\\Authenticated Users, which the user holds anyway."""
    try:
        return sddl.resolve_trustee(member) in held
    except ValueError:
        return False


def lockout_reasons(before: model.SessionConfiguration, after: model.SessionConfiguration, root_sddl: t.Optional[str],
                    user: UserSids) -> t.List[str]:
    """Refuse what cannot be proven safe: the user may have had the right (allowed through any SID it
    may hold, denied only through those it surely holds), is not sure to keep it (allowed through SIDs
    it surely holds, denied through any it may hold), and the change takes the right from, or denies
    it to, some SID the user may hold (adding a group takes nothing from anyone)."""
    right_name, right = needed_right(before)
    before_sddl, after_sddl = before.sddl or root_sddl, after.sddl or root_sddl
    possible_before = user.possible_in(before_sddl) if before_sddl else set()
    possible_after = user.possible_in(after_sddl) if after_sddl else set()
    had = before.enabled and bool(before_sddl) and sddl.allows(before_sddl, possible_before, right,
                                                               denied_to=user.certain)
    keeps = after.enabled and bool(after_sddl) and sddl.allows(after_sddl, user.certain, right,
                                                               denied_to=possible_after, unconditional=True)
    if not had or keeps or (after.enabled and _loses_nothing(before_sddl, after_sddl,
                                                             possible_before | possible_after, right)):
        return []
    through = [g for g in sddl.grants(before_sddl) if g.trustee.upper() in possible_before
               and sddl.expand_generic(g.allowed) & right]
    unproven = [g.name for g in through if g.trustee.upper() not in user.certain]
    cause = "disabling it" if before.enabled and not after.enabled else "the new descriptor"
    if unproven and len(unproven) == len(through):
        return ["%s may hold %s on %s through %s (the host cannot list a domain group's members, so it cannot "
                "tell), and %s leaves it no right the host can prove it holds" % (
                    user.name, right_name, before.name, ", ".join(unproven), cause)]
    return ["%s holds %s on %s through %s, and %s takes it away" % (
        user.name, right_name, before.name, ", ".join(g.name for g in through) or "its groups", cause)]


def _loses_nothing(before_sddl: str, after_sddl: t.Optional[str], trustees: t.Set[str], right: int) -> bool:
    """No trustee of ``trustees`` (nor Everyone) is allowed less of ``right`` or denied more of it after."""
    if not after_sddl:
        return False

    def table(descriptor: str, unconditional: bool) -> t.Dict[str, t.Tuple[int, int]]:
        return {g.trustee: (sddl.expand_generic(g.allowed) & right, sddl.expand_generic(g.denied) & right)
                for g in sddl.grants(descriptor, unconditional)}

    # Compared with and without the conditional allows: an allow made conditional is a loss too.
    for unconditional in (False, True):
        old, new = table(before_sddl, unconditional), table(after_sddl, unconditional)
        for trustee in set(trustees) | {EVERYONE}:
            allowed_before, denied_before = old.get(trustee, (0, 0))
            allowed_after, denied_after = new.get(trustee, (0, 0))
            if allowed_before & ~allowed_after or denied_after & ~denied_before:
                return False
    return True


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
