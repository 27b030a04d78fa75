import re

from .helpers import PASSWORD, link_from, page_text, sign_in, submit, task_status, totp_now


def test_sign_up_verify_sign_in_and_onboard(client, mailbox):
    response = submit(
        client, "/sign-up", {"full_name": "Ada Lovelace", "email": "Ada@Example.org", "password": PASSWORD}
    )
    assert response.status_code == 302
    link = link_from(mailbox.last_to("ada@example.org"), "/verify-email/")
    assert client.get(link).status_code == 302
    response = sign_in(client, "ada@example.org")
    assert response.status_code == 302 and response.location.endswith("/tasks")

    # The password alone leads to setting up two-step verification.
    setup = client.get("/tasks")
    assert setup.status_code == 302 and setup.location == "/two-step-verification/set-up"
    page = client.get(setup.location)
    key = re.search(r'id="totp-key">([A-Z2-7 ]+)<', page.get_data(as_text=True)).group(1)
    response = submit(client, setup.location, {"code": totp_now(key.replace(" ", ""))})
    assert response.status_code == 302, page_text(response)
    codes_page = client.get(response.location)
    codes = re.findall(r"\b[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}\b", page_text(codes_page))
    position = int(re.search(r"Type recovery code (\d+)", page_text(codes_page)).group(1))
    response = submit(client, response.location, {"recovery_code": codes[position - 1]})
    assert response.status_code == 302 and response.location == "/tasks"

    tasks = client.get("/tasks")
    assert tasks.status_code == 200
    assert task_status(tasks, "mfa") == "Completed"
    assert task_status(tasks, "eligibility") == "Not started"
    assert task_status(tasks, "details") == "Cannot start yet"
    response = submit(client, "/onboarding/eligibility", {"eligibility": "covered_entity"})
    assert response.status_code == 302
    tasks = client.get("/tasks")
    assert task_status(tasks, "eligibility") == "Completed"
    assert task_status(tasks, "details") == "Not started"
