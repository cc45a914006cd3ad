"""The `python -m spacy_bilstm` / `spacy-bilstm` command line.

Sub-commands live in their own modules (`convert`, `network`, `report`, ...); this module
only assembles them and turns our documented errors into one clean line on
stderr and a non-zero exit, never a traceback.
"""
import sys

import typer

from ..errors import InputError, ModelLoadError

app = typer.Typer(
    name="spacy-bilstm",
    help="BiLSTM-CRF NER, LSTM stance classification and actor networks for spaCy.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register_commands() -> None:
    # Imported here so that `import spacy_bilstm.cli` stays cheap and a broken
    # optional dependency of one command cannot break the others.
    from . import char_lm, convert, crossval, data, evaluate, network, report, vectors  # noqa: F401


def main() -> None:
    """Run the command line, printing `InputError`s as ``FILE:LINE: problem``."""
    _register_commands()
    try:
        app(standalone_mode=False)
    except (InputError, ModelLoadError) as err:
        typer.echo(f"error: {err}", err=True)
        sys.exit(2)
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(1)
    except typer.Exit as err:
        sys.exit(err.exit_code)
    except Exception as err:
        # Usage errors (a missing argument, a bad option value). typer may
        # ship its own copy of click, so check both exception hierarchies.
        if isinstance(err, _click_exceptions()):
            err.show()
            sys.exit(err.exit_code)
        raise


def _click_exceptions() -> tuple:
    import click

    kinds = [click.ClickException]
    try:
        from typer._click.exceptions import ClickException as TyperClickException

        kinds.append(TyperClickException)
    except ImportError:
        pass
    return tuple(kinds)
