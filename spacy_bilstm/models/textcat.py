"""Text classification architectures: a recurrent classifier that can
condition on a stance target, and an averaged-embedding baseline."""
import re
from functools import lru_cache
from typing import Callable, List, Optional, Sequence, Tuple

from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import Linear, Model, Relu, chain, concatenate
from thinc.types import Floats2d

from ..extensions import STANCE_TARGET
from ..layers.meta_embed import MetaEmbed
from ..layers.static_vectors import StaticVectorsEmbed, check_vectors_options
from ..layers.doc_encoder import FixedDropout, MeanPool, Probabilities, RecurrentDocEncoder

_TARGET_TOKEN = re.compile(r"\w+|[^\w\s]")


@lru_cache(maxsize=4096)
def target_words(target: str) -> Tuple[str, ...]:
    """Tokenize a stance target into words (a regex word tokenizer, so that
    the model needs no `nlp` object and gives the same tokens everywhere).

    target (str): The target, e.g. "Climate Change is a Real Concern".
    RETURNS (Tuple[str, ...]): Its words and punctuation marks.
    """
    return tuple(_TARGET_TOKEN.findall(target))


def target_docs(docs: List[Doc]) -> Tuple[List[Doc], List[int]]:
    """The distinct stance targets of a batch, as Docs, and each doc's target.

    docs (List[Doc]): The batch; targets are read from `doc._.stance_target`.
    RETURNS (Tuple[List[Doc], List[int]]): One Doc per distinct target, and
        for each doc the index of its target (-1: none, or no words).
    """
    if not docs or not Doc.has_extension(STANCE_TARGET):
        return [], [-1] * len(docs)
    index = {}
    targets: List[Doc] = []
    doc_target: List[int] = []
    for doc in docs:
        target = doc._.get(STANCE_TARGET)
        words = target_words(target) if isinstance(target, str) else ()
        if not words:
            doc_target.append(-1)
            continue
        if words not in index:
            index[words] = len(targets)
            targets.append(Doc(doc.vocab, words=list(words)))
        doc_target.append(index[words])
    return targets, doc_target


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
    """Docs -> token vectors -> (target-conditioned) RNN -> pooling -> class
    probabilities; optionally plus a linear bag-of-words model ("wide and
    deep", as spaCy's `TextCatEnsemble` pairs a linear model with a neural one)
    and embeddings of document metadata such as the speaker's party.

    tok2vec (Optional[Model[List[Doc], List[Floats2d]]]): Token features, e.g.
        `spacy_bilstm.WordCharEmbed.v1`, `spacy.MultiHashEmbed.v2`, or a
        `spacy.Tok2VecListener.v1` sharing a tok2vec component; None to use
        the static vectors alone.
    hidden_width (int): RNN width per direction.
    depth (int): Stacked RNN layers.
    cell (str): "lstm", "gru" or "rnn".
    bidirectional (bool): Add a backward direction.
    pooling (str): "last" (final states), "mean", "max" or "attention".
    dropout (float): Dropout on the RNN input, between layers and on the
        pooled vector.
    include_static_vectors (bool): Add the vocab's static vectors (set by
        `[initialize] vectors`), projected to `vectors_width`.
    finetune_vectors (bool): Learn a correction to the static vectors
        (otherwise they stay frozen).
    vectors_width (int): Width of the projected static vectors.
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
    vectors_attr (Optional[str]): Look the static vectors up by this token
        attribute ("LOWER" for GloVe; spaCy 3.8 does not save the attribute
        given to `spacy init vectors --attr`); None for the table's own.
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
            "model its own embedding (spacy_bilstm.WordCharEmbed.v1 or "
            "spacy.MultiHashEmbed.v2), or set use_target = false."
        )
    embed = _features(tok2vec, include_static_vectors, finetune_vectors, vectors_width, vectors_attr)
    encoder = RecurrentDocEncoder(
        embed.get_dim("nO"),
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
    meta_nO = meta_embed.get_dim("nO") if meta_embed is not None else 0
    output_layer = Linear(nO=nO, nI=encoder.get_dim("nO") + meta_nO)
    layers = [embed, encoder, output_layer, Probabilities(exclusive_classes)]
    if linear_model is not None:
        layers.append(linear_model)
    if meta_embed is not None:
        layers.append(meta_embed)
    model = Model(
        "lstm_textcat",
        _lstm_textcat_forward,
        init=_init,
        layers=layers,
        dims={"nO": nO},
        attrs={"exclusive_classes": exclusive_classes, "use_target": use_target},
    )
    if tok2vec is not None:
        model.set_ref("tok2vec", tok2vec)
    model.set_ref("embed", embed)
    model.set_ref("encoder", encoder)
    model.set_ref("output_layer", output_layer)
    if linear_model is not None:
        model.set_ref("linear_model", linear_model)
    if meta_embed is not None:
        model.set_ref("meta_embed", meta_embed)
    return model


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
    """The baseline: averaged token embeddings -> dense ReLU layer -> softmax
    (or sigmoid). It ignores stance targets.

    tok2vec (Optional[Model[List[Doc], List[Floats2d]]]): Token features, or
        None for the static vectors alone.
    hidden_width (int): Width of the dense layer; 0 for none (a linear model
        over the averaged embeddings).
    dropout (float): Dropout on the averaged embeddings and the hidden layer
        (fixed here; spaCy's `training.dropout` does not change it).
    include_static_vectors (bool): Add the vocab's static vectors.
    finetune_vectors (bool): Learn a correction to the static vectors.
    vectors_width (int): Width of the projected static vectors.
    exclusive_classes (bool): Softmax over classes; False for multi-label.
    nO (Optional[int]): The number of labels; set by the component.
    vectors_attr (Optional[str]): Look the static vectors up by this token
        attribute ("LOWER" for GloVe); None for the table's own.
    RETURNS (Model[List[Doc], Floats2d]): (n_docs, n_labels) probabilities.
    """
    embed = _features(tok2vec, include_static_vectors, finetune_vectors, vectors_width, vectors_attr)
    width = embed.get_dim("nO")
    layers = [embed, MeanPool(), FixedDropout(dropout)]
    if hidden_width > 0:
        layers.extend([Relu(nO=hidden_width, nI=width), FixedDropout(dropout)])
        width = hidden_width
    output_layer = Linear(nO=nO, nI=width)
    model = chain(*layers, output_layer, Probabilities(exclusive_classes))
    model.attrs["exclusive_classes"] = exclusive_classes
    model.attrs["use_target"] = False
    if tok2vec is not None:
        model.set_ref("tok2vec", tok2vec)
    model.set_ref("embed", embed)
    model.set_ref("output_layer", output_layer)
    return model


def _features(
    tok2vec: Optional[Model],
    include_static_vectors: bool,
    finetune_vectors: bool,
    vectors_width: int,
    vectors_attr: Optional[str] = None,
) -> Model[List[Doc], List[Floats2d]]:
    parts = []
    if tok2vec is not None:
        width = _output_width(tok2vec)
        if width is None:
            raise ValueError(
                "lstm_textcat needs to know the width of its tok2vec layer: set its "
                "'width' (for a spacy.Tok2VecListener.v1, the width of the shared tok2vec)."
            )
        if tok2vec.has_dim("nO") is None:
            tok2vec.set_dim("nO", width)
        parts.append(tok2vec)
    check_vectors_options(include_static_vectors, finetune_vectors, vectors_attr)
    if include_static_vectors:
        parts.append(StaticVectorsEmbed(vectors_width, finetune=finetune_vectors, attr=vectors_attr))
    if not parts:
        raise ValueError(
            "The text classifier has no token features: give it a tok2vec, or set "
            "include_static_vectors = true."
        )
    if len(parts) == 1:
        return parts[0]
    embed = concatenate(*parts)
    embed.set_dim("nO", sum(part.get_dim("nO") for part in parts))
    return embed


def _output_width(model: Model) -> Optional[int]:
    """The output width of a layer, read from its last sublayer that knows it.

    spaCy's `MultiHashEmbed` (a chain ending in `ragged2list`) leaves its own
    `nO` unset until it is initialized, although its last Maxout knows it.
    """
    if model.has_dim("nO") and model.get_dim("nO") is not None:
        return model.get_dim("nO")
    if model.name.startswith("concatenate"):
        widths = [_output_width(layer) for layer in model.layers]
        return None if None in widths else sum(widths)
    for layer in reversed(model.layers):
        width = _output_width(layer)
        if width is not None:
            return width
    return None


def _init(model: Model[List[Doc], Floats2d], X: Optional[List[Doc]] = None, Y=None) -> None:
    embed, encoder, output_layer, probabilities = model.layers[:4]
    docs = list(X) if X else None
    if docs and model.attrs["use_target"]:
        docs = docs + target_docs(docs)[0]
    embed.initialize(X=docs)
    encoder.initialize()
    if model.has_dim("nO") and model.get_dim("nO") is not None and not output_layer.has_dim("nO"):
        output_layer.set_dim("nO", model.get_dim("nO"))
    output_layer.initialize()
    probabilities.initialize()
    if output_layer.has_dim("nO"):
        model.set_dim("nO", output_layer.get_dim("nO"), force=True)
    if model.has_ref("linear_model"):
        linear = model.get_ref("linear_model")
        # spaCy's linear models keep the layer that owns nO as a ref.
        owner = linear.get_ref("output_layer") if linear.has_ref("output_layer") else linear
        if output_layer.has_dim("nO") and not owner.has_dim("nO"):
            owner.set_dim("nO", output_layer.get_dim("nO"))
        linear.initialize(X=list(X) if X else None)
    if model.has_ref("meta_embed"):
        # Last, so that the other layers draw the same initial weights from
        # the seeded generators as in a model without metadata.
        model.get_ref("meta_embed").initialize(X=list(X) if X else None)


def _lstm_textcat_forward(
    model: Model[List[Doc], Floats2d], docs: List[Doc], is_train: bool
) -> Tuple[Floats2d, Callable]:
    embed, encoder, output_layer, probabilities = model.layers[:4]
    if not docs:
        return model.ops.alloc2f(0, output_layer.get_dim("nO")), lambda dY: []
    if model.attrs["use_target"]:
        targets, doc_target = target_docs(docs)
    else:
        targets, doc_target = [], [-1] * len(docs)
    vectors, backprop_embed = embed(docs + targets, is_train)
    pooled, backprop_encoder = encoder((vectors[: len(docs)], vectors[len(docs) :], doc_target), is_train)
    n_pooled = pooled.shape[1]
    backprop_meta = None
    prior = None
    if model.has_ref("meta_embed"):
        meta_embed = model.get_ref("meta_embed")
        meta, backprop_meta = meta_embed(docs, is_train)
        n_meta = meta_embed.get_dim("nO")
        # Columns past the vectors are the counted label log-prior (meta_prior).
        if meta.shape[1] > n_meta:
            prior = meta[:, n_meta:]
        pooled = model.ops.xp.hstack((pooled, meta[:, :n_meta]))
    scores, backprop_output = output_layer(pooled, is_train)
    if prior is not None:
        scores = scores + prior
    backprop_linear = None
    if model.has_ref("linear_model"):
        linear_scores, backprop_linear = model.get_ref("linear_model")(docs, is_train)
        # spaCy's linear models run on the CPU (with_cpu): bring their scores
        # to where the RNN's are.
        scores = scores + model.ops.asarray2f(linear_scores)
    Y, backprop_probabilities = probabilities(scores, is_train)

    def backprop(dY: Floats2d) -> List[Doc]:
        d_scores = backprop_probabilities(dY)
        if backprop_linear is not None:
            backprop_linear(d_scores)
        d_pooled = backprop_output(d_scores)
        if backprop_meta is not None:
            backprop_meta(d_pooled[:, n_pooled:])
            d_pooled = model.ops.xp.ascontiguousarray(d_pooled[:, :n_pooled])
        d_docs, d_targets, _ = backprop_encoder(d_pooled)
        backprop_embed(list(d_docs) + list(d_targets))
        return []

    return Y, backprop
