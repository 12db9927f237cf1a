"""SOAP in, SOAP out: parse a request, check its headers, route it to a resource, authorize it
against RootSDDL, and turn every failure into the fault Windows sends.

The route table (``ROUTES`` for exact resource URIs, ``PREFIX_ROUTES`` for families) is the one
place that says which class serves which URI; URIs compare case-insensitively. A resource served by
a plugin (WMI, a PowerShell session configuration) is authorized with that plugin's security
descriptor; the others with RootSDDL.
"""
from __future__ import annotations

import functools
import logging
import xml.etree.ElementTree as ET

from ..model.config import CONFIG_RESOURCES
from ..model.plugins import POWERSHELL_URI
from . import ns
from .faults import WSManFault, build_fault
from .request import Request
from .resources import OPERATIONS, Resource
from .resources.certmapping import CERTMAPPING_URI, CertMappingResource
from .resources.config import ConfigResource
from .resources.identify import authenticated_reply
from .resources.listener import LISTENER_URI, ListenerResource
from .resources.plugin import PLUGIN_URI, PluginResource
from .resources.powershell import PowerShellResource
from .resources.shell import ShellResource
from .resources.wmi import WmiResource

log = logging.getLogger("winrm_sim.protocol")

ROUTES = {
    **{(ns.CONFIG_URI + suffix).lower(): functools.partial(ConfigResource, path=path)
       for suffix, path in CONFIG_RESOURCES.items()},
    LISTENER_URI.lower(): ListenerResource,
    CERTMAPPING_URI.lower(): CertMappingResource,
    PLUGIN_URI.lower(): PluginResource,
    ns.SHELL_CMD_URI.lower(): ShellResource,
}
SHELL_ACTIONS = {ns.A_COMMAND: "command", ns.A_RECEIVE: "receive", ns.A_SIGNAL: "signal", ns.A_SEND: "send"}


def _wmi(host, request, principal):
    namespace, _sep, class_name = request.uri[len(ns.WMI_URI):].rpartition("/")
    return WmiResource(host, request, principal, namespace, class_name)


PREFIX_ROUTES = [(ns.WMI_URI.lower(), _wmi), (POWERSHELL_URI.lower(), PowerShellResource)]


def resource_for(host, request: Request, principal) -> Resource:
    factory = ROUTES.get(request.uri)
    if factory is None:
        factory = next((f for prefix, f in PREFIX_ROUTES if request.uri.startswith(prefix)), None)
    if factory is None:
        if not request.resource_uri:
            raise WSManFault("INVALID_RESOURCE_URI")
        raise WSManFault("RESOURCE_NOT_FOUND", detail="InvalidResourceURI")
    return factory(host, request, principal)


def operation_of(request: Request, resource: Resource) -> str:
    if request.action in OPERATIONS:
        return OPERATIONS[request.action]
    if isinstance(resource, ShellResource) and request.action in SHELL_ACTIONS:
        return SHELL_ACTIONS[request.action]
    if isinstance(resource, WmiResource):
        return "invoke"
    raise WSManFault("ACTION_NOT_SUPPORTED")


def handle_request(host, body: bytes, principal) -> tuple[int, bytes]:
    """(HTTP status, reply). Never raises: every failure becomes a SOAP fault (an internal error if
    it is a simulator bug)."""
    request = None
    try:
        if len(body) > host.max_envelope_bytes():
            # MS-WSMV 3.1.4.1.20: larger than MaxEnvelopeSizekb -> HTTP 413 without processing.
            return 413, b""
        try:
            envelope = ET.fromstring(body)
        except ET.ParseError:
            raise WSManFault("INVALID_XML") from None
        if envelope.tag != f"{{{ns.SOAP}}}Envelope":
            raise WSManFault("INVALID_SOAP_BODY")
        request = Request(envelope)
        reply = dispatch(host, request, principal)
        if request.max_envelope and request.max_envelope.isdigit() and len(reply) > int(request.max_envelope):
            raise WSManFault("MAX_ENVELOPE_SIZE_EXCEEDED")
        return 200, reply
    except WSManFault as fault:
        relates = request.message_id if request is not None else None
        machine = request.machine if request is not None else ""
        return 500, build_fault(fault, machine=machine or host.name, host_name=host.name, relates_to=relates)
    except Exception:  # noqa: BLE001 - a simulator bug must still look like a Windows fault
        log.exception("internal error while handling a request for %s", host.name)
        relates = request.message_id if request is not None else None
        return 500, build_fault(WSManFault("INTERNAL_ERROR"), machine=host.name, host_name=host.name,
                                relates_to=relates)


def dispatch(host, request: Request, principal) -> bytes:
    if request.body is None:
        raise WSManFault("INVALID_SOAP_BODY")
    if request.action is None:
        payload = request.payload
        if payload is not None and payload.tag == f"{{{ns.WSMID}}}Identify":
            return authenticated_reply(host, principal.transport)
        raise WSManFault("INVALID_MESSAGE_INFORMATION_HEADER")
    if not request.message_id:
        raise WSManFault("INVALID_MESSAGE_INFORMATION_HEADER")
    if request.max_envelope is not None:
        if not request.max_envelope.isdigit() or int(request.max_envelope) < 8192:
            raise WSManFault("INVALID_MESSAGE_INFORMATION_HEADER")
        if int(request.max_envelope) > host.max_envelope_bytes():
            raise WSManFault("MAX_ENVELOPE_SIZE")
    if request.action in (ns.A_PULL, ns.A_RELEASE):
        _authorize(host, principal, "read")
        return host.enumerations.resume(request)
    try:
        resource = resource_for(host, request, principal)
    except WSManFault:
        _authorize(host, principal, "read")   # an unknown URI is answered only to those who may read
        raise
    operation = operation_of(request, resource)
    _authorize(host, principal, resource.access(operation), resource.security_descriptor())
    return resource.handle(operation)


def _authorize(host, principal, access: str, sddl: str | None = None) -> None:
    """RootSDDL, or the descriptor of the plugin that serves the URI (MS-WSMV 3.1.4.1.28)."""
    if not principal.user or not host.authorized(principal, access, sddl):
        raise WSManFault("ACCESS_DENIED")
