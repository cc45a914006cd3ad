"""Reading the Docs of a `.spacy` file (DocBin) back, with their extensions.

The converters store `doc._.meta` and `doc._.stance_target` in the DocBin's
user data; the extensions must be registered before the Docs are rebuilt,
or that data is unreachable.
"""
from pathlib import Path
from typing import List, Optional, Union

from spacy.tokens import Doc, DocBin
from spacy.vocab import Vocab

from ..errors import InputError
from ..extensions import install_extensions


def read_docs(path: Union[str, Path], vocab: Optional[Vocab] = None) -> List[Doc]:
    """All Docs of a DocBin, with their `_.meta` and stance targets.

    path (Union[str, Path]): The .spacy file.
    vocab (Optional[Vocab]): The vocab to build the Docs on; default a blank one.
    RETURNS (List[Doc]): The Docs, in file order.
    RAISES (InputError): If the file does not exist.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("DocBin not found", path=path, reason="missing_file")
    install_extensions()
    return list(DocBin().from_disk(path).get_docs(vocab if vocab is not None else Vocab()))
