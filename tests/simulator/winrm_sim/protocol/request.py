"""One parsed WS-Management request: the header fields the service acts on, and the body."""
from __future__ import annotations

import urllib.parse
import xml.etree.ElementTree as ET

from . import ns
from .faults import WSManFault


class Request:
    def __init__(self, envelope: ET.Element):
        self.envelope = envelope
        header = envelope.find(f"{{{ns.SOAP}}}Header")
        self.body = envelope.find(f"{{{ns.SOAP}}}Body")
        self.header = header if header is not None else ET.Element("Header")
        self.action = self._text(ns.WSA, "Action")
        self.message_id = self._text(ns.WSA, "MessageID")
        self.to = self._text(ns.WSA, "To") or ""
        self.resource_uri = self._text(ns.WSMAN, "ResourceURI") or ""
        self.uri = self.resource_uri.lower().rstrip("/")
        self.max_envelope = self._text(ns.WSMAN, "MaxEnvelopeSize")
        self.selectors: list[tuple[str, str]] = []
        selector_set = self.header.find(f"{{{ns.WSMAN}}}SelectorSet")
        if selector_set is not None:
            for selector in selector_set.findall(f"{{{ns.WSMAN}}}Selector"):
                self.selectors.append((selector.get("Name", ""), (selector.text or "").strip()))
        self.options: dict[str, str] = {}
        option_set = self.header.find(f"{{{ns.WSMAN}}}OptionSet")
        if option_set is not None:
            for option in option_set.findall(f"{{{ns.WSMAN}}}Option"):
                self.options[option.get("Name", "")] = (option.text or "").strip()

    def _text(self, namespace: str, local: str) -> str | None:
        element = self.header.find(f"{{{namespace}}}{local}")
        return element.text.strip() if element is not None and element.text else None

    @property
    def payload(self) -> ET.Element | None:
        """The first element of the SOAP body."""
        if self.body is None:
            return None
        return next(iter(self.body), None)

    @property
    def machine(self) -> str:
        """The host part of wsa:To as the client wrote it (urlsplit would lower-case it)."""
        try:
            netloc = urllib.parse.urlsplit(self.to).netloc
        except ValueError:
            return ""
        netloc = netloc.rpartition("@")[2]
        if netloc.startswith("["):
            return netloc[1:netloc.find("]")] if "]" in netloc else ""
        return netloc.partition(":")[0]

    def selector_dict(self, allowed: tuple[str, ...], required: bool = True) -> dict[str, str]:
        """Selectors by canonical name; names match case-insensitively (reference output 3)."""
        canonical = {name.lower(): name for name in allowed}
        result: dict[str, str] = {}
        for name, value in self.selectors:
            key = canonical.get(name.lower())
            if key is None:
                raise WSManFault("UNEXPECTED_SELECTORS", detail="UnexpectedSelectors")
            if key in result:
                raise WSManFault("DUPLICATE_SELECTORS")
            result[key] = value
        if required and len(result) != len(allowed):
            raise WSManFault("INSUFFICIENT_SELECTORS", detail="InsufficientSelectors")
        return result

    def no_selectors(self) -> None:
        if self.selectors:
            raise WSManFault("UNEXPECTED_SELECTORS", detail="UnexpectedSelectors")
