"""A sentence-transformers model split into a shared trunk and per-side heads.

JobBERT-v3 is `Transformer -> Pooling -> Router{anchor: Dense, positive: Dense}`. A batch that
mixes sides runs the trunk (transformer + pooling) once over every row, then each head only over
its own rows: the result equals `model.encode(texts, task=side)` for each side.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.modules import Router
from torch import Tensor

from jobmatch.client.sides import SIDES, Side

# The Router routes that serve each side, in order of preference. Query/document routers are
# served too: the query route is the title-like (anchor) side.
SIDE_ROUTES: dict[Side, tuple[str, ...]] = {
    "anchor": ("anchor", "query"),
    "positive": ("positive", "document"),
}


def _match_routes(route_names: Sequence[str]) -> dict[str, str]:
    """Map each side to one of the router's routes, or raise if the routes do not fit."""
    routes: dict[str, str] = {}
    for side, candidates in SIDE_ROUTES.items():
        found = [name for name in candidates if name in route_names]
        if found:
            routes[side] = found[0]
    if len(routes) != len(SIDE_ROUTES) or len(set(routes.values())) != len(routes):
        raise ValueError(
            f"router routes {sorted(route_names)} cannot serve the sides anchor/positive "
            f"(expected routes named {SIDE_ROUTES})"
        )
    return routes


class SideEncoder:
    """Tokenizes and encodes batches for one model, each row through the head of its side.

    Symmetric models (no Router) have no heads: every side gives the same vector. `input_module`
    replaces the model's first module (its transformer) when given, e.g. by an ONNX Runtime one;
    `int8` says its weights are int8-quantized (what `dtype_name` reports).
    """

    def __init__(
        self,
        name: str,
        source: str,
        model: SentenceTransformer,
        input_module: torch.nn.Module | None = None,
        backend: str = "torch",
        int8: bool = False,
    ) -> None:
        self.name = name
        self.source = source
        self.model = model
        self.backend = backend
        modules = list(model)
        if input_module is not None:
            modules[0] = input_module
        router_at = [i for i, module in enumerate(modules) if isinstance(module, Router)]
        if len(router_at) > 1:
            raise ValueError(f"model {name}: more than one Router module is not supported")
        if router_at and router_at[0] == 0:
            raise ValueError(f"model {name}: a Router before the input module (per-side encoders) is not supported")
        split = router_at[0] if router_at else len(modules)
        self._trunk = modules[:split]
        self._router: Router | None = modules[split] if router_at else None
        self._tail = modules[split + 1 :]
        self.routes = _match_routes(list(self._router.sub_modules)) if self._router else {}
        self.tokenizer = model.tokenizer
        self.max_input_tokens = int(model.max_seq_length or self.tokenizer.model_max_length)
        self.dimension = int(model.get_embedding_dimension())
        self.device = model.device
        self.dtype = next(model.parameters()).dtype  # of the torch modules
        self.dtype_name = "int8" if int8 else str(self.dtype).removeprefix("torch.")

    @property
    def asymmetric(self) -> bool:
        return self._router is not None

    @property
    def distinct_sides(self) -> tuple[str | None, ...]:
        """One side per distinct head: both sides of an asymmetric model, None for a symmetric one."""
        return SIDES if self.asymmetric else (None,)

    def tokenize(self, texts: Sequence[str], *, truncate: bool) -> list[list[int]]:
        """Token ids of each text, special tokens included; cut to `max_input_tokens` if `truncate`."""
        encoded = self.tokenizer(
            list(texts),
            add_special_tokens=True,
            truncation=truncate,
            max_length=self.max_input_tokens if truncate else None,
            return_attention_mask=False,
            return_token_type_ids=False,
            verbose=False,
        )
        return encoded["input_ids"]

    def collate(self, token_ids: Sequence[Sequence[int]]) -> dict[str, Tensor]:
        """Pad id lists into `input_ids` and `attention_mask`, both (batch, longest) on the device."""
        padded = self.tokenizer.pad({"input_ids": list(token_ids)}, padding=True, return_tensors="pt")
        return {key: value.to(self.device) for key, value in padded.items()}

    @torch.inference_mode()
    def forward(self, features: dict[str, Tensor], sides: Sequence[str | None]) -> Tensor:
        """Embed a collated batch; row i goes through the head of `sides[i]`.

        Returns a (batch, dimension) float32 tensor on the CPU: the model's raw output.
        """
        for module in self._trunk:
            features = module(features)
        if self._router is not None:
            features["sentence_embedding"] = self._heads(features, sides)
        for module in self._tail:
            features = module(features)
        return features["sentence_embedding"].float().cpu()

    def encode(self, texts: Sequence[str], side: str | None, *, truncate: bool = True) -> Tensor:
        """Tokenize, collate and embed `texts` on one side (warm-up, tools, tests)."""
        features = self.collate(self.tokenize(texts, truncate=truncate))
        return self.forward(features, [side] * len(texts))

    def _heads(self, features: dict[str, Tensor], sides: Sequence[str | None]) -> Tensor:
        """Run each side's route over its own rows of the pooled features; rows keep their order."""
        assert self._router is not None
        batch = len(sides)
        out: Tensor | None = None
        for side in dict.fromkeys(sides):
            if side not in self.routes:
                raise ValueError(f"model {self.name}: side {side!r} is not one of {SIDES}")
            rows = torch.tensor([i for i, s in enumerate(sides) if s == side], device=self.device)
            subset = {
                key: value.index_select(0, rows)
                for key, value in features.items()
                if isinstance(value, Tensor) and value.dim() > 0 and value.shape[0] == batch
            }
            embedded = self._router(subset, task=self.routes[side])["sentence_embedding"]
            if out is None:
                out = embedded.new_empty((batch, *embedded.shape[1:]))
            out.index_copy_(0, rows, embedded)
        assert out is not None
        return out
