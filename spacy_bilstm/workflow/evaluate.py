"""Score a trained pipeline on a .spacy DocBin.

``spacy evaluate`` reads the data with `spacy.Corpus`, which builds the Docs
the pipeline predicts on from the text alone and so drops
``doc._.stance_target``: a target-conditioned stance classifier would be
scored without its targets. This reads the data with the package's
`StanceCorpus` (which copies the targets; for NER data it behaves like
`spacy.Corpus`) and scores with `Language.evaluate`, the scorer the training
loop uses, so dev scores here match the training log.

With ``pool_weight``, the stance predictions are pooled by debate and party
(`spacy_bilstm.debate_pooling`) over the whole file before scoring, as a
user pools a debate's speeches after `nlp.pipe`.
"""
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Dict, Optional, Union

from ..errors import InputError, ModelLoadError


def evaluate_pipeline(
    model: Union[str, Path],
    data_path: Union[str, Path],
    *,
    gpu_id: int = -1,
    batch_size: int = 256,
    threads: int = 0,
    pool_weight: Optional[float] = None,
) -> Dict[str, Any]:
    """Evaluate a pipeline on gold Docs.

    model (Union[str, Path]): Anything `spacy.load` takes.
    data_path (Union[str, Path]): A .spacy file (or a directory of them).
    gpu_id (int): GPU to run on; -1 for the CPU.
    batch_size (int): `nlp.evaluate` batch size.
    threads (int): torch's intra-op threads on the CPU; 0 keeps torch's default.
    pool_weight (Optional[float]): Pool the predicted cats by debate
        (``meta["group"]``) and party with this weight before scoring; None
        scores each document's own prediction.
    RETURNS (Dict[str, Any]): The scores (as `Language.evaluate` names them,
        0-1, plus "speed" in words per second) and "n_docs", "model",
        "data", "seconds"; with pooling also "pooling" (its counts).
    RAISES (InputError): If the data is missing or empty.
    RAISES (ModelLoadError): If the pipeline cannot be loaded.
    """
    import spacy
    from thinc.api import require_gpu

    from ..corpora.spacy_readers import StanceCorpus

    data_path = Path(data_path)
    if not data_path.exists():
        raise InputError("evaluation data not found", path=data_path, reason="missing_file")
    if gpu_id >= 0:
        require_gpu(gpu_id)
    elif threads > 0:
        import torch

        torch.set_num_threads(threads)
    try:
        nlp = spacy.load(model)
    except (OSError, ValueError) as err:
        raise ModelLoadError(f"cannot load pipeline {model}: {err}") from err
    examples = list(StanceCorpus(data_path)(nlp))
    if not examples:
        raise InputError("no documents to evaluate on", path=data_path, reason="empty_file")
    began = time.perf_counter()
    extra: Dict[str, Any] = {}
    if pool_weight is None:
        scores = nlp.evaluate(examples, batch_size=batch_size)
    else:
        from spacy.scorer import Scorer

        from ..debate_pooling import pool_debate_stance

        # What Language.evaluate does, with the pooling between predicting
        # and scoring: pooling needs every speech of a debate at once.
        predicted = list(nlp.pipe((eg.predicted for eg in examples), batch_size=batch_size))
        words_per_second = sum(len(doc) for doc in predicted) / max(time.perf_counter() - began, 1e-9)
        try:
            report = pool_debate_stance(predicted, pool_weight)
        except InputError as err:
            # The documents are the file's: name it (an NER pipeline sets no cats).
            raise InputError(f"--pool-by-debate needs a stance classifier: {err.message}", path=data_path,
                             reason=err.reason) from None
        extra["pooling"] = {"weight": pool_weight, **asdict(report)}
        for eg, doc in zip(examples, predicted):
            eg.predicted = doc
        scores = {**Scorer(nlp).score(examples), "speed": words_per_second}
    return {
        **scores,
        **extra,
        "n_docs": len(examples),
        "model": str(model),
        "data": str(data_path),
        "seconds": round(time.perf_counter() - began, 3),
    }
