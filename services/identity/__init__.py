"""The identity service: certificate owners' portal accounts — registration, log-in, sessions,
recovery — and the privacy office (`privacy/`: CCPA requests to know and to delete), on its
own event store, publishing on identity.events.

Modules: `domain.py` (UserAccount, OwnerClaim), `sessions.py` (Session, the session log),
`credentials.py` (password rules, argon2id), `registration.py` / `logins.py` / `recovery.py`
(commands, assembled in `application.py` on `core.py`), `registry.py` + `consumers.py` (the
owners known from policy's events; `matching.py`: the keyed hashes they are matched on;
`upgrade.py`: older databases brought up to date), `drafts.py` (registration steps 1–2),
`mails.py` (email texts, sent through `shared.mail`), `api.py` + `schemas.py` (HTTP),
`integration.py` (contracts), `main.py` (composition root), `privacy/` (the privacy office).

Choices where the guide and the design were silent:
- One account per owner party (not per certificate): the portal shows every certificate of
  the party, so registering again with another certificate of the same owner answers
  "already registered". Enforced by an `OwnerClaim` aggregate saved with the account.
- An unknown certificate gets the same answer as a name, date of birth or SSN that does not
  match ("The information entered does not match our records for this certificate"), so the
  answer reveals neither which part was wrong nor which certificate numbers exist. Step 1 is
  throttled after 5 mismatches per certificate in 15 minutes.
- The account's email is the one entered at registration; Forgot User ID also matches the
  emails policy has on file for the owner, and always writes to the account's email.
- Drafts of steps 1–2 live in a table (not events): nothing is recorded before submit.
- Sessions: an aggregate per log-in, 8 hours absolute (no idle timeout: that needs a write per
  request); SessionEnded reasons used: logout, rotated (a log-in presenting the previous
  token), password_changed, account_closed. A soft lock does not end sessions (an attacker
  could otherwise log the owner out); expiry records no event.
- A request to delete closes the account: no log-in nor recovery afterwards, its sessions
  end, and the owner cannot register again (identity's records of them are erased).
- Personal values rest sealed (account fields, owners' names, drafts) or as keyed hashes
  (date of birth, government ID, emails, cell number, address, name for matching).
- Emails: queued in `mail_outbox` right after the events that caused them (the event store and
  that table cannot share a transaction here); a crash in between loses that email, and the
  owner asks again. Sent at least once, never again once recorded as sent.
"""
