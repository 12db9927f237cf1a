"""XML namespaces and action URIs of WS-Management as Windows uses them, with Windows' prefixes.

Prefixes: Windows writes ``s`` (SOAP 1.2), ``a`` (WS-Addressing), ``x`` (WS-Transfer), ``n``
(WS-Enumeration), ``e`` (WS-Eventing), ``w`` (DMTF WS-Management), ``p`` (Microsoft's WS-Management
extensions), ``b`` (the DMTF CIM binding), ``rsp`` (WinRS) and ``cfg`` (the config tree); captured
Windows replies in public test suites (a Win32_LogicalDisk GetResponse, OMI's copy of a Windows fault).
"""
from __future__ import annotations

SOAP = "http://www.w3.org/2003/05/soap-envelope"
WSA = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
WXF = "http://schemas.xmlsoap.org/ws/2004/09/transfer"
WSEN = "http://schemas.xmlsoap.org/ws/2004/09/enumeration"
WSE = "http://schemas.xmlsoap.org/ws/2004/08/eventing"
WSMAN = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
WSMV = "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd"
WSMANFAULT = "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault"
CIMBINDING = "http://schemas.dmtf.org/wbem/wsman/1/cimbinding.xsd"
WSMID = "http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd"
RSP = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XML = "http://www.w3.org/XML/1998/namespace"
CIM_COMMON = "http://schemas.dmtf.org/wbem/wscim/1/common"
ANONYMOUS = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"
FAULT_DETAIL = "http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/"

CONFIG_URI = "http://schemas.microsoft.com/wbem/wsman/1/config"
SHELL_CMD_URI = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd"
WMI_URI = "http://schemas.microsoft.com/wbem/wsman/1/wmi/"
CIM_SCHEMA_URI = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/"

TRANSFER = WXF + "/"
ENUMERATION = WSEN + "/"
SHELL = RSP + "/"
A_GET, A_PUT, A_CREATE, A_DELETE = (TRANSFER + x for x in ("Get", "Put", "Create", "Delete"))
A_ENUMERATE, A_PULL, A_RELEASE = (ENUMERATION + x for x in ("Enumerate", "Pull", "Release"))
A_COMMAND, A_RECEIVE, A_SIGNAL, A_SEND = (SHELL + x for x in ("Command", "Receive", "Signal", "Send"))

ASSOCIATION_FILTER = "http://schemas.dmtf.org/wbem/wsman/1/cimbinding/associationFilter"
