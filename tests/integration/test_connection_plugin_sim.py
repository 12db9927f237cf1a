"""wsman.winrm.winrm against the simulator: real WinRS shells (Create/Delete) through pywinrm, real
proxies (tinyproxy from Debian), the real ansible CLI.

No PowerShell runs on the simulator, so commands are checked for their exit code only.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import socket
import ssl
import subprocess
import sys
import time

import pytest
import winrm
from ansible.errors import AnsibleConnectionFailure
from ansible.playbook.play_context import PlayContext
from ansible.plugins.loader import connection_loader

from winrm_sim.cli import FleetProcess
from winrm_sim.profiles import PROFILES

from harness import base_address

# A host with HTTP and HTTPS listeners (the simulator's new-install profile may have HTTP only).
HTTPS_PROFILE = "server2022_https" if "server2022_https" in PROFILES else "server2022"


PASSWORD = "Conn-Plugin-Pa55!"
PROXY_USER = "winrm-proxy-user"
PROXY_PASSWORD = "Proxy-Pa55-never-shown"
BASE = base_address(26)  # this run's addresses (see harness.py)
PROXY_ADDRESS = "127.0.0.1"

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    state_dir = tmp_path_factory.mktemp("sim-connection-plugin")
    with FleetProcess(str(state_dir), hosts=2, profiles="%s,winrm11" % HTTPS_PROFILE, base_address=BASE,
                      password=PASSWORD) as running:
        yield running


def host_of(fleet, profile: str) -> dict:
    for name, host_vars in sorted(fleet.hosts().items()):
        if host_vars["wsman_winrm_sim_profile"] == profile:
            return dict(host_vars, inventory_hostname=name)
    pytest.skip("no %s host in the fleet" % profile)


@pytest.fixture(scope="module")
def server(fleet):
    return host_of(fleet, HTTPS_PROFILE)


def plugin_connection(host_vars: dict, **overrides):
    conn = connection_loader.get("wsman.winrm.winrm", PlayContext(), None)
    var_options = {key: value for key, value in {**host_vars, **overrides}.items() if value is not None}
    var_options["_extras"] = {}
    conn.set_options(var_options=var_options)
    return conn


def https_vars(host: dict) -> dict:
    # the simulator's inventory points at its HTTP listener; choose HTTPS and let the resolver pick 5986
    return {"ansible_winrm_scheme": "https", "ansible_port": None}


def http_vars(host: dict) -> dict:
    # the simulator's inventory trusts its hosts; say it again in the form the resolver reads
    return {"ansible_winrm_scheme": "http", "ansible_port": None, "wsman_winrm_trusted_hosts": [host["ansible_host"]]}


def assert_shell_gone(host: dict, shell_id: str, scheme: str = "http") -> None:
    """Deleting the shell a second time fails: the plugin's close() really deleted it."""
    protocol = winrm.Protocol("http://%s:5985/wsman" % host["ansible_host"], transport="ntlm",
                              username="Administrator", password=PASSWORD, proxy=None, ca_trust_path=None)
    with pytest.raises(winrm.exceptions.WinRMError):
        protocol.close_shell(shell_id)


def server_sha256(host: dict) -> str:
    pem = ssl.get_server_certificate((host["ansible_host"], 5986))
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest().upper()


# -- shells -----------------------------------------------------------------------------------------

def test_opens_and_closes_a_shell_over_http_with_ntlm(server):
    conn = plugin_connection(server, **http_vars(server))
    conn._connect()
    shell_id = conn.shell_id
    assert shell_id and conn._wsman_endpoint.url == "http://%s:5985/wsman" % server["ansible_host"]
    assert conn.protocol.transport.encryption is not None  # NTLM message encryption over HTTP
    rc, stdout, dummy = conn._winrm_exec("cmd.exe", ["/c", "echo", "hello"])
    assert rc == 0 and stdout.strip() == b"hello"
    conn.close()
    assert conn.shell_id is None
    assert_shell_gone(server, shell_id)


def test_opens_and_closes_a_shell_over_https(server):
    conn = plugin_connection(server, **https_vars(server))
    conn._connect()
    shell_id = conn.shell_id
    assert conn._wsman_endpoint.url == "https://%s:5986/wsman" % server["ansible_host"]
    assert conn.protocol.transport.encryption is None  # TLS protects the messages
    conn.close()
    assert_shell_gone(server, shell_id)


def test_pinned_certificate(server):
    conn = plugin_connection(server, wsman_winrm_cert_fingerprint=server_sha256(server), **https_vars(server))
    conn._connect()
    conn.close()


def test_wrong_pin_is_refused(server):
    wrong = "00" * 32
    conn = plugin_connection(server, wsman_winrm_cert_fingerprint=wrong, **https_vars(server))
    with pytest.raises(AnsibleConnectionFailure, match="does not match the pinned SHA-256 fingerprint") as raised:
        conn._connect()
    assert PASSWORD not in str(raised.value)


def test_wrong_password_is_a_clear_error(server):
    conn = plugin_connection(server, ansible_password="Not-The-Pa55", **http_vars(server))
    with pytest.raises(AnsibleConnectionFailure, match="rejected the credentials of Administrator") as raised:
        conn._connect()
    assert "Not-The-Pa55" not in str(raised.value)


def test_winrm11_host_refuses_5985_and_is_reached_by_explicit_legacy_ports(fleet):
    legacy = host_of(fleet, "winrm11")
    if legacy["wsman_winrm_sim_ports"].get(80) != 80:
        pytest.skip("the simulator could not bind port 80 here: %r" % legacy["wsman_winrm_sim_ports"])
    conn = plugin_connection(legacy, **http_vars(legacy))
    with pytest.raises(AnsibleConnectionFailure) as raised:
        conn._connect()
    message = str(raised.value)
    # No rule admits 5985 on a WinRM 1.1 host: Windows Firewall drops the SYN, the attempt times out.
    assert "the connection attempt timed out" in message and "WinRM 1.1 host listens on 80" in message
    assert "wsman_winrm_legacy_ports: true" in message
    conn = plugin_connection(legacy, wsman_winrm_legacy_ports=True, **http_vars(legacy))
    conn._connect()
    assert conn._wsman_endpoint.port == 80
    conn.close()


# -- the ansible CLI ----------------------------------------------------------------------------------

def run_ansible(fleet, host: str, *extra: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_HOST_KEY_CHECKING="0", ANSIBLE_FORCE_COLOR="0")
    command = [os.path.join(os.path.dirname(sys.executable), "ansible"), host, "-i", fleet.inventory_path,
               "-e", "ansible_connection=wsman.winrm.winrm", *extra]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, check=False)


def test_ansible_raw_through_the_plugin(fleet, server):
    result = run_ansible(fleet, server["inventory_hostname"], "-m", "ansible.builtin.raw", "-a", "echo hello",
                         "-e", "wsman_winrm_trusted_hosts=%s" % server["ansible_host"], "-vvv")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "CHANGED | rc=0 >>\nhello" in result.stdout, output
    assert "WSMAN ENDPOINT http://%s:5985/wsman auth=ntlm" % server["ansible_host"] in output
    assert "WSMAN DECISION port 5985: given explicitly by ansible_port" in output
    assert PASSWORD not in output


def test_a_command_windows_does_not_know_fails_through_the_plugin(fleet, server):
    # Ansible's winrm connection runs raw commands through powershell.exe -EncodedCommand; an unknown
    # command is PowerShell's CommandNotFoundException on stderr with exit code 1, as on Windows.
    result = run_ansible(fleet, server["inventory_hostname"], "-m", "ansible.builtin.raw", "-a", "nosuchcommand",
                         "-e", "wsman_winrm_trusted_hosts=%s" % server["ansible_host"])
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "FAILED | rc=1" in output, output
    assert "The term 'nosuchcommand' is not recognized" in output, output


def test_ansible_basic_over_http_is_unreachable_with_the_reason(fleet, server):
    result = run_ansible(fleet, server["inventory_hostname"], "-m", "ansible.builtin.raw", "-a", "echo hello",
                         "-e", "ansible_winrm_transport=basic",
                         "-e", "wsman_winrm_trusted_hosts=%s" % server["ansible_host"])
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "UNREACHABLE" in output and "Basic auth over HTTP is refused" in output
    assert PASSWORD not in output


# -- real proxies -------------------------------------------------------------------------------------

class Tinyproxy:
    """tinyproxy on a loopback port with its own configuration and log; stopped by its pid."""

    def __init__(self, directory, basic_auth: tuple[str, str] | None = None):
        self.directory = str(directory)
        self.port = _free_port()
        self.log_path = os.path.join(self.directory, "tinyproxy.log")
        config = [
            "Port %d" % self.port,
            "Listen %s" % PROXY_ADDRESS,
            "Timeout 60",
            'LogFile "%s"' % self.log_path,
            "LogLevel Connect",
            "MaxClients 20",
            "Allow 127.0.0.0/8",
            "ConnectPort 5986",
            "DisableViaHeader Yes",
        ]
        if basic_auth:
            config.append("BasicAuth %s %s" % basic_auth)
        self.config_path = os.path.join(self.directory, "tinyproxy.conf")
        with open(self.config_path, "w", encoding="utf-8") as handle:
            handle.write("\n".join(config) + "\n")
        os.chmod(self.directory, 0o777)  # tinyproxy may drop privileges before writing its log
        self.process = None

    @property
    def url(self) -> str:
        return "http://%s:%d" % (PROXY_ADDRESS, self.port)

    def start(self) -> "Tinyproxy":
        self.process = subprocess.Popen(["tinyproxy", "-d", "-c", self.config_path], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection((PROXY_ADDRESS, self.port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            self.stop()
            raise RuntimeError("tinyproxy did not start on port %d" % self.port)
        # the readiness probe itself is logged as a connection: start counting after that line
        while time.monotonic() < deadline and "Connect (file descriptor" not in self._log_text():
            time.sleep(0.05)
        self.log_mark = self.log_size()
        return self

    def _log_text(self) -> str:
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as handle:
                return handle.read()
        except OSError:
            return ""

    def log_size(self) -> int:
        try:
            return os.path.getsize(self.log_path)
        except OSError:
            return 0

    def requests_since_start(self) -> str:
        """Log lines about client connections and requests since start() (none at startup)."""
        time.sleep(0.2)  # tinyproxy writes its log line after accepting
        with open(self.log_path, encoding="utf-8", errors="replace") as handle:
            handle.seek(self.log_mark)
            return "".join(line for line in handle if "Connect (file descriptor" in line or "Request (" in line)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((PROXY_ADDRESS, 0))
        return probe.getsockname()[1]


def _tinyproxy(tmp_path, basic_auth=None):
    if shutil.which("tinyproxy") is None:
        pytest.skip("tinyproxy is not installed (apt-get install -y tinyproxy; make system-deps)")
    os.makedirs(tmp_path, exist_ok=True)
    return Tinyproxy(tmp_path, basic_auth).start()


@pytest.fixture
def proxy(tmp_path):
    running = _tinyproxy(tmp_path / "open")
    yield running
    running.stop()


@pytest.fixture
def authenticated_proxy(tmp_path):
    running = _tinyproxy(tmp_path / "auth", basic_auth=(PROXY_USER, PROXY_PASSWORD))
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def no_environment_proxies(monkeypatch):
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy",
                 "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)


def test_https_through_a_proxy_tunnel(server, proxy):
    conn = plugin_connection(server, wsman_winrm_proxy=proxy.url, **https_vars(server))
    conn._connect()
    shell_id = conn.shell_id
    conn.close()
    assert_shell_gone(server, shell_id)
    assert "CONNECT %s:5986" % server["ansible_host"] in proxy.requests_since_start()


def test_pin_is_checked_through_the_tunnel(server, proxy):
    conn = plugin_connection(server, wsman_winrm_proxy=proxy.url, wsman_winrm_cert_fingerprint="11" * 32,
                             **https_vars(server))
    with pytest.raises(AnsibleConnectionFailure, match="does not match the pinned"):
        conn._connect()
    assert "CONNECT %s:5986" % server["ansible_host"] in proxy.requests_since_start()
    conn = plugin_connection(server, wsman_winrm_proxy=proxy.url, wsman_winrm_cert_fingerprint=server_sha256(server),
                             **https_vars(server))
    conn._connect()
    conn.close()


def test_proxy_credentials_in_clear_are_refused_before_any_byte(server, authenticated_proxy):
    conn = plugin_connection(server, ansible_winrm_proxy=authenticated_proxy.url,
                             wsman_winrm_proxy_username=PROXY_USER, wsman_winrm_proxy_password=PROXY_PASSWORD,
                             **https_vars(server))
    with pytest.raises(AnsibleConnectionFailure, match="in clear") as raised:
        conn._connect()
    assert PROXY_PASSWORD not in str(raised.value) and PROXY_USER not in str(raised.value)
    assert authenticated_proxy.requests_since_start() == ""


def test_https_through_an_authenticated_proxy(server, authenticated_proxy):
    # tinyproxy listens in plain HTTP: its Basic credentials cross loopback in clear, explicitly allowed here
    conn = plugin_connection(server, ansible_winrm_proxy=authenticated_proxy.url,
                             wsman_winrm_proxy_username=PROXY_USER, wsman_winrm_proxy_password=PROXY_PASSWORD,
                             wsman_winrm_allow_clear_proxy_credentials=True, **https_vars(server))
    conn._connect()
    conn.close()
    assert "CONNECT %s:5986" % server["ansible_host"] in authenticated_proxy.requests_since_start()


def test_wrong_proxy_password_fails_without_showing_it(server, authenticated_proxy):
    wrong = "Wrong-Proxy-Pa55"
    conn = plugin_connection(server, wsman_winrm_proxy="http://%s:%s@%s:%d" % (
        PROXY_USER, wrong, PROXY_ADDRESS, authenticated_proxy.port), wsman_winrm_allow_clear_proxy_credentials=True,
        **https_vars(server))
    with pytest.raises(AnsibleConnectionFailure) as raised:
        conn._connect()
    message = str(raised.value)
    assert wrong not in message and PROXY_USER not in message and PASSWORD not in message


@pytest.mark.parametrize("extra", [
    pytest.param({}, id="encrypted-http-without-opt-in"),
    pytest.param({"wsman_winrm_proxy_username": PROXY_USER, "wsman_winrm_proxy_password": PROXY_PASSWORD},
                 id="authenticated-proxy-over-http"),
    pytest.param({"ansible_winrm_transport": "basic", "wsman_winrm_allow_basic_http": True,
                  "wsman_winrm_allow_unencrypted": True}, id="unencrypted-basic"),
])
def test_http_through_a_proxy_is_refused_before_any_byte(server, proxy, extra):
    conn = plugin_connection(server, wsman_winrm_proxy=proxy.url, **http_vars(server), **extra)
    with pytest.raises(AnsibleConnectionFailure) as raised:
        conn._connect()
    assert "proxy" in str(raised.value) and PROXY_PASSWORD not in str(raised.value)
    assert conn.protocol is None
    assert proxy.requests_since_start() == ""


def test_environment_proxy_only_when_asked(server, proxy, monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    conn = plugin_connection(server, **https_vars(server))
    conn._connect()
    conn.close()
    assert proxy.requests_since_start() == ""  # ansible.builtin.winrm would have used it silently
    conn = plugin_connection(server, wsman_winrm_use_env_proxy=True, **https_vars(server))
    conn._connect()
    conn.close()
    assert "CONNECT %s:5986" % server["ansible_host"] in proxy.requests_since_start()


def test_tls_to_the_http_listener_says_so(server):
    conn = plugin_connection(server, ansible_winrm_scheme="https", ansible_port=5985)
    with pytest.raises(AnsibleConnectionFailure) as raised:
        conn._connect()
    assert "port 5985 speaks plain HTTP, not TLS" in str(raised.value)
