"""The session registry: ownership, detaching, the reconnect grace period, cancellation."""

from __future__ import annotations

import asyncio

from myagent.ws.session import CancelReason, Connection, RunHandle, Session, SessionRegistry


def session(session_id: str, connection: Connection | None) -> Session:
    return Session(session_id, agent=object(), agent_name="a", connection=connection)


async def test_a_session_is_owned_by_the_connection_that_holds_it() -> None:
    registry = SessionRegistry(grace_period=10)
    mine, theirs = Connection("c1", None), Connection("c2", None)
    registry.add(session("s1", mine))
    assert registry.owned("s1", mine) is registry.get("s1")
    assert registry.owned("s1", theirs) is None
    assert registry.owned("nope", mine) is None
    assert mine.session_ids == {"s1"}


async def test_detached_session_expires_after_the_grace_period_unless_reattached() -> None:
    registry = SessionRegistry(grace_period=0.05)
    conn = Connection("c1", None)
    expired: list[str] = []
    kept, dropped = session("kept", conn), session("dropped", conn)
    registry.add(kept)
    registry.add(dropped)

    def expire(s: Session) -> None:
        expired.append(s.session_id)
        registry.remove(s)

    registry.detach(kept, expire)
    registry.detach(dropped, expire)
    assert conn.session_ids == set() and kept.connection is None
    other = Connection("c2", None)
    assert registry.attach(kept, other) is None
    await asyncio.sleep(0.15)
    assert expired == ["dropped"]
    assert "kept" in registry and "dropped" not in registry
    assert other.session_ids == {"kept"}


async def test_zero_grace_drops_at_once() -> None:
    registry = SessionRegistry(grace_period=0)
    s = session("s", Connection("c", None))
    registry.add(s)
    registry.detach(s, registry.remove)
    assert len(registry) == 0


async def test_attach_reports_the_connection_that_held_the_session() -> None:
    registry = SessionRegistry(grace_period=1)
    first, second = Connection("c1", None), Connection("c2", None)
    s = session("s", first)
    registry.add(s)
    assert registry.attach(s, second) is first
    assert first.session_ids == set() and second.session_ids == {"s"}


async def test_cancel_run_keeps_the_first_reason_and_pending_answers_become_denials() -> None:
    s = session("s", None)
    task = asyncio.create_task(asyncio.sleep(10))
    s.run = RunHandle(task)
    assert s.is_running
    assert s.cancel_run(CancelReason.USER) is task
    s.cancel_run(CancelReason.DISCONNECT)
    assert s.run.cancel_reason is CancelReason.USER
    await asyncio.gather(task, return_exceptions=True)
    assert not s.is_running and s.cancel_run(CancelReason.USER) is None
    future: asyncio.Future[dict[str, object]] = asyncio.get_running_loop().create_future()
    s.pending["confirm_1_x"] = future
    s.reject_pending()
    assert future.result()["confirmed"] is False and not s.pending
