"""Types shared by the registry and the cluster domain."""

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Environment(StrEnum):
    """A segregated stage of the platform."""

    DEV = "dev"
    TEST = "test"
    PROD = "prod"


class DomainModel(BaseModel):
    """Base of every domain type: immutable, strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)
