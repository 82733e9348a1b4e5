# 医保小助手: the WeChat webhook and the local chat page on port 8080.
#   docker build -t yibao-assistant .
#   docker run --env-file .env -p 8080:8080 -v yibao-data:/data yibao-assistant
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    BOT_DATA_DIR=/data \
    PORT=8080

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin bot \
    && mkdir -p /data \
    && chown bot:bot /data

WORKDIR /app

# Dependencies in their own layer, rebuilt only when pyproject.toml changes (not on every code
# edit). They are read from pyproject so there is one list to maintain; the PostgreSQL driver
# is included so DATABASE_URL=postgresql://… works in the image (Redis needs no driver).
COPY pyproject.toml ./
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; print('\n'.join(p['dependencies'] + p['optional-dependencies']['postgres']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# The code runs from /app (python -m puts the working directory on sys.path); no build step.
COPY bot ./bot
COPY intents ./intents
COPY region_data ./region_data

USER bot
# Build jieba's dictionary cache now (in the image, as the user that runs it) so a new
# container answers its first message without the ~1.5 s cold start.
RUN python -m bot warmup

EXPOSE 8080
VOLUME ["/data"]
# Python, not curl: the slim image has no curl. /healthz also checks the storage.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8080'), timeout=4)"]
# Exec form: SIGTERM reaches Python directly, so in-flight answers finish (graceful shutdown).
CMD ["python", "-m", "bot", "serve", "--host", "0.0.0.0"]
