"""Stand-in for the get-pip.py that ansible-test downloads from a host we cannot reach.

ansible-test looks for ~/.ansible/test/cache/get_pip_<pip version>.py before downloading;
tests/sanity.sh puts this file there. It bootstraps pip from the interpreter's bundled wheel
(ensurepip) and then installs the requested pip from the package index.
"""
import subprocess
import sys

requested = sys.argv[1:]
pip_args = [arg for arg in requested if arg not in ('--no-setuptools', '--no-wheel')]
subprocess.check_call([sys.executable, '-m', 'ensurepip', '--default-pip'], stdout=subprocess.DEVNULL)
subprocess.check_call([sys.executable, '-m', 'pip', 'install'] + pip_args)
if '--no-setuptools' in requested:
    subprocess.call([sys.executable, '-m', 'pip', 'uninstall', '-y', '-q', 'setuptools'])
