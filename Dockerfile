# Production image: gunicorn serving Django (static files via WhiteNoise), also used for the Celery worker and
# beat. Settings come from the environment (portal.settings.production refuses to start without the essentials).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=portal.settings.production

RUN groupadd --system portico && useradd --system --gid portico --home-dir /app --shell /usr/sbin/nologin portico
WORKDIR /app

# Dependencies first, so code changes reuse this layer (psycopg-binary needs no compiler).
COPY pyproject.toml README.md ./
RUN pip install .

COPY --chown=portico:portico . .
# collectstatic needs importable settings but no real services; these placeholders exist only in this step.
RUN DATABASE_URL=sqlite:////tmp/build.sqlite3 REDIS_URL=redis://localhost:6379/0 SECRET_KEY=build-only \
    ALLOWED_HOSTS=localhost python manage.py collectstatic --noinput \
    && mkdir -p /app/var/media && chown -R portico:portico /app/var /app/staticfiles

USER portico
EXPOSE 8000
CMD ["gunicorn", "portal.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "60", \
     "--access-logfile", "-"]
