"""A word-level tokenizer over the tabletop world's vocabulary (no downloads)."""

from __future__ import annotations

import re
from collections.abc import Iterable

PAD, UNK, CLS = "<pad>", "<unk>", "<cls>"
_WORD = re.compile(r"[a-z0-9]+|[,;.]")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def build_vocab(texts: Iterable[str], min_count: int = 1) -> list[str]:
    counts: dict[str, int] = {}
    for t in texts:
        for w in words(t):
            counts[w] = counts.get(w, 0) + 1
    return [PAD, UNK, CLS] + sorted(w for w, c in counts.items() if c >= min_count)


class Tokenizer:
    def __init__(self, vocab: list[str], max_len: int = 64):
        self.vocab = vocab
        self.index = {w: i for i, w in enumerate(vocab)}
        self.max_len = max_len

    def encode(self, text: str) -> list[int]:
        ids = [self.index[CLS]] + [self.index.get(w, self.index[UNK]) for w in words(text)]
        return ids[: self.max_len]

    def batch(self, texts: list[str]):
        import torch

        ids = torch.zeros(len(texts), self.max_len, dtype=torch.long)
        for i, t in enumerate(texts):
            e = self.encode(t)
            ids[i, : len(e)] = torch.tensor(e)
        return ids

    def unknown_words(self, text: str) -> list[str]:
        return [w for w in words(text) if w not in self.index]
