"""The `spacy_bilstm.StanceCorpus.v1` reader for spaCy training configs.

spaCy's `Corpus` builds each Example's predicted Doc with
``nlp.make_doc(reference.text)``, which drops the reference's user data, and
cuts long or gold-preprocessed references into sentences with
``Span.as_doc()``, which drops it too. The stance classifier needs
``doc._.stance_target`` (and ``doc._.meta``, for provenance and for a model
with ``meta_fields``) on the Doc it predicts on, so this reader copies both
from each DocBin document onto the predicted and reference Docs of every
Example made from it.
"""
from pathlib import Path
from typing import Callable, Iterable, Iterator, Optional

import spacy
from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Corpus, Example

from ..errors import InputError
from ..extensions import META, STANCE_TARGET, install_extensions

COPIED_EXTENSIONS = (STANCE_TARGET, META)


def copy_stance_data(source: Doc, target: Doc) -> None:
    """Copy ``_.stance_target`` and ``_.meta`` from one Doc to another.

    source (Doc): The DocBin document.
    target (Doc): A Doc made from it (predicted Doc or sentence).
    """
    for name in COPIED_EXTENSIONS:
        target._.set(name, source._.get(name))


class StanceCorpus(Corpus):
    """`spacy.Corpus` over .spacy DocBins that keeps the stance extensions.

    Works for NER DocBins as well: it only adds the copying.
    """

    def make_examples(self, nlp: Language, reference_docs: Iterable[Doc]) -> Iterator[Example]:
        for reference in reference_docs:
            for eg in super().make_examples(nlp, [reference]):
                copy_stance_data(reference, eg.reference)
                copy_stance_data(reference, eg.predicted)
                yield eg

    def make_examples_gold_preproc(
        self, nlp: Language, reference_docs: Iterable[Doc]
    ) -> Iterator[Example]:
        for reference in reference_docs:
            for eg in super().make_examples_gold_preproc(nlp, [reference]):
                copy_stance_data(reference, eg.reference)
                copy_stance_data(reference, eg.predicted)
                yield eg


@spacy.registry.readers("spacy_bilstm.StanceCorpus.v1")
def create_stance_corpus(
    path: Optional[Path],
    gold_preproc: bool = False,
    max_length: int = 0,
    limit: int = 0,
    shuffle: bool = False,
) -> Callable[[Language], Iterable[Example]]:
    """Create a stance-aware corpus reader (arguments as for `spacy.Corpus.v1`).

    path (Optional[Path]): A .spacy file or a directory of them. None (an
        unset ``[paths]`` variable) is an error.
    gold_preproc (bool): Use the reference tokenization and sentences.
    max_length (int): Split references longer than this into sentences
        (when they have sentence starts), as `spacy.Corpus` does; 0 = no limit.
    limit (int): Read at most this many documents; 0 = all.
    shuffle (bool): Shuffle the documents on every read.
    RETURNS (Callable[[Language], Iterable[Example]]): The corpus.
    """
    if path is None:
        raise InputError(
            "no corpus path given to spacy_bilstm.StanceCorpus.v1 (set paths.train / paths.dev)",
            reason="bad_argument",
        )
    install_extensions()
    return StanceCorpus(
        path, gold_preproc=gold_preproc, max_length=max_length, limit=limit, shuffle=shuffle
    )
