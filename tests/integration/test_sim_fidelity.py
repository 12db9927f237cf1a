"""The simulator behaves as Windows does, seen by clients this project did not write.

Each test talks to simulated hosts over real HTTP with an independent client: raw pywinrm or pypsrp
calls, curl, Debian's ``wsl`` WS-Management scripts, and a Go program built on Debian's
masterzen/winrm (``goclient/main.go``, built here with Debian's Go toolchain). What Windows does is
cited in the simulator's code; the test names say what is checked.
"""
from __future__ import annotations

import base64
import datetime
import json
import os
import shutil
import socket
import subprocess
import xml.etree.ElementTree as ET

import pytest
import requests
import winrm
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pypsrp.exceptions import AuthenticationError, WSManFaultError
from pypsrp.wsman import WSMan, SelectorSet

from harness import CONFIG, value_of
from winrm_sim.profiles import PROFILES

pytestmark = pytest.mark.timeout(300)

# On a simulator without the HTTPS-ready profile, the plain one carried an HTTPS listener.
HTTPS_PROFILE = "server2022_https" if "server2022_https" in PROFILES else "server2022"
FLEET_PROFILES = f"server2022,{HTTPS_PROFILE},winrm11"
HERE = os.path.dirname(os.path.abspath(__file__))
WSMID = "http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd"
SECPROFILE = "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/"
SOAP = "http://www.w3.org/2003/05/soap-envelope"
WSEN = "http://schemas.xmlsoap.org/ws/2004/09/enumeration"
WSMAN = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
WSA = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
AUTH_NS = CONFIG + "/service/auth"
LISTENER = CONFIG + "/listener"
CERTMAPPING = CONFIG + "/service/certmapping"
IDENTIFY = (f'<s:Envelope xmlns:s="{SOAP}" xmlns:wsmid="{WSMID}"><s:Header/>'
            "<s:Body><wsmid:Identify/></s:Body></s:Envelope>")


def https_port(host_vars) -> int:
    return host_vars["wsman_winrm_sim_ports"][5986]


def http_url(host_vars) -> str:
    port = host_vars["wsman_winrm_sim_ports"].get(5985) or host_vars["wsman_winrm_sim_ports"][80]
    return f"http://{host_vars['ansible_host']}:{port}/wsman"


def pywinrm_protocol(host_vars, **options) -> winrm.Protocol:
    return winrm.Protocol(endpoint=http_url(host_vars), transport="ntlm", username=host_vars["ansible_user"],
                          password=host_vars["ansible_password"], **options)


def pypsrp(host_vars, https=False, **options) -> WSMan:
    settings = dict(server=host_vars["ansible_host"], username=host_vars["ansible_user"],
                    password=host_vars["ansible_password"], auth="ntlm", no_proxy=True, operation_timeout=10,
                    read_timeout=20)
    if https:
        settings.update(port=https_port(host_vars), ssl=True, cert_validation=host_vars["ansible_winrm_ca_trust_path"])
    else:
        settings.update(port=int(http_url(host_vars).split(":")[2].split("/")[0]), ssl=False)
    settings.update(options)
    return WSMan(**settings)


def put_service_auth(host_vars, **values) -> None:
    auth = ET.Element(f"{{{AUTH_NS}}}Auth")
    for name, value in values.items():
        ET.SubElement(auth, f"{{{AUTH_NS}}}{name}").text = str(value).lower()
    with pypsrp(host_vars) as client:
        client.put(AUTH_NS, auth)


def run_commands(host_vars, *command_lines) -> list[tuple[bytes, bytes, int]]:
    """Each command line through a raw pywinrm shell: (stdout, stderr, exit code)."""
    protocol = pywinrm_protocol(host_vars)
    shell_id = protocol.open_shell()
    try:
        results = []
        for line in command_lines:
            command, _sep, arguments = line.partition(" ")
            command_id = protocol.run_command(shell_id, command, [arguments] if arguments else [])
            results.append(protocol.get_command_output(shell_id, command_id))
            protocol.cleanup_command(shell_id, command_id)
        return results
    finally:
        protocol.close_shell(shell_id)


# -- WinRS runs commands as cmd.exe does --------------------------------------------------------------

def test_winrs_runs_known_commands_and_fails_unknown_ones_as_cmd_exe(fleet):
    name, host_vars = fleet.host("server2022")
    (hostname, unknown, exit_code, echo, whoami) = run_commands(
        host_vars, "hostname", "nosuchcommand /all", "cmd /c exit 3", "echo hello world", "whoami")
    assert hostname == (f"{name}\r\n".encode(), b"", 0)
    assert unknown == (b"", b"'nosuchcommand' is not recognized as an internal or external command,\r\n"
                            b"operable program or batch file.\r\n", 1)
    assert exit_code[2] == 3
    assert echo == (b"hello world\r\n", b"", 0)
    assert whoami[0] == f"{name}\\administrator\r\n".lower().encode()


def test_powershell_encoded_command_fails_as_powershell_does(fleet):
    """pywinrm's run_ps sends -EncodedCommand and decodes the CLIXML error stream."""
    name, host_vars = fleet.host("server2022")
    session = winrm.Session(http_url(host_vars), auth=(host_vars["ansible_user"], host_vars["ansible_password"]),
                            transport="ntlm")
    found = session.run_ps("Write-Output $env:COMPUTERNAME")
    assert (found.status_code, found.std_out) == (0, f"{name}\r\n".encode())
    missing = session.run_ps("Get-NoSuchThing")
    assert missing.status_code == 1 and missing.std_out == b""
    assert b"The term 'Get-NoSuchThing' is not recognized as the name of a cmdlet" in missing.std_err


# -- masterzen/winrm (Go): commands, NTLM with the simulated computer's name, unencrypted HTTP ---------

@pytest.fixture(scope="module")
def go_client(tmp_path_factory):
    go = shutil.which("go")
    library = "/usr/share/gocode/src/github.com/masterzen/winrm"
    if not go or not os.path.isdir(library):
        pytest.skip("Go client not buildable: run `make system-deps` as root (Debian golang-go, "
                    "golang-github-masterzen-winrm-dev)")
    output = str(tmp_path_factory.mktemp("go") / "winrm-go")
    env = dict(os.environ, GOPATH="/usr/share/gocode", GO111MODULE="off", GOFLAGS="",
               GOCACHE=str(tmp_path_factory.mktemp("gocache")))
    subprocess.run([go, "build", "-o", output, "."], cwd=os.path.join(HERE, "goclient"), env=env, check=True,
                   capture_output=True, timeout=600)
    return output


def go_run(go_client, host_vars, command, https=True, user=None) -> dict:
    args = [go_client, "-host", host_vars["ansible_host"], "-user", user or host_vars["ansible_user"],
            "-password", host_vars["ansible_password"], "-command", command]
    if https:
        args += ["-port", str(https_port(host_vars)), "-https", "-cacert", host_vars["ansible_winrm_ca_trust_path"]]
    else:
        args += ["-port", str(host_vars["wsman_winrm_sim_ports"][5985])]
    completed = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
    return json.loads(completed.stdout)


def test_go_client_logs_on_with_ntlm_and_runs_commands(fleet, go_client):
    """go-ntlmssp takes the domain of a bare user name from the CHALLENGE's TargetName: it must be the
    simulated computer's name for the local account to log on."""
    name, host_vars = fleet.host(HTTPS_PROFILE)
    expected = {"stdout": f"{name}\r\n", "stderr": "", "exit_code": 0, "error": ""}
    assert go_run(go_client, host_vars, "hostname") == expected
    unknown = go_run(go_client, host_vars, "ipconfig /all")
    assert (unknown["exit_code"], unknown["stdout"]) == (1, "")
    assert unknown["stderr"].startswith("'ipconfig' is not recognized as an internal or external command")


def test_unencrypted_ntlm_request_over_http_is_an_http_500(fleet, go_client):
    """masterzen/winrm does not encrypt NTLM messages; with AllowUnencrypted=false Windows answers 500."""
    _name, host_vars = fleet.host("server2022")
    result = go_run(go_client, host_vars, "hostname", https=False)
    assert result["exit_code"] != 0 and "500" in result["error"], result
    protocol = pywinrm_protocol(host_vars, message_encryption="never")
    with pytest.raises(winrm.exceptions.WinRMTransportError) as raised:
        protocol.open_shell()
    assert raised.value.code == 500


# -- Identify ----------------------------------------------------------------------------------------

def curl(*args: str) -> str:
    """curl's output, line ends kept as sent."""
    if not shutil.which("curl"):
        pytest.skip("curl is not installed")
    completed = subprocess.run(["curl", "--silent", "--show-error", "--max-time", "30", *args], capture_output=True,
                               timeout=60, check=False)
    return completed.stdout.decode("utf-8", "replace") + completed.stderr.decode("utf-8", "replace")


def identify_response(text: str) -> dict:
    reply = ET.fromstring(text).find(f"{{{SOAP}}}Body/{{{WSMID}}}IdentifyResponse")
    profiles = reply.find(f"{{{WSMID}}}SecurityProfiles")
    return {"version": reply.findtext(f"{{{WSMID}}}ProductVersion"),
            "vendor": reply.findtext(f"{{{WSMID}}}ProductVendor"),
            "profiles": None if profiles is None else [p.text.replace(SECPROFILE, "") for p in profiles]}


@pytest.mark.parametrize("profile, stack", [("server2022", "3.0"), ("winrm11", "1.1")])
def test_anonymous_identify_answers_with_the_stack_version_only(fleet, profile, stack):
    """What Test-WSMan sends by default: no Authorization header."""
    _name, host_vars = fleet.host(profile)
    answer = curl("--include", "-H", "Content-Type: application/soap+xml;charset=UTF-8",
                  "-H", "WSMANIDENTIFY: unauthenticated", "--data", IDENTIFY, http_url(host_vars))
    head, _sep, body = answer.partition("\r\n\r\n")
    assert head.startswith("HTTP/1.1 200 OK"), answer
    assert identify_response(body) == {"version": f"OS: 0.0.0 SP: 0.0 Stack: {stack}",
                                       "vendor": "Microsoft Corporation", "profiles": None}


def wsl(tool: str, host_vars, *args: str, tmp_path) -> subprocess.CompletedProcess:
    """Debian's wsl scripts (curl with Basic over HTTPS, the host's CA trusted)."""
    if not shutil.which(tool):
        pytest.skip("Debian's wsl is not installed: run `make system-deps` as root")
    endpoint = f"{host_vars['ansible_host']}:{https_port(host_vars)}"
    shutil.copy(host_vars["ansible_winrm_ca_trust_path"], tmp_path / f"{endpoint}.crt")
    env = dict(os.environ, WSENDPOINT=endpoint, WSUSER=host_vars["ansible_user"],
               WSPASS=host_vars["ansible_password"], WSAUTOMATED="1", KEEPHISTORY="0", OUTPREFIX=str(tmp_path))
    return subprocess.run([tool, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
                          check=False)


def test_authenticated_identify_follows_the_configuration(fleet, tmp_path):
    name, host_vars = fleet.host(HTTPS_PROFILE)
    put_service_auth(host_vars, Basic=True)
    try:
        answer = wsl("wslid", host_vars, "check", tmp_path=tmp_path)
        assert answer.returncode == 0, answer.stdout + answer.stderr
        reply = identify_response((tmp_path / "response.xml").read_text())
        assert reply["version"] == "OS: 10.0.20348 SP: 0.0 Stack: 3.0"
        assert reply["profiles"] == ["https/basic", "https/spnego-kerberos"]
    finally:
        put_service_auth(host_vars, Basic=False)
    # over HTTP with NTLM (pywinrm, encrypted): Basic is off again
    reply = identify_response(pywinrm_protocol(host_vars).transport.send_message(IDENTIFY).decode())
    assert reply["profiles"] == ["http/spnego-kerberos"]


def test_authenticated_identify_names_the_host_version(fleet):
    _name, host_vars = fleet.host("winrm11")
    reply = identify_response(pywinrm_protocol(host_vars).transport.send_message(IDENTIFY).decode())
    assert reply["version"] == "OS: 6.0.6002 SP: 2.0 Stack: 1.1"


# -- NTLM and the 401 ------------------------------------------------------------------------------------

def test_ntlm_challenge_names_the_simulated_computer(fleet):
    """The CHALLENGE a raw HTTP client gets back, decoded with pyspnego's NTLM message parser."""
    import spnego
    from spnego._ntlm_raw.messages import AvId, Challenge, NegotiateFlags

    name, host_vars = fleet.host("server2022")
    context = spnego.client("Administrator", host_vars["ansible_password"], protocol="ntlm")
    negotiate = context.step()
    with requests.Session() as http:
        response = http.post(http_url(host_vars), data=b"", timeout=30, headers={
            "Authorization": "Negotiate " + base64.b64encode(negotiate).decode()})
    assert response.status_code == 401
    token = base64.b64decode(response.headers["WWW-Authenticate"].split(" ", 1)[1])
    challenge = Challenge.unpack(token)
    assert challenge.target_name == name
    assert challenge.flags & NegotiateFlags.target_type_server
    info = challenge.target_info
    assert [info[AvId.nb_domain_name], info[AvId.nb_computer_name], info[AvId.dns_domain_name],
            info[AvId.dns_computer_name]] == [name, name, name, name]
    assert AvId.dns_tree_name not in info


def test_workgroup_host_offers_no_kerberos(fleet):
    _name, host_vars = fleet.host("server2022")
    answer = curl("--include", "--data", "<x/>", http_url(host_vars))
    offered = [line.split(":", 1)[1].strip() for line in answer.splitlines()
               if line.lower().startswith("www-authenticate:")]
    assert offered == ["Negotiate"]


def raw_http(address: str, port: int, request: bytes) -> tuple[bytes, bool]:
    """The reply bytes, and whether the server closed the connection after it."""
    with socket.create_connection((address, port), timeout=30) as conn:
        conn.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return data, True
            data += chunk
        head, _sep, rest = data.partition(b"\r\n\r\n")
        length = int(dict(line.split(b": ", 1) for line in head.split(b"\r\n")[1:]).get(b"Content-Length", b"0"))
        while len(rest) < length:
            rest += conn.recv(65536)
        conn.settimeout(5)
        try:
            closed = conn.recv(1) == b""
        except socket.timeout:
            closed = False
        return head + b"\r\n\r\n" + rest, closed


def test_refused_credentials_close_the_connection_with_httpsys_headers(fleet):
    _name, host_vars = fleet.host("server2022")
    address, port = host_vars["ansible_host"], host_vars["wsman_winrm_sim_ports"][5985]
    request = (b"POST /wsman HTTP/1.1\r\nHost: x\r\nAuthorization: Negotiate Zm9vYmFy\r\n"
               b"Content-Type: application/soap+xml;charset=UTF-8\r\nContent-Length: 4\r\n\r\n<x/>")
    reply, closed = raw_http(address, port, request)
    lines = reply.split(b"\r\n\r\n")[0].decode().split("\r\n")
    assert lines[0] == "HTTP/1.1 401 Unauthorized"
    assert [line.split(":")[0] for line in lines[1:]] == ["Server", "WWW-Authenticate", "Date", "Connection",
                                                          "Content-Length"]
    assert lines[1] == "Server: Microsoft-HTTPAPI/2.0" and "Connection: close" in lines and closed
    # the first request without credentials keeps the connection for the handshake that follows
    reply, closed = raw_http(address, port, request.replace(b"Authorization: Negotiate Zm9vYmFy\r\n", b""))
    assert reply.startswith(b"HTTP/1.1 401 Unauthorized\r\n") and b"Connection: close" not in reply and not closed


# -- replies: prefixes and ActivityId -------------------------------------------------------------------

def declared_prefixes(reply: bytes) -> list[str]:
    root = reply.decode().split(">", 1)[0]
    return [part.split("=")[0][len("xmlns:"):] for part in root.split() if part.startswith("xmlns:")]


def header_children(reply: bytes) -> list[str]:
    header = ET.fromstring(reply).find(f"{{{SOAP}}}Header")
    return [child.tag.rsplit("}", 1)[1] for child in header]


def raw_envelope(action: str, resource_uri: str, body: str = "") -> str:
    return (f'<s:Envelope xmlns:s="{SOAP}" xmlns:a="{WSA}" xmlns:w="{WSMAN}"><s:Header>'
            f"<a:To>http://x/wsman</a:To><a:MessageID>uuid:11111111-2222-3333-4444-555555555555</a:MessageID>"
            f"<a:ReplyTo><a:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address>"
            f"</a:ReplyTo><w:ResourceURI>{resource_uri}</w:ResourceURI><a:Action>{action}</a:Action>"
            f"</s:Header><s:Body>{body}</s:Body></s:Envelope>")


def test_reply_envelopes_carry_windows_prefixes_and_an_activity_id(fleet):
    _name, host_vars = fleet.host("server2022")
    transport = pywinrm_protocol(host_vars).transport
    get = transport.send_message(raw_envelope("http://schemas.xmlsoap.org/ws/2004/09/transfer/Get", CONFIG))
    assert declared_prefixes(get) == ["s", "a", "x", "w", "p"]
    assert header_children(get) == ["Action", "MessageID", "ActivityId", "To", "RelatesTo"]
    activity = ET.fromstring(get).find(f"{{{SOAP}}}Header/{{http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd}}"
                                       "ActivityId").text
    assert len(activity) == 36 and not activity.startswith("uuid:")
    enumerate_reply = transport.send_message(raw_envelope(
        "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate", LISTENER,
        f'<n:Enumerate xmlns:n="{WSEN}"><w:OptimizeEnumeration/><w:MaxElements>10</w:MaxElements></n:Enumerate>'))
    assert declared_prefixes(enumerate_reply) == ["s", "a", "n", "w", "p"]


# -- EnumerationMode on config/listener ---------------------------------------------------------------

def enumerate_listeners(host_vars, mode: str | None):
    body = ET.fromstring(f'<n:Enumerate xmlns:n="{WSEN}" xmlns:w="{WSMAN}"><w:OptimizeEnumeration/>'
                         f"<w:MaxElements>100</w:MaxElements>"
                         + (f"<w:EnumerationMode>{mode}</w:EnumerationMode>" if mode else "") + "</n:Enumerate>")
    with pypsrp(host_vars) as client:
        reply = client.enumerate(LISTENER, body)
    return list(reply.find(f"{{{WSEN}}}EnumerateResponse/{{{WSMAN}}}Items"))


def selectors_of(epr) -> dict:
    return {s.get("Name"): s.text for s in epr.iter(f"{{{WSMAN}}}Selector")}


def test_enumeration_mode_on_listeners(fleet, tmp_path):
    _name, host_vars = fleet.host(HTTPS_PROFILE)
    objects = enumerate_listeners(host_vars, None)
    assert [o.tag.rsplit("}", 1)[1] for o in objects] == ["Listener", "Listener"]
    eprs = enumerate_listeners(host_vars, "EnumerateEPR")
    assert [e.tag for e in eprs] == [f"{{{WSA}}}EndpointReference"] * 2
    assert [selectors_of(e) for e in eprs] == [{"Address": "*", "Transport": "HTTP"},
                                               {"Address": "*", "Transport": "HTTPS"}]
    assert all(e.findtext(f"{{{WSA}}}ReferenceParameters/{{{WSMAN}}}ResourceURI") == LISTENER for e in eprs)
    both = enumerate_listeners(host_vars, "EnumerateObjectAndEPR")
    assert [i.tag for i in both] == [f"{{{WSMAN}}}Item"] * 2
    assert [[c.tag.rsplit("}", 1)[1] for c in item] for item in both] == [["Listener", "EndpointReference"]] * 2
    assert value_of(both[1], "Port") == "5986"
    # CertMapping items have no EPR: EnumerationMode is refused there (MS-WSMV 3.1.4.1.17)
    body = ET.fromstring(f'<n:Enumerate xmlns:n="{WSEN}" xmlns:w="{WSMAN}"><w:OptimizeEnumeration/>'
                         "<w:EnumerationMode>EnumerateEPR</w:EnumerationMode></n:Enumerate>")
    with pytest.raises(WSManFaultError) as raised:
        with pypsrp(host_vars) as client:
            client.enumerate(CERTMAPPING, body)
    assert raised.value.code == 2150858818
    # and an independent client asking for EPRs (Debian's wsl, Basic over HTTPS)
    put_service_auth(host_vars, Basic=True)
    try:
        answer = wsl("wslenum", host_vars, LISTENER, "-mode", "epr", tmp_path=tmp_path)
    finally:
        put_service_auth(host_vars, Basic=False)
    assert answer.returncode == 0, answer.stdout + answer.stderr
    assert answer.stdout.count("<a:EndpointReference>") == 2 and '<w:Selector Name="Transport">HTTPS' in answer.stdout


# -- certificate authentication: the 16 KB limit ---------------------------------------------------------

def big_client_certificate(pki_dir, out_dir, size: int) -> tuple[str, str]:
    """A client certificate for ansible-client@localhost signed by the simulator's CA, padded with a
    private extension to about ``size`` bytes of DER."""
    with open(os.path.join(pki_dir, "ca.key"), "rb") as handle:
        ca_key = serialization.load_pem_private_key(handle.read(), None)
    with open(os.path.join(pki_dir, "ca.pem"), "rb") as handle:
        ca_cert = x509.load_pem_x509_certificate(handle.read())
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.datetime.now(datetime.timezone.utc)
    upn = b"ansible-client@localhost"
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ansible-client")]))
            .issuer_name(ca_cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName([x509.OtherName(
                x509.ObjectIdentifier("1.3.6.1.4.1.311.20.2.3"), b"\x0c" + bytes([len(upn)]) + upn)]), critical=False)
            .add_extension(x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.55555.1"),
                                                      b"\x04\x82" + (size).to_bytes(2, "big") + b"A" * size),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    cert_path, key_path = os.path.join(out_dir, "big.pem"), os.path.join(out_dir, "big.key")
    with open(cert_path, "wb") as handle:
        handle.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as handle:
        handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                       serialization.NoEncryption()))
    return cert_path, key_path


def test_client_certificates_over_16_kb_are_refused(fleet, tmp_path):
    _name, host_vars = fleet.host(HTTPS_PROFILE)
    pki_dir = os.path.dirname(host_vars["ansible_winrm_ca_trust_path"])
    big_cert, big_key = big_client_certificate(pki_dir, str(tmp_path), 22 * 1024)
    with open(big_cert, "rb") as handle:
        assert len(x509.load_pem_x509_certificate(handle.read()).public_bytes(serialization.Encoding.DER)) > 22000
    put_service_auth(host_vars, Certificate=True)
    mapping = ET.Element(f"{{{CERTMAPPING}}}CertMapping")
    ET.SubElement(mapping, f"{{{CERTMAPPING}}}UserName").text = host_vars["ansible_user"]
    ET.SubElement(mapping, f"{{{CERTMAPPING}}}Password").text = host_vars["ansible_password"]
    selectors = SelectorSet()
    for key, value in (("URI", "*"), ("Subject", "ansible-client@localhost"),
                       ("Issuer", host_vars["wsman_winrm_sim_ca_issuer_thumbprint"])):
        selectors.add_option(key, value)
    with pypsrp(host_vars, https=True) as client:
        client.create(CERTMAPPING, mapping, selector_set=selectors)
    try:
        with pypsrp(host_vars, https=True, auth="certificate", certificate_pem=host_vars["wsman_winrm_sim_client_cert_pem"],
                    certificate_key_pem=host_vars["wsman_winrm_sim_client_key_pem"]) as client:
            assert value_of(client.get(CONFIG), "Certificate") == "true"   # the usual certificate logs on
        with pytest.raises(AuthenticationError):
            with pypsrp(host_vars, https=True, auth="certificate", certificate_pem=big_cert,
                        certificate_key_pem=big_key) as client:
                client.get(CONFIG)
    finally:
        with pypsrp(host_vars, https=True) as client:
            client.delete(CERTMAPPING, selector_set=selectors)
        put_service_auth(host_vars, Certificate=False)


# -- values Windows refuses: TrustedHosts and RootSDDL ------------------------------------------------

def put_value(host_vars, section: str, name: str, value: str) -> None:
    namespace = f"{CONFIG}/{section.lower()}"
    element = ET.Element(f"{{{namespace}}}{section}")
    ET.SubElement(element, f"{{{namespace}}}{name}").text = value
    with pypsrp(host_vars) as client:
        client.put(namespace, element)


def get_value(host_vars, section: str, name: str) -> str:
    with pypsrp(host_vars) as client:
        return value_of(client.get(f"{CONFIG}/{section.lower()}"), name)


@pytest.mark.parametrize("value", ["host one", "a,<b>", "x&y", "a," + "b" * 100 * 1024, "*x*", "a,,b", "-bad-"])
def test_trustedhosts_outside_windows_grammar_is_refused(fleet, value):
    _name, host_vars = fleet.host("server2022")
    with pytest.raises(WSManFaultError) as raised:
        put_value(host_vars, "Client", "TrustedHosts", value)
    assert raised.value.code == 2150858911
    assert "TrustedHosts list contains an invalid hostname or hostname pattern." in raised.value.reason
    assert get_value(host_vars, "Client", "TrustedHosts") == ""


def test_trustedhosts_in_windows_grammar_is_accepted(fleet):
    _name, host_vars = fleet.host("server2022")
    value = "*.corp.example.com,web*,<local>,10.0.0.5,fe80::1,host-01"
    put_value(host_vars, "Client", "TrustedHosts", value)
    try:
        assert get_value(host_vars, "Client", "TrustedHosts") == value
    finally:
        put_value(host_vars, "Client", "TrustedHosts", "")


@pytest.mark.parametrize("sddl", [
    "O:NSG:BAD:P(A;;GA;;;BA)(A;;GR;;;IU)S:P(AU;FA;GA;;;WD)trailing",
    "O:NSG:BAD:P(A;;GA;;;BA) (A;;GR;;;IU)",
    "O:NSG:BAD:P(A;;GA;;;BA)<x/>",
    "O:NSG:BAD:P(A;;GA;;;XX)",
])
def test_rootsddl_windows_refuses_is_refused(fleet, sddl):
    _name, host_vars = fleet.host("server2022")
    before = get_value(host_vars, "Service", "RootSDDL")
    with pytest.raises(WSManFaultError) as raised:
        put_value(host_vars, "Service", "RootSDDL", sddl)
    assert raised.value.code == 2150859100
    assert get_value(host_vars, "Service", "RootSDDL") == before
