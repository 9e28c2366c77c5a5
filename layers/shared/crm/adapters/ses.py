"""The ``Mailer`` port on SES (SendRawEmail): the raw MIME message as composed, so the tracked HTML,
the References and the sender's display name go out as written."""

from __future__ import annotations

from collections.abc import Sequence

from botocore.exceptions import ClientError

from crm.adapters.clients import client
from crm.domain.errors import Conflict, Throttled

# SES refused the message itself or its sender: it was not sent, and the same request will not
# do until the tenant's configuration changes.
REFUSED = {
    "MessageRejected",
    "MailFromDomainNotVerifiedException",
    "ConfigurationSetDoesNotExistException",
    "ConfigurationSetSendingPausedException",
    "AccountSendingPausedException",
}
THROTTLED = {"Throttling", "ThrottlingException", "TooManyRequestsException"}


class SesMailer:
    def send(self, sender: str, recipients: Sequence[str], raw: bytes) -> str:
        try:
            answer = client("ses").send_raw_email(
                Source=sender, Destinations=list(recipients), RawMessage={"Data": raw}
            )
        except ClientError as error:
            failed = error.response.get("Error", {})
            code, message = failed.get("Code", ""), failed.get("Message", "")
            if code in REFUSED:
                raise Conflict(f"the mail service refused the message: {message}") from None
            if code in THROTTLED:
                raise Throttled("the mail service is busy: retry in a moment") from None
            raise
        return answer["MessageId"]
