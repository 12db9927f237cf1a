#!/usr/bin/env bash
# ansible-test sanity, run on a real copy of the collection: ansible-test needs the tree at
# <root>/ansible_collections/wsman/winrm and resolves symlinks, so a link will not do.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# One copy per run, so two runs at once never delete each other's tree.
work="$root/.cache/sanity-$$"
copy="$work/ansible_collections/wsman/winrm"
trap 'rm -rf "$work"' EXIT
mkdir -p "$copy"
cd "$root"
git ls-files -co --exclude-standard -z | xargs -0 cp --parents -t "$copy"
cd "$copy"
git init -q
git add -A
# ansible-test downloads get-pip.py from a host outside the package index; give it the stand-in.
# The file name follows the pip pin of ansible-core 2.19 (see tests/requirements.txt).
pip_version=24_2
mkdir -p "$HOME/.ansible/test/cache"
cp "$root/tests/tools/get_pip_offline.py" "$HOME/.ansible/test/cache/get_pip_${pip_version}.py"
export LC_ALL=C.UTF-8
ansible-test sanity --python 3.11 --venv --color no "$@"
