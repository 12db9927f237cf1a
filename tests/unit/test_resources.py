"""Unit tests of the config model: parsing real-shaped replies, partial Put and Create bodies,
diff (GPO and read-only apart), the policy table and read_all over a fake session."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from ansible_collections.wsman.winrm.plugins.module_utils import resources as r
from ansible_collections.wsman.winrm.plugins.module_utils.wsman import method_input

BASE = "http://schemas.microsoft.com/wbem/wsman/1/"
CFG = BASE + "config"

# A Get of winrm/config from a 2016-2022 server, element order and namespaces as Windows sends
# them (wsman-config-facts.md): everything in the .../config namespace, prefix cfg. Two values
# are under Group Policy.
CONFIG_XML = """<cfg:Config xmlns:cfg="http://schemas.microsoft.com/wbem/wsman/1/config" xml:lang="en-US">
  <cfg:MaxEnvelopeSizekb>500</cfg:MaxEnvelopeSizekb>
  <cfg:MaxTimeoutms>60000</cfg:MaxTimeoutms>
  <cfg:MaxBatchItems>32000</cfg:MaxBatchItems>
  <cfg:MaxProviderRequests>4294967295</cfg:MaxProviderRequests>
  <cfg:Client>
    <cfg:NetworkDelayms>5000</cfg:NetworkDelayms>
    <cfg:URLPrefix>wsman</cfg:URLPrefix>
    <cfg:AllowUnencrypted>false</cfg:AllowUnencrypted>
    <cfg:Auth>
      <cfg:Basic>true</cfg:Basic>
      <cfg:Digest>true</cfg:Digest>
      <cfg:Kerberos>true</cfg:Kerberos>
      <cfg:Negotiate>true</cfg:Negotiate>
      <cfg:Certificate>true</cfg:Certificate>
      <cfg:CredSSP>false</cfg:CredSSP>
    </cfg:Auth>
    <cfg:DefaultPorts>
      <cfg:HTTP>5985</cfg:HTTP>
      <cfg:HTTPS>5986</cfg:HTTPS>
    </cfg:DefaultPorts>
    <cfg:TrustedHosts Source="GPO">web01,*.corp.example</cfg:TrustedHosts>
  </cfg:Client>
  <cfg:Service>
    <cfg:RootSDDL>O:NSG:BAD:P(A;;GA;;;BA)(A;;GR;;;IU)S:P(AU;FA;GA;;;WD)(AU;SA;GXGW;;;WD)</cfg:RootSDDL>
    <cfg:MaxConcurrentOperations>4294967295</cfg:MaxConcurrentOperations>
    <cfg:MaxConcurrentOperationsPerUser>1500</cfg:MaxConcurrentOperationsPerUser>
    <cfg:EnumerationTimeoutms>240000</cfg:EnumerationTimeoutms>
    <cfg:MaxConnections>300</cfg:MaxConnections>
    <cfg:MaxPacketRetrievalTimeSeconds>120</cfg:MaxPacketRetrievalTimeSeconds>
    <cfg:AllowUnencrypted>false</cfg:AllowUnencrypted>
    <cfg:Auth>
      <cfg:Basic Source="GPO">false</cfg:Basic>
      <cfg:Kerberos>true</cfg:Kerberos>
      <cfg:Negotiate>true</cfg:Negotiate>
      <cfg:Certificate>false</cfg:Certificate>
      <cfg:CredSSP>false</cfg:CredSSP>
      <cfg:CbtHardeningLevel>Relaxed</cfg:CbtHardeningLevel>
    </cfg:Auth>
    <cfg:DefaultPorts>
      <cfg:HTTP>5985</cfg:HTTP>
      <cfg:HTTPS>5986</cfg:HTTPS>
    </cfg:DefaultPorts>
    <cfg:IPv4Filter>*</cfg:IPv4Filter>
    <cfg:IPv6Filter>*</cfg:IPv6Filter>
    <cfg:EnableCompatibilityHttpListener>true</cfg:EnableCompatibilityHttpListener>
    <cfg:EnableCompatibilityHttpsListener>false</cfg:EnableCompatibilityHttpsListener>
    <cfg:CertificateThumbprint></cfg:CertificateThumbprint>
    <cfg:AllowRemoteAccess>true</cfg:AllowRemoteAccess>
  </cfg:Service>
  <cfg:Winrs>
    <cfg:AllowRemoteShellAccess>true</cfg:AllowRemoteShellAccess>
    <cfg:IdleTimeout>7200000</cfg:IdleTimeout>
    <cfg:MaxConcurrentUsers>2147483647</cfg:MaxConcurrentUsers>
    <cfg:MaxShellRunTime>2147483647</cfg:MaxShellRunTime>
    <cfg:MaxProcessesPerShell>2147483647</cfg:MaxProcessesPerShell>
    <cfg:MaxMemoryPerShellMB>2147483647</cfg:MaxMemoryPerShellMB>
    <cfg:MaxShellsPerUser>2147483647</cfg:MaxShellsPerUser>
  </cfg:Winrs>
</cfg:Config>"""

LISTENER_TEMPLATE = """<cfg:Listener xmlns:cfg="http://schemas.microsoft.com/wbem/wsman/1/config/listener"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" {source} xml:lang="en-US">
  <cfg:Address>*</cfg:Address>
  <cfg:Transport>{transport}</cfg:Transport>
  <cfg:Port>{port}</cfg:Port>
  <cfg:Hostname>{hostname}</cfg:Hostname>
  <cfg:Enabled>true</cfg:Enabled>
  <cfg:URLPrefix>wsman</cfg:URLPrefix>
  <cfg:CertificateThumbprint>{thumbprint}</cfg:CertificateThumbprint>
  {listening_on}
</cfg:Listener>"""


def listener_xml(transport="HTTP", port=5985, source="", hostname="", thumbprint="",
                 listening_on=("10.0.0.88", "127.0.0.1", "::1")):
    return ET.fromstring(LISTENER_TEMPLATE.format(
        transport=transport, port=port, hostname=hostname, thumbprint=thumbprint,
        source='Source="%s"' % source if source else "",
        listening_on="".join("<cfg:ListeningOn>%s</cfg:ListeningOn>" % a for a in listening_on)))


CERTMAPPING_XML = """<cfg:CertMapping xmlns:cfg="http://schemas.microsoft.com/wbem/wsman/1/config/service/certmapping"
 xml:lang="en-US">
  <cfg:URI>*</cfg:URI>
  <cfg:Subject>ansible@corp.example</cfg:Subject>
  <cfg:Issuer>5600A015CA5E8A26F638B74E819AE92096DA5C8C</cfg:Issuer>
  <cfg:UserName>ansible</cfg:UserName>
  <cfg:Enabled>true</cfg:Enabled>
</cfg:CertMapping>"""


def local(tag):
    return tag.rsplit("}", 1)[1]


def names(element):
    return [local(child.tag) for child in element]


@pytest.fixture
def config():
    return r.WinRMConfig.from_xml(ET.fromstring(CONFIG_XML))


# ---------------------------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------------------------

def test_parse_config_types_and_sections(config):
    assert config.get("max_envelope_size_kb") == 500
    assert config.client.get("trusted_hosts") == ["web01", "*.corp.example"]
    assert config.client.get("auth.digest") is True
    assert config.get("client.default_ports.https") == 5986
    assert config.service.get("root_sddl").startswith("O:NSG:BAD:P(A;;GA;;;BA)")
    assert config.service.get("auth.cbt_hardening_level") == "Relaxed"
    assert config.service.get("certificate_thumbprint") == ""
    assert config.winrs.get("max_shell_run_time") == 2147483647


def test_parse_keeps_source_per_field(config):
    assert config.source_of("client.trusted_hosts") == "GPO"
    assert config.source_of("service.auth.basic") == "GPO"
    assert config.source_of("service.auth.kerberos") == ""
    assert config.policy_controlled() == ["client.trusted_hosts", "service.auth.basic"]


def test_service_get_reply_in_its_own_namespace():
    """A Get of winrm/config/service answers in .../config/service; nested elements share it."""
    service_xml = CONFIG_XML.split("<cfg:Service>")[1].split("</cfg:Service>")[0]
    element = ET.fromstring('<cfg:Service xmlns:cfg="%s/service">%s</cfg:Service>' % (CFG, service_xml))
    service = r.ServiceConfig.from_xml(element)
    assert service.get("auth.negotiate") is True
    assert service.source_of("auth.basic") == "GPO"


def test_to_dict_snake_case(config):
    data = config.to_dict()
    assert data["client"]["auth"] == {"basic": True, "digest": True, "kerberos": True, "negotiate": True,
                                      "certificate": True, "credssp": False}
    assert set(data["service"]["auth"]) == {"basic", "kerberos", "negotiate", "certificate", "credssp",
                                            "cbt_hardening_level"}
    assert "digest" not in data["service"]["auth"]  # the service has no Digest
    assert data["service"]["enable_compatibility_http_listener"] is True
    assert data["winrs"]["max_memory_per_shell_mb"] == 2147483647


def test_parse_listeners_with_sources():
    gpo = r.Listener.from_xml(listener_xml(port=80, source="GPO", listening_on=()))
    compat = r.Listener.from_xml(listener_xml(port=80, source="Compatibility"))
    https = r.Listener.from_xml(listener_xml("HTTPS", 5986, hostname="win01.corp.example",
                                             thumbprint="A" * 40))
    assert gpo.source == "GPO" and gpo.get("listening_on") == []
    assert compat.is_compatibility and compat.to_dict()["source"] == "Compatibility"
    assert compat.get("listening_on") == ["10.0.0.88", "127.0.0.1", "::1"]
    assert https.to_dict() == {"address": "*", "transport": "HTTPS", "port": 5986, "hostname": "win01.corp.example",
                               "enabled": True, "url_prefix": "wsman", "certificate_thumbprint": "A" * 40,
                               "listening_on": ["10.0.0.88", "127.0.0.1", "::1"], "source": ""}
    assert https.selectors == {"Address": "*", "Transport": "HTTPS"}
    assert https.matches("*", "https") and not compat.matches("*", "http")


def test_parse_certmapping_has_no_password():
    mapping = r.CertMapping.from_xml(ET.fromstring(CERTMAPPING_XML))
    assert mapping.selectors == {"URI": "*", "Subject": "ansible@corp.example",
                                 "Issuer": "5600A015CA5E8A26F638B74E819AE92096DA5C8C"}
    assert "password" not in mapping.to_dict()
    assert mapping.matches("*", "ansible@corp.example", "5600a015ca5e8a26f638b74e819ae92096da5c8c")


def test_unknown_elements_are_ignored():
    element = ET.fromstring('<cfg:Winrs xmlns:cfg="%s"><cfg:FutureSetting>1</cfg:FutureSetting>'
                            '<cfg:IdleTimeout>5</cfg:IdleTimeout></cfg:Winrs>' % CFG)
    assert r.Winrs.from_xml(element).get("idle_timeout") == 5


# ---------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------

def test_partial_put_holds_only_changed_fields_in_windows_order(config):
    changes = config.service.diff({"ipv6_filter": "", "allow_unencrypted": False, "root_sddl": "O:NSG:BAD:P(A;;GA;;;BA)",
                                   "auth": {"cbt_hardening_level": "strict", "credssp": False, "kerberos": False},
                                   "enable_compatibility_http_listener": False})["changes"]
    body = config.service.render_put(changes)
    assert body.tag == "{%s/service}Service" % CFG
    assert names(body) == ["RootSDDL", "Auth", "IPv6Filter", "EnableCompatibilityHttpListener"]
    auth = body.find("{%s/service}Auth" % CFG)
    assert names(auth) == ["Kerberos", "CbtHardeningLevel"]
    assert [c.text for c in auth] == ["false", "Strict"]  # canonical spelling
    assert all(e.tag.startswith("{%s/service}" % CFG) for e in body.iter())
    assert body.find("{%s/service}IPv6Filter" % CFG).text == ""  # an empty filter: listen nowhere


def test_partial_put_of_whole_config_nests_sections(config):
    body = config.render_put({"client": {"auth": {"basic": False}}, "winrs": {"idle_timeout": 60000},
                              "max_envelope_size_kb": 8192})
    assert body.tag == "{%s}Config" % CFG
    assert names(body) == ["MaxEnvelopeSizekb", "Client", "Winrs"]
    assert ET.tostring(body.find("{%s}Client" % CFG)).count(b"Basic>false<") == 1


def test_auth_put_like_enable_wsmancredssp():
    body = r.ServiceAuth.render({"credssp": True})
    assert body.tag == "{%s/service/auth}Auth" % CFG
    assert names(body) == ["CredSSP"] and body[0].text == "true"


def test_render_refuses_read_only_and_unknown():
    with pytest.raises(ValueError, match="read-only"):
        r.ServiceConfig.render({"max_concurrent_operations": 5})
    with pytest.raises(KeyError, match="digest"):
        r.ServiceAuth.render({"digest": True})


def test_trusted_hosts_render_comma_joined():
    body = r.ClientConfig.render({"trusted_hosts": ["a", "b.example"]})
    assert body[0].text == "a,b.example"
    assert r.ClientConfig.render({"trusted_hosts": []})[0].text == ""


def test_listener_create_body():
    body = r.Listener.create_body(hostname="win01.corp.example", certificate_thumbprint="AB" * 20, port=5986)
    assert body.tag == "{%s/listener}Listener" % CFG
    assert names(body) == ["Port", "Hostname", "CertificateThumbprint"]  # Windows order, no selectors
    assert r.listener_selectors("*", "https") == {"Address": "*", "Transport": "HTTPS"}
    assert names(r.Listener.create_body()) == []


def test_certmapping_create_body_has_password_but_the_model_never_keeps_it():
    body = r.CertMapping.create_body(user_name="ansible", password="Map-P@ss1")
    assert body.tag == "{%s/service/certmapping}CertMapping" % CFG
    assert names(body) == ["UserName", "Enabled", "Password"]
    assert body.find("{%s/service/certmapping}Password" % CFG).text == "Map-P@ss1"
    mapping = r.CertMapping.from_xml(ET.fromstring(CERTMAPPING_XML))
    with pytest.raises(KeyError):
        mapping.set("password", "Map-P@ss1")
    result = mapping.diff({"user_name": "ansible", "password": "Map-P@ss1", "enabled": False})
    assert result["changes"] == {"enabled": {"before": True, "after": False}}
    put = mapping.render_put(result["changes"], password="Map-P@ss1")
    assert names(put) == ["UserName", "Enabled", "Password"]
    after = mapping.updated({"enabled": False, "password": "Map-P@ss1"})
    for text in (repr(mapping), repr(after), repr(after.to_dict()), repr(result), repr(vars(after))):
        assert "Map-P@ss1" not in text
    assert r.certmapping_selectors("*", "s", "i") == {"URI": "*", "Subject": "s", "Issuer": "i"}


# ---------------------------------------------------------------------------------------------
# Diff
# ---------------------------------------------------------------------------------------------

def test_diff_separates_gpo_and_read_only(config):
    result = config.diff({
        "client": {"trusted_hosts": ["other"], "auth": {"basic": False}},
        "service": {"auth": {"basic": True, "kerberos": True}, "max_concurrent_operations": 10},
        "winrs": {"idle_timeout": "60000"},
    })
    assert result["changes"] == {"client.auth.basic": {"before": True, "after": False},
                                 "winrs.idle_timeout": {"before": 7200000, "after": 60000}}
    assert result["policy_controlled"] == {
        "client.trusted_hosts": {"before": ["web01", "*.corp.example"], "after": ["other"]},
        "service.auth.basic": {"before": False, "after": True}}
    assert result["read_only"] == {"service.max_concurrent_operations": {"before": 4294967295, "after": 10}}


def test_diff_no_change_when_equal_even_if_gpo(config):
    result = config.diff({"client": {"trusted_hosts": "*.corp.example, WEB01"},  # order/case/format differ
                          "service": {"auth": {"basic": False, "cbt_hardening_level": "relaxed"}},
                          "max_timeout_ms": None})
    assert result == {"changes": {}, "policy_controlled": {}, "read_only": {}}


def test_diff_accepts_dotted_paths_and_coerces(config):
    result = config.diff({"service.allow_unencrypted": "yes", "service.max_connections": "300"})
    assert result["changes"] == {"service.allow_unencrypted": {"before": False, "after": True}}


def test_diff_rejects_bad_values(config):
    with pytest.raises(ValueError, match="cbt_hardening_level"):
        config.diff({"service": {"auth": {"cbt_hardening_level": "Maximum"}}})
    with pytest.raises(ValueError, match="integer"):
        config.diff({"max_batch_items": "many"})
    with pytest.raises(KeyError, match="nonsense"):
        config.diff({"nonsense": 1})


def test_updated_predicts_the_put_result(config):
    result = config.diff({"service": {"auth": {"credssp": True}}})
    after = config.updated(result["changes"])
    assert after.get("service.auth.credssp") is True
    assert config.get("service.auth.credssp") is False  # the original is untouched
    assert after.source_of("service.auth.basic") == "GPO"


def test_module_level_diff_matches_method(config):
    assert r.diff(config.client, {"allow_unencrypted": True}) == config.client.diff({"allow_unencrypted": True})


# ---------------------------------------------------------------------------------------------
# Policy values and read_all
# ---------------------------------------------------------------------------------------------

def test_policy_table():
    keys = {s.key for s in r.POLICY_SETTINGS}
    assert keys == {r"SOFTWARE\Policies\Microsoft\Windows\WinRM\Client",
                    r"SOFTWARE\Policies\Microsoft\Windows\WinRM\Service",
                    r"SOFTWARE\Policies\Microsoft\Windows\WinRM\Service\WinRS",
                    r"SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System"}
    assert r.policy_setting("Client", "AllowBasic").controls == ("client.auth.basic",)
    assert r.policy_setting("Service", "CbtHardeningLevel").type == "string"
    assert r.policy_setting("System", "LocalAccountTokenFilterPolicy").type == "DWORD"
    assert r.policy_setting(r"HKLM\SOFTWARE\Policies\Microsoft\Windows\WinRM\Service", "allowbasic").name == "AllowBasic"
    config_paths = set(r.WinRMConfig.option_paths())
    for setting in r.POLICY_SETTINGS:
        for path in setting.controls:
            assert path == "listeners" or path in config_paths, path


class FakeSession:
    """Answers Get/Enumerate/Invoke like a Windows host with two policy values configured."""

    REGISTRY = {
        r"SOFTWARE\Policies\Microsoft\Windows\WinRM\Client": {"TrustedHosts": 1, "TrustedHostsList": "web01,*.corp.example"},
        r"SOFTWARE\Policies\Microsoft\Windows\WinRM\Service": {"AllowBasic": 0, "SomethingElse": 3},
    }

    def __init__(self):
        self.calls = []

    def get(self, uri, selectors=None):
        self.calls.append(("Get", uri))
        return ET.fromstring(CONFIG_XML)

    def enumerate(self, uri, max_elements=32000, selectors=None):
        self.calls.append(("Enumerate", uri))
        if uri.endswith("/listener"):
            return [listener_xml(), listener_xml(port=80, source="Compatibility"),
                    listener_xml("HTTPS", 5986, thumbprint="AB" * 20)]
        return [ET.fromstring(CERTMAPPING_XML)]

    def invoke(self, uri, method, body=None, selectors=None):
        self.calls.append((method, uri))
        assert uri == r.STDREGPROV_URI and body.tag == "{%s}%s_INPUT" % (uri, method)
        params = {local(c.tag): c.text for c in body}
        assert params["hDefKey"] == "2147483650"
        key = self.REGISTRY.get(params["sSubKeyName"])
        out = ET.Element("{%s}%s_OUTPUT" % (uri, method))
        if key is None:
            ET.SubElement(out, "{%s}ReturnValue" % uri).text = "2"
            return out
        if method == "EnumValues":
            for name in key:
                ET.SubElement(out, "{%s}sNames" % uri).text = name
        elif method == "GetDWORDValue":
            ET.SubElement(out, "{%s}uValue" % uri).text = str(key[params["sValueName"]])
        elif method == "GetStringValue":
            ET.SubElement(out, "{%s}sValue" % uri).text = key[params["sValueName"]]
        ET.SubElement(out, "{%s}ReturnValue" % uri).text = "0"
        return out


def test_read_all_requests_and_snapshot():
    session = FakeSession()
    snapshot = r.read_all(session)
    assert session.calls[:3] == [("Get", CFG), ("Enumerate", CFG + "/listener"),
                                 ("Enumerate", CFG + "/service/certmapping")]
    methods = [c[0] for c in session.calls[3:]]
    assert methods.count("EnumValues") == 4
    assert sorted(m for m in methods if m != "EnumValues") == ["GetDWORDValue", "GetDWORDValue", "GetStringValue"]

    assert snapshot.policy.get("Client", "TrustedHostsList") == "web01,*.corp.example"
    assert snapshot.policy.get("Service", "AllowBasic") == 0
    assert [s.name for s in snapshot.policy.controlling("client.trusted_hosts")] == ["TrustedHosts", "TrustedHostsList"]
    assert snapshot.find_listener("*", "http").get("port") == 5985  # not the compatibility one
    assert snapshot.find_cert_mapping("*", "ansible@corp.example", "5600a015ca5e8a26f638b74e819ae92096da5c8c")

    data = snapshot.to_dict()
    assert [l["source"] for l in data["listeners"]] == ["", "Compatibility", ""]
    assert data["service"]["auth"]["cbt_hardening_level"] == "Relaxed"
    assert data["client"]["auth"]["basic"] is True
    assert data["winrs"]["allow_remote_shell_access"] is True
    assert data["config"] == {"max_envelope_size_kb": 500, "max_timeout_ms": 60000, "max_batch_items": 32000,
                              "max_provider_requests": 4294967295}
    assert data["cert_mappings"][0]["user_name"] == "ansible" and "password" not in data["cert_mappings"][0]
    assert {p["name"]: p["controls"] for p in data["policy"]} == {
        "TrustedHosts": ["client.trusted_hosts"], "TrustedHostsList": ["client.trusted_hosts"],
        "AllowBasic": ["service.auth.basic"]}
    assert data["gpo_controlled"] == ["client.trusted_hosts", "service.auth.basic"]


def test_security_summary():
    summary = r.read_all(FakeSession()).security_summary()
    assert summary == {
        "basic_enabled": {"service": False, "client": True},
        "unencrypted_allowed": {"service": False, "client": False},
        "https_listener_present": True,
        "http_listener_present": True,
        "compatibility_listeners_on": True,
        "credssp_enabled": {"service": False, "client": False},
        "trusted_hosts_wildcard": False,
        "cbt_hardening_level": "Relaxed",
        "gpo_controlled": ["client.trusted_hosts", "service.auth.basic"],
    }


def test_gpo_listener_reported_as_policy_controlled():
    snapshot = r.ConfigSnapshot(r.WinRMConfig(), [r.Listener.from_xml(listener_xml(port=80, source="GPO"))], [],
                                r.PolicyValues({("Service", "AllowAutoConfig"): 1}))
    assert snapshot.policy_controlled() == ["listener[*:HTTP]"]
    assert snapshot.policy.to_list()[0]["controls"] == ["listeners", "service.ipv4_filter", "service.ipv6_filter"]


def test_registry_write_helpers():
    session = FakeSession()
    calls = []

    def invoke(uri, method, body=None, selectors=None):
        calls.append((method, {local(c.tag): c.text for c in body}))
        out = ET.Element("{%s}%s_OUTPUT" % (uri, method))
        ET.SubElement(out, "{%s}ReturnValue" % uri).text = "2" if method == "DeleteValue" else "0"
        return out

    session.invoke = invoke
    assert r.registry_set_value(session, r.policy_setting("Service", "AllowBasic").key, "AllowBasic", "DWORD", 0) == 0
    assert r.registry_delete_value(session, r.policy_setting("Service", "AllowBasic").key, "AllowBasic") == 0
    assert [c[0] for c in calls] == ["CreateKey", "SetDWORDValue", "DeleteValue"]
    assert calls[1][1]["uValue"] == "0"
    assert method_input(r.STDREGPROV_URI, "EnumValues", {}).tag.endswith("EnumValues_INPUT")
