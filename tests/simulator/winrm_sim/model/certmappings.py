"""The CertMapping table (``winrm/config/service/certmapping``) and certificate logon through it.

Rules: MS-WSMV 3.1.4.1.29.3 (Issuer thumbprint of a CA in Root/Intermediate; Subject with at most one
leading ``*``; URI with at most one trailing ``*``, no white space or ``?``), winrm.vbs (a password is
stored only over a remote session), Microsoft Learn "Authentication for Remote Connections" (the
certificate must be 16 KB at most). The password is checked against the local account, kept by the
service and never returned.
"""
from __future__ import annotations

import datetime
import re
from typing import Callable

from ..protocol.faults import WSManFault

KEYS = ("URI", "Subject", "Issuer")
FIELDS = ("URI", "Subject", "Issuer", "UserName", "Enabled")    # Password is never returned
# "The maximum size certificate usable by WinRM in this context is 16KB." (Authentication for
# Remote Connections, Client Certificate-based Authentication).
MAX_CLIENT_CERTIFICATE = 16 * 1024
UPN_OID = "1.3.6.1.4.1.311.20.2.3"


class CertMappings:
    def __init__(self, items: list, accounts, cert_store, on_change: Callable[[], None]):
        self._items = items
        self.accounts = accounts
        self.cert_store = cert_store
        self._on_change = on_change

    def all(self) -> list[dict]:
        return [dict(item) for item in self._items]

    def _index(self, keys: dict) -> int:
        for index, item in enumerate(self._items):
            if all(item[k].lower() == keys[k].lower() for k in KEYS):
                return index
        raise WSManFault("RESOURCE_NOT_FOUND")

    def get(self, keys: dict) -> dict:
        return dict(self._items[self._index(keys)])

    def validate_keys(self, keys: dict) -> dict:
        uri, subject, issuer = keys["URI"], keys["Subject"], keys["Issuer"]
        if (not uri or len(uri) > 1023 or re.search(r"\s|\?", uri) or uri.count("*") > 1
                or ("*" in uri and not uri.endswith("*"))):
            raise WSManFault("URISECURITY_INVALIDURIKEY", provider=True)
        if (not subject or len(subject) > 1023 or subject.count("*") > 1
                or ("*" in subject and not subject.startswith("*"))):
            raise WSManFault("CERTMAPPING_INVALIDSUBJECTKEY", provider=True)
        issuer = issuer.replace(" ", "").upper()
        store = self.cert_store
        if not re.fullmatch(r"[0-9A-F]{40}", issuer) or store is None or not store.is_trusted_ca(issuer):
            raise WSManFault("CERTMAPPING_INVALIDISSUERKEY", provider=True)
        return {"URI": uri, "Subject": subject, "Issuer": issuer}

    def _check_credentials(self, values: dict, remote: bool) -> None:
        if ("UserName" in values) != ("Password" in values):
            raise WSManFault("CERTMAPPING_PASSWORDUSERTUPLE", provider=True)
        if "Password" not in values:
            return
        # winrm.vbs: "the -r switch must be used since the WinRM service must store the password".
        if not remote:
            raise WSManFault("NO_CERTMAPPING_OPERATION_FOR_LOCAL_SESSION", provider=True)
        password = values["Password"]
        if password == "":
            raise WSManFault("CERTMAPPING_PASSWORDBLANK", provider=True)
        if len(password) > 255:
            raise WSManFault("CERTMAPPING_PASSWORDTOOLONG", provider=True)
        account = self.accounts.check_password(values["UserName"], password)
        if account is None:  # unknown, not local (another domain) or wrong password
            raise WSManFault("CERTMAPPING_INVALIDUSERCREDENTIALS", provider=True)
        values["UserName"] = account

    def create(self, keys: dict, values: dict, remote: bool) -> dict:
        keys = self.validate_keys(keys)
        if any(all(item[k].lower() == keys[k].lower() for k in KEYS) for item in self._items):
            raise WSManFault("ALREADY_EXISTS", provider=True)
        if "UserName" not in values and "Password" not in values:
            raise WSManFault("CERTMAPPING_PASSWORDUSERTUPLE", provider=True)
        self._check_credentials(values, remote)
        item = dict(keys, UserName=values["UserName"], Password=values["Password"],
                    Enabled=values.get("Enabled", "true"))
        self._items.append(item)
        self._on_change()
        return keys

    def put(self, keys: dict, values: dict, remote: bool) -> dict:
        index = self._index(keys)
        self._check_credentials(values, remote)
        self._items[index].update(values)
        self._on_change()
        return dict(self._items[index])

    def delete(self, keys: dict) -> None:
        del self._items[self._index(keys)]
        self._on_change()

    # -- certificate logon
    def account_for(self, der: bytes, resource_uri: str) -> str | None:
        """The local account a client certificate logs on as for this resource, or None (401)."""
        from cryptography import x509
        from cryptography.x509.oid import ExtensionOID, NameOID

        if len(der) > MAX_CLIENT_CERTIFICATE:
            return None
        try:
            cert = x509.load_der_x509_certificate(der)
        except ValueError:
            return None
        now = datetime.datetime.now(datetime.timezone.utc)
        not_before = _utc(getattr(cert, "not_valid_before_utc", None) or cert.not_valid_before)
        not_after = _utc(getattr(cert, "not_valid_after_utc", None) or cert.not_valid_after)
        if not (not_before <= now <= not_after):
            return None
        issuer_thumbprint = self._issuer_thumbprint(cert)
        if not issuer_thumbprint:
            return None
        names = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
        try:
            san = cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
            upn_oid = x509.ObjectIdentifier(UPN_OID)
            for other in san.get_values_for_type(x509.OtherName):
                if other.type_id == upn_oid:
                    names.append(_der_utf8_string(other.value))
            names.extend(san.get_values_for_type(x509.RFC822Name))
        except x509.ExtensionNotFound:
            pass
        names = [n for n in names if n]
        for mapping in self._items:
            if mapping.get("Enabled", "true").lower() != "true" or mapping["Issuer"].upper() != issuer_thumbprint:
                continue
            if not any(_subject_matches(mapping["Subject"], n) for n in names):
                continue
            if not _uri_matches(mapping["URI"], resource_uri or ""):
                continue
            account = self.accounts.canonical(mapping.get("UserName", ""))
            if account and self.accounts.password_of(account) == mapping.get("Password"):
                return account
        return None

    def _issuer_thumbprint(self, cert) -> str | None:
        from cryptography import x509

        if self.cert_store is None:
            return None
        for info in self.cert_store.certs:
            if not info.is_ca or not self.cert_store.is_trusted_ca(info.thumbprint):
                continue
            try:
                with open(info.cert_path, "rb") as handle:
                    data = handle.read()
                ca = (x509.load_pem_x509_certificate(data) if b"-----BEGIN" in data
                      else x509.load_der_x509_certificate(data))
            except (OSError, ValueError):
                continue
            if ca.subject != cert.issuer:
                continue
            try:
                cert.verify_directly_issued_by(ca)
            except Exception:  # noqa: BLE001 - any verification failure means "not this CA"
                continue
            return info.thumbprint.upper()
        return None


def _utc(value: datetime.datetime) -> datetime.datetime:
    return value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)


def _der_utf8_string(value: bytes) -> str:
    """The UPN OtherName value is a DER UTF8String; decode just that."""
    if len(value) >= 2 and value[0] == 0x0C:
        length = value[1]
        offset = 2
        if length & 0x80:
            count = length & 0x7F
            length = int.from_bytes(value[2:2 + count], "big")
            offset = 2 + count
        return value[offset:offset + length].decode("utf-8", "replace")
    return ""


def _subject_matches(pattern: str, name: str) -> bool:
    pattern, name = pattern.lower(), name.lower()
    if pattern.startswith("*"):
        return name.endswith(pattern[1:])
    return pattern == name


def _uri_matches(pattern: str, uri: str) -> bool:
    pattern, uri = pattern.lower(), uri.lower()
    if pattern.endswith("*"):
        return uri.startswith(pattern[:-1])
    return pattern == uri
