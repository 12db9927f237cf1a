"""PowerShell remoting endpoints: ``http://schemas.microsoft.com/powershell/<session configuration>``.

A request goes to the enabled session configuration whose resource matches its URI (MS-WSMV
3.1.4.1.34.1) and is authorized with that configuration's security descriptor instead of RootSDDL
(MS-WSMV 3.1.4.1.28: a shell request needs GX); a user it does not grant gets Windows' "Access is
denied." when opening the runspace pool. WinRS carries PSRP (MS-PSRP 3.1.4.1): Create with the
pool's creationXml, Receive of the server's opening messages (``model/psrp.py``), Delete to close.
AllowRemoteShellAccess=false refuses PowerShell remoting as it refuses cmd shells. Pipelines
(Command) are not modelled.
"""
from __future__ import annotations

import base64

from ...model import psrp
from ...model.plugins import POWERSHELL_URI
from .. import ns
from ..faults import WSManFault
from ..soap import local_name, resource_created, xml_text
from .shell import ShellResource

PSRP_NS = "http://schemas.microsoft.com/powershell"


class PowerShellResource(ShellResource):
    OPERATIONS = ("create", "delete", "receive", "signal", "send")   # no pipelines (Command)

    def __init__(self, host, request, principal):
        super().__init__(host, request, principal)
        routed = host.plugins.route(request.uri)
        if routed is None:
            # Not registered, or disabled when the service started: not in the catalog.
            raise WSManFault("RESOURCE_NOT_FOUND", detail="InvalidResourceURI")
        self.plugin = routed[0]

    def security_descriptor(self) -> str | None:
        return self.host.plugins.descriptor_for(self.request.uri)

    def _shell(self) -> tuple[str, dict]:
        shell_id, shell = super()._shell()
        if shell.get("owner") != self.principal.user or shell.get("uri") != self.request.uri:
            raise WSManFault("RESOURCE_NOT_FOUND")
        return shell_id, shell

    def create(self) -> bytes:
        payload = self.request.payload
        if payload is None or local_name(payload.tag) != "Shell":
            raise WSManFault("INVALID_SOAP_BODY")
        creation = payload.find(f"{{{PSRP_NS}}}creationXml")
        try:
            rpid = psrp.opening(creation.text if creation is not None else "")
        except psrp.PsrpError:
            raise WSManFault("INVALID_SOAP_BODY") from None  # [INF: the fault for a bad creationXml]
        name = self.plugin.get("Name", "")
        if (self.plugin.get("RunAsUser") or "").strip() and self.host.plugins.run_as_account(name) is None:
            raise WSManFault("RUNAS_INVALIDUSERCREDENTIALS")
        parameters = {p.get("Name", "").lower(): p.get("Value", "") for p in self.plugin.iter()
                      if local_name(p.tag) == "Param"}
        version = self.host.system.version
        replies = psrp.open_replies(rpid, parameters.get("psversion", "5.1"),
                                    "%s.%s" % (version.version.rsplit(".", 1)[-1], version.build_revision))
        shell_id = (payload.get("ShellId") or rpid).upper()
        self.host.shells.create(self.principal.user, shell_id=shell_id, uri=self.request.uri, stdout=replies)
        resource = POWERSHELL_URI + name
        shell = (f'<rsp:Shell xmlns:rsp="{ns.RSP}"><rsp:ShellId>{shell_id}</rsp:ShellId>'
                 f"<rsp:Name>WinRM1</rsp:Name><rsp:ResourceUri>{xml_text(resource)}</rsp:ResourceUri>"
                 f"<rsp:Owner>{xml_text(self.principal.user)}</rsp:Owner><rsp:ClientIP>127.0.0.1</rsp:ClientIP>"
                 f"<rsp:IdleTimeOut>PT7200.000S</rsp:IdleTimeOut><rsp:InputStreams>stdin pr</rsp:InputStreams>"
                 f"<rsp:OutputStreams>stdout</rsp:OutputStreams><rsp:ShellRunTime>P0DT0H0M0S</rsp:ShellRunTime>"
                 f"<rsp:ShellInactivity>P0DT0H0M0S</rsp:ShellInactivity></rsp:Shell>")
        return resource_created(self.request, resource, [("ShellId", shell_id)], address=self.request.to or ns.ANONYMOUS,
                                extra=shell, kind="shell")

    def receive(self) -> bytes:
        _shell_id, shell = self._shell()
        payload = self.request.payload
        stream = payload.find(f"{{{ns.RSP}}}DesiredStream") if payload is not None else None
        if stream is not None and stream.get("CommandId"):
            raise WSManFault("RESOURCE_NOT_FOUND")  # no pipelines
        data = shell.pop("stdout", b"")
        if not data:
            # Windows holds the Receive until OperationTimeout; nothing more will come [INF: at once].
            raise WSManFault("OPERATION_TIMEDOUT")
        encoded = base64.b64encode(data).decode("ascii")
        body = (f'<rsp:ReceiveResponse xmlns:rsp="{ns.RSP}">'
                f'<rsp:Stream Name="stdout">{encoded}</rsp:Stream></rsp:ReceiveResponse>')
        return self.reply(ns.SHELL + "ReceiveResponse", body)
