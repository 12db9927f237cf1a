"""winrm/config and its singleton sections: Get renders the effective tree, Put writes local values.

Reply shape [REAL]: the root element in the namespace of the resource URI itself with prefix ``cfg``,
``Source="GPO"`` on values Group Policy sets, empty values as empty elements. Put accepts a whole or
a partial document (Enable-WSManCredSSP sends only ``<cfg:Auth><cfg:CredSSP>true</cfg:CredSSP>``).
"""
from __future__ import annotations

import xml.etree.ElementTree as ET

from ...model.config import Section, section_at
from .. import ns
from ..faults import WSManFault
from ..soap import local_name, xml_text
from . import Resource


def leaf_text(element: ET.Element) -> str:
    if len(element):
        raise WSManFault("SCHEMA_VALIDATION_ERROR", provider=True)
    if element.get(f"{{{ns.XSI}}}nil", "").lower() == "true":
        return ""
    return element.text or ""


class ConfigResource(Resource):
    def __init__(self, host, request, principal, path: tuple[str, ...]):
        super().__init__(host, request, principal)
        self.path = path
        self.section = section_at(path)
        suffix = "/".join(p.lower() for p in path)
        self.namespace = ns.CONFIG_URI + ("/" + suffix if suffix else "")

    def get(self) -> bytes:
        self.request.no_selectors()
        return self.reply(ns.TRANSFER + "GetResponse", self.render())

    def put(self) -> bytes:
        self.request.no_selectors()
        payload = self.request.payload
        if payload is None or local_name(payload.tag) != self.section.name:
            raise WSManFault("INVALID_REPRESENTATION")
        overrides = self.host.policy.overrides()
        changes: list[tuple[tuple[str, ...], str]] = []
        self._collect(payload, self.section, self.path, overrides, changes)
        self.host.config.set_local(changes)
        return self.reply(ns.TRANSFER + "PutResponse", self.render())

    def render(self) -> str:
        overrides = self.host.policy.overrides()
        config = self.host.config
        parts: list[str] = []

        def walk(section: Section, path):
            for child in section.children:
                child_path = path + (child.name,)
                if isinstance(child, Section):
                    parts.append(f"<cfg:{child.name}>")
                    walk(child, child_path)
                    parts.append(f"</cfg:{child.name}>")
                elif child_path in overrides:
                    parts.append(f'<cfg:{child.name} Source="GPO">{xml_text(overrides[child_path])}</cfg:{child.name}>')
                else:
                    parts.append(f"<cfg:{child.name}>{xml_text(config.local(child_path))}</cfg:{child.name}>")

        walk(self.section, self.path)
        name = self.section.name
        return f'<cfg:{name} xmlns:cfg="{self.namespace}" xml:lang="en-US">{"".join(parts)}</cfg:{name}>'

    def _collect(self, element, section: Section, path, overrides, changes) -> None:
        config = self.host.config
        for child in element:
            name = local_name(child.tag)
            spec = section.child(name)
            if spec is None:
                raise WSManFault("SCHEMA_VALIDATION_ERROR", provider=True)
            child_path = path + (name,)
            if isinstance(spec, Section):
                self._collect(child, spec, child_path, overrides, changes)
                continue
            raw = leaf_text(child)
            if spec.kind == "deprecated":
                # MS-WSMV notes <11>, <18>: Put of MaxProviderRequests / MaxConcurrentOperations.
                raise WSManFault("DEPRECATED_CONFIG_SETTING", provider=True)
            if spec.kind == "shellruntime":
                # MS-WSMV <29>: the minimum (and only value) is the current one on 2008 R2+.
                if raw.strip() != config.local(child_path):
                    raise WSManFault("SCHEMA_VALIDATION_ERROR", provider=True)
                continue
            value = config.validate(spec, raw)
            if child_path in overrides:
                # Windows refuses to change a policy-controlled value; an unchanged value in a
                # whole-document Put is let through [INF].
                if value != overrides[child_path]:
                    raise WSManFault("CONFIG_CANNOT_CHANGE_GPO_CONTROLLED_SETTING", provider=True, name=name)
                continue
            changes.append((child_path, value))
