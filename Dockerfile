FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY ledger ledger
COPY projections projections
COPY processes processes
COPY api api
COPY sandbox sandbox
COPY mentorpay mentorpay
RUN pip install --no-cache-dir .
ENTRYPOINT []
