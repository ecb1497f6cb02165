"""A loaded encoder: the model, its tokenizer and its pooling rule, as extraction uses it.

Its own module so that what works on a loaded encoder (``embeddings``, ``compile``) imports
it from below rather than from each other.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .batch_plan import BatchTokenizer
from .registry import ModelSpec


@dataclass
class Encoder:
    """A loaded model with its tokenizer and pooling rule."""

    spec: ModelSpec
    model: torch.nn.Module
    tokenize: BatchTokenizer  # picklable: it runs in the DataLoader workers
    pad_id: int
    pooling: str  # "all_tokens" (DNA) or "residues" (protein)
    device: torch.device
    dtype: torch.dtype

    def hidden(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
        """The last hidden state. ``attention_mask`` is None for a batch without padding: the
        model then builds no mask at all (transformers reads a given mask back to the host to
        see whether it masks anything: a sync per forward pass), for the same vectors."""
        if self.spec.architecture == "dnabert2":
            return self.model(input_ids, attention_mask)
        return self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    def pool(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        mask = attention_mask.to(torch.float32)
        if self.pooling == "residues":
            lengths = attention_mask.sum(1)
            mask = mask.clone()
            mask[:, 0] = 0.0
            mask[torch.arange(len(lengths), device=mask.device), lengths - 1] = 0.0
        summed = torch.einsum("bnh,bn->bh", hidden.to(torch.float32), mask)
        return summed / mask.sum(1, keepdim=True).clamp_min(1.0)

    def embed(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, padded: bool = True
    ) -> torch.Tensor:
        """Pooled vectors; ``padded`` False (the loader knows it) runs the model unmasked."""
        mask = attention_mask if padded else None
        return self.pool(self.hidden(input_ids, mask), attention_mask)
