"""The harness's read-only view of the topology: each service's outbox head and relay position,
each consumer group's position per partition, the topics' end offsets.

Built from the services' own composition roots (the same outboxes and consumer sinks the
processes run), connected to PostgreSQL directly rather than through the proxy, so proxy
faults do not blind the harness. Every read may fail while a fault is on: callers retry.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from aiokafka import TopicPartition
from sqlalchemy.engine import Engine

from shared import personal_data
from shared.messaging.consumer import ConsumerCore
from shared.messaging.outbox import Outbox
from shared.ops import KafkaOffsets
from shared.settings import Settings


@dataclass(frozen=True)
class Heads:
    """Where the system stood at one moment: outbox heads and topic end offsets."""

    outboxes: dict[str, int]
    ends: dict[tuple[str, int], int]


class Observer:
    def __init__(self, settings: Settings) -> None:
        from services.billing.main import billing_consumer, billing_outbox, build_billing
        from services.claims.main import build_claims, claims_consumer, claims_outbox
        from services.documents.main import build_documents, documents_consumer, documents_outbox
        from services.identity.main import build_identity, identity_consumer, identity_outbox
        from services.policy.main import build_policy, policy_consumer, policy_outbox
        from services.portal.main import build_read_store, portal_consumer

        self.settings = settings
        self.vault = personal_data.vault_at(settings.database_url_for("keystore"))
        personal_data.install(self.vault)
        policy, billing = build_policy(settings), build_billing(settings)
        claims, documents = build_claims(settings), build_documents(settings)
        identity = build_identity(settings)
        self.read_engine: Engine = build_read_store(settings)
        self.apps = {
            "policy": policy,
            "billing": billing,
            "claims": claims,
            "documents": documents,
            "identity": identity,
        }
        self.outboxes: dict[str, Outbox] = {
            "policy": policy_outbox(policy, settings),
            "billing": billing_outbox(billing, settings),
            "claims": claims_outbox(claims, settings),
            "documents": documents_outbox(documents, settings),
            "identity": identity_outbox(identity, settings),
        }
        self.consumers: dict[str, ConsumerCore] = {
            "policy": policy_consumer(policy, settings),
            "billing": billing_consumer(billing, settings),
            "claims": claims_consumer(claims, settings),
            "documents": documents_consumer(documents, settings),
            "identity": identity_consumer(identity, settings),
            "portal": portal_consumer(self.read_engine, settings),
        }
        # The group-less client of the ops endpoints: end offsets, metadata, reads from 0.
        self.offsets = KafkaOffsets(settings.kafka_bootstrap_servers)
        self.kafka = self.offsets.consumer

    @property
    def topics(self) -> list[str]:
        return sorted({outbox.topic for outbox in self.outboxes.values()})

    async def start(self) -> None:
        await self.offsets.start()

    async def stop(self) -> None:
        await self.offsets.stop()
        for app in self.apps.values():
            with contextlib.suppress(Exception):
                app.close()
        self.read_engine.dispose()

    async def partitions(self, topics: list[str]) -> list[TopicPartition]:
        return await self.offsets.partitions(topics)

    async def end_offsets(self, topics: list[str]) -> dict[tuple[str, int], int]:
        partitions = await self.partitions(topics)
        ends = await self.kafka.end_offsets(partitions)
        return {(tp.topic, tp.partition): offset for tp, offset in ends.items()}

    def _outbox_heads(self) -> dict[str, int]:
        return {
            name: outbox.app.process_recorder.max_notification_id() or 0
            for name, outbox in self.outboxes.items()
        }

    def _relay_positions(self) -> dict[str, int]:
        return {name: outbox.position("kafka") for name, outbox in self.outboxes.items()}

    def _consumer_positions(self, ends: dict[tuple[str, int], int]) -> dict[str, dict]:
        positions: dict[str, dict[tuple[str, int], int]] = {}
        for name, core in self.consumers.items():
            mine = {}
            for topic, partition in ends:
                if topic in core.topics:
                    position = core.sink.position(topic, partition)
                    mine[(topic, partition)] = -1 if position is None else position
            positions[name] = mine
        return positions

    async def heads(self) -> Heads:
        outboxes = await asyncio.to_thread(self._outbox_heads)
        return Heads(outboxes, await self.end_offsets(self.topics))

    async def lag(self, heads: Heads | None = None) -> dict[str, int]:
        """Records each relay and each consumer group is behind `heads` (default: now)."""
        heads = heads or await self.heads()
        relays = await asyncio.to_thread(self._relay_positions)
        groups = await asyncio.to_thread(self._consumer_positions, heads.ends)
        lag = {
            f"{name}-relay": max(0, head - relays[name]) for name, head in heads.outboxes.items()
        }
        for name, positions in groups.items():
            lag[f"{name}-consumer"] = sum(
                max(0, heads.ends[tp] - 1 - position) for tp, position in positions.items()
            )
        return lag

    async def caught_up(self, heads: Heads) -> bool:
        return not any((await self.lag(heads)).values())
