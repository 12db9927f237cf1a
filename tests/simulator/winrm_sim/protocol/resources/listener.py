"""winrm/config/listener: Get, Put, Create, Delete by Address+Transport, Enumerate with every
EnumerationMode (MS-WSMV 3.1.4.1.29.5 "MUST support wsman:EnumerationMode for this resource URI")."""
from __future__ import annotations

from ...model.listeners import FIELDS, canonical_address
from .. import ns
from ..enumeration import Item
from ..faults import WSManFault
from ..soap import epr, local_name, resource_created, xml_text
from . import Resource
from .config import leaf_text

LISTENER_URI = ns.CONFIG_URI + "/listener"


class ListenerResource(Resource):
    def render(self, item: dict) -> str:
        source = f' Source="{item["Source"]}"' if item.get("Source") else ""
        parts = [f"<cfg:{field}>{xml_text(item[field])}</cfg:{field}>" for field in FIELDS]
        addresses = self.host.listeners.listening_on(item["Address"])
        if addresses:
            parts += [f"<cfg:ListeningOn>{a}</cfg:ListeningOn>" for a in addresses]
        else:
            parts.append('<cfg:ListeningOn xsi:nil="true"/>')  # shown as "null" by winrm.cmd
        return (f'<cfg:Listener xmlns:cfg="{LISTENER_URI}" xmlns:xsi="{ns.XSI}"{source} xml:lang="en-US">'
                f"{''.join(parts)}</cfg:Listener>")

    def _selectors(self) -> tuple[str, str]:
        selectors = self.request.selector_dict(("Address", "Transport"))
        transport = selectors["Transport"].upper()
        if transport not in ("HTTP", "HTTPS"):
            raise WSManFault("INVALID_SELECTORS")
        return canonical_address(selectors["Address"]), transport

    def enumerate(self) -> bytes:
        self.request.no_selectors()
        items = [Item(self.render(item), epr(LISTENER_URI, [("Address", item["Address"]),
                                                            ("Transport", item["Transport"])]))
                 for item in self.host.listeners.effective()]
        return self.host.enumerations.start(self.request, items)

    def get(self) -> bytes:
        item = self.host.listeners.find_effective(*self._selectors())
        return self.reply(ns.TRANSFER + "GetResponse", self.render(item))

    def create(self) -> bytes:
        address, transport = self._selectors()
        self.host.listeners.create(address, transport, self._body(address, transport, allow_missing=True))
        return resource_created(self.request, LISTENER_URI, [("Address", address), ("Transport", transport)])

    def put(self) -> bytes:
        address, transport = self._selectors()
        item = self.host.listeners.put(address, transport, self._body(address, transport, allow_missing=False))
        return self.reply(ns.TRANSFER + "PutResponse", self.render(item))

    def delete(self) -> bytes:
        self.host.listeners.delete(*self._selectors())
        return self.reply(ns.TRANSFER + "DeleteResponse", "")

    def _body(self, address: str, transport: str, allow_missing: bool) -> dict:
        payload = self.request.payload
        values: dict[str, str] = {}
        if payload is None:
            if allow_missing:
                return values
            raise WSManFault("INVALID_REPRESENTATION")
        if local_name(payload.tag) != "Listener":
            raise WSManFault("INVALID_REPRESENTATION")
        for child in payload:
            name = local_name(child.tag)
            text = leaf_text(child).strip()
            if name == "ListeningOn":
                raise WSManFault("CONFIG_READONLY_PROPERTY", provider=True)
            if name in ("Address", "Transport"):
                same = (canonical_address(text).lower() == address.lower() if name == "Address"
                        else text.upper() == transport)
                if not same:
                    raise WSManFault("CANNOT_CHANGE_KEYS", provider=True)
                continue
            if name not in FIELDS:
                raise WSManFault("SCHEMA_VALIDATION_ERROR", provider=True)
            values[name] = text
        return values
