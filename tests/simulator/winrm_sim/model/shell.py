"""WinRS shells and the few programs a simulated host can run in them, as cmd.exe runs them.

The WinRS cmd shell (resource URI .../windows/shell/cmd) runs each command line through cmd.exe,
so built-ins such as ``echo`` work (``winrs -r:host dir``). Modelled, with what Windows prints:

- cmd.exe: ``echo`` (``ECHO is on.`` alone), ``exit [/b] N``, ``ver``, ``hostname``, ``whoami``
  (``computer\\user`` in lower case), ``cmd /c ...``, and ``&``, ``&&``, ``||`` between commands.
  Anything else is an unknown program: ``'x' is not recognized as an internal or external command,
  operable program or batch file.`` on stderr, exit code 1.
- powershell.exe ``-Command`` / ``-EncodedCommand`` (UTF-16LE base64, what Ansible's winrm connection
  sends): ``echo``/``Write-Output``/``Write-Host``, ``exit N``, ``hostname``, ``whoami``,
  ``$env:COMPUTERNAME``/``$env:USERNAME``. Anything else fails as PowerShell does: the
  CommandNotFoundException record on stderr, serialized as CLIXML (``#< CLIXML``, what powershell.exe
  writes for -EncodedCommand callers and pywinrm/Ansible decode), exit code 1.
"""
from __future__ import annotations

import base64
import re
import shlex
import uuid
from xml.sax.saxutils import escape

NOT_RECOGNIZED = ("'{name}' is not recognized as an internal or external command,\r\n"
                  "operable program or batch file.\r\n")
POWERSHELL_NOT_FOUND = ("{name} : The term '{name}' is not recognized as the name of a cmdlet, function, script "
                        "file, or operable program. Check the spelling of the name, or if a path was included, "
                        "verify that the path is correct and try again.")


class Shells:
    """The open WinRS shells of a host (volatile: a service restart drops them, as on Windows)."""

    def __init__(self):
        self.open: dict[str, dict] = {}

    def create(self, owner: str, shell_id: str | None = None, **extra) -> str:
        shell_id = (shell_id or str(uuid.uuid4())).upper()
        self.open[shell_id] = {"owner": owner, "commands": {}, **extra}
        return shell_id

    def get(self, shell_id: str) -> dict | None:
        return self.open.get((shell_id or "").upper())

    def delete(self, shell_id: str) -> None:
        self.open.pop(shell_id.upper(), None)


class Machine:
    """What the programs see: the computer name, the user, the OS version line."""

    def __init__(self, computer_name: str, user: str, version_line: str):
        self.computer_name, self.user, self.version_line = computer_name, user, version_line


def run(command_line: str, machine: Machine) -> tuple[bytes, bytes, int]:
    """(stdout, stderr, exit code) of a command line run by cmd.exe /c."""
    out, err, code = _cmd(command_line.strip(), machine)
    return out.encode("utf-8"), err.encode("utf-8"), code


def _split_chain(line: str) -> list[tuple[str, str]]:
    """[(operator before, command)] for ``&``, ``&&``, ``||`` outside double quotes."""
    parts, current, operator, quoted, index = [], "", "", False, 0
    while index < len(line):
        char = line[index]
        if char == '"':
            quoted = not quoted
        if not quoted and char in "&|" and not (char == "|" and line[index:index + 2] != "||"):
            doubled = line[index:index + 2] in ("&&", "||")
            parts.append((operator, current.strip()))
            operator = line[index:index + 2] if doubled else "&"
            current = ""
            index += 2 if doubled else 1
            continue
        current += char
        index += 1
    parts.append((operator, current.strip()))
    return [(op, cmd) for op, cmd in parts if cmd]


def _cmd(line: str, machine: Machine) -> tuple[str, str, int]:
    out, err, code = "", "", 0
    for operator, command in _split_chain(line):
        if (operator == "&&" and code != 0) or (operator == "||" and code == 0):
            continue
        o, e, code = _one(command, machine)
        out, err = out + o, err + e
    return out, err, code


def _one(command: str, machine: Machine) -> tuple[str, str, int]:
    name, _sep, rest = command.partition(" ")
    program = name.strip('"').lower()
    if program.endswith(".exe"):
        program = program[:-4]
    if program == "cmd":
        match = re.match(r"(?i)\s*/[ck]\s+(.*)", rest)
        return _cmd(match.group(1), machine) if match else ("", "", 0)
    if program == "echo" or program.startswith("echo."):
        text = rest if program == "echo" else command[5:]
        return ("ECHO is on.\r\n" if program == "echo" and not rest.strip() else text + "\r\n"), "", 0
    if program == "exit":
        tokens = [t for t in rest.split() if t.lower() != "/b"]
        try:
            return "", "", int(tokens[0]) if tokens else 0
        except ValueError:
            return "", "", 0
    if program == "ver":
        return f"\r\n{machine.version_line}\r\n", "", 0
    if program == "hostname":
        return machine.computer_name + "\r\n", "", 0
    if program == "whoami":
        return f"{machine.computer_name}\\{machine.user}".lower() + "\r\n", "", 0
    if program == "powershell":
        return _powershell(rest, machine)
    return "", NOT_RECOGNIZED.format(name=name.strip('"')), 1


# --- powershell.exe ---------------------------------------------------------------------------------
def _powershell(arguments: str, machine: Machine) -> tuple[str, str, int]:
    try:
        tokens = shlex.split(arguments, posix=False)
    except ValueError:
        tokens = arguments.split()
    script = None
    for index, token in enumerate(tokens):
        lower = token.lower()
        if lower in ("-encodedcommand", "-enc", "-e", "-ec") and index + 1 < len(tokens):
            try:
                script = base64.b64decode(tokens[index + 1]).decode("utf-16-le")
            except (ValueError, UnicodeDecodeError):
                script = ""
            break
        if lower in ("-command", "-c"):
            script = " ".join(tokens[index + 1:]).strip('"')
            break
    if script is None:
        return "", "", 0  # an interactive PowerShell with no input ends at once
    out, errors, last_failed = "", [], False
    for statement in (s.strip() for s in re.split(r"[;\r\n]+", script)):
        if not statement:
            continue
        kind, value = _powershell_statement(statement, machine)
        if kind == "exit":
            return out, _clixml(errors), value
        last_failed = kind == "error"
        if last_failed:
            errors.append(value)
        else:
            out += value
    # powershell -Command exits 1 when its last statement failed ($? false), else 0.
    return out, _clixml(errors), 1 if last_failed else 0


def _powershell_statement(statement: str, machine: Machine) -> tuple[str, object]:
    name, _sep, rest = statement.partition(" ")
    lower = name.lower()
    if lower in ("echo", "write-output", "write-host"):
        return "out", "".join(_ps_value(v, machine) for v in _ps_words(rest)) + "\r\n" if rest else "\r\n"
    if lower == "exit":
        try:
            return "exit", int(rest.strip() or "0")
        except ValueError:
            return "exit", 0
    if lower in ("hostname", "hostname.exe"):
        return "out", machine.computer_name + "\r\n"
    if lower in ("whoami", "whoami.exe"):
        return "out", f"{machine.computer_name}\\{machine.user}".lower() + "\r\n"
    if statement.startswith("$env:") or statement.startswith(("'", '"')):
        return "out", _ps_value(statement, machine) + "\r\n"
    return "error", POWERSHELL_NOT_FOUND.format(name=name)


def _ps_words(text: str) -> list[str]:
    try:
        return [" ".join(shlex.split(text, posix=True))] if text.strip() else []
    except ValueError:
        return [text]


def _ps_value(token: str, machine: Machine) -> str:
    variables = {"$env:computername": machine.computer_name, "$env:username": machine.user}
    return re.sub(r"(?i)\$env:(computername|username)", lambda m: variables[m.group(0).lower()],
                  token.strip().strip("'\""))


def _clixml(errors: list[str]) -> str:
    if not errors:
        return ""
    records = "".join(f'<S S="Error">{escape(text)}_x000D__x000A_</S>' for text in errors)
    return ('#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
            f"{records}</Objs>")


def new_command_id() -> str:
    return str(uuid.uuid4()).upper()
