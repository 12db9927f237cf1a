"""Where the simulated Windows Firewall takes effect: a socket filter on each listening socket.

Windows drops the SYN of a connection no inbound rule admits: the client's attempt times out, it is
not refused. The simulator does the same without touching the machine's own firewall: a classic BPF
program attached to the listening socket (``SO_ATTACH_FILTER``, no privilege needed) reads the
source address of every packet the socket would receive (``SKF_NET_OFF`` + 12: the IPv4 source)
and drops those outside the admitted ranges, SYNs included, so the kernel never completes the
handshake. Accepted connections keep the filter they were created with: a rule change applies to
the next connection, as with the firewall's established flows.
"""
from __future__ import annotations

import ctypes
import socket

SO_ATTACH_FILTER = 26
SO_DETACH_FILTER = 27
SKF_NET_OFF = -0x100000
IPV4_ALL = ((0, 2 ** 32 - 1),)
MAX_RANGES = 1000            # 3 instructions each; the kernel allows 4096

_LD_W_ABS = 0x20             # BPF_LD | BPF_W | BPF_ABS
_JGE_K = 0x35                # BPF_JMP | BPF_JGE | BPF_K
_JGT_K = 0x25                # BPF_JMP | BPF_JGT | BPF_K
_RET_K = 0x06                # BPF_RET | BPF_K
_ACCEPT, _DROP = 0xFFFFFFFF, 0


class _Instruction(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]


class _Program(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_Instruction))]


LOOPBACK = (0x7F000000, 0x7FFFFFFF)


def effective(ranges, host_address: str) -> tuple:
    """The admitted ranges as far as they can matter: a host on a loopback address is only reached
    from loopback sources, so admitting all of 127.0.0.0/8 is admitting everyone (no filter, and a
    port without a listener is refused by the kernel, as Windows refuses it)."""
    ranges = tuple(ranges)
    if not host_address.startswith("127."):
        return ranges
    low, high = LOOPBACK
    clipped = tuple((max(a, low), min(b, high)) for a, b in ranges if a <= high and b >= low)
    return IPV4_ALL if clipped == (LOOPBACK,) else clipped


def program(ranges) -> list[tuple[int, int, int, int]]:
    """The filter admitting IPv4 sources in ``ranges`` [(low, high)] and dropping every other packet."""
    ranges = list(ranges)[:MAX_RANGES]
    code = [(_LD_W_ABS, 0, 0, (SKF_NET_OFF + 12) & 0xFFFFFFFF)]
    for low, high in ranges:
        # A >= low ? next : skip to the next range;  A > high ? next range : accept
        code += [(_JGE_K, 0, 2, low), (_JGT_K, 1, 0, high), (_RET_K, 0, 0, _ACCEPT)]
    code.append((_RET_K, 0, 0, _DROP))
    return code


def admit(sock: socket.socket, ranges) -> None:
    """Let only connections from ``ranges`` reach ``sock`` (all of IPv4: no filter)."""
    ranges = tuple(ranges)
    if sock.family != socket.AF_INET:
        return  # simulated hosts listen on IPv4 loopback addresses
    if ranges == IPV4_ALL:
        try:
            sock.setsockopt(socket.SOL_SOCKET, SO_DETACH_FILTER, 0)
        except OSError:
            pass  # no filter attached
        return
    code = program(ranges)
    instructions = (_Instruction * len(code))(*[_Instruction(*c) for c in code])
    fprog = _Program(len(code), instructions)
    # The kernel copies the program during the call; ``instructions`` outlives it.
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, ctypes.string_at(ctypes.addressof(fprog),
                                                                          ctypes.sizeof(fprog)))
