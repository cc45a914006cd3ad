"""Every command in the README's code blocks runs as typed.

Workflow commands (`spacy project run ...`) run with `--dry`: weasel parses
the project directory and the `--vars` overrides and prints each step
without running it. The component commands (`spacy_bilstm ...`, `spacy
train/evaluate/package`) run for real in the repository, on the example
paths the README names, which do not exist here: they must stop with a clear
error about a missing file, never with a usage error (an unknown option, a
misplaced argument). The quickstart's `project run all` itself is run end to
end by tests/test_project.py (slow). Environment set-up (venv, pip, the test
suite) is what .ci/run does, and `project assets` needs the internet.
"""
import re
import shlex
import subprocess
import sys
from typing import List

import pytest

from .conftest import ROOT

SET_UP = ("python -m venv", "pip install", "python -m pytest", "python -m spacy project assets")
USAGE_ERRORS = ("No such option", "unexpected extra argument", "Missing argument", "Invalid value for")
# click's own check of a path argument: a missing file, not a usage error,
# unless the "path" is an option that landed in an argument's place.
MISSING_PATH = re.compile(r"Invalid value for '\w+': (?:path|file|directory|dir) '(?!-)[^']*' does not exist")


def readme_commands() -> List[str]:
    """The shell commands of the README's ```bash blocks, continuation lines
    joined, comments and blank lines dropped."""
    text = (ROOT / "README.md").read_text(encoding="utf8")
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if words:
                commands.append(shlex.join(words))
    return commands


COMMANDS = readme_commands()
WORKFLOW = [c for c in COMMANDS if c.startswith("python -m spacy project run ")]
COMPONENT = [c for c in COMMANDS if c not in WORKFLOW and not c.startswith(SET_UP)]


def _run(command: str, extra: List[str]) -> subprocess.CompletedProcess:
    words = shlex.split(command)
    assert words[0] == "python", command
    for part in words:
        # `... && ...` and pipes would need a shell: the README keeps to one command a line.
        assert part not in ("&&", "|", ";"), command
    return subprocess.run([sys.executable, *words[1:], *extra], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def test_the_readme_has_the_commands_this_test_expects():
    assert len(WORKFLOW) >= 8 and len(COMPONENT) >= 8
    assert "python -m spacy project run all" in WORKFLOW
    assert any(c.startswith("python -m spacy_bilstm crossval") for c in COMPONENT)


@pytest.mark.parametrize("command", WORKFLOW)
def test_workflow_command_runs_as_typed(command):
    result = _run(command, ["--dry"])
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Running command:" in result.stdout


@pytest.mark.parametrize("command", COMPONENT)
def test_component_command_parses_as_typed(command):
    result = _run(command, [])
    output = result.stdout + result.stderr
    output = MISSING_PATH.sub("a missing path", output)
    for marker in USAGE_ERRORS:
        assert marker not in output, output[-2000:]
    # The example paths do not exist here, so the command stops, naming one.
    assert result.returncode != 0, output[-2000:]
    assert re.search(r"not found|a missing path|does not exist|doesn't exist|Can't find|No such file", output), output[-2000:]
