"""The privacy office: consumer requests under the CCPA — to know, and to delete — received,
verified, answered within 45 days and recorded for 24 months, in identity's event store.

Modules: `domain.py` (the `PrivacyRequest` aggregate), `verification.py` (matching points),
`throttle.py` (the lock-out of failed verifications), `retention.py` (what a deletion keeps),
`commands.py` (the commands, on `IdentityApplication`), `records.py` + `tables.py` (the
request log), `integration.py` (PrivacyRequestUpdated, PersonalDataErased), `api.py` +
`schemas.py` (HTTP).

- Who may ask: a signed-in owner (the portal has authenticated them: verified), or anyone on
  the privacy page, verified by matching name, date of birth, email, cell number and address
  against identity's records by keyed hash (2 points: categories; 3: specific pieces, or a
  deletion). An authorized agent gives their name, email and the written permission, and
  attests to holding it; the agent's details are recorded sealed, and the request is marked
  `by_agent`.
- A request to delete is carried out by crypto-shredding: every key of the person in the key
  store is shredded except the classes an exemption keeps (servicing while a certificate is
  in force, claims for the legal retention period), each until a recorded date; the portal
  account is closed and its sessions ended; identity's own copies (owners' names and digests,
  registration drafts, queued mail) are purged; then `PersonalDataErased` (one per
  certificate) tells every other service to purge theirs.
- Every request is recorded (received, due by, status, outcome, points matched) and kept 24
  months; the sweep (`POST /privacy/sweep`) then purges it, reviews retentions and shreds
  expired ones.

Non-discrimination: nothing here touches prices, premiums, billing, coverage or service. A
request (of any kind, with any outcome) changes no certificate, no bill and no portal feature
of the person; the only effect on service is the one the person asked for — a deleted
person's portal account is closed because its data is gone. Nothing here is read by the
billing or policy services.
"""
