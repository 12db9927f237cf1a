"""The simulator's transport over real HTTP with real clients (pypsrp, pywinrm, raw sockets).

These run against ``winrm-sim serve --engine stub``: the transport with a stand-in engine that
answers a fixed SOAP reply naming the authenticated principal, so they test only HTTP, TLS,
authentication and message encryption. ``test_sim_engine.py`` runs the same clients against the
real WS-Management engine.
"""
from __future__ import annotations

import base64
import http.client
import socket
import ssl
import time

import pytest
import requests
import winrm
from pypsrp.exceptions import AuthenticationError, WinRMTransportError
from pypsrp.wsman import WSMan

from winrm_sim.cli import FleetProcess
from harness import base_address

PASSWORD = "Transp0rt-Test!"
BASE = base_address(20)

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    state_dir = tmp_path_factory.mktemp("sim-stub")
    with FleetProcess(str(state_dir), hosts=2, profiles="server2022", base_address=BASE,
                      password=PASSWORD, engine="stub") as running:
        yield running


@pytest.fixture(scope="module")
def host(fleet):
    name, host_vars = sorted(fleet.hosts().items())[0]
    return dict(host_vars, name=name)


def stub_reply(text: bytes) -> dict:
    import re
    match = re.search(rb'<stub user="([^"]*)" auth="([^"]*)" encrypted="([^"]*)"', text)
    assert match, text
    return {"user": match.group(1).decode(), "auth": match.group(2).decode(), "encrypted": match.group(3) == b"True"}


def send(host, body: bytes, **kwargs) -> bytes:
    options = dict(server=host["ansible_host"], port=5985, username="Administrator", password=PASSWORD,
                   ssl=False, auth="ntlm")
    options.update(kwargs)
    with WSMan(**options) as wsman:
        return wsman.transport.send(body)


def control(host, command: str) -> None:
    send(host, f"<x>stub-control:{command}</x>".encode())


def raw_request(address: str, port: int, data: bytes, timeout: float = 5) -> bytes:
    with socket.create_connection((address, port), timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        for _attempt in range(100):
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            chunks.append(chunk)
            if b"\r\n\r\n" in b"".join(chunks):
                head, _sep, rest = b"".join(chunks).partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                if len(rest) >= length:
                    break
        return b"".join(chunks)


# -- NTLM and message encryption --------------------------------------------------------------------

def test_inventory_describes_each_host(fleet):
    hosts = fleet.hosts()
    assert sorted(hosts) == ["SIM-2022-01", "SIM-2022-02"]
    first = hosts["SIM-2022-01"]
    assert first["ansible_host"] == BASE
    assert first["ansible_connection"] == "winrm"
    assert first["ansible_winrm_transport"] == "ntlm"
    assert first["ansible_winrm_scheme"] == "http"
    assert first["ansible_port"] == 5985
    assert first["wsman_winrm_sim_ports"] == {5985: 5985, 5986: 5986}
    assert first["ansible_python_interpreter"] == "{{ ansible_playbook_python }}"
    assert len(first["wsman_winrm_sim_thumbprint"]) == 40
    assert first["wsman_winrm_sim_thumbprint"] == first["wsman_winrm_sim_thumbprint"].upper()


def test_pypsrp_ntlm_over_http_is_encrypted(host):
    reply = stub_reply(send(host, b"<hello/>", encryption="always"))
    assert reply == {"user": "Administrator", "auth": "ntlm", "encrypted": True}


@pytest.mark.parametrize("user", ["Administrator", "administrator", ".\\Administrator", "SIM-2022-01\\Administrator"])
def test_local_account_spellings(host, user):
    assert stub_reply(send(host, b"<x/>", username=user))["user"] == "Administrator"


def test_account_of_another_computer_is_refused(host):
    with pytest.raises(AuthenticationError):
        send(host, b"<x/>", username="SIM-2022-02\\Administrator")


def test_pywinrm_ntlm_raw_message(host):
    protocol = winrm.Protocol(endpoint=f"http://{host['ansible_host']}:5985/wsman", transport="ntlm",
                              username="Administrator", password=PASSWORD)
    reply = stub_reply(protocol.transport.send_message(b"<hello/>"))
    assert reply["encrypted"] and reply["user"] == "Administrator"


def test_many_requests_on_one_connection(host):
    with WSMan(host["ansible_host"], port=5985, username="Administrator", password=PASSWORD, ssl=False,
               auth="ntlm") as wsman:
        for index in range(20):
            assert stub_reply(wsman.transport.send(b"<n>%d</n>" % index))["encrypted"]


def test_wrong_password_is_401_not_a_dropped_socket(host):
    with pytest.raises(AuthenticationError):
        send(host, b"<x/>", password="wrong")
    protocol = winrm.Protocol(endpoint=f"http://{host['ansible_host']}:5985/wsman", transport="ntlm",
                              username="Administrator", password="wrong")
    with pytest.raises(winrm.exceptions.InvalidCredentialsError):
        protocol.transport.send_message(b"<x/>")


def test_401_lists_enabled_schemes(host):
    response = requests.post(f"http://{host['ansible_host']}:5985/wsman", data=b"<x/>",
                             headers={"Content-Type": "application/soap+xml;charset=UTF-8"})
    assert response.status_code == 401
    assert response.headers["Server"] == "Microsoft-HTTPAPI/2.0"
    assert response.content == b""
    offered = response.raw.headers.getlist("WWW-Authenticate")
    assert offered == ["Negotiate"]  # a workgroup computer offers no Kerberos
    assert "close" not in response.headers.get("Connection", "")  # the first, credential-less 401


def test_unencrypted_body_over_http_is_refused(host):
    """Authenticated but unencrypted over HTTP while AllowUnencrypted=false: HTTP 500, empty body."""
    with pytest.raises(WinRMTransportError) as raised:
        send(host, b"<x/>", encryption="never")
    assert raised.value.code == 500 and raised.value.response_text == ""


# -- Basic -----------------------------------------------------------------------------------------

def test_basic_refused_while_disabled(host):
    with pytest.raises(AuthenticationError):
        send(host, b"<x/>", auth="basic", ssl=True, port=5986, cert_validation=False)


def test_basic_over_http_refused_without_allow_unencrypted(host):
    control(host, "auth.basic=true")
    try:
        response = requests.post(f"http://{host['ansible_host']}:5985/wsman", data=b"<x/>",
                                 auth=("Administrator", PASSWORD))
        assert response.status_code == 401
        assert 'Basic realm="WSMAN"' in response.raw.headers.getlist("WWW-Authenticate")
        protocol = winrm.Protocol(endpoint=f"http://{host['ansible_host']}:5985/wsman", transport="basic",
                                  username="Administrator", password=PASSWORD)
        with pytest.raises(winrm.exceptions.InvalidCredentialsError,
                           match="the specified credentials were rejected by the server"):
            protocol.transport.send_message(b"<x/>")
        # over HTTPS Basic works
        reply = stub_reply(send(host, b"<x/>", auth="basic", ssl=True, port=5986,
                                cert_validation=host["ansible_winrm_ca_trust_path"]))
        assert reply == {"user": "Administrator", "auth": "basic", "encrypted": True}
        with pytest.raises(AuthenticationError):
            send(host, b"<x/>", auth="basic", ssl=True, port=5986, cert_validation=False, password="nope")
    finally:
        control(host, "auth.basic=false")


# -- HTTPS and certificates -------------------------------------------------------------------------

def test_https_validates_against_the_simulator_ca(host):
    reply = stub_reply(send(host, b"<x/>", ssl=True, port=5986, cert_validation=host["ansible_winrm_ca_trust_path"]))
    assert reply == {"user": "Administrator", "auth": "ntlm", "encrypted": True}


def test_https_refused_with_an_untrusted_ca(host):
    untrusted = host["ansible_winrm_ca_trust_path"].replace("ca.pem", "untrusted-ca.pem")
    with pytest.raises(requests.exceptions.SSLError):
        send(host, b"<x/>", ssl=True, port=5986, cert_validation=untrusted)


def test_served_certificate_is_the_listener_thumbprint(host):
    context = ssl.create_default_context(cafile=host["ansible_winrm_ca_trust_path"])
    with socket.create_connection((host["ansible_host"], 5986)) as raw:
        with context.wrap_socket(raw, server_hostname=host["ansible_host"]) as tls:
            der = tls.getpeercert(binary_form=True)
            subject = dict(item[0] for item in tls.getpeercert()["subject"])
    import hashlib
    assert hashlib.sha1(der).hexdigest().upper() == host["wsman_winrm_sim_thumbprint"]
    assert subject["commonName"] == host["name"]


def test_certificate_auth(host):
    options = dict(auth="certificate", ssl=True, port=5986, cert_validation=host["ansible_winrm_ca_trust_path"],
                   certificate_pem=host["wsman_winrm_sim_client_cert_pem"],
                   certificate_key_pem=host["wsman_winrm_sim_client_key_pem"])
    with pytest.raises(AuthenticationError):          # service Certificate auth is off
        send(host, b"<x/>", **options)
    control(host, "auth.certificate=true")
    try:
        assert stub_reply(send(host, b"<x/>", **options))["auth"] == "certificate"
    finally:
        control(host, "auth.certificate=false")


# -- HTTP details ------------------------------------------------------------------------------------

def test_other_paths_are_404_and_other_methods_405(host):
    response = requests.post(f"http://{host['ansible_host']}:5985/other", data=b"x")
    assert response.status_code == 404
    assert response.headers["Server"] == "Microsoft-HTTPAPI/2.0"
    response = requests.get(f"http://{host['ansible_host']}:5985/wsman")
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"
    # URL matching is case-insensitive, as in HTTP.sys
    assert requests.post(f"http://{host['ansible_host']}:5985/WSMAN", data=b"x").status_code == 401


def test_malformed_http_never_crashes(host):
    address = host["ansible_host"]
    answer = raw_request(address, 5985, b"GARBAGE\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400") or answer.startswith(b"HTTP/1.0 400") or answer == b""
    answer = raw_request(address, 5985, b"POST /wsman HTTP/1.1\r\nHost: x\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 411")
    answer = raw_request(address, 5985, b"POST /wsman HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 413")
    answer = raw_request(address, 5985, b"POST /wsman HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                         b"Authorization: Negotiate !!!notbase64\r\n\r\nabc")
    assert answer.startswith(b"HTTP/1.1 401")
    answer = raw_request(address, 5985, b"POST /wsman HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                         b"Authorization: Negotiate " + base64.b64encode(b"\x60junk") + b"\r\n\r\nabc")
    assert answer.startswith(b"HTTP/1.1 401")
    # a half-sent request followed by a close
    with socket.create_connection((address, 5985)) as sock:
        sock.sendall(b"POST /wsman HTTP/1.1\r\nContent-Length: 100\r\n\r\nabc")
    # the server still answers
    assert stub_reply(send(host, b"<x/>"))["user"] == "Administrator"


def test_encrypted_body_with_garbage_is_refused(host):
    body = (b"--Encrypted Boundary\r\n\tContent-Type: application/HTTP-SPNEGO-session-encrypted\r\n"
            b"\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=5\r\n--Encrypted Boundary\r\n"
            b"\tContent-Type: application/octet-stream\r\n\x10\x00\x00\x00" + b"\x00" * 16 + b"abcde--Encrypted Boundary--\r\n")
    connection = http.client.HTTPConnection(host["ansible_host"], 5985, timeout=5)
    connection.request("POST", "/wsman", body=body, headers={
        "Content-Type": 'multipart/encrypted;protocol="application/HTTP-SPNEGO-session-encrypted";boundary="Encrypted Boundary"'})
    assert connection.getresponse().status == 401
    connection.close()


# -- live listeners ----------------------------------------------------------------------------------

def test_removed_listener_stops_answering_and_a_new_one_starts(fleet):
    hosts = fleet.hosts()
    second = dict(hosts["SIM-2022-02"], name="SIM-2022-02")
    address = second["ansible_host"]
    https = dict(ssl=True, port=5986, cert_validation=second["ansible_winrm_ca_trust_path"])
    control(second, "drop-http")
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((address, 5985), timeout=2).close()
    assert fleet.hosts()["SIM-2022-02"]["wsman_winrm_sim_ports"] == {5986: 5986}
    send(second, b"<x>stub-control:add-http=8085</x>", **https)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and 8085 not in fleet.hosts()["SIM-2022-02"]["wsman_winrm_sim_ports"]:
        time.sleep(0.1)
    assert stub_reply(send(second, b"<x/>", port=8085))["user"] == "Administrator"


def test_sigterm_exits_cleanly(tmp_path):
    running = FleetProcess(str(tmp_path), hosts=1, base_address=base_address(21), password=PASSWORD, engine="stub")
    running.start()
    assert running.stop() == 0


def test_port_in_use_is_mapped_and_reported(tmp_path):
    # Another process holds 5985 on the host's address: the listener moves to 5985 + 18000 and the
    # inventory says so (the same happens to ports 80/443 when not running as root).
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    blocker.bind((base_address(22), 5985))
    blocker.listen(1)
    try:
        with FleetProcess(str(tmp_path), hosts=1, base_address=base_address(22), password=PASSWORD,
                          engine="stub") as running:
            host_vars = dict(next(iter(running.hosts().values())))
            assert host_vars["wsman_winrm_sim_ports"] == {5985: 23985, 5986: 5986}
            assert host_vars["ansible_port"] == 23985
            assert stub_reply(send(dict(host_vars), b"<x/>", port=23985))["user"] == "Administrator"
    finally:
        blocker.close()
