"""The endpoint resolver: one table, one row per rule (docs/endpoint-resolution.md)."""
from __future__ import annotations

import dataclasses

import pytest

from ansible_collections.wsman.winrm.plugins.module_utils.endpoint import (
    VARIABLES,
    Endpoint,
    EndpointError,
    resolve,
)

SECRET = "Pa55-w0rd-never-shown"
PROXY_SECRET = "Pr0xy-s3cret-never-shown"
PROXY_USER = "proxy-user-never-shown"

USER = {"ansible_user": "EXAMPLE\\admin", "ansible_password": SECRET}
TRUST_ALL_LAB = {"wsman_winrm_trusted_hosts": "*.lab.example.com, 192.168.1.*"}
HTTP = {"ansible_winrm_scheme": "http"}
BASIC_HTTP_ALLOWED = {"wsman_winrm_allow_basic_http": True, "wsman_winrm_allow_unencrypted": "yes"}
FINGERPRINT = "ab:cd:" + "ef" * 30
PROXY_WITH_CREDENTIALS = "https://%s:%s@proxy.example.com:3128" % (PROXY_USER, PROXY_SECRET)
CLEAR_PROXY_WITH_CREDENTIALS = "http://%s:%s@proxy.example.com:3128" % (PROXY_USER, PROXY_SECRET)


def row(case_id, host_vars, connection=None, url=None, auth=None, encryption=None, error=None, decision=None,
        **fields):
    """One case: expected url/auth/encryption or an error substring; ``decision`` is a substring of one decision."""
    merged = dict(USER)
    merged.update(host_vars)
    merged = {k: v for k, v in merged.items() if v is not None}
    return pytest.param(merged, connection, url, auth, encryption, error, decision, fields, id=case_id)


CASES = [
    # --- computer names: client DefaultPorts (Microsoft's secure port configuration page) ----------
    row("name-default-https", {"ansible_host": "win1.example.com"},
        url="https://win1.example.com:5986/wsman", auth="negotiate", encryption="auto",
        decision="HTTPS is the safe default", cert_validation=True),
    row("name-inventory-hostname", {"inventory_hostname": "win2.example.com"},
        url="https://win2.example.com:5986/wsman"),
    row("name-http-5985-kerberos", {"ansible_host": "win1.example.com", "ansible_winrm_transport": "kerberos", **HTTP},
        url="http://win1.example.com:5985/wsman", auth="kerberos", encryption="always",
        decision="mutual authentication"),
    row("name-use-ssl-false", {"ansible_host": "win1.example.com", "wsman_winrm_use_ssl": False,
                               "wsman_winrm_auth": "kerberos"},
        url="http://win1.example.com:5985/wsman"),
    row("name-use-ssl-true", {"ansible_host": "win1.example.com", "wsman_winrm_use_ssl": "true"},
        url="https://win1.example.com:5986/wsman"),
    row("scheme-contradicts-use-ssl", {"ansible_host": "w", "wsman_winrm_use_ssl": True, **HTTP},
        error="contradicts"),
    row("explicit-port-wins", {"ansible_host": "win1", "ansible_port": "8443"}, url="https://win1:8443/wsman"),
    row("winrm-port-beats-ansible-port", {"ansible_host": "win1", "ansible_port": 1, "ansible_winrm_port": 8443},
        connection="winrm", url="https://win1:8443/wsman"),
    row("wsman-option-wins", {"ansible_host": "win1", "ansible_winrm_port": 8443, "wsman_winrm_port": 9443},
        url="https://win1:9443/wsman"),
    row("bad-port", {"ansible_host": "win1", "ansible_port": 70000}, error="between 1 and 65535"),
    row("bad-scheme", {"ansible_host": "win1", "ansible_winrm_scheme": "ftp"}, error="http or https"),
    row("client-default-ports-declared-https", {"ansible_host": "win1",
                                                "wsman_winrm_default_ports": {"http": 8985, "https": 8986}},
        url="https://win1:8986/wsman", decision="DefaultPorts"),
    row("client-default-ports-declared-http", {"ansible_host": "win1", "wsman_winrm_auth": "kerberos",
                                               "wsman_winrm_default_ports": {"http": 8985}, **HTTP},
        url="http://win1:8985/wsman"),
    row("client-default-ports-bad", {"ansible_host": "win1", "wsman_winrm_default_ports": {"ftp": 21}},
        error="mapping like"),
    row("path-variable", {"ansible_host": "win1", "ansible_winrm_path": "/custom/"}, url="https://win1:5986/custom"),
    row("psrp-path", {"ansible_host": "win1", "ansible_psrp_path": "psrp"}, connection="psrp",
        url="https://win1:5986/psrp"),
    # --- legacy WinRM 1.1 hosts: only by explicit choice -------------------------------------------------
    row("legacy-ports-https", {"ansible_host": "old1", "wsman_winrm_legacy_ports": True},
        url="https://old1:443/wsman", decision="legacy WinRM 1.1"),
    row("legacy-ports-http", {"ansible_host": "old1.example.com", "wsman_winrm_legacy_ports": True,
                              "wsman_winrm_auth": "kerberos", **HTTP},
        url="http://old1.example.com:80/wsman"),
    row("legacy-explicit-port-wins", {"ansible_host": "old1", "wsman_winrm_legacy_ports": True, "ansible_port": 8080},
        url="https://old1:8080/wsman", decision="it wins over"),
    row("legacy-beats-declared-defaults", {"ansible_host": "old1", "wsman_winrm_legacy_ports": True,
                                           "wsman_winrm_default_ports": {"https": 8986}},
        url="https://old1:443/wsman"),
    # mixed environments (Microsoft's secure port configuration page): client 2.0 -> server 1.1 needs explicit 80/443 or a URI
    row("mixed-client20-server11-explicit-port", {"ansible_host": "old1", "ansible_port": 80, **HTTP,
                                                  "wsman_winrm_auth": "kerberos"},
        url="http://old1:80/wsman"),
    row("mixed-client20-server11-uri", {"ansible_host": "old1", "wsman_winrm_connection_uri": "https://old1/wsman"},
        url="https://old1:443/wsman"),
    row("mixed-client20-server11-plain-name-uses-5986", {"ansible_host": "old1"},
        url="https://old1:5986/wsman", decision="needs wsman_winrm_legacy_ports"),
    # new server, old client defaults 80/443 declared as the client's DefaultPorts
    row("mixed-old-client-defaults-declared", {"ansible_host": "new1",
                                               "wsman_winrm_default_ports": {"http": 80, "https": 443}},
        url="https://new1:443/wsman"),
    # --- connection URIs: 80/443 unless a port is in the URI -------------------------------------------
    row("uri-http-80", {"ansible_host": "http://win1.example.com/wsman", "wsman_winrm_auth": "kerberos"},
        url="http://win1.example.com:80/wsman", decision="connection URI default"),
    row("uri-https-443", {"wsman_winrm_connection_uri": "https://win1.example.com/wsman"},
        url="https://win1.example.com:443/wsman"),
    row("uri-with-port", {"wsman_winrm_connection_uri": "https://Win1.Example.com:5986/wsman"},
        url="https://Win1.Example.com:5986/wsman"),
    row("uri-ipv6", {"wsman_winrm_connection_uri": "https://[fe80::1]:5986/wsman"},
        url="https://[fe80::1]:5986/wsman", auth="ntlm"),
    row("uri-custom-path", {"wsman_winrm_connection_uri": "https://win1/other"}, url="https://win1:443/other"),
    row("uri-no-path", {"wsman_winrm_connection_uri": "https://win1"}, url="https://win1:443/wsman"),
    row("uri-plus-contradicting-port", {"wsman_winrm_connection_uri": "https://win1/wsman", "ansible_port": 5986},
        error="contradicts the connection URI"),
    row("uri-plus-same-port", {"wsman_winrm_connection_uri": "https://win1/wsman", "ansible_port": 443},
        url="https://win1:443/wsman"),
    row("uri-plus-contradicting-scheme", {"wsman_winrm_connection_uri": "https://win1/wsman", **HTTP},
        error="contradicts the connection URI scheme"),
    row("uri-plus-contradicting-use-ssl", {"wsman_winrm_connection_uri": "http://win1/wsman",
                                           "wsman_winrm_use_ssl": True},
        error="contradicts the connection URI scheme"),
    row("uri-plus-contradicting-path", {"wsman_winrm_connection_uri": "https://win1/wsman",
                                        "ansible_winrm_path": "/other"},
        error="contradicts the connection URI path"),
    row("uri-bad-scheme", {"wsman_winrm_connection_uri": "ftp://win1/wsman"}, error="not a valid connection URI"),
    row("uri-with-credentials", {"wsman_winrm_connection_uri": "https://bob:%s@win1/wsman" % SECRET},
        error="not in the connection URI"),
    # --- peers.md: where ansible.builtin.winrm goes wrong today ------------------------------------------
    row("peer-scheme-http-gives-5985", {"ansible_host": "win1.example.com", "wsman_winrm_auth": "kerberos", **HTTP},
        connection="ansible.builtin.winrm", url="http://win1.example.com:5985/wsman"),
    row("peer-port-80-no-scheme-keeps-default-scheme", {"ansible_host": "win1", "ansible_port": 80},
        connection="ansible.builtin.winrm", url="https://win1:80/wsman",
        decision="does not choose the scheme"),
    row("peer-port-80-with-scheme-http", {"ansible_host": "win1.example.com", "ansible_port": 80,
                                          "ansible_winrm_transport": ["kerberos"], **HTTP},
        connection="ansible.builtin.winrm", url="http://win1.example.com:80/wsman"),
    row("peer-port-5985-no-scheme-is-http", {"ansible_host": "win1.example.com", "ansible_port": 5985},
        connection="winrm", url="http://win1.example.com:5985/wsman", auth="kerberos", encryption="always",
        decision="choose http for it when no scheme is given"),
    row("peer-psrp-port-5985-no-scheme-is-http", {"ansible_host": "win1.example.com", "ansible_psrp_port": "5985",
                                                  "wsman_winrm_trusted_hosts": "*.example.com"},
        connection="ansible.builtin.psrp", url="http://win1.example.com:5985/wsman", auth="negotiate"),
    row("peer-port-5985-explicit-https-wins", {"ansible_host": "win1", "ansible_port": 5985,
                                               "ansible_winrm_scheme": "https"},
        url="https://win1:5985/wsman"),
    row("peer-port-8080-not-guessed", {"ansible_host": "win1", "ansible_port": 8080}, url="https://win1:8080/wsman"),
    row("peer-upn-no-auth-is-negotiate", {"ansible_host": "win1", "ansible_user": "admin@EXAMPLE.COM"},
        connection="ansible.builtin.winrm", auth="negotiate", decision="Basic is never guessed"),
    row("peer-backslash-user-is-negotiate", {"ansible_host": "win1", "ansible_user": "EXAMPLE\\admin"},
        auth="negotiate", decision="names a domain"),
    row("peer-local-user-no-auth-not-basic", {"ansible_host": "win1", "ansible_user": "Administrator"},
        auth="negotiate"),
    row("ipv6-bracketed", {"ansible_host": "2001:db8::10"}, url="https://[2001:db8::10]:5986/wsman", auth="ntlm",
        host="2001:db8::10"),
    row("ipv6-bracketed-input", {"ansible_host": "[::1]"}, url="https://[::1]:5986/wsman", host="::1"),
    row("host-with-port-refused", {"ansible_host": "win1:5986"}, error="give the port in ansible_port"),
    row("no-host", {}, error="no host"),
    # --- auth: transports, Kerberos never to an IP -------------------------------------------------------
    row("transport-list-first-supported", {"ansible_host": "win1", "ansible_winrm_transport": "magic, ntlm, basic"},
        auth="ntlm", decision="skipped unsupported magic"),
    row("transport-list-yaml", {"ansible_host": "win1", "ansible_winrm_transport": ["credssp", "ntlm"]},
        auth="credssp"),
    row("transport-none-supported", {"ansible_host": "win1", "ansible_winrm_transport": "magic"},
        error="no supported auth"),
    row("transport-ssl-is-basic", {"ansible_host": "win1", "ansible_winrm_transport": "ssl"}, auth="basic",
        encryption="auto"),
    row("psrp-auth", {"ansible_host": "win1", "ansible_psrp_auth": "kerberos"}, connection="psrp", auth="kerberos"),
    row("psrp-ignores-winrm-transport", {"ansible_host": "win1", "ansible_winrm_transport": "basic"},
        connection="ansible.builtin.psrp", auth="negotiate"),
    row("winrm-ignores-psrp-vars", {"ansible_host": "win1", "ansible_psrp_port": 1234}, connection="winrm",
        url="https://win1:5986/wsman"),
    row("none-connection-reads-psrp", {"ansible_host": "win1", "ansible_psrp_port": 1234},
        url="https://win1:1234/wsman"),
    row("negotiate-to-ipv4-is-ntlm", {"ansible_host": "192.0.2.10"}, auth="ntlm",
        decision="Kerberos is not attempted"),
    row("kerberos-to-ip-refused", {"ansible_host": "192.0.2.10", "ansible_winrm_transport": "kerberos"},
        error="Kerberos cannot be used with an IP address"),
    row("kerberos-to-ipv6-refused", {"ansible_host": "fe80::1%eth0", "wsman_winrm_auth": "kerberos"},
        error="Kerberos cannot be used with an IP address"),
    # --- NTLM / Negotiate / Basic over HTTP: TrustedHosts ------------------------------------------------
    row("ntlm-http-untrusted", {"ansible_host": "win1.example.com", "wsman_winrm_auth": "ntlm", **HTTP},
        error='Use HTTPS with a CA-issued certificate; or connect by computer name with a domain account (Kerberos); '
              'or add the host to wsman_winrm_trusted_hosts, for example for the whole group '
              '(group_vars/windows.yml): wsman_winrm_trusted_hosts: "*.example.com"'),
    row("negotiate-ip-http-untrusted", {"ansible_host": "10.1.1.1", **HTTP},
        error='wsman_winrm_trusted_hosts: "10.1.1.*"'),
    # the WinRM client's choice: Negotiate to an untrusted computer name over HTTP is Kerberos only
    row("negotiate-name-http-untrusted-is-kerberos", {"ansible_host": "win1.example.com", **HTTP},
        url="http://win1.example.com:5985/wsman", auth="kerberos", encryption="always",
        decision="Negotiate to a computer name over HTTP uses Kerberos only"),
    row("negotiate-name-http-domain-inventory", {"ansible_host": "win1.corp.example.com", "ansible_port": 5985,
                                                 "ansible_user": "ansible@CORP.EXAMPLE.COM"},
        connection="winrm", url="http://win1.corp.example.com:5985/wsman", auth="kerberos", encryption="always",
        decision='wsman_winrm_trusted_hosts: "*.corp.example.com"'),
    row("negotiate-name-http-backslash-user-is-warned", {"ansible_host": "win1.example.com", **HTTP},
        auth="kerberos", decision="prefer user@REALM"),
    row("negotiate-name-http-local-user-is-kerberos-too", {"ansible_host": "win1", "ansible_user": "Administrator",
                                                           **HTTP},
        auth="kerberos", decision="For NTLM (local accounts, workgroups) add the host"),
    row("negotiate-name-http-trusted-keeps-negotiate", {"ansible_host": "win1.example.com",
                                                        "wsman_winrm_trusted_hosts": "*.example.com", **HTTP},
        auth="negotiate", encryption="always"),
    row("negotiate-single-label-example", {"ansible_host": "10.0.0.5", "wsman_winrm_auth": "credssp", **HTTP},
        error='wsman_winrm_trusted_hosts: "10.0.0.*"'),
    row("ntlm-http-trusted-wildcard-domain", {"ansible_host": "Web1.LAB.example.com", "wsman_winrm_auth": "ntlm",
                                              **TRUST_ALL_LAB, **HTTP},
        url="http://Web1.LAB.example.com:5985/wsman", auth="ntlm", encryption="always",
        decision="is trusted by '*.lab.example.com'"),
    row("ntlm-http-trusted-ip-wildcard", {"ansible_host": "192.168.1.20", **TRUST_ALL_LAB, **HTTP},
        auth="ntlm", encryption="always"),
    row("ntlm-http-ip-wildcard-no-match", {"ansible_host": "192.168.10.20", **TRUST_ALL_LAB, **HTTP},
        error="trusted_hosts"),
    row("ntlm-http-trusted-list", {"ansible_host": "win9", "wsman_winrm_trusted_hosts": ["other", "WIN9"], **HTTP},
        auth="negotiate", encryption="always"),
    row("ntlm-http-trusted-star", {"ansible_host": "anything", "wsman_winrm_trusted_hosts": "*", **HTTP},
        decision="'*' trusts every host"),
    row("credssp-http-untrusted", {"ansible_host": "win1", "wsman_winrm_auth": "credssp", **HTTP},
        error="CredSSP"),
    row("ntlm-https-needs-no-trust", {"ansible_host": "win1", "wsman_winrm_auth": "ntlm"}, auth="ntlm",
        url="https://win1:5986/wsman"),
    # --- Basic over HTTP: two explicit switches ----------------------------------------------------------
    row("basic-http-refused", {"ansible_host": "win1", "ansible_winrm_transport": "basic", **HTTP},
        error="Basic auth over HTTP is refused"),
    row("basic-plaintext-http-refused", {"ansible_host": "win1", "ansible_winrm_transport": "plaintext", **HTTP},
        error="Basic auth over HTTP is refused"),
    row("basic-http-one-switch", {"ansible_host": "win1", "ansible_winrm_transport": "basic",
                                  "wsman_winrm_allow_basic_http": True, **HTTP},
        error="also set wsman_winrm_allow_unencrypted"),
    row("basic-http-both-switches-untrusted", {"ansible_host": "win1", "ansible_winrm_transport": "basic",
                                               **BASIC_HTTP_ALLOWED, **HTTP},
        error="trusted_hosts"),
    row("basic-http-both-switches-trusted", {"ansible_host": "win1", "ansible_winrm_transport": "basic",
                                             "wsman_winrm_trusted_hosts": "win1", **BASIC_HTTP_ALLOWED, **HTTP},
        url="http://win1:5985/wsman", auth="basic", encryption="never", decision="UNENCRYPTED"),
    row("basic-https-fine", {"ansible_host": "win1", "ansible_winrm_transport": "basic"}, auth="basic",
        encryption="auto"),
    # --- message encryption ----------------------------------------------------------------------------
    row("encryption-never-http-refused", {"ansible_host": "win1", "wsman_winrm_auth": "kerberos",
                                          "ansible_winrm_message_encryption": "never", **HTTP},
        error="unencrypted"),
    row("encryption-never-https-ok", {"ansible_host": "win1", "ansible_winrm_message_encryption": "never"},
        encryption="never"),
    row("encryption-always-https", {"ansible_host": "win1", "ansible_psrp_message_encryption": "always"},
        connection="psrp", encryption="always"),
    row("encryption-always-basic-refused", {"ansible_host": "win1", "ansible_winrm_transport": "basic",
                                            "ansible_winrm_message_encryption": "always"},
        error="cannot encrypt"),
    row("encryption-bad-value", {"ansible_host": "win1", "ansible_winrm_message_encryption": "sometimes"},
        error="auto, always or never"),
    # --- TLS -------------------------------------------------------------------------------------------
    row("cert-validation-ignore-winrm", {"ansible_host": "win1", "ansible_winrm_server_cert_validation": "ignore"},
        cert_validation=False, decision="NOT validated"),
    row("cert-validation-ignore-psrp", {"ansible_host": "win1", "ansible_psrp_cert_validation": "ignore"},
        connection="psrp", cert_validation=False),
    row("cert-validation-bad", {"ansible_host": "win1", "ansible_winrm_server_cert_validation": "maybe"},
        error="validate or ignore"),
    row("ca-bundle-winrm", {"ansible_host": "win1", "ansible_winrm_ca_trust_path": "/etc/pki/winrm-ca.pem"},
        cert_validation="/etc/pki/winrm-ca.pem"),
    row("ca-bundle-psrp", {"ansible_host": "win1", "ansible_psrp_ca_cert": "/etc/pki/ca.pem"}, connection="psrp",
        cert_validation="/etc/pki/ca.pem"),
    row("ca-bundle-psrp-core-name", {"ansible_host": "win1", "ansible_psrp_cert_trust_path": "/etc/pki/ca2.pem"},
        connection="psrp", cert_validation="/etc/pki/ca2.pem"),
    row("ignore-beats-ca", {"ansible_host": "win1", "ansible_winrm_ca_trust_path": "/ca.pem",
                            "ansible_winrm_server_cert_validation": "ignore"},
        cert_validation=False, decision="is unused"),
    row("fingerprint-normalised", {"ansible_host": "win1", "wsman_winrm_cert_fingerprint": FINGERPRINT},
        cert_fingerprint="ABCD" + "EF" * 30, decision="pinned"),
    row("fingerprint-bad", {"ansible_host": "win1", "wsman_winrm_cert_fingerprint": "AB:CD"}, error="SHA-256"),
    row("fingerprint-over-http", {"ansible_host": "win1", "wsman_winrm_auth": "kerberos",
                                  "wsman_winrm_cert_fingerprint": FINGERPRINT, **HTTP},
        error="scheme is http"),
    # --- certificate auth --------------------------------------------------------------------------------
    row("cert-auth-winrm", {"ansible_host": "win1", "ansible_winrm_transport": "certificate",
                            "ansible_winrm_cert_pem": "/c.pem", "ansible_winrm_cert_key_pem": "/k.pem"},
        auth="certificate", client_cert_pem="/c.pem", client_key_pem="/k.pem"),
    row("cert-auth-psrp", {"ansible_host": "win1", "ansible_psrp_auth": "certificate",
                           "ansible_psrp_certificate_pem": "/c.pem", "ansible_psrp_certificate_key_pem": "/k.pem"},
        connection="psrp", auth="certificate", client_cert_pem="/c.pem"),
    row("cert-auth-implied", {"ansible_host": "win1", "ansible_user": None, "ansible_password": None,
                              "ansible_winrm_cert_pem": "/c.pem", "ansible_winrm_cert_key_pem": "/k.pem"},
        auth="certificate"),
    row("cert-auth-missing-key", {"ansible_host": "win1", "wsman_winrm_auth": "certificate",
                                  "wsman_winrm_cert_pem": "/c.pem"},
        error="both a client certificate and its key"),
    row("cert-auth-http", {"ansible_host": "win1", "wsman_winrm_auth": "certificate", "wsman_winrm_cert_pem": "/c",
                           "wsman_winrm_cert_key_pem": "/k", **HTTP},
        error="certificate auth needs HTTPS"),
    row("cert-paths-ignored-for-negotiate", {"ansible_host": "win1", "ansible_winrm_cert_pem": "/c.pem"},
        auth="negotiate", client_cert_pem=None),
    # --- proxies -----------------------------------------------------------------------------------------
    row("proxy-https", {"ansible_host": "win1", "ansible_winrm_proxy": "http://proxy.example.com:3128"},
        proxy="http://proxy.example.com:3128", proxy_username=None),
    row("proxy-https-credentials-split", {"ansible_host": "win1", "wsman_winrm_proxy": PROXY_WITH_CREDENTIALS},
        proxy="https://proxy.example.com:3128", proxy_username=PROXY_USER, proxy_password=PROXY_SECRET,
        decision="moved out of the proxy URL"),
    row("proxy-separate-credentials", {"ansible_host": "win1", "ansible_psrp_proxy": "https://proxy.example.com:8080",
                                       "wsman_winrm_proxy_username": PROXY_USER,
                                       "wsman_winrm_proxy_password": PROXY_SECRET},
        connection="psrp", proxy="https://proxy.example.com:8080", proxy_password=PROXY_SECRET),
    # requests sends proxy credentials as Basic: in clear to an http:// (or socks) proxy
    row("proxy-clear-credentials-refused", {"ansible_host": "win1", "wsman_winrm_proxy": CLEAR_PROXY_WITH_CREDENTIALS},
        error="would go to http://proxy.example.com:3128 in clear"),
    row("proxy-clear-credentials-separate-refused", {"ansible_host": "win1", "ansible_psrp_proxy": "proxy:8080",
                                                     "wsman_winrm_proxy_password": PROXY_SECRET},
        connection="psrp", error="https:// URL"),
    row("proxy-socks-credentials-refused", {"ansible_host": "win1",
                                            "wsman_winrm_proxy": "socks5h://u:%s@proxy:1080" % PROXY_SECRET},
        error="in clear"),
    row("proxy-clear-credentials-allowed", {"ansible_host": "win1", "wsman_winrm_proxy": CLEAR_PROXY_WITH_CREDENTIALS,
                                            "wsman_winrm_allow_clear_proxy_credentials": True},
        proxy="http://proxy.example.com:3128", proxy_username=PROXY_USER, decision="in CLEAR"),
    row("proxy-http-unencrypted-refused", {"ansible_host": "win1", "ansible_winrm_transport": "basic",
                                           "wsman_winrm_trusted_hosts": "win1", **BASIC_HTTP_ALLOWED, **HTTP,
                                           "ansible_winrm_proxy": "http://proxy:3128"},
        error="unencrypted HTTP is never sent through a proxy"),
    row("proxy-http-authenticated-refused", {"ansible_host": "win1.example.com", "wsman_winrm_auth": "kerberos",
                                             **HTTP, "wsman_winrm_proxy": PROXY_WITH_CREDENTIALS},
        error="authenticated proxy"),
    row("proxy-http-encrypted-refused-by-default", {"ansible_host": "win1.example.com", "wsman_winrm_auth": "kerberos",
                                                    **HTTP, "wsman_winrm_proxy": "http://proxy:3128"},
        error="wsman_winrm_allow_http_proxy"),
    row("proxy-http-encrypted-override", {"ansible_host": "win1.example.com", "wsman_winrm_auth": "kerberos",
                                          **HTTP, "wsman_winrm_proxy": "http://proxy:3128",
                                          "wsman_winrm_allow_http_proxy": True},
        proxy="http://proxy:3128", encryption="always"),
    row("proxy-bad-url", {"ansible_host": "win1", "wsman_winrm_proxy": "ftp://proxy"}, error="not a valid proxy URL"),
    row("proxy-credentials-without-proxy", {"ansible_host": "win1", "wsman_winrm_proxy_password": PROXY_SECRET},
        proxy=None, proxy_password=None, decision="unused"),
    # --- timeouts ----------------------------------------------------------------------------------------
    row("timeouts-default", {"ansible_host": "win1"}, connection_timeout=30, read_timeout=30, operation_timeout=20),
    row("timeouts-winrm", {"ansible_host": "win1", "ansible_winrm_read_timeout_sec": 70,
                           "ansible_winrm_operation_timeout_sec": 60},
        connection_timeout=30, read_timeout=70, operation_timeout=60),
    row("timeouts-winrm-connection-timeout-is-operation-and-read", {
        "ansible_host": "win1", "ansible_winrm_connection_timeout": "5", "ansible_winrm_read_timeout_sec": 70,
        "ansible_winrm_operation_timeout_sec": 60}, connection="winrm",
        connection_timeout=30, read_timeout=15, operation_timeout=5, decision="as in ansible.builtin.winrm"),
    row("timeouts-psrp", {"ansible_host": "win1", "ansible_psrp_connection_timeout": 7,
                          "ansible_psrp_read_timeout": 90, "ansible_psrp_operation_timeout": 30},
        connection="psrp", connection_timeout=7, read_timeout=90, operation_timeout=30),
    row("timeouts-read-not-above-operation", {"ansible_host": "win1", "ansible_winrm_operation_timeout_sec": 40},
        error="must be greater than operation timeout"),
    row("timeouts-bad", {"ansible_host": "win1", "wsman_winrm_connection_timeout": "soon"},
        error="positive whole number"),
    row("bad-boolean", {"ansible_host": "win1", "wsman_winrm_legacy_ports": "perhaps"}, error="must be a boolean"),
    row("unknown-connection-reads-all", {"ansible_host": "win1", "ansible_psrp_port": 1234}, connection="local",
        url="https://win1:1234/wsman", decision="not a WinRM plugin"),
    # --- explicit credentials: refused before anything is sent ("Authentication for Remote Connections") ------
    row("ntlm-without-password", {"ansible_host": "win1", "ansible_password": None, "wsman_winrm_auth": "ntlm"},
        error="Windows requires explicit credentials"),
    row("basic-without-user", {"ansible_host": "win1", "ansible_user": None, "ansible_winrm_transport": "basic"},
        error="and ansible_user is not set"),
    row("credssp-without-anything", {"ansible_host": "win1", "ansible_user": None, "ansible_password": None,
                                     "wsman_winrm_auth": "credssp"},
        error="ansible_user and ansible_password is not set"),
    row("empty-password-is-no-password", {"ansible_host": "win1", "ansible_password": "", "wsman_winrm_auth": "ntlm"},
        error="explicit credentials"),
    row("negotiate-to-ip-without-password", {"ansible_host": "192.0.2.10", "ansible_password": None},
        error="Negotiate to an IP address is NTLM"),
    row("negotiate-local-user-without-password", {"ansible_host": "win1", "ansible_user": "Administrator",
                                                  "ansible_password": None},
        error="explicit credentials"),
    row("negotiate-without-password-is-kerberos-from-cache", {"ansible_host": "win1.example.com",
                                                              "ansible_password": None,
                                                              "ansible_user": "ansible@EXAMPLE.COM"},
        auth="kerberos", password=None, decision="credential cache"),
    row("negotiate-without-credentials-is-kerberos-from-cache", {"ansible_host": "win1.example.com", "ansible_user": None,
                                                                 "ansible_password": None, **HTTP},
        auth="kerberos", username=None, encryption="always"),
    row("kerberos-without-password-uses-cache", {"ansible_host": "win1.example.com", "ansible_password": None,
                                                 "wsman_winrm_auth": "kerberos"},
        auth="kerberos", decision="credential cache (kinit)"),
    row("certificate-needs-no-password", {"ansible_host": "win1", "ansible_user": None, "ansible_password": None,
                                          "wsman_winrm_auth": "certificate", "wsman_winrm_cert_pem": "/c",
                                          "wsman_winrm_cert_key_pem": "/k"},
        auth="certificate"),
    # --- IPv4 spellings the system resolver accepts are addresses (inet_aton rules) ------------------------
    row("ipv4-short-form-kerberos-refused", {"ansible_host": "127.1", "wsman_winrm_auth": "kerberos"},
        error="Kerberos cannot be used with an IP address (127.0.0.1)"),
    row("ipv4-decimal-kerberos-refused", {"ansible_host": "2130706433", "wsman_winrm_auth": "kerberos"},
        error="IP address (127.0.0.1)"),
    row("ipv4-hex-kerberos-refused", {"ansible_host": "0x7f000001", "ansible_winrm_transport": "kerberos"},
        error="IP address (127.0.0.1)"),
    row("ipv4-octal-kerberos-refused", {"ansible_host": "010.000.000.001", "wsman_winrm_auth": "kerberos"},
        error="IP address (8.0.0.1)"),
    row("ipv4-short-form-negotiate-is-ntlm", {"ansible_host": "127.1"}, auth="ntlm", host="127.0.0.1",
        url="https://127.0.0.1:5986/wsman", decision="as the system resolver reads it"),
    row("ipv4-decimal-in-uri", {"wsman_winrm_connection_uri": "http://2130706433/wsman", "wsman_winrm_auth": "kerberos"},
        error="IP address (127.0.0.1)"),
    row("ipv4-hex-over-http-needs-trust", {"ansible_host": "0x7f000001", **HTTP,
                                           "wsman_winrm_trusted_hosts": "127.0.0.*"},
        auth="ntlm", url="http://127.0.0.1:5985/wsman"),
    row("numeric-looking-name-is-a-name", {"ansible_host": "12.example", "wsman_winrm_auth": "kerberos"},
        auth="kerberos"),
]


def _assert_no_secret(text):
    for secret in (SECRET, PROXY_SECRET, PROXY_USER):
        assert secret not in text


@pytest.mark.parametrize("host_vars, connection, url, auth, encryption, error, decision, fields", CASES)
def test_resolve(host_vars, connection, url, auth, encryption, error, decision, fields):
    if error is not None:
        with pytest.raises(EndpointError) as caught:
            resolve(host_vars, connection)
        assert error in str(caught.value)
        _assert_no_secret(str(caught.value))
        return
    endpoint = resolve(host_vars, connection)
    if url is not None:
        assert endpoint.url == url
    if auth is not None:
        assert endpoint.auth == auth
    if encryption is not None:
        assert endpoint.encryption == encryption
    for name, expected in fields.items():
        assert getattr(endpoint, name) == expected, name
    if decision is not None:
        assert any(decision in sentence for sentence in endpoint.decisions), endpoint.decisions
    _assert_no_secret(repr(endpoint))
    _assert_no_secret(repr(endpoint.redacted()))
    _assert_no_secret("\n".join(endpoint.decisions))


# --- environment proxies: read only when asked for, HTTPS only, NO_PROXY honoured ----------------------------

ENV = {"HTTPS_PROXY": "https://%s:%s@envproxy.example.com:8080" % (PROXY_USER, PROXY_SECRET),
       "HTTP_PROXY": "http://should-never-be-used:1", "NO_PROXY": "localhost,.internal.example.com,10.0.0.0/8"}


@pytest.mark.parametrize("extra, host, expected_proxy", [
    pytest.param({}, "win1.example.com", None, id="env-ignored-by-default"),
    pytest.param({"wsman_winrm_use_env_proxy": True}, "win1.example.com", "https://envproxy.example.com:8080",
                 id="env-used-when-asked"),
    pytest.param({"wsman_winrm_use_env_proxy": True}, "db.internal.example.com", None, id="no-proxy-domain"),
    pytest.param({"wsman_winrm_use_env_proxy": True}, "10.1.2.3", None, id="no-proxy-cidr"),
    pytest.param({"wsman_winrm_use_env_proxy": True, "ansible_psrp_ignore_proxy": True}, "win1.example.com", None,
                 id="psrp-ignore-proxy-wins"),
    pytest.param({"wsman_winrm_use_env_proxy": True, "wsman_winrm_auth": "kerberos", **HTTP}, "win1.example.com",
                 None, id="http-goes-direct"),
])
def test_environment_proxies(extra, host, expected_proxy):
    endpoint = resolve({"ansible_host": host, **USER, **extra}, None, environ=ENV)
    assert endpoint.proxy == expected_proxy
    if expected_proxy:
        assert endpoint.proxy_username == PROXY_USER and endpoint.proxy_password == PROXY_SECRET
    _assert_no_secret(repr(endpoint) + repr(endpoint.redacted()) + "".join(endpoint.decisions))


def test_environment_not_read_unless_asked(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://envproxy:1")
    assert resolve({"ansible_host": "win1"}).proxy is None
    assert resolve({"ansible_host": "win1", "wsman_winrm_use_env_proxy": True}).proxy == "http://envproxy:1"


# --- the Endpoint contract -----------------------------------------------------------------------------------

def test_endpoint_contract():
    endpoint = resolve({"ansible_host": "win1", **USER, "wsman_winrm_proxy": PROXY_WITH_CREDENTIALS})
    hidden = {f.name for f in dataclasses.fields(Endpoint) if not f.repr}
    assert hidden == {"password", "proxy_username", "proxy_password"}
    assert [f.name for f in dataclasses.fields(Endpoint)][:5] == ["scheme", "host", "port", "path", "auth"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        endpoint.port = 1  # type: ignore[misc]
    assert isinstance(endpoint.decisions, tuple) and endpoint.decisions
    redacted = endpoint.redacted()
    assert "password" not in redacted and "proxy_password" not in redacted and "proxy_username" not in redacted
    assert redacted["url"] == endpoint.url and redacted["proxy_authenticated"] is True
    assert endpoint.password == SECRET


def test_every_variable_row_documented():
    with open(__file__.replace("tests/unit/test_endpoint.py", "docs/endpoint-resolution.md")) as handle:
        text = handle.read()
    for option, spec in VARIABLES.items():
        for family in ("wsman", "winrm", "psrp", "generic"):
            for name in spec.get(family, []):
                assert "`%s`" % name in text, name


def test_variable_names_agree_with_ansible_core_and_the_connection_plugin():
    """The option layer hands the resolver only variables the connection plugins declare: every psrp
    and generic name must be one ansible-core's plugins read, every wsman_winrm_* name an option of
    wsman.winrm.winrm (else it would be dropped for the modules)."""
    from ansible import constants as C
    from ansible.plugins.loader import connection_loader

    def declared(name):
        return set(C.config.get_plugin_vars("connection", connection_loader.get(name, class_only=True)._load_name))

    winrm, psrp, own = declared("winrm"), declared("psrp"), declared("wsman.winrm.winrm")
    for option, spec in VARIABLES.items():
        for name in spec.get("psrp", []):
            assert name in psrp, (option, name)
        for name in spec.get("generic", []):
            assert name in psrp and name in winrm, (option, name)
        for name in spec.get("wsman", []):
            assert name in own, (option, name)
