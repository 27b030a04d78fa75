"""One form per question page of the organization onboarding task."""

from __future__ import annotations

from wtforms import RadioField, SelectField, StringField
from wtforms.validators import ValidationError

from ..forms import BaseForm, MaxLength, Required
from ..models.organizations import ELIGIBILITY_CHOICES, ORGANIZATION_TYPES
from .validators import US_STATES, normalise_ein, normalise_phone, normalise_zip, npi_is_valid


class ChoiceRequired:
    def __init__(self, message: str) -> None:
        self.message = message

    def __call__(self, form, field) -> None:
        if not field.data or field.data not in dict(field.choices):
            field.errors[:] = []
            raise ValidationError(self.message)


class EligibilityForm(BaseForm):
    eligibility = RadioField(
        "Is your organization a HIPAA covered entity or a business associate?",
        choices=[*ELIGIBILITY_CHOICES.items(), ("neither", "Neither of these")],
        validators=[
            ChoiceRequired(
                "Select whether your organization is a covered entity, a business associate, or neither"
            )
        ],
        validate_choice=False,
        description="Covered entities are health plans, health care clearinghouses and health care "
        "providers who transmit health information electronically. A business associate performs "
        "services for a covered entity that involve protected health information.",
    )


class LegalNameForm(BaseForm):
    legal_name = StringField(
        "What is your organization's legal name?",
        validators=[
            Required(
                "Enter your organization's legal name", 200, "Legal name must be 200 characters or fewer"
            )
        ],
        description="The name registered with the IRS, as it will appear on the agreements.",
        render_kw={"autocomplete": "organization"},
    )


class OrganizationTypeForm(BaseForm):
    organization_type = RadioField(
        "What type of organization is it?",
        choices=list(ORGANIZATION_TYPES.items()),
        validators=[ChoiceRequired("Select the type of organization")],
        validate_choice=False,
    )


class IdentifiersForm(BaseForm):
    tax_id = StringField(
        "Employer Identification Number (EIN)",
        validators=[Required("Enter your organization's EIN")],
        description="9 digits, for example 93-1234567.",
        render_kw={"inputmode": "numeric", "spellcheck": "false"},
    )
    npi = StringField(
        "National Provider Identifier (NPI) (optional)",
        description="10 digits. Leave this blank if your organization has no organizational NPI.",
        render_kw={"inputmode": "numeric", "spellcheck": "false"},
    )

    def validate_tax_id(self, field) -> None:
        value = normalise_ein(field.data)
        if value is None:
            raise ValidationError("Enter the EIN as 9 digits, like 93-1234567")
        field.data = value

    def validate_npi(self, field) -> None:
        value = (field.data or "").strip().replace(" ", "")
        if value and not npi_is_valid(value):
            raise ValidationError(
                "This is not a valid NPI. Copy your organization's 10-digit NPI from the NPPES NPI "
                "Registry (npiregistry.cms.hhs.gov), or leave it blank"
            )
        field.data = value or None


class AddressForm(BaseForm):
    address_line1 = StringField(
        "Address line 1",
        validators=[
            Required(
                "Enter address line 1, typically the building and street",
                200,
                "Address line 1 must be 200 characters or fewer",
            )
        ],
        render_kw={"autocomplete": "address-line1"},
    )
    address_line2 = StringField(
        "Address line 2 (optional)",
        validators=[MaxLength(200, "Address line 2 must be 200 characters or fewer")],
        render_kw={"autocomplete": "address-line2"},
    )
    city = StringField(
        "City",
        validators=[Required("Enter the city", 100, "City must be 100 characters or fewer")],
        render_kw={"autocomplete": "address-level2"},
    )
    state = SelectField(
        "State, territory or military post",
        choices=[("", "- Select -"), *[(code, f"{code} – {name}") for code, name in US_STATES.items()]],
        validators=[ChoiceRequired("Select the state")],
        validate_choice=False,
        render_kw={"autocomplete": "address-level1"},
    )
    postal_code = StringField(
        "ZIP code",
        validators=[Required("Enter the ZIP code")],
        render_kw={"autocomplete": "postal-code", "inputmode": "numeric"},
    )

    def validate_postal_code(self, field) -> None:
        value = normalise_zip(field.data)
        if value is None:
            raise ValidationError("Enter a ZIP code like 97301 or 97301-1234")
        field.data = value


class PhoneForm(BaseForm):
    phone = StringField(
        "What is your organization's main phone number?",
        validators=[Required("Enter a phone number")],
        description="For example, 503-555-0100. Include an extension if there is one.",
        render_kw={"autocomplete": "tel", "type": "tel"},
    )

    def validate_phone(self, field) -> None:
        value = normalise_phone(field.data)
        if value is None:
            raise ValidationError("Enter a US phone number, like 503-555-0100")
        field.data = value
