"""factory_boy factories for passline's models."""

import factory
from django.utils import timezone

from ingest import models
from ingest.identity import test_identity


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Project
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"project-{n}")
    name = factory.LazyAttribute(lambda o: o.slug.title())


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Category
        django_get_or_create = ("project", "name")

    project = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: f"Category {n}")


class RunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Run

    project = factory.SubFactory(ProjectFactory)
    key = factory.Sequence(lambda n: f"run-{n}")
    branch = "main"
    started_at = factory.LazyFunction(timezone.now)
    is_complete = True


class UploadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Upload

    run = factory.SubFactory(RunFactory)
    project = factory.SelfAttribute("run.project")
    status = models.Upload.Status.PROCESSED


class TestFactory(factory.django.DjangoModelFactory):
    __test__ = False  # a factory, not a pytest test class

    class Meta:
        model = models.Test

    project = factory.SubFactory(ProjectFactory)
    classname = factory.Sequence(lambda n: f"pkg.Class{n}")
    name = factory.Sequence(lambda n: f"test_{n}")
    identity = factory.LazyAttribute(lambda o: test_identity(o.classname, o.name))
