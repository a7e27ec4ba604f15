"""WhiteNoise, with its table of static files read once per test process rather than once per test client.

Django builds the middleware chain once per process when it serves (gunicorn, the live server), but the test client
builds it anew for every client, and WhiteNoise reads and stats every static file the finders list when it is built:
~215 files, 60–100 ms a client, most of what a one-request test costs. This subclass does that read once for each
combination of the settings it depends on; everything else is WhiteNoise's own. Named in portal/settings/test.py.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from whitenoise.middleware import WhiteNoiseMiddleware

# What decides which files the finders list and the headers WhiteNoise gives them.
_SETTINGS = (
    "INSTALLED_APPS",
    "STATICFILES_DIRS",
    "STATICFILES_FINDERS",
    "STATIC_URL",
    "WHITENOISE_MAX_AGE",
    "WHITENOISE_CHARSET",
    "WHITENOISE_MIMETYPES",
    "WHITENOISE_ADD_HEADERS_FUNCTION",
    "WHITENOISE_INDEX_FILE",
    "WHITENOISE_IMMUTABLE_FILE_TEST",
    "WHITENOISE_ALLOW_ALL_ORIGINS",
    "DEBUG",
)


class SharedWhiteNoiseMiddleware(WhiteNoiseMiddleware):
    _read: ClassVar[dict[str, dict[str, Any]]] = {}

    def add_files_from_finders(self) -> None:
        key = repr([getattr(settings, name, None) for name in _SETTINGS])
        if key not in self._read:
            before = dict(self.files)
            super().add_files_from_finders()
            self._read[key] = {url: file for url, file in self.files.items() if before.get(url) is not file}
        self.files.update(self._read[key])
