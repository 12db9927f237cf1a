"""winrm/config/plugin: the WinRM plugins (session configurations among them) by their Name.

Get, Put, Create and Delete with the selector ``Name`` (MS-WSMV 3.1.4.2-3.1.4.5 tables and
3.1.4.1.34.2), Enumerate of every plugin. The body is the ``PlugInConfiguration`` document
(``model/plugins.py``); a Put replaces the whole document, as PowerShell's WSMan provider and
``Set-PSSessionConfiguration`` send it.
"""
from __future__ import annotations

from ...model.plugins import PLUGIN_NS
from .. import ns
from ..enumeration import Item
from ..faults import WSManFault
from ..soap import epr, resource_created
from . import Resource

PLUGIN_URI = ns.CONFIG_URI + "/plugin"


class PluginResource(Resource):
    def _name(self) -> str:
        return self.request.selector_dict(("Name",))["Name"]

    def _payload(self):
        payload = self.request.payload
        if payload is None or not payload.tag.startswith("{%s}" % PLUGIN_NS):
            raise WSManFault("INVALID_REPRESENTATION")
        return payload

    def get(self) -> bytes:
        return self.reply(ns.TRANSFER + "GetResponse", self.host.plugins.rendered(self._name()))

    def put(self) -> bytes:
        return self.reply(ns.TRANSFER + "PutResponse", self.host.plugins.put(self._name(), self._payload()))

    def create(self) -> bytes:
        name = self.host.plugins.create(self._name(), self._payload())
        return resource_created(self.request, PLUGIN_URI, [("Name", name)])

    def delete(self) -> bytes:
        self.host.plugins.delete(self._name())
        return self.reply(ns.TRANSFER + "DeleteResponse", "")

    def enumerate(self) -> bytes:
        self.request.no_selectors()
        plugins = self.host.plugins
        items = [Item(plugins.rendered(name), epr(PLUGIN_URI, [("Name", name)])) for name in plugins.documents()]
        return self.host.enumerations.start(self.request, items)
