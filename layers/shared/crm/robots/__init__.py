"""The robot types: one module each, registered in ``crm.domain.rules.CATALOGUE`` on import.

Whatever reads the catalogue (validating a robot's params, listing types, running a robot) imports
this package first, so that every type is there. A robot type is pure: it acts through the ports in
its context (``crm.domain.robots.RobotContext``) and asks for changes to its item as ``Effects``.
"""

# One line per robot type, in alphabetical order.
from crm.robots import (
    add_comment,  # noqa: F401
    add_to_audience,  # noqa: F401
    app_robot,  # noqa: F401
    call_client,  # noqa: F401
    change_fields,  # noqa: F401
    change_requisites,  # noqa: F401
    change_responsible,  # noqa: F401
    change_stage,  # noqa: F401
    control,  # noqa: F401
    copy_item,  # noqa: F401
    create_document,  # noqa: F401
    create_on_basis,  # noqa: F401
    create_payment_link,  # noqa: F401
    create_task,  # noqa: F401
    delete_item,  # noqa: F401
    get_requisites,  # noqa: F401
    notify,  # noqa: F401
    outgoing_webhook,  # noqa: F401
    plan_call,  # noqa: F401
    plan_meeting,  # noqa: F401
    send_email,  # noqa: F401
    send_sms,  # noqa: F401
    wait,  # noqa: F401
)
