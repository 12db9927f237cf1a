"""Helpers of the WS-Management engine tests (a unique module name: ``conftest`` may resolve to
another folder's conftest when pytest collects several folders): a SimHost driven by pypsrp's own
WSMan client.

pypsrp builds and parses the real envelopes; only its HTTP transport is replaced by a function
that hands the bytes to ``SimHost.handle()`` and turns a non-200 status into the same
WinRMTransportError the requests-based transport raises.
"""
import os

import pytest
from pypsrp.exceptions import WinRMTransportError
from pypsrp.wsman import WSMan

from winrm_sim.host import Principal, SimHost
from winrm_sim.pki import PKI

ACCOUNTS = {
    "Administrator": {"password": "Adm1n!Passw0rd", "admin": True, "groups": ["Administrators"]},
    "localadmin": {"password": "L0cal!Adm1n", "admin": True, "groups": ["Administrators"]},
    "operator": {"password": "0perator!", "admin": False, "groups": ["Remote Management Users"]},
    "plain": {"password": "Pla1n!user", "admin": False, "groups": ["Users"]},
}
ADMIN = Principal(user="Administrator", auth="negotiate", transport="http", encrypted=True)


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    return PKI(str(tmp_path_factory.mktemp("pki")))


@pytest.fixture
def make_host(pki, tmp_path):
    def factory(profile="server2022", name="SIM-2022-01", address="127.0.10.1", state_dir=None):
        directory = state_dir or str(tmp_path)
        store = pki.host_store(name, address)
        return SimHost(name, address, profile, os.path.join(directory, f"{name}.json"), store, ACCOUNTS)
    return factory


@pytest.fixture
def host(make_host):
    return make_host()


class Client(WSMan):
    """pypsrp's WSMan whose transport calls the engine directly."""

    def __init__(self, sim_host, principal=ADMIN, **kwargs):
        super().__init__(sim_host.name, port=5985, ssl=False, auth="basic", username="u", password="p",
                         encryption="never", **kwargs)
        self.sim_host = sim_host
        self.principal = principal
        self.last_status = None
        self.last_reply = None

        def send(message, **_kwargs):
            status, reply = sim_host.handle(message, self.principal)
            self.last_status, self.last_reply = status, reply
            if status != 200:
                raise WinRMTransportError("http", status, reply.decode("utf-8"))
            return reply

        self.transport.send = send


@pytest.fixture
def client(host):
    return Client(host)
