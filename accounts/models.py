"""Organisations, the one account model, role grants and the append-only audit trail."""

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from accounts import lookups  # noqa: F401 - registers __lower_exact, which the indexes below serve
from accounts.fields import SealedTextField, SearchName
from accounts.network import validate_networks


class Organisation(models.Model):
    """A school, local authority, regional consortium, ITE provider or the national service."""

    class Kind(models.TextChoices):
        SCHOOL = "school", _("School")
        LOCAL_AUTHORITY = "local_authority", _("Local authority")
        CONSORTIUM = "consortium", _("Regional consortium")
        ITE_PROVIDER = "ite_provider", _("ITE provider")
        NATIONAL = "national", _("National")

    class Phase(models.TextChoices):
        NURSERY = "nursery", _("Nursery")
        PRIMARY = "primary", _("Primary")
        SECONDARY = "secondary", _("Secondary")
        ALL_THROUGH = "all_through", _("All-through")
        SPECIAL = "special", _("Special")

    class Medium(models.TextChoices):
        WELSH = "welsh", _("Welsh-medium")
        ENGLISH = "english", _("English-medium")
        BILINGUAL = "bilingual", _("Bilingual")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=200)
    name_cy = models.CharField(_("Welsh name"), max_length=200, blank=True)
    phase = models.CharField(_("phase"), max_length=20, choices=Phase.choices, blank=True)
    # The school's language of teaching: its learners' generated passwords are words in that language.
    language_medium = models.CharField(
        _("language medium"), max_length=10, choices=Medium.choices, blank=True
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    # Address ranges (CIDR, normalised) of the organisation's own network: its people signing in from inside
    # them are not asked for a second factor.
    trusted_networks = models.JSONField(
        _("trusted networks"), default=list, blank=True, validators=[validate_networks]
    )

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["name"]

    def __str__(self):
        return f"{self.local_name} ({self.code})"

    @property
    def local_name(self):
        if translation.get_language() == "cy" and self.name_cy:
            return self.name_cy
        return self.name

    def learner_password_language(self, default: str = "en") -> str:
        """The word list for learners' generated passwords: Welsh at a Welsh-medium school, English at an
        English-medium one, `default` at a bilingual school or one whose medium is not recorded."""
        return {self.Medium.WELSH: "cy", self.Medium.ENGLISH: "en"}.get(self.language_medium, default)

    @property
    def is_school(self):
        return self.kind == self.Kind.SCHOOL

    @property
    def is_primary(self):
        """Primary and nursery learners have fewer rights (no self-service password reset)."""
        return self.kind == self.Kind.SCHOOL and self.phase in (self.Phase.NURSERY, self.Phase.PRIMARY)


class AccountQuerySet(models.QuerySet):
    def restrict(self, actor, action):
        """The accounts `actor` may do `action` to (VIEW: may see at all; anything else is a 404 for them)."""
        # A real cycle: accounts.permissions builds its table from this module's Account.Kind.
        from accounts.permissions import restrict

        return restrict(self, actor, action)

    def active(self):
        return self.filter(status=Account.Status.ACTIVE)


class AccountManager(BaseUserManager.from_queryset(AccountQuerySet)):
    use_in_migrations = True

    def get_by_natural_key(self, username):
        return self.get(username__lower_exact=username)

    def create_superuser(self, username, password=None, **extra):
        raise NotImplementedError("Use `manage.py create_admin` to create a national Hwb administrator.")


class Account(AbstractBaseUser, PermissionsMixin):
    """Every person or service that signs in: learners, staff, governors and non-MIS users."""

    class Kind(models.TextChoices):
        LEARNER = "learner", _("Learner")
        STAFF = "staff", _("Staff")
        GOVERNOR = "governor", _("Governor")
        SCHOOL_NON_MIS = "school_non_mis", _("School non-MIS user")
        LA_NON_MIS = "la_non_mis", _("Local authority non-MIS user")
        CONSORTIUM_NON_MIS = "consortium_non_mis", _("Consortium non-MIS user")
        ITE_STUDENT = "ite_student", _("ITE student")
        SERVICE = "service", _("Service account")

    class Source(models.TextChoices):
        MIS = "mis", _("MIS")
        MANUAL = "manual", _("Manual")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        ACTIVE = "active", _("Active")
        DEACTIVATED = "deactivated", _("Deactivated")

    class StatusReason(models.TextChoices):
        NONE = "", _("None")
        LEAVER = "leaver", _("Left the school")
        EXPIRED = "expired", _("Expired")
        INACTIVE = "inactive", _("No sign-in for 90 days")
        MANUAL = "manual", _("Deactivated by an administrator")

    kind = models.CharField(_("account type"), max_length=20, choices=Kind.choices)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices, default=Source.MANUAL)
    organisation = models.ForeignKey(
        Organisation, verbose_name=_("organisation"), on_delete=models.PROTECT, related_name="accounts"
    )
    legal_forename = models.CharField(_("legal forename"), max_length=100)
    legal_surname = models.CharField(_("legal surname"), max_length=100)
    display_name = models.CharField(_("display name"), max_length=200)
    username = models.CharField(_("username"), max_length=40, unique=True)
    email = models.EmailField(_("email address"), max_length=254, unique=True)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.ACTIVE)
    status_reason = models.CharField(
        _("status reason"), max_length=12, choices=StatusReason.choices, blank=True, default=""
    )
    status_changed_at = models.DateTimeField(_("status changed"), default=timezone.now)
    deactivated_at = models.DateTimeField(_("deactivated"), null=True, blank=True)

    # From the MIS.
    admission_number = models.CharField(_("admission number"), max_length=20, blank=True)
    admission_date = models.DateField(_("admission date"), null=True, blank=True)
    year_group = models.CharField(_("year group"), max_length=10, blank=True)
    registration_group = models.CharField(_("registration group"), max_length=40, blank=True)
    classes = models.JSONField(_("classes"), default=list, blank=True)
    consent = models.BooleanField(_("consent"), null=True, blank=True)
    staff_code = models.CharField(_("staff code"), max_length=20, blank=True)
    staff_role = models.CharField(_("staff role"), max_length=60, blank=True)
    start_date = models.DateField(_("start date"), null=True, blank=True)
    leaving_date = models.DateField(_("leaving date"), null=True, blank=True)
    # A keyed hash of the normalised UPN; the UPN itself is never stored.
    upn_hash = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    # The school the MIS sync last moved this account from: that school may not take it back while it is active.
    moved_from = models.ForeignKey(
        Organisation,
        verbose_name=_("moved from"),
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    # Non-MIS accounts.
    expires_on = models.DateField(_("expiry date"), null=True, blank=True)
    contact_organisation = models.CharField(_("organisation"), max_length=200, blank=True)
    job_title = models.CharField(_("job title"), max_length=100, blank=True)
    work_email = models.EmailField(_("work email"), blank=True)
    contact_number = models.CharField(_("contact number"), max_length=30, blank=True)

    # Multi-factor sign-in: None follows the default (on for every non-learner); a Digital Champion or Hwb
    # administrator may turn it on or off. Learners never use it, whatever this says.
    mfa_enabled = models.BooleanField(_("multi-factor sign-in"), null=True, blank=True, default=None)
    # What View Users search looks in: the name without accents, case, spaces, hyphens or apostrophes, both ways
    # round (accounts.text.search_name). Kept by the database itself, so every write path (COPY included)
    # keeps it right; a search reads it within the organisation's index range, never folding at query time.
    search_name = models.GeneratedField(
        expression=SearchName("legal_forename", "legal_surname"),
        output_field=models.CharField(max_length=420),
        db_persist=True,
    )

    is_staff = models.BooleanField(_("Django admin access"), default=False)
    created_at = models.DateTimeField(_("date created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = AccountManager()

    USERNAME_FIELD = "username"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = []

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        constraints = [
            models.UniqueConstraint(Lower("username"), name="account_username_ci_unique"),
            models.UniqueConstraint(Lower("email"), name="account_email_ci_unique"),
        ]
        indexes = [
            models.Index(fields=["organisation", "kind", "status"]),
            models.Index(fields=["organisation", "kind", "legal_surname", "legal_forename"]),
            models.Index(Lower("legal_surname"), name="account_surname_lower"),
        ]

    def __str__(self):
        return self.username

    @property
    def is_active(self):
        return self.status == self.Status.ACTIVE

    @property
    def is_learner(self):
        return self.kind == self.Kind.LEARNER

    @property
    def mfa_on(self):
        """Whether a second factor is asked of this account off its trusted network (never for a learner)."""
        if self.is_learner:
            return False
        return True if self.mfa_enabled is None else self.mfa_enabled

    def get_full_name(self):
        return f"{self.legal_forename} {self.legal_surname}"

    def get_short_name(self):
        return self.display_name


# The role recorded on a school non-MIS account that is a supply teacher: school staff for their school's learners
# (accounts.permissions), as the help says of ANY school staff user; other school non-MIS users are not.
SUPPLY_TEACHER_ROLE = "supply_teacher"

NON_MIS_KINDS = (
    Account.Kind.SCHOOL_NON_MIS,
    Account.Kind.LA_NON_MIS,
    Account.Kind.CONSORTIUM_NON_MIS,
    Account.Kind.ITE_STUDENT,
    Account.Kind.SERVICE,
)


class EmailAlias(models.Model):
    """An earlier email address of an account, kept after a username change."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="email_aliases")
    email = models.EmailField(_("email address"), unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("email alias")
        verbose_name_plural = _("email aliases")

    def __str__(self):
        return self.email


class IssuedUsername(models.Model):
    """Every username ever issued; the unique constraint is what makes allocation race-safe."""

    # Unique through Meta.constraints, not unique=True: on PostgreSQL that would add a second, LIKE-only index
    # that no query uses but every claim pays for.
    username_lower = models.CharField(max_length=40)
    # The name before any numeric suffix (bloggsj for bloggsj3), so collisions are found in one query.
    base_lower = models.CharField(max_length=40, default="")
    # The numeric suffix (3 for bloggsj3; 1 for none): a base whose numbers run 1..n unbroken needs no names read.
    number = models.PositiveIntegerField(default=1)
    # Which account holds the name now (set to None by the ORM when it is deleted; the name stays issued). Not a
    # database constraint: a ledger row is written only with its account, in the same transaction, and checking
    # each of a national provisioning's half a million claims row by row cost a tenth of the run.
    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_constraint=False
    )
    # Set by a bulk claim so the claimer can tell its own rows from a concurrent run's.
    claim = models.UUIDField(null=True, blank=True, editable=False)
    issued_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["username_lower"], name="issued_username_unique")]
        # (base, number) answers "how far has this base been numbered" from the index alone
        indexes = [models.Index(fields=["base_lower", "number"], name="issued_username_base")]

    def __str__(self):
        return self.username_lower


class UsernameCounter(models.Model):
    """How far a name base has been numbered, counting numbers reserved for claims still to be made.

    A school's first provisioning reserves its numbers here in a short transaction of their own, before the
    long one that claims them, so that workers provisioning many schools at once take disjoint numbers instead
    of queueing on each other's uncommitted claims. As with a database sequence, a reserved number that is never
    claimed (a run that failed, a row that was not new after all) stays a gap; it was never issued.
    """

    base_lower = models.CharField(max_length=40, primary_key=True)
    top = models.PositiveIntegerField(default=0)
    # the size of the last reservation: it ended at `top`
    reserved = models.PositiveIntegerField(default=0)

    def __str__(self):
        return f"{self.base_lower} {self.top}"


class RoleGrant(models.Model):
    """A role held by an account over one organisation (a national Hwb administrator's reaches every one)."""

    class Role(models.TextChoices):
        DIGITAL_CHAMPION = "digital_champion", _("Digital Champion")
        HWB_ADMIN = "hwb_admin", _("Hwb administrator")
        ITE_LEAD = "ite_lead", _("ITE lead school")

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="role_grants")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="role_grants")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("role grant")
        verbose_name_plural = _("role grants")
        constraints = [
            models.UniqueConstraint(fields=["account", "role", "organisation"], name="rolegrant_unique"),
        ]

    def __str__(self):
        return f"{self.get_role_display()} @ {self.organisation.code}"


class AuditQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("Audit events are append-only.")

    def delete(self):
        raise PermissionError("Audit events are append-only.")


class AuditEvent(models.Model):
    """Who did what to which accounts, when and from where. Append-only; never a secret or UPN."""

    class Outcome(models.TextChoices):
        SUCCESS = "success", _("Success")
        FAILURE = "failure", _("Failure")
        DENIED = "denied", _("Denied")

    # Plain ids, not foreign keys: a deleted account leaves an opaque id behind, and no row ever changes.
    actor_id = models.BigIntegerField(_("actor"), null=True, blank=True, db_index=True)
    action = models.CharField(_("action"), max_length=60, db_index=True)
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    client_ip = models.GenericIPAddressField(_("client address"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices, default=Outcome.SUCCESS)
    target_count = models.PositiveIntegerField(_("accounts"), default=0)
    details = models.JSONField(_("details"), default=dict, blank=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise PermissionError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("Audit events are append-only.")


class AuditEventTarget(models.Model):
    """One account an audit event was about (an opaque id)."""

    # Not a database constraint: events are never deleted (a trigger refuses it) and targets are written only by
    # audit_record and audit_record_bulk with the ids of the events they just inserted; checking each target row
    # by row cost a provisioning batch more than writing it.
    event = models.ForeignKey(
        AuditEvent, on_delete=models.PROTECT, related_name="targets", db_constraint=False
    )
    account_id = models.BigIntegerField(db_index=True)

    objects = AuditQuerySet.as_manager()

    def __str__(self):
        return f"{self.event_id} -> {self.account_id}"


class AuditFailureCount(models.Model):
    """Refused requests from unauthenticated sources, counted per action, source address and minute.

    A flood of wrong API tokens or made-up usernames costs a row per address and minute, not per request
    (accounts.audit.audit_count). The audit trail's intent holds: a row is only ever counted up, never changed
    otherwise or deleted (a trigger refuses it on PostgreSQL). Who did it is unknown by definition.
    """

    action = models.CharField(_("action"), max_length=60)
    client_ip = models.CharField(_("client address"), max_length=45, blank=True)  # "" where none was seen
    minute = models.DateTimeField(_("minute"), db_index=True)
    count = models.PositiveIntegerField(_("requests"), default=0)

    objects = AuditQuerySet.as_manager()

    class Meta:
        verbose_name = _("counted refusal")
        verbose_name_plural = _("counted refusals")
        ordering = ["-minute", "action", "client_ip"]
        constraints = [
            models.UniqueConstraint(
                fields=["action", "client_ip", "minute"], name="auditfailurecount_unique"
            ),
        ]

    def __str__(self):
        return f"{self.minute:%Y-%m-%d %H:%M} {self.action} {self.client_ip}: {self.count}"

    def save(self, *args, **kwargs):
        raise PermissionError("Counted refusals are written only by audit_count.")

    def delete(self, *args, **kwargs):
        raise PermissionError("Audit events are append-only.")


class SigninFailure(models.Model):
    """One refused sign-in step from an address, kept for the spraying guard's sliding window (accounts.guard).

    `account_key` names the account tried (its id, or a keyed hash of a name that is no account), never a
    password; a later success of that account from that address removes its rows. Rows older than the window
    are deleted as new ones are written.
    """

    client_ip = models.CharField(max_length=45)
    account_key = models.CharField(max_length=64)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["client_ip", "at"], name="signinfailure_ip_at")]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.client_ip}"


class AccountRequest(models.Model):
    """A non-MIS account waiting on the creation queue; a Celery worker turns it into an Account."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Pending")
        DONE = "done", _("Created")
        FAILED = "failed", _("Failed")

    kind = models.CharField(_("account type"), max_length=20, choices=Account.Kind.choices)
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.CASCADE,
        related_name="account_requests",
    )
    legal_forename = models.CharField(_("legal forename"), max_length=100)
    legal_surname = models.CharField(_("legal surname"), max_length=100)
    # None: no end date (governors, LA and consortium users); the 90-day inactivity rule still applies.
    expires_on = models.DateField(_("expiry date"), null=True, blank=True)
    staff_role = models.CharField(_("role"), max_length=60, blank=True)
    contact_organisation = models.CharField(_("organisation"), max_length=200, blank=True)
    job_title = models.CharField(_("job title"), max_length=100, blank=True)
    work_email = models.EmailField(_("work email"), blank=True)
    contact_number = models.CharField(_("contact number"), max_length=30, blank=True)
    # The initial password, sealed until the worker moves it to the account's shown copy (then cleared).
    sealed_password = SealedTextField(_("sealed password"), null=True, blank=True)
    requested_by = models.ForeignKey(
        Account, verbose_name=_("requested by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.QUEUED)
    account = models.ForeignKey(
        Account, verbose_name=_("account"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    created_at = models.DateTimeField(_("requested"), default=timezone.now)
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)

    class Meta:
        verbose_name = _("account request")
        verbose_name_plural = _("account requests")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["organisation", "status"])]

    def __str__(self):
        return f"{self.legal_forename} {self.legal_surname} ({self.get_status_display()})"


class ExpiryDecision(models.Model):
    """A Digital Champion or LA administrator chose to let an account close at its expiry date."""

    account = models.OneToOneField(Account, on_delete=models.CASCADE, primary_key=True, related_name="+")
    # The expiry date the decision was made about: extending the account makes the decision stale.
    expires_on = models.DateField(_("expiry date"))
    decided_by_id = models.BigIntegerField(null=True, blank=True)
    decided_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"account {self.account_id} closes on {self.expires_on}"
