"""Every service refuses in one shape: a message, the form field it belongs to, the HTTP status."""

from cqmr_wizard.agreements.services import AgreementError, NotSigner
from cqmr_wizard.agreements.uploads import UploadRefused
from cqmr_wizard.auth.services import AccountError, SignInRefused
from cqmr_wizard.auth.throttle import Throttled as SignInThrottled
from cqmr_wizard.mfa.admin import NotAllowed
from cqmr_wizard.mfa.recovery import CodeNotSaved
from cqmr_wizard.mfa.services import MfaError
from cqmr_wizard.mfa.services import Throttled as SecondFactorThrottled
from cqmr_wizard.operators.services import OperatorError
from cqmr_wizard.refusals import Refusal
from cqmr_wizard.sso.errors import SsoError
from cqmr_wizard.sso.services import Refused
from cqmr_wizard.team.csv_import import CsvFileProblem
from cqmr_wizard.team.invitations import RateLimited
from cqmr_wizard.team.services import TeamError
from cqmr_wizard.training.services import TrainingError


def test_every_service_refusal_is_a_refusal():
    kinds = [
        AccountError, SignInRefused, SignInThrottled, TeamError, RateLimited, CsvFileProblem,
        TrainingError, AgreementError, UploadRefused, OperatorError, MfaError,
        SecondFactorThrottled, NotAllowed, CodeNotSaved, SsoError, Refused,
    ]  # fmt: skip
    assert [kind for kind in kinds if not issubclass(kind, Refusal)] == []


def test_a_refusal_carries_its_field_and_status():
    assert (MfaError("Wrong").field, MfaError("Wrong").status) == ("code", 400)
    assert MfaError("Start again", None).field is None
    assert (SecondFactorThrottled("Wait").status, NotSigner("Not you").status) == (429, 403)
    assert (UploadRefused("Too big", status=413).field, UploadRefused("Too big", status=413).status) == (
        "file",
        413,
    )
    assert SignInRefused("Confirm", unverified=True).field == "email"
    assert SsoError("not_configured").message and Refused("r", 409, "Taken").status == 409
