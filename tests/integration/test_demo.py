"""`make demo` tells each host's story from the role's reports: it runs to the end, names every simulated
host, says what was insecure, what changed and what is left, in the words of the settings, and writes the
reports it points to. (It runs here with the test virtualenv; make demo uses its own, lighter one.)"""

from __future__ import annotations

import os
import re
import subprocess
import sys

from harness import ROOT


def test_demo_tells_each_host_and_writes_the_reports(tmp_path):
    output = tmp_path / "demo-output"
    completed = subprocess.run([sys.executable, os.path.join(ROOT, "demo", "run_demo.py"), "--output", str(output)],
                               capture_output=True, text=True, timeout=900, check=False, cwd=tmp_path,
                               env=dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]))
    story = completed.stdout
    assert completed.returncode == 0, story[-4000:] + completed.stderr[-4000:]
    hosts = re.findall(r"^(SIM-\S+): ", story, flags=re.M)
    assert len(hosts) == 3, story
    for block in re.split(r"^SIM-\S+: ", story, flags=re.M)[1:]:
        for part in ("Insecure before (", "Changed: ", "Now: ", "Reached now at https://"):
            assert part in block, block
    # What an admin knows: Group Policy names, not collection paths, registry numbers or cut-off JSON.
    assert '"Allow Basic authentication" Disabled' in story
    for internal in ("service.enable_compatibility", "policy:Service", "dev.", "...\n", "Traceback", "ansible-playbook"):
        assert internal not in story, internal
    for step in ("1-audit", "2-apply", "3-audit-again"):
        assert (output / step / "secure_baseline.md").is_file()
        assert len(list((output / step).glob("SIM-*.json"))) == 3
