"""The capacity planner's deterministic core: usage, energy and carbon, packing, scheduling."""

from tools.capacity.energy import (
    DEFAULT_CARBON_CURVE,
    DEFAULT_GPU_HOUR_PRICE,
    CapacityConfig,
    CarbonCurve,
    load_carbon_curve,
    parse_gpu_type,
)
from tools.capacity.packing import Group, GroupPlan, InfeasiblePackingError, Item, pack_group

__all__ = [
    "DEFAULT_CARBON_CURVE",
    "DEFAULT_GPU_HOUR_PRICE",
    "CapacityConfig",
    "CarbonCurve",
    "Group",
    "GroupPlan",
    "InfeasiblePackingError",
    "Item",
    "load_carbon_curve",
    "pack_group",
    "parse_gpu_type",
]
