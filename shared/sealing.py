"""Personal fields sealed by rule: in events at rest (the event-store mapper) and in contracts on
the wire (the envelope), with each person's key from the key store (`personal_data.py`).

A `Rule` names where a personal value sits in an event's state — a dotted path, `[]` stepping
into every element of a list (`benefits[].insureds[].first_name`), `{}` into every value of a
dict (`state.benefits{}.insureds[].first_name`) — whose key it is sealed under
(`subject(root, parent)`: the person the value belongs to, from the whole state and the dict
that holds the field) and which key class (`personal`, `servicing`, `claims`). The value
(any JSON value: a string, a list of emails, an address dict, an ISO date) is sealed as one
string; `erased` is what it opens to once its key is shredded, so code that reads the state
keeps working and shows nothing of the person.

- At rest: `SealingMapper` seals before an event (or a snapshot) is stored and opens after it
  is read, so aggregates and their code see clear values while the event store, its
  notification log and its snapshots hold only sealed ones. A service's application lists its
  rules by event class (`ServiceApplication.personal_fields`).
- On the wire: a contract lists its rules (`IntegrationEvent.personal`); `Envelope.wrap` seals
  them and `parse_event` opens them, so Kafka, its DLQs and anything that copies messages see
  sealed values only. A value that is not sealed (a payload published before sealing existed)
  is left as it is.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.personal_data import PERSONAL, PREFIX

Subject = Callable[[Mapping[str, Any], Mapping[str, Any]], Any]


@dataclass(frozen=True)
class Rule:
    path: str
    subject: Subject
    key_class: str = PERSONAL
    erased: Any = None
    steps: tuple[str, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "steps", tuple(self.path.split(".")))


def owner(path: str = "owner_party_id") -> Subject:
    """A subject read from a path of the root state (`owner.party_id`, `owner_party_id` …)."""
    steps = path.split(".")

    def subject(root: Mapping[str, Any], _parent: Mapping[str, Any]) -> Any:
        value: Any = root
        for step in steps:
            value = value[step]
        return value

    return subject


def sibling(name: str) -> Subject:
    """A subject read from the dict that holds the field (e.g. a list element's `party_id`)."""
    return lambda _root, parent: parent[name]


def _slots(node: Any, steps: tuple[str, ...]) -> Iterator[tuple[dict[str, Any], str]]:
    """Every (dict, key) the path reaches in `node` (a missing or None step reaches nothing).

    `name[]` steps into every element of a list, `name{}` into every value of a dict (an
    aggregate's state keyed by id, such as a certificate's benefits in its snapshot)."""
    if not steps or not isinstance(node, dict):
        return
    head, rest = steps[0], steps[1:]
    is_list, is_map = head.endswith("[]"), head.endswith("{}")
    name = head.removesuffix("[]").removesuffix("{}")
    if name not in node or node[name] is None:
        return
    if not rest and not (is_list or is_map):
        yield node, name
        return
    if not rest:
        raise ValueError(f"a path cannot end in {head[-2:]}: seal the whole value instead")
    value = node[name]
    if is_map:
        children = list(value.values()) if isinstance(value, dict) else []
    elif is_list:
        children = value if isinstance(value, list) else []
    else:
        children = [value]
    for child in children:
        yield from _slots(child, rest)


def is_sealed(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


Seal = Callable[[Any, Any, str], str]  # (subject, JSON value, key class) → sealed string
Open = Callable[[str], tuple[bool, Any]]  # sealed → (opened?, JSON value)


def seal_state(state: dict[str, Any], rules: tuple[Rule, ...], seal: Seal) -> dict[str, Any]:
    """A copy of `state` with every value the rules reach sealed (already sealed ones kept)."""
    if not rules:
        return state
    sealed = copy.deepcopy(state)
    for rule in rules:
        for parent, key in list(_slots(sealed, rule.steps)):
            value = parent[key]
            if is_sealed(value):
                continue
            parent[key] = seal(str(rule.subject(sealed, parent)), value, rule.key_class)
    return sealed


def open_state(state: dict[str, Any], rules: tuple[Rule, ...], open_: Open) -> dict[str, Any]:
    """A copy of `state` with every sealed value the rules reach opened, or replaced by the
    rule's `erased` value when its key is gone. Values that are not sealed stay as they are."""
    if not rules:
        return state
    opened = copy.deepcopy(state)
    for rule in rules:
        for parent, key in list(_slots(opened, rule.steps)):
            value = parent[key]
            if not is_sealed(value):
                continue
            ok, clear = open_(value)
            parent[key] = clear if ok else copy.deepcopy(rule.erased)
    return opened


def vault_sealer(vault: Any) -> Seal:
    return lambda subject, value, key_class: vault.seal_json(subject, value, key_class)


def vault_opener(vault: Any) -> Open:
    return vault.open_json
