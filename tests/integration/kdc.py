"""A throw-away MIT Kerberos KDC on loopback for the integration tests (Debian's krb5-kdc).

Everything lives in one temporary directory: krb5.conf, kdc.conf, the database, the keytab and
the KDC's log. Nothing outside it is read or written: ``KRB5_CONFIG`` and ``KRB5_KDC_PROFILE``
point every MIT tool at the files here, so the machine's /etc/krb5.conf is ignored.

    kdc = TestKDC(tmp_dir, hosts=["SIM-2022-01"])   # host/, HTTP/ and WSMAN/ SPNs per host
    with kdc:                                        # creates the realm, starts krb5kdc -n
        os.environ.update(kdc.client_env())          # KRB5_CONFIG, KRB5CCNAME for clients
        kdc.kinit()                                  # optional: a ticket in the FILE ccache

Host names need no DNS: ``names_resolve_to`` maps ``<name>.<suffix>`` to the simulated hosts'
loopback addresses inside this process (requests/urllib3 resolve through ``socket.getaddrinfo``),
and krb5.conf turns off every DNS lookup of the Kerberos library.
"""
from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time

KDC_BINARIES = ("krb5kdc", "kdb5_util", "kadmin.local", "kinit")
# Where Debian puts them; a non-root PATH usually lacks /usr/sbin.
_SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])

# A domain computer's SPNs that WinRM clients ask for: host/ (every computer account; pypsrp's
# default service), HTTP/ (pywinrm; AD maps it to host/) and WSMAN/ (registered by WinRM). MIT
# principal names are case-sensitive (AD's are not): these are the spellings clients send.
SERVICE_CLASSES = ("host", "HTTP", "WSMAN")


def missing_binaries() -> list[str]:
    """The MIT Kerberos programs that are not installed (``make system-deps`` installs them)."""
    return [name for name in KDC_BINARIES if shutil.which(name, path=_SEARCH_PATH) is None]


def _binary(name: str) -> str:
    path = shutil.which(name, path=_SEARCH_PATH)
    if path is None:
        raise FileNotFoundError(f"{name} is not installed (Debian: krb5-kdc, krb5-admin-server, krb5-user)")
    return path


def _free_port() -> int:
    """A port free for both TCP and UDP on 127.0.0.1 (the KDC serves both)."""
    for _attempt in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = tcp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port for the KDC")


class TestKDC:
    """An MIT KDC for realm ``realm`` with a user and the WinRM SPNs of each simulated host."""

    __test__ = False        # not a pytest test class despite the name

    def __init__(self, work_dir: str, hosts: list[str] = (), realm: str = "WSMAN.TEST",
                 domain_suffix: str | None = None, user: str = "ansible", password: str | None = None):
        self.work_dir = os.path.abspath(work_dir)
        self.realm = realm.upper()
        self.domain_suffix = (domain_suffix or realm).lower()
        self.hosts = list(hosts)
        self.user = user
        self.password = password or f"Kdc-{secrets.token_urlsafe(12)}"
        self.port = 0
        self.process: subprocess.Popen | None = None
        self.krb5_conf = os.path.join(self.work_dir, "krb5.conf")
        self.kdc_conf = os.path.join(self.work_dir, "kdc.conf")
        self.keytab = os.path.join(self.work_dir, "wsman.keytab")
        self.ccache = os.path.join(self.work_dir, "ccache")
        self.log_path = os.path.join(self.work_dir, "kdc.log")

    # -- names

    @property
    def user_principal(self) -> str:
        return f"{self.user}@{self.realm}"

    def fqdn(self, host_name: str) -> str:
        return f"{host_name.lower()}.{self.domain_suffix}"

    def service_principals(self, host_name: str) -> list[str]:
        return [f"{service}/{self.fqdn(host_name)}@{self.realm}" for service in SERVICE_CLASSES]

    # -- environment

    def server_env(self) -> dict[str, str]:
        """What every MIT tool (and the KDC) needs to use this realm and nothing else."""
        return {"KRB5_CONFIG": self.krb5_conf, "KRB5_KDC_PROFILE": self.kdc_conf}

    def client_env(self) -> dict[str, str]:
        """For Kerberos clients in this process or children: this realm, a private ticket cache."""
        return {"KRB5_CONFIG": self.krb5_conf, "KRB5CCNAME": f"FILE:{self.ccache}"}

    # -- lifecycle

    def start(self) -> "TestKDC":
        missing = missing_binaries()
        if missing:
            raise FileNotFoundError(f"MIT Kerberos programs missing: {', '.join(missing)}")
        os.makedirs(self.work_dir, exist_ok=True)
        self.port = _free_port()
        self._write_configs()
        master_password = secrets.token_urlsafe(24)
        self._run([_binary("kdb5_util"), "create", "-s", "-r", self.realm, "-P", master_password])
        self.add_user(self.user, self.password)
        for host in self.hosts:
            self.add_host(host)
        log = open(self.log_path + ".stderr", "ab")
        try:
            self.process = subprocess.Popen([_binary("krb5kdc"), "-n", "-r", self.realm],
                                            env=self._env(), stdin=subprocess.DEVNULL,
                                            stdout=log, stderr=log)
        finally:
            log.close()
        self._wait_listening()
        return self

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None

    def __enter__(self) -> "TestKDC":
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- principals

    def add_user(self, name: str, password: str) -> str:
        principal = f"{name}@{self.realm}"
        self.kadmin(f"addprinc -pw {password} {principal}")
        return principal

    def add_host(self, host_name: str) -> list[str]:
        """The computer's SPNs with random keys, added to the keytab the simulator reads."""
        principals = self.service_principals(host_name)
        for principal in principals:
            self.kadmin(f"addprinc -randkey {principal}")
        self.kadmin(f"ktadd -k {self.keytab} {' '.join(principals)}")
        if host_name not in self.hosts:
            self.hosts.append(host_name)
        return principals

    def kadmin(self, query: str) -> str:
        return self._run([_binary("kadmin.local"), "-r", self.realm, "-q", query])

    def kinit(self, principal: str | None = None, password: str | None = None) -> str:
        """A TGT in this KDC's FILE ccache (for clients that only read a cache, like pywinrm)."""
        principal = principal or self.user_principal
        password = self.password if password is None else password
        env = dict(self._env(), KRB5CCNAME=f"FILE:{self.ccache}")
        subprocess.run([_binary("kinit"), principal], input=password + "\n", text=True, env=env,
                       check=True, capture_output=True, timeout=30)
        return self.ccache

    # -- helpers

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(self.server_env())
        return env

    def _run(self, command: list[str]) -> str:
        completed = subprocess.run(command, env=self._env(), capture_output=True, text=True, timeout=60,
                                   stdin=subprocess.DEVNULL, check=False)
        if completed.returncode != 0:
            raise RuntimeError(f"{' '.join(command[:2])} failed ({completed.returncode}): "
                               f"{completed.stderr.strip() or completed.stdout.strip()}")
        return completed.stdout

    def _wait_listening(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"krb5kdc exited with {self.process.returncode}: {self._log_tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"krb5kdc did not listen on 127.0.0.1:{self.port}: {self._log_tail()}")

    def _log_tail(self) -> str:
        text = ""
        for path in (self.log_path, self.log_path + ".stderr"):
            if os.path.exists(path):
                with open(path, encoding="utf-8", errors="replace") as handle:
                    text += handle.read()[-2000:]
        return text

    def _write_configs(self) -> None:
        realm, port, work = self.realm, self.port, self.work_dir
        # No DNS anywhere: KDC by address, no hostname canonicalisation or reverse lookups (the
        # SPN is built from the name the client was given, as Windows clients do).
        krb5_conf = f"""[libdefaults]
    default_realm = {realm}
    dns_lookup_kdc = false
    dns_lookup_realm = false
    dns_canonicalize_hostname = false
    rdns = false
    forwardable = true
    udp_preference_limit = 1

[realms]
    {realm} = {{
        kdc = 127.0.0.1:{port}
    }}

[domain_realm]
    .{self.domain_suffix} = {realm}
    {self.domain_suffix} = {realm}

[logging]
    kdc = FILE:{self.log_path}
"""
        kdc_conf = f"""[kdcdefaults]
    kdc_listen = 127.0.0.1:{port}
    kdc_tcp_listen = 127.0.0.1:{port}

[realms]
    {realm} = {{
        database_name = {work}/principal
        key_stash_file = {work}/stash
        acl_file = {work}/kadm5.acl
        admin_keytab = {work}/kadm5.keytab
        kdc_listen = 127.0.0.1:{port}
        kdc_tcp_listen = 127.0.0.1:{port}
        max_life = 10h 0m 0s
        supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
    }}

[logging]
    kdc = FILE:{self.log_path}
"""
        for path, text in ((self.krb5_conf, krb5_conf), (self.kdc_conf, kdc_conf)):
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(text)
        with open(os.path.join(work, "kadm5.acl"), "w", encoding="utf-8") as handle:
            handle.write("")


_HOSTNAMES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hostnames")


def _hostnames_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("wsman_test_hostnames", os.path.join(_HOSTNAMES, "sitecustomize.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def names_resolve_to(mapping: dict[str, str]):
    """Resolve the given host names to the given addresses inside this process, the way an
    /etc/hosts entry would, without touching the machine. Other names resolve as before."""
    uninstall = _hostnames_module().install(mapping)
    try:
        yield
    finally:
        uninstall()


def resolver_environment(mapping: dict[str, str]) -> dict[str, str]:
    """Environment for child Python processes (ansible-playbook and its workers) in which the given
    names resolve to the given addresses, as ``names_resolve_to`` does in this process (the
    ``hostnames/sitecustomize.py`` module, first on PYTHONPATH). Nothing on the machine changes."""
    import json

    path = os.pathsep.join(p for p in (_HOSTNAMES, os.environ.get("PYTHONPATH", "")) if p)
    return {"PYTHONPATH": path, "WSMAN_TEST_HOSTS": json.dumps(mapping)}
