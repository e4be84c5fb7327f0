# passline production image: gunicorn (web), Celery worker and beat share it.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    DJANGO_SETTINGS_MODULE=passline.settings \
    STATIC_ROOT=/app/staticfiles \
    MEDIA_ROOT=/data/uploads

WORKDIR /app
COPY . /app
RUN pip install . \
    # Collected at build time so containers start fast and run without write access to /app.
    && DEBUG=0 SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput \
    && groupadd --system --gid 10001 passline \
    && useradd --system --uid 10001 --gid passline --home-dir /app --no-create-home passline \
    # An empty named volume mounted here inherits this owner.
    && mkdir -p /data/uploads \
    && chown -R passline:passline /data/uploads

USER passline
EXPOSE 8000
CMD ["gunicorn", "passline.wsgi:application", "--bind", "0.0.0.0:8000", "--access-logfile", "-"]
