"""Attachments: stored through the storage API, sniffed, limited, and served only to who may see the request."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from attachments.models import Attachment
from attachments.sniffing import content_type_sniff
from requests_app.choices import EventKind, RequestState
from requests_app.models import RequestEvent
from requests_app.testing.workflow import file_request, walk_to

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64


@pytest.fixture(autouse=True)
def media(settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def url(reference: str) -> str:
    return f"/api/v1/requests/{reference}/attachments/"


def upload(user, reference: str, content: bytes, name: str = "screenshot.png", **data):
    file = SimpleUploadedFile(name, content, content_type="image/png")  # what the client claims, never trusted
    return api(user).post(url(reference), {"file": file, **data}, format="multipart")


def error_of(response) -> dict:
    body = response.json()
    assert set(body) == {"error"} and body["error"]["message"], body
    return body["error"]


def test_upload_list_and_download_through_the_api(world, media):
    service_request = file_request(world)
    created = upload(world.requester, service_request.reference, PNG)
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["filename"], body["content_type"], body["size"], body["uploaded_by"]) == (
        "screenshot.png", "image/png", len(PNG), world.requester.username,
    )  # fmt: skip
    event = RequestEvent.objects.get(service_request=service_request, kind=EventKind.ATTACHMENT_ADDED)
    assert event.payload["attachment"] == body["id"] and event.message == "screenshot.png"

    listed = api(world.requester).get(url(service_request.reference))
    assert [item["id"] for item in listed.json()] == [body["id"]]
    download = api(world.requester).get(body["download_url"])
    assert download.status_code == 200
    assert (
        download["Content-Disposition"].startswith("attachment;")
        and "screenshot.png" in download["Content-Disposition"]
    )
    assert download["X-Content-Type-Options"] == "nosniff"
    assert download["Content-Type"] == "image/png"
    assert b"".join(download.streaming_content) == PNG
    stored = Attachment.objects.get().file.name
    assert (media / stored).read_bytes() == PNG


def test_the_vendor_working_it_sees_its_files(world):
    service_request = walk_to(world, RequestState.IN_PROGRESS)
    attachment_id = upload(world.requester, service_request.reference, PNG).json()["id"]
    response = api(world.vendor_engineer).get(f"{url(service_request.reference)}{attachment_id}/download/")
    assert response.status_code == 200


@pytest.mark.parametrize("outsider", ["other_requester", "other_vendor_engineer", "vendor_engineer"])
def test_refused_to_anyone_outside_the_request(world, client, outsider):
    service_request = file_request(world)  # not yet routed: the vendor's engineer is outside it too
    attachment_id = upload(world.requester, service_request.reference, PNG).json()["id"]
    user = getattr(world, outsider)
    assert api(user).get(url(service_request.reference)).status_code == 404
    assert api(user).get(f"{url(service_request.reference)}{attachment_id}/download/").status_code == 404
    assert upload(user, service_request.reference, PNG).status_code == 404
    client.force_login(user)
    assert client.get(f"/requests/{service_request.reference}/attachments/{attachment_id}/").status_code == 404
    assert Attachment.objects.count() == 1


def test_an_internal_file_is_hidden_from_the_requester(world):
    service_request = walk_to(world, RequestState.IN_PROGRESS)
    response = upload(world.vendor_engineer, service_request.reference, PNG, internal=True)
    assert response.status_code == 201 and response.json()["internal"] is True
    assert api(world.requester).get(url(service_request.reference)).json() == []
    download = f"{url(service_request.reference)}{response.json()['id']}/download/"
    assert api(world.requester).get(download).status_code == 404
    assert api(world.pm).get(download).status_code == 200
    assert upload(world.requester, service_request.reference, PNG, internal=True).status_code == 400


def test_too_large_is_a_413_with_the_limit(world, settings):
    settings.PORTICO_ATTACHMENT_MAX_BYTES = 50
    service_request = file_request(world)
    response = upload(world.requester, service_request.reference, PNG)
    assert response.status_code == 413
    error = error_of(response)
    assert error["code"] == "too_large" and "50" in error["fields"]["file"][0]
    assert not Attachment.objects.exists()


def test_exe_bytes_named_png_are_refused(world):
    service_request = file_request(world)
    response = upload(world.requester, service_request.reference, EXE, name="cute-cat.png")
    assert response.status_code == 415
    assert "application/x-msdownload" in error_of(response)["message"]
    assert not Attachment.objects.exists()
    assert not RequestEvent.objects.filter(kind=EventKind.ATTACHMENT_ADDED).exists()


def test_the_type_comes_from_the_bytes_not_the_name(world):
    service_request = file_request(world)
    response = upload(world.requester, service_request.reference, PNG, name="notes.txt")
    assert response.json()["content_type"] == "image/png"
    assert content_type_sniff(b"kubectl logs said: OOMKilled\n") == "text/plain"
    assert content_type_sniff(b"\x00\x01\x02binary") == "application/octet-stream"


def test_no_file_is_a_400(world):
    service_request = file_request(world)
    response = api(world.requester).post(url(service_request.reference), {}, format="multipart")
    assert response.status_code == 400 and "file" in error_of(response)["fields"]


def test_storage_failing_writes_no_row_and_answers_503(world, settings):
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "attachments.tests.storages.BrokenStorage"}}
    service_request = file_request(world)
    response = upload(world.requester, service_request.reference, PNG)
    assert response.status_code == 503
    assert error_of(response)["message"].startswith("The file could not be stored")
    assert not Attachment.objects.exists()
    assert not RequestEvent.objects.filter(kind=EventKind.ATTACHMENT_ADDED).exists()


# --- the request page -----------------------------------------------------------------------------------
def test_upload_on_the_request_page_lists_it_there_and_on_the_timeline(world, client):
    service_request = file_request(world)
    client.force_login(world.requester)
    page = f"/requests/{service_request.reference}/"
    assert b'enctype="multipart/form-data"' in client.get(page).content
    response = client.post(f"{page}attachments/", {"file": SimpleUploadedFile("logs.txt", b"OOMKilled\n")})
    assert response.status_code == 302 and response["Location"].endswith("#attachments")
    attachment = Attachment.objects.get()
    html = client.get(page).content.decode()
    download = f"/requests/{service_request.reference}/attachments/{attachment.pk}/"
    assert html.count(download) == 2  # the attachments card and the timeline entry
    served = client.get(download)
    assert served.status_code == 200 and served["Content-Type"] == "text/plain"
    assert served["Content-Disposition"].startswith("attachment;")


@pytest.mark.parametrize(
    ("content", "limit", "status", "message"),
    [(EXE, None, 415, "This file is application/x-msdownload; allowed:"), (PNG, 50, 413, "At most 50")],
    ids=["type", "size"],
)
def test_a_refused_file_on_the_page_is_a_form_error(world, client, settings, content, limit, status, message):
    if limit:
        settings.PORTICO_ATTACHMENT_MAX_BYTES = limit
    service_request = file_request(world)
    client.force_login(world.requester)
    response = client.post(
        f"/requests/{service_request.reference}/attachments/", {"file": SimpleUploadedFile("a.png", content)}
    )
    assert response.status_code == status
    html = response.content.decode()
    assert 'class="field-error" id="id_file_error"' in html and message in html
    assert not Attachment.objects.exists()


def test_a_file_larger_than_djangos_body_limit_is_taken_on_upload_paths_only(world, settings):
    service_request = file_request(world)
    logs = b"pod restarted\n" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 14 + 1000)  # over 2.5 MB, under 10 MB
    response = upload(world.requester, service_request.reference, logs, name="pod.log")
    assert response.status_code == 201 and response.json()["content_type"] == "text/plain"
    client = APIClient()
    client.force_authenticate(world.requester)
    elsewhere = client.post(f"/api/v1/requests/{service_request.reference}/comments/", {"body": logs.decode()})
    assert elsewhere.status_code == 413  # every other body keeps Django's limit
