from django.contrib import admin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from chappe.queue.models import Job, JobStatus


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "status", "run_at", "attempts", "locked_by", "finished_at")
    list_filter = ("status", "name")
    search_fields = ("name", "unique_key")
    readonly_fields = ("name", "payload", "unique_key", "status", "run_at", "attempts",
                       "max_attempts", "locked_by", "locked_until", "last_error", "created_at",
                       "finished_at")
    actions = ["retry"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description=_("Retry selected failed jobs now"))
    def retry(self, request, queryset) -> None:
        count = queryset.filter(status=JobStatus.FAILED).update(
            status=JobStatus.PENDING, attempts=0, run_at=timezone.now(), finished_at=None
        )
        self.message_user(request, _("%(count)d jobs queued again.") % {"count": count})
