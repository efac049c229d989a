"""Address book (M-4) and red list (M-5).

Contacts are keyed by their mobile number in E.164 (unique per account); custom field
values live in one JSON column of the contact (`custom`, keyed by the field's `key`) so an
import writes one row per contact and a campaign reads a contact in one row.

Recipients' personal data never goes into audit labels: `__str__` of a contact or a
red-list entry names its id, not its number (erasure, P-12, must leave nothing behind).
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from chappe.common.ids import uuid7
from chappe.contacts.fields import mobile_facts


class Contact(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE,
                                related_name="contacts")
    mobile = models.CharField(_("mobile"), max_length=20, help_text=_("E.164"))
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    company = models.CharField(_("company"), max_length=200, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    email = models.CharField(_("e-mail"), max_length=254, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    country = models.CharField(_("country"), max_length=60, blank=True)
    # Custom field values by field key: text, number (JSON number), date ("YYYY-MM-DD"),
    # choice (one of the field's choices).
    custom = models.JSONField(default=dict, blank=True)
    # Derived from `mobile` whenever it is written (`save`, imports, duplicate cleaning):
    # its ISO country and original operator (phonenumbers), "" when unknown. A campaign
    # counts, prices and checks the operator mix (M-9) of a million contacts with these
    # instead of parsing every number again (~30 µs each).
    mobile_country = models.CharField(max_length=2, blank=True, editable=False)
    mobile_operator = models.CharField(max_length=64, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["last_name", "first_name", "mobile"]
        constraints = [
            models.UniqueConstraint(fields=["account", "mobile"], name="one_contact_per_mobile"),
        ]
        indexes = [
            models.Index(fields=["account", "last_name", "first_name"], name="contact_name_idx"),
            models.Index(fields=["account", "-created_at"], name="contact_created_idx"),
        ]

    def __str__(self) -> str:
        return f"contact {self.pk}"

    def save(self, *args, **kwargs) -> None:
        self.mobile_country, self.mobile_operator = mobile_facts(self.mobile)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "mobile" in update_fields:
            kwargs["update_fields"] = {*update_fields, "mobile_country", "mobile_operator"}
        super().save(*args, **kwargs)

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)


class CustomFieldType(models.TextChoices):
    TEXT = "text", _("Text")
    NUMBER = "number", _("Number")
    DATE = "date", _("Date")
    CHOICE = "choice", _("Choice")


class CustomField(models.Model):
    """A field an account adds to its contacts (M-4)."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE,
                                related_name="contact_fields")
    # Names the value in `Contact.custom`, in import mappings and in message placeholders.
    key = models.SlugField(max_length=40)
    label = models.CharField(max_length=100)
    type = models.CharField(max_length=8, choices=CustomFieldType.choices)
    # For the choice type: the allowed values, in display order.
    choices = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["account", "key"], name="one_contact_field_per_key"),
        ]

    def __str__(self) -> str:
        return self.label


class ContactList(models.Model):
    """A group of contacts; a contact can be in many (M-4)."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE,
                                related_name="contact_lists")
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=300, blank=True)
    contacts = models.ManyToManyField(Contact, through="ListMembership", related_name="lists")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["account", "name"], name="one_contact_list_per_name"),
        ]

    def __str__(self) -> str:
        return self.name


class ListMembership(models.Model):
    contact_list = models.ForeignKey(ContactList, on_delete=models.CASCADE,
                                     related_name="memberships")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="memberships")
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contact_list", "contact"], name="one_membership"),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} in {self.contact_list_id}"


class DuplicateMode(models.TextChoices):
    MERGE = "merge", _("Merge into the existing contact")
    SKIP = "skip", _("Keep the existing contact, skip the row")


class ImportStatus(models.TextChoices):
    # Uploaded and read: waiting for the client to check the column mapping and start it.
    UPLOADED = "uploaded", _("Waiting for the mapping")
    # Started by the client: waiting for a worker.
    QUEUED = "queued", _("Queued")
    # A worker is importing it; rows_done of total_rows are done.
    RUNNING = "running", _("Importing")
    # Final: every row was read (rows in error are listed in the error report).
    DONE = "done", _("Done")
    # Final: stopped on an unexpected error; the rows already imported stay.
    FAILED = "failed", _("Failed")
    # Final: canceled by the client (or expired before it was started); the rows already
    # imported stay.
    CANCELED = "canceled", _("Canceled")


IMPORT_FINAL = frozenset({ImportStatus.DONE, ImportStatus.FAILED, ImportStatus.CANCELED})


class ContactImport(models.Model):
    """One CSV or XLSX file imported into the address book, in the background."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE,
                                related_name="contact_imports")
    created_by = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # The interface language of whoever started it: the error report is written in it.
    language = models.CharField(max_length=8, default="en")
    file_name = models.CharField(max_length=200)
    file_format = models.CharField(max_length=4)  # csv / xlsx
    encoding = models.CharField(max_length=16, blank=True)
    delimiter = models.CharField(max_length=2, blank=True)
    has_header = models.BooleanField(default=True)
    headers = models.JSONField(default=list, blank=True)
    # The first rows as read ([line, [cells]]), for the preview; cleared once final.
    sample = models.JSONField(default=list, blank=True)
    # One target per column: "" (ignored), a contact field, or "custom:<key>".
    mapping = models.JSONField(default=list, blank=True)
    duplicates = models.CharField(max_length=8, choices=DuplicateMode.choices,
                                  default=DuplicateMode.MERGE)
    target_list = models.ForeignKey(ContactList, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=10, choices=ImportStatus.choices,
                              default=ImportStatus.UPLOADED)
    total_rows = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    failure = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["account", "-created_at"], name="contact_import_idx")]

    def __str__(self) -> str:
        return f"import {self.pk}"

    @property
    def is_final(self) -> bool:
        return self.status in IMPORT_FINAL

    @property
    def percent(self) -> int:
        if self.status == ImportStatus.DONE:
            return 100
        if not self.total_rows:
            return 0
        return min(100, self.rows_done * 100 // self.total_rows)


class ContactImportFile(models.Model):
    """The uploaded bytes, in the database so any worker can read them; dropped as soon as
    the import is final."""

    contact_import = models.OneToOneField(ContactImport, on_delete=models.CASCADE,
                                          primary_key=True, related_name="upload")
    data = models.BinaryField()

    def __str__(self) -> str:
        return f"file of {self.contact_import_id}"


class ContactImportError(models.Model):
    """One row of an import that was not imported, and why."""

    contact_import = models.ForeignKey(ContactImport, on_delete=models.CASCADE,
                                       related_name="errors")
    row = models.PositiveIntegerField(help_text=_("Line in the file (the header is line 1)"))
    field = models.CharField(max_length=60, blank=True)
    code = models.CharField(max_length=32)
    message = models.CharField(max_length=300)
    # The row's mobile in E.164 when it was valid (so an erasure finds the row).
    number = models.CharField(max_length=20, blank=True)
    # The row's cells (JSON list), for the downloadable report.
    values = models.TextField(blank=True)

    class Meta:
        ordering = ["row", "id"]
        indexes = [models.Index(fields=["contact_import", "row"], name="contact_import_error_idx")]

    def __str__(self) -> str:
        return f"row {self.row}: {self.code}"


# --- red list (M-5) ----------------------------------------------------------------------


class OptOutSource(models.TextChoices):
    STOP_REPLY = "stop_reply", _("STOP reply")
    MANUAL = "manual", _("Added by hand")
    IMPORT = "import", _("Import")
    API = "api", _("API")


class RedListResponsible(models.TextChoices):
    # The platform manages the red list (M-5 default).
    PLATFORM = "platform", _("Platform")
    # The client chose in writing to manage it and bears the responsibility (M-5).
    CLIENT = "client", _("Client")


class OptOut(models.Model):
    """A number that does not want this account's messages (M-5)."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE,
                                related_name="opt_outs")
    # E.164; null once the number was erased (P-12): then only `number_hash` remains, so
    # the person stays opted out without the number being kept.
    number = models.CharField(max_length=20, null=True, blank=True,  # noqa: DJ001
                              help_text=_("E.164"))
    number_hash = models.CharField(max_length=64, blank=True)
    source = models.CharField(max_length=16, choices=OptOutSource.choices)
    # Who was responsible for the red list when the entry was made (M-5).
    responsible = models.CharField(max_length=10, choices=RedListResponsible.choices,
                                   default=RedListResponsible.PLATFORM)
    added_by = models.CharField(max_length=254, blank=True)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "number"], name="one_opt_out_per_number")
        ]
        indexes = [models.Index(fields=["account", "number_hash"], name="opt_out_hash_idx")]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"red list entry {self.pk}"

    @property
    def erased(self) -> bool:
        return self.number is None


class RedListPolicy(models.Model):
    """Who manages an account's red list (M-5): the platform by default; the client when it
    chose so in writing (the statement is kept verbatim with who chose and when)."""

    account = models.OneToOneField("accounts.Account", on_delete=models.CASCADE,
                                   related_name="red_list_policy")
    self_managed = models.BooleanField(default=False)
    statement = models.TextField(blank=True)
    decided_by = models.CharField(max_length=254, blank=True)
    decided_by_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                        on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"red list policy of {self.account_id}"

    @property
    def responsible(self) -> str:
        return RedListResponsible.CLIENT if self.self_managed else RedListResponsible.PLATFORM
