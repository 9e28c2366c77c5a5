"""Tenants' templates (robots' subjects, bodies, text params) render in Jinja2's sandbox."""

from __future__ import annotations

import pytest

from crm.domain import templates
from crm.domain.errors import Invalid

VALUES = {
    "item": {"title": "Ten laptops", "amount": 12000, "company": None},
    "contact": {"name": "<b>Ann</b>"},
}


def test_values_render_and_missing_or_empty_ones_render_as_nothing():
    assert templates.text("{{ item.title }} for {{ item.amount }}", VALUES) == "Ten laptops for 12000"
    assert templates.text("[{{ item.company }}][{{ item.nothing.deeper }}]", VALUES) == "[][]"


def test_html_escapes_every_value_and_text_does_not():
    assert templates.html("<p>{{ contact.name }}</p>", VALUES) == "<p>&lt;b&gt;Ann&lt;/b&gt;</p>"
    assert templates.text("{{ contact.name }}", VALUES) == "<b>Ann</b>"


def test_a_value_rendered_into_a_header_cannot_add_a_header():
    values = {"item": {"title": "Offer\r\nBcc: all@example.com\nX-Evil: 1"}}
    assert templates.header("Re: {{ item.title }}", values) == "Re: Offer Bcc: all@example.com X-Evil: 1"


@pytest.mark.parametrize(
    "source",
    [
        "{% for n in range(10**9) %}x{% endfor %}",  # range is bounded
        "{{ 1/0 }}",
        "{{ 'a' + 1 }}",
        "{{ item.title.split(1) }}",
    ],
)
def test_a_template_that_cannot_render_is_invalid_with_the_reason(source):
    with pytest.raises(Invalid, match="the template could not be rendered"):
        templates.text(source, VALUES)


def test_unsafe_attributes_render_as_nothing():
    # The sandbox answers an undefined value for them: nothing of Python's internals shows.
    assert templates.text("[{{ ''.__class__.__mro__ }}][{{ item.__class__ }}]", VALUES) == "[][]"
    assert "class" not in templates.text("{{ '{0.__class__}'.format(item) }}", VALUES)


def test_the_output_is_capped():
    with pytest.raises(Invalid, match="longer than"):
        templates.text("{% for n in range(50000) %}0123456789{% endfor %}", VALUES)


def test_a_template_that_does_not_parse_is_refused_when_saved():
    with pytest.raises(Invalid, match="subject: not a valid template"):
        templates.check("Hello {{ item.title ", "subject")
    assert templates.check("Hello {{ item.title }}", "subject") == "Hello {{ item.title }}"
