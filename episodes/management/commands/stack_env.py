"""``manage.py stack_env <stack-name>``: print the app's environment from a deployed stack."""

from __future__ import annotations

import boto3
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from episodes.stack_env import StackNotFound, env_lines, stack_outputs


class Command(BaseCommand):
    help = (
        "Read the outputs of a deploy/template.yaml stack and print KEY=value lines for the "
        "app's environment (other outputs as comments)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("stack_name", help="name of the CloudFormation stack")
        parser.add_argument(
            "--region",
            help="the stack's region (default: the AWS configuration's, else AWS_REGION)",
        )

    def handle(self, *args, stack_name: str, region: str | None, **options) -> None:
        region = region or boto3.session.Session().region_name or settings.AWS_REGION
        client = boto3.client("cloudformation", region_name=region)
        try:
            outputs = stack_outputs(client, stack_name)
        except StackNotFound:
            raise CommandError(
                f"Stack {stack_name!r} not found in {region}: deploy deploy/template.yaml first "
                "(deploy/README.md) or pass --region."
            ) from None
        for line in env_lines(outputs, region=region):
            self.stdout.write(line)
