"""The services: each owns its aggregates and its own database, and talks through contracts."""
