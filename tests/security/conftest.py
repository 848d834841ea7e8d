"""Portals shared by the security tests of this package (each costs a few seconds to seed):
one with a population of signed-in owners (access control, the OpenAPI fuzz), one for the
web defences (lock-outs and throttles stay on it)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.security.owners import Population, population
from tests.security.system import SecuredPortal, secured_portal


@pytest.fixture(scope="package")
def populated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Population]:
    with secured_portal(tmp_path_factory.mktemp("population")) as portal:
        yield Population(portal, population(portal))


@pytest.fixture(scope="package")
def defended(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredPortal]:
    with secured_portal(tmp_path_factory.mktemp("defences")) as portal:
        yield portal
