"""factory_boy factories for the request domain."""

from __future__ import annotations

import factory
from django.contrib.auth.models import Group

from portal.models import User
from requests_app.choices import OnboardingStatus, Priority, RequestType, VendorRole
from requests_app.models import Environment, ServiceRequest, Stack, Team, Vendor, VendorOnboarding
from requests_app.roles import EGOV_DEVOPS, PROGRAM_MANAGERS, ensure_role_groups


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.test")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.django.Password("portico-pass-123")

    @staticmethod
    def add_groups(user: User, names: list[str]) -> None:
        ensure_role_groups()
        user.groups.add(*Group.objects.filter(name__in=names))

    @factory.post_generation
    def role_groups(self, create: bool, names: list[str] | None, **kwargs: object) -> None:
        if create and names:
            ensure_role_groups()
            self.groups.add(*Group.objects.filter(name__in=names))


class ProgramManagerFactory(UserFactory):
    role_groups = factory.PostGeneration(
        lambda user, create, extracted, **kw: UserFactory.add_groups(user, [PROGRAM_MANAGERS])
    )


class EgovDevopsFactory(UserFactory):
    role_groups = factory.PostGeneration(
        lambda user, create, extracted, **kw: UserFactory.add_groups(user, [EGOV_DEVOPS])
    )


class EnvironmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Environment
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"env{n}")
    name = factory.LazyAttribute(lambda e: e.code.title())
    timezone = "Asia/Kolkata"


class StackFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Stack
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"stack{n}")
    name = factory.LazyAttribute(lambda s: s.code.title())


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ("slug",)
        skip_postgeneration_save = True

    slug = factory.Sequence(lambda n: f"team{n}")
    name = factory.LazyAttribute(lambda t: t.slug.title())

    @factory.post_generation
    def members(self, create: bool, users: list[User] | None, **kwargs: object) -> None:
        if create and users:
            self.members.add(*users)


class VendorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Vendor
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"vendor{n}")
    name = factory.LazyAttribute(lambda v: v.slug.title())


class VendorOnboardingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = VendorOnboarding
        django_get_or_create = ("vendor", "environment")

    vendor = factory.SubFactory(VendorFactory)
    environment = factory.SubFactory(EnvironmentFactory)
    status = OnboardingStatus.LIVE


class VendorEngineerFactory(UserFactory):
    vendor = factory.SubFactory(VendorFactory)
    vendor_role = VendorRole.ENGINEER


class VendorLeadFactory(UserFactory):
    vendor = factory.SubFactory(VendorFactory)
    vendor_role = VendorRole.LEAD


class ServiceRequestFactory(factory.django.DjangoModelFactory):
    """A request written straight to the table in any state — for read-side tests; workflow tests use services."""

    class Meta:
        model = ServiceRequest

    title = factory.Sequence(lambda n: f"Request number {n}")
    description = "Please help."
    request_type = RequestType.TROUBLESHOOTING
    priority = Priority.P2
    environment = factory.SubFactory(EnvironmentFactory)
    requester = factory.SubFactory(UserFactory)
    team = factory.SubFactory(TeamFactory)
    reference = factory.Sequence(lambda n: f"REQ-9{n:05d}")
