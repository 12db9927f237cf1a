# -*- coding: utf-8 -*-
# Copyright: contributors to the wsman.winrm collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host's machine certificates over WS-Management: read the LocalMachine stores, judge each
certificate for a WinRM HTTPS listener, and describe each HTTPS listener's certificate.

Reading: the registry store provider keeps every certificate of a LocalMachine store under
``HKLM\\<location>\\<store>\\Certificates\\<SHA-1>``, value ``Blob``; WMI ``StdRegProv`` lists them
(``EnumKey``) and returns each blob (``GetBinaryValue``), which ``certstore`` parses ([MS-GPEF]
2.2.1.1.1). Microsoft Learn, "System Store Locations": the LocalMachine Root store is the physical
stores .Default (``SOFTWARE\\Microsoft\\SystemCertificates``), .GroupPolicy
(``SOFTWARE\\Policies\\Microsoft\\SystemCertificates``), .Enterprise
(``SOFTWARE\\Microsoft\\EnterpriseCertificates``), .AuthRoot and .SmartCard; the CA (intermediate)
store the first three. Read here: My, and Root and CA in those three locations. AuthRoot (the
public roots Windows updates itself, often hundreds) is not read: a certificate from a public CA
shows as issued by an issuer not found on the host. The computer's names come from
``Win32_ComputerSystem`` (Name, DNSHostName, Domain; module_utils/computer.py), read once per task. Cost: one EnumKey per store location, one
GetBinaryValue per certificate and one Enumerate; read only when asked for.

The views (``store_view``, ``listener_views``) are pure, so check mode and the compliance controls
compute them from a predicted listener list without asking the host again.
"""

from __future__ import annotations

import dataclasses
import datetime
import typing as t

from ansible_collections.wsman.winrm.plugins.module_utils import certstore, computer
from ansible_collections.wsman.winrm.plugins.module_utils.wsman import method_input, output_array, output_values

STDREGPROV_URI = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/default/StdRegProv"
MY, ROOT = "My", "Root"
SYSTEM = "SOFTWARE\\Microsoft\\SystemCertificates"
# (registry location, store, label): where trust anchors and intermediate CAs live.
ROOT_STORES = ((SYSTEM, "Root", "Root"),
               ("SOFTWARE\\Policies\\Microsoft\\SystemCertificates", "Root", "Root (Group Policy)"),
               ("SOFTWARE\\Microsoft\\EnterpriseCertificates", "Root", "Root (Enterprise)"))
CA_STORES = ((SYSTEM, "CA", "CA"),
             ("SOFTWARE\\Policies\\Microsoft\\SystemCertificates", "CA", "CA (Group Policy)"),
             ("SOFTWARE\\Microsoft\\EnterpriseCertificates", "CA", "CA (Enterprise)"))


@dataclasses.dataclass
class MachineCertificates:
    """What the host's stores hold (certificates parsed, blobs that would not parse) and its names."""

    my: list[certstore.StoredCertificate] = dataclasses.field(default_factory=list)
    roots: list[certstore.StoredCertificate] = dataclasses.field(default_factory=list)
    intermediates: list[certstore.StoredCertificate] = dataclasses.field(default_factory=list)
    errors: list[certstore.CertificateBlobError] = dataclasses.field(default_factory=list)
    computer_names: list[str] = dataclasses.field(default_factory=list)

    @property
    def trusted(self) -> list[certstore.StoredCertificate]:
        """The roots, and the intermediate CAs signed by one of them (or by an intermediate signed so):
        the issuers the host trusts. A matching issuer name alone does not count (``certstore.issued_by``)."""
        trusted = list(self.roots)
        pending = list(self.intermediates)
        while True:
            reached = [cert for cert in pending if any(certstore.issued_by(cert, ca) for ca in trusted)]
            if not reached:
                return trusted
            trusted += reached
            pending = [cert for cert in pending if cert not in reached]

    def find(self, thumbprint: str | None) -> certstore.StoredCertificate | None:
        if not thumbprint:
            return None
        try:
            wanted = certstore.normalize_thumbprint(thumbprint)
        except ValueError:
            return None
        return next((cert for cert in self.my if cert.thumbprint == wanted), None)

    def error_for(self, thumbprint: str | None) -> certstore.CertificateBlobError | None:
        wanted = (thumbprint or "").upper()
        return next((error for error in self.errors if error.thumbprint.upper() == wanted), None)


# ---- reading ---------------------------------------------------------------------------------------

def _registry_output(session: t.Any, method: str, **params: t.Any) -> t.Any:
    """One StdRegProv method call on HKLM; its ``<method>_OUTPUT`` element."""
    params = dict({"hDefKey": certstore.HKEY_LOCAL_MACHINE}, **params)
    return session.invoke(STDREGPROV_URI, method, method_input(STDREGPROV_URI, method, params))


def _registry(session: t.Any, method: str, **params: t.Any) -> dict[str, t.Any]:
    return output_values(_registry_output(session, method, **params))


def _as_list(value: t.Any) -> list[t.Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def read_store(session: t.Any, store: str, location: str = SYSTEM) -> tuple[list[certstore.StoredCertificate],
                                                                            list[certstore.CertificateBlobError]]:
    """Every certificate of one LocalMachine store; a blob that cannot be read or parsed is an error
    for that certificate only. A store key that does not exist (ReturnValue 2) is an empty store."""
    key = "%s\\%s\\Certificates" % (location, store)
    listed = _registry(session, "EnumKey", sSubKeyName=key)
    code = int(listed.get("ReturnValue") or 0)
    if code == 2:
        return [], []
    if code != 0:
        raise certstore.CertificateBlobError("", "StdRegProv EnumKey of HKLM\\%s returned %d (5: the account may "
                                             "not read the key)" % (key, code))
    blobs: dict[str, bytes] = {}
    errors: list[certstore.CertificateBlobError] = []
    for name in sorted(n for n in _as_list(listed.get("sNames")) if n):
        output = _registry_output(session, "GetBinaryValue", sSubKeyName="%s\\%s" % (key, name),
                                  sValueName=certstore.BLOB_VALUE)
        code = int(next(iter(output_array(output, "ReturnValue")), None) or 0)
        if code != 0:
            errors.append(certstore.CertificateBlobError(name, "StdRegProv GetBinaryValue of its Blob returned %d" % code))
            continue
        try:
            blobs[name] = bytes(map(int, [byte for byte in output_array(output, "uValue") if byte is not None]))
        except ValueError:
            errors.append(certstore.CertificateBlobError(name, "StdRegProv returned a Blob that is not a byte array"))
    certificates, parse_errors = certstore.parse_store(blobs)
    return certificates, errors + parse_errors


def read(session: t.Any, computer_names: t.Sequence[str] | None = None) -> MachineCertificates:
    """My, the Root and CA stores (see the module text) and the computer's names: ``computer_names``
    when the caller has read Win32_ComputerSystem already (computer.SystemInfo.certificate_names),
    else one Enumerate of it here."""
    machine = MachineCertificates()
    machine.my, machine.errors = read_store(session, MY)
    for stores, into in ((ROOT_STORES, machine.roots), (CA_STORES, machine.intermediates)):
        seen = set()
        for location, store, _label in stores:
            certificates, errors = read_store(session, store, location)
            into.extend(cert for cert in certificates if cert.thumbprint not in seen)
            seen.update(cert.thumbprint for cert in certificates)
            machine.errors += errors
    machine.computer_names = list(computer_names if computer_names is not None else
                                  computer.read_system(session, operating_system=False).certificate_names)
    return machine


# ---- what a listener should ask of a certificate ----------------------------------------------------

def names_for(listener: t.Any, machine: MachineCertificates, extra: t.Iterable[str] = ()) -> tuple[str, ...]:
    """The names a listener's certificate must be issued to: its Hostname when it has one (Windows
    checks the CN against it, fault 0x803380E9), else the computer's names; ``extra`` adds more."""
    hostname = (listener.get("hostname") or "").strip() if listener is not None else ""
    names = [hostname] if hostname else list(machine.computer_names)
    return tuple(dict.fromkeys([n for n in names + list(extra) if n]))


def criteria_for(listener: t.Any, machine: MachineCertificates, options: t.Mapping[str, t.Any]) -> certstore.Criteria:
    """``certificate`` options (hostname, issuer, template, min_days_left) as selection criteria."""
    names = (options.get("hostname"),) if options.get("hostname") else names_for(listener, machine)
    return certstore.Criteria(names=tuple(n for n in names if n), issuer=options.get("issuer") or None,
                              template=options.get("template") or None,
                              min_days_left=int(options.get("min_days_left") or 0),
                              trusted_issuers=tuple(machine.trusted))


# ---- views (pure) -----------------------------------------------------------------------------------

def store_view(machine: MachineCertificates, now: datetime.datetime) -> dict[str, t.Any]:
    """Each certificate of My, usable for a WinRM HTTPS listener or not and why; the malformed ones."""
    names = tuple(machine.computer_names)
    return {
        "computer_names": list(machine.computer_names),
        "my": [certstore.listener_fitness(cert, now, names, machine.trusted, machine.trusted) for cert in machine.my],
        "trusted_issuers": [{"thumbprint": cert.thumbprint, "subject": cert.subject,
                             "not_after": cert.not_after.isoformat(), "root": cert in machine.roots}
                            for cert in machine.trusted],
        "errors": [{"thumbprint": error.thumbprint, "message": str(error), "reason": error.reason}
                   for error in machine.errors],
    }


def https_listeners(listeners: t.Iterable[t.Any]) -> list[t.Any]:
    return [item for item in listeners if (item.get("transport") or "").upper() == "HTTPS"]


def listener_view(listener: t.Any, machine: MachineCertificates, now: datetime.datetime,
                  renew_within_days: int = 30) -> dict[str, t.Any]:
    """One HTTPS listener's certificate: found or not, subject, SANs, issuer, not-after, days left,
    renewed (by which thumbprint), usable and why not, and the certificate its renewal chain ends at."""
    thumbprint = (listener.get("certificate_thumbprint") or "").upper()
    source = listener.get("source") if isinstance(listener, t.Mapping) else getattr(listener, "source", "")
    view: dict[str, t.Any] = {
        "address": listener.get("address"), "port": listener.get("port"), "source": source or "",
        "hostname": listener.get("hostname") or "", "certificate_thumbprint": thumbprint or None,
    }
    if not thumbprint:
        # Only a predicted listener has none: Windows picks one when it creates it (none is listed).
        view.update(in_store=None, usable=None, reasons=[], note="Windows chooses the certificate when it creates "
                    "the listener: not known before")
        return view
    cert = machine.find(thumbprint)
    error = machine.error_for(thumbprint)
    view["in_store"] = cert is not None
    if cert is None:
        view.update(usable=False, error=str(error) if error else None, reasons=[{
            "code": "missing", "message": ("its Blob in LocalMachine\\My cannot be read: %s" % error.reason) if error else
            ("no certificate %s in LocalMachine\\My" % thumbprint)}])
        return view
    names = names_for(listener, machine)
    reasons = certstore.listener_reasons(cert, now, names, machine.trusted, machine.trusted)
    chain = certstore.follow_renewals(cert.thumbprint, machine.my, now)
    view.update(
        subject=cert.subject, sans=list(cert.sans), issuer=cert.issuer, self_signed=cert.self_signed,
        not_before=cert.not_before.isoformat(), not_after=cert.not_after.isoformat(),
        days_left=cert.days_left(now), expires_within_window=cert.days_left(now) < renew_within_days,
        renewed=cert.renewed_by is not None, renewed_by=cert.renewed_by, archived=cert.archived,
        renewal_chain=list(chain.chain), newest_valid=chain.newest_valid,
        names_checked=list(names), usable=not reasons, reasons=[r.to_dict() for r in reasons])
    return view


def listener_views(listeners: t.Iterable[t.Any], machine: MachineCertificates, now: datetime.datetime,
                   renew_within_days: int = 30) -> list[dict[str, t.Any]]:
    return [listener_view(item, machine, now, renew_within_days) for item in https_listeners(listeners)]


def tls_view(store_thumbprint: str | None, served_der: bytes | None, error: str | None = None) -> dict[str, t.Any]:
    """What the controller saw in the TLS handshake with the listener, against what the listener names."""
    if served_der is None:
        return {"checked": error is not None, "served_thumbprint": None, "matches_listener": None,
                "error": error}
    served = certstore.thumbprint_of(served_der)
    return {"checked": True, "served_thumbprint": served,
            "matches_listener": served == (store_thumbprint or "").upper(), "error": None}
