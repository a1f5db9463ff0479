# One image for every Python service and for migrations; each container chooses its process with
# its command (docker-compose.yml, deploy/k8s/). Build: docker build -t territory-platform .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Numeric uid/gid so Kubernetes' runAsNonRoot can verify the user without reading /etc/passwd.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin app

WORKDIR /app

# Dependencies in their own layer, read from pyproject.toml, so a code change does not reinstall them.
COPY pyproject.toml ./
RUN python -c "import tomllib; \
deps = tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']; \
print('\n'.join(deps))" > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# Editable install: one copy of the code, in /app next to alembic.ini and migrations/, which Alembic
# and `python -m shared.cli` expect as the working directory. Bytecode is compiled now because the
# root filesystem is read-only at run time.
COPY . .
RUN pip install --no-deps -e . \
    && python -m compileall -q shared services migrations

USER 10001:10001
EXPOSE 8000
CMD ["uvicorn", "services.gateway.app:app", "--host", "0.0.0.0", "--port", "8000"]
