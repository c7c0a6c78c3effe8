# Production image of Worklog360: `docker build -t worklog360 .`
#
# Two stages: the first installs the locked dependencies (requirements.lock, every file
# checked against its hash) into a virtualenv; the second holds that virtualenv, the app's
# own code, migrations, templates and static files, and nothing else: no sandbox/ (the
# emulators), no demo, no tests, no build tools. It runs as an unprivileged user.
#
#   docker run … worklog360            migrates (W360_AUTO_MIGRATE, on by default), then serves
#   docker run … worklog360 worker     a background-job worker (W360_JOBS=worker, PostgreSQL)
#   docker run … worklog360 migrate    migrations only (a release step, W360_AUTO_MIGRATE=false)
#   docker run … worklog360 rotate-secrets
#
# docs/deploy.md has the environment, and compose.yaml an app, a worker and PostgreSQL.

FROM python:3.11-slim AS deps
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/worklog360
COPY requirements.lock /tmp/requirements.lock
RUN /opt/worklog360/bin/pip install --require-hashes --no-deps -r /tmp/requirements.lock

FROM python:3.11-slim AS app
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONPATH=/srv/worklog360 \
    PATH=/opt/worklog360/bin:$PATH \
    W360_ENV=production \
    W360_DATA_DIR=/var/lib/worklog360
RUN useradd --system --uid 10001 --home-dir /var/lib/worklog360 --create-home worklog360
COPY --from=deps /opt/worklog360 /opt/worklog360
WORKDIR /srv/worklog360
COPY alembic.ini ./
COPY migrations ./migrations
COPY templates ./templates
COPY static ./static
COPY connect ./connect
COPY forge ./forge
COPY app ./app
# The demo runs the emulators of sandbox/, which production never ships.
RUN rm -f app/demo.py && python -m compileall -q app connect forge migrations
USER worklog360
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]
ENTRYPOINT ["python", "-m", "app.cli"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
