"""Text classification architectures: a recurrent classifier that can
condition on a stance target, and an averaged-embedding baseline.

The `.v2` names take the static vectors as one sub-layer
(`spacy_bilstm.StaticVectorsEmbed.v1`); the `.v1` names take its options as
flags and build the same networks, so that saved pipelines load."""
from typing import List, Optional, Sequence

from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import Linear, Model, Relu, chain, concatenate
from thinc.types import Floats2d

from ..layers.doc_classifier import RecurrentDocClassifier
from ..layers.doc_encoder import FixedDropout, MeanPool, Probabilities, RecurrentDocEncoder
from ..layers.meta_embed import MetaEmbed
from ..layers.static_vectors import StaticVectorsEmbed, check_vectors_options


@registry.architectures("spacy_bilstm.LSTMTextCat.v2")
def build_lstm_textcat_v2(
    tok2vec: Optional[Model[List[Doc], List[Floats2d]]],
    static_vectors: Optional[Model[List[Doc], List[Floats2d]]] = None,
    hidden_width: int = 64,
    depth: int = 1,
    cell: str = "lstm",
    bidirectional: bool = True,
    pooling: str = "max",
    dropout: float = 0.3,
    use_target: bool = False,
    max_tokens: int = 512,
    truncation: str = "chunk",
    max_target_tokens: int = 64,
    attention_width: int = 64,
    exclusive_classes: bool = True,
    nO: Optional[int] = None,
    linear_model: Optional[Model[List[Doc], Floats2d]] = None,
    meta_fields: Sequence[str] = (),
    meta_width: int = 16,
    meta_dropout: float = 0.0,
    meta_prior: bool = False,
) -> Model[List[Doc], Floats2d]:
    """Docs -> token vectors -> (target-conditioned) RNN -> pooling -> class
    probabilities; optionally plus a linear bag-of-words model ("wide and
    deep", as spaCy's `TextCatEnsemble` pairs a linear model with a neural one)
    and embeddings of document metadata such as the speaker's party.

    tok2vec (Optional[Model[List[Doc], List[Floats2d]]]): Token features, e.g.
        `spacy_bilstm.WordCharEmbed.v2`, `spacy.MultiHashEmbed.v2`, or a
        `spacy.Tok2VecListener.v1` sharing a tok2vec component; None to use
        the static vectors alone.
    static_vectors (Optional[Model[List[Doc], List[Floats2d]]]): The vocab's
        static vectors (set by `[initialize] vectors`), e.g.
        `spacy_bilstm.StaticVectorsEmbed.v1`, concatenated to the tok2vec's
        output; None: none.
    hidden_width (int): RNN width per direction.
    depth (int): Stacked RNN layers.
    cell (str): "lstm", "gru" or "rnn".
    bidirectional (bool): Add a backward direction.
    pooling (str): "last" (final states), "mean", "max" or "attention".
    dropout (float): Dropout on the RNN input, between layers and on the
        pooled vector.
    use_target (bool): Condition on `doc._.stance_target`: a target RNN's
        final state initialises the text RNN (and with attention pooling
        joins the query). Docs without a target are classified as by a plain
        classifier. The target is embedded by the same `tok2vec`, so a
        listener cannot be used with targets.
    max_tokens (int): The longest sequence the RNN reads at once (0: no limit).
    truncation (str): For longer docs: "head", "head_tail" or "chunk" (see
        `spacy_bilstm.layers.doc_encoder.segment_spans`).
    max_target_tokens (int): Targets longer than this are cut to their head
        (0: no limit); HanDeSeT motions run to 1,279 tokens.
    attention_width (int): Hidden width of the attention scorer.
    exclusive_classes (bool): Softmax over classes; False for multi-label
        (a sigmoid per label).
    nO (Optional[int]): The number of labels; set by the component.
    linear_model (Optional[Model[List[Doc], Floats2d]]): A model whose class
        scores are added to the RNN's before the softmax (or sigmoid), e.g.
        `spacy.TextCatBOW.v3` with `no_output_layer = true`. It reads the
        whole document, however long (the RNN reads `max_tokens` at a time),
        and never the target. None: the RNN alone.
    meta_fields (Sequence[str]): Keys of `doc._.meta` (e.g. ["party"]) whose
        values are embedded and concatenated to the pooled text (and target)
        vector before the output layer. The values are collected from the
        training data at `initialize` and saved with the pipeline; unseen
        and missing values share one "unknown" vector per field. Empty (the
        default): no metadata, the same layers and weights as before.
    meta_width (int): The embedding width per metadata field.
    meta_dropout (float): In training only, the probability that a doc's
        metadata is replaced with "unknown", so that the text carries
        weight too and the unknown vectors are learned (fixed by the config;
        spaCy's `training.dropout` does not change it).
    meta_prior (bool): Also add to the class scores, before the softmax, the
        log-ratio log p(label | value) - log p(label) of each metadata
        value, counted in the training data at `initialize` (add-one
        smoothed, 0 for unknown values, hidden by `meta_dropout` like the
        vectors). The model then starts from the party line and learns from
        the text where a speech departs from it. Exclusive classes only.
    RETURNS (Model[List[Doc], Floats2d]): (n_docs, n_labels) probabilities.
    """
    _check_meta_options(meta_fields, meta_width, meta_dropout)
    if meta_prior and not meta_fields:
        raise ValueError("meta_prior needs meta_fields: the prior is counted per metadata value.")
    if meta_prior and not exclusive_classes:
        raise ValueError("meta_prior works with exclusive classes only (a log-prior added before the softmax).")
    if linear_model is not None and _has_output_activation(linear_model):
        raise ValueError(
            f"lstm_textcat adds the linear model's scores to its own before one softmax "
            f"(or sigmoid), but '{linear_model.name}' outputs probabilities already. For "
            "spacy.TextCatBOW.v3, set no_output_layer = true."
        )
    if use_target and tok2vec is not None and "listener" in tok2vec.name:
        raise ValueError(
            "lstm_textcat with use_target = true embeds the target text with its own "
            "tok2vec, but a listener can only embed the pipeline's docs. Give the "
            "model its own embedding (spacy_bilstm.WordCharEmbed.v2 or "
            "spacy.MultiHashEmbed.v2), or set use_target = false."
        )
    embed = _features(tok2vec, static_vectors)
    encoder = RecurrentDocEncoder(
        None,
        hidden_width,
        depth=depth,
        cell=cell,
        bidirectional=bidirectional,
        dropout=dropout,
        pooling=pooling,
        use_target=use_target,
        attention_width=attention_width,
        max_tokens=max_tokens,
        truncation=truncation,
        max_target_tokens=max_target_tokens,
    )
    # Without metadata fields no layer is added, so that configs and
    # pipelines saved before the option existed load unchanged.
    meta_embed = MetaEmbed(list(meta_fields), meta_width, meta_dropout, prior=meta_prior) if meta_fields else None
    model = RecurrentDocClassifier(
        embed,
        encoder,
        Linear(nO=nO),
        exclusive_classes,
        use_target,
        nO=nO,
        linear_model=linear_model,
        meta_embed=meta_embed,
    )
    if tok2vec is not None:
        model.set_ref("tok2vec", tok2vec)
    return model


@registry.architectures("spacy_bilstm.LSTMTextCat.v1")
def build_lstm_textcat(
    tok2vec: Optional[Model[List[Doc], List[Floats2d]]],
    hidden_width: int = 64,
    depth: int = 1,
    cell: str = "lstm",
    bidirectional: bool = True,
    pooling: str = "max",
    dropout: float = 0.3,
    include_static_vectors: bool = False,
    finetune_vectors: bool = False,
    vectors_width: int = 64,
    use_target: bool = False,
    max_tokens: int = 512,
    truncation: str = "chunk",
    max_target_tokens: int = 64,
    attention_width: int = 64,
    exclusive_classes: bool = True,
    nO: Optional[int] = None,
    linear_model: Optional[Model[List[Doc], Floats2d]] = None,
    vectors_attr: Optional[str] = None,
    meta_fields: Sequence[str] = (),
    meta_width: int = 16,
    meta_dropout: float = 0.0,
    meta_prior: bool = False,
) -> Model[List[Doc], Floats2d]:
    """`spacy_bilstm.LSTMTextCat.v2` with the static vectors' options as
    flags; kept so that configs and pipelines that name it build and load
    the same network.

    include_static_vectors (bool): Add the vocab's static vectors (set by
        `[initialize] vectors`), projected to `vectors_width`.
    finetune_vectors (bool): Learn a correction to the static vectors
        (otherwise they stay frozen).
    vectors_width (int): Width of the projected static vectors.
    vectors_attr (Optional[str]): Look the static vectors up by this token
        attribute ("LOWER" for GloVe; spaCy 3.8 does not save the attribute
        given to `spacy init vectors --attr`); None for the table's own.
    The other arguments: as for `spacy_bilstm.LSTMTextCat.v2`.
    RETURNS (Model[List[Doc], Floats2d]): (n_docs, n_labels) probabilities.
    """
    return build_lstm_textcat_v2(
        tok2vec,
        _static_vectors_v1(include_static_vectors, finetune_vectors, vectors_width, vectors_attr),
        hidden_width=hidden_width,
        depth=depth,
        cell=cell,
        bidirectional=bidirectional,
        pooling=pooling,
        dropout=dropout,
        use_target=use_target,
        max_tokens=max_tokens,
        truncation=truncation,
        max_target_tokens=max_target_tokens,
        attention_width=attention_width,
        exclusive_classes=exclusive_classes,
        nO=nO,
        linear_model=linear_model,
        meta_fields=meta_fields,
        meta_width=meta_width,
        meta_dropout=meta_dropout,
        meta_prior=meta_prior,
    )


def _check_meta_options(meta_fields: Sequence[str], meta_width: int, meta_dropout: float) -> None:
    if isinstance(meta_fields, str):
        raise ValueError(f"meta_fields must be a list of doc._.meta keys, e.g. [\"{meta_fields}\"].")
    fields = list(meta_fields)
    if any(not isinstance(field, str) or not field for field in fields) or len(set(fields)) != len(fields):
        raise ValueError(f"meta_fields must be distinct, non-empty doc._.meta keys; got {fields}.")
    if fields and meta_width < 1:
        raise ValueError(f"meta_width must be at least 1 with meta_fields; got {meta_width}.")
    if not 0.0 <= meta_dropout < 1.0:
        raise ValueError(f"meta_dropout must be in [0, 1); got {meta_dropout}.")


def _has_output_activation(model: Model) -> bool:
    # spaCy's linear text classifiers end in a softmax or logistic layer
    # unless built with no_output_layer = true.
    return any(layer.name in ("softmax_activation", "logistic", "softmax") for layer in model.walk())


@registry.architectures("spacy_bilstm.MeanEmbedTextCat.v2")
def build_mean_embed_textcat_v2(
    tok2vec: Optional[Model[List[Doc], List[Floats2d]]],
    static_vectors: Optional[Model[List[Doc], List[Floats2d]]] = None,
    hidden_width: int = 64,
    dropout: float = 0.3,
    exclusive_classes: bool = True,
    nO: Optional[int] = None,
) -> Model[List[Doc], Floats2d]:
    """The baseline: averaged token embeddings -> dense ReLU layer -> softmax
    (or sigmoid). It ignores stance targets.

    tok2vec (Optional[Model[List[Doc], List[Floats2d]]]): Token features, or
        None for the static vectors alone.
    static_vectors (Optional[Model[List[Doc], List[Floats2d]]]): The vocab's
        static vectors, e.g. `spacy_bilstm.StaticVectorsEmbed.v1`; None: none.
    hidden_width (int): Width of the dense layer; 0 for none (a linear model
        over the averaged embeddings).
    dropout (float): Dropout on the averaged embeddings and the hidden layer
        (fixed here; spaCy's `training.dropout` does not change it).
    exclusive_classes (bool): Softmax over classes; False for multi-label.
    nO (Optional[int]): The number of labels; set by the component.
    RETURNS (Model[List[Doc], Floats2d]): (n_docs, n_labels) probabilities.
    """
    embed = _features(tok2vec, static_vectors)
    layers = [embed, MeanPool(), FixedDropout(dropout)]
    if hidden_width > 0:
        layers.extend([Relu(nO=hidden_width), FixedDropout(dropout)])
    output_layer = Linear(nO=nO)
    model = chain(*layers, output_layer, Probabilities(exclusive_classes))
    model.attrs["exclusive_classes"] = exclusive_classes
    model.attrs["use_target"] = False
    if tok2vec is not None:
        model.set_ref("tok2vec", tok2vec)
    model.set_ref("embed", embed)
    model.set_ref("output_layer", output_layer)
    return model


@registry.architectures("spacy_bilstm.MeanEmbedTextCat.v1")
def build_mean_embed_textcat(
    tok2vec: Optional[Model[List[Doc], List[Floats2d]]],
    hidden_width: int = 64,
    dropout: float = 0.3,
    include_static_vectors: bool = False,
    finetune_vectors: bool = False,
    vectors_width: int = 64,
    exclusive_classes: bool = True,
    nO: Optional[int] = None,
    vectors_attr: Optional[str] = None,
) -> Model[List[Doc], Floats2d]:
    """`spacy_bilstm.MeanEmbedTextCat.v2` with the static vectors' options
    as flags; kept so that configs and pipelines that name it build and load
    the same network.

    include_static_vectors (bool): Add the vocab's static vectors.
    finetune_vectors (bool): Learn a correction to the static vectors.
    vectors_width (int): Width of the projected static vectors.
    vectors_attr (Optional[str]): Look the static vectors up by this token
        attribute ("LOWER" for GloVe); None for the table's own.
    The other arguments: as for `spacy_bilstm.MeanEmbedTextCat.v2`.
    RETURNS (Model[List[Doc], Floats2d]): (n_docs, n_labels) probabilities.
    """
    return build_mean_embed_textcat_v2(
        tok2vec,
        _static_vectors_v1(include_static_vectors, finetune_vectors, vectors_width, vectors_attr),
        hidden_width=hidden_width,
        dropout=dropout,
        exclusive_classes=exclusive_classes,
        nO=nO,
    )


def _static_vectors_v1(
    include_static_vectors: bool, finetune_vectors: bool, vectors_width: int, vectors_attr: Optional[str]
) -> Optional[Model[List[Doc], List[Floats2d]]]:
    """The static-vectors sub-layer that the `.v1` flags describe."""
    check_vectors_options(include_static_vectors, finetune_vectors, vectors_attr)
    if not include_static_vectors:
        return None
    return StaticVectorsEmbed(vectors_width, finetune=finetune_vectors, attr=vectors_attr)


def _features(
    tok2vec: Optional[Model[List[Doc], List[Floats2d]]],
    static_vectors: Optional[Model[List[Doc], List[Floats2d]]],
) -> Model[List[Doc], List[Floats2d]]:
    parts = [part for part in (tok2vec, static_vectors) if part is not None]
    if not parts:
        raise ValueError(
            "The text classifier has no token features: give it a tok2vec, or "
            "static vectors (static_vectors; in the .v1 architectures, "
            "include_static_vectors = true)."
        )
    # Widths are read from data in `initialize`.
    return parts[0] if len(parts) == 1 else concatenate(*parts)
