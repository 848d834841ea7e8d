"""Moving integration events: outbox relay, consumer runner, in-process and Kafka transports.

The flow (DESIGN.md §2): a service's notification log is its outbox; the `Relay` follows it,
maps domain events to contracts and publishes them; a `ConsumerCore` parses, dispatches and
tracks each message for one consumer (a `Sink`); transports only move bytes.
"""
