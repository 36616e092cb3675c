"""Fixtures for the deploy/ tests: the parsed template and moto.

``redis_url`` (a real Redis) comes from tests/conftest.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from .cfn import APP_ORIGIN, REGION, Stack, load_template, moto_template

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


@pytest.fixture
def aws(monkeypatch) -> Iterator[None]:
    """moto in-process, with fake credentials so nothing can reach a real account."""
    for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_S3_ENDPOINT_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        yield


def deploy_to_moto(template: dict[str, Any], name: str, parameters: dict[str, str]) -> dict:
    """Create the moto-modelled part of the template as stack ``name``; return the stack."""
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    cloudformation.create_stack(
        StackName=name,
        TemplateBody=json.dumps(moto_template(template)),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        Capabilities=["CAPABILITY_IAM"],
    )
    (stack,) = cloudformation.describe_stacks(StackName=name)["Stacks"]
    return stack
