"""HTTP.sys reservations and SSL bindings when a compatibility listener is turned on directly.

Microsoft, "Details on secure port configuration for WS-Management in Windows 7 and Windows Server 2008
R2": the upgrade sets up the HTTP.sys reservations and SSL certificates; "If an administrator enables the
Group Policy settings directly these additional settings must also be configured". wsman.winrm.policy and
wsman.winrm.converge read them through StdRegProv (HKLM\\SYSTEM\\CurrentControlSet\\Services\\HTTP\\
Parameters\\UrlAclInfo and SslBindingInfo) and warn with what is missing.
"""

from __future__ import annotations

from harness import run_tasks

FLEET_PROFILES = "server2022"


def results(fleet, tasks, limit, tmp_path, **kwargs) -> list[dict]:
    outcome = run_tasks(fleet, tasks, limit=limit, tmp_path=tmp_path, **kwargs)
    (found,) = outcome.results.values()
    return found


def test_policy_warns_about_what_http_sys_lacks(fleet, tmp_path):
    name, _host = fleet.host("server2022")
    enable = {"wsman.winrm.policy": {"service": {"http_compatibility_listener": True,
                                                 "https_compatibility_listener": True}}}
    (predicted,) = results(fleet, [enable], name, tmp_path / "check", check=True)
    (done, undo) = results(fleet, [enable, {"wsman.winrm.policy": {"service": {
        "http_compatibility_listener": "absent", "https_compatibility_listener": "absent"}}}], name, tmp_path / "run")
    assert not done.get("failed"), done.get("msg")
    assert [m.split(" (")[0] for m in done["http_sys_missing"]] == [
        "no HTTP.sys URL reservation for http://+:80/wsman/", "no HTTP.sys URL reservation for https://+:443/wsman/",
        "no HTTP.sys SSL certificate binding for port 443"]
    assert predicted["http_sys_missing"] == done["http_sys_missing"]
    assert any("HTTP.sys is not set up" in w and "must also be configured" in w for w in done["warnings"])
    assert "http_sys_missing" not in undo          # turning them off needs nothing from HTTP.sys


def test_converge_warns_too(fleet, tmp_path):
    converge = {"wsman.winrm.converge": {"compatibility_listeners": {"http": True}}}
    name, _host = fleet.host("server2022")
    (predicted,) = results(fleet, [converge], name, tmp_path / "new", check=True)
    assert any("wsman.winrm.converge turns on a compatibility listener" in w and "http://+:80/wsman/" in w
               for w in predicted.get("warnings", [])), predicted.get("warnings")
