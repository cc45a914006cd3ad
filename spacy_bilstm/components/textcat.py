"""The `lstm_textcat` component: recurrent (optionally target-conditioned)
text classification for spaCy, writing `doc.cats`.

Stance targets are read from `doc._.stance_target`, and the metadata a
model with `meta_fields` conditions on (e.g. the speaker's party) from
`doc._.meta`. With `nlp.pipe` over `(text, context)` tuples, put both on the
doc before the pipeline runs, e.g. with `with_stance_targets`::

    pairs = [("We must act on emissions now.", {"target": "Climate Change", "meta": {"party": "Lab"}})]
    for doc, context in nlp.pipe(with_stance_targets(nlp, pairs), as_tuples=True):
        print(doc._.stance_target, doc._.meta, doc.cats)

Docs made this way carry both through `nlp.pipe(..., n_process=2)`: spaCy
sends Docs to its workers with their user data.
"""
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy
from spacy import util
from spacy.errors import Errors
from spacy.language import Language
from spacy.scorer import Scorer
from spacy.tokens import Doc
from spacy.training import Example, validate_examples
from spacy.vocab import Vocab
from thinc.api import Config, Model
from thinc.types import Floats2d

from ..errors import ModelLoadError
from ..extensions import META, STANCE_TARGET, install_extensions
from ..layers.meta_embed import set_meta_prior, set_meta_values
from .base import LabelledPipe
from .oom import predict_splitting_on_oom

DEFAULT_TEXTCAT_MODEL = """
[model]
@architectures = "spacy_bilstm.LSTMTextCat.v2"
hidden_width = 64
depth = 1
cell = "lstm"
bidirectional = true
pooling = "max"
dropout = 0.3
use_target = true
max_tokens = 512
truncation = "chunk"
max_target_tokens = 64
attention_width = 64
exclusive_classes = true

[model.tok2vec]
@architectures = "spacy.MultiHashEmbed.v2"
width = 64
attrs = ["NORM", "PREFIX", "SUFFIX", "SHAPE"]
rows = [20000, 5000, 5000, 2500]
include_static_vectors = false
"""
DEFAULT_MODEL = Config().from_str(DEFAULT_TEXTCAT_MODEL)["model"]


@Language.factory(
    "lstm_textcat",
    assigns=["doc.cats"],
    default_config={
        "model": DEFAULT_MODEL,
        "threshold": 0.5,
        "scorer": {"@scorers": "spacy_bilstm.textcat_scorer.v1"},
    },
    default_score_weights={
        "cats_score": 1.0,
        "cats_score_desc": None,
        "cats_micro_p": None,
        "cats_micro_r": None,
        "cats_micro_f": None,
        "cats_macro_p": None,
        "cats_macro_r": None,
        "cats_macro_f": None,
        "cats_macro_auc": None,
        "cats_f_per_type": None,
    },
)
def make_lstm_textcat(
    nlp: Language,
    name: str,
    model: Model[List[Doc], Floats2d],
    threshold: float,
    scorer: Optional[Callable],
) -> "LSTMTextCategorizer":
    """Create an `lstm_textcat` component.

    Whether the classes are exclusive (softmax, one label per doc) or not
    (multi-label, a sigmoid per label) is set by the model's
    `exclusive_classes`; the scorer follows it.

    Long documents: the recurrent model reads at most `max_tokens` tokens
    in one sequence (default 512). Longer docs are, by its `truncation`,
    cut to their head ("head"), to their head and tail ("head_tail"), or
    read whole as chunks of at most `max_tokens` tokens, each encoded from a
    fresh state, with pooling over all chunks ("chunk", the default). Memory
    therefore grows with the number of tokens in a batch, not with the
    longest document times the batch size.

    model (Model[List[Doc], Floats2d]): A model returning one row of
        probabilities per doc, such as `spacy_bilstm.LSTMTextCat.v2` or
        `spacy_bilstm.MeanEmbedTextCat.v2`.
    threshold (float): Cutoff for a positive label in multi-label scoring
        (not used with exclusive classes).
    scorer (Optional[Callable]): The scoring method.
    """
    return LSTMTextCategorizer(nlp.vocab, model, name, threshold=threshold, scorer=scorer)


def textcat_score(examples: Iterable[Example], *, multi_label: bool = False, **kwargs) -> Dict[str, Any]:
    """Score `doc.cats` exactly as spaCy's `textcat` (exclusive classes) or
    `textcat_multilabel` (multi-label) does.

    examples (Iterable[Example]): The examples to score.
    multi_label (bool): Whether the labels are independent.
    RETURNS (Dict[str, Any]): The scores (cats_score, cats_macro_f, ...).
    """
    return Scorer.score_cats(examples, "cats", multi_label=multi_label, **kwargs)


@util.registry.scorers("spacy_bilstm.textcat_scorer.v1")
def make_textcat_scorer() -> Callable:
    return textcat_score


def with_stance_targets(
    nlp: Language,
    data: Iterable[Tuple[str, Any]],
    key: str = "target",
    meta_key: Optional[str] = "meta",
) -> Iterator[Tuple[Doc, Any]]:
    """Turn `(text, context)` pairs into `(doc, context)` pairs whose docs
    carry the stance target `context[key]` and the metadata
    `context[meta_key]`, for `nlp.pipe(..., as_tuples=True)`.

    nlp (Language): The pipeline (only its tokenizer runs here).
    data (Iterable[Tuple[str, Any]]): Texts with a context dict (or None).
    key (str): The context field holding the target; a missing or empty
        field leaves the doc without a target.
    meta_key (Optional[str]): The context field holding a dict copied to
        `doc._.meta` (e.g. {"party": "Lab"}, for a model with
        `meta_fields`); without it `doc._.meta` stays None and the model
        uses its "unknown" vectors. None: never set `doc._.meta`.
    YIELDS (Tuple[Doc, Any]): The tokenized doc and the unchanged context.
    """
    install_extensions()
    for text, context in data:
        doc = nlp.make_doc(text)
        target = context.get(key) if isinstance(context, dict) else None
        doc._.set(STANCE_TARGET, target or None)
        if meta_key is not None and isinstance(context, dict):
            meta = context.get(meta_key)
            if isinstance(meta, dict):
                # A copy: the doc must not change when the caller's context does.
                doc._.set(META, dict(meta))
        yield doc, context


class LSTMTextCategorizer(LabelledPipe):
    """Assign `doc.cats` with a recurrent or averaged-embedding classifier,
    conditioned on `doc._.stance_target` where the model supports it."""

    label_weights = ("output_layer", "W")

    def __init__(
        self,
        vocab: Vocab,
        model: Model,
        name: str = "lstm_textcat",
        *,
        threshold: float = 0.5,
        scorer: Optional[Callable] = textcat_score,
    ) -> None:
        """Initialize the component.

        vocab (Vocab): The shared vocabulary.
        model (Model): The thinc model (see `make_lstm_textcat`).
        name (str): The component instance name.
        threshold (float): Cutoff for multi-label scoring.
        scorer (Optional[Callable]): The scoring method.
        """
        super().__init__(
            vocab,
            model,
            name,
            scorer=scorer,
            cfg={
                "threshold": threshold,
                "positive_label": None,
                "multi_label": not model.attrs.get("exclusive_classes", True),
            },
        )

    @property
    def exclusive_classes(self) -> bool:
        """Whether each doc has exactly one label."""
        return not self.cfg["multi_label"]

    def initialize(
        self,
        get_examples: Callable[[], Iterable[Example]],
        *,
        nlp: Optional[Language] = None,
        labels: Optional[Sequence[str]] = None,
        positive_label: Optional[str] = None,
    ) -> None:
        """Collect the labels and infer the model's shapes from examples; see
        `LabelledPipe.initialize`.

        positive_label (Optional[str]): For two exclusive classes, the label
            whose F-score is `cats_score` (otherwise the macro F-score).
        """
        # Read by `_check_labels`, before any label is set; a failed
        # initialize leaves the setting as it was.
        previous = self.cfg.get("positive_label")
        self.cfg["positive_label"] = positive_label
        try:
            super().initialize(get_examples, nlp=nlp, labels=labels)
        except Exception:
            self.cfg["positive_label"] = previous
            raise

    def _check_training_data(self, get_examples: Callable[[], Iterable[Example]]) -> None:
        self._validate_categories(get_examples())

    def _example_labels(self, example: Example) -> Iterable[str]:
        return example.reference.cats

    def _check_labels(self, labels: Iterable[str]) -> None:
        found = set(labels)
        minimum = 2 if self.exclusive_classes else 1
        if len(found) < minimum:
            raise ValueError(
                f"'{self.name}' found {len(found)} label(s) ({sorted(found)}); it needs "
                f"at least {minimum}{' for exclusive classes' if minimum == 2 else ''}. "
                "Check that the training docs have doc.cats set."
            )
        positive_label = self.cfg["positive_label"]
        if positive_label is not None:
            if positive_label not in found:
                raise ValueError(Errors.E920.format(pos_label=positive_label, labels=sorted(found)))
            if len(found) != 2:
                raise ValueError(Errors.E919.format(pos_label=positive_label, labels=sorted(found)))

    def _prepare_model(self, get_examples: Callable[[], Iterable[Example]]) -> None:
        self.model.get_ref("output_layer").set_dim("nO", len(self.labels))
        if self.model.has_dim("nO") is not False:
            self.model.set_dim("nO", len(self.labels), force=True)
        if self.model.has_ref("meta_embed"):
            # Every training doc, not just the sample below: a value seen only
            # late in the data still gets its own vector. Readers such as
            # StanceCorpus put `_.meta` on both docs of an example.
            meta_embed = self.model.get_ref("meta_embed")
            set_meta_values(meta_embed, (doc for eg in get_examples() for doc in (eg.reference, eg.predicted)))
            if meta_embed.attrs.get("use_prior"):
                set_meta_prior(meta_embed, _labelled_meta_docs(get_examples()), self.labels)

    def _validate_examples(self, examples: List[Example], method: str) -> None:
        super()._validate_examples(examples, method)
        self._validate_categories(examples)

    def _validate_categories(self, examples: Iterable[Example]) -> None:
        for example in examples:
            values = list(example.reference.cats.values())
            for value in values:
                if value not in (0.0, 1.0):
                    raise ValueError(Errors.E851.format(val=value))
            if self.exclusive_classes and values.count(1.0) > 1:
                raise ValueError(Errors.E895.format(value=example.reference.cats))

    def predict(self, docs: Iterable[Doc]) -> Floats2d:
        """Score every label for each doc, without changing the docs.

        docs (Iterable[Doc]): The documents.
        RETURNS (Floats2d): (n_docs, n_labels) probabilities.
        """
        docs = list(docs)
        if not self._is_initialized():
            raise ValueError(Errors.E109.format(name=self.name))
        if not docs:
            return self.model.ops.alloc2f(0, len(self.labels))
        # On a GPU out-of-memory error the batch is halved and retried (with
        # a warning); the model is batch-invariant, so the scores are the same.
        rows = predict_splitting_on_oom(lambda batch: list(self.model.predict(batch)), docs, self.name)
        return self.model.ops.xp.stack(rows)

    def set_annotations(self, docs: Iterable[Doc], scores: Floats2d) -> None:
        """Write the probabilities to `doc.cats`.

        docs (Iterable[Doc]): The documents to modify.
        scores (Floats2d): The scores from `predict`.
        """
        scores = self.model.ops.to_numpy(scores)
        for i, doc in enumerate(docs):
            for j, label in enumerate(self.labels):
                doc.cats[label] = float(scores[i, j])

    def get_loss(self, examples: Iterable[Example], scores: Floats2d) -> Tuple[float, Floats2d]:
        """Cross-entropy (exclusive classes) or binary cross-entropy
        (multi-label) and its gradient with respect to the scores before
        the softmax or sigmoid.

        With exclusive classes, labels missing from an annotated doc's
        `cats` count as 0 (as in spaCy's `textcat`); a doc with empty `cats`
        is unannotated and adds nothing. With multi-label, missing labels
        add nothing (as in `textcat_multilabel`).

        examples (Iterable[Example]): The batch.
        scores (Floats2d): The probabilities from the forward pass.
        RETURNS (Tuple[float, Floats2d]): The loss and the gradient.
        """
        examples = list(examples)
        validate_examples(examples, "LSTMTextCategorizer.get_loss")
        truths = numpy.zeros((len(examples), len(self.labels)), dtype="f")
        known = numpy.zeros((len(examples), len(self.labels)), dtype="f")
        for i, example in enumerate(examples):
            cats = example.reference.cats
            for j, label in enumerate(self.labels):
                if label in cats:
                    truths[i, j] = cats[label]
                    known[i, j] = 1.0
                elif self.exclusive_classes and cats:
                    known[i, j] = 1.0
        probs = self.model.ops.to_numpy(scores).astype("f")
        clipped = numpy.clip(probs, 1e-7, 1.0 - 1e-7)
        if self.exclusive_classes:
            loss = -(known * truths * numpy.log(clipped)).sum()
        else:
            loss = -(known * (truths * numpy.log(clipped) + (1 - truths) * numpy.log(1 - clipped))).sum()
        d_scores = self.model.ops.asarray2f((probs - truths) * known)
        return float(loss), d_scores

    def _meta_fields(self) -> Optional[List[str]]:
        if not self.model.has_ref("meta_embed"):
            return None
        return list(self.model.get_ref("meta_embed").attrs["fields"])

    def _load_snapshot(self) -> Optional[List[str]]:
        return self._meta_fields()

    def _check_loaded(self, where: str, meta_fields: Optional[List[str]]) -> None:
        # The saved fields replace the config's when the weights load; a
        # different list of the same length would otherwise go unnoticed.
        if meta_fields is not None and self._meta_fields() != meta_fields:
            raise ModelLoadError(
                f"{where}: '{self.name}' was saved with meta_fields = "
                f"{self._meta_fields()}, but its model config says {meta_fields}."
            )
        output_layer = self.model.get_ref("output_layer")
        if output_layer.has_dim("nO") and output_layer.get_dim("nO") != len(self.labels):
            raise ModelLoadError(
                f"{where}: '{self.name}' has {len(self.labels)} labels in its cfg but "
                f"its weights score {output_layer.get_dim('nO')}."
            )
        if self.cfg["multi_label"] == bool(self.model.attrs.get("exclusive_classes", True)):
            raise ModelLoadError(
                f"{where}: '{self.name}' was saved with multi_label = "
                f"{self.cfg['multi_label']}, but its model config says "
                f"exclusive_classes = {self.model.attrs.get('exclusive_classes')}."
            )


def _labelled_meta_docs(examples: Iterable[Example]) -> Iterator[Tuple[Doc, str]]:
    """(doc carrying the metadata, gold label) of each single-label example,
    for counting the metadata prior. The predicted doc is the one the model
    reads; readers that put `_.meta` only on the reference are read there."""
    for eg in examples:
        cats = eg.reference.cats
        if not cats:
            continue
        label = max(sorted(cats), key=lambda name: cats[name])
        doc = eg.predicted if isinstance(eg.predicted._.get(META), dict) else eg.reference
        yield doc, label

