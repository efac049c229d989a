"""Templates with placeholders (pure): parsing, defaults, escapes, and the errors a
client sees before anything is sent."""

import pytest

from chappe.campaigns.personalize import Placeholder, TemplateError, parse_template

KNOWN = ["first_name", "last_name", "company", "points"]


def render(text: str, **values: str) -> str:
    return parse_template(text, known=KNOWN).render(values)


def test_placeholders_are_replaced_by_the_recipients_values():
    assert render("Bonjour {first_name} {last_name} de {company}", first_name="Zoé",
                  last_name="Martin", company="ACME") == "Bonjour Zoé Martin de ACME"


def test_an_empty_or_missing_value_takes_the_default_or_nothing():
    template = "Bonjour {first_name|client}, vous avez {points|0} points{company}."
    assert render(template) == "Bonjour client, vous avez 0 points."
    assert render(template, first_name="", points="  ") == "Bonjour client, vous avez 0 points."
    assert render(template, first_name="Léa", points="12", company=" (ACME)") == \
        "Bonjour Léa, vous avez 12 points (ACME)."


def test_doubled_braces_are_literal_braces():
    assert render("{{first_name}} = {first_name|?}}}") == "{first_name} = ?}"


def test_keys_lists_each_placeholder_once_in_order():
    template = parse_template("{company} {first_name} {company|x}", known=KNOWN)
    assert template.keys == ("company", "first_name")
    assert Placeholder("company", "x") in template.parts


def test_a_default_may_contain_spaces_and_a_bar():
    assert render("{first_name|cher client|e}") == "cher client|e"


@pytest.mark.parametrize(("text", "code"), [
    ("Bonjour {prenom}", "unknown_placeholder"),
    ("Bonjour {first_name", "unclosed_brace"),
    ("Bonjour first_name}", "stray_brace"),
    ("Bonjour {}", "bad_placeholder"),
    ("Bonjour {First Name}", "bad_placeholder"),
    ("Bonjour {first_name|" + "x" * 101 + "}", "default_too_long"),
])
def test_template_errors_name_the_problem(text, code):
    with pytest.raises(TemplateError) as error:
        parse_template(text, known=KNOWN)
    assert error.value.code == code
    if code == "unknown_placeholder":
        assert "{prenom}" in error.value.message
        assert "{first_name}" in error.value.message  # the available ones are listed


def test_text_without_placeholder_renders_as_is():
    template = parse_template("Soldes -20 %", known=KNOWN)
    assert template.keys == ()
    assert template.render({}) == "Soldes -20 %"
