"""What `bilstm_ner` and `lstm_textcat` share: a sorted label set fixed at
initialization, the training step, heap trimming, and load errors that name
the component and where it was read from.

Subclasses supply the differences through hooks: which weights exist once
initialized (`label_weights`), which labels an example has (`_example_labels`),
what a label set must satisfy (`_check_labels`), what the model needs before
its shapes are inferred (`_prepare_model`), extra checks of training data
(`_check_training_data`, `_validate_examples`) and of a loaded component
(`_load_snapshot`, `_check_loaded`).
"""
from itertools import islice
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from spacy.errors import Errors
from spacy.language import Language
from spacy.pipeline.trainable_pipe import TrainablePipe
from spacy.tokens import Doc
from spacy.training import Example, validate_examples, validate_get_examples
from spacy.vocab import Vocab
from thinc.api import Model, Optimizer, set_dropout_rate

from ..errors import ModelLoadError
from ..extensions import install_extensions
from .memory import HeapTrimmer


class LabelledPipe(TrainablePipe):
    """A trainable pipe whose labels are kept sorted in `cfg["labels"]` and
    can only change before its model is initialized."""

    # (ref, param) of the label-dependent weights: the pipe is initialized
    # once they exist.
    label_weights: Tuple[str, str]

    def __init__(
        self,
        vocab: Vocab,
        model: Model,
        name: str,
        *,
        scorer: Optional[Callable],
        cfg: Dict[str, Any],
    ) -> None:
        """Initialize the component.

        vocab (Vocab): The shared vocabulary.
        model (Model): The thinc model.
        name (str): The component instance name.
        scorer (Optional[Callable]): The scoring method.
        cfg (Dict[str, Any]): The component's own settings; "labels" is
            added, empty.
        """
        install_extensions()
        self.vocab = vocab
        self.model = model
        self.name = name
        self.scorer = scorer
        # Keeps resident memory flat over long training runs (see memory.py).
        self._heap_trimmer = HeapTrimmer()
        self.cfg: Dict[str, Any] = {"labels": [], **cfg}

    @property
    def labels(self) -> Tuple[str, ...]:
        """The labels, sorted."""
        return tuple(self.cfg["labels"])

    @property
    def label_data(self) -> List[str]:
        return list(self.labels)

    def _is_initialized(self) -> bool:
        ref, param = self.label_weights
        layer = self.model.get_ref(ref)
        return layer.has_param(param) and layer.get_param(param) is not None

    def add_label(self, label: str) -> int:
        """Add a label before the component is initialized.

        label (str): The label to add.
        RETURNS (int): 0 if the label is already present, otherwise 1.
        """
        if not isinstance(label, str):
            raise ValueError(Errors.E187)
        if label in self.labels:
            return 0
        self._allow_extra_label()
        if self._is_initialized():
            raise ValueError(
                f"Cannot add label '{label}' to '{self.name}': it is already "
                "initialized. Add labels before nlp.initialize()."
            )
        self._set_labels([*self.labels, label])
        return 1

    def _set_labels(self, labels: Iterable[str]) -> None:
        self.cfg["labels"] = sorted(labels)
        for label in self.labels:
            self.vocab.strings.add(label)

    def initialize(
        self,
        get_examples: Callable[[], Iterable[Example]],
        *,
        nlp: Optional[Language] = None,
        labels: Optional[Sequence[str]] = None,
    ) -> None:
        """Collect the labels and infer the model's shapes from examples.

        get_examples (Callable[[], Iterable[Example]]): The training examples.
        nlp (Language): The current nlp object.
        labels (Optional[Sequence[str]]): Labels to use instead of reading
            them from the data (e.g. from `spacy init labels`).
        """
        validate_get_examples(get_examples, f"{type(self).__name__}.initialize")
        self._check_training_data(get_examples)
        if labels is not None:
            found = set(labels)
        else:
            found = set(self.labels)
            for example in get_examples():
                found.update(self._example_labels(example))
        self._check_labels(found)
        self._set_labels(found)
        self._prepare_model(get_examples)
        # Up to 10 non-empty reference docs are enough to infer the shapes.
        doc_sample = [eg.reference for eg in islice(get_examples(), 10)]
        doc_sample = [doc for doc in doc_sample if len(doc)] or [Doc(self.vocab, words=["x"])]
        self.model.initialize(X=doc_sample)

    def _check_training_data(self, get_examples: Callable[[], Iterable[Example]]) -> None:
        """Reject training data the pipe cannot learn from, before anything
        is set."""

    def _example_labels(self, example: Example) -> Iterable[str]:
        """The labels an example's reference annotates."""
        raise NotImplementedError

    def _check_labels(self, labels: Iterable[str]) -> None:
        """Raise if the pipe cannot be trained with these labels."""

    def _prepare_model(self, get_examples: Callable[[], Iterable[Example]]) -> None:
        """Set what the model cannot infer from a sample of docs (such as
        output widths from the labels)."""

    def _validate_examples(self, examples: List[Example], method: str) -> None:
        """Check a batch before training on it; subclasses add their checks."""
        validate_examples(examples, f"{type(self).__name__}.{method}")

    def update(
        self,
        examples: Iterable[Example],
        *,
        drop: float = 0.0,
        sgd: Optional[Optimizer] = None,
        losses: Optional[Dict[str, float]] = None,
    ) -> Dict[str, float]:
        """Learn from a batch of examples.

        examples (Iterable[Example]): A batch of examples.
        drop (float): The dropout rate of the thinc layers (the RNN's own
            dropout is set in the model config).
        sgd (thinc.api.Optimizer): The optimizer.
        losses (Optional[Dict[str, float]]): Accumulated losses by component.
        RETURNS (Dict[str, float]): The updated losses.
        """
        if losses is None:
            losses = {}
        losses.setdefault(self.name, 0.0)
        examples = list(examples)
        self._validate_examples(examples, "update")
        if not any(len(eg.predicted) for eg in examples):
            return losses
        set_dropout_rate(self.model, drop)
        scores, backprop = self.model.begin_update([eg.predicted for eg in examples])
        loss, d_scores = self.get_loss(examples, scores)
        backprop(d_scores)
        if sgd is not None:
            self.finish_update(sgd)
        losses[self.name] += loss
        self._heap_trimmer.step()
        return losses

    def _load_snapshot(self) -> Any:
        """What `_check_loaded` compares the loaded component with, taken
        before the weights (and the settings saved with them) are read."""
        return None

    def _check_loaded(self, where: str, snapshot: Any) -> None:
        """Raise `ModelLoadError` if the loaded weights do not fit the cfg."""

    def from_bytes(self, bytes_data: bytes, *, exclude=tuple()) -> "LabelledPipe":
        """Load the component from bytes; see `TrainablePipe.from_bytes`."""
        snapshot = self._load_snapshot()
        try:
            super().from_bytes(bytes_data, exclude=exclude)
        except ModelLoadError:
            raise
        except Exception as err:
            raise ModelLoadError(f"Could not load '{self.name}' from bytes: {_describe(err)}") from err
        self._check_loaded("bytes", snapshot)
        return self

    def from_disk(self, path, *, exclude=tuple()) -> "LabelledPipe":
        """Load the component from a directory; see `TrainablePipe.from_disk`."""
        snapshot = self._load_snapshot()
        try:
            super().from_disk(path, exclude=exclude)
        except ModelLoadError as err:
            raise ModelLoadError(f"{path}: {err}") from err
        except Exception as err:
            raise ModelLoadError(
                f"{path}: could not load '{self.name}' (corrupt or incomplete model "
                f"directory?): {_describe(err)}"
            ) from err
        self._check_loaded(str(path), snapshot)
        return self


def _describe(err: Exception) -> str:
    """The error's type and first line, for a one-line message (the full
    error stays attached as the cause)."""
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}"
