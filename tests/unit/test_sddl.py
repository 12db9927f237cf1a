# -*- coding: utf-8 -*-
# Copyright: contributors to the wsman.winrm collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""SDDL parsing, rendering, comparison, grants and ACE editing (module_utils/sddl.py).

The descriptors are the ones WinRM ships: the RootSDDL default of [MS-WSMV] 2.2.4.36, the RootSDDL
of a current Windows Server (reference wsman-config-facts) and the Microsoft.PowerShell session
configuration's default.
"""
from __future__ import annotations

import pytest

from ansible_collections.wsman.winrm.plugins.module_utils import sddl
from ansible_collections.wsman.winrm.plugins.module_utils.sddl import SddlError, parse

MS_WSMV_DEFAULT = "O:NSG:BAD:P(A;;GA;;;BA)S:P(AU;FA;GA;;;WD)(AU;SA;GWGX;;;WD)"
ROOT_SDDL = "O:NSG:BAD:P(A;;GA;;;BA)(A;;GR;;;IU)S:P(AU;FA;GA;;;WD)(AU;SA;GXGW;;;WD)"
POWERSHELL = "O:NSG:BAD:P(A;;GA;;;BA)(A;;GA;;;RM)(A;;GA;;;IU)S:P(AU;FA;GA;;;WD)(AU;SA;GXGW;;;WD)"


def test_root_sddl_parses_into_its_parts():
    sd = parse(ROOT_SDDL)
    assert sd.owner == "S-1-5-20" and sd.group == "S-1-5-32-544"
    assert sd.dacl.flags == {"P"} and sd.sacl.flags == {"P"}
    ba, iu = sd.dacl.aces
    assert (ba.type, ba.flags, ba.mask, ba.trustee) == ("A", frozenset(), sddl.GENERIC_ALL, "S-1-5-32-544")
    assert (iu.mask, iu.trustee) == (sddl.GENERIC_READ, "S-1-5-4")
    failure, success = sd.sacl.aces
    assert failure.type == "AU" and failure.flags == {"FA"} and failure.trustee == "S-1-1-0"
    assert success.flags == {"SA"} and success.mask == sddl.GENERIC_EXECUTE | sddl.GENERIC_WRITE


@pytest.mark.parametrize("text, rendered", [
    (ROOT_SDDL, "O:NSG:BAD:P(A;;GA;;;BA)(A;;GR;;;IU)S:P(AU;FA;GA;;;WD)(AU;SA;GWGX;;;WD)"),
    (MS_WSMV_DEFAULT, MS_WSMV_DEFAULT),
    ("O:S-1-5-20G:S-1-5-32-544D:P(A;;0x10000000;;;S-1-5-32-544)", "O:NSG:BAD:P(A;;GA;;;BA)"),
    ("D:AIP(A;CIOI;FA;;;SY)", "D:PAI(A;OICI;FA;;;SY)"),
    ("D:(A;;268435456;;;BA)(A;;020000000000;;;IU)", "D:(A;;GA;;;BA)(A;;GR;;;IU)"),       # decimal, octal
    ("D:(A;;0x1200a9;;;WD)", "D:(A;;0x1200a9;;;WD)"),                                   # no code for 0x20
    ("D:(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;S-1-5-21-1004336348-1177238915-682003330-512)",
     "D:(A;;RCSDWDWORPWPCCDCLCSWLODTCR;;;S-1-5-21-1004336348-1177238915-682003330-512)"),
    ("D:(A;;RPWPCCDCLCSWRCWDWOSD;;;SY)", "D:(A;;KA;;;SY)"),                           # 0xF003F is exactly KA
    ("D:(A;;GA;;;DA)", "D:(A;;GA;;;DA)"),                                               # domain-relative alias
    ("D:(OA;;CR;;;BA)", "D:(A;;CR;;;BA)"),                                              # OA without GUIDs is A
    ("D:(OA;CI;RP;4C164200-20C0-11D0-A768-00AA006E0529;BF967ABA-0DE6-11D0-A285-00AA003049E2;RS)",
     "D:(OA;CI;RP;4c164200-20c0-11d0-a768-00aa006e0529;bf967aba-0de6-11d0-a285-00aa003049e2;RS)"),
    ("S:(ML;;NW;;;LW)", "S:(ML;;NW;;;LW)"),                                             # label bits, not DC
    ("O:S-1-0x000000000005-32-544", "O:BA"),                                            # hex authority
    ("D:", "D:"), ("D:P", "D:P"), ("D:NO_ACCESS_CONTROL", "D:NO_ACCESS_CONTROL"),
    ("  O:SY  ", "O:SY"),
])
def test_canonical_rendering(text, rendered):
    assert sddl.canonical(text) == rendered
    assert sddl.canonical(rendered) == rendered            # canonical is a fixed point


def test_conditional_and_resource_attribute_aces_keep_their_expression():
    text = 'D:(XA;;FX;;;WD;(@User.Title=="PM (acting)" && (@User.Division=="Finance")))'
    sd = parse(text)
    (ace,) = sd.dacl.aces
    assert ace.type == "XA" and ace.extra == '(@User.Title=="PM (acting)" && (@User.Division=="Finance"))'
    assert sd.render() == text
    attribute = 'S:(RA;CI;;;;S-1-1-0;("Project",TS,0,"Windows","SQL"))'
    assert sddl.canonical(attribute) == 'S:(RA;CI;;;;WD;("Project",TS,0,"Windows","SQL"))'


def test_equivalent_ignores_spelling_not_meaning():
    assert sddl.equivalent(ROOT_SDDL, "O:S-1-5-20G:BAD:P(A;;GA;;;S-1-5-32-544)(A;;0x80000000;;;IU)"
                                      "S:P(AU;FA;GA;;;S-1-1-0)(AU;SA;GWGX;;;WD)")
    assert not sddl.equivalent(ROOT_SDDL, MS_WSMV_DEFAULT)
    # ACE order is meaning (Windows evaluates ACEs in order): not equivalent.
    assert not sddl.equivalent("D:(A;;GA;;;BA)(D;;GA;;;BA)", "D:(D;;GA;;;BA)(A;;GA;;;BA)")
    assert sddl.equivalent(parse("D:PAI"), "D:AIP")


@pytest.mark.parametrize("text, position, message", [
    ("O:NSG:BAD:P(A;;GA;;;BA)garbage", 23, "unexpected text after the DACL"),
    ("O:NSG:BAD:P(A;;GA;;;BA)(A;;GR;;;IU)S:P(AU;FA;GA;;;WD)x", 53, "unexpected text after the SACL"),
    ("O:BAx", 4, "unexpected text after the owner"),
    ("D:(A;;GA;;;QQ)", 11, "unknown SID alias 'QQ'"),
    ("O:QQ", 2, "unknown SID alias 'QQ' for the owner"),
    ("D:(A;;GA;;BA)", 2, "has 6 fields"),
    ("D:(A;;GA;;;BA;(x))", 2, "has 6 fields"),
    ("D:(XA;;GA;;;BA)", 2, "has 7 fields"),
    ("D:(Q;;GA;;;BA)", 3, "unknown ACE type 'Q'"),
    ("D:(A;XX;GA;;;BA)", 5, "unknown ACE flag 'XX'"),
    ("D:(A;C;GA;;;BA)", 5, "two-letter codes"),
    ("D:(A;;GAZZ;;;BA)", 8, "unknown right 'ZZ'"),
    ("D:(A;;G;;;BA)", 6, "rights are two-letter codes"),
    ("D:(A;;0x123456789;;;BA)", 6, "rights are two-letter codes"),
    ("D:(A;;4294967296;;;BA)", 6, "does not fit in 32 bits"),
    ("D:(A;;GA;;;BA", 2, "not closed"),
    ("D:(OA;;RP;not-a-guid;;BA)", 10, "not a GUID"),
    ("D:(A;;RP;4c164200-20c0-11d0-a768-00aa006e0529;;BA)", 9, "only object ACEs"),
    ("D:(AU;SA;GA;;;WD)", 3, "belongs in the SACL"),
    ("S:(A;;GA;;;WD)", 3, "belongs in the DACL"),
    ("D:(A;;GA;;;BAX)", 13, "unexpected text after the ACE's trustee"),
    ("D:(A;;GA;;;)", 11, "expected the ACE's trustee"),
    ("D:(A;;GA;;;S-1-5-99999999999)", 11, "out of range"),
    ("D:(A;;GA;;;S-1-)", 11, "expected the ACE's trustee as a SID"),
    ("D:(A;;GA;;;S-1-5-4294967296)", 11, "out of range"),
    ("O:BAO:SY", 4, "the owner appears twice"),
    ("X:BA", 0, "expected O:, G:, D: or S:"),
    ("", 0, "empty"),
])
def test_errors_name_the_position(text, position, message):
    with pytest.raises(SddlError, match=message) as caught:
        parse(text)
    assert caught.value.position == position
    assert "at character %d" % (position + 1) in str(caught.value)


def test_error_text_quotes_where_it_went_wrong():
    with pytest.raises(SddlError) as caught:
        parse("O:NSG:BAD:P(A;;GA;;;BA)garbage")
    assert str(caught.value) == ("invalid SDDL at character 24 (near 'garbage'): unexpected text after the "
                                 "DACL; a new part starts with O:, G:, D: or S:")


def test_grants_of_root_sddl_in_winrm_terms():
    table = {g.trustee: g.to_dict() for g in sddl.grants(ROOT_SDDL)}
    assert table == {
        "S-1-5-32-544": {"trustee": "BA", "sid": "S-1-5-32-544", "name": "BUILTIN\\Administrators", "rights": "GA",
                         "denied": None, "winrm": ["read", "write", "execute"]},
        "S-1-5-4": {"trustee": "IU", "sid": "S-1-5-4", "name": "NT AUTHORITY\\INTERACTIVE", "rights": "GR",
                    "denied": None, "winrm": ["read"]},
    }


def test_grants_of_the_powershell_session_configuration():
    names = [(g.name, g.rights) for g in sddl.grants(POWERSHELL)]
    assert names == [("BUILTIN\\Administrators", "GA"), ("BUILTIN\\Remote Management Users", "GA"),
                     ("NT AUTHORITY\\INTERACTIVE", "GA")]


def test_grants_apply_denies_and_skip_inherit_only():
    table = {g.trustee: g for g in sddl.grants("D:(D;;GX;;;NU)(A;;GA;;;NU)(A;CIIO;GA;;;CO)(A;;GRGX;;;DA)")}
    assert table["S-1-5-2"].winrm_permissions() == ["read", "write"]
    assert table["S-1-5-2"].to_dict()["denied"] == "GX"
    assert "S-1-3-0" not in table                              # inherit-only: not on the object itself
    assert table["DA"].to_dict() == {"trustee": "DA", "sid": None, "name": "Domain Admins (domain)",
                                     "rights": "GRGX", "denied": None, "winrm": ["read", "execute"]}


def test_null_and_empty_dacl():
    assert [g.to_dict()["winrm"] for g in sddl.grants("O:BA")] == [["read", "write", "execute"]]
    assert sddl.grants("O:BAD:") == []


def test_allows_follows_denies_on_everyone():
    assert sddl.allows(ROOT_SDDL, ["BA"], sddl.GENERIC_EXECUTE)
    assert not sddl.allows(ROOT_SDDL, ["IU"], sddl.GENERIC_EXECUTE)
    assert sddl.allows(ROOT_SDDL, ["IU", "S-1-5-32-544"], sddl.GENERIC_WRITE)
    assert not sddl.allows("D:(D;;GW;;;WD)(A;;GA;;;BA)", ["BA"], sddl.GENERIC_WRITE)
    assert sddl.allows("D:(D;;GW;;;WD)(A;;GA;;;BA)", ["BA"], sddl.GENERIC_READ)


def test_allows_with_denies_of_other_trustees():
    # A token known in part: allowed through BA, denied through whatever it may also hold (RM).
    descriptor = "D:(D;;GX;;;RM)(A;;GA;;;BA)"
    assert sddl.allows(descriptor, ["BA"], sddl.GENERIC_EXECUTE)
    assert not sddl.allows(descriptor, ["BA"], sddl.GENERIC_EXECUTE, denied_to=["BA", "RM"])
    assert sddl.allows(descriptor, ["BA", "RM"], sddl.GENERIC_EXECUTE, denied_to=["BA"])


@pytest.mark.parametrize("trustee", ["RM", "S-1-5-32-580", "BUILTIN\\Remote Management Users",
                                     "remote management users"])
def test_add_allow_then_remove_gives_back_the_original(trustee):
    granted = sddl.add_allow(ROOT_SDDL, trustee, "GA")
    assert granted.render() == "O:NSG:BAD:P(A;;GA;;;BA)(A;;GR;;;IU)(A;;GA;;;RM)S:P(AU;FA;GA;;;WD)(AU;SA;GWGX;;;WD)"
    assert sddl.add_allow(granted, trustee, "GA") == granted                    # idempotent
    assert sddl.add_allow(granted, trustee, "GR") == granted                    # GA covers GR
    assert sddl.equivalent(sddl.remove_allow(granted, trustee), ROOT_SDDL)


def test_add_allow_widens_and_keeps_inherited_aces_last():
    assert sddl.add_allow(ROOT_SDDL, "IU", "GX").dacl.render() == "P(A;;GA;;;BA)(A;;GRGX;;;IU)"
    inherited = sddl.add_allow("D:AI(A;ID;GA;;;SY)", "S-1-5-21-1-2-3-1001", 0x80000000)
    assert inherited.render() == "D:AI(A;;GR;;;S-1-5-21-1-2-3-1001)(A;ID;GA;;;SY)"
    assert sddl.add_allow("O:BA", "BA").render() == "O:BAD:(A;;GA;;;BA)"


def test_remove_allow_partial_rights_and_untouched_others():
    assert sddl.remove_allow(POWERSHELL, "IU", "GW").dacl.render() == "P(A;;GA;;;BA)(A;;GA;;;RM)(A;;GRGX;;;IU)"
    assert sddl.remove_allow(ROOT_SDDL, "IU", "GR").dacl.render() == "P(A;;GA;;;BA)"
    assert sddl.remove_allow(ROOT_SDDL, "RM") == parse(ROOT_SDDL)                # nothing to remove
    assert sddl.remove_allow("D:(A;ID;GA;;;RM)", "RM").render() == "D:(A;ID;GA;;;RM)"   # inherited: not ours


def test_unknown_trustee_names_say_to_use_a_sid():
    with pytest.raises(ValueError, match="give a domain or local account by its SID"):
        sddl.add_allow(ROOT_SDDL, "CONTOSO\\WinRM Admins")


def test_names_of_trustees():
    assert sddl.trustee_name("S-1-5-32-544") == "BUILTIN\\Administrators"
    assert sddl.trustee_name("WD") == "Everyone"
    assert sddl.trustee_name("S-1-5-21-1-2-3-500") == "S-1-5-21-1-2-3-500"
    assert sddl.resolve_trustee("s-1-5-32-544") == "S-1-5-32-544"


def test_every_alias_round_trips():
    for alias, (sid, _name) in sddl.SID_ALIASES.items():
        assert sddl.canonical("O:" + alias) == "O:" + alias
        if sid:
            assert sddl.canonical("O:" + sid) == "O:" + alias


def test_damaged_strings_raise_only_sddl_errors():
    import random
    rng = random.Random(13)
    alphabet = "OGDS:;()AXPIDCBUWRSY-0123456789x\"@&"
    for _round in range(2000):
        text = list(POWERSHELL)
        for _hit in range(rng.randint(1, 3)):
            text[rng.randrange(len(text))] = rng.choice(alphabet)
        try:
            sd = parse("".join(text))
        except SddlError:
            continue
        assert parse(sd.render()) == sd
