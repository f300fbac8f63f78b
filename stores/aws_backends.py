"""The AWS store backends' registrations: Secrets Manager and SSM Parameter Store.

Both share one ``AwsConnection`` per ``open_stores`` block (one session, one embedded emulator
when the machine has no AWS configuration). boto3 is imported only when a store is opened.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from vaultborn.stores.aws_config import AwsConnection, aws_configured, open_aws
from vaultborn.stores.protocol import SecretStore
from vaultborn.stores.registry import Backend, Readiness, StoreContext, register
from vaultborn.stores.ssm_target import SSM_SCHEME, parse_ssm_target
from vaultborn.stores.target import AWS_SCHEME, parse_aws_target

__all__: list[str] = []


def _aws(ctx: StoreContext) -> AwsConnection:
    return ctx.shared("aws", lambda: open_aws(ctx.notice, ctx.env, ctx.home, ctx.data_dir))


def _secrets_manager(ctx: StoreContext) -> SecretStore:
    from vaultborn.stores.aws import AwsSecretsManager

    aws = _aws(ctx)
    return AwsSecretsManager(lambda region: aws.client("secretsmanager", region))


def _parameter_store(ctx: StoreContext) -> SecretStore:
    from vaultborn.stores.ssm import AwsParameterStore

    aws = _aws(ctx)
    return AwsParameterStore(lambda region: aws.client("ssm", region))


def _readiness(env: Mapping[str, str], home: Path) -> Readiness:
    if aws_configured(env, home):
        return Readiness("aws", "ok", "the AWS configuration of this environment")
    return Readiness("aws", "warn", "no AWS configuration: an in-process emulator will serve")


register(
    Backend(
        AWS_SCHEME,
        parse_aws_target,
        _secrets_manager,
        _readiness,
        form=f"{AWS_SCHEME}://REGION/NAME",
    )
)
register(
    Backend(
        SSM_SCHEME,
        parse_ssm_target,
        _parameter_store,
        _readiness,
        form=f"{SSM_SCHEME}://REGION/PATH",
    )
)
