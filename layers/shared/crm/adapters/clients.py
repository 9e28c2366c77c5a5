"""Clients of the AWS services besides DynamoDB (EventBridge, S3), one per service and process.

They are made from the botocore session of the DynamoDB connection (``tables.connection()``), not
by boto3: a second client of a session reuses the service data and endpoint rules its first one
loaded (about 7 ms instead of 60-90 ms on a cold start), and the functions need not import boto3."""

from __future__ import annotations

from functools import cache
from typing import Any

from crm.adapters.tables import connection


@cache
def client(service_name: str) -> Any:
    dynamodb = connection()
    return dynamodb.session.create_client(service_name, region_name=dynamodb.region)
