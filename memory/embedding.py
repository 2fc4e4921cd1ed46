"""An offline embedding function for Chroma: hashed word and character n-grams.

No model download, deterministic, good enough to find incidents that share a kind, a
pipeline, features and wording. Chroma needs it registered so a reopened collection finds it.
"""

import hashlib
import re
from typing import Any

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.utils.embedding_functions import register_embedding_function

DIMENSIONS = 384
_TOKEN = re.compile(r"[a-z0-9_.-]+")
_STOPWORDS = frozenset(
    "a an and are as at be by do does for from has have in is it its not of on or the then "
    "this to was were with without yet".split()
)


@register_embedding_function
class HashingEmbedding(EmbeddingFunction[Documents]):
    """Feature hashing of words and character trigrams into a unit vector."""

    def __init__(self, dimensions: int = DIMENSIONS) -> None:
        """Vectors of `dimensions` floats."""
        self.dimensions = dimensions

    def __call__(self, input: Documents) -> Embeddings:
        """Embed each document."""
        return [self._embed(text) for text in input]

    def _embed(self, text: str) -> np.ndarray:
        vector = np.zeros(self.dimensions, dtype=np.float32)
        words = [w for w in _TOKEN.findall(text.lower()) if w not in _STOPWORDS]
        grams = [w[i : i + 3] for w in words for i in range(max(1, len(w) - 2))]
        for token, weight in [(w, 1.0) for w in words] + [(g, 0.5) for g in grams]:
            digest = hashlib.blake2b(token.encode(), digest_size=8).digest()
            index = int.from_bytes(digest[:4], "little") % self.dimensions
            sign = 1.0 if digest[4] & 1 else -1.0
            vector[index] += sign * weight
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm else vector

    @staticmethod
    def name() -> str:
        """Name Chroma stores with the collection."""
        return "lotsen-hashing"

    def get_config(self) -> dict[str, Any]:
        """Configuration Chroma stores with the collection."""
        return {"dimensions": self.dimensions}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> "HashingEmbedding":
        """Rebuild from a stored configuration."""
        return HashingEmbedding(int(config.get("dimensions", DIMENSIONS)))


@register_embedding_function
class OpenAIEmbedding(EmbeddingFunction[Documents]):
    """Embeddings from an OpenAI-compatible endpoint (e.g. vLLM serving an embedding model)."""

    def __init__(
        self, base_url: str, model: str, api_key: str | None = None, timeout_s: float = 30.0
    ) -> None:
        """Use `model` at `base_url` (the key is never stored in Chroma's config)."""
        self.base_url, self.model, self._api_key, self._timeout = (
            base_url,
            model,
            api_key,
            timeout_s,
        )

    def __call__(self, input: Documents) -> Embeddings:
        """Embed each document with one request."""
        from openai import OpenAI

        client = OpenAI(
            base_url=self.base_url,
            api_key=self._api_key or "not-needed",
            timeout=self._timeout,
            max_retries=0,
        )
        response = client.embeddings.create(model=self.model, input=list(input))
        return [np.asarray(item.embedding, dtype=np.float32) for item in response.data]

    @staticmethod
    def name() -> str:
        """Name Chroma stores with the collection."""
        return "lotsen-openai"

    def get_config(self) -> dict[str, Any]:
        """Configuration Chroma stores with the collection (no secrets)."""
        return {"base_url": self.base_url, "model": self.model}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> "OpenAIEmbedding":
        """Rebuild from a stored configuration (keyless; pass the function to supply a key)."""
        return OpenAIEmbedding(str(config["base_url"]), str(config["model"]))
