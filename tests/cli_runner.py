"""Run `spacy-bilstm` in-process, as a user's shell would, for the CLI tests."""
import sys
from typing import Tuple


def run_cli(capsys, *argv) -> Tuple[int, str, str]:
    """Run `spacy-bilstm ARGV...`; return (exit code, stdout, stderr).

    capsys: pytest's capsys fixture, to read what the command printed.
    argv: The sub-command and its arguments (converted with str).
    """
    from spacy_bilstm.cli import main

    saved = sys.argv
    sys.argv = ["spacy-bilstm", *map(str, argv)]
    code = 0
    try:
        main()
    except SystemExit as exit:
        code = exit.code or 0
    finally:
        sys.argv = saved
    out, err = capsys.readouterr()
    return code, out, err
