"""winrm/config/service/certmapping: selectors URI, Subject, Issuer (MS-WSMV 3.1.4.1.29.3)."""
from __future__ import annotations

from ...model.certmappings import FIELDS, KEYS
from .. import ns
from ..enumeration import Item
from ..faults import WSManFault
from ..soap import local_name, resource_created, xml_text
from . import Resource
from .config import leaf_text

CERTMAPPING_URI = ns.CONFIG_URI + "/service/certmapping"


def render(item: dict) -> str:
    parts = "".join(f"<cfg:{f}>{xml_text(item.get(f, ''))}</cfg:{f}>" for f in FIELDS)
    return f'<cfg:CertMapping xmlns:cfg="{CERTMAPPING_URI}" xml:lang="en-US">{parts}</cfg:CertMapping>'


class CertMappingResource(Resource):
    def enumerate(self) -> bytes:
        self.request.no_selectors()
        # No EPRs: EnumerationMode is refused for this URI (MS-WSMV 3.1.4.1.17 lists the URIs that have them).
        items = [Item(render(m)) for m in self.host.certmappings.all()]
        return self.host.enumerations.start(self.request, items, eprs=False)

    def get(self) -> bytes:
        item = self.host.certmappings.get(self.request.selector_dict(KEYS))
        return self.reply(ns.TRANSFER + "GetResponse", render(item))

    def create(self) -> bytes:
        keys = self.request.selector_dict(KEYS)
        keys = self.host.certmappings.create(keys, self._body(keys), self.principal.remote)
        return resource_created(self.request, CERTMAPPING_URI,
                                [("Issuer", keys["Issuer"]), ("Subject", keys["Subject"]), ("URI", keys["URI"])])

    def put(self) -> bytes:
        keys = self.request.selector_dict(KEYS)
        item = self.host.certmappings.put(keys, self._body(keys), self.principal.remote)
        return self.reply(ns.TRANSFER + "PutResponse", render(item))

    def delete(self) -> bytes:
        self.host.certmappings.delete(self.request.selector_dict(KEYS))
        return self.reply(ns.TRANSFER + "DeleteResponse", "")

    def _body(self, keys: dict) -> dict:
        payload = self.request.payload
        if payload is None:
            return {}
        if local_name(payload.tag) != "CertMapping":
            raise WSManFault("INVALID_REPRESENTATION")
        values = {}
        for child in payload:
            name = local_name(child.tag)
            text = leaf_text(child)
            if name in KEYS:
                if text.strip().lower() != keys[name].lower():
                    raise WSManFault("CONFIG_CANNOT_CHANGE_CERTMAPPING_KEYS", provider=True)
                continue
            if name not in ("UserName", "Password", "Enabled"):
                raise WSManFault("SCHEMA_VALIDATION_ERROR", provider=True)
            values[name] = text if name == "Password" else text.strip()
        if "Enabled" in values:
            if values["Enabled"].lower() not in ("true", "false"):
                raise WSManFault("SCHEMA_VALIDATION_ERROR", provider=True)
            values["Enabled"] = values["Enabled"].lower()
        return values
