"""The certificate-owner portal: read models projected from every service's events, the
owner-facing query API and pages, and the replay/audit tooling. It owns no aggregates."""
