"""Character language models over bytes, and the token features read from them.

A contextual string embedding in the manner of Akbik et al. (2018): one LSTM
reads the text left to right and predicts each next byte, another reads it
right to left. Trained on raw text (`spacy_bilstm.char_lm_training`), they
are frozen; a token's feature is the forward model's state just after the
token and the backward model's state just before it, so each carries the
token's spelling *and* everything said around it, learned from text no one
had to annotate.

Text is lower-cased and its tokens joined by single spaces, exactly as the
training text was written (`token_string`), and framed by the line separator
"\n" that separated the training lines.

`save_char_lm` and `load_char_lm` write and read the two models as one file
(`FORMAT`), which `spacy-bilstm char-lm` writes and `CharLMEmbed.v1` reads.
"""
from typing import List, Sequence, Tuple

import torch
from torch import nn

from ..errors import InputError

# Written into every saved file, so that loading can tell ours from others.
FORMAT = "spacy_bilstm.char_lm.v1"
# Byte b has id b + 1; 0 pads.
N_SYMBOLS = 257
PAD = 0


def byte_ids(data: bytes) -> torch.Tensor:
    """The ids of raw bytes, as a long tensor (`PAD` is never one of them)."""
    return torch.frombuffer(bytearray(data), dtype=torch.uint8).long() + 1


def token_string(words: Sequence[str]) -> Tuple[bytes, List[Tuple[int, int]]]:
    """The bytes a language model reads for a sequence of words, and each
    word's byte span in them.

    words (Sequence[str]): The tokens' texts (lower-cased here).
    RETURNS (Tuple[bytes, List[Tuple[int, int]]]): "\n" + the lower-cased
        words joined by spaces + "\n", and (start, end) of each word.
    """
    spans = []
    parts = [b"\n"]
    offset = 1
    for i, word in enumerate(words):
        if i:
            parts.append(b" ")
            offset += 1
        encoded = word.lower().encode("utf8")
        spans.append((offset, offset + len(encoded)))
        parts.append(encoded)
        offset += len(encoded)
    parts.append(b"\n")
    return b"".join(parts), spans


class CharLanguageModel(nn.Module):
    """One direction: byte embedding, a one-layer LSTM, a next-byte decoder."""

    def __init__(self, embed_width: int, hidden_width: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(N_SYMBOLS, embed_width, padding_idx=PAD)
        self.rnn = nn.LSTM(embed_width, hidden_width, batch_first=True)
        self.decoder = nn.Linear(hidden_width, N_SYMBOLS)

    def states(self, ids: torch.Tensor, state=None):
        """The LSTM's output after each byte, and its final state.

        ids (torch.Tensor): (batch, length) byte ids.
        state: The (h, c) to start from, or None for zeros.
        """
        return self.rnn(self.embed(ids), state)


class BiCharLanguageModel(nn.Module):
    """The forward and backward models; `features` reads token features."""

    def __init__(self, embed_width: int, hidden_width: int) -> None:
        super().__init__()
        self.forward_lm = CharLanguageModel(embed_width, hidden_width)
        self.backward_lm = CharLanguageModel(embed_width, hidden_width)

    @property
    def hidden_width(self) -> int:
        return self.forward_lm.rnn.hidden_size

    @classmethod
    def from_state(cls, state: dict) -> "BiCharLanguageModel":
        """A model shaped to hold `state` (a state dict of this class)."""
        embed_width = int(state["forward_lm.embed.weight"].shape[1])
        hidden_width = int(state["forward_lm.rnn.weight_hh_l0"].shape[1])
        model = cls(embed_width, hidden_width)
        model.load_state_dict(state)
        return model

    @torch.no_grad()
    def features(self, sentences: Sequence[Sequence[str]]) -> List[torch.Tensor]:
        """For each sentence, a (n_words, 2 * hidden_width) tensor of token
        features: the forward state after each word's last byte and the
        following separator, and the backward state after reading back to
        the separator before it.

        Each sentence is read from a zero state, with the others of the batch
        only as right padding, which an LSTM reading left to right never
        sees: a sentence's features do not depend on its batch.
        """
        device = self.forward_lm.embed.weight.device
        encoded = [token_string(words) for words in sentences]
        longest = max((len(text) for text, _ in encoded), default=0)
        forward_ids = torch.zeros((len(encoded), longest), dtype=torch.long)
        backward_ids = torch.zeros((len(encoded), longest), dtype=torch.long)
        for i, (text, _) in enumerate(encoded):
            ids = byte_ids(text)
            forward_ids[i, : len(ids)] = ids
            backward_ids[i, : len(ids)] = ids.flip(0)
        forward_out, _ = self.forward_lm.states(forward_ids.to(device))
        backward_out, _ = self.backward_lm.states(backward_ids.to(device))
        out = []
        for i, (text, spans) in enumerate(encoded):
            length = len(text)
            if not spans:
                out.append(forward_out.new_zeros((0, 2 * self.hidden_width)))
                continue
            # Forward: the state at the byte after the word (a space or the
            # final "\n"). Backward, which reads the reversed bytes: the
            # state at the byte before the word, at reversed index
            # length - 1 - (start - 1).
            after = torch.tensor([end for _, end in spans], device=device)
            before = torch.tensor([length - start for start, _ in spans], device=device)
            out.append(torch.cat([forward_out[i, after], backward_out[i, before]], dim=1))
        return out


def save_char_lm(model: BiCharLanguageModel, path, meta: dict) -> None:
    """Write the model's weights and what made them (plain tensors and JSON
    types only, so `load_char_lm` can refuse anything else)."""
    torch.save({"format": FORMAT, "state": model.state_dict(), "meta": meta}, path)


def load_char_lm(path) -> BiCharLanguageModel:
    """Read a model written by `save_char_lm`, safely (`weights_only`).

    RAISES (InputError): The file is missing, not a character language model,
        or corrupt.
    """
    import pickle

    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise InputError("file not found", path=path, reason="missing_file") from None
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, TypeError) as err:
        raise InputError(
            f"not a character language model written by `spacy-bilstm char-lm` ({type(err).__name__})",
            path=path,
            reason="bad_model",
        ) from None
    if not isinstance(saved, dict) or saved.get("format") != FORMAT:
        raise InputError(
            f"not a character language model written by `spacy-bilstm char-lm` (expected format {FORMAT})",
            path=path,
            reason="bad_model",
        )
    model = BiCharLanguageModel.from_state(saved["state"])
    model.eval()
    return model
