# Production image: gunicorn serves the app, whitenoise the static files.
# The same image runs the Celery worker and beat (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

COPY requirements.lock ./
RUN pip install -r requirements.lock

COPY . .

# collectstatic needs settings but no services: a throwaway key and the embedded defaults.
# Loading them makes var/ and its broker folders as root, hence chown -R: the app writes
# there as `clinic` (beat's schedule file, the file backends' texts and emails).
RUN DEBUG=false SECRET_KEY=collectstatic-only EMBEDDED_SERVICES=true \
    DATABASE_URL=sqlite:////tmp/build.sqlite3 python manage.py collectstatic --noinput \
    && useradd --system --uid 10001 clinic \
    && mkdir -p /app/var && chown -R clinic /app/var

USER clinic
EXPOSE 8000

# config/gunicorn.py: the access log, with patient links' keys and query strings left out.
CMD ["gunicorn", "config.wsgi:application", "-c", "python:config.gunicorn", "--bind", "0.0.0.0:8000", "--workers", "3"]
