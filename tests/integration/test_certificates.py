"""HTTPS certificates for life, through ansible-playbook against simulated hosts: wsman.winrm.info
reports the machine certificates and each HTTPS listener's certificate (what the controller is
served in the TLS handshake included).

The simulated hosts keep their certificates in their registry stores in Windows' blob format;
``winrm-sim cert`` renews, issues, damages and removes them as autoenrollment or an administrator
would. Expected verdicts come from the PKI's own files (pki/hosts/<host>/<role>.pem), not from the
module under test.
"""

from __future__ import annotations

import hashlib
import os

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from harness import run_tasks

FLEET_PROFILES = "server2022_https,server2022,server2022_https"
ROLES = ("server", "expired", "noeku", "untrusted")


def only(run) -> list[dict]:
    (results,) = run.results.values()
    return results


def role_thumbprints(fleet, name: str) -> dict[str, str]:
    """role -> thumbprint of the certificates the simulator's PKI issued to the host."""
    found = {}
    for role in ROLES:
        with open(os.path.join(fleet.process.state_dir, "pki", "hosts", name, f"{role}.pem"), "rb") as handle:
            der = x509.load_pem_x509_certificate(handle.read()).public_bytes(Encoding.DER)
        found[role] = hashlib.sha1(der).hexdigest().upper()
    return found


def ca_thumbprint(fleet) -> str:
    with open(os.path.join(fleet.process.state_dir, "pki", "ca.pem"), "rb") as handle:
        der = x509.load_pem_x509_certificate(handle.read()).public_bytes(Encoding.DER)
    return hashlib.sha1(der).hexdigest().upper()


def info(fleet, name: str, tmp_path, **options) -> dict:
    (result,) = only(run_tasks(fleet, [{"wsman.winrm.info": dict({"gather": ["certificates"]}, **options)}],
                               limit=name, tmp_path=tmp_path))
    assert not result.get("failed"), result.get("msg")
    return result["certificates"]


def test_info_lists_every_certificate_with_its_verdict(fleet, tmp_path):
    name, hv = fleet.host("server2022_https")
    roles = role_thumbprints(fleet, name)
    damaged = fleet.process.cert(name, "issue", days=200)["thumbprint"]
    fleet.process.cert(name, "corrupt", thumbprint=damaged)
    report = info(fleet, name, tmp_path / "a")
    by_thumbprint = {cert["thumbprint"]: cert for cert in report["my"]}
    assert set(by_thumbprint) == set(roles.values())          # the damaged one is not among them
    verdict = {role: [r["code"] for r in by_thumbprint[roles[role]]["reasons"]] for role in ROLES}
    assert verdict == {"server": [], "expired": ["expired"], "noeku": ["no_server_auth_eku"],
                       "untrusted": ["untrusted_issuer"]}
    assert [by_thumbprint[roles[role]]["usable"] for role in ROLES] == [True, False, False, False]
    server = by_thumbprint[roles["server"]]
    assert server["subject"] == f"O=winrm-sim,CN={name}" and server["has_private_key"] is True
    assert server["sans"] == [f"DNS:{name}", f"DNS:{name.lower()}", f"IP:{hv['ansible_host']}"]
    assert server["template"] == "Machine" and 700 <= server["days_left"] <= 730
    assert by_thumbprint[roles["expired"]]["days_left"] < 0
    ((error),) = report["errors"]
    assert error["thumbprint"] == damaged and "remain" in error["reason"]
    assert report["computer_names"] == [name]
    assert [issuer["thumbprint"] for issuer in report["trusted_issuers"]] == [ca_thumbprint(fleet)]
    ((listener),) = report["listeners"]
    assert listener["port"] == 5986 and listener["certificate_thumbprint"] == roles["server"]
    assert listener["in_store"] and listener["usable"] and not listener["renewed"]
    assert listener["tls"] == {"checked": True, "served_thumbprint": roles["server"], "matches_listener": True,
                               "error": None}
    fleet.process.cert(name, "remove", thumbprint=damaged)


def test_info_on_a_host_without_https_listener(fleet, tmp_path):
    name, _hv = fleet.host("server2022")
    report = info(fleet, name, tmp_path / "a", check_tls=False)
    assert report["listeners"] == []
    assert sorted(cert["thumbprint"] for cert in report["my"]) == sorted(role_thumbprints(fleet, name).values())


# ---- wsman.winrm.listener certificate: auto -------------------------------------------------------

def listener_thumbprint(fleet, hv, address: str = "*", https: bool = False) -> str | None:
    """The listener's CertificateThumbprint from a plain pypsrp Get (not the module under test)."""
    from pypsrp.wsman import SelectorSet

    from harness import CONFIG, value_of

    selectors = SelectorSet()
    selectors.add_option("Address", address)
    selectors.add_option("Transport", "HTTPS")
    with fleet.client(hv, https=https) as client:
        reply = client.get(CONFIG + "/listener", selector_set=selectors)
    return value_of(reply, "CertificateThumbprint")


def served(hv, port: int) -> str:
    """SHA-1 of the certificate the listener presents in a TLS handshake (validation off: any is read)."""
    import socket
    import ssl

    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with socket.create_connection((hv["ansible_host"], port), timeout=10) as raw:
        with context.wrap_socket(raw) as tls:
            return hashlib.sha1(tls.getpeercert(binary_form=True)).hexdigest().upper()


def test_auto_binds_the_longest_valid_match_as_check_mode_predicted(fleet, tmp_path):
    name, hv = fleet.host("server2022")
    longest = fleet.process.cert(name, "issue", days=1500)["thumbprint"]
    # Valid longer still, but each fails a rule: untrusted issuer, self-signed, no private key, wrong CN.
    fleet.process.cert(name, "issue", days=2000, issuer="untrusted")
    fleet.process.cert(name, "issue", days=2100, issuer="self")
    fleet.process.cert(name, "issue", days=2200, no_key=True)
    fleet.process.cert(name, "issue", days=2300, cn="web01", dns="web01")
    address = "IP:" + hv["ansible_host"]
    task = {"wsman.winrm.listener": {"address": address, "transport": "https", "port": 8446, "hostname": name,
                                     "certificate": "auto"}}
    (predicted,) = only(run_tasks(fleet, [task], limit=name, check=True, tmp_path=tmp_path / "check"))
    assert not predicted.get("failed"), predicted.get("msg")
    assert predicted["changed"] and predicted["listener"]["certificate_thumbprint"] == longest
    assert predicted["certificate"]["action"] == "selected" and predicted["certificate"]["thumbprint"] == longest
    assert _absent(fleet, hv, address)
    (created,) = only(run_tasks(fleet, [task], limit=name, tmp_path=tmp_path / "run"))
    assert not created.get("failed"), created.get("msg")
    assert created["listener"]["certificate_thumbprint"] == longest == listener_thumbprint(fleet, hv, address)
    assert created["listener"] == predicted["listener"]
    (again,) = only(run_tasks(fleet, [task], limit=name, tmp_path=tmp_path / "again"))
    assert again["changed"] is False and again["certificate"]["action"] == "keep"
    run_tasks(fleet, [{"wsman.winrm.listener": {"address": address, "transport": "https", "state": "absent"}}],
              limit=name, tmp_path=tmp_path / "delete")


def _absent(fleet, hv, address: str) -> bool:
    from pypsrp.exceptions import WSManFaultError

    try:
        listener_thumbprint(fleet, hv, address)
    except WSManFaultError as error:
        return error.code == 2150858752
    return False


def test_a_renewal_is_followed_and_the_handshake_then_serves_it(fleet, tmp_path):
    name, hv = fleet.host("server2022_https")
    old = listener_thumbprint(fleet, hv)
    assert served(hv, 5986) == old
    new = fleet.process.cert(name, "renew", thumbprint=old)["thumbprint"]
    task = {"wsman.winrm.listener": {"transport": "https", "certificate": "auto"}}
    (predicted,) = only(run_tasks(fleet, [task], limit=name, check=True, tmp_path=tmp_path / "check"))
    assert predicted["changed"] and predicted["listener"]["certificate_thumbprint"] == new
    assert listener_thumbprint(fleet, hv) == old                       # check mode sent nothing
    (result,) = only(run_tasks(fleet, [task], limit=name, tmp_path=tmp_path / "run"))
    assert not result.get("failed"), result.get("msg")
    assert result["certificate"]["action"] == "renewed" and result["certificate"]["previous"] == old
    assert result["certificate"]["renewal_chain"] == [old, new] and result["changes"] == ["certificate_thumbprint"]
    assert listener_thumbprint(fleet, hv) == new and served(hv, 5986) == new
    report = info(fleet, name, tmp_path / "info")
    (view,) = report["listeners"]
    assert view["certificate_thumbprint"] == new and not view["renewed"]
    assert view["tls"]["served_thumbprint"] == new and view["tls"]["matches_listener"] is True
    old_view = next(cert for cert in report["my"] if cert["thumbprint"] == old)
    assert old_view["renewed_by"] == new and old_view["archived"] is True


def test_no_qualifying_certificate_fails_listing_each_one(fleet, tmp_path):
    name, hv = fleet.host("server2022_https")
    before = listener_thumbprint(fleet, hv)
    task = {"wsman.winrm.listener": {"transport": "https", "certificate": "auto",
                                     "certificate_criteria": {"template": "WinRMHTTPS"}}}
    (result,) = only(run_tasks(fleet, [task], limit=name, tmp_path=tmp_path / "run"))
    assert result["failed"] and result["msg"].startswith("certificate: auto: no certificate of LocalMachine\\My")
    roles = role_thumbprints(fleet, name)
    assert f"- {roles['expired']} (O=winrm-sim,CN={name}): " in result["msg"] and "expired on" in result["msg"]
    assert "template Machine, not WinRMHTTPS" in result["msg"]
    assert listener_thumbprint(fleet, hv) == before


def test_never_rebinds_the_listener_in_use_to_a_certificate_the_controller_refuses(fleet, tmp_path):
    """Over HTTPS: the bound certificate expires within 30 days and the best match is issued to the
    host's names only, while the controller connects to its address: refused, unless forced."""
    import json

    name, hv = fleet.host("server2022_https")
    expiring = fleet.process.cert(name, "issue", days=10)["thumbprint"]
    fleet.process.cert(name, "outlive", thumbprint=expiring)      # bound while it was fine
    by_name_only = fleet.process.cert(name, "issue", days=1900, no_ip=True)["thumbprint"]
    over_https = ["-e", json.dumps({"ansible_winrm_scheme": "https", "ansible_port": 5986})]
    task = {"wsman.winrm.listener": {"transport": "https", "certificate": "auto"}}
    (refused,) = only(run_tasks(fleet, [task], limit=name, extra_args=over_https, tmp_path=tmp_path / "refused"))
    assert refused["failed"] and refused["msg"].startswith("Refusing a change that would lock this controller out")
    assert f"serve the certificate {by_name_only}, which the controller would refuse" in refused["msg"]
    assert "no matching subjectAltName" in refused["msg"]
    assert listener_thumbprint(fleet, hv) == expiring
    forced = {"wsman.winrm.listener": {"transport": "https", "certificate": "auto", "force": True}}
    (result,) = only(run_tasks(fleet, [forced], limit=name, extra_args=over_https, tmp_path=tmp_path / "forced"))
    assert not result.get("failed"), result.get("msg")
    assert result["certificate"]["action"] == "replaced" and result["certificate"]["thumbprint"] == by_name_only
    assert any(w.startswith("force: true: the listener this task uses now serves a certificate the controller "
                            "refuses") for w in result["warnings"])
    assert listener_thumbprint(fleet, hv) == by_name_only
    # Over HTTP the task's own connection is not at stake: the best match is bound without a question.
    fleet.process.cert(name, "remove", thumbprint=by_name_only)
    (back,) = only(run_tasks(fleet, [task], limit=name, tmp_path=tmp_path / "back"))
    assert back["certificate"]["action"] == "replaced" and not back.get("failed")
    assert served(hv, 5986) == back["certificate"]["thumbprint"] == listener_thumbprint(fleet, hv)


# ---- wsman.winrm.secure_baseline: selection by default, the controls, the fix ------------------------

HTTPS_PORT = "{{ wsman_winrm_sim_ports[5986] | default(5986) }}"


def baseline(fleet, name, tmp_path, check=False, **variables):
    """The role through ansible-playbook; returns its registered result and the host's report."""
    import json

    role_vars = dict({"secure_baseline_report_dir": str(tmp_path / "reports"),
                      "secure_baseline_https_connection_port": HTTPS_PORT}, **variables)
    tasks = [{"ansible.builtin.include_role": {"name": "wsman.winrm.secure_baseline"}, "vars": role_vars},
             {"ansible.builtin.set_fact": {"baseline": "{{ secure_baseline_result }}"}}]
    _role, facts = only(run_tasks(fleet, tasks, limit=name, check=check, tmp_path=tmp_path))
    result = facts["ansible_facts"]["baseline"]
    path = tmp_path / "reports" / f"{name}.json"
    return result, (json.loads(path.read_text()) if path.exists() else None)


def row(rows, control):
    return next(item for item in rows if item["id"] == control)


def test_an_expired_listener_certificate_is_reported_and_fixed_by_the_baseline(fleet, tmp_path):
    name, hv = sorted((n, h) for n, h in fleet.hosts().items() if h["wsman_winrm_sim_profile"] == "server2022_https")[1]
    roles = role_thumbprints(fleet, name)
    fleet.process.cert(name, "outlive", thumbprint=roles["expired"])      # expired while nobody looked
    assert listener_thumbprint(fleet, hv) == roles["expired"] == served(hv, 5986)
    ((view),) = info(fleet, name, tmp_path / "info")["listeners"]
    assert view["days_left"] < 0 and view["expires_within_window"] and not view["usable"]
    assert view["tls"]["served_thumbprint"] is None and "certificate has expired" in view["tls"]["error"]

    (refused,) = only(run_tasks(fleet, [{"wsman.winrm.converge": {"baseline": "secure_baseline"},
                                         "vars": {"secure_baseline_certificate_template": "WinRMHTTPS"}}],
                                limit=name, check=True, tmp_path=tmp_path / "strict"))
    assert refused["failed"] and "no certificate of LocalMachine\\My can serve the HTTPS listener" in refused["msg"]
    for role in ROLES:
        assert f"- {roles[role]} (O=winrm-sim,CN={name}):" in refused["msg"]

    audit, report = baseline(fleet, name, tmp_path / "audit", check=True)
    assert not audit.get("failed"), audit.get("msg")
    assert audit["certificate"]["action"] == "replaced" and audit["certificate"]["thumbprint"] == roles["server"]
    expiry = row(report["before"], "listener_certificate_expiry")
    assert expiry["status"] == "fail" and f"{roles['expired']} expired " in expiry["reason"]
    assert row(report["predicted"], "listener_certificate_expiry")["status"] == "pass"
    assert "listener_certificate_expiry" in audit["compliance"]["before"]["failing"]
    assert listener_thumbprint(fleet, hv) == roles["expired"]                # an audit changes nothing

    applied, report = baseline(fleet, name, tmp_path / "apply")
    assert not applied.get("failed"), applied.get("msg")
    assert applied["certificate"]["thumbprint"] == roles["server"] and applied["changed"]
    assert row(report["after"], "listener_certificate_expiry")["status"] == "pass"
    for control in ("listener_certificate_present", "listener_certificate_hostname", "listener_certificate_issuer"):
        assert row(report["after"], control)["status"] == "pass", row(report["after"], control)
    assert listener_thumbprint(fleet, hv, https=True) == roles["server"] == served(hv, 5986)
    assert "HTTP listeners removed" in " ".join(applied["changed_steps"])      # workgroup_https: over HTTPS now


def admit_https(fleet, hv, port: int = 5986) -> None:
    """What an administrator does before a new HTTPS listener can answer (the simulated firewall drops
    the port otherwise): New-NetFirewallRule -CimSession, as plain CIM requests - Create the rule,
    Put its port filter. Not the collection under test."""
    import xml.etree.ElementTree as ET

    from pypsrp.wsman import SelectorSet

    cim = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/StandardCimv2/"

    def element(class_name: str, **values) -> ET.Element:
        node = ET.Element(f"{{{cim}{class_name}}}{class_name}")
        for key, value in values.items():
            ET.SubElement(node, f"{{{cim}{class_name}}}{key}").text = str(value)
        return node

    selectors = SelectorSet()
    selectors.add_option("InstanceID", "WinRM-HTTPS-In-Admin")
    with fleet.client(hv) as client:
        client.create(cim + "MSFT_NetFirewallRule", element(
            "MSFT_NetFirewallRule", InstanceID="WinRM-HTTPS-In-Admin", ElementName="Windows Remote Management (HTTPS-In)",
            Enabled=1, Direction=1, Action=2, Profiles=0))
        ports = element("MSFT_NetProtocolPortFilter", Protocol="TCP", LocalPort=port)
        client.put(cim + "MSFT_NetProtocolPortFilter", ports, selector_set=selectors)


def test_the_baseline_creates_the_https_listener_on_the_certificate_it_chooses(fleet, tmp_path):
    """A new install (HTTP only), no thumbprint in the role's variables: the audit names the certificate,
    the apply binds it, the controller's TLS handshake is served it, and a rerun keeps it."""
    name, hv = fleet.host("server2022")
    admit_https(fleet, hv)
    best = fleet.process.cert(name, "issue", days=3000)["thumbprint"]     # the longest-valid match on the host
    audit, report = baseline(fleet, name, tmp_path / "audit", check=True)
    assert not audit.get("failed"), audit.get("msg")
    assert audit["certificate"]["action"] == "selected" and audit["certificate"]["thumbprint"] == best
    assert row(report["before"], "listener_certificate_present")["status"] == "not_applicable"   # no HTTPS yet
    assert row(report["predicted"], "listener_certificate_expiry")["status"] == "pass"

    applied, report = baseline(fleet, name, tmp_path / "apply")
    assert not applied.get("failed"), applied.get("msg")
    assert applied["certificate"] == audit["certificate"]
    assert listener_thumbprint(fleet, hv, https=True) == best == served(hv, 5986)
    for control in ("listener_certificate_present", "listener_certificate_expiry", "listener_certificate_hostname",
                    "listener_certificate_issuer"):
        assert row(report["after"], control)["status"] == "pass", row(report["after"], control)

    again, _report = baseline(fleet, name, tmp_path / "again")
    assert not again.get("failed"), again.get("msg")
    assert again["certificate"]["action"] == "keep" and again["certificate"]["thumbprint"] == best
    assert again["changed"] is False, again.get("changed_steps")
