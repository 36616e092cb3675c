"""Fixtures for the deploy/ tests: the parsed template, resolved per parameter set."""

from __future__ import annotations

from typing import Any

import pytest

from .cfn import APP_ORIGIN, Stack, load_template

# The default parameters, and RandomId set: the seed built ARNs from
# pod-in-${EnvironmentSuffix}-${AWS::AccountId} and broke in the second case.
PARAMETER_SETS = {
    "defaults": {"AppOrigin": APP_ORIGIN},
    "random-id": {"AppOrigin": APP_ORIGIN, "RandomId": "x7k2q9", "EnvironmentSuffix": "prod"},
    "all-options": {
        "AppOrigin": APP_ORIGIN,
        "RandomId": "r4nd0m",
        "AppRoleService": "ec2.amazonaws.com",
        "AlertEmail": "ops@example.com",
    },
}


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    return load_template()


@pytest.fixture(scope="session", params=sorted(PARAMETER_SETS))
def stack(request, template) -> Stack:
    return Stack(template, PARAMETER_SETS[request.param])
