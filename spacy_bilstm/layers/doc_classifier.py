"""The thinc layer of `lstm_textcat`: token vectors of each doc (and of its
stance target) -> recurrent document encoder -> class scores, plus optional
metadata embeddings and a linear model's scores -> probabilities."""
import re
from functools import lru_cache
from typing import Callable, List, Optional, Tuple

from spacy.tokens import Doc
from thinc.api import Model
from thinc.types import Floats2d

from ..extensions import STANCE_TARGET
from .doc_encoder import Probabilities

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


def RecurrentDocClassifier(
    embed: Model[List[Doc], List[Floats2d]],
    encoder: Model,
    output_layer: Model[Floats2d, Floats2d],
    exclusive_classes: bool,
    use_target: bool,
    nO: Optional[int] = None,
    linear_model: Optional[Model[List[Doc], Floats2d]] = None,
    meta_embed: Optional[Model[List[Doc], Floats2d]] = None,
) -> Model[List[Doc], Floats2d]:
    """Classify docs from their pooled token vectors.

    Each doc's tokens (and, with `use_target`, the words of its
    `doc._.stance_target`, embedded by the same `embed`) go through `encoder`
    (a `RecurrentDocEncoder`); the pooled vector, joined by the metadata
    vectors of `meta_embed`, is scored by `output_layer`. The metadata
    layer's label log-prior (`prior = True`) and `linear_model`'s scores are
    added before the softmax (or sigmoid). The encoder's and the output
    layer's input widths are read from data in `initialize`.

    embed (Model[List[Doc], List[Floats2d]]): Token vectors.
    encoder (Model): A `RecurrentDocEncoder`.
    output_layer (Model[Floats2d, Floats2d]): Scores per class, e.g. `Linear`.
    exclusive_classes (bool): Softmax over classes; False: a sigmoid per label.
    use_target (bool): Condition on `doc._.stance_target`.
    nO (Optional[int]): The number of labels; set by the component.
    linear_model (Optional[Model[List[Doc], Floats2d]]): Class scores added
        to the output layer's, e.g. `spacy.TextCatBOW.v3` with
        `no_output_layer = true`.
    meta_embed (Optional[Model[List[Doc], Floats2d]]): A `MetaEmbed`.
    RETURNS (Model[List[Doc], Floats2d]): (n_docs, n_labels) probabilities.
    """
    layers = [embed, encoder, output_layer, Probabilities(exclusive_classes)]
    if linear_model is not None:
        layers.append(linear_model)
    if meta_embed is not None:
        layers.append(meta_embed)
    model = Model(
        "lstm_textcat",
        _forward,
        init=_init,
        layers=layers,
        dims={"nO": nO},
        attrs={"exclusive_classes": exclusive_classes, "use_target": use_target},
    )
    model.set_ref("embed", embed)
    model.set_ref("encoder", encoder)
    model.set_ref("output_layer", output_layer)
    if linear_model is not None:
        model.set_ref("linear_model", linear_model)
    if meta_embed is not None:
        model.set_ref("meta_embed", meta_embed)
    return model


def _batch(model: Model, docs: List[Doc]) -> Tuple[List[Doc], List[int]]:
    """The docs and targets that `embed` reads, and each doc's target."""
    if model.attrs["use_target"]:
        targets, doc_target = target_docs(docs)
    else:
        targets, doc_target = [], [-1] * len(docs)
    return docs + targets, doc_target


def _init(model: Model[List[Doc], Floats2d], X: Optional[List[Doc]] = None, Y=None) -> None:
    embed, encoder, output_layer, probabilities = model.layers[:4]
    docs = list(X) if X else None
    if docs:
        batch, doc_target = _batch(model, docs)
        embed.initialize(X=batch)
        vectors = embed.predict(batch)
        encoder.initialize(X=(vectors[: len(docs)], vectors[len(docs) :], doc_target))
    else:
        embed.initialize()
        encoder.initialize()
    meta_nO = model.get_ref("meta_embed").get_dim("nO") if model.has_ref("meta_embed") else 0
    if not output_layer.has_dim("nI"):
        output_layer.set_dim("nI", encoder.get_dim("nO") + meta_nO)
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
        linear.initialize(X=docs)
    if model.has_ref("meta_embed"):
        # Last, so that the other layers draw the same initial weights from
        # the seeded generators as in a model without metadata.
        model.get_ref("meta_embed").initialize(X=docs)


def _forward(model: Model[List[Doc], Floats2d], docs: List[Doc], is_train: bool) -> Tuple[Floats2d, Callable]:
    embed, encoder, output_layer, probabilities = model.layers[:4]
    if not docs:
        return model.ops.alloc2f(0, output_layer.get_dim("nO")), lambda dY: []
    batch, doc_target = _batch(model, docs)
    vectors, backprop_embed = embed(batch, is_train)
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
