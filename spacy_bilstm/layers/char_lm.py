"""Contextual token features from pretrained character language models.

`spacy_bilstm.CharLMEmbed.v1` reads each Doc with the frozen forward and
backward byte-level language models that `spacy-bilstm char-lm` trained on
raw parliamentary and news text (see `char_lm_torch.py`), and gives every
token the two models' states around it. The models are loaded from `path`
in `initialize` and saved with the pipeline, so a trained pipeline needs no
file beside it. They are not updated while the tagger trains: the features
are fixed, and what learns is the layer that reads them.
"""
from collections import OrderedDict
from functools import partial
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import Model, torch2xp
from thinc.types import Floats2d

from .serialize import load_torch_state, save_torch_state

# While training, each sentence's features are kept (they never change: the
# language models are frozen), so that epochs after the first skip the
# language models, which cost three times the rest of a training step. The
# cache stops growing at `cache_tokens` tokens (1,024 floats each for 512
# units a direction) and is never written outside training. Kept outside
# `model.attrs`, which thinc serializes, keyed by thinc's model id; only the
# most recently trained few models keep one.
_CACHES: "OrderedDict[int, _FeatureCache]" = OrderedDict()
_MAX_CACHED_MODELS = 2


class _FeatureCache:
    """Features by sentence (its words), up to a number of tokens."""

    def __init__(self, max_tokens: int) -> None:
        self.features: Dict[Tuple[str, ...], Floats2d] = {}
        self.tokens = 0
        self.max_tokens = max_tokens

    def add(self, words: Tuple[str, ...], features: Floats2d) -> None:
        if self.tokens + len(features) <= self.max_tokens:
            self.features[words] = features
            self.tokens += len(features)


def _cache_for(model: Model) -> Optional[_FeatureCache]:
    if model.attrs["cache_tokens"] <= 0:
        return None
    cache = _CACHES.pop(model.id, None)
    if cache is None:
        cache = _FeatureCache(model.attrs["cache_tokens"])
        while len(_CACHES) >= _MAX_CACHED_MODELS:
            _CACHES.popitem(last=False)
    _CACHES[model.id] = cache
    return cache


# Sentences are read in chunks whose padded size (sentences × longest, in
# bytes) stays under this, so a batch of a thousand Docs does not allocate a
# thousand times the longest one's states at once.
MAX_PADDED_BYTES = 1 << 15


@registry.layers("spacy_bilstm.CharLMEmbed.v1")
def CharLMEmbed(
    path: Optional[Union[str, Path]] = None, dropout: float = 0.0, cache_tokens: int = 300_000
) -> Model[List[Doc], List[Floats2d]]:
    """Token features from frozen forward and backward character language models.

    path (Optional[Union[str, Path]]): The file `spacy-bilstm char-lm` wrote,
        read in `initialize`. May be null in a config used only to load a
        trained pipeline, whose weights hold the models.
    dropout (float): While training, the rate at which feature values are
        zeroed (and the rest scaled up). The features are fixed and spell
        out each word, so without it the tagger can memorise its training
        sentences through them.
    cache_tokens (int): While training, keep the features of up to this many
        tokens' sentences, so that later epochs need not recompute them
        (0: no cache).
    RETURNS (Model[List[Doc], List[Floats2d]]): Width twice the models'
        hidden width (`nO`, set in `initialize` or when weights are loaded).
        Whitespace tokens get zeros.
    """
    from thinc.shims import PyTorchShim

    shim = PyTorchShim(None, serialize_model=save_torch_state, deserialize_model=_load_state)
    return Model(
        "char_lm",
        _forward,
        init=partial(_init, path=path),
        shims=[shim],
        dims={"nO": None},
        attrs={"cache_tokens": cache_tokens, "dropout": dropout},
    )


def _load_state(module, data: bytes, device):
    from .char_lm_torch import BiCharLanguageModel

    module = load_torch_state(module, data, device, build_from_state=BiCharLanguageModel.from_state)
    if module is not None:
        module.eval()
        module.requires_grad_(False)
    return module


_NO_MODELS = (
    "spacy_bilstm.CharLMEmbed.v1 has no language models: give its `path` (a file written by "
    "`python -m spacy_bilstm char-lm DATA_DIR OUT.pt`) and initialize the pipeline."
)


def _language_models(model: Model):
    lm = model.shims[0]._model
    if lm is None:
        raise ValueError(_NO_MODELS)
    return lm


def _init(model: Model, X=None, Y=None, *, path) -> None:
    from thinc.api import get_torch_default_device

    from .char_lm_torch import load_char_lm

    if model.shims[0]._model is None:
        if path is None:
            raise ValueError(_NO_MODELS)
        lm = load_char_lm(Path(path)).to(get_torch_default_device())
        lm.requires_grad_(False)
        model.shims[0]._model = lm
    model.set_dim("nO", 2 * model.shims[0]._model.hidden_width, force=True)


def _chunks(sentences: Sequence[Sequence[str]]) -> List[Tuple[int, int]]:
    """(start, end) of consecutive runs of sentences within the padded budget."""
    out, start, longest = [], 0, 0
    for i, words in enumerate(sentences):
        size = sum(len(word) for word in words) * 2 + len(words) + 2  # bytes, roughly
        longest = max(longest, size)
        if i > start and longest * (i + 1 - start) > MAX_PADDED_BYTES:
            out.append((start, i))
            start, longest = i, size
    if start < len(sentences):
        out.append((start, len(sentences)))
    return out


def _forward(model: Model, docs: List[Doc], is_train: bool) -> Tuple[List[Floats2d], Callable]:
    lm = _language_models(model)
    width = 2 * lm.hidden_width
    # Whitespace tokens were never in the language models' text (tokens are
    # joined by single spaces there): they are left out and get zeros.
    kept = [[i for i, token in enumerate(doc) if not token.is_space] for doc in docs]
    sentences = [tuple(doc[i].text for i in indices) for doc, indices in zip(docs, kept)]
    cache = _cache_for(model) if is_train else None
    features: List[Optional[Floats2d]] = [None] * len(sentences)
    missing = list(range(len(sentences)))
    if cache is not None:
        for i, words in enumerate(sentences):
            features[i] = cache.features.get(words)
        missing = [i for i, found in enumerate(features) if found is None]
    todo = [sentences[i] for i in missing]
    computed = []
    for start, end in _chunks(todo):
        computed.extend(model.ops.asarray2f(torch2xp(found)) for found in lm.features(todo[start:end]))
    for i, found in zip(missing, computed):
        features[i] = found
        if cache is not None:
            cache.add(sentences[i], found)
    Y = []
    for doc, indices, found in zip(docs, kept, features):
        array = model.ops.alloc2f(len(doc), width)
        if indices:
            array[model.ops.asarray1i(indices)] = found
        Y.append(array)
    rate = model.attrs["dropout"]
    if is_train and rate > 0.0:
        # New arrays, never the cached ones.
        Y = [y * model.ops.get_dropout_mask(y.shape, rate) for y in Y]

    def backprop(dY: List[Floats2d]) -> List[Doc]:
        # Frozen: no gradient flows into the language models.
        return []

    return Y, backprop
