"""The identity service: built by its own issue (see README, "Status")."""
