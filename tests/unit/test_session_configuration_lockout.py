# -*- coding: utf-8 -*-
# Copyright: contributors to the wsman.winrm collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The session_configuration anti-lockout guard (plugin_utils/session_configuration.py) on the
microsoft.powershell document Windows registers (the simulator's copy of the registry export).

The host can read its local groups (Win32_GroupUser) but not a domain group's members: a domain user
reached through a domain group may or may not hold a local group, and a change is refused unless it
is proven to leave the user the right it may have had ([MS-WSMV] 3.1.4.1.28: a shell needs GX).
"""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from ansible_collections.wsman.winrm.plugins.module_utils import sddl
from ansible_collections.wsman.winrm.plugins.module_utils.computer import LocalGroup, LocalGroups
from ansible_collections.wsman.winrm.plugins.module_utils.session_configurations import SessionConfiguration, find
from ansible_collections.wsman.winrm.plugins.module_utils.wsman import WSManFault
from ansible_collections.wsman.winrm.plugins.plugin_utils import session_configuration as planner
from winrm_sim.model.accounts import machine_sid
from winrm_sim.model.plugins import default_plugins

COMPUTER = "WS01"
DEFAULT = "O:NSG:BAD:P(A;;GA;;;BA)(A;;GA;;;IU)(A;;GA;;;RM)S:P(AU;FA;GA;;;WD)(AU;SA;GXGW;;;WD)"
WITHOUT_ADMINS = "O:NSG:BAD:P(A;;GA;;;IU)(A;;GA;;;RM)S:P(AU;FA;GA;;;WD)(AU;SA;GXGW;;;WD)"
WITHOUT_RM = "O:NSG:BAD:P(A;;GA;;;BA)(A;;GA;;;IU)S:P(AU;FA;GA;;;WD)(AU;SA;GXGW;;;WD)"


class AccountNotFound:
    """WMI's answer for an account the host cannot resolve: a fault on the Get (no such instance)."""

    def get(self, resource_uri, selectors=None):
        raise WSManFault("The WS-Management service cannot find the resource", code=2150858752)


def trustees():
    found = planner.Trustees(AccountNotFound())
    found._computer_name = COMPUTER      # what Win32_ComputerSystem.Name returns
    return found


def powershell(descriptor=DEFAULT, enabled=True):
    registered = default_plugins("server2022", machine_sid(COMPUTER))
    plugins = [SessionConfiguration(ET.fromstring(text)) for text in registered.values()]
    configuration = find(plugins, "microsoft.powershell")
    assert sddl.equivalent(configuration.sddl, DEFAULT)
    return configuration.with_changes(sddl=descriptor if descriptor != DEFAULT else None,
                                      enabled=enabled if not enabled else None)


def domain_groups(rm_members=("CONTOSO\\helpdesk-jdoe",), admin_members=("CONTOSO\\Domain Admins",)):
    return LocalGroups([
        LocalGroup("Administrators", COMPUTER, "S-1-5-32-544", ["%s\\Administrator" % COMPUTER] + list(admin_members)),
        LocalGroup("Remote Management Users", COMPUTER, "S-1-5-32-580", list(rm_members)),
        LocalGroup("Users", COMPUTER, "S-1-5-32-545", ["CONTOSO\\Domain Users"]),
    ])


def reasons(username, groups, after_sddl=DEFAULT, enabled=True):
    user = planner.user_sids(AccountNotFound(), username, groups, trustees())
    return planner.lockout_reasons(powershell(), powershell(after_sddl, enabled), None, user)


def test_a_domain_admin_through_a_domain_group_cannot_remove_administrators():
    # Remote Management Users has a domain member, but another user: nothing says CONTOSO\ansible is in it.
    (reason,) = reasons("CONTOSO\\ansible", domain_groups(), WITHOUT_ADMINS)
    assert reason.startswith("CONTOSO\\ansible may hold execute on microsoft.powershell through "
                             "BUILTIN\\Administrators"), reason
    assert "the new descriptor leaves it no right the host can prove it holds" in reason
    # Nor disable the configuration.
    assert reasons("CONTOSO\\ansible", domain_groups(), enabled=False)
    # Kerberos inventories name the user by its UPN: the same.
    assert reasons("ansible@contoso.example", domain_groups(), WITHOUT_ADMINS)


def test_a_domain_user_listed_by_name_keeps_its_access():
    user = planner.user_sids(AccountNotFound(), "CONTOSO\\ansible", domain_groups(rm_members=["CONTOSO\\ansible"]),
                             trustees())
    assert "S-1-5-32-580" in user.certain and "S-1-5-32-544" not in user.certain
    assert "S-1-5-32-544" in user.possible
    assert reasons("CONTOSO\\ansible", domain_groups(rm_members=["CONTOSO\\ansible"]), WITHOUT_ADMINS) == []
    # The same name in another domain proves nothing.
    assert reasons("CONTOSO\\ansible", domain_groups(rm_members=["FABRIKAM\\ansible"]), WITHOUT_ADMINS)


@pytest.mark.parametrize("after", [
    str(sddl.add_allow(DEFAULT, "BU", "GX")),            # adding a group takes nothing from anyone
    WITHOUT_RM,                                          # RM holds no domain group and not this user
])
def test_changes_that_take_nothing_the_user_may_hold_pass(after):
    assert reasons("CONTOSO\\ansible", domain_groups(rm_members=[]), after) == []


def test_removing_a_group_with_domain_members_is_not_proven_safe():
    (reason,) = reasons("CONTOSO\\ansible", domain_groups(rm_members=["CONTOSO\\WinRM Operators"]), WITHOUT_RM)
    assert "through BUILTIN\\Administrators, BUILTIN\\Remote Management Users" in reason


def test_a_domain_group_granted_directly_counts_as_possibly_held():
    domain_admins = "S-1-5-21-1004336348-1177238915-682003330-512"
    before = "O:NSG:BAD:P(A;;GA;;;%s)(A;;GA;;;BA)" % domain_admins
    user = planner.user_sids(AccountNotFound(), "CONTOSO\\ansible", domain_groups(admin_members=[]), trustees())
    (reason,) = planner.lockout_reasons(powershell(before), powershell("O:NSG:BAD:P(A;;GA;;;BA)"), None, user)
    assert domain_admins in reason


def test_a_local_user_is_judged_on_what_the_host_lists():
    groups = domain_groups()
    # The local Administrator is listed by name in Administrators: removing RM leaves it BA for certain.
    assert reasons("Administrator", groups, WITHOUT_RM) == []
    (reason,) = reasons("%s\\Administrator" % COMPUTER, groups, WITHOUT_ADMINS)
    assert reason == ("%s\\Administrator holds execute on microsoft.powershell through BUILTIN\\Administrators, "
                      "and the new descriptor takes it away" % COMPUTER)
    # A local user in no group with the right had nothing to lose.
    assert reasons("operator", groups, WITHOUT_ADMINS) == []


def test_a_deny_the_user_may_hold_is_not_proven_safe():
    denied = "O:NSG:BAD:P(D;;GX;;;RM)(A;;GA;;;BA)(A;;GA;;;IU)(A;;GA;;;RM)"
    assert reasons("CONTOSO\\ansible", domain_groups(rm_members=["CONTOSO\\WinRM Operators"]), denied)
    assert reasons("Administrator", domain_groups(), denied) == []   # a local admin is not in RM


def test_a_conditional_allow_does_not_prove_the_user_keeps_its_access():
    # A local administrator; the new descriptor lets Administrators in only when a claim holds
    # (a callback ACE, MS-DTYP 2.4.4.6): the host cannot prove the task's token carries it.
    groups = domain_groups(admin_members=())
    conditional = ('O:NSG:BAD:P(XA;;GA;;;BA;(@User.department == "IT"))(A;;GA;;;IU)(A;;GA;;;RM)'
                   "S:P(AU;FA;GA;;;WD)(AU;SA;GXGW;;;WD)")
    assert reasons("%s\\Administrator" % COMPUTER, groups, conditional)
    # The same rights unconditionally: nothing taken, nothing refused.
    assert not reasons("%s\\Administrator" % COMPUTER, groups, DEFAULT)
