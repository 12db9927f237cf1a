"""Certificates for the simulated hosts: a CA, per-host machine certificates, client certificates.

Everything lives under ``<state-dir>/pki`` as PEM files and is reused across restarts, so the
thumbprints a test or an inventory recorded stay valid. Thumbprints follow Windows: uppercase hex
SHA-1 of the DER encoding (what ``Get-ChildItem Cert:\\LocalMachine\\My`` shows).

Each host's machine certificates (``CertStore``; the host's registry stores start with them, see
model/certstores.py) are, in this order:

- ``server``: CN=<host name>, SANs (host name, its loopback address, and on a domain member its
  FQDN), Server Authentication EKU, signed by the simulator CA: the certificate an HTTPS listener
  normally uses;
- ``expired``: same CN and EKU, expired a year ago;
- ``noeku``: same CN, Client Authentication EKU only (Windows refuses it for a listener, 0x803380EE);
- ``untrusted``: same CN and EKU, signed by a CA that is not in the host's Root store;
- the simulator CA itself (Root store, ``is_trusted_ca``).

Besides the host stores, the controller side gets a client certificate for certificate
authentication (CN=ansible-client, UPN SAN ansible-client@localhost, Client Authentication EKU,
signed by the CA) and one signed by the untrusted CA, for negative tests.
"""
from __future__ import annotations

import dataclasses
import datetime
import hashlib
import ipaddress
import os
import threading

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

# szOID_NT_PRINCIPAL_NAME: the UPN otherName Windows maps client certificates with.
UPN_OID = ObjectIdentifier("1.3.6.1.4.1.311.20.2.3")
CLIENT_CN = "ansible-client"
CLIENT_UPN = "ansible-client@localhost"

_GEN_LOCK = threading.Lock()


@dataclasses.dataclass
class CertInfo:
    thumbprint: str
    subject_cn: str
    issuer_thumbprint: str
    not_after: datetime.datetime
    server_auth: bool
    client_auth: bool
    is_ca: bool
    self_signed: bool
    cert_path: str
    key_path: str | None
    # Not in the contract's minimum, handy for the engine and for tests.
    not_before: datetime.datetime | None = None
    subject: str = ""
    issuer_cn: str = ""
    dns_names: tuple[str, ...] = ()
    role: str = ""           # "server" | "expired" | "noeku" | "untrusted" | "ca" | "client" | "issued"
    # What the registry store entry says (model/certstores.py); empty for the PKI's own records.
    issuer: str = ""
    store: str = ""          # "MY" | "Root"
    archived: bool = False
    renewed_by: str = ""
    template: str = ""
    friendly_name: str = ""

    @property
    def expired(self) -> bool:
        return self.not_after < datetime.datetime.now(datetime.timezone.utc)


class CertStore:
    """A host's simulated LocalMachine store: My (personal) plus Root."""

    def __init__(self, certs: list[CertInfo], trusted_ca_thumbprints: set[str]):
        self.certs = list(certs)
        self._trusted = {t.upper() for t in trusted_ca_thumbprints}

    def find(self, thumbprint: str) -> CertInfo | None:
        wanted = (thumbprint or "").replace(" ", "").upper()
        for cert in self.certs:
            if cert.thumbprint == wanted:
                return cert
        return None

    def by_subject_cn(self, cn: str) -> list[CertInfo]:
        """Certificates whose subject CN matches, case-insensitively, usable ones first."""
        matches = [c for c in self.certs if c.subject_cn.lower() == (cn or "").lower() and not c.is_ca]
        return sorted(matches, key=lambda c: (not c.server_auth, c.expired, c.role != "server"))

    def is_trusted_ca(self, thumbprint: str) -> bool:
        return (thumbprint or "").upper() in self._trusted

    def paths(self, thumbprint: str) -> tuple[str, str | None] | None:
        cert = self.find(thumbprint)
        return (cert.cert_path, cert.key_path) if cert else None


def thumbprint_of(cert: x509.Certificate) -> str:
    return hashlib.sha1(cert.public_bytes(serialization.Encoding.DER)).hexdigest().upper()


def thumbprint_of_der(der: bytes) -> str:
    return hashlib.sha1(der).hexdigest().upper()


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def _write_atomic(path: str, data: bytes, private: bool = False) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as handle:
        handle.write(data)
    if private:
        os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _load_or_make_key(path: str) -> rsa.RSAPrivateKey:
    if os.path.exists(path):
        with open(path, "rb") as handle:
            return serialization.load_pem_private_key(handle.read(), password=None)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _write_atomic(
        path,
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                          serialization.NoEncryption()),
        private=True,
    )
    return key


def _load_cert(path: str) -> x509.Certificate:
    with open(path, "rb") as handle:
        return x509.load_pem_x509_certificate(handle.read())


def _save_cert(path: str, cert: x509.Certificate) -> None:
    _write_atomic(path, cert.public_bytes(serialization.Encoding.PEM))


def _name(cn: str, org: str = "winrm-sim") -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn), x509.NameAttribute(NameOID.ORGANIZATION_NAME, org)])


def _cn_of(name: x509.Name) -> str:
    attrs = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(attrs[0].value) if attrs else ""


class PKI:
    """Creates (once) and loads the simulator's certificates under ``<state_dir>/pki``."""

    def __init__(self, state_dir: str):
        self.root = os.path.join(os.path.abspath(state_dir), "pki")
        os.makedirs(os.path.join(self.root, "hosts"), exist_ok=True)
        with _GEN_LOCK:
            self.ca_key, self.ca_cert = self._ca("ca", "WinRM Simulator Root CA")
            self.untrusted_key, self.untrusted_cert = self._ca("untrusted-ca", "WinRM Simulator Untrusted CA")
            # One RSA key for every host's machine certificates: 2048-bit generation costs ~70 ms, so
            # a key per host would add ~15 s to the first start of a 200-host fleet. Clients only see
            # the certificates, which stay distinct per host.
            self.host_key_path = os.path.join(self.root, "host.key")
            self.host_key = _load_or_make_key(self.host_key_path)
            self.client_cert_path, self.client_key_path = self._client("client", CLIENT_CN, CLIENT_UPN,
                                                                       self.ca_key, self.ca_cert)
            self.untrusted_client_cert_path, self.untrusted_client_key_path = self._client(
                "untrusted-client", CLIENT_CN, CLIENT_UPN, self.untrusted_key, self.untrusted_cert)
        self.ca_path = os.path.join(self.root, "ca.pem")
        self.untrusted_ca_path = os.path.join(self.root, "untrusted-ca.pem")
        self.ca_thumbprint = thumbprint_of(self.ca_cert)
        self.untrusted_ca_thumbprint = thumbprint_of(self.untrusted_cert)
        # Every CA whose client certificates the TLS layer lets through to the mapping step; the
        # Root-store check itself is the engine's (CertStore.is_trusted_ca), as on Windows.
        self.client_ca_bundle = os.path.join(self.root, "client-ca-bundle.pem")
        if not os.path.exists(self.client_ca_bundle):
            with open(self.ca_path, "rb") as a, open(self.untrusted_ca_path, "rb") as b:
                _write_atomic(self.client_ca_bundle, a.read() + b.read())

    # -- creation -------------------------------------------------------------------------------

    def _ca(self, stem: str, cn: str) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
        key = _load_or_make_key(os.path.join(self.root, f"{stem}.key"))
        cert_path = os.path.join(self.root, f"{stem}.pem")
        if os.path.exists(cert_path):
            return key, _load_cert(cert_path)
        now = _now()
        ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(cn)).issuer_name(_name(cn))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(ski, critical=False)
            .sign(key, hashes.SHA256())
        )
        _save_cert(cert_path, cert)
        return key, cert

    def _leaf(self, subject_cn: str, public_key, issuer_key, issuer_cert, *, server: bool, client: bool,
              dns: list[str] = (), ips: list[str] = (), upn: str | None = None,
              expired: bool = False, validity: tuple | None = None) -> x509.Certificate:
        now = _now()
        if validity:
            not_before, not_after = validity
        elif expired:
            not_before, not_after = now - datetime.timedelta(days=730), now - datetime.timedelta(days=365)
        else:
            not_before, not_after = now - datetime.timedelta(days=1), now + datetime.timedelta(days=730)
        usages = ([ExtendedKeyUsageOID.SERVER_AUTH] if server else []) + ([ExtendedKeyUsageOID.CLIENT_AUTH] if client else [])
        issuer_name = issuer_cert.subject if issuer_cert is not None else _name(subject_cn)   # None: self-signed
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(subject_cn)).issuer_name(issuer_name)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before).not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=True,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        )
        if usages:
            builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        builder = (
            builder.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
        )
        names: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
        names += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
        if upn:
            # otherName value: DER UTF8String
            encoded = upn.encode("utf-8")
            names.append(x509.OtherName(UPN_OID, b"\x0c" + bytes([len(encoded)]) + encoded))
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        return builder.sign(issuer_key, hashes.SHA256())

    def _client(self, stem, cn, upn, issuer_key, issuer_cert) -> tuple[str, str]:
        cert_path = os.path.join(self.root, f"{stem}.pem")
        key_path = os.path.join(self.root, f"{stem}.key")
        key = _load_or_make_key(key_path)
        if not os.path.exists(cert_path):
            cert = self._leaf(cn, key.public_key(), issuer_key, issuer_cert, server=False, client=True, upn=upn)
            _save_cert(cert_path, cert)
        return cert_path, key_path

    # -- what a CA does later: enrollment and renewal (winrm_sim.certctl)

    def _issuer(self, which: str):
        return {"ca": (self.ca_key, self.ca_cert), "untrusted": (self.untrusted_key, self.untrusted_cert),
                "self": (self.host_key, None)}[which]

    def issue_host_certificate(self, cn: str, *, not_before: datetime.datetime, not_after: datetime.datetime,
                               issuer: str = "ca", server: bool = True, client: bool = False,
                               dns: list[str] = (), ips: list[str] = ()) -> bytes:
        """A new machine certificate on the hosts' key (DER); ``issuer``: ca | untrusted | self."""
        issuer_key, issuer_cert = self._issuer(issuer)
        with _GEN_LOCK:
            cert = self._leaf(cn, self.host_key.public_key(), issuer_key, issuer_cert, server=server, client=client,
                              dns=list(dns), ips=list(ips), validity=(not_before, not_after))
        return cert.public_bytes(serialization.Encoding.DER)

    def renew_certificate(self, der: bytes, *, not_before: datetime.datetime, not_after: datetime.datetime) -> bytes:
        """The renewal of ``der``: same subject, key and extensions, a new serial number and validity,
        signed by the CA that signed it (a self-signed certificate signs itself again)."""
        old = x509.load_der_x509_certificate(der)
        if old.issuer == old.subject:
            issuer_key = self.host_key
        elif old.issuer == self.untrusted_cert.subject:
            issuer_key = self.untrusted_key
        elif old.issuer == self.ca_cert.subject:
            issuer_key = self.ca_key
        else:
            raise ValueError(f"the simulator's CAs did not issue {old.subject.rfc4514_string()}")
        builder = (x509.CertificateBuilder().subject_name(old.subject).issuer_name(old.issuer)
                   .public_key(old.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(not_before).not_valid_after(not_after))
        for extension in old.extensions:
            builder = builder.add_extension(extension.value, critical=extension.critical)
        with _GEN_LOCK:
            return builder.sign(issuer_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

    def host_store(self, name: str, address: str, fqdn: str | None = None) -> CertStore:
        """The machine store of one host, creating its certificates the first time.

        ``fqdn``: the host is a domain member with this DNS name. Autoenrollment's machine
        certificates carry it: with CT_FLAG_SUBJECT_ALT_REQUIRE_DNS in the template's
        msPKI-Certificate-Name-Flag (as the Computer/Machine template has it), the CA puts the computer
        object's dNSHostName, its FQDN, in the Subject Alternative Name extension as a DNS name
        ([MS-CRTD] 2.28 "msPKI-Certificate-Name-Flag Attribute"; [MS-WCCE] 3.2.2.6.2.1.4.5.9 and
        3.2.2.6.2.1.4.4.1, CT_FLAG_MACHINE_TYPE: the CA requires a dNSHostName). Certificates made
        earlier without it (the host was not a member then) are made again, as enrollment would.
        The CN stays the computer name (the simulator's listeners match it; Windows' Machine template
        would put the FQDN there too, CT_FLAG_SUBJECT_REQUIRE_DNS_AS_CN).
        """
        folder = os.path.join(self.root, "hosts", name)
        os.makedirs(folder, exist_ok=True)
        dns = [name, name.lower()] + ([fqdn] if fqdn else [])
        specs = [
            # role, issuer, server EKU, client EKU, expired
            ("server", "ca", True, False, False),
            ("expired", "ca", True, False, True),
            ("noeku", "ca", False, True, False),
            ("untrusted", "untrusted", True, False, False),
        ]
        infos: list[CertInfo] = []
        with _GEN_LOCK:
            for role, issuer, server, client, expired in specs:
                path = os.path.join(folder, f"{role}.pem")
                issuer_key, issuer_cert = ((self.ca_key, self.ca_cert) if issuer == "ca"
                                           else (self.untrusted_key, self.untrusted_cert))
                if not os.path.exists(path) or (fqdn and fqdn not in _dns_names(_load_cert(path))):
                    cert = self._leaf(name, self.host_key.public_key(), issuer_key, issuer_cert,
                                      server=server, client=client, dns=dns, ips=[address], expired=expired)
                    _save_cert(path, cert)
                infos.append(self.describe(path, self.host_key_path, role=role))
        infos.append(self.describe(os.path.join(self.root, "ca.pem"), None, role="ca"))
        return CertStore(infos, {self.ca_thumbprint})

    # -- inspection -----------------------------------------------------------------------------

    @staticmethod
    def describe(cert_path: str, key_path: str | None, role: str = "") -> CertInfo:
        cert = _load_cert(cert_path)
        try:
            eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
            server_auth = ExtendedKeyUsageOID.SERVER_AUTH in eku
            client_auth = ExtendedKeyUsageOID.CLIENT_AUTH in eku
        except x509.ExtensionNotFound:
            server_auth = client_auth = True      # no EKU extension means any purpose
        try:
            is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        except x509.ExtensionNotFound:
            is_ca = False
        dns_names = _dns_names(cert)
        self_signed = cert.issuer == cert.subject
        issuer_thumbprint = thumbprint_of(cert) if self_signed else _issuer_thumbprint(cert_path, cert)
        return CertInfo(
            thumbprint=thumbprint_of(cert),
            subject_cn=_cn_of(cert.subject),
            issuer_thumbprint=issuer_thumbprint,
            not_after=cert.not_valid_after_utc,
            server_auth=server_auth,
            client_auth=client_auth,
            is_ca=is_ca,
            self_signed=self_signed,
            cert_path=os.path.abspath(cert_path),
            key_path=os.path.abspath(key_path) if key_path else None,
            not_before=cert.not_valid_before_utc,
            subject=cert.subject.rfc4514_string(),
            issuer_cn=_cn_of(cert.issuer),
            dns_names=dns_names,
            role=role,
        )


def _dns_names(cert: x509.Certificate) -> tuple[str, ...]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ()
    return tuple(san.get_values_for_type(x509.DNSName))


def _issuer_thumbprint(cert_path: str, cert: x509.Certificate) -> str:
    """Thumbprint of the simulator CA that issued ``cert`` (looked up next to the pki root)."""
    root = cert_path
    for _level in range(4):       # pki/hosts/<name>/x.pem or pki/x.pem
        root = os.path.dirname(root)
        for stem in ("ca", "untrusted-ca"):
            candidate = os.path.join(root, f"{stem}.pem")
            if os.path.exists(candidate):
                ca = _load_cert(candidate)
                if ca.subject == cert.issuer:
                    return thumbprint_of(ca)
    return ""


def issuer_thumbprint_of_der(der: bytes, known_cas: list[x509.Certificate]) -> str:
    """Thumbprint of the CA among ``known_cas`` whose subject is the certificate's issuer."""
    cert = x509.load_der_x509_certificate(der)
    for ca in known_cas:
        if ca.subject == cert.issuer:
            return thumbprint_of(ca)
    return ""


def tls_server_end_point(der: bytes) -> bytes:
    """RFC 5929 channel binding data: the hash of the server certificate.

    SHA-256 unless the certificate's own signature hash is stronger (our certificates use
    SHA-256), which is what Windows' HTTP.sys and pypsrp compute.
    """
    cert = x509.load_der_x509_certificate(der)
    algorithm = cert.signature_hash_algorithm
    if algorithm is None or algorithm.name in ("md5", "sha1", "sha256"):
        digest = hashes.Hash(hashes.SHA256())
    else:
        digest = hashes.Hash(algorithm)
    digest.update(der)
    return b"tls-server-end-point:" + digest.finalize()
