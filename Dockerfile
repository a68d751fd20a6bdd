FROM python:3.11-slim
WORKDIR /app
# The same pinned uv and lock file as ./dev: the image runs exactly what the tests ran.
RUN pip install --no-cache-dir uv==0.13.9
COPY pyproject.toml uv.lock README.md ./
COPY ledger ledger
COPY projections projections
COPY processes processes
COPY api api
COPY sandbox sandbox
COPY mentorpay mentorpay
ENV UV_PROJECT_ENVIRONMENT=/app/.venv PATH=/app/.venv/bin:$PATH
RUN uv sync --locked --no-dev --no-editable
ENTRYPOINT []
