"""The `spacy_bilstm.MixedCorpus.v1` reader: train on several corpora at once.

A model for parliamentary text learns most from a little parliamentary gold,
but also needs the volume of a news corpus. Concatenating them lets the
larger corpus drown the smaller one (CoNLL-2003 has ten times the sentences
of our parliamentary corpus), so this reader draws each training example
from one corpus chosen with a probability proportional to its weight:

```ini
[corpora.train]
@readers = "spacy_bilstm.MixedCorpus.v1"
seed = ${system.seed}
epoch_size = 0

[corpora.train.paths]
news = ${paths.train}
parliament = ${paths.parliament_train}

[corpora.train.weights]
news = 1.0
parliament = 1.0
```

Within a corpus, examples are drawn without replacement in a shuffled order,
and reshuffled when it runs out, so a corpus is seen evenly rather than at
random. Each call of the reader (spaCy calls it once per epoch when
``training.max_epochs = -1``) draws a fresh, seeded epoch: the draw depends
only on the seed and the epoch number, never on the machine.
"""
import random
from pathlib import Path
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Union

import spacy
from spacy.language import Language
from spacy.training import Example

from ..errors import InputError
from ..extensions import install_extensions
from .spacy_readers import StanceCorpus


class MixedCorpus:
    """Draw training examples from several corpora by weight.

    corpora (Dict[str, Callable[[Language], Iterable[Example]]]): The corpora
        by name.
    weights (Dict[str, float]): Each corpus's share of the draws (normalised;
        a corpus with weight 0 is never drawn).
    seed (int): Seed of the draw.
    epoch_size (int): Examples per call; 0 = the corpora's sizes added up.
    """

    def __init__(
        self,
        corpora: Dict[str, Callable[[Language], Iterable[Example]]],
        weights: Dict[str, float],
        *,
        seed: int = 0,
        epoch_size: int = 0,
    ) -> None:
        self.corpora = corpora
        self.weights = weights
        self.seed = seed
        self.epoch_size = epoch_size
        self.epoch = 0
        self._examples: Optional[Dict[str, List[Example]]] = None

    def _load(self, nlp: Language) -> Dict[str, List[Example]]:
        # The examples are read once and reused, as spaCy's own training loop
        # reuses them when it materialises a corpus.
        if self._examples is None:
            self._examples = {}
            for name, corpus in self.corpora.items():
                examples = list(corpus(nlp))
                if not examples and self.weights[name] > 0:
                    path = getattr(corpus, "path", None)
                    raise InputError(f"corpus {name!r} has no documents", path=path, reason="empty_corpus")
                self._examples[name] = examples
        return self._examples

    def sizes(self, nlp: Language) -> Dict[str, int]:
        """The number of examples in each corpus.

        nlp (Language): The pipeline the examples are made for.
        RETURNS (Dict[str, int]): The sizes by corpus name.
        """
        return {name: len(examples) for name, examples in self._load(nlp).items()}

    def __call__(self, nlp: Language) -> Iterator[Example]:
        """Yield one epoch of examples, drawn by weight.

        nlp (Language): The pipeline the examples are made for.
        YIELDS (Example): The examples, in drawing order.
        """
        examples = self._load(nlp)
        rng = random.Random(f"{self.seed}:{self.epoch}")
        self.epoch += 1
        names = [name for name in sorted(examples) if self.weights[name] > 0]
        weights = [self.weights[name] for name in names]
        size = self.epoch_size or sum(len(examples[name]) for name in examples)
        orders: Dict[str, List[int]] = {name: [] for name in names}
        for name in rng.choices(names, weights=weights, k=size):
            if not orders[name]:
                orders[name] = list(range(len(examples[name])))
                rng.shuffle(orders[name])
            yield examples[name][orders[name].pop()]


@spacy.registry.readers("spacy_bilstm.MixedCorpus.v1")
def create_mixed_corpus(
    paths: Dict[str, Optional[Union[str, Path]]],
    weights: Dict[str, float],
    seed: int = 0,
    epoch_size: int = 0,
    max_length: int = 0,
    gold_preproc: bool = False,
) -> Callable[[Language], Iterable[Example]]:
    """Create a reader that draws examples from several .spacy corpora by weight.

    paths (Dict[str, Optional[Union[str, Path]]]): A .spacy file or directory
        for each corpus, by name.
    weights (Dict[str, float]): Each corpus's share of the draws, by the same
        names; normalised, so ``{news: 1, parliament: 1}`` draws half from
        each whatever their sizes.
    seed (int): Seed of the draw; use ``${system.seed}``.
    epoch_size (int): Examples per epoch; 0 = the corpora's sizes added up.
    max_length (int): As for `spacy.Corpus.v1`.
    gold_preproc (bool): As for `spacy.Corpus.v1`.
    RETURNS (Callable[[Language], Iterable[Example]]): The reader.
    RAISES (InputError): A corpus without a weight or a weight without a
        corpus, a negative weight, no positive weight, or a path that does not
        exist; the error names the corpus.
    """
    if set(paths) != set(weights):
        raise InputError(
            f"spacy_bilstm.MixedCorpus.v1: paths and weights must name the same corpora "
            f"(paths: {sorted(paths)}, weights: {sorted(weights)})",
            reason="bad_argument",
        )
    for name, weight in weights.items():
        if weight < 0:
            raise InputError(f"corpus {name!r}: weight {weight} is negative", reason="bad_argument")
    if not any(weight > 0 for weight in weights.values()):
        raise InputError("spacy_bilstm.MixedCorpus.v1: no corpus has a positive weight", reason="bad_argument")
    if epoch_size < 0:
        raise InputError(f"epoch_size must be >= 0, got {epoch_size}", reason="bad_argument")
    corpora = {}
    for name, path in paths.items():
        if path is None:
            raise InputError(f"corpus {name!r}: no path given (an unset [paths] variable?)", reason="bad_argument")
        if not Path(path).exists():
            raise InputError(f"corpus {name!r}: path does not exist: {path}", path=path, reason="missing_file")
        corpora[name] = StanceCorpus(path, gold_preproc=gold_preproc, max_length=max_length)
    install_extensions()
    return MixedCorpus(corpora, dict(weights), seed=seed, epoch_size=epoch_size)
