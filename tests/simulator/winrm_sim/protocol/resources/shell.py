"""WinRS (MS-WSMV 3.1.4.1.30ff): Create/Delete a cmd shell, Command, Receive, Signal, Send; the
programs themselves are modelled in ``model/shell.py``."""
from __future__ import annotations

import base64

from ...model import shell as programs
from .. import ns
from ..faults import WSManFault
from ..soap import local_name, resource_created, xml_attr, xml_text
from . import Resource


class ShellResource(Resource):
    envelope_kind = "shell"

    def access(self, operation: str) -> str:
        return "execute"

    OPERATIONS = ("create", "delete", "command", "receive", "signal", "send")

    def handle(self, operation: str) -> bytes:
        if not self.host.config.flag(("Winrs", "AllowRemoteShellAccess")):
            raise WSManFault("REMOTESHELLS_NOT_ALLOWED")
        if operation not in self.OPERATIONS:
            raise WSManFault("ACTION_NOT_SUPPORTED")
        return getattr(self, operation)()

    def _shell(self) -> tuple[str, dict]:
        shell_id = dict((n.lower(), v) for n, v in self.request.selectors).get("shellid", "").upper()
        shell = self.host.shells.get(shell_id)
        if shell is None:
            raise WSManFault("RESOURCE_NOT_FOUND")
        return shell_id, shell

    def create(self) -> bytes:
        shell_id = self.host.shells.create(self.principal.user)
        shell = (f'<rsp:Shell xmlns:rsp="{ns.RSP}"><rsp:ShellId>{shell_id}</rsp:ShellId>'
                 f"<rsp:ResourceUri>{ns.SHELL_CMD_URI}</rsp:ResourceUri>"
                 f"<rsp:Owner>{xml_text(self.principal.user)}</rsp:Owner>"
                 f"<rsp:ClientIP>127.0.0.1</rsp:ClientIP><rsp:IdleTimeOut>PT7200.000S</rsp:IdleTimeOut>"
                 f"<rsp:InputStreams>stdin</rsp:InputStreams><rsp:OutputStreams>stdout stderr</rsp:OutputStreams>"
                 f"<rsp:ShellRunTime>P0DT0H0M0S</rsp:ShellRunTime><rsp:ShellInactivity>P0DT0H0M0S</rsp:ShellInactivity>"
                 f"</rsp:Shell>")
        return resource_created(self.request, ns.SHELL_CMD_URI, [("ShellId", shell_id)],
                                address=self.request.to or ns.ANONYMOUS, extra=shell, kind="shell")

    def delete(self) -> bytes:
        shell_id, _shell = self._shell()
        self.host.shells.delete(shell_id)
        return self.reply(ns.TRANSFER + "DeleteResponse", "")

    def command(self) -> bytes:
        _shell_id, shell = self._shell()
        payload = self.request.payload
        command, arguments = "", []
        if payload is not None:
            for child in payload:
                if local_name(child.tag) == "Command":
                    command = (child.text or "").strip()
                elif local_name(child.tag) == "Arguments":
                    arguments.append(child.text or "")
        machine = programs.Machine(self.host.name, self.principal.user, self.host.system.version_line)
        stdout, stderr, exit_code = programs.run(" ".join([command, *arguments]).strip(), machine)
        command_id = programs.new_command_id()
        shell["commands"][command_id] = {"stdout": stdout, "stderr": stderr, "exit": exit_code}
        body = (f'<rsp:CommandResponse xmlns:rsp="{ns.RSP}"><rsp:CommandId>{command_id}</rsp:CommandId>'
                f"</rsp:CommandResponse>")
        return self.reply(ns.SHELL + "CommandResponse", body)

    def receive(self) -> bytes:
        _shell_id, shell = self._shell()
        payload = self.request.payload
        stream = payload.find(f"{{{ns.RSP}}}DesiredStream") if payload is not None else None
        command_id = (stream.get("CommandId", "") if stream is not None else "").upper()
        command = shell["commands"].get(command_id)
        if command is None:
            raise WSManFault("RESOURCE_NOT_FOUND")
        cid = xml_attr(command_id)
        parts = []
        for name in ("stdout", "stderr"):
            if command[name]:
                data = base64.b64encode(command[name]).decode("ascii")
                parts.append(f'<rsp:Stream Name="{name}" CommandId={cid}>{data}</rsp:Stream>')
        body = (f'<rsp:ReceiveResponse xmlns:rsp="{ns.RSP}">{"".join(parts)}'
                f'<rsp:Stream Name="stdout" CommandId={cid} End="true"></rsp:Stream>'
                f'<rsp:Stream Name="stderr" CommandId={cid} End="true"></rsp:Stream>'
                f'<rsp:CommandState CommandId={cid} State="{ns.SHELL}CommandState/Done">'
                f"<rsp:ExitCode>{command['exit']}</rsp:ExitCode></rsp:CommandState></rsp:ReceiveResponse>")
        return self.reply(ns.SHELL + "ReceiveResponse", body)

    def signal(self) -> bytes:
        _shell_id, shell = self._shell()
        payload = self.request.payload
        command_id = payload.get("CommandId", "") if payload is not None else ""
        shell["commands"].pop(command_id.upper(), None)
        return self.reply(ns.SHELL + "SignalResponse", f'<rsp:SignalResponse xmlns:rsp="{ns.RSP}"/>')

    def send(self) -> bytes:
        self._shell()
        return self.reply(ns.SHELL + "SendResponse", f'<rsp:SendResponse xmlns:rsp="{ns.RSP}"/>')
