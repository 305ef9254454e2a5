"""The sealed copy of a shown password, and the group reset jobs a teacher waits for."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.fields import SealedTextField


class ShownPassword(models.Model):
    """One row per account: the sealed copy staff may show and print, or why there is none."""

    account = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account"),
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="shown_password",
    )
    # None: nothing to show (never set by staff, or destroyed when the owner changed it).
    sealed = SealedTextField(_("sealed password"), null=True, blank=True)
    changed_by_owner = models.BooleanField(_("changed by the user"), default=False)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("shown password")
        verbose_name_plural = _("shown passwords")

    def __str__(self):
        return f"shown password of account {self.account_id}"


class GroupResetJob(models.Model):
    """A reset of every active learner in a registration group, class or year, run by a Celery worker."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Waiting to start")
        RUNNING = "running", _("In progress")
        DONE = "done", _("Finished")
        FAILED = "failed", _("Failed")

    class GroupKind(models.TextChoices):
        REGISTRATION_GROUP = "reg", _("Registration group")
        CLASS = "class", _("Class")
        YEAR = "year", _("Year")

    organisation = models.ForeignKey(
        "accounts.Organisation", verbose_name=_("organisation"), on_delete=models.CASCADE, related_name="+"
    )
    group_kind = models.CharField(_("group type"), max_length=8, choices=GroupKind.choices)
    group = models.CharField(_("group"), max_length=40)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(_("learners"), default=0)
    done = models.PositiveIntegerField(_("reset"), default=0)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    created_at = models.DateTimeField(_("requested"), default=timezone.now)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    # The job's last sign of life (started, a batch committed, queued again): a job quiet for longer than
    # services.GROUP_RESET_STALLED was left by a dead worker, and the resume sweep queues it again.
    progress_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("group password reset")
        verbose_name_plural = _("group password resets")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.get_group_kind_display()} {self.group} ({self.get_status_display()})"

    @property
    def is_finished(self):
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def percent(self):
        return 100 if not self.total else round(100 * self.done / self.total)


class GroupResetItem(models.Model):
    """One learner of a job and the password drawn for them when the job was requested.

    Drawing up front is what makes the job safe to retry: a worker that crashes and runs again applies
    the same sealed password, so no learner ever has two different passwords on paper.
    """

    job = models.ForeignKey(GroupResetJob, on_delete=models.CASCADE, related_name="items")
    account = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    sealed = SealedTextField()
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "account"], name="groupresetitem_unique")]
        indexes = [models.Index(fields=["job", "applied_at"])]

    def __str__(self):
        return f"job {self.job_id} account {self.account_id}"
