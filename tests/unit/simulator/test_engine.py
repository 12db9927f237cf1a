"""The simulated WinRM service, driven through pypsrp's own WSMan client (see conftest.py)."""
import json
import os
import threading
import xml.etree.ElementTree as ET

import pytest
from pypsrp.exceptions import WSManFaultError
from pypsrp.wsman import NAMESPACES, SelectorSet

from simhelpers import ACCOUNTS, ADMIN, Client
from winrm_sim.host import Principal, SimHost

CFG = "http://schemas.microsoft.com/wbem/wsman/1/config"
LISTENER = CFG + "/listener"
CERTMAPPING = CFG + "/service/certmapping"
REGPROV = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/default/StdRegProv"
WSEN = NAMESPACES["wsen"]
WSMAN = NAMESPACES["wsman"]
SOAP = NAMESPACES["s"]
SERVICE_POLICY = r"SOFTWARE\Policies\Microsoft\Windows\WinRM\Service"
CLIENT_POLICY = r"SOFTWARE\Policies\Microsoft\Windows\WinRM\Client"
GPO_TEXT = ('The config setting {} cannot be changed because is controlled by policies. The policy would '
            'need to be set to "Not Configured" in order to change the config setting. ')


def xml(text):
    return ET.fromstring(text)


def selectors(**values):
    selector_set = SelectorSet()
    for name, value in values.items():
        selector_set.add_option(name, value)
    return selector_set


def listener_selectors(address="*", transport="HTTP"):
    return selectors(Address=address, Transport=transport)


def enumerate_all(client, uri, max_elements=32000):
    """Enumerate + Pull loop as a client writes it; returns (items, number of requests)."""
    body = xml(f'<n:Enumerate xmlns:n="{WSEN}" xmlns:w="{WSMAN}"><w:OptimizeEnumeration/>'
               f"<w:MaxElements>{max_elements}</w:MaxElements></n:Enumerate>")
    response = client.enumerate(uri, body)
    result = response.find("wsen:EnumerateResponse", NAMESPACES)
    items = list(result.find("wsman:Items", NAMESPACES) or [])
    requests = 1
    end = result.find("wsman:EndOfSequence", NAMESPACES) is not None
    context = result.find("wsen:EnumerationContext", NAMESPACES).text
    while not end:
        pull = xml(f'<n:Pull xmlns:n="{WSEN}"><n:EnumerationContext>{context}</n:EnumerationContext>'
                   f"<n:MaxElements>{max_elements}</n:MaxElements></n:Pull>")
        result = client.pull(uri, pull).find("wsen:PullResponse", NAMESPACES)
        requests += 1
        items += list(result.find("wsen:Items", NAMESPACES) or [])
        end = result.find("wsen:EndOfSequence", NAMESPACES) is not None
        if not end:
            context = result.find("wsen:EnumerationContext", NAMESPACES).text
    return items, requests


def fault_of(call):
    with pytest.raises(WSManFaultError) as info:
        call()
    return info.value


def field(element, name, ns=None):
    ns = ns or element.tag[1:].partition("}")[0]
    found = element.find(f"{{{ns}}}{name}")
    return None if found is None else (found.text or "")


def invoke_reg(client, method, key, name=None, **params):
    parts = [f"<p:hDefKey>2147483650</p:hDefKey><p:sSubKeyName>{key}</p:sSubKeyName>"]
    if name is not None:
        parts.append(f"<p:sValueName>{name}</p:sValueName>")
    parts += [f"<p:{k}>{v}</p:{k}>" for k, v in params.items()]
    body = xml(f'<p:{method}_INPUT xmlns:p="{REGPROV}">{"".join(parts)}</p:{method}_INPUT>')
    response = client.invoke(f"{REGPROV}/{method}", REGPROV, body)
    output = response.find(f"s:Body/{{{REGPROV}}}{method}_OUTPUT", NAMESPACES)
    result = {}
    for child in output:
        result.setdefault(child.tag.partition("}")[2], []).append(child.text)
    return {k: (v[0] if len(v) == 1 else v) for k, v in result.items()}


# --- config Get / Put -------------------------------------------------------------------------------
def test_get_config_order_defaults_and_namespace(client):
    body = client.get(CFG)
    config = body.find(f"{{{CFG}}}Config")
    assert config is not None
    assert [c.tag.partition("}")[2] for c in config] == [
        "MaxEnvelopeSizekb", "MaxTimeoutms", "MaxBatchItems", "MaxProviderRequests", "Client", "Service", "Winrs"]
    service = config.find(f"{{{CFG}}}Service")
    assert [c.tag.partition("}")[2] for c in service][:3] == [
        "RootSDDL", "MaxConcurrentOperations", "MaxConcurrentOperationsPerUser"]
    auth = service.find(f"{{{CFG}}}Auth")
    assert [c.tag.partition("}")[2] for c in auth] == [
        "Basic", "Kerberos", "Negotiate", "Certificate", "CredSSP", "CbtHardeningLevel"]
    assert field(auth, "Basic") == "false" and field(auth, "CbtHardeningLevel") == "Relaxed"
    assert field(config.find(f"{{{CFG}}}Client"), "TrustedHosts") == ""
    raw = client.last_reply.decode()
    assert f'<cfg:Config xmlns:cfg="{CFG}" xml:lang="en-US">' in raw
    assert "<cfg:TrustedHosts></cfg:TrustedHosts>" in raw


def test_get_sub_resource_uses_its_own_namespace(client):
    body = client.get(CFG + "/client/auth")
    auth = body.find(f"{{{CFG}/client/auth}}Auth")
    assert [c.tag.partition("}")[2] for c in auth] == [
        "Basic", "Digest", "Kerberos", "Negotiate", "Certificate", "CredSSP"]


def test_resource_uri_is_case_insensitive(client):
    body = client.get("http://schemas.microsoft.com/wbem/wsman/1/Config/Service/Auth")
    assert body.find(f"{{{CFG}/service/auth}}Auth") is not None


def test_partial_put_changes_only_given_elements(client, host):
    body = client.put(CFG + "/service/auth",
                      xml(f'<cfg:Auth xmlns:cfg="{CFG}/service/auth"><cfg:CredSSP>true</cfg:CredSSP></cfg:Auth>'))
    auth = body.find(f"{{{CFG}/service/auth}}Auth")
    assert field(auth, "CredSSP") == "true" and field(auth, "Kerberos") == "true"
    assert host.auth_enabled("credssp")
    # Put of a nested section of config, with a different namespace on the body
    body = client.put(CFG, xml('<c:Config xmlns:c="urn:other"><c:Client><c:TrustedHosts>a,b</c:TrustedHosts>'
                               '</c:Client></c:Config>'))
    assert body.find(f"{{{CFG}}}Config/{{{CFG}}}Client/{{{CFG}}}TrustedHosts").text == "a,b"
    assert client.get(CFG + "/service/auth").find(f"{{{CFG}/service/auth}}Auth/{{{CFG}/service/auth}}CredSSP").text == "true"


@pytest.mark.parametrize("uri,doc,code", [
    ("/service/auth", "<Auth><Digest>true</Digest></Auth>", 2150858817),
    ("/service/auth", "<Auth><CbtHardeningLevel>Medium</CbtHardeningLevel></Auth>", 2150859192),
    ("/service/auth", "<Auth><Basic>yes</Basic></Auth>", 2150858817),
    ("", "<Config><MaxProviderRequests>5</MaxProviderRequests></Config>", 2150859182),
    ("/service", "<Service><MaxConcurrentOperations>5</MaxConcurrentOperations></Service>", 2150859182),
    ("/winrs", "<Winrs><MaxShellRunTime>5</MaxShellRunTime></Winrs>", 2150858817),
    ("/service", "<Service><Unknown>1</Unknown></Service>", 2150858817),
    ("/service/defaultports", "<DefaultPorts><HTTP>70000</HTTP></DefaultPorts>", 2150858972),
    ("/service", "<Service><IPv4Filter>10.0.0.1-bogus</IPv4Filter></Service>", 2150858988),
    ("/service", "<Service><RootSDDL>garbage</RootSDDL></Service>", 2150859100),
])
def test_put_validation_faults(client, uri, doc, code):
    fault = fault_of(lambda: client.put(CFG + uri, xml(doc)))
    assert fault.code == code
    assert fault.provider == "Config provider"
    assert client.last_status == 500
    raw = client.last_reply.decode()
    assert 'path="%systemroot%\\system32\\WsmSvc.dll"' in raw


def test_put_with_selectors_on_singleton_is_unexpected_selectors(client):
    fault = fault_of(lambda: client.get(CFG + "/service", selector_set=selectors(Name="x")))
    assert fault.code == 2150858843
    assert "<s:Value>w:InvalidSelectors</s:Value>" in client.last_reply.decode()


def test_fault_envelope_structure(client):
    fault_of(lambda: client.put(CFG + "/service/auth", xml("<Auth><Digest>true</Digest></Auth>")))
    root = ET.fromstring(client.last_reply)
    fault = root.find("s:Body/s:Fault", NAMESPACES)
    assert fault.find("s:Code/s:Value", NAMESPACES).text == "s:Sender"
    text = fault.find("s:Reason/s:Text", NAMESPACES)
    assert text.attrib["{http://www.w3.org/XML/1998/namespace}lang"] == "en-US"
    assert text.text.endswith(". ")
    outer = fault.find("s:Detail/wsmanfault:WSManFault", NAMESPACES)
    assert outer.attrib["Code"] == "2150858817"
    inner = outer.find("wsmanfault:Message/wsmanfault:ProviderFault/wsmanfault:WSManFault", NAMESPACES)
    assert inner.attrib["Machine"] == "SIM-2022-01"
    assert inner.find("wsmanfault:Message", NAMESPACES).text == text.text


# --- Group Policy -----------------------------------------------------------------------------------
def test_gpo_profile_marks_and_refuses_policy_values(make_host):
    client = Client(make_host("gpo", name="SIM-GPO-01"))
    raw_body = client.get(CFG + "/client")
    raw = client.last_reply.decode()
    assert '<cfg:TrustedHosts Source="GPO">*.corp.example.com,10.0.0.5</cfg:TrustedHosts>' in raw
    assert '<cfg:AllowUnencrypted Source="GPO">false</cfg:AllowUnencrypted>' in raw
    assert '<cfg:Basic Source="GPO">false</cfg:Basic>' in raw
    assert "<cfg:Kerberos>true</cfg:Kerberos>" in raw
    assert raw_body is not None
    fault = fault_of(lambda: client.put(CFG + "/client", xml("<Client><TrustedHosts>*</TrustedHosts></Client>")))
    assert fault.code == 2150858890
    root = ET.fromstring(client.last_reply)
    assert root.find("s:Body/s:Fault/s:Reason/s:Text", NAMESPACES).text == GPO_TEXT.format("TrustedHosts")
    # a value that is not controlled still changes
    client.put(CFG + "/client", xml("<Client><NetworkDelayms>6000</NetworkDelayms></Client>"))


def test_policy_through_stdregprov_takes_effect_next_request(client, host):
    assert invoke_reg(client, "GetDWORDValue", SERVICE_POLICY, "AllowBasic")["ReturnValue"] == "2"
    # the key does not exist yet: Set fails like RegOpenKeyEx until CreateKey
    assert invoke_reg(client, "SetDWORDValue", SERVICE_POLICY, "AllowBasic", uValue=1)["ReturnValue"] == "2"
    assert invoke_reg(client, "CreateKey", SERVICE_POLICY)["ReturnValue"] == "0"
    assert invoke_reg(client, "SetDWORDValue", SERVICE_POLICY, "AllowBasic", uValue=1)["ReturnValue"] == "0"
    got = invoke_reg(client, "GetDWORDValue", SERVICE_POLICY, "AllowBasic")
    assert got == {"ReturnValue": "0", "uValue": "1"}
    assert host.auth_enabled("basic")
    client.get(CFG + "/service/auth")
    assert '<cfg:Basic Source="GPO">true</cfg:Basic>' in client.last_reply.decode()
    invoke_reg(client, "SetStringValue", SERVICE_POLICY, "CbtHardeningLevel", sValue="strict")
    invoke_reg(client, "SetDWORDValue", SERVICE_POLICY, "CBTHardeningLevelStatus", uValue=1)
    assert host.cbt_hardening_level() == "Strict"
    values = invoke_reg(client, "EnumValues", SERVICE_POLICY)
    assert values["ReturnValue"] == "0"
    assert values["sNames"] == ["AllowBasic", "CbtHardeningLevel", "CBTHardeningLevelStatus"]
    assert values["Types"] == ["4", "1", "4"]
    keys = invoke_reg(client, "EnumKey", r"SOFTWARE\Policies\Microsoft\Windows\WinRM")
    assert keys["sNames"] == "Service"
    assert invoke_reg(client, "DeleteValue", SERVICE_POLICY, "AllowBasic")["ReturnValue"] == "0"
    assert invoke_reg(client, "DeleteValue", SERVICE_POLICY, "AllowBasic")["ReturnValue"] == "2"
    assert not host.auth_enabled("basic")
    assert invoke_reg(client, "GetStringValue", r"SOFTWARE\Elsewhere", "X")["ReturnValue"] == "2"


def test_auto_config_policy_creates_gpo_listener(client, host):
    invoke_reg(client, "CreateKey", SERVICE_POLICY)
    invoke_reg(client, "SetDWORDValue", SERVICE_POLICY, "AllowAutoConfig", uValue=1)
    invoke_reg(client, "SetStringValue", SERVICE_POLICY, "IPv4Filter", sValue="*")
    invoke_reg(client, "SetStringValue", SERVICE_POLICY, "IPv6Filter", sValue="")
    items, _requests = enumerate_all(client, LISTENER)
    assert items[0].attrib.get("Source") == "GPO"
    # IPv6Filter blank: the policy listener listens on no IPv6 address
    listening = [e.text for e in items[0].findall(f"{{{LISTENER}}}ListeningOn")]
    assert listening == ["127.0.0.1", "127.0.10.1"]
    assert [(a.port, a.source) for a in host.active_listeners()][0] == (5985, "GPO")
    client.get(CFG + "/service")
    assert '<cfg:IPv6Filter Source="GPO"></cfg:IPv6Filter>' in client.last_reply.decode()
    fault = fault_of(lambda: client.delete(LISTENER, selector_set=listener_selectors()))
    assert fault.code == 2150858890


# --- listeners -------------------------------------------------------------------------------------
def test_listener_lifecycle(make_host, pki):
    host = make_host("server2022_https")
    client = Client(host)
    changes = []
    host.on_listeners_changed = lambda: changes.append(len(host.active_listeners()))
    client.delete(LISTENER, selector_set=listener_selectors("*", "HTTPS"))
    assert client.last_reply.decode().count("<s:Body></s:Body>") == 1
    assert changes == [1]
    thumb = host.cert_store.by_subject_cn(host.name)[0].thumbprint
    body = client.create(LISTENER, xml(f"<Listener><Hostname>{host.name}</Hostname>"
                                       f"<CertificateThumbprint>{thumb}</CertificateThumbprint></Listener>"),
                         selector_set=listener_selectors("*", "https"))
    created = body.find("wst:ResourceCreated", NAMESPACES)
    assert created.find("wsa:Address", NAMESPACES).text.endswith("/role/anonymous")
    sel = {s.attrib["Name"]: s.text for s in created.iter(f"{{{WSMAN}}}Selector")}
    assert sel == {"Address": "*", "Transport": "HTTPS"}
    assert created.find("wsa:ReferenceParameters/wsman:ResourceURI", NAMESPACES).text == LISTENER
    assert changes == [1, 2]
    listener = client.get(LISTENER, selector_set=listener_selectors("*", "HTTPS")).find(f"{{{LISTENER}}}Listener")
    assert field(listener, "Port") == "5986" and field(listener, "CertificateThumbprint") == thumb
    body = client.put(LISTENER, xml("<Listener><Enabled>false</Enabled></Listener>"),
                      selector_set=listener_selectors("*", "https"))
    listener = body.find(f"{{{LISTENER}}}Listener")
    assert field(listener, "Enabled") == "false" and field(listener, "Hostname") == host.name
    assert [a.transport for a in host.active_listeners()] == ["http"]
    fault = fault_of(lambda: client.create(LISTENER, None, selector_set=listener_selectors("*", "HTTPS")))
    assert fault.code == 2150858803


def test_listener_create_defaults_and_http_thumbprint(client, host):
    client.create(LISTENER, None, selector_set=listener_selectors("IP:127.0.10.1", "HTTP"))
    listener = client.get(LISTENER, selector_set=listener_selectors("ip:127.0.10.1", "http")).find(f"{{{LISTENER}}}Listener")
    assert field(listener, "Port") == "5985" and field(listener, "URLPrefix") == "wsman"
    assert [e.text for e in listener.findall(f"{{{LISTENER}}}ListeningOn")] == ["127.0.10.1"]
    fault = fault_of(lambda: client.create(
        LISTENER, xml("<Listener><CertificateThumbprint>" + "A" * 40 + "</CertificateThumbprint></Listener>"),
        selector_set=listener_selectors("IP:10.1.1.1", "HTTP")))
    assert fault.code == 2150858987


@pytest.mark.parametrize("sel,doc,code", [
    (("10.0.0.1", "HTTP"), None, 2150858889),
    (("IP:nope", "HTTP"), None, 2150858889),
    (("*", "FTP"), None, 2150858813),
    (("IP:10.0.0.2", "HTTP"), "<Listener><Port>0</Port></Listener>", 2150858972),
    (("IP:10.0.0.2", "HTTP"), "<Listener><Port>65536</Port></Listener>", 2150858972),
    (("IP:10.0.0.2", "HTTP"), "<Listener><ListeningOn>1.2.3.4</ListeningOn></Listener>", 2150859071),
    (("IP:10.0.0.2", "HTTP"), "<Listener><Color>red</Color></Listener>", 2150858817),
    (("IP:10.0.0.2", "HTTP"), "<Listener><Transport>HTTPS</Transport></Listener>", 2150858989),
    (("IP:10.0.0.2", "HTTPS"), "<Listener><CertificateThumbprint>" + "B" * 40 + "</CertificateThumbprint></Listener>", 2150858882),
    (("IP:10.0.0.2", "HTTPS"), "<Listener><Hostname>nomatch</Hostname></Listener>", 2150859029),
])
def test_listener_create_faults(client, sel, doc, code):
    fault = fault_of(lambda: client.create(LISTENER, xml(doc) if doc else None,
                                           selector_set=listener_selectors(*sel)))
    assert fault.code == code


@pytest.mark.parametrize("role,code", [("noeku", 2150858990), ("expired", 2150859029)])
def test_listener_certificate_checks(client, host, role, code):
    cert = next(c for c in host.cert_store.certs if c.role == role)
    fault = fault_of(lambda: client.create(
        LISTENER, xml(f"<Listener><CertificateThumbprint>{cert.thumbprint}</CertificateThumbprint></Listener>"),
        selector_set=listener_selectors("IP:10.0.0.3", "HTTPS")))
    assert fault.code == code
    server = next(c for c in host.cert_store.certs if c.role == "server")
    fault = fault_of(lambda: client.create(
        LISTENER, xml(f"<Listener><Hostname>other.example</Hostname>"
                      f"<CertificateThumbprint>{server.thumbprint}</CertificateThumbprint></Listener>"),
        selector_set=listener_selectors("IP:10.0.0.3", "HTTPS")))
    assert fault.code == 2150858985


def test_listener_selector_faults(client):
    assert fault_of(lambda: client.get(LISTENER, selector_set=selectors(Address="*"))).code == 2150858842
    assert fault_of(lambda: client.get(LISTENER, selector_set=selectors(Address="*", Transport="HTTP",
                                                                        Port="1"))).code == 2150858843
    assert fault_of(lambda: client.get(LISTENER, selector_set=listener_selectors("IP:128.0.0.1"))).code == 2150858752


def test_enumerate_with_pull_one_at_a_time(make_host):
    client = Client(make_host("server2022_https"))
    items, requests = enumerate_all(client, LISTENER, max_elements=1)
    assert [field(i, "Transport") for i in items] == ["HTTP", "HTTPS"]
    assert requests == 2
    raw = client.last_reply.decode()
    assert "<n:EndOfSequence/>" in raw


def test_enumeration_context_release_and_invalid(client):
    body = xml(f'<n:Enumerate xmlns:n="{WSEN}"/>')
    response = client.enumerate(LISTENER, body)
    context = response.find("wsen:EnumerateResponse/wsen:EnumerationContext", NAMESPACES).text
    assert context.startswith("uuid:")
    release = xml(f'<n:Release xmlns:n="{WSEN}"><n:EnumerationContext>{context}</n:EnumerationContext></n:Release>')
    client.invoke("http://schemas.xmlsoap.org/ws/2004/09/enumeration/Release", LISTENER, release)
    pull = xml(f'<n:Pull xmlns:n="{WSEN}"><n:EnumerationContext>{context}</n:EnumerationContext></n:Pull>')
    assert fault_of(lambda: client.pull(LISTENER, pull)).code == 2150858779


def test_enumeration_context_expires(client, host, monkeypatch):
    response = client.enumerate(LISTENER, xml(f'<n:Enumerate xmlns:n="{WSEN}"/>'))
    context = response.find("wsen:EnumerateResponse/wsen:EnumerationContext", NAMESPACES).text
    for state in host.enumerations.contexts.values():
        state["expires"] = 0
    pull = xml(f'<n:Pull xmlns:n="{WSEN}"><n:EnumerationContext>{context}</n:EnumerationContext></n:Pull>')
    assert fault_of(lambda: client.pull(LISTENER, pull)).code == 2150858779


def test_compatibility_listeners_enumerate_only(make_host):
    host = make_host("upgraded11", name="SIM-UPG-01")
    client = Client(host)
    items, _requests = enumerate_all(client, LISTENER)
    described = [(field(i, "Transport"), field(i, "Port"), i.attrib.get("Source", "")) for i in items]
    assert described == [("HTTP", "5985", ""), ("HTTPS", "5986", ""), ("HTTP", "80", "Compatibility"),
                         ("HTTPS", "443", "Compatibility")]
    # same Address+Transport as a real listener: Get returns the real one
    listener = client.get(LISTENER, selector_set=listener_selectors()).find(f"{{{LISTENER}}}Listener")
    assert field(listener, "Port") == "5985"
    client.delete(LISTENER, selector_set=listener_selectors())
    assert fault_of(lambda: client.get(LISTENER, selector_set=listener_selectors())).code == 2150858752
    assert fault_of(lambda: client.delete(LISTENER, selector_set=listener_selectors())).code == 2150858752
    ports = sorted(a.port for a in host.active_listeners())
    assert ports == [80, 443, 5986]
    client.get(CFG + "/service")
    assert '<cfg:EnableCompatibilityHttpListener Source="GPO">true</cfg:EnableCompatibilityHttpListener>' in client.last_reply.decode()


def test_profiles(make_host):
    winrm11 = make_host("winrm11", name="SIM-11-01")
    assert sorted(a.port for a in winrm11.active_listeners()) == [80, 443]
    assert winrm11.effective_value(("Client", "DefaultPorts", "HTTP")) == "80"
    assert winrm11.effective_value(("MaxEnvelopeSizekb",)) == "150"
    workstation = make_host("workstation", name="SIM-WS-01")
    assert workstation.active_listeners() == []
    server = make_host("server2022", name="SIM-2022-02")
    assert [(a.transport, a.port) for a in server.active_listeners()] == [("http", 5985)]  # a new install
    https = make_host("server2022_https", name="SIM-2022S-03")
    assert [(a.transport, a.port) for a in https.active_listeners()] == [("http", 5985), ("https", 5986)]
    assert not server.auth_enabled("basic") and server.auth_enabled("negotiate")


# --- authorization -----------------------------------------------------------------------------------
def test_root_sddl_denies_non_members(host):
    plain = Client(host, Principal(user="plain", auth="negotiate", transport="http", encrypted=True))
    fault = fault_of(lambda: plain.get(CFG))
    assert fault.code == 5 and fault.reason == "Access is denied."
    assert "<f:Message>Access is denied. </f:Message>" in plain.last_reply.decode()


def test_uac_filters_local_admins_unless_token_filter_policy(host):
    admin_client = Client(host)
    local = Client(host, Principal(user="localadmin", auth="negotiate", transport="http", encrypted=True))
    assert fault_of(lambda: local.get(CFG)).code == 5
    invoke_reg(admin_client, "SetDWORDValue", r"SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System",
               "LocalAccountTokenFilterPolicy", uValue=1)
    local.get(CFG)


def test_remote_management_users_read_with_gxgr_ace(host):
    admin_client = Client(host)
    sddl = "O:NSG:BAD:P(A;;GA;;;BA)(A;;GR;;;IU)(A;;GXGR;;;RM)S:P(AU;FA;GA;;;WD)(AU;SA;GXGW;;;WD)"
    admin_client.put(CFG + "/service", xml(f"<Service><RootSDDL>{sddl}</RootSDDL></Service>"))
    operator = Client(host, Principal(user="operator", auth="negotiate", transport="http", encrypted=True))
    operator.get(CFG)
    assert fault_of(lambda: operator.put(CFG + "/client", xml("<Client><TrustedHosts>x</TrustedHosts></Client>"))).code == 5
    sddl_sid = "O:NSG:BAD:P(A;;GA;;;S-1-5-32-544)(A;;GA;;;S-1-5-32-580)"
    admin_client.put(CFG + "/service", xml(f"<Service><RootSDDL>{sddl_sid}</RootSDDL></Service>"))
    operator.put(CFG + "/client", xml("<Client><TrustedHosts>x</TrustedHosts></Client>"))


def test_accounts_and_passwords(host):
    assert host.check_password("administrator", ACCOUNTS["Administrator"]["password"]) == "Administrator"
    assert host.check_password(r"SIM-2022-01\plain", "Pla1n!user") == "plain"
    assert host.check_password(r".\plain", "Pla1n!user") == "plain"
    assert host.check_password("plain@sim-2022-01", "Pla1n!user") == "plain"
    assert host.check_password(r"OTHER\plain", "Pla1n!user") is None
    assert host.check_password("plain", "wrong") is None


# --- certificate mappings ------------------------------------------------------------------------
def _mapping_selectors(pki, subject="ansible-client@localhost", uri="*"):
    return selectors(URI=uri, Subject=subject, Issuer=pki.ca_thumbprint)


def test_certmapping_create_enumerate_and_map(client, host, pki):
    password = ACCOUNTS["localadmin"]["password"]
    body = xml(f'<cfg:CertMapping xmlns:cfg="{CERTMAPPING}"><cfg:UserName>localadmin</cfg:UserName>'
               f"<cfg:Password>{password}</cfg:Password><cfg:Enabled>true</cfg:Enabled></cfg:CertMapping>")
    client.create(CERTMAPPING, body, selector_set=_mapping_selectors(pki))
    items, _requests = enumerate_all(client, CERTMAPPING)
    assert len(items) == 1
    assert field(items[0], "UserName") == "localadmin" and field(items[0], "Password") is None
    assert password not in client.last_reply.decode()
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    with open(pki.client_cert_path, "rb") as handle:
        der = x509.load_pem_x509_certificate(handle.read()).public_bytes(serialization.Encoding.DER)
    assert host.map_client_certificate(der, CFG) == "localadmin"
    with open(pki.untrusted_client_cert_path, "rb") as handle:
        untrusted = x509.load_pem_x509_certificate(handle.read()).public_bytes(serialization.Encoding.DER)
    assert host.map_client_certificate(untrusted, CFG) is None
    assert fault_of(lambda: client.create(CERTMAPPING, body, selector_set=_mapping_selectors(pki))).code == 2150858803
    client.put(CERTMAPPING, xml("<CertMapping><Enabled>false</Enabled></CertMapping>"),
               selector_set=_mapping_selectors(pki))
    assert host.map_client_certificate(der, CFG) is None
    client.delete(CERTMAPPING, selector_set=_mapping_selectors(pki))
    assert enumerate_all(client, CERTMAPPING)[0] == []


@pytest.mark.parametrize("sel,doc,code,remote", [
    (dict(uri="wsman/*/x"), "<CertMapping><UserName>plain</UserName><Password>Pla1n!user</Password></CertMapping>", 2150859104, True),
    (dict(subject="a*b"), "<CertMapping><UserName>plain</UserName><Password>Pla1n!user</Password></CertMapping>", 2150859105, True),
    ({}, "<CertMapping><UserName>plain</UserName></CertMapping>", 2150859116, True),
    ({}, "<CertMapping><UserName>plain</UserName><Password>bad</Password></CertMapping>", 2150859092, True),
    ({}, "<CertMapping><UserName>ghost</UserName><Password>x</Password></CertMapping>", 2150859092, True),
    ({}, "<CertMapping><UserName>plain</UserName><Password></Password></CertMapping>", 2150859115, True),
    ({}, "<CertMapping><UserName>plain</UserName><Password>" + "x" * 256 + "</Password></CertMapping>", 2150859114, True),
    ({}, "<CertMapping><UserName>plain</UserName><Password>Pla1n!user</Password></CertMapping>", 2150859090, False),
    ({}, "<CertMapping><Subject>other</Subject><UserName>plain</UserName><Password>Pla1n!user</Password></CertMapping>", 2150859122, True),
])
def test_certmapping_faults(host, pki, sel, doc, code, remote):
    client = Client(host, Principal("Administrator", "negotiate", "http", True, remote=remote))
    fault = fault_of(lambda: client.create(CERTMAPPING, xml(doc), selector_set=_mapping_selectors(pki, **sel)))
    assert fault.code == code


def test_certmapping_issuer_must_be_trusted_ca(client, pki):
    fault = fault_of(lambda: client.create(
        CERTMAPPING, xml("<CertMapping><UserName>plain</UserName><Password>Pla1n!user</Password></CertMapping>"),
        selector_set=selectors(URI="*", Subject="*", Issuer=pki.untrusted_ca_thumbprint)))
    assert fault.code == 2150859106


# --- shells -----------------------------------------------------------------------------------------
def test_pywinrm_shell_roundtrip_and_refusal(host):
    from winrm.protocol import Protocol

    protocol = Protocol("http://sim:5985/wsman", transport="plaintext", username="u", password="p")

    def send_message(message):
        status, reply = host.handle(message.encode("utf-8") if isinstance(message, str) else message, ADMIN)
        if status != 200:
            from winrm.exceptions import WinRMTransportError
            raise WinRMTransportError("http", status, reply.decode())
        return reply

    protocol.transport.send_message = send_message
    protocol.transport.close_session = lambda: None
    shell_id = protocol.open_shell()
    command_id = protocol.run_command(shell_id, "echo", ["hello"])
    stdout, stderr, code = protocol.get_command_output(shell_id, command_id)
    assert (stdout, stderr, code) == (b"hello\r\n", b"", 0)
    protocol.cleanup_command(shell_id, command_id)
    protocol.close_shell(shell_id)
    # Winrs AllowRemoteShellAccess=false refuses shells
    Client(host).put(CFG + "/winrs", xml("<Winrs><AllowRemoteShellAccess>false</AllowRemoteShellAccess></Winrs>"))
    from winrm.exceptions import WSManFaultError as WinrmFault
    with pytest.raises(WinrmFault) as info:
        protocol.open_shell()
    assert info.value.wsman_fault_code == 2150859180


def test_pypsrp_winrs_open_close(host):
    from pypsrp.shell import WinRS

    client = Client(host)
    with WinRS(client) as shell:
        assert shell.id


# --- robustness, persistence, concurrency ------------------------------------------------------
def test_malformed_xml_is_a_fault_not_an_exception(host):
    status, reply = host.handle(b"<s:Envelope xmlns:s='x'><oops", ADMIN)
    assert status == 500 and b"2150858819" in reply
    status, reply = host.handle(b"\xff\xfe garbage", ADMIN)
    assert status == 500
    status, reply = host.handle(b"x" * (600 * 1024), ADMIN)
    assert status == 413


def test_internal_error_becomes_fault(client, host, monkeypatch):
    monkeypatch.setattr(host.policy, "overrides", lambda: 1 / 0)
    fault = fault_of(lambda: client.get(CFG))
    assert client.last_status == 500 and fault.code == 2147500037


def test_max_envelope_size_header_over_service_limit(host):
    client = Client(host, max_envelope_size=600 * 1024)
    assert fault_of(lambda: client.get(CFG)).code == 2150858823


def test_unknown_resource_and_action(client):
    assert fault_of(lambda: client.get(CFG + "/nothing")).code == 2150858752
    assert fault_of(lambda: client.create(CFG + "/service", None)).code == 2150858771


def test_persistence_round_trip(make_host, tmp_path):
    host = make_host(state_dir=str(tmp_path))
    client = Client(host)
    client.put(CFG + "/client", xml("<Client><TrustedHosts>one,two</TrustedHosts></Client>"))
    client.create(LISTENER, xml("<Listener><Port>8080</Port></Listener>"),
                  selector_set=listener_selectors("IP:127.0.10.1", "HTTP"))
    path = tmp_path / "SIM-2022-01.json"
    saved = json.loads(path.read_text())
    assert saved["config"]["Client"]["TrustedHosts"] == "one,two"
    again = SimHost("SIM-2022-01", "127.0.10.1", "workstation", str(path), host.cert_store, ACCOUNTS)
    assert again.profile == "server2022"
    assert again.effective_value(("Client", "TrustedHosts")) == "one,two"
    assert 8080 in [a.port for a in again.active_listeners()]
    assert [p for p in os.listdir(tmp_path) if p.startswith(".")] == []


def test_concurrent_puts_leave_valid_state(make_host, tmp_path):
    host = make_host(state_dir=str(tmp_path))
    errors = []

    def worker(n):
        client = Client(host)
        try:
            for i in range(15):
                client.put(CFG + "/client", xml(f"<Client><TrustedHosts>h{n}-{i}</TrustedHosts></Client>"))
                client.put(CFG + "/service", xml(f"<Service><MaxConnections>{100 + n * 20 + i}</MaxConnections></Service>"))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    saved = json.loads((tmp_path / "SIM-2022-01.json").read_text())
    assert saved["config"]["Client"]["TrustedHosts"] == host.effective_value(("Client", "TrustedHosts"))
    assert saved["config"]["Service"]["MaxConnections"] == host.effective_value(("Service", "MaxConnections"))
