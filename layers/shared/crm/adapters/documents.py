"""The ``Documents`` port on S3: a generated document stored under its item,

    {tenant}/documents/{item type}/{item id}/{document id}/{name}

in the bucket the constructor names, and a presigned GET URL to view it. The document id is derived
from the idempotency key (``crm.domain.documents.document_id``), so a retried run writes the same
object again (S3's PUT replaces it whole) and answers the same id.

Needs ``s3:PutObject`` and ``s3:GetObject`` on ``{bucket}/*`` (a presigned URL acts with the
signer's rights). A presigned URL is valid for ``url_valid_for`` (7 days at most, SigV4's limit)
AND only while the credentials that signed it are: a Lambda role's are temporary (hours), so a link
meant to last days must be signed anew when opened: the CRM's ``/d/{token}`` route redirects to a
fresh one (``view_url``), and that is the link robots give out (``crm.service.documents``).
"""

from __future__ import annotations

from datetime import timedelta
from functools import cache
from typing import Any
from urllib.parse import quote

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from crm.adapters.tables import connection
from crm.domain.documents import document_id as id_of
from crm.domain.model import Item
from crm.domain.ports import StoredDocument
from crm.domain.robots import RobotFailed

MAX_NAME = 200
URL_VALID_FOR = timedelta(days=7)
THROTTLED = {"SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded"}


@cache
def _s3() -> Any:
    """S3 signing with SigV4 (botocore presigns with the deprecated SigV2 by default, which S3
    refuses for KMS-encrypted objects and in regions opened since 2014), on the shared session."""
    dynamodb = connection()
    return dynamodb.session.create_client(
        "s3", region_name=dynamodb.region, config=Config(signature_version="s3v4")
    )


def checked_name(name: str) -> str:
    """``name`` as a file name: one path segment, no control characters, at most 200 characters."""
    name = name.strip()
    if (
        not name
        or name in (".", "..")
        or len(name) > MAX_NAME
        or any(c in name for c in "/\\")
        or any(ord(c) < 32 or ord(c) == 127 for c in name)
    ):
        raise RobotFailed(
            f"{name!r} is no document name: 1 to {MAX_NAME} characters, no slashes or control characters",
            retryable=False,
        )
    return name


class S3Documents:
    """The documents' content. Its ``store`` answers the storage's own presigned link; the robots'
    port (``crm.service.documents.CrmDocuments``) stores through it and gives out the CRM's link."""

    def __init__(self, bucket: str, *, url_valid_for: timedelta = URL_VALID_FOR) -> None:
        if not timedelta(seconds=1) <= url_valid_for <= URL_VALID_FOR:
            raise ValueError("a presigned URL is valid for 1 second to 7 days")
        self.bucket = bucket
        self.url_valid_for = url_valid_for

    def store(
        self,
        tenant_id: str,
        item: Item,
        name: str,
        content: bytes,
        content_type: str,
        *,
        idempotency_key: str,
    ) -> StoredDocument:
        name = checked_name(name)
        document_id = id_of(idempotency_key)
        key = object_key(tenant_id, item.type, item.id, document_id, name)
        s3 = _s3()
        try:
            s3.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=content,
                ContentType=content_type,
                ContentDisposition=f"inline; filename*=UTF-8''{quote(name, safe='')}",
                Metadata={"tenant-id": tenant_id, "item-type": item.type, "item-id": item.id},
            )
        except ClientError as error:
            failed = error.response.get("Error", {})
            code, message = failed.get("Code", ""), failed.get("Message", "")
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 500)
            # The PUT is idempotent: whatever the outcome, trying it again is safe.
            retryable = code in THROTTLED or status >= 500
            raise RobotFailed(
                f"the document store refused {name}: {message or code}", retryable=retryable
            ) from None
        except BotoCoreError as error:
            raise RobotFailed(f"the document store could not be reached: {error}") from None
        return StoredDocument(document_id, self.view_url(key, self.url_valid_for))

    def view_url(self, key: str, valid_for: timedelta) -> str:
        """A presigned GET of the object ``key`` (no call: it is signed here)."""
        return _s3().generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": key},
            ExpiresIn=int(valid_for.total_seconds()),
        )


def object_key(tenant_id: str, item_type: str, item_id: str, document_id: str, name: str) -> str:
    return f"{tenant_id}/documents/{item_type}/{item_id}/{document_id}/{name}"
