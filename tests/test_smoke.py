from .helpers import PASSWORD, link_from, sign_in, submit, task_status


def test_sign_up_verify_sign_in_and_onboard(client, mailbox):
    response = submit(client, "/sign-up", {"full_name": "Ada Lovelace", "email": "Ada@Example.org",
                                           "password": PASSWORD})
    assert response.status_code == 302
    link = link_from(mailbox.last_to("ada@example.org"), "/verify-email/")
    assert client.get(link).status_code == 302
    response = sign_in(client, "ada@example.org")
    assert response.status_code == 302 and response.location.endswith("/tasks")
    tasks = client.get("/tasks")
    assert tasks.status_code == 200
    assert task_status(tasks, "eligibility") == "Not started"
    assert task_status(tasks, "details") == "Cannot start yet"
    response = submit(client, "/onboarding/eligibility", {"eligibility": "covered_entity"})
    assert response.status_code == 302
    tasks = client.get("/tasks")
    assert task_status(tasks, "eligibility") == "Completed"
    assert task_status(tasks, "details") == "Not started"
