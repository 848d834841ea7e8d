"""`python -m bench.replay_process [--from-kafka]`: `portal replay` of every read model, in a
process of its own (so that its peak memory is its own), on an empty read database.

The same code as the `portal replay` command (`services.portal.replay.replay`, the outboxes or
the topics as source, the shadow swapped in), with the watermarks taken from the rebuild
(`cut=False`) rather than from the live read models: the bench's read database is empty — the
live consumer never ran — so cutting at its watermarks would keep nothing. Prints the replay's
summary line, which `bench.scale` parses.
"""

from __future__ import annotations

import argparse
import sys

from services.portal import replay as replaying
from services.portal.replay_cli import _ensure_live, _source
from shared.personal_data import install, vault_at
from shared.settings import Settings


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.replay_process")
    parser.add_argument("--from-kafka", action="store_true", help="the topics as source")
    from_kafka = parser.parse_args(argv).from_kafka
    settings = Settings()
    install(vault_at(settings.database_url_for("keystore")))
    live_url = settings.database_url_for("portal")
    _ensure_live(live_url)
    with _source(settings, from_kafka) as source:
        report = replaying.replay(live_url, source, cut=False)
    print(report.summary(), flush=True)
    return 0 if not report.failed else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
