"""Packing: exact plans on worlds with known optima, valid bounds, feasibility, bad input."""

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.twin_specs import deployment, mig_request, tiny_spec
from tools.capacity.demand import plan_packing
from tools.capacity.energy import parse_gpu_type
from tools.capacity.packing import (
    Group,
    InfeasiblePackingError,
    Item,
    first_fit,
    mig_shape,
    pack_group,
    raise_if_infeasible,
)
from tools.cluster.sim.spec import build_nodes
from tools.domain import Environment, GpuRequest, GpuSharing, GpuType
from tools.domain.gpus import validate_mig_layout
from tools.errors import ConfigError

PROFILES = ["1g.10gb", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb"]
POOL = Group("prod-h100", Environment.PROD, GpuType.H100, GpuSharing.MIG, gpus_available=100)


def items(*profiles: str) -> list[Item]:
    return [Item(f"ns/d{i}", 0, p, *mig_shape(GpuType.H100, p)) for i, p in enumerate(profiles)]


@pytest.mark.parametrize(
    ("profiles", "optimum", "volume_bound", "lower_bound"),
    [
        (["1g.10gb"] * 7, 1, 1, 1),  # exactly one GPU's compute
        (["1g.10gb"] * 8, 2, 2, 2),  # one slice too many
        (["4g.40gb"] * 3, 3, 2, 3),  # two 4g never share a GPU: the LP bound sees it
        (["3g.40gb", "3g.40gb", "1g.10gb"], 2, 2, 2),  # 7 compute fit, 9 memory slices do not
        (["3g.40gb", "4g.40gb"] * 4, 4, 4, 4),  # perfect pairs
        (["3g.40gb", "2g.20gb", "4g.40gb", "4g.40gb"], 2, 2, 2),  # first-fit needs 3
        (["7g.80gb"] * 2 + ["1g.20gb"] * 4, 3, 3, 3),  # memory-bound small slices
    ],
)
def test_known_optimal_packings_are_found_exactly(
    profiles: list[str], optimum: int, volume_bound: int, lower_bound: int
) -> None:
    plan = pack_group(POOL, items(*profiles))
    assert plan.gpus_used == optimum
    assert plan.volume_bound == volume_bound
    assert plan.lower_bound == lower_bound
    assert plan.gpus_used >= plan.lower_bound


def test_first_fit_baseline_is_worse_on_an_adversarial_order() -> None:
    order = items("3g.40gb", "2g.20gb", "4g.40gb", "4g.40gb")
    assert len(first_fit(order)) == 3
    plan = pack_group(POOL, order)
    assert (plan.first_fit, plan.gpus_used) == (3, 2)
    layouts = sorted(tuple(sorted(g.layout)) for g in plan.gpus)
    assert layouts == [("2g.20gb", "4g.40gb"), ("3g.40gb", "4g.40gb")]


def test_replicas_of_one_deployment_land_on_different_gpus() -> None:
    replicas = [Item("ns/web", r, "1g.10gb", 1, 1) for r in range(3)]
    others = [Item(f"ns/o{i}", 0, "2g.20gb", 2, 2) for i in range(6)]
    plan = pack_group(POOL, replicas + others)
    holders = [g for g in plan.gpus for owner, _, _ in g.occupants if owner == "ns/web"]
    assert plan.gpus_used == 3 and len({id(g) for g in holders}) == 3


mig_demand = st.lists(st.tuples(st.sampled_from(PROFILES), st.integers(1, 3)), max_size=25)


@settings(max_examples=60, deadline=None)
@given(mig_demand)
def test_mig_plans_are_feasible_and_never_beat_the_bound(demand: list[tuple[str, int]]) -> None:
    wanted = [
        Item(f"ns/d{i}", r, p, *mig_shape(GpuType.H100, p))
        for i, (p, n) in enumerate(demand)
        for r in range(n)
    ]
    plan = pack_group(POOL, wanted)
    placed = Counter((o, r) for g in plan.gpus for o, r, _ in g.occupants)
    assert placed == Counter((i.owner, i.replica) for i in wanted)  # each exactly once
    for gpu in plan.gpus:
        validate_mig_layout(GpuType.H100, tuple(gpu.layout))  # <= 7 compute, <= 8 memory
        used = Counter(p for _, _, p in gpu.occupants)
        assert all(used[p] <= gpu.layout.count(p) for p in used)  # no slot over-used
    assert plan.volume_bound <= plan.lower_bound <= plan.gpus_used <= plan.first_fit


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0.5, 24.0), max_size=30), st.integers(1, 6))
def test_time_sliced_plans_respect_pods_and_memory(gbs: list[float], k: int) -> None:
    group = Group("dev", Environment.DEV, GpuType.L4, GpuSharing.TIME_SLICED, 100, 4, k)
    wanted = [Item(f"ns/d{i}", 0, "shared", memory_gb=gb) for i, gb in enumerate(gbs)]
    plan = pack_group(group, wanted)
    memory = {f"ns/d{i}": gb for i, gb in enumerate(gbs)}
    for gpu in plan.gpus:
        assert len(gpu.occupants) <= k
        assert sum(memory[o] for o, _, _ in gpu.occupants) <= 24.0 + 1e-6
    assert plan.lower_bound <= plan.gpus_used


def test_environments_never_share_a_gpu_and_taints_are_respected() -> None:
    deps = [
        deployment("a", "growth-prod", Environment.PROD, mig_request("1g.10gb"), replicas=3),
        deployment("b", "growth-dev", Environment.DEV, GpuRequest(
            gpu_type=GpuType.L4, sharing=GpuSharing.TIME_SLICED), replicas=2),
        deployment("c", "growth-prod", Environment.PROD, mig_request("2g.20gb"), tolerations=[]),
    ]  # fmt: skip
    spec = tiny_spec(deps)
    nodes = [n for p in spec.pools for n in build_nodes(p)]
    plans, unplaceable = plan_packing([p.pool for p in spec.pools], nodes, spec.deployments)
    by_pool = {p.group.name: p for p in plans}
    assert set(by_pool) == {"prod-h100", "dev-l4"}
    assert {o for g in by_pool["prod-h100"].gpus for o, _, _ in g.occupants} == {"growth-prod/a"}
    assert {o for g in by_pool["dev-l4"].gpus for o, _, _ in g.occupants} == {"growth-dev/b"}
    assert unplaceable == [
        "growth-prod/c (1 replicas): does not tolerate taint lotsen.io/env=prod of pool prod-h100"
    ]
    with pytest.raises(InfeasiblePackingError, match=r"growth-prod/c .* does not tolerate"):
        raise_if_infeasible(plans, unplaceable)


def test_infeasible_packing_names_the_pool_and_the_shortfall() -> None:
    deps = [deployment("big", "growth-prod", Environment.PROD, mig_request("4g.40gb"), replicas=5)]
    spec = tiny_spec(deps, prod_nodes=2)  # 2 nodes x 2 GPUs; two 4g never share a GPU
    nodes = [n for p in spec.pools for n in build_nodes(p)]
    plans, unplaceable = plan_packing([p.pool for p in spec.pools], nodes, spec.deployments)
    with pytest.raises(InfeasiblePackingError) as err:
        raise_if_infeasible(plans, unplaceable)
    assert str(err.value) == (
        "infeasible packing: pool prod-h100: its 5 replicas need 5 H100-80GB GPUs "
        "(no packing needs fewer than 5) but only 4 are ready"
    )


def test_missing_pool_kind_and_unknown_gpu_types_are_clear_errors() -> None:
    deps = [deployment("a100", "growth-test", Environment.TEST, mig_request("1g.10gb"))]
    spec = tiny_spec(deps)
    nodes = [n for p in spec.pools for n in build_nodes(p)]
    _, unplaceable = plan_packing([p.pool for p in spec.pools], nodes, spec.deployments)
    assert unplaceable == [
        "growth-test/a100 (1 replicas): no test pool offers H100-80GB 1g.10gb GPUs"
    ]
    with pytest.raises(ConfigError, match="unknown GPU type 'V100'; known: H100-80GB, A100"):
        parse_gpu_type("V100")
    assert parse_gpu_type("h100") is GpuType.H100
    with pytest.raises(ConfigError, match=r"has no MIG profile '5g\.60gb'"):
        mig_shape(GpuType.H100, "5g.60gb")
