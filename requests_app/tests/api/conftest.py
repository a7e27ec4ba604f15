"""Fixtures for the API tests: an authenticated client per role."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from portal.models import User


@pytest.fixture
def api() -> Callable[[User | None], APIClient]:
    """api(user) is a client authenticated as `user`; api(None) is anonymous."""

    def client_for(user: User | None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return client_for
