"""winrm_sim: a simulator of the WinRM (WS-Management) service of Windows hosts.

The transport (``server``, ``auth``, ``pki``, ``cli``) serves HTTP/HTTPS on loopback addresses; the
engine (``host``, ``engine``, ``faults``, ``profiles``) answers the WS-Management requests.
"""
__version__ = "0.1.0"
