"""The REST API against a real engine that traded ten simulated minutes on paper."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import pytest
from sqlalchemy import func, select

from moonlight.core.config.runtime_overrides import (
    AUDIT_ACTION,
    RUNTIME_OVERRIDES_KEY as OVERRIDES_KEY,
)
from moonlight.core.runtime.clock import FastForwardClock
from moonlight.core.runtime.control import EngineControl
from moonlight.core.storage import models
from moonlight.server.app import create_app
from moonlight.server.redact import REDACTED, redact_tree
from tests.server.support import START, api_client, load, running_engine, token_of, write_config


@pytest.fixture
async def api(tmp_path: Path, host):
    """(client, engine) after 10 simulated minutes of paper trading (8 workers).

    The workers are then paused and open orders allowed to settle, so storage holds
    still while a test compares listings (simulated time keeps running meanwhile).
    """
    config = load(write_config(tmp_path, drop_guards=("consecutive_losses",)), host)
    clock = FastForwardClock(START)
    async with running_engine(config, host, clock) as engine:
        await clock.sleep_until(clock.now() + 600)
        engine.supervisor.pause(list(engine.supervisor.workers))
        await clock.sleep_until(clock.now() + 180)
        app = create_app(EngineControl(engine))
        async with api_client(app, token_of(config)) as client:
            yield client, engine


def _count(engine, statement) -> int:
    with engine.sessions() as session:
        return int(session.scalar(statement) or 0)


async def test_status_reports_engine_accounts_workers_and_guards(api) -> None:
    client, engine = api
    status = (await client.get("/api/v1/status")).json()
    assert status["engine"]["state"] == "running"
    assert status["engine"]["simulated_clock"] is True
    assert status["engine"]["uptime_s"] >= 600
    assert status["workers"] == {"total": 8, "by_state": {"paused": 8}}
    assert status["guards"][0] == "kill_switch"
    assert set(status["guards"]) >= {"daily_loss_cap", "circuit_breaker", "max_open_orders"}
    (account,) = status["accounts"]
    assert account["id"] == "paper-1" and account["mode"] == "paper"
    assert account["trading_state"] in ("ACTIVE", "REDUCING")
    assert account["balance"] == pytest.approx(engine.accounts["paper-1"].trader.balance)
    assert account["connector"]["trading_allowed"] is True
    assert account["connector"]["circuit"] == "CLOSED"
    assert account["connector"]["instruments"] == 4
    assert account["workers"] == {"paused": 8}
    assert status["kill_switch"] == {"global_engagement": None, "accounts": {}}


async def test_workers_pause_and_resume_one_or_many_and_are_audited(api) -> None:
    client, engine = api
    workers = (await client.get("/api/v1/workers")).json()
    assert len(workers) == 8
    label = workers[0]["label"]
    only = (await client.get("/api/v1/workers", params={"account": "paper-1"})).json()
    assert len(only) == 8
    assert (await client.get("/api/v1/workers", params={"account": "nobody"})).json() == []

    one = await client.post(
        "/api/v1/workers/resume", json={"operator": "ann", "labels": [label, "nope/X/1m"]}
    )
    assert one.json() == {"changed": [label], "unknown": ["nope/X/1m"]}
    assert not engine.supervisor.workers[label].paused
    running = (await client.get("/api/v1/workers", params={"state": "running"})).json()
    assert [w["label"] for w in running] == [label]

    many = await client.post("/api/v1/workers/resume", json={"operator": "ann", "all": True})
    assert len(many.json()["changed"]) == 8
    assert not any(w.paused for w in engine.supervisor.workers.values())
    back = await client.post(
        "/api/v1/workers/pause", json={"operator": "bob", "accounts": ["paper-1", "zz"]}
    )
    assert len(back.json()["changed"]) == 8 and back.json()["unknown"] == ["zz"]
    assert all(w.paused for w in engine.supervisor.workers.values())
    with engine.sessions() as session:
        audit = session.scalars(
            select(models.AuditLog).where(models.AuditLog.action.like("workers.%"))
        ).all()
    assert [(a.actor, a.action, len(a.detail["labels"])) for a in audit] == [
        ("ann", "workers.resume", 1),
        ("ann", "workers.resume", 8),
        ("bob", "workers.pause", 8),
    ]
    bad = await client.post("/api/v1/workers/pause", json={"operator": " ", "all": True})
    assert bad.status_code == 422


async def test_orders_filters_and_pagination(api) -> None:
    client, engine = api
    total = _count(engine, select(func.count()).select_from(models.Order))
    assert total >= 10
    page = (await client.get("/api/v1/orders", params={"limit": 5})).json()
    assert page["total"] == total and len(page["items"]) == 5
    created = [item["created_at"] for item in page["items"]]
    assert created == sorted(created, reverse=True)
    second = (await client.get("/api/v1/orders", params={"limit": 5, "offset": 5})).json()
    assert not {i["id"] for i in page["items"]} & {i["id"] for i in second["items"]}

    eurusd = (await client.get("/api/v1/orders", params={"instrument": "EURUSD"})).json()
    assert eurusd["items"] and {i["instrument"] for i in eurusd["items"]} == {"EURUSD"}
    settled = (await client.get("/api/v1/orders", params={"state": "SETTLED"})).json()
    assert settled["total"] == _count(
        engine,
        select(func.count()).select_from(models.Order).where(models.Order.state == "SETTLED"),
    )
    assert all(i["outcome"] in ("win", "lose", "push") for i in settled["items"])
    wins = (await client.get("/api/v1/orders", params={"outcome": "win"})).json()
    assert all(i["outcome"] == "win" for i in wins["items"])
    middle = page["items"][2]["created_at"]
    newer = (await client.get("/api/v1/orders", params={"since": middle})).json()
    older = (await client.get("/api/v1/orders", params={"until": middle})).json()
    assert newer["total"] + older["total"] == total
    assert (await client.get("/api/v1/orders", params={"state": "BOGUS"})).status_code == 422
    big = await client.get("/api/v1/orders", params={"limit": 100_000})
    assert big.json()["limit"] == 1000  # capped by plugins.server.max_page_size


async def test_order_detail_features_and_404(api) -> None:
    client, _ = api
    newest = (await client.get("/api/v1/orders", params={"limit": 1})).json()["items"][0]
    cid = newest["client_req_id"]
    assert (await client.get(f"/api/v1/orders/{cid}")).json() == newest
    features = (await client.get(f"/api/v1/orders/{cid}/features")).json()
    assert features["client_req_id"] == cid
    assert features["indicators"] and features["signals"]
    assert features["strategy_snapshot"]["strategies"]
    assert (await client.get("/api/v1/orders/paper-1:NOPE:1m:1")).status_code == 404
    assert (await client.get("/api/v1/orders/paper-1:NOPE:1m:1/features")).status_code == 404


async def test_csv_exports_every_matching_row(api) -> None:
    client, engine = api
    response = await client.get("/api/v1/orders/export.csv", params={"instrument": "BTCUSD"})
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    listed = (await client.get("/api/v1/orders", params={"instrument": "BTCUSD"})).json()
    assert len(rows) == listed["total"] > 0
    assert {r["instrument"] for r in rows} == {"BTCUSD"}
    assert rows[0]["created_at"] <= rows[-1]["created_at"]  # oldest first
    results = await client.get("/api/v1/results/export.csv")
    result_rows = list(csv.DictReader(io.StringIO(results.text)))
    assert len(result_rows) == _count(engine, select(func.count()).select_from(models.Result))
    assert sum(float(r["pnl"]) for r in result_rows) == pytest.approx(
        sum(float(r["pnl"]) for r in rows)
        + sum(float(r["pnl"]) for r in result_rows if r["instrument"] != "BTCUSD")
    )


async def test_metrics_summary_matches_the_results(api) -> None:
    client, engine = api
    results = (await client.get("/api/v1/results", params={"limit": 1000})).json()
    items = results["items"]
    assert results["total"] == len(items) > 0
    summary = (await client.get("/api/v1/metrics/summary")).json()
    total = summary["total"]
    assert total["orders"] == len(items)
    assert total["pnl"] == pytest.approx(sum(i["pnl"] for i in items))
    wins = sum(i["outcome"] == "win" for i in items)
    losses = sum(i["outcome"] == "lose" for i in items)
    assert total["wins"] == wins and total["losses"] == losses
    assert total["win_rate"] == pytest.approx(wins / (wins + losses))
    assert [row["key"] for row in summary["by_day"]] == ["2026-01-05"]
    assert sum(r["pnl"] for r in summary["by_instrument"]) == pytest.approx(total["pnl"])
    assert {r["key"] for r in summary["by_instrument"]} == {i["instrument"] for i in items}
    latency = summary["latency"]["send_to_ack"]
    assert latency["count"] == len(items)
    assert latency["p50_ms"] <= latency["p90_ms"] <= latency["p99_ms"] <= latency["max_ms"]
    assert summary["guard_rejects"] == {
        str(k): float(v) for k, v in engine.risk.reject_counts.items()
    }
    later = (
        await client.get("/api/v1/metrics/summary", params={"since": "2026-01-06T00:00:00Z"})
    ).json()
    assert later["total"]["orders"] == 0 and later["by_day"] == []


async def test_prometheus_text_needs_the_token_and_has_the_engine_series(api) -> None:
    client, _ = api
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "version=0.0.4" in response.headers["content-type"]
    assert 'orders_total{account="paper-1"' in response.text


async def test_config_is_redacted(api) -> None:
    client, engine = api
    config = (await client.get("/api/v1/config")).json()["config"]
    assert config["accounts"][0]["id"] == "paper-1"
    assert config["data_dir"] == str(engine.config.data_dir)
    tree = {
        "url": "postgresql+psycopg://moonlight:pw@db/x",
        "nested": {"api_key": "abc", "broker_token": "t", "login_secret_name": "olymp", "n": 3},
        "list": [{"password": "p"}],
    }
    assert redact_tree(tree) == {
        "url": f"postgresql+psycopg://{REDACTED}@db/x",
        "nested": {"api_key": REDACTED, "broker_token": REDACTED,
                   "login_secret_name": REDACTED, "n": 3},
        "list": [{"password": REDACTED}],
    }  # fmt: skip


async def test_runtime_overrides_validated_persisted_and_audited(api) -> None:
    client, engine = api
    alarms: list = []
    engine.alarms.subscribe(alarms.append)
    good = await client.put(
        "/api/v1/overrides",
        json={"operator": "ann", "overrides": {"risk": {"threshold": 0.6, "permit_min_pct": 75}}},
    )
    assert good.status_code == 200
    body = good.json()
    assert body["overrides"] == {"risk": {"threshold": 0.6, "permit_min_pct": 75}}
    assert body["updated_by"] == "ann" and body["applies"] == "next_start"
    assert (await client.get("/api/v1/overrides")).json() == body
    with engine.sessions() as session:
        stored = session.get(models.EngineState, OVERRIDES_KEY)
        audit = session.scalars(
            select(models.AuditLog).where(models.AuditLog.action == AUDIT_ACTION)
        ).all()
    assert stored is not None and stored.value["overrides"]["risk"]["threshold"] == 0.6
    assert len(audit) == 1 and audit[0].actor == "ann"
    assert audit[0].detail == {"overrides": body["overrides"], "previous": {}}
    assert [a.code for a in alarms] == ["config_change"]
    assert "risk.threshold" in alarms[0].message


async def test_invalid_overrides_list_every_problem_and_change_nothing(api) -> None:
    client, engine = api
    bad = await client.put(
        "/api/v1/overrides",
        json={
            "operator": "ann",
            "overrides": {
                "risk": {"threshold": 2.0, "permit_min_pct": 90, "permit_max_pct": 80},
                "strategies": [{"name": "no_such_strategy"}],
                "bogus": 1,
                "accounts": [{"id": "x", "connector": "paper", "products": [],
                              "timeframes": ["1m"], "api_key": "k"}],
                "server": {"host": "0.0.0.0", "allow_non_loopback": True},
                "data_dir": "/elsewhere",
            },
        },
    )  # fmt: skip
    assert bad.status_code == 422
    detail = bad.json()["detail"]
    assert all(d["loc"][:2] == ["body", "overrides"] and d["msg"] for d in detail)
    paths = {d["loc"][2] for d in detail}
    assert {"risk.threshold", "bogus", "accounts[0].api_key", "server", "data_dir"} <= paths
    assert any(p.startswith("strategies[0]") for p in paths)
    assert any(p.startswith("accounts[0].products") for p in paths)
    assert (await client.get("/api/v1/overrides")).json()["overrides"] == {}
    with engine.sessions() as session:
        assert session.get(models.EngineState, OVERRIDES_KEY) is None


@pytest.mark.parametrize("number", [math.inf, -math.inf, math.nan])
async def test_non_finite_overrides_are_refused_by_name_and_nothing_is_stored(
    api, number: float
) -> None:
    """Finding 14.3: ``Infinity`` was stored (as null) and bricked the next start."""
    client, engine = api
    sizing = {"policy": "fixed", "params": {"stake_amount": number}}
    body = json.dumps({"operator": "ann", "overrides": {"risk": {"sizing": sizing}}})
    assert "Infinity" in body or "NaN" in body  # what a JavaScript client can send
    bad = await client.put(
        "/api/v1/overrides", content=body, headers={"Content-Type": "application/json"}
    )
    assert bad.status_code == 422, bad.text
    paths = {d["loc"][2] for d in bad.json()["detail"]}
    assert "risk.sizing.params.stake_amount" in paths
    assert all("input" not in d for d in bad.json()["detail"])
    with engine.sessions() as session:
        assert session.get(models.EngineState, OVERRIDES_KEY) is None


async def test_account_kill_switch_halts_only_that_account(api) -> None:
    client, engine = api
    response = await client.post(
        "/api/v1/kill-switch/engage",
        json={"operator": "ann", "reason": "broker maintenance", "account_id": "paper-1"},
    )
    assert response.status_code == 200 and response.json()["changed"] is True
    again = await client.post(
        "/api/v1/kill-switch/engage",
        json={"operator": "bob", "reason": "twice", "account_id": "paper-1"},
    )
    assert again.json()["changed"] is False
    status = (await client.get("/api/v1/status")).json()
    assert status["kill_switch"]["global_engagement"] is None
    assert status["kill_switch"]["accounts"]["paper-1"]["by"] == "ann"
    account = status["accounts"][0]
    assert account["trading_state"] == "HALTED"
    assert [r["reason"] for r in account["restrictions"]] == ["kill_switch_account"]
    alarms = (await client.get("/api/v1/alarms", params={"level": "critical"})).json()
    assert alarms["items"][0]["code"] == "kill_switch"
    unknown = await client.post(
        "/api/v1/kill-switch/engage", json={"operator": "ann", "reason": "x", "account_id": "zz"}
    )
    assert unknown.status_code == 404
    robot = await client.post(
        "/api/v1/kill-switch/re-arm", json={"operator": "moonlight-bot", "account_id": "paper-1"}
    )
    assert robot.status_code == 422
    person = await client.post(
        "/api/v1/kill-switch/re-arm", json={"operator": "carol", "account_id": "paper-1"}
    )
    assert person.json()["changed"] is True
    assert engine.risk.trading_state("paper-1").state.value != "HALTED"
    with engine.sessions() as session:
        actors = session.scalars(
            select(models.AuditLog.actor).where(models.AuditLog.action == "guard_state.set")
        ).all()
    assert actors == ["ann", "carol"]
