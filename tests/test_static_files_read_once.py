"""The test settings' WhiteNoise (tests/support/static.py) serves what WhiteNoise serves, reading the files once."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import HttpResponse
from django.test import Client, override_settings
from whitenoise.middleware import WhiteNoiseMiddleware

from tests.support.static import SharedWhiteNoiseMiddleware


def _answer(request):
    return HttpResponse("not static")


def _table(middleware: WhiteNoiseMiddleware) -> dict[str, list[tuple[str, str]]]:
    return {url: sorted(file.get_response("GET", {}).headers) for url, file in middleware.files.items()}


def test_the_test_settings_use_it_in_whitenoises_place():
    assert "whitenoise.middleware.WhiteNoiseMiddleware" not in settings.MIDDLEWARE
    assert "tests.support.static.SharedWhiteNoiseMiddleware" in settings.MIDDLEWARE


def test_it_serves_the_same_files_with_the_same_headers_as_whitenoise():
    shared = _table(SharedWhiteNoiseMiddleware(_answer))
    assert "/static/css/portico.css" in shared
    assert shared == _table(WhiteNoiseMiddleware(_answer))


def test_a_second_one_reads_no_file(monkeypatch):
    SharedWhiteNoiseMiddleware(_answer)

    def refuse():
        raise AssertionError("the finders were asked again")

    monkeypatch.setattr(finders, "get_finders", refuse)
    assert "/static/css/portico.css" in SharedWhiteNoiseMiddleware(_answer).files
    with pytest.raises(AssertionError, match="asked again"):
        WhiteNoiseMiddleware(_answer)


def test_other_settings_are_read_again():
    SharedWhiteNoiseMiddleware(_answer)
    with override_settings(WHITENOISE_MAX_AGE=7):
        headers = dict(
            SharedWhiteNoiseMiddleware(_answer).files["/static/css/portico.css"].get_response("GET", {}).headers
        )
    assert headers["Cache-Control"] == "max-age=7, public"


@pytest.mark.django_db
def test_each_client_gets_the_stylesheet():
    for _ in range(2):
        response = Client().get("/static/css/portico.css")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/css")
        assert b"".join(response.streaming_content)
