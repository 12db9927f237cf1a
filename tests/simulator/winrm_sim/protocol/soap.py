"""Reply envelopes as Windows writes them, and the small XML helpers every resource uses.

Envelope shape (captured Windows replies: a Win32_LogicalDisk GetResponse and OMI's copy of a
Windows fault, in public test suites): ``xml:lang="en-US"`` on the root, only the prefixes the
operation needs declared there, and in the header Action, MessageID, ``p:ActivityId`` (a GUID
without ``uuid:``), To (anonymous) and RelatesTo, in that order.
"""
from __future__ import annotations

import uuid
from xml.sax.saxutils import escape as _escape, quoteattr as _quoteattr

from . import ns

# The prefixes each kind of reply declares on its root element.
_PREFIXES = {"s": ns.SOAP, "a": ns.WSA, "x": ns.WXF, "e": ns.WSE, "n": ns.WSEN, "w": ns.WSMAN,
             "rsp": ns.RSP, "p": ns.WSMV}
ENVELOPE_KINDS = {
    "transfer": ("s", "a", "x", "w", "p"),
    "enumeration": ("s", "a", "n", "w", "p"),
    "fault": ("s", "a", "x", "e", "n", "w", "p"),
    "shell": ("s", "a", "x", "w", "rsp", "p"),
}


def xml_text(value) -> str:
    return _escape(str(value))


def xml_attr(value) -> str:
    return _quoteattr(str(value))


def local_name(tag: str) -> str:
    return tag.rpartition("}")[2]


def new_guid() -> str:
    return str(uuid.uuid4()).upper()


def envelope(action: str, relates_to: str | None, body_xml: str, kind: str = "transfer",
             extra_ns: str = "") -> bytes:
    """A reply envelope with the header Windows writes."""
    declarations = "".join(f' xmlns:{prefix}="{_PREFIXES[prefix]}"' for prefix in ENVELOPE_KINDS[kind])
    relates = f"<a:RelatesTo>{xml_text(relates_to)}</a:RelatesTo>" if relates_to else ""
    text = (f'<s:Envelope xml:lang="en-US"{declarations}{extra_ns}>'
            f"<s:Header><a:Action>{xml_text(action)}</a:Action>"
            f"<a:MessageID>uuid:{new_guid()}</a:MessageID>"
            f"<p:ActivityId>{new_guid()}</p:ActivityId>"
            f"<a:To>{ns.ANONYMOUS}</a:To>{relates}</s:Header>"
            f"<s:Body>{body_xml}</s:Body></s:Envelope>")
    return text.encode("utf-8")


def epr(resource_uri: str, selectors: list[tuple[str, str]], address: str = ns.ANONYMOUS,
        tag: str = "a:EndpointReference") -> str:
    """An endpoint reference (DSP0226 section 5): the address, the resource URI, the selectors."""
    selector_xml = "".join(f"<w:Selector Name={xml_attr(n)}>{xml_text(v)}</w:Selector>" for n, v in selectors)
    return (f"<{tag}><a:Address>{xml_text(address)}</a:Address><a:ReferenceParameters>"
            f"<w:ResourceURI>{xml_text(resource_uri)}</w:ResourceURI><w:SelectorSet>{selector_xml}</w:SelectorSet>"
            f"</a:ReferenceParameters></{tag}>")


def resource_created(request, resource_uri: str, selectors: list[tuple[str, str]], address: str = ns.ANONYMOUS,
                     extra: str = "", kind: str = "transfer") -> bytes:
    """WS-Transfer CreateResponse: ``x:ResourceCreated`` is the new resource's EPR (reference output 5)."""
    body = epr(resource_uri, selectors, address, tag="x:ResourceCreated") + extra
    return envelope(ns.TRANSFER + "CreateResponse", request.message_id, body, kind=kind)
