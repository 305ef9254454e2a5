# The portal's image: one image runs the web server, the Celery worker and Celery beat
# (see docker-compose.yml). Configuration comes from the environment at run time.
FROM python:3.13-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# gettext compiles the Welsh catalogue; DejaVu gives the PDF slips a font with Welsh diacritics.
RUN apt-get update \
    && apt-get install -y --no-install-recommends gettext fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# Dependencies first, so a code change does not reinstall them (the project itself has no package).
COPY pyproject.toml ./
RUN pip install .

COPY . .

# Settings refuse to load without keys; these throwaway values exist only in this build step,
# which needs no secret: it compiles translations and collects static files for whitenoise.
RUN SECRET_KEY=build-only \
    UMP_SEAL_KEYS=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= \
    UMP_HASH_KEY=build-only-build-only-build-only \
    UMP_OIDC_ENABLED=false \
    DJANGO_DEBUG=false \
    sh -c 'python manage.py compilemessages --ignore=.venv --verbosity=0 \
        && python manage.py collectstatic --noinput --verbosity=0'

RUN useradd --system --uid 10001 --home-dir /app ump \
    && mkdir -p /app/media/extracts \
    && chown -R ump /app/media
USER ump

EXPOSE 8000
# The access log leaves out query strings: OpenID Connect puts ID tokens (logout's id_token_hint) there.
CMD ["gunicorn", "ump.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "60", "--access-logfile", "-", \
     "--access-logformat", "%(h)s %(t)s %(m)s %(U)s %(H)s %(s)s %(b)s %(L)s"]
