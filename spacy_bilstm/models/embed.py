"""Token features: spaCy's hashed embeddings plus byte-level character CNN,
and optionally the static vectors (the `spacy_bilstm.StaticVectorsEmbed.v1`
sub-layer in `.v2`; flags in `.v1`, kept so that saved pipelines load)."""
from typing import List, Optional

from spacy.ml.models.tok2vec import MultiHashEmbed
from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import Model, chain, concatenate
from thinc.types import Floats2d

from ..layers.char_cnn import CharCNN
from ..layers.static_vectors import StaticVectorsEmbed, check_vectors_options
from ..layers.word_dropout import WordDropout


@registry.architectures("spacy_bilstm.WordCharEmbed.v2")
def build_word_char_embed_v2(
    width: int,
    attrs: List[str],
    rows: List[int],
    static_vectors: Optional[Model[List[Doc], List[Floats2d]]] = None,
    char_width: int = 50,
    char_byte_width: int = 25,
    char_window: int = 3,
    char_max_bytes: int = 20,
    word_dropout: float = 0.0,
    char_lm: Optional[Model[List[Doc], List[Floats2d]]] = None,
) -> Model[List[Doc], List[Floats2d]]:
    """Embed each token from hashed lexical attributes, optional static
    vectors, the bytes of its text, and optionally contextual features from
    pretrained character language models.

    The word part is spaCy's `MultiHashEmbed`: the NORM, PREFIX, SUFFIX and
    SHAPE hash embeddings mixed to `width`. The static vectors, if given
    (`spacy_bilstm.StaticVectorsEmbed.v1`: looked up by its `attr`, frozen or
    with a learned correction for the words seen in training, projected to
    its `nO`), are concatenated to it. The character part (a CNN over UTF-8
    bytes) sees spellings the hash tables collapse, which matters for rare
    names.

    width (int): Output width of the hashed word part.
    attrs (List[str]): Lexical attributes to embed, as for MultiHashEmbed.
    rows (List[int]): Hash-table rows per attribute.
    static_vectors (Optional[Model[List[Doc], List[Floats2d]]]): The vocab's
        static vectors, e.g. `spacy_bilstm.StaticVectorsEmbed.v1`; None: none.
    char_width (int): Filters of the character CNN; 0 turns it off.
    char_byte_width (int): Byte embedding width.
    char_window (int): Convolution window, in bytes.
    char_max_bytes (int): Bytes kept per word.
    word_dropout (float): While training, the probability of zeroing a
        token's hash embeddings, as if the word were unseen, so that the
        model learns to use spelling, context and the pretrained vectors for
        unseen names. The static vectors are not dropped: an unseen word
        still has its pretrained vector.
    char_lm (Optional[Model[List[Doc], List[Floats2d]]]): Contextual token
        features, e.g. `spacy_bilstm.CharLMEmbed.v1` (frozen language models
        pretrained on raw in-domain text), concatenated; None: none.
    RETURNS (Model[List[Doc], List[Floats2d]]): Width `width + char_width`,
        plus the static vectors' and the language models' widths.
    """
    embed = _word_char_embed(
        width, attrs, rows, False, static_vectors, char_width, char_byte_width, char_window, char_max_bytes, word_dropout
    )
    return concatenate(embed, char_lm) if char_lm is not None else embed


@registry.architectures("spacy_bilstm.WordCharEmbed.v1")
def build_word_char_embed(
    width: int,
    attrs: List[str],
    rows: List[int],
    include_static_vectors: bool,
    char_width: int = 50,
    char_byte_width: int = 25,
    char_window: int = 3,
    char_max_bytes: int = 20,
    word_dropout: float = 0.0,
    finetune_vectors: bool = False,
    vectors_width: int = 64,
    vectors_attr: Optional[str] = None,
) -> Model[List[Doc], List[Floats2d]]:
    """`spacy_bilstm.WordCharEmbed.v2` with the static vectors' options as
    flags; kept so that configs and pipelines that name it build and load
    the same network.

    With `include_static_vectors` alone, the static vectors of
    `[initialize] vectors` go through spaCy's `MultiHashEmbed` (frozen, with
    a learned projection, mixed with the hash embeddings to `width`, and
    dropped with them by `word_dropout`). With `finetune_vectors` or
    `vectors_attr` they are embedded apart instead, as `.v2` does
    (`StaticVectorsEmbed`), projected to `vectors_width` and concatenated.

    include_static_vectors (bool): Add the vocab's static vectors.
    finetune_vectors (bool): Fine-tune the static vectors (a correction
        added to the vectors of the table's first 50,000 rows, see
        `StaticVectorsEmbed`) instead of keeping them frozen; words not seen
        in training keep their pretrained vectors. Needs
        include_static_vectors = true.
    vectors_width (int): Width of the projected static vectors when embedded apart.
    vectors_attr (Optional[str]): Look the static vectors up by this token
        attribute ("LOWER" for GloVe): spaCy 3.8 does not save the attribute
        of `spacy init vectors --attr LOWER` (see `StaticVectorsEmbed`).
        None: the table's own, through spaCy's `MultiHashEmbed` unless
        fine-tuned.
    The other arguments: as for `spacy_bilstm.WordCharEmbed.v2`.
    RETURNS (Model[List[Doc], List[Floats2d]]): Width `width + char_width`,
        plus `vectors_width` when the vectors are embedded apart.
    """
    check_vectors_options(include_static_vectors, finetune_vectors, vectors_attr)
    apart = finetune_vectors or vectors_attr is not None
    static_vectors = (
        StaticVectorsEmbed(vectors_width, finetune=finetune_vectors, attr=vectors_attr)
        if include_static_vectors and apart
        else None
    )
    return _word_char_embed(
        width,
        attrs,
        rows,
        include_static_vectors and not apart,
        static_vectors,
        char_width,
        char_byte_width,
        char_window,
        char_max_bytes,
        word_dropout,
    )


def _word_char_embed(
    width: int,
    attrs: List[str],
    rows: List[int],
    mix_static_vectors: bool,
    static_vectors: Optional[Model[List[Doc], List[Floats2d]]],
    char_width: int,
    char_byte_width: int,
    char_window: int,
    char_max_bytes: int,
    word_dropout: float,
) -> Model[List[Doc], List[Floats2d]]:
    word = MultiHashEmbed(width=width, attrs=attrs, rows=rows, include_static_vectors=mix_static_vectors)
    if word_dropout > 0.0:
        # Before the static vectors are joined: a word unseen in training
        # still has its pretrained vector, so dropping only the hashed part
        # is what prepares the tagger for it.
        word = chain(word, WordDropout(word_dropout))
    if static_vectors is not None:
        word = concatenate(word, static_vectors)
    if char_width <= 0:
        return word
    # Widths are read from data in `initialize`.
    return concatenate(word, CharCNN(char_width, char_byte_width, char_window, char_max_bytes))
