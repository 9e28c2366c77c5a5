"""The public ingest sources: what webforms, mail, tracking pixels and links, webhooks, the site,
bookings and (later) telephony, payments and chat send to the CRM.

Each source is one module here: ``verify`` (its secret, signature or token) and ``normalise`` (the
request into ``TriggerEvent``s), and a ``handle(request) -> Response`` that a thin function in
``functions/ingest_<source>/`` serves through ``crm.ingest.http.serve``. They face the providers and
browsers, so they load neither the management API's resolver nor its OpenAPI models."""
