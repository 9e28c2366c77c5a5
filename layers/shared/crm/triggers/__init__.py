"""The trigger types: one module each, registered in ``crm.domain.rules.CATALOGUE`` on import.

Whatever reads the catalogue (validating a rule's params, listing types, deciding on an event)
imports this package first, so that every type is there.
"""

from crm.triggers import (
    app_trigger,
    callback_form_filled,
    document_created,
    document_viewed,
    email_read,
    email_sent,
    field_changed,
    form_filled,
    incoming_email,
    invoice_paid,
    link_clicked,
    order_paid,
    outgoing_call,
    resource_booked,
    responsible_changed,
    returned_to_site,
    visit,
    webhook,
)

__all__ = [
    "app_trigger",
    "callback_form_filled",
    "document_created",
    "document_viewed",
    "email_read",
    "email_sent",
    "field_changed",
    "form_filled",
    "incoming_email",
    "invoice_paid",
    "link_clicked",
    "order_paid",
    "outgoing_call",
    "resource_booked",
    "responsible_changed",
    "returned_to_site",
    "visit",
    "webhook",
]
