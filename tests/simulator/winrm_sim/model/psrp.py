"""The server side of opening a PowerShell runspace pool (MS-PSRP), enough for a client to connect.

A client opens a pool with a WinRS Create on the session configuration's resource URI
(``http://schemas.microsoft.com/powershell/<name>``) whose ``rsp:Shell`` carries ``creationXml``:
base64 PSRP fragments holding SESSION_CAPABILITY and INIT_RUNSPACEPOOL (MS-PSRP 3.1.4.1, 2.2.2.1,
2.2.2.2). The server answers on the shell's stdout, read with Receive: its SESSION_CAPABILITY,
APPLICATION_PRIVATE_DATA (the PSVersionTable, 2.2.2.13) and RUNSPACEPOOL_STATE Opened (2.2.2.9).

Layouts: a fragment is ObjectId (8 bytes, big-endian), FragmentId (8), flags (1: 0x1 start,
0x2 end), BlobLength (4, big-endian), Blob (MS-PSRP 2.2.4); a message is Destination (4 bytes,
little-endian: 1 client, 2 server), MessageType (4), RPID and PID (16 each, GUIDs in their
little-endian byte form), then the UTF-8 data (2.2.1). Pipelines are not modelled.
"""
from __future__ import annotations

import base64
import struct
import uuid
from xml.sax.saxutils import escape

DESTINATION_CLIENT, DESTINATION_SERVER = 1, 2
SESSION_CAPABILITY = 0x00010002
INIT_RUNSPACEPOOL = 0x00010004
RUNSPACEPOOL_STATE = 0x00021005
APPLICATION_PRIVATE_DATA = 0x00021009
STATE_OPENED = 2
PROTOCOL_VERSION, SERIALIZATION_VERSION = "2.3", "1.1.0.1"
BOM = b"\xef\xbb\xbf"


class PsrpError(ValueError):
    """The creationXml is not what a PSRP client sends."""


def fragments(data: bytes) -> list[tuple[int, int, int, bytes]]:
    """(object id, fragment id, flags, blob) of each fragment in ``data``."""
    found, offset = [], 0
    while offset < len(data):
        if len(data) - offset < 21:
            raise PsrpError("truncated fragment header")
        object_id, fragment_id, flags, length = struct.unpack(">QQBI", data[offset:offset + 21])
        blob = data[offset + 21:offset + 21 + length]
        if len(blob) != length:
            raise PsrpError("truncated fragment")
        found.append((object_id, fragment_id, flags, blob))
        offset += 21 + length
    return found


def messages(data: bytes) -> list[dict]:
    """The messages the fragments in ``data`` carry (each complete: start...end)."""
    parts: dict[int, list[bytes]] = {}
    complete = []
    for object_id, _fragment_id, flags, blob in fragments(data):
        if flags & 0x1:
            parts[object_id] = []
        if object_id not in parts:
            raise PsrpError("fragment without its start")
        parts[object_id].append(blob)
        if flags & 0x2:
            complete.append(b"".join(parts.pop(object_id)))
    result = []
    for raw in complete:
        if len(raw) < 40:
            raise PsrpError("message shorter than its header")
        destination, message_type = struct.unpack("<II", raw[:8])
        body = raw[40:]
        result.append({"destination": destination, "type": message_type,
                       "rpid": str(uuid.UUID(bytes_le=raw[8:24])), "pid": str(uuid.UUID(bytes_le=raw[24:40])),
                       "data": (body[3:] if body.startswith(BOM) else body).decode("utf-8", "replace")})
    return result


def opening(creation_xml: str) -> str:
    """The runspace pool id a creationXml opens; PsrpError unless it holds the client's
    SESSION_CAPABILITY and INIT_RUNSPACEPOOL."""
    try:
        data = base64.b64decode(creation_xml or "", validate=True)
    except ValueError:
        raise PsrpError("creationXml is not base64") from None
    found = messages(data)
    types = [m["type"] for m in found]
    if SESSION_CAPABILITY not in types or INIT_RUNSPACEPOOL not in types or \
            any(m["destination"] != DESTINATION_SERVER for m in found):
        raise PsrpError("creationXml lacks SESSION_CAPABILITY and INIT_RUNSPACEPOOL")
    return found[0]["rpid"]


def _message(message_type: int, rpid: str, data: str) -> bytes:
    header = struct.pack("<II", DESTINATION_CLIENT, message_type)
    return header + uuid.UUID(rpid).bytes_le + uuid.UUID(int=0).bytes_le + BOM + data.encode("utf-8")


def _fragment(object_id: int, blob: bytes) -> bytes:
    return struct.pack(">QQBI", object_id, 0, 0x3, len(blob)) + blob


def open_replies(rpid: str, ps_version: str, build: str) -> bytes:
    """What the server sends on stdout after a pool's creation: capability, private data, Opened."""
    capability = ('<Obj RefId="0"><MS><Version N="protocolversion">%s</Version><Version N="PSVersion">2.0</Version>'
                  '<Version N="SerializationVersion">%s</Version></MS></Obj>' % (PROTOCOL_VERSION, SERIALIZATION_VERSION))
    table = "".join(
        '<En><S N="Key">%s</S><Version N="Value">%s</Version></En>' % (escape(key), escape(value))
        for key, value in (("PSVersion", "%s.%s" % (ps_version, build) if ps_version == "5.1" else ps_version),
                           ("WSManStackVersion", "3.0"), ("PSRemotingProtocolVersion", PROTOCOL_VERSION),
                           ("SerializationVersion", SERIALIZATION_VERSION)))
    private = ('<Obj RefId="0"><MS><Obj N="ApplicationPrivateData" RefId="1"><TN RefId="0">'
               '<T>System.Management.Automation.PSPrimitiveDictionary</T><T>System.Collections.Hashtable</T>'
               '<T>System.Object</T></TN><DCT><En><S N="Key">PSVersionTable</S><Obj N="Value" RefId="2">'
               '<TNRef RefId="0" /><DCT>%s<En><S N="Key">PSEdition</S><S N="Value">Desktop</S></En></DCT></Obj>'
               '</En></DCT></Obj></MS></Obj>' % table)
    state = '<Obj RefId="0"><MS><I32 N="RunspaceState">%d</I32></MS></Obj>' % STATE_OPENED
    blobs = [_message(SESSION_CAPABILITY, rpid, capability), _message(APPLICATION_PRIVATE_DATA, rpid, private),
             _message(RUNSPACEPOOL_STATE, rpid, state)]
    return b"".join(_fragment(index + 1, blob) for index, blob in enumerate(blobs))
