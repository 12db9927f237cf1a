"""WS-Management Identify (DSP0226 11; MS-WSMV 3.1.4.1.29.2 for the security profiles).

- Unauthenticated (no Authorization header, what Test-WSMan sends by default): protocol version,
  vendor and a stack-only ProductVersion ``OS: 0.0.0 SP: 0.0 Stack: 3.0`` (PowerShell-Docs Test-WSMan
  example 1; Microsoft Learn "Detecting Whether a Remote Computer Supports WS-Management Protocol":
  "no product version information is returned").
- Authenticated: the host's ProductVersion and SecurityProfiles for the transport used: ``basic`` iff
  service Basic is on, ``spnego-kerberos`` iff Negotiate or Kerberos is, ``https/mutual`` iff
  Certificate is (HTTPS only). Shape from a captured Windows Server 2012 R2 reply (``<s:Header></s:Header>``,
  no addressing headers).
"""
from __future__ import annotations

from .. import ns

SECPROFILE = "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/"


def identify_reply(product_version: str, security_profiles: list[str] | None) -> bytes:
    profiles = ""
    if security_profiles is not None:
        names = "".join(f"<wsmid:SecurityProfileName>{SECPROFILE}{p}</wsmid:SecurityProfileName>"
                        for p in security_profiles)
        profiles = f"<wsmid:SecurityProfiles>{names}</wsmid:SecurityProfiles>"
    body = (f'<wsmid:IdentifyResponse xmlns:wsmid="{ns.WSMID}">'
            f"<wsmid:ProtocolVersion>{ns.WSMAN}</wsmid:ProtocolVersion>"
            "<wsmid:ProductVendor>Microsoft Corporation</wsmid:ProductVendor>"
            f"<wsmid:ProductVersion>{product_version}</wsmid:ProductVersion>{profiles}</wsmid:IdentifyResponse>")
    return (f'<s:Envelope xml:lang="en-US" xmlns:s="{ns.SOAP}"><s:Header></s:Header>'
            f"<s:Body>{body}</s:Body></s:Envelope>").encode("utf-8")


def anonymous_reply(stack: str) -> bytes:
    return identify_reply(f"OS: 0.0.0 SP: 0.0 Stack: {stack}", None)


def authenticated_reply(host, transport: str) -> bytes:
    config = host.config
    scheme = "https" if transport == "https" else "http"
    profiles = []
    if config.flag(("Service", "Auth", "Basic")):
        profiles.append(f"{scheme}/basic")
    if config.flag(("Service", "Auth", "Negotiate")) or config.flag(("Service", "Auth", "Kerberos")):
        profiles.append(f"{scheme}/spnego-kerberos")
    if scheme == "https" and config.flag(("Service", "Auth", "Certificate")):
        profiles.append("https/mutual")
    return identify_reply(host.system.product_version, profiles)


def is_identify(envelope) -> bool:
    body = envelope.find(f"{{{ns.SOAP}}}Body")
    payload = next(iter(body), None) if body is not None else None
    return payload is not None and payload.tag == f"{{{ns.WSMID}}}Identify"


def is_identify_request(body: bytes) -> bool:
    """Whether an unauthenticated POST is an Identify (parsed only when it can be one)."""
    if not body or b"Identify" not in body[:4096] or len(body) > 65536:
        return False
    import xml.etree.ElementTree as ET

    try:
        return is_identify(ET.fromstring(body))
    except ET.ParseError:
        return False
