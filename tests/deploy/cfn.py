"""A small CloudFormation evaluator for tests: resolves the template for given parameters.

It knows just enough of the intrinsic functions (Ref, Fn::GetAtt, Fn::Sub, Fn::If,
Fn::Join, conditions) and of each resource type's physical ids and ARNs to let tests
reason about the resolved policies the way AWS would see them after deployment.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from cfnlint.decode import decode

TEMPLATE_PATH = Path(__file__).resolve().parents[2] / "deploy" / "template.yaml"
ACCOUNT_ID = "123456789012"
REGION = "eu-west-1"
STACK_NAME = "podcasthost-test"
APP_ORIGIN = "https://podcasts.example.com"

_NO_VALUE = object()
_POLICY_TYPES = (
    "AWS::S3::BucketPolicy",
    "AWS::SQS::QueuePolicy",
    "AWS::SNS::TopicPolicy",
    "AWS::IAM::ManagedPolicy",
)


def load_template() -> dict[str, Any]:
    """The template as plain dicts/lists/strings, short-form tags expanded."""
    template, matches = decode(str(TEMPLATE_PATH))
    assert not matches, matches
    return json.loads(json.dumps(template))


class Stack:
    """The template resolved for one set of parameter values."""

    def __init__(self, template: dict[str, Any], parameters: dict[str, str]) -> None:
        self.template = template
        self.parameters = {
            name: spec.get("Default") for name, spec in template["Parameters"].items()
        }
        self.parameters.update(parameters)
        missing = [k for k, v in self.parameters.items() if v is None]
        assert not missing, f"parameters without a value: {missing}"
        self.pseudo = {
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Region": REGION,
            "AWS::Partition": "aws",
            "AWS::StackName": STACK_NAME,
            "AWS::URLSuffix": "amazonaws.com",
        }
        self.conditions: dict[str, bool] = {}
        for name in template.get("Conditions", {}):
            self._condition(name)
        self.resources = {
            lid: res
            for lid, res in template["Resources"].items()
            if "Condition" not in res or self.conditions[res["Condition"]]
        }

    # -- conditions -------------------------------------------------------
    def _condition(self, name: str) -> bool:
        if name not in self.conditions:
            self.conditions[name] = self._eval_condition(self.template["Conditions"][name])
        return self.conditions[name]

    def _eval_condition(self, node: Any) -> bool:
        (fn, args), *_ = node.items()
        if fn == "Fn::Equals":
            return self.resolve(args[0]) == self.resolve(args[1])
        if fn == "Fn::Not":
            return not self._eval_condition(args[0])
        if fn == "Fn::And":
            return all(self._eval_condition(a) for a in args)
        if fn == "Fn::Or":
            return any(self._eval_condition(a) for a in args)
        if fn == "Condition":
            return self._condition(args)
        raise NotImplementedError(fn)

    # -- physical ids and attributes --------------------------------------
    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        """The stack's resources of one type, by logical id."""
        return {k: v for k, v in self.resources.items() if v["Type"] == resource_type}

    def props(self, logical_id: str) -> dict[str, Any]:
        """The resource's properties, resolved."""
        return self.resolve(self.resources[logical_id].get("Properties", {}))

    def ref(self, name: str) -> Any:
        if name in self.parameters:
            return self.parameters[name]
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name in self.pseudo:
            return self.pseudo[name]
        res = self.resources[name]
        kind = res["Type"]
        if kind == "AWS::S3::Bucket":
            return self.resolve(res["Properties"]["BucketName"])
        if kind == "AWS::SQS::Queue":
            return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT_ID}/{STACK_NAME}-{name}"
        if kind in ("AWS::SNS::Topic", "AWS::IAM::ManagedPolicy"):
            return self.getatt(name, "Arn")
        if kind == "AWS::CloudFront::Distribution":
            return f"E{name.upper()}"
        return f"{STACK_NAME}-{name}"

    def getatt(self, name: str, attr: str) -> str:
        kind = self.resources[name]["Type"]
        physical = f"{STACK_NAME}-{name}"
        arns = {
            "AWS::S3::Bucket": lambda: f"arn:aws:s3:::{self.ref(name)}",
            "AWS::SQS::Queue": lambda: f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{physical}",
            "AWS::SNS::Topic": lambda: f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:{physical}",
            "AWS::IAM::Role": lambda: f"arn:aws:iam::{ACCOUNT_ID}:role/{physical}",
            "AWS::IAM::ManagedPolicy": lambda: f"arn:aws:iam::{ACCOUNT_ID}:policy/{physical}",
            "AWS::IAM::InstanceProfile": lambda: (
                f"arn:aws:iam::{ACCOUNT_ID}:instance-profile/{physical}"
            ),
            "AWS::Events::Rule": lambda: f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/{physical}",
            "AWS::MediaConvert::Queue": lambda: (
                f"arn:aws:mediaconvert:{REGION}:{ACCOUNT_ID}:queues/{self.props(name)['Name']}"
            ),
            "AWS::CloudFront::Distribution": lambda: (
                f"arn:aws:cloudfront::{ACCOUNT_ID}:distribution/{self.ref(name)}"
            ),
        }
        if attr == "Arn":
            return arns[kind]()
        if kind == "AWS::S3::Bucket" and attr == "DomainName":
            return f"{self.ref(name)}.s3.amazonaws.com"
        if kind == "AWS::S3::Bucket" and attr == "RegionalDomainName":
            return f"{self.ref(name)}.s3.{REGION}.amazonaws.com"
        if kind == "AWS::SQS::Queue" and attr == "QueueName":
            return physical
        if kind == "AWS::CloudFront::Distribution" and attr == "DomainName":
            return "d111111abcdef8.cloudfront.net"
        if attr == "Id":
            return f"{physical}-id"
        raise NotImplementedError(f"{kind}.{attr}")

    def arn(self, logical_id: str) -> str:
        """The ARN of one of the stack's resources."""
        return self.getatt(logical_id, "Arn")

    def resource_arns(self) -> set[str]:
        """ARNs of every resource of this stack that has one."""
        arns = set()
        for lid in self.resources:
            try:
                arns.add(self.arn(lid))
            except KeyError:
                continue
        return arns

    # -- intrinsic functions ----------------------------------------------
    def resolve(self, node: Any) -> Any:
        """Evaluate every intrinsic function in ``node``; drop AWS::NoValue."""
        if isinstance(node, list):
            items = [self.resolve(n) for n in node]
            return [i for i in items if i is not _NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (fn, args), *_ = node.items()
            if fn == "Ref":
                return self.ref(args)
            if fn == "Fn::GetAtt":
                name, attr = args if isinstance(args, list) else args.split(".", 1)
                return self.getatt(name, attr)
            if fn == "Fn::Sub":
                text, variables = (args, {}) if isinstance(args, str) else args
                return self._sub(text, {k: self.resolve(v) for k, v in variables.items()})
            if fn == "Fn::If":
                cond, yes, no = args
                return self.resolve(yes if self._condition(cond) else no)
            if fn == "Fn::Join":
                sep, parts = args
                return sep.join(str(p) for p in self.resolve(parts))
            if fn.startswith("Fn::"):
                raise NotImplementedError(fn)
        resolved = {k: self.resolve(v) for k, v in node.items()}
        return {k: v for k, v in resolved.items() if v is not _NO_VALUE}

    def _sub(self, text: str, variables: dict[str, Any]) -> str:
        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(variables[name])
            if "." in name and name.split(".", 1)[0] in self.resources:
                return self.getatt(*name.split(".", 1))
            return str(self.ref(name))

        return re.sub(r"\$\{([^}!]+)\}", one, text)

    # -- policies ---------------------------------------------------------
    def policy_documents(self) -> list[tuple[str, dict[str, Any]]]:
        """Every policy document of the stack, resolved, with the logical id that holds it."""
        docs = []
        for lid, res in self.resources.items():
            props = self.props(lid)
            kind = res["Type"]
            if kind in _POLICY_TYPES:
                docs.append((lid, props["PolicyDocument"]))
            elif kind == "AWS::IAM::Role":
                docs.extend((lid, p["PolicyDocument"]) for p in props.get("Policies", []))
        return docs


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    """A policy document's statements as a list (a single statement may be a dict)."""
    stmts = document["Statement"]
    return stmts if isinstance(stmts, list) else [stmts]


def as_list(value: Any) -> list[Any]:
    """A policy element that may be a scalar or a list, as a list."""
    return value if isinstance(value, list) else [value]


# Resource types moto's CloudFormation does not model, dropped before deploying there.
MOTO_UNMODELLED = (
    "AWS::CloudFront::",
    "AWS::MediaConvert::",
    "AWS::CloudWatch::Alarm",
    "AWS::S3::BucketPolicy",
    "AWS::SQS::QueuePolicy",
    "AWS::SNS::TopicPolicy",
    "AWS::SNS::Subscription",
)


def moto_template(template: dict[str, Any]) -> dict[str, Any]:
    """The template without what moto does not model; references to it become placeholders.

    A ``Fn::GetAtt X.Arn`` of a dropped resource becomes an ARN-shaped placeholder
    (IAM validates policy resources), any other reference ``removed-X``.
    """
    removed = {
        lid for lid, res in template["Resources"].items() if res["Type"].startswith(MOTO_UNMODELLED)
    }

    def placeholder(name: str, attr: str | None) -> str:
        if attr == "Arn":
            return f"arn:aws:removed:{REGION}:{ACCOUNT_ID}:{name}"
        return f"removed-{name}"

    def replace(node: Any) -> Any:
        if isinstance(node, list):
            return [replace(n) for n in node]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (fn, args), *_ = node.items()
            if fn == "Ref" and args in removed:
                return placeholder(args, None)
            if fn == "Fn::GetAtt":
                name, attr = args if isinstance(args, list) else args.split(".", 1)
                if name in removed:
                    return placeholder(name, attr)
            if fn == "Fn::Sub":
                text, variables = (args, None) if isinstance(args, str) else args

                def one(m: re.Match[str]) -> str:
                    name, _, attr = m.group(1).partition(".")
                    return placeholder(name, attr or None) if name in removed else m.group(0)

                text = re.sub(r"\$\{([A-Za-z0-9.]+)\}", one, text)
                return {"Fn::Sub": text if variables is None else [text, replace(variables)]}
        return {k: replace(v) for k, v in node.items()}

    resources = {}
    for lid, res in template["Resources"].items():
        if lid in removed:
            continue
        res = replace(res)
        depends = [d for d in as_list(res.pop("DependsOn", [])) if d not in removed]
        if depends:
            res["DependsOn"] = depends
        resources[lid] = res
    return {
        **template,
        "Resources": resources,
        "Outputs": replace(template["Outputs"]),
    }
