"""Celery application for passline; task bodies live in the apps' tasks modules."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "passline.settings")

app = Celery("passline")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
