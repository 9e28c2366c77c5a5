"""Rule scale, two ways.

In the tenant: load one pipeline's rules and match them (``PipelineConfig.rules_on`` for every
stage and kind) when the tenant has 10, 1,000 and 100,000 rules, most of them in other pipelines
and item types. The measured pipeline always has the same 8 rules, so this is flat by construction:
it shows that other pipelines' rules cost nothing.

In the pipeline: one pipeline whose stages hold 10, 1,000 and 10,000 rules (the 8 above, then
triggers of other types and robots over its four stages). Loading it must stay one paginated Query
(its pages, no other call); matching one trigger event (a web form filled) against the loaded
pipeline must stay within 1.2x of the 10-rule pipeline, since the event fires the same one trigger
at every scale. The match is what the trigger engine does with the selection the domain offers:
``PipelineConfig.triggers_of_type(event type)`` (indexed once when the configuration is made), then
the event's form.

The time is the CPU time of the client side: what runs in the Lambda function (pynamodb, botocore's
serialising and parsing, the mapping to rules, the matching), without the time spent inside moto's
backend. That part is left out because moto answers a Query by scanning the whole table, which
DynamoDB does not (a Query reads one partition); DynamoDB's side is counted instead, as calls and
read units.

Each scale is a tenant of its own in the same table, so the three are timed in alternation (in a
shuffled order per round) and compared by the lower quartile of their rounds: a load takes under
2 ms, and on a busy machine noise only ever adds time, so the lower quartile follows the cost
itself where the median moves by 10% from one run to the next.
"""

from __future__ import annotations

import gc
import random
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

from bench.hooks import LOG, Calls
from bench.registry import Measured, Run, figure
from bench.world import SALES_ID, SALES_STAGES, sample_rule, world

SCALES = (10, 1_000, 100_000)
QUICK_SCALES = (10, 1_000)
RULES_ON_SALES = 8
OTHER_TYPES = ("lead", "deal", "quote", "invoice", "dynamic-174")
RULES_PER_OTHER_PIPELINE = 100
ROUNDS = 15
BUDGET = 1.2


def _label(rules: int) -> str:
    return f"{rules // 1000}k" if rules >= 1000 else str(rules)


def _rules(total: int) -> Iterator[tuple[str, Any]]:
    """8 rules on the Sales pipeline, the rest 100 to a pipeline over the other pipelines."""
    for n in range(total):
        if n < RULES_ON_SALES:
            yield SALES_ID, sample_rule(n, SALES_STAGES[n // 2 % 4], n % 2 == 0)
        else:
            other = (n - RULES_ON_SALES) // RULES_PER_OTHER_PIPELINE
            yield f"{OTHER_TYPES[other % len(OTHER_TYPES)]}-{other}", sample_rule(n, "NEW", n % 2 == 0)


def load_and_match(tenant_id: str, fresh: bool) -> int:
    from crm.adapters import automation
    from crm.domain.rules import RuleKind

    config = automation.load(tenant_id, SALES_ID, fresh=fresh)
    return sum(len(config.rules_on(s.id, kind)) for s in config.pipeline.stages for kind in RuleKind)


@dataclass
class Scale:
    rules: int
    tenant_id: str
    setup_seconds: float
    cold: Calls
    warm: Calls
    matched: int
    client_ms: list[float]
    backend_ms: list[float]
    warm_ms: list[float]

    @property
    def typical_ms(self) -> float:
        """The lower quartile of the rounds."""
        return statistics.quantiles(self.client_ms, n=4)[0]


def _cpu_ms(action: Callable[[], Any]) -> tuple[float, float]:
    """(client, moto backend) CPU milliseconds of ``action()``."""
    backend, started = LOG.backend_seconds, time.process_time()
    action()
    total, backend = time.process_time() - started, LOG.backend_seconds - backend
    return (total - backend) * 1000, backend * 1000


def scales(run: Run) -> dict[int, Scale]:
    from crm.adapters import automation

    found: dict[int, Scale] = {}
    for total in QUICK_SCALES if run.quick else SCALES:
        tenant = run.shared(world).tenant(f"scale-{_label(total)}")
        tenant.sales_pipeline()
        started = time.perf_counter()
        written = run.shared(world).write_rules(tenant.id, _rules(total))
        setup = time.perf_counter() - started
        assert written == total, (written, total)
        automation.forget(tenant.id, SALES_ID)
        with LOG.scope("api"), LOG.recording() as cold:
            matched = load_and_match(tenant.id, fresh=False)
        with LOG.scope("api"), LOG.recording() as warm:
            load_and_match(tenant.id, fresh=False)
        found[total] = Scale(total, tenant.id, setup, cold, warm, matched, [], [], [])

    gc.collect()
    gc.disable()  # a collection of moto's 100,000 items would land on whichever scale is timed
    try:
        with LOG.off():
            for round_ in range(ROUNDS):
                order = list(found.values())
                random.Random(round_).shuffle(order)
                for scale in order:
                    client, backend = _cpu_ms(partial(load_and_match, scale.tenant_id, fresh=True))
                    scale.client_ms.append(client)
                    scale.backend_ms.append(backend)
                    scale.warm_ms.append(_cpu_ms(partial(load_and_match, scale.tenant_id, fresh=False))[0])
    finally:
        gc.enable()
    return found


def _ratio(run: Run, rules: int) -> Measured:
    found = run.shared(scales)
    base, scale = found[min(found)], found[rules]
    detail = {
        "rules_in_tenant": rules,
        "rules_in_pipeline": RULES_ON_SALES,
        "client_cpu_ms_lower_quartile": round(scale.typical_ms, 3),
        "client_cpu_ms_lower_quartile_at_10": round(base.typical_ms, 3),
        "median_ratio": round(statistics.median(scale.client_ms) / statistics.median(base.client_ms), 2),
        "warm_ratio": round(statistics.median(scale.warm_ms) / statistics.median(base.warm_ms), 2),
        "moto_backend_ms_median": round(statistics.median(scale.backend_ms), 1),
        "rounds": len(scale.client_ms),
    }
    return Measured(scale.typical_ms / base.typical_ms, detail)


@figure("rules.scale.1k", unit="x 10 rules", budget=BUDGET)
def scale_1k(run: Run) -> Measured:
    """Load and match one pipeline's rules, tenant with 1,000 rules, over the 10-rule tenant."""
    return _ratio(run, 1_000)


@figure("rules.scale.100k", unit="x 10 rules", budget=BUDGET, full_only=True)
def scale_100k(run: Run) -> Measured:
    """Load and match one pipeline's rules, tenant with 100,000 rules, over the 10-rule tenant."""
    return _ratio(run, 100_000)


@figure("rules.scale.calls", unit="calls", budget=1)
def scale_calls(run: Run) -> Measured:
    """AWS calls of one cold load at the largest scale (the warm load's are in the detail)."""
    found = run.shared(scales)
    detail = {
        _label(total): {
            "cold": len(s.cold),
            "warm": len(s.warm),
            "cold_calls": s.cold.by_operation(),
            "cold_dynamodb_units": s.cold.units().as_json(),
            "rules_matched": s.matched,
        }
        for total, s in found.items()
    }
    return Measured(len(found[max(found)].cold), detail)


@figure("rules.scale.setup_seconds", unit="s")
def scale_setup(run: Run) -> Measured:
    """Time to write the largest tenant's rules (BatchWriteItem to in-process moto)."""
    found = run.shared(scales)
    detail = {
        _label(total): {"rules": total, "seconds": round(s.setup_seconds, 2)} for total, s in found.items()
    }
    return Measured(found[max(found)].setup_seconds, detail)


# ---------------------------------------------------------------- rules in one pipeline

PIPELINE_SCALES, QUICK_PIPELINE_SCALES = (10, 1_000, 10_000), (10, 1_000)
OTHER_TRIGGERS = (
    "email_opened",
    "link_clicked",
    "call_received",
    "chat_message",
    "invoice_paid",
    "field_changed",
    "webhook",
)
EVENT_TYPE, EVENT_FORM = "webform_filled", "form-2"  # fires trigger t000002 (on PREPARATION) only
MATCH_ROUNDS, QUICK_MATCH_ROUNDS = 9, 3
MATCH_MIN_SECONDS = 0.01  # each timing repeats the match for at least this long


def _pipeline_rules(total: int) -> Iterator[tuple[str, Any]]:
    for n in range(total):
        if n < RULES_ON_SALES:
            yield SALES_ID, sample_rule(n, SALES_STAGES[n // 2 % 4], n % 2 == 0)
        else:
            trigger_type = OTHER_TRIGGERS[n // 2 % len(OTHER_TRIGGERS)]
            yield SALES_ID, sample_rule(n, SALES_STAGES[n % 4], n % 2 == 0, trigger_type)


def match_trigger_event(config: Any) -> list[Any]:
    """The pipeline's triggers a web form event fires (see the module's docstring)."""
    return [rule for rule in config.triggers_of_type(EVENT_TYPE) if rule.params.get("form_id") == EVENT_FORM]


def _queries(calls: Calls) -> int:
    """The queries among the calls: a Query that continues the one before it from where its page
    ended (ExclusiveStartKey, the same other parameters) is a page of that query, not another."""
    count, previous = 0, None
    for call in calls:
        same = previous is not None and previous.name == call.name == "DynamoDB.Query"
        rest = {k: v for k, v in call.params.items() if k != "ExclusiveStartKey"}
        continues = (
            same
            and "ExclusiveStartKey" in call.params
            and rest == {k: v for k, v in previous.params.items() if k != "ExclusiveStartKey"}
        )
        count += not continues
        previous = call
    return count


def _match_us(config: Any) -> float:
    """Microseconds of one match, from as many repetitions as fit in MATCH_MIN_SECONDS."""
    count, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < MATCH_MIN_SECONDS or not count:
        match_trigger_event(config)
        count += 1
    return elapsed / count * 1e6


@dataclass
class PipelineScale:
    rules: int
    tenant_id: str
    cold: Calls
    load_ms: float  # client-side CPU of the cold load
    matched: int
    match_us: list[float]

    @property
    def typical_us(self) -> float:
        return statistics.quantiles(self.match_us, n=4)[0] if len(self.match_us) > 1 else self.match_us[0]


def pipeline_scales(run: Run) -> dict[int, PipelineScale]:
    from crm.adapters import automation

    found: dict[int, PipelineScale] = {}
    for total in QUICK_PIPELINE_SCALES if run.quick else PIPELINE_SCALES:
        tenant = run.shared(world).tenant(f"pipeline-{_label(total)}")
        tenant.sales_pipeline()
        written = run.shared(world).write_rules(tenant.id, _pipeline_rules(total))
        assert written == total, (written, total)
        automation.forget(tenant.id, SALES_ID)
        with LOG.scope("api"), LOG.recording() as cold:
            config = automation.load(tenant.id, SALES_ID)
        with LOG.off():
            load_ms = _cpu_ms(partial(automation.load, tenant.id, SALES_ID, fresh=True))[0]
        if len(config.rules) != total:
            raise RuntimeError(f"the pipeline loaded {len(config.rules)} of its {total} rules")
        matched = len(match_trigger_event(config))
        found[total] = PipelineScale(total, tenant.id, cold, load_ms, matched, [])

    configs = {total: automation.load(s.tenant_id, SALES_ID) for total, s in found.items()}
    gc.collect()
    gc.disable()
    try:
        for round_ in range(QUICK_MATCH_ROUNDS if run.quick else MATCH_ROUNDS):
            order = list(found)
            random.Random(round_).shuffle(order)
            for total in order:
                found[total].match_us.append(_match_us(configs[total]))
    finally:
        gc.enable()
    return found


def _pipeline_ratio(run: Run, rules: int) -> Measured:
    found = run.shared(pipeline_scales)
    base, scale = found[min(found)], found[rules]
    if scale.matched != base.matched:
        raise RuntimeError(f"the event fired {scale.matched} triggers at {rules} rules, {base.matched} at 10")
    detail = {
        "rules_in_pipeline": rules,
        "triggers_fired": scale.matched,
        "match_us_lower_quartile": round(scale.typical_us, 2),
        "match_us_lower_quartile_at_10": round(base.typical_us, 2),
        "median_ratio": round(statistics.median(scale.match_us) / statistics.median(base.match_us), 2),
        "load_client_cpu_ms": round(scale.load_ms, 1),
        "load_client_cpu_ms_at_10": round(base.load_ms, 1),
        "rounds": len(scale.match_us),
        "matching": "triggers_of_type(event type), then the event's form",
    }
    return Measured(scale.typical_us / base.typical_us, detail)


@figure("rules.pipeline_scale.match.1k", unit="x 10 rules", budget=BUDGET)
def pipeline_match_1k(run: Run) -> Measured:
    """Match a trigger event against a loaded pipeline of 1,000 rules, over one of 10 rules."""
    return _pipeline_ratio(run, 1_000)


@figure("rules.pipeline_scale.match.10k", unit="x 10 rules", budget=BUDGET, full_only=True)
def pipeline_match_10k(run: Run) -> Measured:
    """Match a trigger event against a loaded pipeline of 10,000 rules, over one of 10 rules."""
    return _pipeline_ratio(run, 10_000)


@figure("rules.pipeline_scale.load_queries", unit="queries", budget=1)
def pipeline_load_queries(run: Run) -> Measured:
    """Queries to load the largest pipeline cold (its pages are one Query: calls in the detail)."""
    found = run.shared(pipeline_scales)
    detail = {
        _label(total): {
            "queries": _queries(s.cold),
            "calls": len(s.cold),
            "cold_calls": s.cold.by_operation(),
            "cold_dynamodb_units": s.cold.units().as_json(),
            "load_client_cpu_ms": round(s.load_ms, 1),
        }
        for total, s in found.items()
    }
    return Measured(_queries(found[max(found)].cold), detail)
