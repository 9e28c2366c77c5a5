"""The ``Telephony`` port on Twilio's Calls API, over the ``Http`` port: a call to the client that
speaks a text (TwiML ``<Say>``), from the tenant's Twilio number.

Twilio takes no idempotency key: a call is placed once per key through a once-record
(``crm.adapters.once_effects``). A request whose answer never came (a timeout, a broken
connection) may have placed the call: it is placed again only after the record's ``resend_after``
(at least once, never twice within it); a call Twilio refused frees the key.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import timedelta
from urllib.parse import quote, urlencode
from xml.sax.saxutils import escape, quoteattr

from crm.adapters.http import refused_answer
from crm.adapters.once_effects import RESEND_AFTER, OutcomeUnknown, once
from crm.adapters.sms import e164
from crm.domain.ports import Http, Sent
from crm.domain.robots import RobotFailed

TWILIO_API = "https://api.twilio.com/2010-04-01"
TIMEOUT = 10.0
MAX_TWIML = 4000  # characters of the Twiml parameter Twilio takes
VOICE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")  # man, woman, alice, Polly.Joanna, Google.en-US-...


def twiml(text: str, voice: str) -> str:
    """The TwiML that speaks ``text`` (XML-escaped: a text cannot add verbs)."""
    return f"<Response><Say voice={quoteattr(voice)}>{escape(text)}</Say></Response>"


class TwilioCalls:
    def __init__(
        self,
        http: Http,
        account_sid: str,
        auth_token: str,
        from_number: str,
        *,
        api: str = TWILIO_API,
        resend_after: timedelta = RESEND_AFTER,
    ) -> None:
        self.http = http
        self.url = f"{api}/Accounts/{quote(account_sid, safe='')}/Calls.json"
        self.authorization = "Basic " + base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode()
        self.from_number = from_number
        self.resend_after = resend_after

    def call_and_say(self, tenant_id: str, to: str, text: str, *, voice: str, idempotency_key: str) -> Sent:
        number = e164(to)
        if not text.strip():
            raise RobotFailed("the text to speak is empty", retryable=False)
        if not VOICE.match(voice):
            raise RobotFailed(f"{voice!r} is not a voice name", retryable=False)
        say = twiml(text, voice)
        if len(say) > MAX_TWIML:
            raise RobotFailed(
                f"the text to speak is too long: {len(say)} of {MAX_TWIML} characters of TwiML",
                retryable=False,
            )
        return once(
            tenant_id,
            "CALL",
            idempotency_key,
            lambda: self._call(number, say),
            resend_after=self.resend_after,
        )

    def _call(self, number: str, say: str) -> Sent:
        body = urlencode({"To": number, "From": self.from_number, "Twiml": say}).encode()
        headers = {
            "Authorization": self.authorization,
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        }
        try:
            answer = self.http.post(self.url, body, headers, timeout=TIMEOUT)
        except RobotFailed as failed:
            if not failed.retryable:
                raise  # refused before sending (the URL): no call was placed
            raise OutcomeUnknown(str(failed)) from failed
        try:
            call = json.loads(answer.body)
        except ValueError:
            call = None
        if not 200 <= answer.status < 300:
            message = call.get("message") if isinstance(call, dict) else None
            failure = refused_answer("Twilio", answer, message or answer.body[:200].decode(errors="replace"))
            if answer.status >= 500:
                raise OutcomeUnknown(str(failure))  # Twilio may have placed it before failing
            raise failure
        if not isinstance(call, dict) or not call.get("sid"):
            raise OutcomeUnknown("Twilio's answer holds no call sid")
        return Sent(call["sid"], {"to": number, "status": call.get("status")})
