"""The `bilstm_ner` component: a BiLSTM-CRF entity recognizer for spaCy."""
from typing import Callable, Dict, Iterable, List, Optional, Tuple

import numpy
from spacy import util
from spacy.attrs import IS_SPACE
from spacy.errors import Errors
from spacy.language import Language
from spacy.scorer import get_ner_prf
from spacy.tokens import Doc, Span, SpanGroup
from spacy.training import Example, validate_examples
from spacy.vocab import Vocab
from thinc.api import Config, Model

from ..errors import ModelLoadError
from ..extensions import ENT_CONFIDENCES, confidence_key
from ..layers.crf import CRFScores, crf_decode_and_marginals, crf_loss
from ..tags import gold_tag_ids, same_tokens, split_tag, tag_ids_from_strings, tag_names, tags_to_spans
from .base import LabelledPipe
from .oom import predict_splitting_on_oom
from .spans import scored_spans, span_log_prob

DEFAULT_NER_MODEL = """
[model]
@architectures = "spacy_bilstm.BiLSTMCRFTagger.v1"
hidden_width = 128
depth = 1
cell = "lstm"
dropout = 0.3
use_crf = true

[model.tok2vec]
@architectures = "spacy_bilstm.WordCharEmbed.v2"
width = 96
attrs = ["NORM", "PREFIX", "SUFFIX", "SHAPE"]
rows = [5000, 1000, 2500, 2500]
char_width = 50
word_dropout = 0.3
"""
DEFAULT_MODEL = Config().from_str(DEFAULT_NER_MODEL)["model"]


@Language.factory(
    "bilstm_ner",
    assigns=["doc.ents", "token.ent_iob", "token.ent_type"],
    default_config={
        "model": DEFAULT_MODEL,
        "overwrite_ents": True,
        "spans_key": None,
        "spans_threshold": 0.1,
        "max_span_length": 12,
        "scorer": {"@scorers": "spacy_bilstm.ner_scorer.v1"},
    },
    default_score_weights={"ents_f": 1.0, "ents_p": 0.0, "ents_r": 0.0, "ents_per_type": None},
)
def make_bilstm_ner(
    nlp: Language,
    name: str,
    model: Model[List[Doc], CRFScores],
    overwrite_ents: bool,
    spans_key: Optional[str],
    spans_threshold: float,
    max_span_length: int,
    scorer: Optional[Callable],
) -> "BiLSTMEntityRecognizer":
    """Create a `bilstm_ner` component.

    model (Model[List[Doc], CRFScores]): A tagger ending in a CRF layer
        (ref "crf") that returns BILUO emission and transition scores, such as
        `spacy_bilstm.BiLSTMCRFTagger.v1`.
    overwrite_ents (bool): Replace existing `doc.ents`; if False, keep them
        and add only predictions that do not overlap them.
    spans_key (Optional[str]): If set, also write every span whose marginal
        probability reaches `spans_threshold` to `doc.spans[spans_key]`, with
        the probabilities in `doc.spans[spans_key].attrs["scores"]`.
    spans_threshold (float): The minimum probability for `spans_key`.
    max_span_length (int): The longest span (in tokens) scored for `spans_key`.
    scorer (Optional[Callable]): The scoring method.
    """
    return BiLSTMEntityRecognizer(
        nlp.vocab,
        model,
        name,
        overwrite_ents=overwrite_ents,
        spans_key=spans_key,
        spans_threshold=spans_threshold,
        max_span_length=max_span_length,
        scorer=scorer,
    )


def ner_score(examples: Iterable[Example], **kwargs) -> Dict[str, object]:
    """Entity P/R/F overall and per type, exactly as spaCy's `ner` reports."""
    return get_ner_prf(examples, **kwargs)


@util.registry.scorers("spacy_bilstm.ner_scorer.v1")
def make_ner_scorer() -> Callable:
    return ner_score


class BiLSTMEntityRecognizer(LabelledPipe):
    """Predict named entities with a BiLSTM-CRF over BILUO tags.

    Decoding is constrained Viterbi, so the output is always a valid BILUO
    sequence. Each entity's marginal probability is available as
    `span._.confidence`.
    """

    label_weights = ("crf", "transitions")

    def __init__(
        self,
        vocab: Vocab,
        model: Model,
        name: str = "bilstm_ner",
        *,
        overwrite_ents: bool = True,
        spans_key: Optional[str] = None,
        spans_threshold: float = 0.1,
        max_span_length: int = 12,
        scorer: Optional[Callable] = ner_score,
    ) -> None:
        """Initialize the component.

        vocab (Vocab): The shared vocabulary.
        model (Model): The thinc model (see `make_bilstm_ner`).
        name (str): The component instance name.
        overwrite_ents (bool): Replace existing entities.
        spans_key (Optional[str]): Where to write all scored spans, if anywhere.
        spans_threshold (float): Minimum span probability for `spans_key`.
        max_span_length (int): Longest span scored for `spans_key`.
        scorer (Optional[Callable]): The scoring method.
        """
        super().__init__(
            vocab,
            model,
            name,
            scorer=scorer,
            cfg={
                "overwrite_ents": overwrite_ents,
                "spans_key": spans_key,
                "spans_threshold": spans_threshold,
                "max_span_length": max_span_length,
            },
        )

    @property
    def tag_names(self) -> List[str]:
        """The BILUO tags the model scores, in the order of its outputs."""
        return tag_names(self.labels)

    def _example_labels(self, example: Example) -> Iterable[str]:
        return (ent.label_ for ent in example.reference.ents)

    def _check_labels(self, labels: Iterable[str]) -> None:
        if not labels:
            raise ValueError(
                f"'{self.name}' found no entity labels: the training data has no "
                "entities and no labels were given. Check that the corpus has "
                "entity annotation, or pass labels under "
                f"[initialize.components.{self.name}]."
            )

    def _prepare_model(self, get_examples: Callable[[], Iterable[Example]]) -> None:
        n_tags = len(self.tag_names)
        for ref in ("output_layer", "crf"):
            layer = self.model.get_ref(ref)
            if not layer.has_dim("nO") or layer.get_dim("nO") is None:
                layer.set_dim("nO", n_tags)

    def predict(self, docs: Iterable[Doc]) -> CRFScores:
        """Score BILUO tags for every token, without changing the docs.

        docs (Iterable[Doc]): The documents.
        RETURNS (CRFScores): Emission scores per doc, with the constrained
            transition scores.
        """
        docs = list(docs)
        if not self._is_initialized():
            raise ValueError(Errors.E109.format(name=self.name))
        if not any(len(doc) for doc in docs):
            n_tags = len(self.tag_names)
            return self.model.get_ref("crf").predict([self.model.ops.alloc2f(len(doc), n_tags) for doc in docs])
        parts = predict_splitting_on_oom(lambda batch: [self.model.predict(batch)], docs, self.name)
        return CRFScores.join(parts)

    def set_annotations(self, docs: Iterable[Doc], scores: CRFScores) -> None:
        """Decode the best valid tag sequences and set `doc.ents`.

        docs (Iterable[Doc]): The documents to modify.
        scores (CRFScores): The scores from `predict`.
        """
        docs = list(docs)
        allowed = [self._allowed_tags(doc) for doc in docs]
        tags, tables = crf_decode_and_marginals(scores, allowed)
        transitions = self.model.ops.to_numpy(scores.transitions)
        label_index = {label: i for i, label in enumerate(self.labels)}
        for doc, doc_tags, table in zip(docs, tags, tables):
            spans = [
                Span(doc, start, end, label=label)
                for start, end, label in tags_to_spans(doc_tags.tolist(), self.labels)
            ]
            confidences = {
                confidence_key(s.start, s.end, s.label_): _probability(
                    span_log_prob(table, transitions, s.start, s.end, label_index[s.label_])
                )
                for s in spans
            }
            if self.cfg["overwrite_ents"]:
                doc.set_ents(spans, default="outside")
            else:
                taken = set()
                for ent in doc.ents:
                    taken.update(range(ent.start, ent.end))
                new = [s for s in spans if not taken.intersection(range(s.start, s.end))]
                doc.set_ents(new, default="unmodified")
            doc._.set(ENT_CONFIDENCES, confidences)
            if self.cfg["spans_key"]:
                self._set_scored_spans(doc, table, transitions)

    def _allowed_tags(self, doc: Doc) -> Optional[numpy.ndarray]:
        # Whitespace tokens are never part of an entity, as in spaCy's ner.
        spaces = numpy.flatnonzero(doc.to_array(IS_SPACE))
        if not len(spaces):
            return None
        allowed = numpy.ones((len(doc), len(self.tag_names)), dtype=bool)
        allowed[spaces, 1:] = False
        return allowed

    def _set_scored_spans(self, doc: Doc, table, transitions: numpy.ndarray) -> None:
        found = scored_spans(
            table,
            transitions,
            len(self.labels),
            int(self.cfg["max_span_length"]),  # type: ignore[arg-type]
            float(self.cfg["spans_threshold"]),  # type: ignore[arg-type]
        )
        spans = [Span(doc, s, e, label=self.labels[k]) for s, e, k, _ in found]
        group = SpanGroup(doc, name=str(self.cfg["spans_key"]), spans=spans)
        group.attrs["scores"] = numpy.asarray([p for *_, p in found], dtype="float32")
        doc.spans[str(self.cfg["spans_key"])] = group

    def get_loss(self, examples: Iterable[Example], scores: CRFScores) -> Tuple[float, CRFScores]:
        """The CRF negative log-likelihood and its gradient for a batch.

        The gradient with respect to the emission scores is the posterior
        marginals minus the gold-constrained marginals; tokens without gold
        annotation (missing or misaligned) are unconstrained. The gradient
        also holds those of the transition, start and end scores, which the
        model's backprop takes to the CRF layer.

        examples (Iterable[Example]): The batch.
        scores (CRFScores): The scores from the forward pass.
        RETURNS (Tuple[float, CRFScores]): The loss and the gradient.
        """
        examples = list(examples)
        validate_examples(examples, "BiLSTMEntityRecognizer.get_loss")
        label_ids = {self.vocab.strings.add(label): i for i, label in enumerate(self.labels)}
        gold = []
        for example in examples:
            try:
                if same_tokens(example):
                    gold.append(gold_tag_ids(example.reference, label_ids))
                else:
                    tags = example.get_aligned_ner()
                    gold.append(numpy.asarray(tag_ids_from_strings(tags, self.labels), dtype="int64"))
            except KeyError as err:
                label = err.args[0]
                label = self.vocab.strings[label] if isinstance(label, int) else split_tag(label)[1]
                raise ValueError(
                    f"'{self.name}' got the entity label {label!r} in training "
                    f"data, but its labels are {list(self.labels)}. Re-initialize "
                    "on data that includes this label (or add it before initializing)."
                ) from None
        return crf_loss(scores, gold)

    def _check_loaded(self, where: str, snapshot: object) -> None:
        crf = self.model.get_ref("crf")
        if crf.has_dim("nO") and crf.get_dim("nO") is not None:
            expected = len(self.tag_names)
            if crf.get_dim("nO") != expected:
                raise ModelLoadError(
                    f"{where}: '{self.name}' has {len(self.labels)} labels in its "
                    f"cfg ({expected} tags) but its weights score {crf.get_dim('nO')} tags."
                )


def _probability(log_prob: float) -> float:
    # float32 forward-backward can land a hair above 1 for a certain span.
    return round(float(numpy.exp(min(log_prob, 0.0))), 6)
