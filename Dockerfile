# Production image: PostgreSQL via W360_DATABASE_URL, any number of these behind a load balancer.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 W360_ENV=production
WORKDIR /srv/worklog360
COPY pyproject.toml README.md alembic.ini atlassian-connect.json ./
COPY app ./app
COPY connect ./connect
COPY sandbox ./sandbox
COPY migrations ./migrations
COPY templates ./templates
COPY static ./static
RUN pip install --no-cache-dir -e . && useradd --system --uid 10001 worklog360
USER worklog360
EXPOSE 8000
HEALTHCHECK CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz').status != 200)"
CMD ["worklog360", "serve", "--host", "0.0.0.0", "--port", "8000"]
