# Chronicle's image: `chronicle serve` on port 8000 as a non-root user, from a virtualenv.
# Build: podman build -t chronicle . (or docker build); run: see docs/deploy.md and compose.yaml.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH \
    CHRONICLE_DATABASE_URL=sqlite:////var/lib/chronicle/chronicle.sqlite3

# The code stays in /opt/chronicle (an editable install): migrations/ and data/seed.json are read
# from beside the app package.
WORKDIR /opt/chronicle
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
COPY data ./data
RUN python -m venv /opt/venv \
    && pip install --no-cache-dir -e . \
    && groupadd --system --gid 10001 chronicle \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/chronicle --create-home chronicle

USER 10001:10001
EXPOSE 8000
VOLUME ["/var/lib/chronicle"]
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
CMD ["chronicle", "serve", "--host", "0.0.0.0", "--port", "8000"]
