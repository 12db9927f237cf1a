"""The simulated Windows Firewall rules over WS-Man/CIM, driven through pypsrp (see conftest.py)."""
import json
import xml.etree.ElementTree as ET

import pytest
from pypsrp.exceptions import WSManFaultError
from pypsrp.wsman import NAMESPACES, SelectorSet

from simhelpers import ACCOUNTS, Client
from winrm_sim import state
from winrm_sim.host import Principal, SimHost

CIM = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/StandardCimv2/"
RULE = CIM + "MSFT_NetFirewallRule"
PORTS = CIM + "MSFT_NetProtocolPortFilter"
ADDRESSES = CIM + "MSFT_NetAddressFilter"
CFG = "http://schemas.microsoft.com/wbem/wsman/1/config"
REGPROV = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/default/StdRegProv"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
WSEN = NAMESPACES["wsen"]
WSMAN = NAMESPACES["wsman"]
OPERATOR = Principal(user="operator", auth="negotiate", transport="http", encrypted=True)


def instance_id(value):
    selectors = SelectorSet()
    selectors.add_option("InstanceID", value)
    return selectors


def enumerate_items(client, uri, selectors=None):
    body = ET.fromstring(f'<n:Enumerate xmlns:n="{WSEN}" xmlns:w="{WSMAN}"><w:OptimizeEnumeration/>'
                         f"<w:MaxElements>100</w:MaxElements></n:Enumerate>")
    reply = client.enumerate(uri, body, selector_set=selectors)
    return list(reply.find("wsen:EnumerateResponse/wsman:Items", NAMESPACES))


def props(element):
    """Local name -> text, or list of texts for repeated elements; None for xsi:nil."""
    values = {}
    for child in element:
        name = child.tag.partition("}")[2]
        text = None if child.get(f"{{{XSI}}}nil") == "true" else (child.text or "")
        if name in values:
            values[name] = (values[name] if isinstance(values[name], list) else [values[name]]) + [text]
        else:
            values[name] = text
    return values


def get(client, uri, name):
    return client.get(uri, selector_set=instance_id(name))[0]


def rules_by_name(client):
    return {props(item)["InstanceID"]: props(item) for item in enumerate_items(client, RULE)}


def put(client, uri, class_name, **values):
    parts = []
    for name, value in values.items():
        for item in value if isinstance(value, list) else [value]:
            parts.append(f"<p:{name}>{item}</p:{name}>")
    body = ET.fromstring(f'<p:{class_name} xmlns:p="{uri}">{"".join(parts)}</p:{class_name}>')
    return client.put(uri, body, selector_set=instance_id(values.get("InstanceID", "x")))


def put_rule(client, name, **values):
    return put(client, RULE, "MSFT_NetFirewallRule", InstanceID=name, **values)


def fault_code(call):
    with pytest.raises(WSManFaultError) as info:
        call()
    return info.value.code


def set_compat_http(client, value):
    body = ET.fromstring(f'<cfg:Service xmlns:cfg="{CFG}/service">'
                         f"<cfg:EnableCompatibilityHttpListener>{value}</cfg:EnableCompatibilityHttpListener>"
                         "</cfg:Service>")
    client.put(CFG + "/service", body)


# --- the rules per profile -----------------------------------------------------------------------
def test_server2022_after_quickconfig(client):
    rules = rules_by_name(client)
    assert set(rules) == {"WINRM-HTTP-In-TCP", "WINRM-HTTP-In-TCP-PUBLIC", "WINRM-HTTP-Compat-In-TCP"}
    http, public, compat = rules["WINRM-HTTP-In-TCP"], rules["WINRM-HTTP-In-TCP-PUBLIC"], rules["WINRM-HTTP-Compat-In-TCP"]
    assert (http["Enabled"], http["Profiles"], http["Direction"], http["Action"]) == ("1", "3", "1", "2")
    assert (public["Enabled"], public["Profiles"]) == ("1", "4")
    assert compat["Enabled"] == "2"
    assert http["DisplayName"] == public["DisplayName"] == "Windows Remote Management (HTTP-In)"
    assert http["DisplayGroup"] == "Windows Remote Management" and http["RuleGroup"] == "@FirewallAPI.dll,-30267"
    assert compat["DisplayName"] == "Windows Remote Management - Compatibility Mode (HTTP-In)"
    assert compat["DisplayGroup"] == "Windows Remote Management (Compatibility)"
    assert http["PolicyStoreSourceType"] == "1"
    address = props(get(client, ADDRESSES, "WINRM-HTTP-In-TCP-PUBLIC"))
    assert address["RemoteAddress"] == "LocalSubnet" and address["InstanceID"] == "WINRM-HTTP-In-TCP-PUBLIC"
    port = props(get(client, PORTS, "WINRM-HTTP-Compat-In-TCP"))
    assert (port["Protocol"], port["LocalPort"]) == ("TCP", "80")


@pytest.mark.parametrize("profile, enabled", [
    ("winrm11", {"WINRM-HTTP-In-TCP": "2", "WINRM-HTTP-In-TCP-PUBLIC": "2", "WINRM-HTTP-Compat-In-TCP": "1"}),
    ("upgraded11", {"WINRM-HTTP-In-TCP": "1", "WINRM-HTTP-In-TCP-PUBLIC": "1", "WINRM-HTTP-Compat-In-TCP": "1"}),
    ("workstation", {"WINRM-HTTP-In-TCP-NoScope": "2", "WINRM-HTTP-In-TCP": "2",
                     "WINRM-HTTP-Compat-In-TCP-NoScope": "2", "WINRM-HTTP-Compat-In-TCP": "2"}),
])
def test_rules_per_profile(make_host, profile, enabled):
    client = Client(make_host(profile=profile, name="SIM-" + profile.upper()))
    assert {name: rule["Enabled"] for name, rule in rules_by_name(client).items()} == enabled


def test_gpo_profile_has_a_read_only_group_policy_rule(make_host):
    client = Client(make_host(profile="gpo", name="SIM-GPO-01"))
    rule = rules_by_name(client)["WINRM-HTTP-In-TCP-GPO"]
    assert rule["PolicyStoreSourceType"] == "2" and rule["Enabled"] == "1"
    assert fault_code(lambda: put_rule(client, "WINRM-HTTP-In-TCP-GPO", Enabled=2)) == 5
    put_rule(client, "WINRM-HTTP-In-TCP-GPO", Enabled=1)  # unchanged value: let through


# --- reply shape ---------------------------------------------------------------------------------
def test_instance_reply_shape(client):
    get(client, RULE, "WINRM-HTTP-In-TCP")
    raw = client.last_reply.decode()
    assert (f'<p:MSFT_NetFirewallRule xmlns:p="{RULE}" xmlns:xsi="{XSI}" '
            'xmlns:cim="http://schemas.dmtf.org/wbem/wscim/1/common" xsi:type="p:MSFT_NetFirewallRule_Type">') in raw
    assert '<p:Caption xsi:nil="true"/>' in raw
    element = get(client, RULE, "WINRM-HTTP-In-TCP")
    names = [child.tag.partition("}")[2] for child in element]
    assert names == sorted(names, key=str.lower)  # WMI writes properties in alphabetical order


def test_selectors_are_case_insensitive_and_required(client):
    assert props(get(client, RULE, "winrm-http-in-tcp"))["InstanceID"] == "WINRM-HTTP-In-TCP"
    assert fault_code(lambda: client.get(RULE)) == 2150858842
    assert fault_code(lambda: get(client, RULE, "NO-SUCH-RULE")) == 2150858752


def test_enumerate_filters_by_selector(client):
    items = enumerate_items(client, ADDRESSES, instance_id("WINRM-HTTP-In-TCP"))
    assert [props(i)["InstanceID"] for i in items] == ["WINRM-HTTP-In-TCP"]
    assert len(enumerate_items(client, PORTS)) == 3


def test_unknown_cim_class_is_not_found(client):
    assert fault_code(lambda: client.get(CIM + "MSFT_NetFirewallProfile", selector_set=instance_id("x"))) \
        == 2150858752


# --- Put -----------------------------------------------------------------------------------------
def test_put_enabled_and_profiles_persist(host, client):
    reply = put_rule(client, "WINRM-HTTP-In-TCP-PUBLIC", Enabled=2, Profiles=6)
    written = props(reply[0])
    assert (written["Enabled"], written["Profiles"]) == ("2", "6")
    assert rules_by_name(client)["WINRM-HTTP-In-TCP-PUBLIC"]["Enabled"] == "2"
    with open(host.state_path, encoding="utf-8") as handle:
        saved = {r["InstanceID"]: r for r in json.load(handle)["firewall"]["rules"]}
    assert saved["WINRM-HTTP-In-TCP-PUBLIC"]["Enabled"] == 2 and saved["WINRM-HTTP-In-TCP-PUBLIC"]["Profiles"] == 6


def test_put_remote_address_canonical_forms(client):
    put(client, ADDRESSES, "MSFT_NetAddressFilter", InstanceID="WINRM-HTTP-In-TCP",
        RemoteAddress=["10.1.0.0/16", "192.168.5.7/32", "localsubnet", "10.9.0.1-10.9.0.9", "fd00::/64"])
    address = props(get(client, ADDRESSES, "WINRM-HTTP-In-TCP"))
    assert address["RemoteAddress"] == ["10.1.0.0/255.255.0.0", "192.168.5.7", "LocalSubnet", "10.9.0.1-10.9.0.9",
                                        "fd00::/64"]
    put(client, ADDRESSES, "MSFT_NetAddressFilter", InstanceID="WINRM-HTTP-In-TCP", RemoteAddress="*")
    assert props(get(client, ADDRESSES, "WINRM-HTTP-In-TCP"))["RemoteAddress"] == "Any"


@pytest.mark.parametrize("uri, class_name, values", [
    (RULE, "MSFT_NetFirewallRule", {"Enabled": 3}),
    (RULE, "MSFT_NetFirewallRule", {"Profiles": 8}),
    (RULE, "MSFT_NetFirewallRule", {"Action": 9}),
    (RULE, "MSFT_NetFirewallRule", {"RuleGroup": "Other"}),  # not writable by Set-NetFirewallRule: refused
    (ADDRESSES, "MSFT_NetAddressFilter", {"RemoteAddress": ["Any", "10.0.0.1"]}),
    (ADDRESSES, "MSFT_NetAddressFilter", {"RemoteAddress": "not-an-address"}),
])
def test_put_bad_values_are_refused(client, uri, class_name, values):
    assert fault_code(lambda: put(client, uri, class_name, InstanceID="WINRM-HTTP-In-TCP", **values)) == 87
    assert rules_by_name(client)["WINRM-HTTP-In-TCP"]["Enabled"] == "1"


def test_put_port_filter(client):
    put(client, PORTS, "MSFT_NetProtocolPortFilter", InstanceID="WINRM-HTTP-In-TCP", LocalPort=["5985", "5990-5999"])
    assert props(get(client, PORTS, "WINRM-HTTP-In-TCP"))["LocalPort"] == ["5985", "5990-5999"]
    # ports belong to TCP and UDP only
    assert fault_code(lambda: put(client, PORTS, "MSFT_NetProtocolPortFilter", InstanceID="WINRM-HTTP-In-TCP",
                                  Protocol="Any")) == 87


def test_put_needs_write_access(host):
    reader = Client(host, principal=OPERATOR)
    # The WMI plugin lets Remote Management Users in (read); changing a rule needs an administrator.
    host.state["config"]["Service"]["RootSDDL"] = "O:NSG:BAD:P(A;;GA;;;BA)(A;;GR;;;RM)S:P(AU;FA;GA;;;WD)"
    assert props(get(reader, RULE, "WINRM-HTTP-In-TCP"))["Enabled"] == "1"
    assert fault_code(lambda: put_rule(reader, "WINRM-HTTP-In-TCP", Enabled=2)) == 5
    assert ACCOUNTS["operator"]["admin"] is False


# --- the compatibility listener opens the port-80 rule (Microsoft's secure port configuration page) ---
def test_enabling_the_compatibility_listener_enables_the_port_80_rule(client):
    assert rules_by_name(client)["WINRM-HTTP-Compat-In-TCP"]["Enabled"] == "2"
    set_compat_http(client, "true")
    assert rules_by_name(client)["WINRM-HTTP-Compat-In-TCP"]["Enabled"] == "1"
    set_compat_http(client, "false")  # turning it off leaves the rule as it is
    assert rules_by_name(client)["WINRM-HTTP-Compat-In-TCP"]["Enabled"] == "1"


def test_the_compatibility_policy_value_also_enables_the_port_80_rule(client):
    key = r"SOFTWARE\Policies\Microsoft\Windows\WinRM\Service"
    for method, extra in (("CreateKey", ""), ("SetDWORDValue", "<p:sValueName>HttpCompatibilityListener</p:sValueName>"
                                                               "<p:uValue>1</p:uValue>")):
        body = ET.fromstring(f'<p:{method}_INPUT xmlns:p="{REGPROV}"><p:hDefKey>2147483650</p:hDefKey>'
                             f"<p:sSubKeyName>{key}</p:sSubKeyName>{extra}</p:{method}_INPUT>")
        client.invoke(f"{REGPROV}/{method}", REGPROV, body)
    assert rules_by_name(client)["WINRM-HTTP-Compat-In-TCP"]["Enabled"] == "1"


def test_version_1_state_files_are_migrated(make_host, tmp_path):
    """A state file written by the first simulator (firewall rules as a list, or none at all, no
    network) resumes with what it held and the new defaults."""
    host = make_host(state_dir=str(tmp_path))
    for keep_rules in (True, False):
        with open(host.state_path, encoding="utf-8") as handle:
            old = json.load(handle)
        old["version"] = 1
        del old["network"]
        rules = old.pop("firewall")["rules"]
        for rule in rules:
            for name in ("LocalAddress", "RemotePort", "IcmpType", "Owner", "Platforms"):
                rule.pop(name)
        rules[0]["Enabled"] = 2
        if keep_rules:
            old["firewall"] = rules
        old["listeners"].append({"Address": "IP:127.0.10.1", "Transport": "HTTP", "Port": "8080", "Hostname": "",
                                 "Enabled": "true", "URLPrefix": "wsman", "CertificateThumbprint": ""})
        with open(host.state_path, "w", encoding="utf-8") as handle:
            json.dump(old, handle)
        again = SimHost(host.name, host.address, "server2022", host.state_path, host.cert_store, ACCOUNTS)
        rules_now = rules_by_name(Client(again))
        assert rules_now["WINRM-HTTP-In-TCP"]["Enabled"] == ("2" if keep_rules else "1")
        assert props(get(Client(again), ADDRESSES, "WINRM-HTTP-In-TCP"))["LocalAddress"] == "Any"
        assert sorted(a.port for a in again.active_listeners()) == [5985, 8080]
        assert again.network.category == "Public"
        with open(host.state_path, encoding="utf-8") as handle:
            saved = json.load(handle)
        assert saved["version"] == state.VERSION and isinstance(saved["firewall"]["rules"], list)


# --- the decision on each connection ------------------------------------------------------------
ANY = (0, 2 ** 32 - 1)


def ip(text):
    import ipaddress
    return int(ipaddress.ip_address(text))


def test_admission_follows_profile_scope_port_and_block_rules(make_host):
    host = make_host()
    firewall = host.firewall
    loopback = (ip("127.0.0.0"), ip("127.255.255.255"))
    assert host.network.category == "Public"
    assert firewall.admitted_ranges(5985) == [loopback]          # WINRM-HTTP-In-TCP-PUBLIC: LocalSubnet
    assert firewall.admitted_ranges(5986) == [] and firewall.admitted_ranges(80) == []
    host.configure_network(category="Private")
    assert firewall.admitted_ranges(5985) == [ANY]               # WINRM-HTTP-In-TCP: Any
    host.configure_network(category="Public", local_subnet=["127.0.10.0/24"])
    assert firewall.admitted_ranges(5985) == [(ip("127.0.10.0"), ip("127.0.10.255"))]
    assert firewall.admits(5985, "127.0.10.7") and not firewall.admits(5985, "127.0.0.1")
    rule = firewall.create({"DisplayName": "block one", "Action": 4})
    firewall.update(rule, {"Protocol": "TCP", "LocalPort": ["5980-5990"], "RemoteAddress": ["127.0.10.7"]})
    assert firewall.admitted_ranges(5985) == [(ip("127.0.10.0"), ip("127.0.10.6")), (ip("127.0.10.8"), ip("127.0.10.255"))]
    firewall.update(rule, {"Enabled": 2})
    assert firewall.admits(5985, "127.0.10.7")
    other = firewall.create({"DisplayName": "any port, another protocol", "Profiles": 4})
    firewall.update(other, {"Protocol": "UDP"})
    assert firewall.admitted_ranges(5986) == []                  # UDP does not open TCP
    firewall.update(other, {"Protocol": "Any"})
    assert firewall.admitted_ranges(5986) == [ANY]               # a new rule's filters are Any/Any


def test_create_put_and_delete_through_cim(client, host):
    body = (f'<p:MSFT_NetFirewallRule xmlns:p="{RULE}">'
            "<p:ElementName>Mine</p:ElementName><p:Enabled>2</p:Enabled></p:MSFT_NetFirewallRule>")
    created = client.create(RULE, ET.fromstring(body))
    name = next(created.iter(f"{{{WSMAN}}}Selector")).text
    assert name.startswith("{") and name.endswith("}")  # no InstanceID given: a GUID, as New-NetFirewallRule does
    rule = rules_by_name(client)[name]
    assert (rule["DisplayName"], rule["Enabled"], rule["Profiles"], rule["Action"]) == ("Mine", "2", "0", "2")
    assert props(get(client, PORTS, name))["Protocol"] == "Any"
    # a name Windows wants: DisplayName
    nameless = f'<p:MSFT_NetFirewallRule xmlns:p="{RULE}"><p:InstanceID>x</p:InstanceID></p:MSFT_NetFirewallRule>'
    assert fault_code(lambda: client.create(RULE, ET.fromstring(nameless))) == 87
    client.delete(RULE, selector_set=instance_id(name))
    assert name not in rules_by_name(client)
    assert fault_code(lambda: client.delete(PORTS, selector_set=instance_id("WINRM-HTTP-In-TCP"))) == 2150858771
    gpo = Client(SimHost("SIM-GPO-02", "127.0.10.9", "gpo", None, host.cert_store, ACCOUNTS))
    assert fault_code(lambda: gpo.delete(RULE, selector_set=instance_id("WINRM-HTTP-In-TCP-GPO"))) == 5
