"""GPU catalogue: types, MIG profiles and the power model's watts."""

from enum import StrEnum

from tools.domain.common import DomainModel
from tools.errors import ConfigError


class GpuType(StrEnum):
    """GPU models the platform knows about."""

    H100 = "H100-80GB"
    A100 = "A100-80GB"
    L4 = "L4-24GB"


class GpuSharing(StrEnum):
    """How one physical GPU is shared."""

    EXCLUSIVE = "exclusive"
    """One pod owns the whole GPU."""
    MIG = "mig"
    """Hardware partitions (Multi-Instance GPU), isolated memory and compute."""
    TIME_SLICED = "time_sliced"
    """Software time-slicing: N pods share the GPU with no isolation."""


class MigProfile(DomainModel):
    """A MIG partition profile such as `3g.40gb`."""

    name: str
    compute_slices: int
    """Of 7 per GPU."""
    memory_slices: int
    """Of 8 per GPU."""
    memory_gb: int


class GpuSpec(DomainModel):
    """Static facts about one GPU type."""

    type: GpuType
    memory_gb: int
    idle_watts: float
    """Draw when nothing runs on it."""
    max_watts: float
    """Draw at full utilisation (board power limit)."""
    mig_profiles: tuple[MigProfile, ...] = ()
    """Empty when the GPU cannot be partitioned."""

    def mig_profile(self, name: str) -> MigProfile:
        """Return the named MIG profile, or raise ConfigError if this GPU lacks it."""
        for profile in self.mig_profiles:
            if profile.name == name:
                return profile
        known = ", ".join(p.name for p in self.mig_profiles) or "none (no MIG support)"
        raise ConfigError(f"GPU {self.type} has no MIG profile {name!r}; known: {known}")


MIG_COMPUTE_SLICES = 7
MIG_MEMORY_SLICES = 8

_MIG_80GB = (
    MigProfile(name="1g.10gb", compute_slices=1, memory_slices=1, memory_gb=10),
    MigProfile(name="1g.20gb", compute_slices=1, memory_slices=2, memory_gb=20),
    MigProfile(name="2g.20gb", compute_slices=2, memory_slices=2, memory_gb=20),
    MigProfile(name="3g.40gb", compute_slices=3, memory_slices=4, memory_gb=40),
    MigProfile(name="4g.40gb", compute_slices=4, memory_slices=4, memory_gb=40),
    MigProfile(name="7g.80gb", compute_slices=7, memory_slices=8, memory_gb=80),
)

GPU_CATALOGUE: dict[GpuType, GpuSpec] = {
    GpuType.H100: GpuSpec(
        type=GpuType.H100, memory_gb=80, idle_watts=70.0, max_watts=700.0, mig_profiles=_MIG_80GB
    ),
    GpuType.A100: GpuSpec(
        type=GpuType.A100, memory_gb=80, idle_watts=55.0, max_watts=400.0, mig_profiles=_MIG_80GB
    ),
    GpuType.L4: GpuSpec(type=GpuType.L4, memory_gb=24, idle_watts=16.0, max_watts=72.0),
}


def validate_mig_layout(gpu_type: GpuType, layout: tuple[str, ...]) -> tuple[MigProfile, ...]:
    """Check that a MIG layout fits one GPU and return its profiles.

    Args:
        gpu_type: The GPU to partition.
        layout: Profile names, e.g. ("3g.40gb", "2g.20gb", "2g.20gb").

    Raises:
        ConfigError: a profile is unknown, or the layout needs more than 7 compute or
            8 memory slices.
    """
    spec = GPU_CATALOGUE[gpu_type]
    profiles = tuple(spec.mig_profile(name) for name in layout)
    compute = sum(p.compute_slices for p in profiles)
    memory = sum(p.memory_slices for p in profiles)
    if not profiles or compute > MIG_COMPUTE_SLICES or memory > MIG_MEMORY_SLICES:
        raise ConfigError(
            f"MIG layout {list(layout)} does not fit a {gpu_type}: it needs {compute}/7 "
            f"compute and {memory}/8 memory slices"
        )
    return profiles


def gpu_power(spec: GpuSpec, utilisation: float) -> float:
    """Power draw in watts at a utilisation in [0, 1] (linear idle-to-max model)."""
    busy = min(max(utilisation, 0.0), 1.0)
    return spec.idle_watts + (spec.max_watts - spec.idle_watts) * busy
