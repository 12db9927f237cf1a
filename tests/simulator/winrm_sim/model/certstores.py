"""The LocalMachine certificate stores (MY and Root) of a simulated host, kept where Windows keeps them.

Windows' registry store provider keeps each certificate of a LocalMachine system store under
``HKLM\\SOFTWARE\\Microsoft\\SystemCertificates\\<store>\\Certificates\\<SHA-1 thumbprint>``, value
``Blob`` (REG_BINARY) (Microsoft Learn, "System Store Locations": the predefined stores MY, Root,
Trust, CA of CERT_SYSTEM_STORE_LOCAL_MACHINE are under that key). The blob is a sequence of
elements ``PropertyID`` (uint32 LE), ``Reserved`` (uint32 LE, 1), ``Length`` (uint32 LE), ``Value``,
the last one being the encoded certificate (element 0x20): [MS-GPEF] 2.2.1.1.1 "Certificate BLOB",
2.2.1.1.1.1 "Certificate BLOB Properties", 2.2.1.1.1.1.1 "KEY_PROV_INFO", 2.2.1.1.1.2 "Certificate
BLOB Encoding". ARCHIVED (19, no data) and RENEWAL (64, the SHA-1 of the certificate that replaced
this one) are the ids of wincrypt.h / certenroll.h ("CERTENROLL_PROPERTYID enumeration"); Microsoft
Learn, "ICertPropertyRenewal interface" and "ICertPropertyArchived interface": after a renewal the
enrollment process sets both on the old certificate in the personal store.

This module writes and reads that format on its own (the collection's parser is tested against it),
and is the host's certificate store for everything else in the simulator: the listeners' and the
service's thumbprint checks, the TLS certificate each HTTPS listener serves, the Root store that
CertMapping issuers must be in. The registry is the only copy; StdRegProv serves it read-only.
"""
from __future__ import annotations

import datetime
import hashlib
import logging
import os
import struct
import uuid

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ..pki import CertInfo
from .registry import REG_BINARY

log = logging.getLogger(__name__)

SYSTEM_CERTIFICATES = r"SOFTWARE\Microsoft\SystemCertificates"
MY, ROOT = "MY", "Root"
STORES = (MY, ROOT)

# Element ids: [MS-GPEF] 2.2.1.1.1.1, except ARCHIVED and RENEWAL (wincrypt.h).
KEY_PROV_INFO, SHA1_HASH, ENHKEY_USAGE, FRIENDLY_NAME = 2, 3, 9, 11
ARCHIVED, KEY_IDENTIFIER, AUTO_ENROLL, RENEWAL = 19, 20, 21, 64
ENCODED_CERTIFICATE = 0x20
_ELEMENT = struct.Struct("<III")

# CRYPT_KEY_PROV_INFO as a machine certificate enrolled through a legacy CSP template carries it:
# "Microsoft RSA SChannel Cryptographic Provider" (PROV_RSA_SCHANNEL, 12), CRYPT_MACHINE_KEYSET (0x20),
# AT_KEYEXCHANGE (1) (Microsoft Learn, "CRYPT_KEY_PROV_INFO structure (wincrypt.h)").
KEY_PROVIDER = "Microsoft RSA SChannel Cryptographic Provider"
PROV_RSA_SCHANNEL, CRYPT_MACHINE_KEYSET, AT_KEYEXCHANGE = 12, 0x20, 1

# The template autoenrollment names on the simulator's machine certificates (AUTO_ENROLL).
MACHINE_TEMPLATE = "Machine"


class NotInStore(LookupError):
    """The store holds no certificate of that thumbprint."""


def store_key(store: str) -> str:
    return f"{SYSTEM_CERTIFICATES}\\{store}\\Certificates"


# --- the blob format ------------------------------------------------------------------------------
def _utf16z(text: str) -> bytes:
    return text.encode("utf-16-le") + b"\0\0"


def key_prov_info(container: str, provider: str = KEY_PROVIDER) -> bytes:
    """[MS-GPEF] 2.2.1.1.1.1.1: seven uint32 (container name offset, provider name offset, provider
    type, flags, two reserved, key spec), then the names as NUL-terminated UTF-16LE strings."""
    names = _utf16z(container) + _utf16z(provider)
    header_size = 7 * 4
    header = struct.pack("<7I", header_size, header_size + len(_utf16z(container)), PROV_RSA_SCHANNEL,
                         CRYPT_MACHINE_KEYSET, 0, 0, AT_KEYEXCHANGE)
    return header + names


def write_blob(der: bytes, properties: list[tuple[int, bytes]]) -> bytes:
    """The ``Blob`` value: the properties in the given order, then the encoded certificate."""
    out = bytearray()
    for prop_id, value in list(properties) + [(ENCODED_CERTIFICATE, der)]:
        out += _ELEMENT.pack(prop_id, 1, len(value)) + value
    return bytes(out)


def read_blob(data: bytes) -> tuple[dict[int, bytes], bytes]:
    """(properties, DER) of a blob; ValueError when it is not one."""
    properties: dict[int, bytes] = {}
    der = None
    offset = 0
    while offset < len(data):
        if offset + _ELEMENT.size > len(data):
            raise ValueError(f"element header truncated at byte {offset}")
        prop_id, _reserved, length = _ELEMENT.unpack_from(data, offset)
        offset += _ELEMENT.size
        if offset + length > len(data):
            raise ValueError(f"element {prop_id} runs past the end of the blob")
        value = data[offset:offset + length]
        offset += length
        if prop_id == ENCODED_CERTIFICATE:
            der = value
        else:
            properties[prop_id] = value
    if der is None:
        raise ValueError("no encoded certificate")
    return properties, der


def _container_name(host_name: str, der: bytes) -> str:
    # Autoenrollment names machine key containers "te-<template>-<GUID>"; stable per certificate here.
    return f"te-{MACHINE_TEMPLATE}-{uuid.uuid5(uuid.NAMESPACE_OID, host_name + hashlib.sha1(der).hexdigest())}"


def store_entry(der: bytes, *, host_name: str = "", private_key: bool = True, friendly_name: str | None = None,
                template: str | None = None, ekus: list[str] | None = None,
                extra: list[tuple[int, bytes]] = ()) -> bytes:
    """The blob Windows keeps for ``der``: KEY_PROV_INFO when a private key is associated, the SHA-1
    and key identifier it caches, and the optional friendly name, template and EKU restriction."""
    cert = x509.load_der_x509_certificate(der)
    public = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    properties: list[tuple[int, bytes]] = []
    if private_key:
        properties.append((KEY_PROV_INFO, key_prov_info(_container_name(host_name, der))))
    properties.append((SHA1_HASH, hashlib.sha1(der).digest()))
    if ekus is not None:
        eku = x509.ExtendedKeyUsage([x509.ObjectIdentifier(oid) for oid in ekus])
        properties.append((ENHKEY_USAGE, eku.public_bytes()))
    if friendly_name is not None:
        properties.append((FRIENDLY_NAME, _utf16z(friendly_name)))
    properties.append((KEY_IDENTIFIER, hashlib.sha1(public).digest()))
    if template is not None:
        properties.append((AUTO_ENROLL, _utf16z(template)))
    properties.extend(extra)
    return write_blob(der, properties)


def _text(value: bytes | None) -> str:
    if not value:
        return ""
    return value[:len(value) - len(value) % 2].decode("utf-16-le", "replace").split("\0", 1)[0]


def _cn(name: x509.Name) -> str:
    values = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(values[0].value) if values else ""


# --- the store the rest of the simulator uses -----------------------------------------------------
class MachineCertificates:
    """CertStore (docs/contracts.md) over the registry's MY and Root stores.

    ``seed``: the certificates the PKI issued to this host (pki.CertStore), written into the stores
    of a host that has none yet (a new host, or a state file from before the stores existed); its
    key file is the private key behind every KEY_PROV_INFO here (one RSA key serves the simulator's
    machine certificates, see pki.py). ``folder``: where the certificates the TLS layer serves are
    written as PEM (``pki/hosts/<HOST>/store``).
    """

    def __init__(self, registry, host_name: str, seed=None):
        self.registry = registry
        self.host_name = host_name
        seed_certs = list(getattr(seed, "certs", None) or [])
        self.key_path = next((c.key_path for c in seed_certs if c.key_path), None)
        # The PKI's names for the certificates it issued (server, expired, ...); tests pick by them.
        self._roles = {c.thumbprint.upper(): c.role for c in seed_certs if c.role}
        first = next((c.cert_path for c in seed_certs if c.cert_path and c.role != "ca"), None)
        self.folder = os.path.join(os.path.dirname(first), "store") if first else None
        self._cache_generation = None
        self._cache: dict[str, list] = {}
        self.problems: dict[str, str] = {}     # "<store>\\<key>" -> why the simulator skips that blob
        if seed_certs and registry.key(SYSTEM_CERTIFICATES) is None:
            self.seed(seed_certs)

    # -- building
    def seed(self, certs) -> None:
        for cert in certs:
            with open(cert.cert_path, "rb") as handle:
                der = x509.load_pem_x509_certificate(handle.read()).public_bytes(serialization.Encoding.DER)
            if cert.is_ca:
                self.install(ROOT, der, private_key=False, friendly_name=_cn(x509.load_der_x509_certificate(der).subject))
            else:
                self.install(MY, der, private_key=cert.key_path is not None, template=MACHINE_TEMPLATE)
        for store in STORES:   # the empty sibling keys every system store has
            for sibling in ("CRLs", "CTLs"):
                self.registry.put_system_key(f"{SYSTEM_CERTIFICATES}\\{store}\\{sibling}")

    def install(self, store: str, der: bytes, **entry) -> str:
        thumbprint = hashlib.sha1(der).hexdigest().upper()
        self.registry.put_system_value(f"{store_key(store)}\\{thumbprint}", "Blob", REG_BINARY,
                                       store_entry(der, host_name=self.host_name, **entry))
        return thumbprint

    # -- the changes autoenrollment and an administrator make
    def renew(self, old: str, der: bytes, template: str | None = MACHINE_TEMPLATE) -> str:
        """Add the renewed certificate; mark ``old`` renewed (RENEWAL = the new SHA-1) and archived."""
        old = old.upper()
        raw = self.blob(MY, old)
        if raw is None:
            raise NotInStore(f"no certificate {old} in LocalMachine\\MY")
        properties, old_der = read_blob(raw)
        new = self.install(MY, der, template=template)
        properties[RENEWAL] = bytes.fromhex(new)
        properties[ARCHIVED] = b""
        self.registry.put_system_value(f"{store_key(MY)}\\{old}", "Blob", REG_BINARY,
                                       write_blob(old_der, sorted(properties.items())))
        return new

    def remove(self, store: str, thumbprint: str) -> None:
        if not self.registry.delete_system_key(f"{store_key(store)}\\{thumbprint.upper()}"):
            raise NotInStore(f"no certificate {thumbprint.upper()} in LocalMachine\\{store}")

    def put_raw(self, store: str, key_name: str, data: bytes) -> None:
        """Any bytes as a Blob (a damaged or foreign entry)."""
        self.registry.put_system_value(f"{store_key(store)}\\{key_name}", "Blob", REG_BINARY, bytes(data))

    # -- reading
    def blob(self, store: str, thumbprint: str) -> bytes | None:
        entry = self.registry.value(f"{store_key(store)}\\{thumbprint}", "Blob")
        return bytes(entry[1]) if entry and entry[0] == REG_BINARY else None

    def _entries(self, store: str) -> list:
        if self._cache_generation != self.registry.generation:
            self._cache = {}
            self._cache_generation = self.registry.generation
        if store not in self._cache:
            self._cache[store] = self._load(store)
        return self._cache[store]

    def _load(self, store: str) -> list:
        entries = []
        for name in self.registry.subkeys(store_key(store)):
            raw = self.blob(store, name)
            where = f"{store}\\{name}"
            self.problems.pop(where, None)
            try:
                if raw is None:
                    raise ValueError("no Blob value")
                properties, der = read_blob(raw)
                if hashlib.sha1(der).hexdigest().upper() != name.upper():
                    raise ValueError("the key name is not the certificate's SHA-1")
                entries.append(self._describe(store, properties, der))
            except (ValueError, IndexError) as error:
                # crypt32 skips an entry it cannot decode; the rest of the store stays usable.
                self.problems[where] = str(error)
                log.info("%s: skipping certificate %s: %s", self.host_name, where, error)
        return entries

    def _describe(self, store: str, properties: dict, der: bytes):
        cert = x509.load_der_x509_certificate(der)
        thumbprint = hashlib.sha1(der).hexdigest().upper()
        try:
            ekus = [u.dotted_string for u in cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value]
        except x509.ExtensionNotFound:
            ekus = None
        if ENHKEY_USAGE in properties:   # the store property restricts the extension further
            restriction = _decode_oid_sequence(properties[ENHKEY_USAGE])
            ekus = restriction if ekus is None else [oid for oid in ekus if oid in restriction]
        try:
            is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        except x509.ExtensionNotFound:
            is_ca = False
        try:
            dns_names = tuple(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
                              .value.get_values_for_type(x509.DNSName))
        except x509.ExtensionNotFound:
            dns_names = ()
        self_signed = cert.issuer == cert.subject
        has_key = KEY_PROV_INFO in properties
        return CertInfo(
            thumbprint=thumbprint, subject_cn=_cn(cert.subject), issuer_thumbprint="",
            not_after=cert.not_valid_after_utc,
            server_auth=ekus is None or ExtendedKeyUsageOID.SERVER_AUTH.dotted_string in ekus,
            client_auth=ekus is None or ExtendedKeyUsageOID.CLIENT_AUTH.dotted_string in ekus,
            is_ca=is_ca, self_signed=self_signed, cert_path=self._pem_file(thumbprint, cert),
            key_path=self.key_path if has_key else None, not_before=cert.not_valid_before_utc,
            subject=cert.subject.rfc4514_string(), issuer_cn=_cn(cert.issuer), dns_names=dns_names,
            role=self._roles.get(thumbprint, "ca" if store == ROOT else "issued"),
            issuer=cert.issuer.rfc4514_string(), store=store, archived=ARCHIVED in properties,
            renewed_by=properties[RENEWAL].hex().upper() if len(properties.get(RENEWAL, b"")) == 20 else "",
            template=_text(properties.get(AUTO_ENROLL)), friendly_name=_text(properties.get(FRIENDLY_NAME)))

    def _pem_file(self, thumbprint: str, cert) -> str:
        if self.folder is None:
            return ""
        path = os.path.join(self.folder, f"{thumbprint}.pem")
        if not os.path.exists(path):
            os.makedirs(self.folder, exist_ok=True)
            tmp = f"{path}.tmp{os.getpid()}"
            with open(tmp, "wb") as handle:
                handle.write(cert.public_bytes(serialization.Encoding.PEM))
            os.replace(tmp, path)
        return path

    # -- the CertStore surface
    @property
    def certs(self) -> list:
        mine, roots = self._entries(MY), self._entries(ROOT)
        for info in mine:
            issuer = next((ca for ca in roots if ca.subject == info.issuer), None)
            info.issuer_thumbprint = issuer.thumbprint if issuer else ""
        for ca in roots:
            ca.issuer_thumbprint = ca.thumbprint if ca.self_signed else ""
        return mine + roots

    def find(self, thumbprint: str):
        """A certificate of MY (the store listeners and the service's CertificateThumbprint name)."""
        wanted = (thumbprint or "").replace(" ", "").upper()
        return next((c for c in self.certs if c.thumbprint == wanted and c.store == MY), None)

    def by_subject_cn(self, cn: str) -> list:
        now = datetime.datetime.now(datetime.timezone.utc)
        matches = [c for c in self.certs if c.store == MY and not c.is_ca
                   and c.subject_cn.lower() == (cn or "").lower()]
        return sorted(matches, key=lambda c: (not c.server_auth, c.not_after < now, c.archived,
                                              c.role != "server", -c.not_after.timestamp()))

    def is_trusted_ca(self, thumbprint: str) -> bool:
        wanted = (thumbprint or "").upper()
        return any(c.thumbprint == wanted for c in self._entries(ROOT))

    def paths(self, thumbprint: str):
        cert = self.find(thumbprint)
        return (cert.cert_path, cert.key_path) if cert else None


def _decode_oid_sequence(value: bytes) -> list[str]:
    """ENHKEY_USAGE (DER SEQUENCE OF OBJECT IDENTIFIER; written by cryptography) -> dotted OIDs."""
    if len(value) < 2 or value[0] != 0x30:
        raise ValueError("ENHKEY_USAGE is not a DER SEQUENCE")
    length, offset = _der_length(value, 1)
    end = offset + length
    if end != len(value):
        raise ValueError("ENHKEY_USAGE length does not match")
    oids = []
    while offset < end:
        if value[offset] != 0x06:
            raise ValueError("ENHKEY_USAGE holds something other than OIDs")
        length, offset = _der_length(value, offset + 1)
        body = value[offset:offset + length]
        offset += length
        arcs, current = [], 0
        for byte in body:
            current = (current << 7) | (byte & 0x7F)
            if not byte & 0x80:
                arcs.append(current)
                current = 0
        first = min(arcs[0] // 40, 2)
        oids.append(".".join(str(a) for a in [first, arcs[0] - 40 * first] + arcs[1:]))
    return oids


def _der_length(data: bytes, offset: int) -> tuple[int, int]:
    first = data[offset]
    if first < 0x80:
        return first, offset + 1
    count = first & 0x7F
    return int.from_bytes(data[offset + 1:offset + 1 + count], "big"), offset + 1 + count
