# -*- coding: utf-8 -*-
# Copyright: contributors to the wsman.winrm collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""LocalMachine certificate store blobs: parse, build, judge for a WinRM HTTPS listener, choose.

Windows keeps each LocalMachine certificate in the registry under
``HKLM\\SOFTWARE\\Microsoft\\SystemCertificates\\<store>\\Certificates\\<SHA-1 thumbprint>``, value
``Blob``. The blob is a list of elements, each ``PropertyID`` (uint32 LE), ``Reserved`` (uint32 LE,
1), ``Length`` (uint32 LE) and ``Value``, ending with the encoded certificate, whose header is the
bytes ``20 00 00 00 01 00 00 00`` then the length and the DER certificate. Layout and property ids:
[MS-GPEF] Group Policy: Encrypting File System Extension, sections 2.2.1.1 "Recovery Agent
Certificate", 2.2.1.1.1 "Certificate BLOB", 2.2.1.1.1.1 "Certificate BLOB Properties",
2.2.1.1.1.1.1 "KEY_PROV_INFO" and 2.2.1.1.1.2 "Certificate BLOB Encoding".

The renewal and archived properties are not in MS-GPEF's table: their ids (64,
``XCN_CERT_RENEWAL_PROP_ID``; 19, ``XCN_CERT_ARCHIVED_PROP_ID``, no data) are from Microsoft Learn
"CERTENROLL_PROPERTYID enumeration (certenroll.h)", their meaning ("a SHA-1 hash of the new
certificate created when an existing certificate is renewed ... associated with the old
certificate"; "a certificate is archived after being renewed ... so that archived certificates can
be identified and skipped during enumeration") from "ICertPropertyRenewal interface" and
"ICertPropertyArchived interface (certenroll.h)".

Pure: no network, no Ansible. ``cryptography`` decodes the X.509 certificate itself.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import hashlib
import ipaddress
import re
import struct
import typing as t

try:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.x509.oid import ExtensionOID, NameOID

    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_IMPORT_ERROR: t.Optional[str] = None
except ImportError as import_error:  # pragma: no cover - exercised only without cryptography
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_IMPORT_ERROR = str(import_error)

# ----------------------------------------------------------------------------------------------
# Property ids ([MS-GPEF] 2.2.1.1.1.1 table unless said otherwise)
# ----------------------------------------------------------------------------------------------

PROP_KEY_PROV_INFO = 2      # KEY_PROV_INFO: the certificate has an associated private key (container, provider)
PROP_SHA1_HASH = 3          # SHA1_HASH: 20-byte SHA-1 of the certificate (the thumbprint)
PROP_MD5_HASH = 4
PROP_KEY_SPEC = 6
PROP_ENHKEY_USAGE = 9       # ENHKEY_USAGE: DER ExtendedKeyUsage (RFC 5280 4.2.1.12) set on the store entry
PROP_FRIENDLY_NAME = 11     # FRIENDLY_NAME: NUL-terminated UTF-16LE display name
PROP_DESCRIPTION = 13
PROP_SIGNATURE_HASH = 15
PROP_KEY_IDENTIFIER = 20
PROP_AUTO_ENROLL = 21       # AUTO_ENROLL: NUL-terminated UTF-16LE template name or OID used for autoenrollment
PROP_PUBKEY_ALG_PARA = 22
PROP_ISSUER_PUBLIC_KEY_MD5_HASH = 24
PROP_SUBJECT_PUBLIC_KEY_MD5_HASH = 25
PROP_DATE_STAMP = 27
PROP_ISSUER_SERIAL_NUMBER_MD5_HASH = 28
PROP_SUBJECT_NAME_MD5_HASH = 29
PROP_RENEWAL = 64           # XCN_CERT_RENEWAL_PROP_ID (certenroll.h): SHA-1 of the certificate that replaced this one
PROP_ARCHIVED = 19          # XCN_CERT_ARCHIVED_PROP_ID (certenroll.h): no data; set with RENEWAL on the old certificate
ELEMENT_CERTIFICATE = 0x20  # [MS-GPEF] 2.2.1.1.1.2: the encoded certificate, always last
RESERVED_VALUE = 1          # the Reserved field of every element ("MUST be set to 0x01 0x00 0x00 0x00")

# Ids this module interprets; any other id is kept as-is in ``unknown_properties``.
KNOWN_PROPERTIES = {
    PROP_KEY_PROV_INFO: "KEY_PROV_INFO", PROP_SHA1_HASH: "SHA1_HASH", PROP_ENHKEY_USAGE: "ENHKEY_USAGE",
    PROP_FRIENDLY_NAME: "FRIENDLY_NAME", PROP_AUTO_ENROLL: "AUTO_ENROLL", PROP_RENEWAL: "RENEWAL",
    PROP_ARCHIVED: "ARCHIVED",
}

_HEADER = struct.Struct("<III")
_KEY_PROV_INFO_HEADER = struct.Struct("<IIIIIII")  # offsets, provider type, flags, reserved x2, key spec

SERVER_AUTH_OID = "1.3.6.1.5.5.7.3.1"
# Microsoft's certificate template extensions: szOID_CERTIFICATE_TEMPLATE (v2: template OID and
# version) and szOID_ENROLL_CERTTYPE_EXTENSION (v1: template name as a BMPString).
_TEMPLATE_V2_OID = "1.3.6.1.4.1.311.21.7"
_TEMPLATE_V1_OID = "1.3.6.1.4.1.311.20.2"

_THUMBPRINT = re.compile(r"^[0-9A-Fa-f]{40}$")
_THUMBPRINT_NOISE = re.compile(r"[\s:\u200e\u200f]")  # what a copy from certlm.msc adds
_VERIFIER_CONTEXT = re.compile(r"\s*\(encountered processing <.*$")

# Where the stores live, for StdRegProv (EnumKey on the store key, GetBinaryValue of "Blob" on each
# subkey): hDefKey HKEY_LOCAL_MACHINE.
HKEY_LOCAL_MACHINE = 0x80000002
BLOB_VALUE = "Blob"


def store_key(store: str = "My") -> str:
    """``SOFTWARE\\Microsoft\\SystemCertificates\\<store>\\Certificates`` (under HKLM)."""
    return "SOFTWARE\\Microsoft\\SystemCertificates\\%s\\Certificates" % store


class CertificateBlobError(ValueError):
    """One certificate's blob cannot be read; the other certificates of the store still can."""

    def __init__(self, thumbprint: str, reason: str, offset: t.Optional[int] = None) -> None:
        self.thumbprint = thumbprint
        self.reason = reason
        self.offset = offset
        where = "" if offset is None else " (at byte %d of the blob)" % offset
        super().__init__("certificate %s: %s%s" % (thumbprint or "(no name)", reason, where))


def normalize_thumbprint(value: t.Any) -> str:
    """``'ab cd ...'`` or ``'abcd...'`` -> ``'ABCD...'``; raises ValueError unless 40 hex digits."""
    text = _THUMBPRINT_NOISE.sub("", str(value or ""))
    if not _THUMBPRINT.match(text):
        raise ValueError("a certificate thumbprint is 40 hexadecimal digits (its SHA-1), got %r" % value)
    return text.upper()


# ----------------------------------------------------------------------------------------------
# DER: just enough to read and write a SEQUENCE OF OBJECT IDENTIFIER and the template extensions
# ----------------------------------------------------------------------------------------------


def _der_read(data: bytes, offset: int) -> t.Tuple[int, bytes, int]:
    """One TLV at ``offset`` -> (tag, value, offset after it). Raises ValueError when truncated."""
    if offset + 2 > len(data):
        raise ValueError("DER element truncated")
    tag, first = data[offset], data[offset + 1]
    offset += 2
    if first & 0x80:
        count = first & 0x7F
        if count == 0 or count > 4 or offset + count > len(data):
            raise ValueError("DER length invalid")
        length = int.from_bytes(data[offset:offset + count], "big")
        offset += count
    else:
        length = first
    if offset + length > len(data):
        raise ValueError("DER value truncated")
    return tag, data[offset:offset + length], offset + length


def _der_length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    raw = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def _decode_oid(value: bytes) -> str:
    if not value or value[-1] & 0x80:
        raise ValueError("OBJECT IDENTIFIER invalid")
    numbers: t.List[int] = []
    current = 0
    for byte in value:
        current = (current << 7) | (byte & 0x7F)
        if not byte & 0x80:
            numbers.append(current)
            current = 0
    first = numbers[0]
    head = [min(first // 40, 2), first - 40 * min(first // 40, 2)]
    return ".".join(str(n) for n in head + numbers[1:])


def _encode_oid(dotted: str) -> bytes:
    parts = [int(p) for p in dotted.split(".")]
    if len(parts) < 2:
        raise ValueError("OBJECT IDENTIFIER needs two arcs: %r" % dotted)
    body = bytearray()
    for number in [parts[0] * 40 + parts[1]] + parts[2:]:
        chunk = [number & 0x7F]
        number >>= 7
        while number:
            chunk.append(0x80 | (number & 0x7F))
            number >>= 7
        body.extend(reversed(chunk))
    return b"\x06" + _der_length(len(body)) + bytes(body)


def decode_eku_list(value: bytes) -> t.List[str]:
    """DER ``SEQUENCE OF KeyPurposeId`` -> dotted OIDs (the ENHKEY_USAGE property's value)."""
    tag, body, end = _der_read(value, 0)
    if tag != 0x30 or end != len(value):
        raise ValueError("not a DER SEQUENCE")
    oids, offset = [], 0
    while offset < len(body):
        tag, item, offset = _der_read(body, offset)
        if tag != 0x06:
            raise ValueError("SEQUENCE member is not an OBJECT IDENTIFIER")
        oids.append(_decode_oid(item))
    return oids


def encode_eku_list(oids: t.Iterable[str]) -> bytes:
    body = b"".join(_encode_oid(oid) for oid in oids)
    return b"\x30" + _der_length(len(body)) + body


# ----------------------------------------------------------------------------------------------
# The parsed certificate
# ----------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class StoredCertificate:
    """A certificate as the registry store holds it: the X.509 fields and the store's properties."""

    thumbprint: str
    subject: str
    subject_cn: t.Optional[str]
    issuer: str
    issuer_cn: t.Optional[str]
    serial_number: str
    not_before: datetime.datetime
    not_after: datetime.datetime
    dns_names: t.Tuple[str, ...]
    ip_addresses: t.Tuple[str, ...]
    ekus_extension: t.Optional[t.Tuple[str, ...]]   # None: no EKU extension
    ekus_property: t.Optional[t.Tuple[str, ...]]    # None: no ENHKEY_USAGE property on the store entry
    has_private_key: bool
    key_container: t.Optional[str]
    key_provider: t.Optional[str]
    friendly_name: t.Optional[str]
    template: t.Optional[str]                 # AUTO_ENROLL property
    template_extension: t.Optional[str]       # the certificate's own template extension (name or OID)
    renewed_by: t.Optional[str]
    unknown_properties: t.Tuple[t.Tuple[int, bytes], ...]
    der: bytes = dataclasses.field(repr=False)
    archived: bool = False                    # ARCHIVED property: Windows skips it when it enumerates the store

    @property
    def ekus(self) -> t.Optional[t.Tuple[str, ...]]:
        """The uses Windows allows: both the extension and the store property restrict (None: any use).

        CertGetEnhancedKeyUsage with dwFlags 0 "returns the valid uses of a certificate based on
        both the EKU extension and the EKU extended property value" (Microsoft Learn).
        """
        if self.ekus_extension is None:
            return self.ekus_property
        if self.ekus_property is None:
            return self.ekus_extension
        allowed = set(self.ekus_property)
        return tuple(oid for oid in self.ekus_extension if oid in allowed)

    @property
    def sans(self) -> t.Tuple[str, ...]:
        return tuple(["DNS:" + n for n in self.dns_names] + ["IP:" + a for a in self.ip_addresses])

    @property
    def self_signed(self) -> bool:
        return self.subject == self.issuer

    def days_left(self, now: datetime.datetime) -> int:
        """Whole days until ``not_after`` (negative once expired)."""
        return (self.not_after - _utc(now)).days

    def within_validity(self, now: datetime.datetime) -> bool:
        return self.not_before <= _utc(now) <= self.not_after

    def to_dict(self, now: t.Optional[datetime.datetime] = None) -> t.Dict[str, t.Any]:
        """JSON-safe view for module results (no private material: the blob holds none)."""
        result: t.Dict[str, t.Any] = {
            "thumbprint": self.thumbprint, "subject": self.subject, "issuer": self.issuer,
            "serial_number": self.serial_number, "not_before": self.not_before.isoformat(),
            "not_after": self.not_after.isoformat(), "sans": list(self.sans),
            "ekus": None if self.ekus is None else list(self.ekus),
            "has_private_key": self.has_private_key, "friendly_name": self.friendly_name,
            "template": self.template or self.template_extension, "renewed_by": self.renewed_by,
            "archived": self.archived,
            "self_signed": self.self_signed,
            "unknown_properties": sorted(pid for pid, _value in self.unknown_properties),
        }
        if now is not None:
            result["days_left"] = self.days_left(now)
        return result


def _utc(moment: datetime.datetime) -> datetime.datetime:
    return moment.replace(tzinfo=datetime.timezone.utc) if moment.tzinfo is None else moment


def _utf16z(value: bytes) -> str:
    text = value[:len(value) - len(value) % 2].decode("utf-16-le", errors="replace")
    return text.split("\x00", 1)[0]


def _key_prov_info(value: bytes) -> t.Tuple[str, str]:
    """KEY_PROV_INFO -> (container name, provider name); [MS-GPEF] 2.2.1.1.1.1.1."""
    if len(value) < _KEY_PROV_INFO_HEADER.size:
        raise ValueError("KEY_PROV_INFO is %d bytes, shorter than its %d-byte header"
                         % (len(value), _KEY_PROV_INFO_HEADER.size))
    container_at, provider_at = _KEY_PROV_INFO_HEADER.unpack_from(value)[:2]
    names = []
    for label, at in (("container", container_at), ("provider", provider_at)):
        if at == 0:  # a null pointer when serialized: no name
            names.append("")
            continue
        if at < _KEY_PROV_INFO_HEADER.size or at >= len(value):
            raise ValueError("KEY_PROV_INFO %s name offset %d is outside the property" % (label, at))
        names.append(_utf16z(value[at:]))
    return names[0], names[1]


def _x509_fields(der: bytes) -> t.Dict[str, t.Any]:
    cert = x509.load_der_x509_certificate(der)

    def common_name(name: x509.Name) -> t.Optional[str]:
        values = name.get_attributes_for_oid(NameOID.COMMON_NAME)
        return str(values[-1].value) if values else None

    dns_names: t.List[str] = []
    ip_addresses: t.List[str] = []
    ekus_extension = None
    template_extension = None
    for extension in cert.extensions:
        oid = extension.oid.dotted_string
        if extension.oid == ExtensionOID.SUBJECT_ALTERNATIVE_NAME:
            dns_names = list(extension.value.get_values_for_type(x509.DNSName))
            ip_addresses = [str(a) for a in extension.value.get_values_for_type(x509.IPAddress)]
        elif extension.oid == ExtensionOID.EXTENDED_KEY_USAGE:
            ekus_extension = tuple(usage.dotted_string for usage in extension.value)
        elif oid in (_TEMPLATE_V2_OID, _TEMPLATE_V1_OID):
            template_extension = _template_from_extension(oid, extension.value.value) or template_extension

    not_before = getattr(cert, "not_valid_before_utc", None) or _utc(cert.not_valid_before)
    not_after = getattr(cert, "not_valid_after_utc", None) or _utc(cert.not_valid_after)
    return {
        "subject": cert.subject.rfc4514_string(), "subject_cn": common_name(cert.subject),
        "issuer": cert.issuer.rfc4514_string(), "issuer_cn": common_name(cert.issuer),
        "serial_number": "%X" % cert.serial_number, "not_before": not_before, "not_after": not_after,
        "dns_names": tuple(dns_names), "ip_addresses": tuple(ip_addresses),
        "ekus_extension": ekus_extension, "template_extension": template_extension,
    }


def _template_from_extension(oid: str, value: bytes) -> t.Optional[str]:
    try:
        if oid == _TEMPLATE_V1_OID:  # BMPString (UTF-16BE) template name
            tag, body, _end = _der_read(value, 0)
            return body.decode("utf-16-be") if tag == 0x1E else None
        tag, body, _end = _der_read(value, 0)  # SEQUENCE { templateID OID, major, minor }
        if tag != 0x30:
            return None
        tag, inner, _end = _der_read(body, 0)
        return _decode_oid(inner) if tag == 0x06 else None
    except (ValueError, UnicodeDecodeError):
        return None


# ----------------------------------------------------------------------------------------------
# Parse and build
# ----------------------------------------------------------------------------------------------


def parse_blob(data: bytes, thumbprint: str) -> StoredCertificate:
    """The ``Blob`` value of ``...\\Certificates\\<thumbprint>`` -> StoredCertificate.

    Raises CertificateBlobError (never anything else) for a truncated or malformed blob, a
    certificate that does not decode, or a certificate whose SHA-1 is not the key's name.
    """
    name = str(thumbprint or "")
    try:
        expected = normalize_thumbprint(name)
    except ValueError:
        raise CertificateBlobError(name, "the registry key name is not a SHA-1 thumbprint (40 hex digits)") from None
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise CertificateBlobError(expected, "the Blob value is not binary (REG_BINARY) data")
    data = bytes(data)

    properties: t.Dict[int, bytes] = {}
    order: t.List[int] = []
    der: t.Optional[bytes] = None
    offset = 0
    # Every element is at least a 12-byte header, so the loop always advances and ends.
    while offset < len(data):
        if offset + _HEADER.size > len(data):
            raise CertificateBlobError(expected, "element header truncated: %d bytes left, 12 needed"
                                       % (len(data) - offset), offset)
        prop_id, reserved, length = _HEADER.unpack_from(data, offset)
        start = offset + _HEADER.size
        if start + length > len(data):
            raise CertificateBlobError(expected, "property %d declares %d bytes but only %d remain"
                                       % (prop_id, length, len(data) - start), offset)
        if reserved != RESERVED_VALUE:
            raise CertificateBlobError(expected, "property %d has Reserved=%d, MS-GPEF requires 1"
                                       % (prop_id, reserved), offset)
        value = data[start:start + length]
        if prop_id == ELEMENT_CERTIFICATE:
            if der is not None:
                raise CertificateBlobError(expected, "the blob holds two encoded certificates", offset)
            der = value
        elif der is not None:
            raise CertificateBlobError(expected, "property %d follows the encoded certificate, which "
                                       "MS-GPEF places last" % prop_id, offset)
        else:
            if prop_id in properties:
                raise CertificateBlobError(expected, "property %d appears twice" % prop_id, offset)
            properties[prop_id] = value
            order.append(prop_id)
        offset = start + length
    if der is None:
        raise CertificateBlobError(expected, "no encoded certificate (element 0x20) in the blob")

    actual = hashlib.sha1(der).hexdigest().upper()  # nosec - SHA-1 is how Windows names the key
    if actual != expected:
        raise CertificateBlobError(expected, "the certificate's SHA-1 is %s, not the registry key's name" % actual)
    if not HAS_CRYPTOGRAPHY:
        raise RuntimeError("reading certificates needs the Python package cryptography on the controller "
                           "(pip install cryptography; pypsrp depends on it too): %s" % CRYPTOGRAPHY_IMPORT_ERROR)
    try:
        fields = _x509_fields(der)
    except Exception as error:  # cryptography raises ValueError and friends; report, never crash
        raise CertificateBlobError(expected, "the encoded certificate does not decode: %s" % error) from None

    try:
        container, provider = (None, None)
        if PROP_KEY_PROV_INFO in properties:
            container, provider = _key_prov_info(properties[PROP_KEY_PROV_INFO])
        ekus_property = None
        if PROP_ENHKEY_USAGE in properties:
            ekus_property = tuple(decode_eku_list(properties[PROP_ENHKEY_USAGE]))
        renewed_by = None
        if PROP_RENEWAL in properties:
            renewal = properties[PROP_RENEWAL]
            if len(renewal) != 20:
                raise ValueError("RENEWAL is %d bytes, a SHA-1 is 20" % len(renewal))
            renewed_by = renewal.hex().upper()
    except ValueError as error:
        raise CertificateBlobError(expected, str(error)) from None

    return StoredCertificate(
        thumbprint=actual,
        has_private_key=PROP_KEY_PROV_INFO in properties,
        key_container=container or None, key_provider=provider or None,
        ekus_property=ekus_property,
        friendly_name=_utf16z(properties[PROP_FRIENDLY_NAME]) if PROP_FRIENDLY_NAME in properties else None,
        template=_utf16z(properties[PROP_AUTO_ENROLL]) if PROP_AUTO_ENROLL in properties else None,
        renewed_by=renewed_by, archived=PROP_ARCHIVED in properties,
        unknown_properties=tuple((pid, properties[pid]) for pid in order if pid not in KNOWN_PROPERTIES),
        der=der, **fields)


def _utf16z_encode(text: str) -> bytes:
    return text.encode("utf-16-le") + b"\x00\x00"


def encode_key_prov_info(container: str, provider: str, provider_type: int = 1, key_spec: int = 1) -> bytes:
    """KEY_PROV_INFO value ([MS-GPEF] 2.2.1.1.1.1.1): 28-byte header, then the two names."""
    container_raw, provider_raw = _utf16z_encode(container), _utf16z_encode(provider)
    container_at = _KEY_PROV_INFO_HEADER.size
    provider_at = container_at + len(container_raw)
    header = _KEY_PROV_INFO_HEADER.pack(container_at, provider_at, provider_type, 0, 0, 0, key_spec)
    return header + container_raw + provider_raw


def build_blob(der: bytes, *, key_container: t.Optional[str] = None,
               key_provider: str = "Microsoft Software Key Storage Provider",
               ekus: t.Optional[t.Iterable[str]] = None, friendly_name: t.Optional[str] = None,
               template: t.Optional[str] = None, renewed_by: t.Optional[str] = None,
               extra_properties: t.Optional[t.Mapping[int, bytes]] = None, include_sha1: bool = True) -> bytes:
    """The inverse of parse_blob: the ``Blob`` value Windows would store for this certificate.

    ``key_container`` set means a private key is associated (KEY_PROV_INFO); ``ekus`` sets the
    ENHKEY_USAGE store property (an empty list disables every purpose, as certmgr does);
    ``extra_properties`` adds any other id verbatim.
    """
    properties: t.List[t.Tuple[int, bytes]] = []
    if key_container is not None:
        properties.append((PROP_KEY_PROV_INFO, encode_key_prov_info(key_container, key_provider)))
    if include_sha1:
        properties.append((PROP_SHA1_HASH, hashlib.sha1(der).digest()))  # nosec - the thumbprint
    if ekus is not None:
        properties.append((PROP_ENHKEY_USAGE, encode_eku_list(ekus)))
    if friendly_name is not None:
        properties.append((PROP_FRIENDLY_NAME, _utf16z_encode(friendly_name)))
    if template is not None:
        properties.append((PROP_AUTO_ENROLL, _utf16z_encode(template)))
    if renewed_by is not None:
        properties.append((PROP_RENEWAL, bytes.fromhex(normalize_thumbprint(renewed_by))))
    for prop_id, value in (extra_properties or {}).items():
        if prop_id == ELEMENT_CERTIFICATE or prop_id in dict(properties):
            raise ValueError("extra property %d clashes with one build_blob writes" % prop_id)
        properties.append((int(prop_id), bytes(value)))
    out = bytearray()
    for prop_id, value in properties + [(ELEMENT_CERTIFICATE, der)]:
        out += _HEADER.pack(prop_id, RESERVED_VALUE, len(value)) + value
    return bytes(out)


def thumbprint_of(der: bytes) -> str:
    return hashlib.sha1(der).hexdigest().upper()  # nosec - SHA-1 is the thumbprint by definition


def parse_store(blobs: t.Mapping[str, bytes]) -> t.Tuple[t.List[StoredCertificate], t.List[CertificateBlobError]]:
    """``{key name: Blob}`` of one store -> (certificates, per-certificate errors); one bad blob never hides the rest."""
    certificates, errors = [], []
    for name in sorted(blobs):
        try:
            certificates.append(parse_blob(blobs[name], name))
        except CertificateBlobError as error:
            errors.append(error)
    return certificates, errors


# ----------------------------------------------------------------------------------------------
# Fit for a WinRM HTTPS listener
# ----------------------------------------------------------------------------------------------

# Reason codes, stable for playbooks and tests; the text beside each is what users read.
NO_SERVER_AUTH = "no_server_auth_eku"
NO_PRIVATE_KEY = "no_private_key"
NOT_YET_VALID = "not_yet_valid"
EXPIRED = "expired"
NAME_MISMATCH = "name_mismatch"
UNTRUSTED_ISSUER = "untrusted_issuer"
ISSUER_MISMATCH = "issuer_mismatch"
TEMPLATE_MISMATCH = "template_mismatch"
TOO_FEW_DAYS = "expires_too_soon"
ARCHIVED = "archived"
CN_MISMATCH = "cn_mismatch"
CONTROLLER_REFUSES = "controller_refuses"


@dataclasses.dataclass(frozen=True)
class Reason:
    code: str
    message: str

    def to_dict(self) -> t.Dict[str, str]:
        return {"code": self.code, "message": self.message}


def _dns_match(pattern: str, name: str) -> bool:
    """RFC 6125 style: case-insensitive, a wildcard only as the whole leftmost label."""
    pattern, name = pattern.lower().rstrip("."), name.lower().rstrip(".")
    if pattern.startswith("*."):
        head, _dot, rest = name.partition(".")
        return bool(head) and rest == pattern[2:]
    return pattern == name


def name_matches(cert: StoredCertificate, names: t.Iterable[str]) -> t.Optional[str]:
    """The first of ``names`` the certificate is issued to (SAN DNS or IP, else subject CN), or None."""
    for name in names:
        name = str(name or "").strip()
        if not name:
            continue
        try:
            address = ipaddress.ip_address(name.strip("[]"))
        except ValueError:
            address = None
        if address is not None:
            if any(ipaddress.ip_address(a) == address for a in cert.ip_addresses):
                return name
            continue
        if any(_dns_match(pattern, name) for pattern in cert.dns_names):
            return name
        if cert.subject_cn and _dns_match(cert.subject_cn, name):
            return name
    return None


@functools.lru_cache(maxsize=4096)
def _signed_by(der: bytes, issuer_der: bytes) -> bool:
    try:
        x509.load_der_x509_certificate(der).verify_directly_issued_by(x509.load_der_x509_certificate(issuer_der))
    except (ValueError, TypeError, InvalidSignature):  # other name, unsupported key, or not its signature
        return False
    return True


def issued_by(cert: StoredCertificate, ca: StoredCertificate) -> bool:
    """``ca`` issued ``cert``: its subject is the certificate's issuer AND its key verifies the
    certificate's signature (RFC 5280 6.1.3 (a)(1)). The name alone proves nothing: any CA can put
    another CA's distinguished name in its own certificate."""
    return ca.subject == cert.issuer and _signed_by(cert.der, ca.der)


def _issuer_known(cert: StoredCertificate, trusted: t.Iterable[t.Any],
                  authorities: t.Sequence[StoredCertificate]) -> bool:
    """Issuer named in ``trusted`` by DN or CN, or given as its certificate (a StoredCertificate, or
    the thumbprint of one in ``authorities``), which must then have signed ``cert`` (``issued_by``)."""
    issuer_names = {cert.issuer.lower()} | ({cert.issuer_cn.lower()} if cert.issuer_cn else set())
    for entry in trusted:
        if isinstance(entry, StoredCertificate):
            if issued_by(cert, entry):
                return True
            continue
        text = str(entry or "").strip()
        try:
            thumb = normalize_thumbprint(text)
        except ValueError:
            if text.lower() in issuer_names:
                return True
            continue
        if thumb == cert.thumbprint and cert.self_signed:
            return True
        if any(ca.thumbprint == thumb and issued_by(cert, ca) for ca in authorities):
            return True
    return False


def listener_reasons(cert: StoredCertificate, now: datetime.datetime, names: t.Iterable[str] = (),
                     trusted_issuers: t.Optional[t.Iterable[t.Any]] = None,
                     authorities: t.Sequence[StoredCertificate] = ()) -> t.List[Reason]:
    """Why ``cert`` cannot serve a WinRM HTTPS listener; empty when it can.

    Microsoft, "Configuration and Security" (WinRM): the listener's certificate "needs to be marked
    as a Server Authentication Certificate"; TLS needs its private key; clients check the validity
    period and the name. ``names``: the listener's Hostname and/or the computer's names (skipped when
    empty). ``trusted_issuers``: issuer DNs, CNs, CA thumbprints (resolved through ``authorities``,
    e.g. the Root and CA stores) or StoredCertificates; None skips the issuer check.
    """
    reasons: t.List[Reason] = []
    ekus = cert.ekus
    if ekus is None or SERVER_AUTH_OID not in ekus:
        reasons.append(Reason(NO_SERVER_AUTH, "not marked for Server Authentication (EKU %s); its EKUs: %s"
                              % (SERVER_AUTH_OID, "none listed" if not ekus else ", ".join(ekus))))
    if not cert.has_private_key:
        reasons.append(Reason(NO_PRIVATE_KEY, "no private key is associated with it in the store"))
    moment = _utc(now)
    if moment < cert.not_before:
        reasons.append(Reason(NOT_YET_VALID, "not valid before %s" % cert.not_before.isoformat()))
    if moment > cert.not_after:
        reasons.append(Reason(EXPIRED, "expired on %s" % cert.not_after.isoformat()))
    names = [n for n in names if n]
    if names and name_matches(cert, names) is None:
        reasons.append(Reason(NAME_MISMATCH, "issued to %s, not to %s" % (
            ", ".join(cert.sans) or "CN=%s" % cert.subject_cn, " or ".join(names))))
    if trusted_issuers is not None:
        trusted = list(trusted_issuers)
        if not _issuer_known(cert, trusted, authorities):
            what = "self-signed" if cert.self_signed else "issued by %s" % cert.issuer
            reasons.append(Reason(UNTRUSTED_ISSUER, "%s, which is not a trusted issuer" % what))
    return reasons


def listener_fitness(cert: StoredCertificate, now: datetime.datetime, names: t.Iterable[str] = (),
                     trusted_issuers: t.Optional[t.Iterable[t.Any]] = None,
                     authorities: t.Sequence[StoredCertificate] = ()) -> t.Dict[str, t.Any]:
    """The certificate as ``info`` reports it: its fields, ``usable`` and the reasons when it is not."""
    reasons = listener_reasons(cert, now, names, trusted_issuers, authorities)
    result = cert.to_dict(now)
    result.update(usable=not reasons, reasons=[r.to_dict() for r in reasons])
    return result


# ----------------------------------------------------------------------------------------------
# Selection (certificate: auto) and renewal chains
# ----------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Criteria:
    """What ``certificate: auto`` asks for. Empty fields do not restrict."""

    names: t.Tuple[str, ...] = ()
    issuer: t.Optional[str] = None          # DN, CN or CA thumbprint the certificate must be issued by
    template: t.Optional[str] = None        # autoenrollment template name or OID
    min_days_left: int = 0
    trusted_issuers: t.Optional[t.Tuple[t.Any, ...]] = None
    # The listener's Hostname: Windows requires the certificate's CN to be it (fault 0x803380E9,
    # "The certificate CN and the hostname that were provided do not match").
    common_name: t.Optional[str] = None
    # How the controller will connect to the listener: only a certificate it accepts qualifies.
    controller: t.Optional["ControllerView"] = None


@dataclasses.dataclass(frozen=True)
class ControllerView:
    """The controller's side of the TLS handshake with a listener: the host name or address it
    connects to, its trust anchors (None: it does not validate), the SHA-256 it pins, and the host's
    intermediate CAs (served with the certificate). ``reasons`` is ``controller_reasons`` for it."""

    host: str
    anchors: t.Optional[t.Tuple[t.Any, ...]]
    pin_sha256: t.Optional[str] = None
    intermediates: t.Tuple[StoredCertificate, ...] = ()

    def reasons(self, cert: StoredCertificate, now: datetime.datetime) -> t.List["Reason"]:
        return controller_reasons(cert, now, self.host, self.anchors, self.pin_sha256, self.intermediates)


@dataclasses.dataclass(frozen=True)
class Selection:
    chosen: t.Optional[StoredCertificate]
    rejected: t.Tuple[t.Tuple[StoredCertificate, t.Tuple[Reason, ...]], ...]
    candidates: t.Tuple[StoredCertificate, ...]   # every qualifying one, best first

    # How ties are broken, for documentation and messages.
    ORDER = "the latest not-after date wins; on a tie the latest not-before date, then the lowest thumbprint"

    def explain(self) -> str:
        """For a failed selection: each certificate and why it does not qualify."""
        if self.chosen is not None:
            return "chose %s (%s)" % (self.chosen.thumbprint, self.ORDER)
        if not self.rejected:
            return "no certificate qualifies: the store holds none"
        lines = ["no certificate qualifies:"]
        for cert, reasons in self.rejected:
            why = "; ".join(r.message for r in reasons)
            lines.append("- %s (%s): %s" % (cert.thumbprint, cert.subject or "no subject", why))
        return "\n".join(lines)


def _criteria_reasons(cert: StoredCertificate, criteria: Criteria, authorities: t.Sequence[StoredCertificate],
                      now: datetime.datetime) -> t.List[Reason]:
    """What ``criteria`` asks beyond ``listener_reasons``: issuer, template, the Hostname as CN, and
    that the controller accepts it."""
    reasons = []
    if criteria.issuer and not _issuer_known(cert, [criteria.issuer], authorities):
        reasons.append(Reason(ISSUER_MISMATCH, "issued by %s, not %s" % (cert.issuer, criteria.issuer)))
    if criteria.template and not _template_matches(cert, criteria.template):
        reasons.append(Reason(TEMPLATE_MISMATCH, "template %s, not %s"
                              % (cert.template or cert.template_extension or "none", criteria.template)))
    if criteria.common_name and (cert.subject_cn or "").lower() != criteria.common_name.lower():
        reasons.append(Reason(CN_MISMATCH, "its CN is %s, and Windows requires the listener Hostname %s as the CN"
                              % (cert.subject_cn or "(none)", criteria.common_name)))
    if criteria.controller is not None:
        reasons += criteria.controller.reasons(cert, now)
    return reasons


def _template_matches(cert: StoredCertificate, wanted: str) -> bool:
    wanted = wanted.strip().lower()
    return any(v and v.strip().lower() == wanted for v in (cert.template, cert.template_extension))


def select_certificate(certificates: t.Iterable[StoredCertificate], criteria: Criteria,
                       now: datetime.datetime, authorities: t.Sequence[StoredCertificate] = ()) -> Selection:
    """The qualifying certificate valid longest, deterministically (see ``Selection.ORDER``)."""
    qualifying, rejected = [], []
    for cert in certificates:
        reasons = listener_reasons(cert, now, criteria.names, criteria.trusted_issuers, authorities)
        reasons += _criteria_reasons(cert, criteria, authorities, now)
        if cert.archived:
            reasons.append(Reason(ARCHIVED, "archived%s: Windows skips archived certificates"
                                  % (" (renewed by %s)" % cert.renewed_by if cert.renewed_by else "")))
        days = cert.days_left(now)
        if criteria.min_days_left and 0 <= days < criteria.min_days_left:
            reasons.append(Reason(TOO_FEW_DAYS, "%d days left, %d required" % (days, criteria.min_days_left)))
        if reasons:
            rejected.append((cert, tuple(reasons)))
        else:
            qualifying.append(cert)
    # Sort: latest not_after first, then latest not_before, then lowest thumbprint.
    qualifying.sort(key=lambda c: c.thumbprint)
    qualifying.sort(key=lambda c: (c.not_after, c.not_before), reverse=True)
    rejected.sort(key=lambda item: item[0].thumbprint)
    return Selection(chosen=qualifying[0] if qualifying else None, rejected=tuple(rejected),
                     candidates=tuple(qualifying))


@dataclasses.dataclass(frozen=True)
class RenewalChain:
    start: str
    chain: t.Tuple[str, ...]              # thumbprints from start, following renewed_by, as far as the store goes
    newest_valid: t.Optional[str]         # the last certificate of the chain within its validity, if any
    problem: t.Optional[str]              # why the walk stopped early (cycle, missing link), None at a clean end


def follow_renewals(start: str, certificates: t.Iterable[StoredCertificate],
                    now: datetime.datetime) -> RenewalChain:
    """Walk ``renewed_by`` from ``start`` to the newest valid certificate; stops on cycles and missing links."""
    by_thumb = {c.thumbprint: c for c in certificates}
    first = normalize_thumbprint(start)
    chain: t.List[str] = []
    problem = None
    current: t.Optional[str] = first
    while current is not None:
        if current in chain:
            problem = "renewal cycle: %s is renewed by %s, already in the chain" % (chain[-1], current)
            break
        cert = by_thumb.get(current)
        if cert is None:
            problem = ("%s is not in the store" % current if not chain else
                       "%s was renewed by %s, which is not in the store" % (chain[-1], current))
            break
        chain.append(current)
        current = cert.renewed_by
    newest_valid = next((thumb for thumb in reversed(chain) if by_thumb[thumb].within_validity(now)), None)
    return RenewalChain(start=first, chain=tuple(chain), newest_valid=newest_valid, problem=problem)


# ----------------------------------------------------------------------------------------------
# Which certificate an HTTPS listener should name (listener certificate: auto, converge, baseline)
# ----------------------------------------------------------------------------------------------

KEEP, RENEWED, SELECTED, REPLACED = "keep", "renewed", "selected", "replaced"


@dataclasses.dataclass(frozen=True)
class Binding:
    """The certificate an HTTPS listener should name, and why.

    ``action``: ``selected`` (a new listener, or one without a thumbprint: the best match),
    ``keep`` (the current one qualifies), ``renewed`` (the current one was renewed: the newest valid
    certificate of its renewal chain), ``replaced`` (the current one is gone, expires within the
    renewal window or no longer qualifies: the best match). ``thumbprint`` is None when nothing
    qualifies; ``explain()`` then lists why each certificate does not.
    """

    action: str
    thumbprint: t.Optional[str]
    current: t.Optional[str]
    reason: str
    selection: t.Optional[Selection] = None
    chain: t.Tuple[str, ...] = ()
    warning: str = ""                     # kept although it should go: the task says so

    @property
    def changes(self) -> bool:
        return self.thumbprint is not None and self.thumbprint != self.current

    def explain(self) -> str:
        text = self.reason
        if self.thumbprint is None and self.selection is not None:
            text = "%s; %s" % (text, self.selection.explain())
        return text


def binding_for(current: t.Optional[str], certificates: t.Sequence[StoredCertificate], criteria: Criteria,
                now: datetime.datetime, renew_within_days: int = 30,
                authorities: t.Sequence[StoredCertificate] = ()) -> Binding:
    """What an HTTPS listener naming ``current`` (None: a new listener) should name.

    In order: a certificate that was renewed follows its renewal chain (``follow_renewals``) to the
    newest valid certificate that still qualifies; one that is gone from the store, expires within
    ``renew_within_days`` or no longer meets ``criteria`` is replaced by the best match
    (``select_certificate``, the criteria plus ``renew_within_days`` left); otherwise it is kept. A
    new listener gets the best match. With ``criteria.controller`` every candidate, a renewal's
    successor and the bound certificate itself must also be one the controller accepts. Deterministic:
    the same store and criteria give the same answer.
    """
    wanted = dataclasses.replace(criteria, min_days_left=max(criteria.min_days_left, renew_within_days))
    selection = select_certificate(certificates, wanted, now, authorities)

    def best(action: str, why: str) -> Binding:
        if selection.chosen is None:
            return Binding(action, None, current, why, selection)
        return Binding(action, selection.chosen.thumbprint, current,
                       "%s: %s, valid until %s, is the best match (%s)" % (
                           why, selection.chosen.thumbprint, selection.chosen.not_after.date().isoformat(),
                           Selection.ORDER), selection)

    if not current:
        return best(SELECTED, "no certificate is bound yet")
    current = normalize_thumbprint(current)
    by_thumbprint = {c.thumbprint: c for c in certificates}
    cert = by_thumbprint.get(current)
    if cert is None:
        return best(REPLACED, "the bound certificate %s is not in the store" % current)
    chain = follow_renewals(current, certificates, now)
    successor = chain.newest_valid
    if successor and successor != current:
        renewed = by_thumbprint[successor]
        # The successor keeps the subject and template; it must still serve a listener.
        reasons = listener_reasons(renewed, now, criteria.names, criteria.trusted_issuers, authorities)
        reasons += [r for r in _criteria_reasons(renewed, criteria, authorities, now)
                    if r.code in (CN_MISMATCH, CONTROLLER_REFUSES)]
        if not reasons:
            return Binding(RENEWED, successor, current, "%s was renewed: %s is the newest valid certificate of its "
                           "renewal chain (%s)" % (current, successor, " -> ".join(chain.chain)), selection,
                           chain.chain)
    problems = listener_reasons(cert, now, criteria.names, criteria.trusted_issuers, authorities)
    problems += _criteria_reasons(cert, criteria, authorities, now)
    days = cert.days_left(now)
    if not problems and days < wanted.min_days_left:
        problems.append(Reason(TOO_FEW_DAYS, "%d days left, %d required" % (days, wanted.min_days_left)))
    if problems:
        replaced = best(REPLACED, "the bound certificate %s does not qualify (%s)"
                        % (current, "; ".join(r.message for r in problems)))
        if replaced.thumbprint is None and all(r.code == TOO_FEW_DAYS for r in problems):
            # Still valid and nothing better: keeping it beats failing; the expiry control reports it.
            text = "%s expires in %d days and no certificate qualifies to replace it; kept" % (current, days)
            return Binding(KEEP, current, current, text, selection,
                           warning="%s: %s" % (text, selection.explain()))
        return replaced
    return Binding(KEEP, current, current, "%s qualifies (%d days left)" % (current, days), selection)


# ----------------------------------------------------------------------------------------------
# Would the controller accept it? (the anti-lockout guard's question before a re-bind)
# ----------------------------------------------------------------------------------------------


def load_trust_anchors(cert_validation: t.Any) -> t.Optional[t.List[t.Any]]:
    """The CA certificates the controller's session trusts: a CA bundle path, or for ``True`` the
    bundle requests uses (certifi's; the session never reads REQUESTS_CA_BUNDLE). None: no validation."""
    if cert_validation is False or cert_validation is None:
        return None
    path = cert_validation
    if cert_validation is True:
        from requests.utils import DEFAULT_CA_BUNDLE_PATH  # pylint: disable=import-outside-toplevel
        path = DEFAULT_CA_BUNDLE_PATH
    with open(str(path), "rb") as handle:
        data = handle.read()
    import warnings  # pylint: disable=import-outside-toplevel

    with warnings.catch_warnings():  # public bundles hold a few old roots cryptography warns about
        warnings.simplefilter("ignore")
        return list(x509.load_pem_x509_certificates(data)) if b"-----BEGIN" in data \
            else [x509.load_der_x509_certificate(data)]


def controller_reasons(cert: StoredCertificate, now: datetime.datetime, host: str,
                       anchors: t.Optional[t.Sequence[t.Any]], pin_sha256: t.Optional[str] = None,
                       intermediates: t.Sequence[StoredCertificate] = ()) -> t.List[Reason]:
    """Why a controller connecting to ``host`` with these trust anchors (None: no validation) and
    this SHA-256 pin would refuse ``cert`` in the TLS handshake; empty when it would accept it.

    Path validation is RFC 5280's as cryptography implements it (``x509.verification``): chain to an
    anchor, validity at ``now``, Server Authentication EKU, the host name or address in the SANs -
    what OpenSSL checks for requests' HTTPS connections.
    """
    reasons: t.List[Reason] = []
    if pin_sha256:
        served = hashlib.sha256(cert.der).hexdigest()
        if served != pin_sha256.replace(":", "").replace(" ", "").lower():
            reasons.append(Reason(CONTROLLER_REFUSES, "its SHA-256 fingerprint is not the one the controller pins "
                                  "(wsman_winrm_cert_fingerprint)"))
    if anchors is None:
        return reasons
    from cryptography.x509 import verification  # pylint: disable=import-outside-toplevel

    try:
        address = ipaddress.ip_address(host.strip("[]"))
        subject: t.Any = x509.IPAddress(address)
    except ValueError:
        subject = x509.DNSName(host.rstrip(".").lower())
    try:
        verifier = (verification.PolicyBuilder().store(verification.Store(list(anchors))).time(_utc(now))
                    .build_server_verifier(subject))
        verifier.verify(x509.load_der_x509_certificate(cert.der),
                        [x509.load_der_x509_certificate(c.der) for c in intermediates])
    except (verification.VerificationError, ValueError) as error:
        text = _VERIFIER_CONTEXT.sub("", str(error))
        if "candidates exhausted" in text and not any(a.subject.rfc4514_string() == cert.issuer for a in anchors):
            text = "no CA the controller trusts (its CA bundle) issued it; its issuer is %s" % cert.issuer
        reasons.append(Reason(CONTROLLER_REFUSES, "the controller would refuse it for %s: %s" % (host, text)))
    return reasons
