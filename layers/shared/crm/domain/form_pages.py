"""The HTML of a webform: the page the CRM hosts for it, the snippet a site embeds, and the answers a
browser reads (thanks, or what to correct). Every value is escaped; the hosted pages run no script.

Both carry the hidden nonce field (one id per page shown: a double submit is one submission) and
the honeypot field, hidden from people (off-screen, out of the tab order, hidden from screen
readers) but not from bots that fill every input. The snippet's nonce comes from a two-line
script; without script the form still posts, and the CRM tells repeats apart by their content.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

from crm.domain.forms import NONCE_FIELD, FieldType, Form

_INPUT_TYPES = {FieldType.TEXT: "text", FieldType.EMAIL: "email", FieldType.PHONE: "tel"}
_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem}"
    "label{display:block;margin:.8rem 0 .2rem}input,textarea{width:100%;padding:.4rem;box-sizing:border-box}"
    "button{margin-top:1rem;padding:.5rem 1.5rem}.problem{color:#b00020}"
)


def _attr(value: object) -> str:
    return escape(str(value), quote=True)


def form_markup(
    form: Form,
    action: str,
    nonce: str,
    values: Mapping[str, str] | None = None,
    problems: Mapping[str, str] | None = None,
) -> str:
    """The ``<form>`` itself, posting to ``action``; ``values`` and ``problems`` fill it again
    after a refused post."""
    values, problems = values or {}, problems or {}
    rows = []
    for field in form.fields:
        ident = f"crm-{form.id}-{field.name}"
        required = " required" if field.required else ""
        value = values.get(field.name, "")
        label = f'<label for="{ident}">{escape(field.label)}{" *" if field.required else ""}</label>'
        if field.type is FieldType.TEXTAREA:
            control = (
                f'<textarea id="{ident}" name="{field.name}" rows="4"{required}>{escape(value)}</textarea>'
            )
        elif field.type is FieldType.NUMBER:
            control = (
                f'<input id="{ident}" name="{field.name}" type="number" step="any" '
                f'value="{_attr(value)}"{required}>'
            )
        else:
            control = (
                f'<input id="{ident}" name="{field.name}" type="{_INPUT_TYPES[field.type]}" '
                f'value="{_attr(value)}"{required}>'
            )
        problem = problems.get(field.name)
        note = f'<div class="problem" role="alert">{escape(problem)}</div>' if problem else ""
        rows.append(f"{label}{control}{note}")
    honeypot = (
        '<div style="position:absolute;left:-10000px;top:auto;width:1px;height:1px;overflow:hidden" '
        f'aria-hidden="true"><label>Leave this empty <input name="{form.honeypot}" type="text" '
        'tabindex="-1" autocomplete="off" value=""></label></div>'
    )
    return (
        f'<form method="post" action="{_attr(action)}" accept-charset="UTF-8" '
        f'enctype="application/x-www-form-urlencoded" data-crm-form="{form.id}">'
        f'<input type="hidden" name="{NONCE_FIELD}" value="{_attr(nonce)}">'
        f'{honeypot}{"".join(rows)}<button type="submit">Send</button></form>'
    )


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>{body}</body></html>"
    )


def hosted_page(
    form: Form,
    action: str,
    nonce: str,
    values: Mapping[str, str] | None = None,
    problems: Mapping[str, str] | None = None,
) -> str:
    notice = '<p class="problem" role="alert">Please correct the fields marked below.</p>' if problems else ""
    return _page(
        form.name, f"<h1>{escape(form.name)}</h1>{notice}{form_markup(form, action, nonce, values, problems)}"
    )


def thanks_page(form: Form) -> str:
    return _page(form.name, f"<h1>{escape(form.name)}</h1><p>Thank you: we have received your message.</p>")


def problem_page(title: str, message: str) -> str:
    return _page(title, f"<h1>{escape(title)}</h1><p>{escape(message)}</p>")


def snippet(form: Form, action: str) -> str:
    """What a site pastes where the form goes: the form, and a script that gives each page view a
    nonce; without script, a link to the hosted page is shown as well."""
    script = (
        "<script>(function(f){if(f&&window.crypto&&crypto.randomUUID)"
        f"f.querySelector('input[name={NONCE_FIELD}]').value=crypto.randomUUID();}})"
        f"(document.querySelector('form[data-crm-form=\"{form.id}\"]'));</script>"
    )
    fallback = f'<noscript><p><a href="{_attr(action)}">Open the form on its own page</a></p></noscript>'
    return f"{form_markup(form, action, '')}{script}{fallback}"
