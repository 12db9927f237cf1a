"""The session against hostile peers over real HTTP: every bad reply ends in a clear error that
names the host's URL, within a bounded time (the test's timeout) and bounded memory, and says
whether the request may have been applied (``outcome_unknown``).

The standalone hostile server speaks Basic over HTTP without encryption (the resolver would refuse
that; the session is given the endpoint directly, so only the reply handling is under test). The
on-path relay sits between the session and a simulated host on a message-encrypted NTLM session
and swaps one reply, as anyone on the network path could.
"""
from __future__ import annotations

import time
import tracemalloc
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.wsman.winrm.plugins.module_utils.endpoint import Endpoint, resolve
from ansible_collections.wsman.winrm.plugins.module_utils.wsman import (
    ConnectionFailed,
    Session,
    TimedOut,
    WSManError,
    WSManFault,
)
from hostile import HostileServer, OnPathRelay
from winrm_sim.cli import FleetProcess
from harness import base_address

PASSWORD = "Hostile-Pa55-w0rd"
CONFIG = "http://schemas.microsoft.com/wbem/wsman/1/config"

pytestmark = pytest.mark.timeout(90)


def endpoint_to(server, **overrides) -> Endpoint:
    values = dict(scheme="http", host=server.address, port=server.port, path="wsman", auth="basic",
                  username="Administrator", password=PASSWORD, encryption="never", cert_validation=False,
                  cert_fingerprint=None, client_cert_pem=None, client_key_pem=None, proxy=None, proxy_username=None,
                  proxy_password=None, connection_timeout=2, read_timeout=3, operation_timeout=1, decisions=())
    values.update(overrides)
    return Endpoint(**values)


def failure(server, operation="get", **overrides) -> tuple[WSManError, float, int]:
    """The error of one request, how long it took and the peak memory it allocated."""
    tracemalloc.start()
    started = time.monotonic()
    try:
        with Session(endpoint_to(server, **overrides)) as session:
            if operation == "get":
                session.get("winrm/config")
            elif operation == "put":
                session.put("winrm/config/client", ET.Element("{%s/client}Client" % CONFIG))
            else:
                session.enumerate("winrm/config/listener")
    except WSManError as error:
        elapsed = time.monotonic() - started
        _current, peak = tracemalloc.get_traced_memory()
        return error, elapsed, peak
    finally:
        tracemalloc.stop()
    raise AssertionError("the request succeeded against a hostile server")


def assert_clear(error: WSManError, server) -> None:
    text = str(error)
    assert server.url in text, text          # the host's URL, not only the resource URI
    assert error.hint, text                  # and what to do
    assert PASSWORD not in text and len(text) < 4000


def test_a_trickling_reply_ends_at_the_deadline():
    with HostileServer("trickle_body", interval=2.0) as server:
        error, elapsed, _peak = failure(server, "put")
    assert isinstance(error, TimedOut) and error.outcome_unknown is True
    assert "no complete reply within 8 seconds" in str(error), str(error)   # connect 2 s + read max(3, 1 + 5) s
    assert_clear(error, server)
    print("trickle ended after %.1f s" % elapsed)


def test_a_trickling_status_line_ends_at_the_deadline():
    with HostileServer("trickle_head", interval=0.5) as server:
        error, _elapsed, _peak = failure(server)
    assert isinstance(error, TimedOut) and error.outcome_unknown is True
    assert_clear(error, server)


def test_a_reply_dropped_half_way():
    with HostileServer("drop_mid_reply") as server:
        error, _elapsed, _peak = failure(server, "put")
    assert isinstance(error, ConnectionFailed) and error.outcome_unknown is True
    assert "closed the connection before its reply was complete" in str(error)
    assert_clear(error, server)


def test_broken_chunked_encoding():
    with HostileServer("broken_chunks") as server:
        error, _elapsed, _peak = failure(server, "put")
    assert error.outcome_unknown is True
    assert "http://schemas.microsoft.com/wbem/wsman/1/config failed" not in str(error)
    assert_clear(error, server)


def test_a_megabyte_fault_is_cut_and_scrubbed_quickly():
    with HostileServer("huge_fault", fault_text="the password %s is wrong " % PASSWORD) as server:
        error, elapsed, _peak = failure(server)
    assert isinstance(error, WSManFault) and error.code == 5 and error.outcome_unknown is False
    assert "more characters cut" in error.message and len(error.message) < 2100
    assert PASSWORD not in str(error)
    print("1 MiB fault handled in %.2f s" % elapsed)


def test_a_500_that_is_not_a_fault():
    with HostileServer("html_500") as server:
        error, _elapsed, _peak = failure(server, "put")
    assert not isinstance(error, WSManFault) and error.outcome_unknown is True
    assert "answered HTTP 500 without a WS-Management fault" in str(error)
    assert_clear(error, server)


def test_truncated_xml():
    with HostileServer("truncated_xml") as server:
        error, _elapsed, _peak = failure(server, "put")
    assert error.outcome_unknown is True and "unexpected reply from" in str(error)
    assert_clear(error, server)


def test_an_endless_enumeration_names_the_host():
    with HostileServer("endless_enumeration") as server:
        error, _elapsed, _peak = failure(server, "enumerate")
    assert "did not end after 1000 pulls" in str(error)
    assert_clear(error, server)
    assert len(server.requests) == 1001


def test_a_gigabyte_reply_is_refused_in_bounded_memory():
    with HostileServer("huge_body") as server:
        error, _elapsed, peak = failure(server)
    assert "larger than 8 MiB" in str(error) and error.outcome_unknown is True
    assert peak < 64 * 1024 * 1024, peak
    assert_clear(error, server)


def test_entity_expansion_is_refused_unread():
    with HostileServer("billion_laughs") as server:
        error, _elapsed, peak = failure(server)
    assert "document type declaration" in str(error)
    assert peak < 16 * 1024 * 1024, peak
    assert_clear(error, server)


# -- on-path tampering with a message-encrypted session ------------------------------------------------

@pytest.fixture(scope="module")
def host(tmp_path_factory):
    state_dir = tmp_path_factory.mktemp("sim-hostile")
    base = base_address(25)
    with FleetProcess(str(state_dir), hosts=1, profiles="server2022", base_address=base,
                      password=PASSWORD) as running:
        name, host_vars = sorted(running.hosts().items())[0]
        yield host_vars


def relayed_session(relay) -> Session:
    endpoint = resolve({"ansible_host": relay.address, "ansible_port": relay.port, "ansible_winrm_scheme": "http",
                        "ansible_user": "Administrator", "ansible_password": PASSWORD,
                        "ansible_winrm_transport": "ntlm", "wsman_winrm_trusted_hosts": relay.address}, "winrm")
    assert endpoint.encryption == "always"
    return Session(endpoint)


@pytest.mark.parametrize("tamper", ["plain_fault", "plain_ok"])
def test_an_unencrypted_reply_on_an_encrypted_session_is_not_the_hosts_answer(host, tamper):
    with OnPathRelay((host["ansible_host"], 5985), tamper, after=2) as relay:
        with relayed_session(relay) as session:
            session.get("winrm/config")                      # encrypted request 1: relayed untouched
            with pytest.raises(WSManError) as info:
                session.get("winrm/config/service")          # encrypted request 2: the reply is swapped
    error = info.value
    assert relay.tampered == 1
    assert not isinstance(error, WSManFault)                 # never "code 5 ... lacks rights in RootSDDL"
    assert error.code is None and error.outcome_unknown is True
    assert "unencrypted reply" in str(error) and relay.url in str(error)


def test_a_bogus_encrypted_reply(host):
    with OnPathRelay((host["ansible_host"], 5985), "bogus_multipart", after=2) as relay:
        with relayed_session(relay) as session:
            session.get("winrm/config")
            with pytest.raises(WSManError) as info:
                session.get("winrm/config/service")
    error = info.value
    assert "cannot be decrypted" in str(error) and error.outcome_unknown is True
    assert relay.url in str(error) and "could not authenticate" not in str(error)


# -- the same through the connection plugin (pywinrm) -----------------------------------------------------

def plugin_connection(address: str, port: int, **variables):
    from ansible.playbook.play_context import PlayContext
    from ansible.plugins.loader import connection_loader

    conn = connection_loader.get("wsman.winrm.winrm", PlayContext(), None)
    conn.set_options(var_options={"inventory_hostname": "hostile", "ansible_host": address, "ansible_port": port,
                                  "ansible_winrm_scheme": "http", "ansible_user": "Administrator",
                                  "ansible_password": PASSWORD, "wsman_winrm_trusted_hosts": address,
                                  "_extras": {}, **variables})
    return conn


def test_the_connection_plugin_refuses_an_unencrypted_reply(host):
    from ansible.errors import AnsibleConnectionFailure

    with OnPathRelay((host["ansible_host"], 5985), "plain_fault", after=1) as relay:
        conn = plugin_connection(relay.address, relay.port, ansible_winrm_transport="ntlm")
        with pytest.raises(AnsibleConnectionFailure) as raised:
            conn._connect()                                  # the shell's Create is the first encrypted request
    assert relay.tampered == 1
    assert "got an unencrypted reply (HTTP 500" in str(raised.value)
    assert "Access is denied" not in str(raised.value) and PASSWORD not in str(raised.value)


def test_the_connection_plugin_ends_a_trickling_reply_at_its_deadline():
    from ansible.errors import AnsibleConnectionFailure

    with HostileServer("trickle_body", interval=2.0) as server:
        conn = plugin_connection(server.address, server.port, ansible_winrm_transport="basic",
                                 wsman_winrm_allow_basic_http=True, wsman_winrm_allow_unencrypted=True,
                                 ansible_winrm_read_timeout_sec=3, ansible_winrm_operation_timeout_sec=2)
        with pytest.raises(AnsibleConnectionFailure) as raised:
            conn._connect()
    assert "no complete reply within 6 seconds" in str(raised.value)
