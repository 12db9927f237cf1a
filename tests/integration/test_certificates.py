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

FLEET_PROFILES = "server2022_https,server2022"
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
