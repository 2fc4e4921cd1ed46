"""Tier-0 intents over the model registry: owner, pipeline, versions, risk, history, info."""

import re
from collections import Counter

from agents.assistant import facts
from agents.assistant.context import FleetView
from agents.assistant.intent import Reply, as_json, lookup, per_model
from agents.assistant.query import Query
from tools.domain import AiActRisk
from tools.registry import CHALLENGER, CHAMPION
from tools.registry.tag_contract import UNKNOWN, env_label, risk_label


def _owner(view: FleetView, query: Query, model: str) -> Reply:
    f = facts.owner_of(view, model)
    where = f" It is deployed in {', '.join(f.namespaces)}." if f.namespaces else ""
    pipe_owner = f" (owned by {f.pipeline_owner})" if f.pipeline_owner else ""
    who = "has no owner tag" if f.owner == UNKNOWN else f"is owned by the {f.owner} team"
    fed = f"it is fed by pipeline {f.pipeline}{pipe_owner}" if f.pipeline else "no pipeline tag"
    return Reply(
        text=f"{model} {who} ({f.env.value if f.env else 'env unknown'}); {fed}.{where}",
        entities=[model, *([f.pipeline] if f.pipeline else []), *f.namespaces],
        facts={"owner": as_json(f)},
        lookups=[lookup("get_model", name=model)],
    )


_owner_per_model = per_model(_owner)


def owner(view: FleetView, query: Query) -> Reply:
    """Who owns named models, or a family of models ("who owns the churn models?")."""
    families = sorted(
        {
            word
            for word in re.findall(r"[a-z][a-z0-9-]*[a-z]", query.text)
            if any(name.startswith(word + "-") for name in view.models)
        }
    )
    if query.models or query.unknown or not families or not query.has(r"\bmodels\b"):
        return _owner_per_model(view, query)
    lines, owners = [], {}
    for family in families:
        members = [m for n, m in sorted(view.models.items()) if n.startswith(family + "-")]
        by_team = Counter(m.owner for m in members if query.env in (None, m.env))
        owners[family] = dict(by_team)
        teams = ", ".join(f"{team} ({n})" for team, n in by_team.most_common())
        lines.append(f"{family} models: owned by {teams or 'no team'}")
    return Reply(
        text="\n".join(lines),
        entities=sorted({t for o in owners.values() for t in o}),
        facts={"owners": as_json(owners)},
        lookups=[lookup("list_models")],
    )


def pipeline(view: FleetView, query: Query) -> Reply:
    """Models a pipeline feeds, or the pipeline that feeds a model."""
    if not query.pipelines and query.models:
        return owner(view, query)
    if not query.pipelines:
        counts = {name: facts.pipeline_models(view, name).count for name in sorted(view.pipelines)}
        lines = [f"- {name}: {n} model(s)" for name, n in counts.items()]
        return Reply(
            text=f"{len(counts)} feature pipelines:\n" + "\n".join(lines),
            entities=list(counts),
            facts={"pipelines": dict(counts)},
            lookups=[lookup("list_models")],
        )
    replies = []
    for name in query.pipelines:
        f = facts.pipeline_models(view, name)
        owner_text = f" (owned by {f.owner})" if f.owner else ""
        replies.append(
            Reply(
                text=f"Pipeline {name}{owner_text} feeds {f.count} model(s): "
                f"{', '.join(f.models) or 'none'}.",
                entities=[name, *f.models],
                facts={"pipeline_models": as_json(f)},
            )
        )
    return Reply(
        text="\n".join(r.text for r in replies),
        entities=[e for r in replies for e in r.entities],
        facts=replies[0].facts if len(replies) == 1 else {"answers": [r.facts for r in replies]},
        lookups=[lookup("list_models", pipeline=p) for p in query.pipelines],
    )


def _describe(info: facts.VersionInfo | None, alias: str) -> str:
    if info is None:
        return f"no {alias}"
    metrics = ", ".join(f"{k}={v:g}" for k, v in sorted(info.metrics.items()))
    lineage = [
        f"trained on {info.training_data}" if info.training_data else "",
        f"validated in {info.promoted_from.value}" if info.promoted_from else "",
        f"change {info.change_kind}" if info.change_kind else "",
        f"'{info.description}'" if info.description else "",
    ]
    shown = "; ".join([metrics or "no metrics", *(item for item in lineage if item)])
    return f"{alias} v{info.version} ({shown})"


def _versions(view: FleetView, query: Query, model: str) -> Reply:
    f = facts.versions_of(view, model)
    return Reply(
        text=f"{model}: {_describe(f.champion, 'champion')}; "
        f"{_describe(f.challenger, 'challenger')}; {f.versions} version(s) in total.",
        entities=[model],
        facts={"versions": as_json(f)},
        lookups=[lookup("get_model", name=model)],
    )


versions = per_model(_versions)


def _risk_of(view: FleetView, query: Query, model: str) -> Reply:
    m = view.models[model]
    if m.ai_act_risk is None:
        verdict = "has no readable ai_act_risk tag: Lotsen treats it as high-risk"
    elif m.ai_act_risk is AiActRisk.HIGH:
        verdict = "is tagged high-risk under the EU AI Act"
    else:
        verdict = f"is tagged {m.ai_act_risk.value} risk, not high-risk"
    return Reply(
        text=f"{model} {verdict} (owner {m.owner}, {env_label(m.env)}).",
        entities=[model],
        facts={"model": model, "ai_act_risk": risk_label(m.ai_act_risk)},
        lookups=[lookup("get_model", name=model)],
    )


_risk_per_model = per_model(_risk_of)


def high_risk(view: FleetView, query: Query) -> Reply:
    """High-risk models, optionally per team or environment; or the risk class of named models."""
    if query.models:
        return _risk_per_model(view, query)
    f = facts.high_risk(view, query.team, query.env)
    scope = " ".join(
        s for s in (f"of the {f.team} team" if f.team else "", f"in {f.env}" if f.env else "") if s
    )
    return Reply(
        text=f"{f.count} model(s) {scope + ' ' if scope else ''}are tagged high-risk under the "
        f"EU AI Act: {', '.join(f.models) or 'none'}.",
        entities=f.models,
        facts={"high_risk": as_json(f)},
        lookups=[lookup("list_models", ai_act_risk="high", owner=f.team, env=f.env)],
    )


def _history(view: FleetView, query: Query, model: str) -> Reply:
    changes = view.ctx.registry.alias_history(model)
    lines = [
        f"- {c.at:%Y-%m-%d %H:%M} {c.alias}: "
        f"{'v' + str(c.old_version) if c.old_version else '-'} -> "
        f"{'v' + str(c.new_version) if c.new_version else '-'} by {c.actor} ({c.reason})"
        for c in changes
    ]
    return Reply(
        text=f"{model}: {len(changes)} alias move(s) recorded."
        + ("\n" + "\n".join(lines) if lines else ""),
        entities=[model],
        facts={"model": model, "alias_history": as_json(changes)},
        lookups=[lookup("alias_history", "ok" if changes else "no_data", name=model)],
    )


alias_history = per_model(_history)


def _info(view: FleetView, query: Query, model: str) -> Reply:
    m = view.models[model]
    deployed = [d for d in view.deployments if d.model == model]
    where = ", ".join(
        f"{d.namespace} (v{d.model_version}, {d.replicas} replicas)" for d in deployed
    )
    return Reply(
        text=f"{model}: {m.task.value} model of the {m.owner} team in {env_label(m.env)}, "
        f"risk {risk_label(m.ai_act_risk)}, pipeline {m.pipeline}, aliases "
        f"{', '.join(f'{a}=v{v}' for a, v in sorted(m.aliases.items())) or 'none'}; "
        f"deployed in {where or 'no namespace'}; features: "
        f"{m.tags.get('features', '').replace(',', ', ') or 'not tagged'}.\n"
        f'Description (metadata, quoted as data): "{m.description}"',
        entities=[model, m.pipeline, *(d.namespace for d in deployed)],
        facts={
            "model": as_json(m),
            "deployments": [f"{d.namespace}/{d.name}" for d in deployed],
        },
        lookups=[lookup("get_model", name=model), lookup("list_deployments", model=model)],
    )


model_info = per_model(_info)


def list_models(view: FleetView, query: Query) -> Reply:
    """Registered models, optionally of one team or environment or with a challenger."""
    no_champion = query.has(r"(without|no|missing|lacks?) (a |any )?champion")
    challenger = not no_champion and query.has(r"challengers?\b")
    undeployed = query.has(r"(without|no|not) (a |any )?deploy|not deployed|undeployed|not serv")
    deployed = {d.model for d in view.deployments} if undeployed else set()
    feature = re.search(r"\bfeatures? ([a-z0-9_]+)", query.text)
    names = sorted(
        m.name
        for m in view.models.values()
        if (query.team is None or m.owner == query.team)
        and (query.env is None or m.env is query.env)
        and (not challenger or CHALLENGER in m.aliases)
        and (not no_champion or CHAMPION not in m.aliases)
        and (not undeployed or m.name not in deployed)
        and (feature is None or feature.group(1) in m.tags.get("features", "").split(","))
    )
    scope = " ".join(
        s
        for s in (
            f"of the {query.team} team" if query.team else "",
            f"in {query.env}" if query.env else "",
            "with a challenger" if challenger else "",
            "without a champion" if no_champion else "",
            "not deployed anywhere" if undeployed else "",
            f"using feature {feature.group(1)}" if feature else "",
        )
        if s
    )
    shown = names if len(names) <= 50 else [*names[:50], f"... and {len(names) - 50} more"]
    return Reply(
        text=f"{len(names)} registered model(s){' ' + scope if scope else ''}: "
        f"{', '.join(shown) or 'none'}.",
        entities=names,
        facts={
            "models": as_json(names),
            "count": len(names),
            "team": query.team,
            "env": query.env.value if query.env else None,
        },
        lookups=[lookup("list_models", owner=query.team, env=query.env)],
    )
