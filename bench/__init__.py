"""`make bench`: figures of the event store, the Kafka path and the portal projection, each
next to a raw limit measured in the same run (see `bench.run`)."""
