"""The identity service. Built by its own issue; until then it has no code (see README, "Status")."""
