"""wsman.winrm.cert_mapping through ansible-playbook against a simulated Windows Server 2022.

Every result is read back with a plain pypsrp client, and the proof of the issue: a mapping this
module creates is then used by pypsrp for certificate authentication, and after state=absent the
same certificate gets HTTP 401.
"""

from __future__ import annotations

import json
import logging
import xml.etree.ElementTree as ET

import pytest
from pypsrp.exceptions import AuthenticationError
from pypsrp.wsman import WSMan

from harness import CONFIG, run_tasks, value_of

FLEET_PROFILES = "server2022_https"
CERTMAPPING = CONFIG + "/service/certmapping"
AUTH = CONFIG + "/service/auth"
# The simulator's client certificate (tests/simulator/winrm_sim/pki.py): CN ansible-client, UPN SAN.
CLIENT_SUBJECT = "ansible-client@localhost"
LIMIT = "sim_server2022_https"


@pytest.fixture(scope="module")
def host(fleet):
    return fleet.host("server2022_https")[1]


def mapping_task(**options):
    args = {"uri": "*", "subject": CLIENT_SUBJECT, "issuer": "{{ wsman_winrm_sim_ca_issuer_thumbprint }}"}
    args.update(options)
    return {"wsman.winrm.cert_mapping": args}


def run(fleet, tasks, tmp_path, **kwargs):
    outcome = run_tasks(fleet, tasks, limit=LIMIT, tmp_path=tmp_path, **kwargs)
    (results,) = outcome.results.values()
    return results, outcome


def read_mappings(fleet, host) -> list[dict]:
    """Every CertMapping, read with a plain pypsrp Enumerate (not through the module)."""
    with fleet.client(host) as client:
        request = ET.Element("{http://schemas.xmlsoap.org/ws/2004/09/enumeration}Enumerate")
        ET.SubElement(request, "{http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd}OptimizeEnumeration")
        reply = client.enumerate(CERTMAPPING, request)
    items = [e for e in reply.iter() if e.tag.endswith("}CertMapping")]
    return [{child.tag.rsplit("}", 1)[-1]: child.text or "" for child in item} for item in items]


def find_mapping(fleet, host, subject=CLIENT_SUBJECT, uri="*") -> dict | None:
    for item in read_mappings(fleet, host):
        if item["Subject"].lower() == subject.lower() and item["URI"] == uri \
                and item["Issuer"] == host["wsman_winrm_sim_ca_issuer_thumbprint"].upper():
            return item
    return None


def put_service_auth(fleet, host, **switches):
    """A plain pypsrp Put of config/service/auth (the auth module is someone else's work)."""
    auth = ET.Element(f"{{{AUTH}}}Auth")
    for name, value in switches.items():
        ET.SubElement(auth, f"{{{AUTH}}}{name}").text = "true" if value else "false"
    with fleet.client(host) as client:
        client.put(AUTH, auth)


def certificate_client(host) -> WSMan:
    return WSMan(host["ansible_host"], port=host["wsman_winrm_sim_ports"][5986], ssl=True, auth="certificate",
                 certificate_pem=host["wsman_winrm_sim_client_cert_pem"],
                 certificate_key_pem=host["wsman_winrm_sim_client_key_pem"],
                 cert_validation=host["ansible_winrm_ca_trust_path"], no_proxy=True,
                 operation_timeout=10, read_timeout=20)


def certificate_connection_vars(host) -> dict:
    """Task vars that make the module itself connect with the client certificate over HTTPS."""
    return {"wsman_winrm_auth": "certificate", "ansible_winrm_scheme": "https",
            "ansible_port": host["wsman_winrm_sim_ports"][5986],
            "wsman_winrm_cert_pem": host["wsman_winrm_sim_client_cert_pem"],
            "wsman_winrm_cert_key_pem": host["wsman_winrm_sim_client_key_pem"]}


# -- bad input ---------------------------------------------------------------------------------------

BAD_INPUTS = [
    (dict(issuer="ABC123", username="Administrator", password="x1"), "issuer must be the 40-hex"),
    (dict(issuer="G" * 40, username="Administrator", password="x1"), "issuer must be the 40-hex"),
    (dict(subject="", username="Administrator", password="x1"), "subject must not be empty"),
    (dict(subject="ansible*client", username="Administrator", password="x1"), "subject may contain one '*'"),
    (dict(subject="**.example.com", username="Administrator", password="x1"), "subject may contain one '*'"),
    (dict(subject="a" * 1024, username="Administrator", password="x1"), "subject must be at most 1023"),
    (dict(uri="", username="Administrator", password="x1"), "uri must not be empty"),
    (dict(uri="http://x/a b*", username="Administrator", password="x1"), "uri must not contain whitespace"),
    (dict(uri="http://x/?a", username="Administrator", password="x1"), "uri must not contain '?'"),
    (dict(uri="*http://x/*", username="Administrator", password="x1"), "uri may contain one '*'"),
    (dict(uri="u" * 1024, username="Administrator", password="x1"), "uri must be at most 1023"),
    (dict(username="Administrator", password=""), "password must not be blank"),
    (dict(username="Administrator", password="p" * 256), "password must be at most 255"),
    (dict(username="Administrator"), "needs username and password together"),
    (dict(password="only-a-password-1"), "needs username and password together"),
]


def test_bad_input_fails_naming_the_field(fleet, host, tmp_path):
    results, _outcome = run(fleet, [mapping_task(**options) for options, _expected in BAD_INPUTS], tmp_path)
    for (options, expected), result in zip(BAD_INPUTS, results):
        assert result.get("failed"), options
        assert expected in result["msg"], (options, result["msg"])
        assert "Nothing was sent" in result["msg"]
        assert "p" * 256 not in result["msg"]
    assert read_mappings(fleet, host) == []


# -- create, check mode, diff, idempotence ---------------------------------------------------------

def test_create_check_mode_agrees_then_idempotent(fleet, host, tmp_path):
    task = mapping_task(username="Administrator", password="{{ ansible_password }}")
    (predicted,), _outcome = run(fleet, [task], tmp_path / "check", check=True, diff=True)
    assert predicted["changed"] is True and not predicted.get("failed"), predicted.get("msg")
    assert find_mapping(fleet, host) is None          # check mode sent nothing

    (created,), _outcome = run(fleet, [task], tmp_path / "real", diff=True)
    assert created["changed"] is True, created.get("msg")
    assert created["cert_mapping"] == predicted["cert_mapping"]
    assert created["password_updated"] is predicted["password_updated"] is True
    assert created["before"] == {}
    assert created["cert_mapping"] == {"uri": "*", "subject": CLIENT_SUBJECT,
                                       "issuer": host["wsman_winrm_sim_ca_issuer_thumbprint"].upper(),
                                       "user_name": "Administrator", "enabled": True}
    assert created["diff"]["before"] == {} and created["diff"]["after"] == created["cert_mapping"]
    assert host["ansible_password"] not in json.dumps(created)

    stored = find_mapping(fleet, host)
    assert stored == {"URI": "*", "Subject": CLIENT_SUBJECT, "Issuer": host["wsman_winrm_sim_ca_issuer_thumbprint"],
                      "UserName": "Administrator", "Enabled": "true"}

    (again,), _outcome = run(fleet, [task], tmp_path / "again", diff=True)
    assert again["changed"] is False and again["password_updated"] is False
    assert again["before"] == again["cert_mapping"] == created["cert_mapping"]


def test_certificate_authentication_uses_the_mapping_until_it_is_removed(fleet, host, tmp_path):
    """The issue's proof: pypsrp logs on with the client certificate through the module's mapping."""
    put_service_auth(fleet, host, Certificate=True)
    try:
        (created,), _outcome = run(fleet, [mapping_task(username="Administrator", password="{{ ansible_password }}")],
                                   tmp_path / "create")
        assert not created.get("failed"), created.get("msg")
        with certificate_client(host) as client:
            config = client.get(CONFIG)
        assert value_of(config, "Certificate") == "true"

        (predicted, ), _outcome = run(fleet, [mapping_task(state="absent")], tmp_path / "check", check=True, diff=True)
        assert predicted["changed"] is True and predicted["cert_mapping"] == {}
        assert predicted["diff"]["after"] == {} and predicted["diff"]["before"]["subject"] == CLIENT_SUBJECT
        assert find_mapping(fleet, host) is not None

        (removed, again), _outcome = run(fleet, [mapping_task(state="absent"), mapping_task(state="absent")],
                                         tmp_path / "absent")
        assert removed["changed"] is True and removed["cert_mapping"] == predicted["cert_mapping"]
        assert again["changed"] is False
        assert find_mapping(fleet, host) is None
        with pytest.raises(AuthenticationError):
            with certificate_client(host) as client:
                client.get(CONFIG)
    finally:
        put_service_auth(fleet, host, Certificate=False)


# -- changes to an existing mapping ---------------------------------------------------------------------

def test_enabled_username_and_update_password(fleet, host, tmp_path):
    base = dict(subject="*.example.com", username="Administrator", password="{{ ansible_password }}")
    operator = {**base, "username": "operator", "password": "{{ wsman_winrm_sim_operator_password }}"}
    tasks = [
        mapping_task(**base),                                              # 0 create
        mapping_task(**dict(base, enabled=False)),                         # 1 disable
        mapping_task(**dict(base, enabled=False)),                         # 2 unchanged
        mapping_task(**dict(base, enabled=False, update_password="always")),  # 3 always: sent, changed
        mapping_task(subject="*.example.com", username="operator", enabled=False),  # 4 new user, no password
        mapping_task(**operator, enabled=False),                           # 5 new user with password
        mapping_task(subject="*.example.com", enabled=False),              # 6 keys only: unchanged
    ]
    results, _outcome = run(fleet, tasks, tmp_path, diff=True)
    for index in (0, 1, 3, 5):
        assert results[index]["changed"] is True, (index, results[index].get("msg"))
    for index in (2, 6):
        assert results[index]["changed"] is False, (index, results[index].get("msg"))
    assert results[1]["password_updated"] is False and results[1]["cert_mapping"]["enabled"] is False
    assert results[1]["diff"]["before"]["enabled"] is True and results[1]["diff"]["after"]["enabled"] is False
    assert results[3]["password_updated"] is True
    assert results[3]["diff"]["after"]["password"] == "(new password sent)"
    assert results[4]["failed"] and "changing username" in results[4]["msg"] and "needs password" in results[4]["msg"]
    assert results[5]["password_updated"] is True and results[5]["cert_mapping"]["user_name"] == "operator"
    for result in results:
        text = json.dumps(result)
        assert host["ansible_password"] not in text and host["wsman_winrm_sim_operator_password"] not in text

    stored = find_mapping(fleet, host, subject="*.example.com")
    assert stored["UserName"] == "operator" and stored["Enabled"] == "false"

    # update_password=always in check mode predicts what a real run reports
    always = mapping_task(**operator, enabled=False, update_password="always")
    (checked,), _outcome = run(fleet, [always], tmp_path / "check", check=True)
    (real,), _outcome = run(fleet, [always], tmp_path / "real")
    assert checked["changed"] is real["changed"] is True
    assert checked["password_updated"] is real["password_updated"] is True
    assert checked["cert_mapping"] == real["cert_mapping"] == results[5]["cert_mapping"]

    (gone,), _outcome = run(fleet, [mapping_task(subject="*.example.com", state="absent")], tmp_path / "absent")
    assert gone["changed"] is True and find_mapping(fleet, host, subject="*.example.com") is None


def test_wrong_password_is_windows_fault_without_the_password(fleet, host, tmp_path):
    wrong = "Not-The-Password-42"
    results, _outcome = run(fleet, [mapping_task(subject="wrong.example.com", username="Administrator", password=wrong),
                                    mapping_task(subject="wrong.example.com", username="nosuchuser", password=wrong)],
                            tmp_path)
    for result in results:
        assert result["failed"] and result["fault_code"] == 2150859092
        assert "credentials could not be verified" in result["msg"]
        assert "local (non-domain) account" in result["msg"]
        assert wrong not in json.dumps(result)
    assert find_mapping(fleet, host, subject="wrong.example.com") is None


def test_untrusted_issuer_is_windows_fault(fleet, host, tmp_path):
    (result,), _outcome = run(fleet, [mapping_task(issuer="AB" * 20, username="Administrator",
                                                   password="{{ ansible_password }}")], tmp_path)
    assert result["failed"] and result["fault_code"] == 2150859106
    assert "Root or Intermediate" in result["msg"]


# -- secrets ---------------------------------------------------------------------------------------------

def test_password_never_in_vvv_output(fleet, host, tmp_path):
    secret = host["wsman_winrm_sim_operator_password"]
    args = dict(subject="secret.example.com", username="operator", password=secret)
    tasks = [mapping_task(**args),
             mapping_task(**dict(args, update_password="always")),
             mapping_task(**{**args, "username": "Administrator"}),  # new user, wrong password: a fault
             mapping_task(subject="secret.example.com", state="absent")]
    results, outcome = run(fleet, tasks, tmp_path, diff=True, verbosity=3)
    assert [r["changed"] for r in results] == [True, True, False, True], [r.get("msg") for r in results]
    assert results[2]["failed"] and results[2]["fault_code"] == 2150859092
    assert "secret.example.com" in outcome.stdout                  # the output is really there
    assert secret not in outcome.stdout and secret not in outcome.stderr
    assert secret not in json.dumps(results)


def test_debug_log_of_the_session_has_no_password(fleet, host, caplog):
    """pypsrp logs request bodies at DEBUG; the session's filter empties every Password element."""
    from ansible_collections.wsman.winrm.plugins.module_utils import resources
    from ansible_collections.wsman.winrm.plugins.module_utils.endpoint import resolve
    from ansible_collections.wsman.winrm.plugins.module_utils.wsman import Session

    secret = host["wsman_winrm_sim_operator_password"]
    selectors = resources.certmapping_selectors("*", "log.example.com", host["wsman_winrm_sim_ca_issuer_thumbprint"])
    with caplog.at_level(logging.DEBUG):
        with Session(resolve(host, host.get("ansible_connection"))) as session:
            session.create(resources.CERTMAPPING_URI, resources.CertMapping.create_body("operator", secret), selectors)
            session.delete(resources.CERTMAPPING_URI, selectors)
    assert "Sending message" in caplog.text and "Password>********</" in caplog.text
    assert secret not in caplog.text


# -- anti-lockout ---------------------------------------------------------------------------------------

def test_removing_the_mapping_this_task_logs_on_with_is_refused_unless_forced(fleet, host, tmp_path):
    put_service_auth(fleet, host, Certificate=True)
    try:
        (created,), _outcome = run(fleet, [mapping_task(username="Administrator", password="{{ ansible_password }}")],
                                   tmp_path / "create")
        assert created["changed"] is True, created.get("msg")
        over_certificate = certificate_connection_vars(host)
        tasks = [dict(mapping_task(enabled=False), vars=over_certificate),
                 dict(mapping_task(state="absent"), vars=over_certificate)]
        results, _outcome = run(fleet, tasks, tmp_path / "refused")
        for result in results:
            assert result["failed"] and "lock this controller out" in result["msg"] and CLIENT_SUBJECT in result["msg"]
            assert "force: true" in result["msg"]
        assert find_mapping(fleet, host)["Enabled"] == "true"

        (forced,), _outcome = run(fleet, [dict(mapping_task(state="absent", force=True), vars=over_certificate)],
                                  tmp_path / "forced")
        assert forced["changed"] is True and not forced.get("failed"), forced.get("msg")
        assert any("force: true" in warning for warning in forced.get("warnings", []))
        assert find_mapping(fleet, host) is None
    finally:
        put_service_auth(fleet, host, Certificate=False)
