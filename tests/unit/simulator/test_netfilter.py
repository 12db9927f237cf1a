"""The firewall's enforcement point: a socket filter drops the SYN of sources it does not admit."""
import ipaddress
import socket

import pytest

from winrm_sim import netfilter


def connect(port: int, source: str) -> str:
    sock = socket.socket()
    sock.settimeout(1.5)
    try:
        sock.bind((source, 0))
        sock.connect(("127.0.99.1", port))
        return "connected"
    except socket.timeout:
        return "timed out"
    except ConnectionRefusedError:
        return "refused"
    finally:
        sock.close()


@pytest.fixture
def listening():
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.99.1", 0))
    sock.listen(16)
    yield sock
    sock.close()


def test_only_admitted_sources_complete_the_handshake(listening):
    port = listening.getsockname()[1]
    admitted = int(ipaddress.ip_address("127.0.98.2"))
    netfilter.admit(listening, [(admitted, admitted + 1)])          # 127.0.98.2 - 127.0.98.3
    assert connect(port, "127.0.98.2") == "connected"
    assert connect(port, "127.0.98.3") == "connected"
    assert connect(port, "127.0.98.4") == "timed out"               # dropped, not refused
    netfilter.admit(listening, [])                                  # filtered for everyone
    assert connect(port, "127.0.98.2") == "timed out"
    netfilter.admit(listening, netfilter.IPV4_ALL)                  # no filter at all
    assert connect(port, "127.0.98.4") == "connected"


def test_the_program_has_one_range_test_per_range():
    code = netfilter.program([(1, 2), (5, 9)])
    assert len(code) == 1 + 3 * 2 + 1
    assert code[0] == (0x20, 0, 0, (netfilter.SKF_NET_OFF + 12) & 0xFFFFFFFF)   # load the IPv4 source
    assert code[-1] == (0x06, 0, 0, 0)                                          # drop what no range took
