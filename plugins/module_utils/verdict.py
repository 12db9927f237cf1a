# -*- coding: utf-8 -*-
# Copyright: contributors to the wsman.winrm collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
""""Is WinRM secure here, or does this host need HTTPS?" as one verdict per host, with its evidence.

Pure function over facts the collection reads (domain membership, listeners, the service's auth
switches, AllowUnencrypted, whether the HTTPS certificate validates on the controller). The rules
follow Microsoft Learn, "PowerShell Remoting Security Considerations" (Kerberos proves both user
and server; NTLM "doesn't guarantee server identity" and needs HTTPS or TrustedHosts; WinRM
encrypts everything after authentication, except Basic) and the FoxDeploy post "Is WinRM Secure or
do I need HTTPs?" (domain + Kerberos: HTTP is fine; workgroup/DMZ: add HTTPS for server identity;
Basic with AllowUnencrypted: cleartext).
"""

from __future__ import annotations

import dataclasses
import typing as t

SECURE_HTTPS = "secure_https"
SECURE_HTTP = "secure_http"
HTTPS_RECOMMENDED = "https_recommended"
UNKNOWN = "unknown"
INSECURE = "insecure"
NOT_REACHABLE = "not_reachable"
# Best first; a report can sort hosts by it.
VERDICTS = (SECURE_HTTPS, SECURE_HTTP, HTTPS_RECOMMENDED, UNKNOWN, INSECURE, NOT_REACHABLE)

MS_SECURITY = 'Microsoft Learn, "PowerShell Remoting Security Considerations"'
FOXDEPLOY = 'FoxDeploy, "Is WinRM Secure or do I need HTTPs?"'

AUTH_METHODS = ("basic", "kerberos", "negotiate", "certificate", "credssp")

# The secure_baseline profile that reaches the best verdict for each situation.
PROFILE_FOR = {True: "domain_kerberos", False: "workgroup_https"}


@dataclasses.dataclass(frozen=True)
class Verdict:
    code: str
    summary: str
    evidence: t.Tuple[str, ...]
    changes: t.Tuple[str, ...]
    sources: t.Tuple[str, ...]
    best_possible: str
    recommended_profile: t.Optional[str]

    def to_dict(self) -> t.Dict[str, t.Any]:
        return {"verdict": self.code, "summary": self.summary, "evidence": list(self.evidence),
                "changes": list(self.changes), "sources": list(self.sources), "best_possible": self.best_possible,
                "recommended_profile": self.recommended_profile}


def _bool(facts: t.Mapping[str, t.Any], path: str, value: t.Any, allow_none: bool = False) -> t.Optional[bool]:
    if value is None and allow_none:
        return None
    if isinstance(value, bool):
        return value
    raise ValueError("security verdict: %s must be true or false%s, got %r"
                     % (path, " (or null when unknown)" if allow_none else "", value))


def _listeners(raw: t.Any) -> t.List[t.Dict[str, t.Any]]:
    if not isinstance(raw, (list, tuple)):
        raise ValueError("security verdict: listeners must be a list of {transport, port, enabled}, got %r" % (raw,))
    found = []
    for index, item in enumerate(raw):
        if not isinstance(item, t.Mapping):
            raise ValueError("security verdict: listeners[%d] must be a mapping, got %r" % (index, item))
        transport = str(item.get("transport", "")).upper()
        if transport not in ("HTTP", "HTTPS"):
            raise ValueError("security verdict: listeners[%d].transport must be HTTP or HTTPS, got %r"
                             % (index, item.get("transport")))
        if item.get("enabled", True) is False:
            continue
        found.append({"transport": transport, "port": item.get("port"), "source": item.get("source")})
    return found


def _ports(listeners: t.Iterable[t.Mapping[str, t.Any]]) -> str:
    return ", ".join(sorted({str(item["port"]) for item in listeners if item.get("port") is not None})) or "?"


def security_verdict(facts: t.Mapping[str, t.Any]) -> Verdict:
    """Facts -> Verdict.

    ``facts``: ``domain_member`` (bool, null when unknown), ``listeners`` (list of ``{transport,
    port, enabled}``), ``auth`` (the service's switches: basic, kerberos, negotiate, certificate,
    credssp), ``allow_unencrypted`` (bool), ``https_certificate_validated`` (bool: the controller
    validated the HTTPS listener's certificate; null when there is no HTTPS listener or not tried).
    """
    if not isinstance(facts, t.Mapping):
        raise ValueError("security verdict: facts must be a mapping, got %r" % (facts,))
    domain = _bool(facts, "domain_member", facts.get("domain_member"), allow_none=True)
    listeners = _listeners(facts.get("listeners", []))
    auth_raw = facts.get("auth", {})
    if not isinstance(auth_raw, t.Mapping):
        raise ValueError("security verdict: auth must map %s to true/false, got %r" % (", ".join(AUTH_METHODS), auth_raw))
    auth = {m: _bool(facts, "auth.%s" % m, auth_raw.get(m, False)) for m in AUTH_METHODS}
    unencrypted = _bool(facts, "allow_unencrypted", facts.get("allow_unencrypted", False))
    validated = _bool(facts, "https_certificate_validated", facts.get("https_certificate_validated"), allow_none=True)

    http = [item for item in listeners if item["transport"] == "HTTP"]
    https = [item for item in listeners if item["transport"] == "HTTPS"]
    enabled_auth = [m for m in AUTH_METHODS if auth[m]]
    best = SECURE_HTTP if domain else SECURE_HTTPS
    profile = PROFILE_FOR.get(domain) if domain is not None else None
    evidence: t.List[str] = []
    changes: t.List[str] = []

    def verdict(code: str, summary: str, sources: t.Tuple[str, ...] = (MS_SECURITY, FOXDEPLOY)) -> Verdict:
        return Verdict(code, summary, tuple(evidence), tuple(changes), sources, best, profile)

    if domain is None:
        evidence.append("domain membership not known (Win32_ComputerSystem PartOfDomain was not read)")
    else:
        evidence.append("domain member" if domain else "workgroup host (not a domain member)")
    if http:
        evidence.append("HTTP listener on port %s" % _ports(http))
    if https:
        evidence.append("HTTPS listener on port %s, certificate %s" % (_ports(https), {
            True: "validated by the controller", False: "not validated by the controller",
            None: "validation not checked"}[validated]))
    evidence.append("service authentication on: %s" % (", ".join(enabled_auth) or "none"))
    evidence.append("AllowUnencrypted %s" % ("on" if unencrypted else "off"))

    if not listeners:
        changes.append("create a listener (HTTPS with a trusted certificate, or HTTP on a domain member)")
        return verdict(NOT_REACHABLE, "not reachable: no enabled listener", (MS_SECURITY,))
    if not enabled_auth:
        changes.append("turn on an authentication method (Kerberos on a domain member, Negotiate or Certificate "
                       "over HTTPS otherwise)")
        return verdict(NOT_REACHABLE, "not reachable: every service authentication method is off", (MS_SECURITY,))

    if auth["credssp"]:
        evidence.append("CredSSP on: the user's credentials are delegated to the host")
        changes.append("turn CredSSP off unless a second hop needs it (see Microsoft Learn, \"Making the second hop "
                       "in PowerShell Remoting\")")

    # Cleartext first: it outranks everything else (FoxDeploy: "Then and only then will we pass
    # communications in the clear").
    if http and unencrypted:
        changes.append("set AllowUnencrypted to false (winrm/config/service)")
        if auth["basic"]:
            changes.append("turn Basic off, or use it only over HTTPS")
            return verdict(INSECURE, "insecure: Basic and AllowUnencrypted on, credentials and data in cleartext")
        return verdict(INSECURE, "insecure: AllowUnencrypted on, the service accepts unencrypted data over HTTP")

    if https and validated:
        if http and not domain and auth["negotiate"]:
            changes.append("remove the HTTP listener, or keep every client on HTTPS: over HTTP, NTLM cannot "
                           "verify the server")
        return verdict(SECURE_HTTPS, "secure: HTTPS with a certificate the controller validates")

    if domain is None:
        changes.append("read the host's domain membership (Win32_ComputerSystem PartOfDomain) and run again")
        return verdict(UNKNOWN, "unknown: without domain membership, Kerberos cannot be assumed")

    https_note = ("add an HTTPS listener with a certificate from a CA the controller trusts"
                  if not https else "give the HTTPS listener a certificate the controller validates (trusted "
                  "issuer, name matching the host) and turn certificate validation on")
    if domain and auth["kerberos"]:
        evidence.append("Kerberos proves the server's identity and encrypts every message after authentication")
        if auth["negotiate"]:
            evidence.append("connect by name: to an IP address Kerberos is impossible and Negotiate falls back to NTLM")
        return verdict(SECURE_HTTP, "secure over HTTP: domain member, Kerberos with message encryption")
    changes.append(https_note)
    if domain:
        changes.append("or turn Kerberos on (winrm/config/service/auth)")
        return verdict(HTTPS_RECOMMENDED, "HTTPS recommended: domain member without Kerberos, NTLM cannot verify "
                                          "the server")
    if auth["negotiate"]:
        return verdict(HTTPS_RECOMMENDED, "HTTPS recommended: workgroup host, NTLM cannot verify the server")
    return verdict(HTTPS_RECOMMENDED, "HTTPS recommended: workgroup host, the server's identity is not verified")
