"""Word dropout: drop a token's whole word vector during training."""
from typing import Callable, List, Tuple

from thinc.api import Model, registry
from thinc.types import Floats2d


@registry.layers("spacy_bilstm.WordDropout.v1")
def WordDropout(rate: float) -> Model[List[Floats2d], List[Floats2d]]:
    """Zero each token's row with probability `rate` while training.

    Unlike ordinary dropout, which thins out units, this removes a token's
    word embedding altogether (no rescaling, as if the word were unknown), so
    the tagger learns to recognise entities from spelling (the character
    features, which are not dropped) and context. That is what it needs on
    test sets whose names were never seen in training (Lample et al. 2016
    replace singletons with an unknown-word vector for the same reason).
    Prediction is unchanged.

    rate (float): Probability of dropping a token's vector, in [0, 1).
    RETURNS (Model[List[Floats2d], List[Floats2d]]): Same shapes out as in.
    """
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"word dropout must be in [0, 1), got {rate}")
    # The attribute is not called "dropout_rate" on purpose: the pipe's
    # `update(drop=...)` sets every "dropout_rate" in the model.
    return Model("word_dropout", _forward, attrs={"word_dropout": rate})


def _forward(
    model: Model[List[Floats2d], List[Floats2d]], Xs: List[Floats2d], is_train: bool
) -> Tuple[List[Floats2d], Callable]:
    rate = model.attrs["word_dropout"]
    if not is_train or rate == 0.0 or not Xs:
        return Xs, lambda dYs: dYs
    xp = model.ops.xp
    # numpy's global generator (seeded by spaCy's fix_random_seed) on CPU.
    masks = [(xp.random.uniform(0.0, 1.0, (X.shape[0], 1)) >= rate).astype(X.dtype) for X in Xs]
    Ys = [X * mask for X, mask in zip(Xs, masks)]

    def backprop(dYs: List[Floats2d]) -> List[Floats2d]:
        return [dY * mask for dY, mask in zip(dYs, masks)]

    return Ys, backprop
