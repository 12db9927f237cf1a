"""The WMI plugin: CIM classes at .../wsman/1/wmi/<namespace>/<class> (classes in ``model/wmi.py``).

Instance XML as a captured WMI plugin reply shows it (a Win32_Process Enumerate, a Win32_LogicalDisk
Get): ``<p:Class xmlns:p="<resource URI>" xmlns:xsi=... xmlns:cim=... xsi:type="p:Class_Type">``,
properties in alphabetical order, arrays as repeated elements, NULL as ``xsi:nil="true"``. Methods are
Invoke: ``wsa:Action <resource URI>/<Method>``, body ``<p:Method_INPUT>``, reply ``<p:Method_OUTPUT>``.
Associations (DSP0227 8.2, the filter Get-NetFirewallPortFilter -AssociatedNetFirewallRule uses
through MI): Enumerate of ``.../<namespace>/*`` with a ``wsman:Filter`` in the association dialect.
"""
from __future__ import annotations

from ...model.wmi import Reference, find_class
from .. import ns
from ..enumeration import Item
from ..faults import WSManFault
from ..soap import epr, local_name, resource_created, xml_text
from . import Resource


def class_uri(cls) -> str:
    return f"{ns.WMI_URI}{cls.namespace}/{cls.name}"


def render_value(name: str, value) -> str:
    if isinstance(value, Reference):
        # A reference property is the instance's endpoint reference (DSP0227, CIM references).
        return epr(f"{ns.WMI_URI}{value.namespace}/{value.class_name}", list(value.keys), tag=f"p:{name}")
    if value is None or value == []:
        return f'<p:{name} xsi:nil="true"/>'
    if isinstance(value, list):
        # A byte array (a certificate blob), one element per byte; bool is an int too, so exclude it.
        if all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            return "".join([f"<p:{name}>{v}</p:{name}>" for v in value])
        return "".join(render_value(name, v) for v in value)
    if isinstance(value, bool):
        return f"<p:{name}>{'true' if value else 'false'}</p:{name}>"
    return f"<p:{name}>{xml_text(value)}</p:{name}>"


def render_instance(cls, properties: dict) -> str:
    inner = "".join(render_value(name, properties[name]) for name in sorted(properties, key=str.lower))
    return (f'<p:{cls.name} xmlns:p="{class_uri(cls)}" xmlns:xsi="{ns.XSI}" xmlns:cim="{ns.CIM_COMMON}" '
            f'xsi:type="p:{cls.name}_Type">{inner}</p:{cls.name}>')


def body_values(payload) -> dict[str, list]:
    """Property (or parameter) -> texts, None for xsi:nil; repeated elements are arrays."""
    values: dict[str, list] = {}
    for child in payload:
        nil = child.get(f"{{{ns.XSI}}}nil", "").lower() == "true"
        values.setdefault(local_name(child.tag), []).append(None if nil else (child.text or "").strip())
    return values


class WmiResource(Resource):
    def __init__(self, host, request, principal, namespace: str, class_name: str):
        super().__init__(host, request, principal)
        self.namespace, self.class_name = namespace, class_name
        cls = find_class(namespace, class_name) if class_name != "*" else None
        if cls is None and class_name != "*":
            raise WSManFault("RESOURCE_NOT_FOUND", detail="InvalidResourceURI")
        self.cls = cls
        self.provider = cls(host) if cls else None

    def access(self, operation: str) -> str:
        if operation == "invoke" and self.provider is not None and hasattr(self.provider, "read_access"):
            return "read" if self.provider.read_access(self._method_name()) else "write"
        return super().access(operation)

    def security_descriptor(self) -> str | None:
        return self.host.plugins.descriptor_for(self.request.uri)

    def handle(self, operation: str) -> bytes:
        # The WMI plugin's descriptor lets a user in; what the providers here change (HKLM policy
        # values, firewall rules) needs an administrator's token, as it does locally [INF: WMI
        # namespace security is not modelled further].
        if self.access(operation) == "write" and not self.host.is_administrator(self.principal):
            raise WSManFault("ACCESS_DENIED")
        return super().handle(operation)

    def _item(self, cls, instance: dict) -> Item:
        provider = cls(self.host)
        keys = provider.key_values(instance)
        return Item(render_instance(cls, instance), epr(class_uri(cls), keys) if keys is not None else None)

    def _keys(self) -> dict:
        return self.request.selector_dict(self.cls.keys)

    def get(self) -> bytes:
        self._require_class()
        return self.reply(ns.TRANSFER + "GetResponse", render_instance(self.cls, self.provider.get(self._keys())))

    def put(self) -> bytes:
        self._require_class()
        payload = self.request.payload
        if payload is None or local_name(payload.tag) != self.cls.name:
            raise WSManFault("INVALID_REPRESENTATION")
        instance = self.provider.put(self._keys(), body_values(payload))
        return self.reply(ns.TRANSFER + "PutResponse", render_instance(self.cls, instance))

    def create(self) -> bytes:
        self._require_class()
        payload = self.request.payload
        if payload is None or local_name(payload.tag) != self.cls.name:
            raise WSManFault("INVALID_REPRESENTATION")
        keys = self.provider.create(body_values(payload))
        return resource_created(self.request, class_uri(self.cls), list(keys.items()))

    def delete(self) -> bytes:
        self._require_class()
        self.provider.delete(self._keys())
        return self.reply(ns.TRANSFER + "DeleteResponse", "")

    def enumerate(self) -> bytes:
        association = self._association_filter()
        if association is not None:
            return self.host.enumerations.start(self.request, association, filtered=True)
        self._require_class()
        instances = self.provider.instances()
        if self.request.selectors:  # the WMI plugin filters an enumeration by selectors
            wanted = self.request.selector_dict(self.cls.keys, required=False)
            instances = [i for i in instances
                         if all(str(i.get(k, "")).lower() == v.lower() for k, v in wanted.items())]
        return self.host.enumerations.start(self.request, [self._item(self.cls, i) for i in instances])

    def _association_filter(self) -> list[Item] | None:
        payload = self.request.payload
        found = payload.find(f"{{{ns.WSMAN}}}Filter") if payload is not None else None
        if found is None:
            if self.cls is None:
                raise WSManFault("CANNOT_PROCESS_FILTER")
            return None
        if found.get("Dialect") != ns.ASSOCIATION_FILTER:
            raise WSManFault("FILTER_DIALECT_UNAVAILABLE")
        spec = found.find(f"{{{ns.CIMBINDING}}}AssociatedInstances")
        source = spec.find(f"{{{ns.CIMBINDING}}}Object") if spec is not None else None
        if source is None:
            raise WSManFault("CANNOT_PROCESS_FILTER")
        uri = (source.findtext(f"{{{ns.WSA}}}ReferenceParameters/{{{ns.WSMAN}}}ResourceURI") or "").strip()
        selectors = {s.get("Name", ""): (s.text or "").strip()
                     for s in source.iter(f"{{{ns.WSMAN}}}Selector")}
        association = (spec.findtext(f"{{{ns.CIMBINDING}}}AssociationClassName") or "").strip()
        result_class = (spec.findtext(f"{{{ns.CIMBINDING}}}ResultClassName") or "").strip() or None
        namespace, _sep, class_name = uri[len(ns.WMI_URI):].rpartition("/") if uri.lower().startswith(
            ns.WMI_URI.lower()) else ("", "", "")
        source_cls = find_class(namespace, class_name)
        if source_cls is None or not association:
            raise WSManFault("CANNOT_PROCESS_FILTER")
        items = []
        for result_name, instance in source_cls(self.host).associated(association, selectors, result_class):
            items.append(self._item(find_class(source_cls.namespace, result_name), instance))
        return items

    def _method_name(self) -> str:
        action = self.request.action or ""
        return action[len(class_uri(self.cls)) + 1:] if action.lower().startswith(
            class_uri(self.cls).lower() + "/") else ""

    def invoke(self) -> bytes:
        self._require_class()
        method = self._method_name()
        handler = self.provider.method(method) if method else None
        if handler is None:
            raise WSManFault("ACTION_NOT_SUPPORTED")
        payload = self.request.payload
        if payload is None or local_name(payload.tag) != method + "_INPUT":
            raise WSManFault("INVALID_SOAP_BODY")
        outputs = handler(body_values(payload))
        uri = class_uri(self.cls)
        body = "".join(render_value(name, value) for name, value in outputs)
        return self.reply(f"{uri}/{method}Response", f'<p:{method}_OUTPUT xmlns:p="{uri}">{body}</p:{method}_OUTPUT>',
                          extra_ns=f' xmlns:xsi="{ns.XSI}"')

    def _require_class(self) -> None:
        if self.cls is None:
            raise WSManFault("ACTION_NOT_SUPPORTED")
