"""Operator back-office for the contact center: trunks, the number catalogue, rentals,
flows and call records (read-only proof)."""

from django.contrib import admin

from chappe.callcenter.models import (
    CallFlow,
    CallFlowVersion,
    CallRecord,
    NumberRental,
    PhoneNumber,
    Trunk,
    Voicemail,
)


@admin.register(Trunk)
class TrunkAdmin(admin.ModelAdmin):
    list_display = ["name", "host", "port", "transport", "number_prefixes",
                    "max_concurrent_calls", "calls_per_second", "is_active"]


@admin.register(PhoneNumber)
class PhoneNumberAdmin(admin.ModelAdmin):
    list_display = ["e164", "country", "number_type", "monthly_price_micros", "currency",
                    "trunk", "status"]
    list_filter = ["status", "country", "number_type"]
    search_fields = ["e164"]


@admin.register(NumberRental)
class NumberRentalAdmin(admin.ModelAdmin):
    list_display = ["number", "account", "status", "flow", "billing", "started_at", "ended_at"]
    list_filter = ["status", "billing"]
    search_fields = ["number__e164", "account__name"]
    raw_id_fields = ["account", "number", "flow"]


class CallFlowVersionInline(admin.TabularInline):
    model = CallFlowVersion
    extra = 0
    readonly_fields = ["version", "definition", "created_at"]
    exclude = ["account"]


@admin.register(CallFlow)
class CallFlowAdmin(admin.ModelAdmin):
    list_display = ["name", "account", "updated_at"]
    raw_id_fields = ["account"]
    inlines = [CallFlowVersionInline]


@admin.register(CallRecord)
class CallRecordAdmin(admin.ModelAdmin):
    list_display = ["started_at", "account", "direction", "from_number", "to_number",
                    "duration_seconds", "disposition", "hangup_cause"]
    list_filter = ["direction", "disposition"]
    search_fields = ["from_number", "to_number", "sip_call_id"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # the proof of usage, kept 10 years (C-10)


@admin.register(Voicemail)
class VoicemailAdmin(admin.ModelAdmin):
    list_display = ["created_at", "account", "call", "duration_ms", "listened"]
    raw_id_fields = ["account", "call"]
