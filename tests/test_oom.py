"""Out-of-memory during predict: the batch is split and retried (fault
injection at the torch module boundary, since this machine has no GPU)."""
import pytest
import torch

from spacy_bilstm.layers.recurrent_torch import MaskedRNN
from spacy_bilstm.components.oom import is_out_of_memory, predict_splitting_on_oom

from .ner_fixtures import TRAIN_DATA, ents_of, overfit_pipeline


@pytest.fixture(scope="module")
def trained():
    return overfit_pipeline()


def test_batches_that_do_not_fit_are_split_down_to_single_docs(trained, monkeypatch):
    texts = [t for t, _ in TRAIN_DATA] * 3
    expected = [ents_of(trained(t)) for t in texts]
    real_forward = MaskedRNN.forward
    seen_batch_sizes = []

    def forward_that_fits_two_docs(self, padded, lengths, initial_state=None):
        seen_batch_sizes.append(padded.shape[0])
        if padded.shape[0] > 2:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real_forward(self, padded, lengths, initial_state)

    monkeypatch.setattr(MaskedRNN, "forward", forward_that_fits_two_docs)
    with pytest.warns(RuntimeWarning, match="out of memory on a batch of 18 docs"):
        got = [ents_of(d) for d in trained.pipe(texts, batch_size=100)]
    assert got == expected
    assert max(seen_batch_sizes) == 18 and seen_batch_sizes[-1] <= 2

    # A device that holds one doc at a time: the batch is split all the way
    # down to single docs, and the entities are still the unsplit run's.
    seen_batch_sizes.clear()

    def forward_that_fits_one_doc(self, padded, lengths, initial_state=None):
        seen_batch_sizes.append(padded.shape[0])
        if padded.shape[0] > 1:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 1.00 GiB")
        return real_forward(self, padded, lengths, initial_state)

    monkeypatch.setattr(MaskedRNN, "forward", forward_that_fits_one_doc)
    with pytest.warns(RuntimeWarning, match=r"retrying as 1 \+ 1"):
        got = [ents_of(d) for d in trained.pipe(texts, batch_size=100)]
    assert got == expected
    assert seen_batch_sizes.count(1) == len(texts)


def test_a_single_doc_that_does_not_fit_raises(trained, monkeypatch):
    def always_oom(self, padded, lengths, initial_state=None):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory.")

    monkeypatch.setattr(MaskedRNN, "forward", always_oom)
    with pytest.raises(torch.cuda.OutOfMemoryError, match="CUDA out of memory"):
        trained("Margaret Okafor met Tomas Reyes .")


def test_other_errors_are_not_retried():
    calls = []

    def broken(docs):
        calls.append(len(docs))
        raise ValueError("not memory")

    with pytest.raises(ValueError, match="not memory"):
        predict_splitting_on_oom(broken, [object()] * 8, "x")
    assert calls == [8]
    assert is_out_of_memory(RuntimeError("CUDA error: out of memory"))
    assert not is_out_of_memory(RuntimeError("shape mismatch"))
