"""Provisioning runs, school upload tokens and pending legal-name-change notices."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Organisation
from provisioning.readers import Problem


class ProvisioningRun(models.Model):
    """One extract applied (or held, or refused) for one school, with its counts and refused rows; never a UPN."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        APPLIED = "applied", _("Applied")
        HELD = "held", _("Held for approval")
        REJECTED = "rejected", _("Rejected")
        FAILED = "failed", _("Failed")
        SUPERSEDED = "superseded", _("Superseded by a newer extract")
        EXPIRED = "expired", _("Expired unapproved")

    class Source(models.TextChoices):
        COMMAND = "command", _("Command")
        API = "api", _("Provisioning Client")

    class Hold(models.TextChoices):
        NONE = "", _("None")
        BRAKE = "brake", _("It would deactivate more accounts than the brake allows.")
        EMPTY = "empty", _("The extract is empty.")
        TRUNCATED = "truncated", _("The extract looks cut short.")
        GAP = "gap", _("It is a change list, and the extract it follows has not been applied.")

    organisation = models.ForeignKey(
        Organisation, verbose_name=_("school"), on_delete=models.PROTECT, related_name="provisioning_runs"
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices, default=Source.COMMAND)
    format = models.CharField(_("format"), max_length=12, default="auto")
    full = models.BooleanField(_("full list"), default=True)
    # Known once the extract is read: the kinds it lists ("learner,staff") and the latest change it records
    # (provisioning.ordering decides with them which extract is newer).
    kinds = models.CharField(max_length=20, blank=True, editable=False)
    changed_at = models.DateTimeField(_("latest change in the extract"), null=True, blank=True)
    superseded_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    # Where a queued or held extract waits; blanked when the file is deleted after its run.
    file_path = models.CharField(max_length=300, blank=True, editable=False)
    file_size = models.PositiveBigIntegerField(_("file size"), default=0)
    # A keyed hash of the extract's bytes (never the bytes): a client's retry of the same upload finds its run.
    content_hash = models.CharField(max_length=64, blank=True, default="", editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("received"), default=timezone.now, db_index=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    rows = models.PositiveIntegerField(_("rows"), default=0)
    created = models.PositiveIntegerField(_("created"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    transferred_in = models.PositiveIntegerField(_("transferred in"), default=0)
    deactivated = models.PositiveIntegerField(_("deactivated"), default=0)
    reactivated = models.PositiveIntegerField(_("reactivated"), default=0)
    unchanged = models.PositiveIntegerField(_("unchanged"), default=0)
    refused = models.PositiveIntegerField(_("refused"), default=0)
    name_changes = models.PositiveIntegerField(_("name changes"), default=0)
    # [{"row": 12, "reason": "upn_check_letter", "kind": "learner"}]: row numbers and codes only
    refused_rows = models.JSONField(_("refused rows"), default=list, blank=True)

    hold_reason = models.CharField(
        _("held because"), max_length=10, choices=Hold.choices, blank=True, default=""
    )
    active_before = models.PositiveIntegerField(default=0)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    error_code = models.CharField(_("error"), max_length=30, blank=True)

    class Meta:
        verbose_name = _("provisioning run")
        verbose_name_plural = _("provisioning runs")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organisation", "-created_at"]),
            models.Index(fields=["status"]),
            models.Index(fields=["organisation", "content_hash"]),
        ]

    def __str__(self):
        return f"{self.organisation.code} #{self.pk} {self.status}"

    COUNT_FIELDS = (
        "created",
        "updated",
        "transferred_in",
        "deactivated",
        "reactivated",
        "unchanged",
        "refused",
    )

    @property
    def counts(self):
        return {name: getattr(self, name) for name in self.COUNT_FIELDS}

    @property
    def error_message(self):
        if not self.error_code:
            return ""
        try:
            return Problem(self.error_code).label
        except ValueError:
            return _("The run stopped before it finished. The next run will complete the work.")


class SchoolToken(models.Model):
    """The Provisioning Client's bearer token for one school; only its keyed hash is kept."""

    organisation = models.OneToOneField(
        Organisation, on_delete=models.CASCADE, related_name="provisioning_token"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("provisioning token")
        verbose_name_plural = _("provisioning tokens")

    def __str__(self):
        return self.organisation.code


class NameChangeNotice(models.Model):
    """The MIS holds a different legal name for an account; a Digital Champion decides what to do."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        ACCEPTED = "accepted", _("Names updated")
        DISMISSED = "dismissed", _("Dismissed")
        CLEARED = "cleared", _("The MIS matches again")

    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="name_change_notices"
    )
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    run = models.ForeignKey(
        ProvisioningRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    mis_forename = models.CharField(_("legal forename in the MIS"), max_length=100)
    mis_surname = models.CharField(_("legal surname in the MIS"), max_length=100)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("name change notice")
        verbose_name_plural = _("name change notices")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["account"], condition=models.Q(status="pending"), name="namechange_one_pending"
            )
        ]

    def __str__(self):
        return f"{self.account_id}: {self.mis_forename} {self.mis_surname}"


class OneRosterClass(models.Model):
    """A class a school's OneRoster packages have named. A delta refers to unchanged classes by id alone."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    sourced_id = models.CharField(max_length=255)
    title = models.CharField(max_length=100)
    homeroom = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "sourced_id"], name="oneroster_class_unique")
        ]

    def __str__(self):
        return f"{self.sourced_id}: {self.title}"


class OneRosterUser(models.Model):
    """Which account a school's OneRoster user is. A delta's enrolments may name a user its users.csv does not.

    Only a keyed hash of the user's sourcedId is kept: nothing stops a broker using the UPN as the id.
    """

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    sourced_id_hash = models.CharField(max_length=64)
    account = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "sourced_id_hash"], name="oneroster_user_unique")
        ]

    def __str__(self):
        return f"{self.sourced_id_hash[:8]} -> {self.account_id}"
