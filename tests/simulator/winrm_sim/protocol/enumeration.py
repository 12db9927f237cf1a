"""WS-Enumeration: Enumerate with OptimizeEnumeration/MaxElements/EnumerationMode, Pull, Release.

MaxElements defaults to 1 (DSP0226 8.2.3); batches are capped by MaxBatchItems; contexts expire after
EnumerationTimeoutms. EnumerationMode (MS-WSMV 3.1.4.1.17, DSP0226 8.7): ``EnumerateEPR`` returns the
items' endpoint references, ``EnumerateObjectAndEPR`` a ``w:Item`` holding the object then its EPR;
resources without EPRs answer ``w:UnsupportedFeature`` with the EnumerationMode fault detail.
"""
from __future__ import annotations

import dataclasses
import time
import uuid

from . import ns
from .faults import WSManFault
from .soap import envelope, local_name

MODES = ("EnumerateEPR", "EnumerateObjectAndEPR")


@dataclasses.dataclass
class Item:
    xml: str                 # the object
    epr: str | None = None   # its a:EndpointReference, when the resource has one


def _positive_int(text) -> int:
    try:
        value = int((text or "").strip())
    except ValueError:
        raise WSManFault("SCHEMA_VALIDATION_ERROR") from None
    if value < 1:
        raise WSManFault("SCHEMA_VALIDATION_ERROR")
    return value


class Enumerations:
    """Open enumeration contexts of a host (volatile, as on Windows)."""

    def __init__(self, config):
        self.config = config
        self.contexts: dict[str, dict] = {}

    def _deadline(self) -> float:
        return time.monotonic() + self.config.number(("Service", "EnumerationTimeoutms"), 240000) / 1000.0

    def _expire(self) -> None:
        now = time.monotonic()
        for context in [c for c, e in self.contexts.items() if e["expires"] < now]:
            del self.contexts[context]

    def _batch_limit(self) -> int:
        return self.config.number(("MaxBatchItems",), 32000)

    def start(self, request, items: list[Item], filtered: bool = False, eprs: bool = True) -> bytes:
        """The Enumerate reply; ``filtered``: the resource already applied the request's wsman:Filter;
        ``eprs``: whether the resource's items have endpoint references (EnumerationMode)."""
        payload = request.payload
        if payload is None or local_name(payload.tag) != "Enumerate":
            raise WSManFault("INVALID_SOAP_BODY")
        optimize, max_elements, mode = False, 1, None
        for child in payload:
            name = local_name(child.tag)
            if name == "OptimizeEnumeration":
                optimize = True
            elif name == "MaxElements":
                max_elements = _positive_int(child.text)
            elif name == "EnumerationMode":
                mode = (child.text or "").strip()
                if mode not in MODES or not eprs:
                    raise WSManFault("UNSUPPORTED_FEATURE", detail="EnumerationMode")
            elif name == "Filter" and not filtered:
                raise WSManFault("FILTERING_NOT_SUPPORTED")
        rendered = [self._render(item, mode) for item in items]
        self._expire()
        if optimize:
            count = min(max_elements, self._batch_limit())
            first, rest = rendered[:count], rendered[count:]
        else:
            first, rest = [], rendered
        if optimize and not rest:
            body = (f"<n:EnumerateResponse><n:EnumerationContext></n:EnumerationContext>"
                    f"<w:Items>{''.join(first)}</w:Items><w:EndOfSequence/></n:EnumerateResponse>")
            return envelope(ns.ENUMERATION + "EnumerateResponse", request.message_id, body, kind="enumeration")
        context = "uuid:" + str(uuid.uuid4()).upper()
        self.contexts[context] = {"uri": request.uri, "items": rest, "expires": self._deadline()}
        items_xml = f"<w:Items>{''.join(first)}</w:Items>" if optimize else ""
        body = (f"<n:EnumerateResponse><n:EnumerationContext>{context}</n:EnumerationContext>"
                f"{items_xml}</n:EnumerateResponse>")
        return envelope(ns.ENUMERATION + "EnumerateResponse", request.message_id, body, kind="enumeration")

    @staticmethod
    def _render(item: Item, mode: str | None) -> str:
        if mode is None:
            return item.xml
        if item.epr is None:
            raise WSManFault("UNSUPPORTED_FEATURE", detail="EnumerationMode")
        if mode == "EnumerateEPR":
            return item.epr
        return f"<w:Item>{item.xml}{item.epr}</w:Item>"

    def resume(self, request) -> bytes:
        """Pull or Release of an open context."""
        payload = request.payload
        if payload is None or local_name(payload.tag) not in ("Pull", "Release"):
            raise WSManFault("INVALID_SOAP_BODY")
        context, max_elements = None, 1
        for child in payload:
            name = local_name(child.tag)
            if name == "EnumerationContext":
                context = (child.text or "").strip()
            elif name == "MaxElements":
                max_elements = _positive_int(child.text)
        self._expire()
        state = self.contexts.get(context or "")
        if state is None or state["uri"] != request.uri:
            raise WSManFault("INVALID_ENUMERATION_CONTEXT")
        if request.action == ns.A_RELEASE:
            del self.contexts[context]
            return envelope(ns.ENUMERATION + "ReleaseResponse", request.message_id, "", kind="enumeration")
        count = min(max_elements, self._batch_limit())
        batch, state["items"] = state["items"][:count], state["items"][count:]
        if state["items"]:
            state["expires"] = self._deadline()
            body = (f"<n:PullResponse><n:EnumerationContext>{context}</n:EnumerationContext>"
                    f"<n:Items>{''.join(batch)}</n:Items></n:PullResponse>")
        else:
            del self.contexts[context]
            body = f"<n:PullResponse><n:Items>{''.join(batch)}</n:Items><n:EndOfSequence/></n:PullResponse>"
        return envelope(ns.ENUMERATION + "PullResponse", request.message_id, body, kind="enumeration")
