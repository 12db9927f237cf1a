"""The WS-Management fault catalog of the simulated WinRM service, and the fault envelope.

Codes and texts: Windows SDK wsmerror.h (see /work/shared/reference/wsman_error_codes.md). Windows
ends its messages with a space; the texts below keep it. SOAP subcodes come from real captures
where the reference marks them, otherwise from DSP0226 / the wsmerror.h comments; provider
(config) errors without a documented subcode use s:Receiver / w:InternalError, which is what
Windows sends for provider failures in the captures we have seen [INF].
"""
from __future__ import annotations

import dataclasses

from . import ns
from .soap import envelope, xml_attr, xml_text

CONFIG_PROVIDER = "Config provider"
CONFIG_PROVIDER_PATH = r"%systemroot%\system32\WsmSvc.dll"

# Prefix -> namespace for the subcode QNames and for the fault's wsa:Action.
_FAULT_ACTION = {
    "w": "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault",
    "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing/fault",
    "n": "http://schemas.xmlsoap.org/ws/2004/09/enumeration/fault",
    "x": "http://schemas.xmlsoap.org/ws/2004/09/transfer/fault",
}


@dataclasses.dataclass(frozen=True)
class FaultKind:
    code: int
    soap_code: str      # "Sender" | "Receiver"
    subcode: str        # "w:SchemaValidationError"
    text: str           # Windows' text, trailing space included


def _kind(code, soap_code, subcode, text):
    return FaultKind(code, soap_code, subcode, text)


# name -> kind; names follow wsmerror.h without the ERROR_WSMAN_ prefix.
CATALOG: dict[str, FaultKind] = {
    "ACCESS_DENIED": _kind(5, "Sender", "w:AccessDenied", "Access is denied. "),
    # Win32 ERROR_ALREADY_EXISTS: what New-NetFirewallRule shows for a rule name already in the store.
    "ALREADY_EXISTS_WIN32": _kind(183, "Receiver", "w:InternalError",
                                  "Cannot create a file when that file already exists. "),
    "INVALID_PARAMETER_WIN32": _kind(87, "Sender", "w:InvalidParameter", "The parameter is incorrect. "),
    "RESOURCE_NOT_FOUND": _kind(
        2150858752, "Sender", "a:DestinationUnreachable",
        "The WS-Management service cannot process the request. The service cannot find the resource "
        "identified by the resource URI and selectors. "),
    "INVALID_MESSAGE_INFORMATION_HEADER": _kind(
        2150858767, "Sender", "a:InvalidMessageInformationHeader",
        "The WS-Management service cannot process the request. The request contains one or more "
        "invalid SOAP headers. "),
    "ACTION_NOT_SUPPORTED": _kind(
        2150858771, "Sender", "a:ActionNotSupported",
        "The WS-Management service does not support the action specified in the request. "),
    "INVALID_REPRESENTATION": _kind(
        2150858773, "Sender", "x:InvalidRepresentation",
        "The WS-Management service cannot identify the format of the object passed to a Put or Create "
        "method. The input XML may not be appropriate for the resource or uses the wrong schema for "
        "the resource. Change the input XML in the request. "),
    "FILTERING_NOT_SUPPORTED": _kind(
        2150858776, "Sender", "n:FilteringNotSupported",
        "The data source does not support filtering. Remove the filter from the request and try the "
        "request again. "),
    "INVALID_ENUMERATION_CONTEXT": _kind(
        2150858779, "Receiver", "n:InvalidEnumerationContext",
        "The WS-Enumeration context in the enumeration is not valid. Enumeration may have been "
        "completed or canceled. You cannot use this enumeration context anymore. Start a new "
        "enumeration. "),
    "FILTER_DIALECT_UNAVAILABLE": _kind(
        2150858777, "Sender", "n:FilterDialectRequestedUnavailable",
        "The filter dialect (the type associated with the filter) was not supported for this resource. "
        "Change the filter dialect or remove it from the request and try the request again. "),
    "CANNOT_PROCESS_FILTER": _kind(
        2150858778, "Sender", "n:CannotProcessFilter",
        "The data source could not process the filter. The filter might be missing or it might be invalid. "
        "Change the filter and try the request again. "),
    "INVALID_SOAP_BODY": _kind(
        2150858791, "Sender", "w:InvalidBody",
        "The WS-Management service cannot process the request because the request packet does not "
        "have a valid SOAP body. "),
    "ALREADY_EXISTS": _kind(
        2150858803, "Sender", "w:AlreadyExists",
        "The WS-Management service cannot create the resource because it already exists. "),
    "INVALID_RESOURCE_URI": _kind(
        2150858811, "Sender", "a:DestinationUnreachable",
        "The WS-Management service cannot process the request. The resource URI is missing or it has "
        "an incorrect format. Check the documentation or use the following command for information "
        "on how to construct a resource URI: \"winrm help uris\". "),
    "INVALID_SELECTORS": _kind(
        2150858813, "Sender", "w:InvalidSelectors",
        "The WS-Management service cannot process the request because the selectors for the resource "
        "are not valid. "),
    "SCHEMA_VALIDATION_ERROR": _kind(
        2150858817, "Sender", "w:SchemaValidationError",
        "The SOAP XML in the message does not match the corresponding XML schema definition. Change "
        "the XML and retry. "),
    "UNSUPPORTED_FEATURE": _kind(
        2150858818, "Sender", "w:UnsupportedFeature",
        "The WS-Management service does not support the specified feature. Remove the unsupported feature "
        "from the request and retry. "),
    "INVALID_XML": _kind(
        2150858819, "Sender", "w:SchemaValidationError",
        "The WS-Management service cannot process the request because the XML is invalid. "),
    "MAX_ENVELOPE_SIZE": _kind(
        2150858823, "Sender", "w:EncodingLimit",
        "The maximum envelope size in the request is too large. Change the maximum envelope size and "
        "try the request again. "),
    "MAX_ENVELOPE_SIZE_EXCEEDED": _kind(
        2150858824, "Receiver", "w:EncodingLimit",
        "The response that the WS-Management service computed exceeds the maximum envelope size in "
        "the request. "),
    "INVALID_XML_VALUES": _kind(
        2150858838, "Sender", "w:SchemaValidationError",
        "The WS-Management service cannot process the request because the XML content has invalid "
        "values. "),
    "INSUFFICIENT_SELECTORS": _kind(
        2150858842, "Sender", "w:InvalidSelectors",
        "The WS-Management service cannot process the request because the request did not contain "
        "all required selectors. "),
    "UNEXPECTED_SELECTORS": _kind(
        2150858843, "Sender", "w:InvalidSelectors",
        "The WS-Management service cannot process the request because the request contained invalid "
        "selectors for the resource. "),
    "DUPLICATE_SELECTORS": _kind(
        2150858847, "Sender", "w:InvalidSelectors",
        "The WS-Management service cannot process the request because the request contains duplicate "
        "selectors. "),
    # wsmerror.h ERROR_WSMAN_INVALID_HOSTNAME_PATTERN (0x8033809F): a TrustedHosts entry outside the
    # grammar of MS-WSMV 2.2.4.6 (ClientType TrustedHosts).
    "INVALID_HOSTNAME_PATTERN": _kind(
        2150858911, "Receiver", "w:InternalError",
        "TrustedHosts list contains an invalid hostname or hostname pattern. "),
    "CERT_NOT_FOUND": _kind(
        2150858882, "Receiver", "w:InternalError",
        "The WS-Management service cannot find the certificate that was requested. "),
    "LISTENER_ADDRESS_INVALID": _kind(
        2150858889, "Receiver", "w:InternalError",
        "The listener address specified is invalid. The address can be specified in one of the "
        "following formats: *, IP:<ip_address>, MAC:<mac_address>. Change the listener address and "
        "try the request again. "),
    # The text is the one WsmRes.dll shows (captures in 10_real_cli_outputs.md #8, grammar verbatim);
    # the code is wsmerror.h's ERROR_WSMAN_CONFIG_CANNOT_CHANGE_GPO_CONTROLLED_SETTING [INF].
    "CONFIG_CANNOT_CHANGE_GPO_CONTROLLED_SETTING": _kind(
        2150858890, "Receiver", "w:InternalError",
        "The config setting {name} cannot be changed because is controlled by policies. The policy "
        "would need to be set to \"Not Configured\" in order to change the config setting. "),
    "CONFIG_PORT_INVALID": _kind(
        2150858972, "Receiver", "w:InternalError",
        "The WinRM client cannot process the request. The port specified in the configuration is "
        "invalid. Valid values are between 1 and 65535. Change the value for port and try the "
        "request again. "),
    "CONFIG_CERT_CN_DOES_NOT_MATCH_HOSTNAME": _kind(
        2150858985, "Receiver", "w:InternalError",
        "The WinRM client cannot process the request. The certificate CN and the hostname that were "
        "provided do not match. "),
    "CONFIG_THUMBPRINT_SHOULD_BE_EMPTY": _kind(
        2150858987, "Receiver", "w:InternalError",
        "The WinRM client cannot process the request. When HTTP is the transport, the Certificate "
        "thumbprint must be blank. HTTP does not use the Certificate thumbprint. "),
    "INVALID_IPFILTER": _kind(
        2150858988, "Receiver", "w:InternalError",
        "The WinRM client cannot process the request. The IP Filter is invalid. Ranges are specified "
        "using the syntax IP1-IP2. Multiple ranges are separated using , as delimiter. * is used to "
        "indicate that the service should listen on all available IPs on the machine. When * is "
        "used, other ranges in the filter are ignored. If filter is blank, the service doesn't "
        "listen on any address. For example, if service should be restricted to listen on only IPv4 "
        "addresses, IPv6 filter should be left empty. "),
    "CANNOT_CHANGE_KEYS": _kind(
        2150858989, "Receiver", "w:InternalError",
        "The WinRM client cannot process the request. The input XML modifies selectors or keys for "
        "the instance. You cannot create a new instance or change the identity of an instance by "
        "changing the keys. Change the input XML and try the request again. "),
    "CERT_INVALID_USAGE": _kind(
        2150858990, "Receiver", "w:InternalError",
        "The WinRM client cannot process the request. The Enhanced Key Usage (EKU) field of the "
        "certificate is not set to \"Server Authentication\". Retry the request with a certificate "
        "that has the correct EKU. "),
    "QUICK_CONFIG_FAILED_CERT_REQUIRED": _kind(
        2150859029, "Receiver", "w:InternalError",
        "Cannot create a WinRM listener on HTTPS because this machine does not have an appropriate "
        "certificate. To be used for SSL, a certificate must have a CN matching the hostname, be "
        "appropriate for Server Authentication, and not be expired, revoked, or self-signed. "),
    "CONFIG_READONLY_PROPERTY": _kind(
        2150859071, "Receiver", "w:InternalError",
        "The WinRM client cannot process the request because it is trying to update a read-only "
        "setting. Remove this setting from the command and try again. "),
    "NO_CERTMAPPING_OPERATION_FOR_LOCAL_SESSION": _kind(
        2150859090, "Receiver", "w:InternalError",
        "The WS-Management operations to update the certificate mapping store of the WINRM service "
        "config can only be done remotely. "),
    "CERTMAPPING_INVALIDUSERCREDENTIALS": _kind(
        2150859092, "Receiver", "w:InternalError",
        "The WINRM certificate mapping configuration operation cannot be completed because the user "
        "credentials could not be verified. Please check the username and password used for mapping "
        "this certificate and verify that it is a non-domain account and try again. "),
    "INVALID_SECURITY_DESCRIPTOR": _kind(
        2150859100, "Receiver", "w:InternalError",
        "The WinRM client cannot process the request because the provided security descriptor is "
        "invalid. "),
    "URISECURITY_INVALIDURIKEY": _kind(
        2150859104, "Receiver", "w:InternalError",
        "WinRM cannot make the configuration change. The URI supplied for the certificate mapping "
        "operation is not valid. It must contain at least one character. It must not contain "
        "internal whitespace. It must not contain '?' character. A prefix may be specified by using "
        "\"*\" as the last character. The URI cannot be longer than 1023 characters. "),
    "CERTMAPPING_INVALIDSUBJECTKEY": _kind(
        2150859105, "Receiver", "w:InternalError",
        "WinRM cannot make the configuration change. The Subject used for the certificate mapping "
        "operation is not valid. It must contain at least one character. It must contain at most one "
        "\"*\" character which should be the first character. (This may be the only character in "
        "which case it matches all subjects). The Subject cannot be longer than 1023 characters. "),
    "CERTMAPPING_INVALIDISSUERKEY": _kind(
        2150859106, "Receiver", "w:InternalError",
        "WinRM cannot make the configuration change because the Issuer used for the certificate "
        "mapping operation is not valid. The certificate identified by the issuer thumbprint must be "
        "present in the machine \"Trusted Root Certification Authorities\" or \"Intermediate "
        "Certification Authorities\" store. The certificate must have key usage that allows it to "
        "sign other certificates. "),
    "CERTMAPPING_PASSWORDTOOLONG": _kind(
        2150859114, "Receiver", "w:InternalError",
        "WinRM cannot make the configuration change. The Password used for updating the certificate "
        "mapping configuration is not valid. It cannot be longer than 255 characters. "),
    "CERTMAPPING_PASSWORDBLANK": _kind(
        2150859115, "Receiver", "w:InternalError",
        "WinRM cannot make the configuration change. The Password used for updating the certificate "
        "mapping configuration is not valid. A user account used for configuring a certificate "
        "mapping cannot have a blank password. "),
    "CERTMAPPING_PASSWORDUSERTUPLE": _kind(
        2150859116, "Receiver", "w:InternalError",
        "WinRM cannot make the configuration change. The credential used for updating or creating "
        "the certificate mapping configuration is not valid. The credential consists of both "
        "Password and UserName being supplied together in a pair. "),
    "CONFIG_CANNOT_CHANGE_CERTMAPPING_KEYS": _kind(
        2150859122, "Receiver", "w:InternalError",
        "The WinRM service cannot make the configuration change. The selector keys of Subject, URI "
        "or Issuer cannot be changed by overriding the selector key value in the body. "),
    # Shell refusal text: seen verbatim in public troubleshooting articles; code from wsmerror.h.
    "REMOTESHELLS_NOT_ALLOWED": _kind(
        2150859180, "Sender", "w:AccessDenied",
        "The WS-Management service cannot process the request. The service is configured to not "
        "accept any remote shell requests. "),
    "DEPRECATED_CONFIG_SETTING": _kind(
        2150859182, "Receiver", "w:InternalError",
        "The WinRM service cannot process the request because it is trying to update a deprecated "
        "setting. Remove this setting from the command and try again. "),
    "SERVICE_CBT_HARDENING_INVALID": _kind(
        2150859192, "Receiver", "w:InternalError",
        "The WinRM service cannot process the request. The Channel Binding Token Hardening Level "
        "(CbtHardeningLevel) value is invalid. The valid values are \"None\", \"Relaxed\" and "
        "\"Strict\". Change the CbtHardeningLevel value and try again. "),
    # wsmerror.h ERROR_WSMAN_RUNAS_INVALIDUSERCREDENTIALS: a session configuration's RunAs
    # credentials that do not log on (or were erased by the DisableRunAs policy) [INF: the text].
    "RUNAS_INVALIDUSERCREDENTIALS": _kind(
        2150859203, "Receiver", "w:InternalError",
        "The WinRM service cannot process the request because the RunAs user credentials are not valid. "),
    "OPERATION_TIMEDOUT": _kind(
        2150858793, "Receiver", "w:TimedOut",
        "The WS-Management service cannot complete the operation within the time specified in OperationTimeout. "),
    "INTERNAL_ERROR": _kind(
        2147500037, "Receiver", "w:InternalError",  # E_FAIL
        "The WS-Management service cannot process the request. An internal error occurred. "),
}


class WSManFault(Exception):
    """Raised inside the engine; turned into a SOAP fault by :func:`build_fault`."""

    def __init__(self, fault_name: str, /, *, provider: bool = False, detail: str | None = None, **fmt):
        self.kind = CATALOG[fault_name]
        self.name = fault_name
        self.message = self.kind.text.format(**fmt) if fmt else self.kind.text
        self.provider = provider          # wrap in the Config provider's ProviderFault
        self.detail = detail              # optional wsman FaultDetail suffix ("UnexpectedSelectors")
        super().__init__(f"{fault_name} ({self.kind.code}): {self.message}")

    @property
    def code(self) -> int:
        return self.kind.code


def build_fault(fault: WSManFault, *, machine: str, host_name: str, relates_to: str | None) -> bytes:
    """Render a SOAP 1.2 fault the way Windows does.

    ``machine`` is the outer WSManFault@Machine: Windows puts there the name the client addressed
    (captures: Machine='10.10.10.169' when the client used the IP; Machine="localhost" outside and
    the computer name inside the ProviderFault, reference outputs 6 and 7). ``host_name`` is the
    computer name, used for the inner (provider) fault.
    """
    prefix, _sep, _local = fault.kind.subcode.partition(":")
    message = xml_text(fault.message)
    if fault.provider:
        message = (
            f'<f:ProviderFault provider={xml_attr(CONFIG_PROVIDER)} path={xml_attr(CONFIG_PROVIDER_PATH)}>'
            f'<f:WSManFault xmlns:f="{ns.WSMANFAULT}" Code="{fault.code}" Machine={xml_attr(host_name)}>'
            f"<f:Message>{message}</f:Message></f:WSManFault></f:ProviderFault>"
        )
    detail = ""
    if fault.detail:
        detail = f"<w:FaultDetail>{ns.FAULT_DETAIL}{fault.detail}</w:FaultDetail>"
    body = (
        f"<s:Fault><s:Code><s:Value>s:{fault.kind.soap_code}</s:Value>"
        f"<s:Subcode><s:Value>{fault.kind.subcode}</s:Value></s:Subcode></s:Code>"
        f'<s:Reason><s:Text xml:lang="en-US">{xml_text(fault.message)}</s:Text></s:Reason>'
        f"<s:Detail>{detail}"
        f'<f:WSManFault xmlns:f="{ns.WSMANFAULT}" Code="{fault.code}" Machine={xml_attr(machine or host_name)}>'
        f"<f:Message>{message}</f:Message></f:WSManFault></s:Detail></s:Fault>"
    )
    return envelope(_FAULT_ACTION.get(prefix, _FAULT_ACTION["w"]), relates_to, body, kind="fault")
