"""Host names resolving to given addresses, the way /etc/hosts entries would, without touching the
machine: ``install({name: address})`` in this process (kdc.names_resolve_to), or, for child Python
processes, this folder first on PYTHONPATH and WSMAN_TEST_HOSTS (JSON, name -> address) in their
environment (kdc.resolver_environment): Python then imports this module at startup. Other names
resolve as before."""
import json
import os
import socket


def install(mapping):
    """Resolve the given names to the given addresses; returns the function that undoes it."""
    wanted = {name.lower().rstrip("."): address for name, address in mapping.items()}
    original = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        key = host.decode() if isinstance(host, bytes) else host
        if isinstance(key, str) and key.lower().rstrip(".") in wanted:
            host = wanted[key.lower().rstrip(".")]
        return original(host, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo

    def uninstall():
        socket.getaddrinfo = original
    return uninstall


if os.environ.get("WSMAN_TEST_HOSTS"):
    install(json.loads(os.environ["WSMAN_TEST_HOSTS"]))
