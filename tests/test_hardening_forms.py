"""Issue 15, item 1: every single-line field of every form refuses control characters."""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict

import cqmr_wizard
from cqmr_wizard.forms import CONTROL_CHARACTERS, is_single_line

from .builders import make_organization, make_user
from .helpers import page_text, sign_in, submit

INJECTED = "Ann Example\r\nBcc: victim@example.org\r\n\r\nClick https://evil.example/"


def all_form_classes() -> list[type[FlaskForm]]:
    """Every form class the package defines, found by importing each of its modules."""
    importlib.import_module("cqmr_wizard.tasks")  # features' facts import in the order tasks/ does
    for module in pkgutil.walk_packages(cqmr_wizard.__path__, "cqmr_wizard."):
        if ".migrations" not in module.name:
            importlib.import_module(module.name)
    found, todo = [], [FlaskForm]
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            if sub.__module__.startswith("cqmr_wizard."):
                found.append(sub)
    return found


FORMS = all_form_classes()


def test_the_walk_finds_the_forms():
    names = {cls.__name__ for cls in FORMS}
    assert {"SignUpForm", "InviteForm", "LegalNameForm", "AddressForm"} <= names


@pytest.mark.parametrize("form_class", FORMS, ids=lambda cls: f"{cls.__module__}.{cls.__name__}")
def test_every_single_line_field_refuses_control_characters(app, form_class):
    with app.test_request_context(method="POST"):
        app.config["WTF_CSRF_ENABLED"] = False
        probe = form_class(formdata=MultiDict())
        names = [name for name, field in probe._fields.items() if is_single_line(field)]
        if not names:
            pytest.skip("no single-line fields")
        form = form_class(formdata=MultiDict({name: INJECTED for name in names}))
        form.validate()
        for name in names:
            assert CONTROL_CHARACTERS in form[name].errors, (name, form[name].errors)


def test_a_name_with_line_breaks_sends_no_invitation(app, client, mailbox):
    user_id = make_user(app, "admin@example.org")
    make_organization(app, user_id, legal_name="Clinic")
    sign_in(client, "admin@example.org")
    response = submit(
        client,
        "/team/invite",
        {"full_name": INJECTED, "email": "new@example.org", "roles": "end_user"},
    )
    assert response.status_code == 400
    assert CONTROL_CHARACTERS in page_text(response)
    assert mailbox.to("new@example.org") == []
    assert mailbox.to("victim@example.org") == []
