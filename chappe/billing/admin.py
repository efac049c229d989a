"""Operator back-office for billing. Every change goes through the billing services (so it
is validated, atomic and audited with the staff user as the actor); money records are
read-only here."""

from datetime import date
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from chappe.accounts.admin_actions import (
    ReadOnlyAdmin,
    ServiceFormAdmin,
    form_changes,
    operator_actor,
    run_each,
    saved_as,
)
from chappe.billing import services
from chappe.billing.documents import invoice_pdf
from chappe.billing.models import (
    AccountBalance,
    AccountBilling,
    BillingSettings,
    CreditLot,
    CreditOrder,
    CreditTransfer,
    FeeCharge,
    Fine,
    Invoice,
    InvoiceContest,
    InvoiceLine,
    LedgerEntry,
    Payment,
    PaymentMethod,
    Plan,
    Price,
    PriceChangeNotice,
    PriceList,
    PriceListVersion,
    Subscription,
    UsageRecord,
)
from chappe.billing.money import format_amount, from_micros, shown_value
from chappe.billing.periods import previous_month
from chappe.billing.rating import Product
from chappe.billing.services.fines import fine_record
from chappe.common.errors import ChappeError


def _money_column(field: str):
    """An amount in cents, with more decimals only when it has them (`shown_value`)."""

    def column(_model_admin, obj):
        return f"{shown_value(getattr(obj, field))} {getattr(obj, 'currency', 'EUR')}"

    column.short_description = field.removesuffix("_micros").replace("_", " ")  # type: ignore[attr-defined]
    return column


@admin.register(BillingSettings)
class BillingSettingsAdmin(ServiceFormAdmin):
    def has_add_permission(self, request) -> bool:
        return not BillingSettings.objects.exists()

    def save_model(self, request, obj, form, change):
        saved_as(obj, services.billing_settings_update(actor=operator_actor(request),
                                                     changes=form_changes(form)))


# --- prices ---------------------------------------------------------------------------


class PriceInline(admin.TabularInline):
    model = Price
    extra = 0
    can_delete = False
    readonly_fields = ["product", "country", "operator", "number_type", "origin_country",
                       "price"]
    fields = readonly_fields

    @admin.display(description=_("unit price"))
    def price(self, obj):
        return format_amount(obj.unit_price_micros, obj.version.price_list.currency, places=6)

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class PriceListVersionForm(forms.ModelForm):
    prices_csv = forms.CharField(
        label=_("Prices"), widget=forms.Textarea(attrs={"rows": 16, "cols": 90}),
        help_text=_("One price per line: product,country,operator,number_type,origin_country,"
                    "unit_price — empty key fields match anything. Products: ")
        + ", ".join(Product.values))
    message = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}),
                              help_text=_("The change notice shown to clients (P-14)."))
    allow_short_notice = forms.BooleanField(
        required=False, help_text=_("Take effect less than a month after the announcement."))

    class Meta:
        model = PriceListVersion
        fields = ["price_list", "effective_from", "note"]

    def clean_prices_csv(self):
        rows = []
        for number, line in enumerate(self.cleaned_data["prices_csv"].splitlines(), start=1):
            if not line.strip() or line.strip().startswith("#"):
                continue
            parts = [part.strip() for part in line.split(",")]
            if len(parts) != 6:
                raise ValidationError(_("Line %(n)s: 6 fields expected."), params={"n": number})
            product, country, operator, number_type, origin, price = parts
            rows.append({"product": product, "country": country, "operator": operator,
                         "number_type": number_type, "origin_country": origin,
                         "unit_price": price})
        if not rows:
            raise ValidationError(_("At least one price."))
        return rows


@admin.register(PriceListVersion)
class PriceListVersionAdmin(ServiceFormAdmin):
    list_display = ["price_list", "effective_from", "note", "created_by", "created_at"]
    list_filter = ["price_list"]
    inlines = [PriceInline]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = PriceListVersionForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["price_list", "effective_from", "note", "prices_csv", "message",
                    "allow_short_notice"]
        return ["price_list", "effective_from", "note", "created_by"]

    def get_readonly_fields(self, request, obj=None):
        return ["price_list", "effective_from", "note", "created_by"] if obj else []

    def get_inlines(self, request, obj):
        return [PriceInline] if obj else []

    def save_model(self, request, obj, form, change):
        if change:
            return
        saved_as(obj, services.price_list_version_create(
            actor=operator_actor(request), price_list=form.cleaned_data["price_list"],
            effective_from=form.cleaned_data["effective_from"],
            prices=form.cleaned_data["prices_csv"], note=form.cleaned_data["note"],
            message=form.cleaned_data["message"],
            allow_short_notice=form.cleaned_data["allow_short_notice"]))

    def save_related(self, request, form, formsets, change):
        pass


class VersionInline(admin.TabularInline):
    model = PriceListVersion
    extra = 0
    can_delete = False
    show_change_link = True
    fields = readonly_fields = ["effective_from", "note", "created_by"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(PriceList)
class PriceListAdmin(ServiceFormAdmin):
    list_display = ["code", "name", "currency", "is_default"]
    inlines = [VersionInline]

    def get_readonly_fields(self, request, obj=None):
        return ["code", "currency"] if obj else []

    def save_model(self, request, obj, form, change):
        if change:
            services.price_list_update(actor=operator_actor(request), price_list=obj,
                                       changes=form_changes(form))
            return
        saved_as(obj, services.price_list_create(
            actor=operator_actor(request), code=obj.code, name=obj.name,
            currency=obj.currency, is_default=obj.is_default))


@admin.register(PriceChangeNotice)
class PriceChangeNoticeAdmin(ReadOnlyAdmin):
    list_display = ["price_list", "announced_at", "effective_from", "short_notice"]


# --- plans, accounts, subscriptions ----------------------------------------------------


@admin.register(Plan)
class PlanAdmin(ServiceFormAdmin):
    list_display = ["code", "name", "service_kind", "price_list", "term_months", "is_active"]

    def get_readonly_fields(self, request, obj=None):
        return ["code", "service_kind", "price_list", "term_months"] if obj else []

    def save_model(self, request, obj, form, change):
        if change:
            services.plan_update(actor=operator_actor(request), plan=obj,
                                 changes=form_changes(form))
            return
        saved_as(obj, services.plan_create(
            actor=operator_actor(request), code=obj.code, name=obj.name,
            service_kind=obj.service_kind, price_list=obj.price_list,
            term_months=obj.term_months))


@admin.register(AccountBilling)
class AccountBillingAdmin(ServiceFormAdmin):
    list_display = ["account", "price_list"]
    autocomplete_fields: list[str] = []

    def save_model(self, request, obj, form, change):
        saved_as(obj, services.account_price_list_set(
            actor=operator_actor(request, obj.account), account=obj.account,
            price_list=obj.price_list))


@admin.register(Subscription)
class SubscriptionAdmin(ServiceFormAdmin):
    list_display = ["account", "plan", "status", "started_at", "ends_at"]
    list_filter = ["status", "service_kind"]
    actions = ["cancel_with_notice"]

    def get_fields(self, request, obj=None):
        return ["account", "plan", "started_at", "users", "licences", "numbers", "payment_days"] \
            + (["status", "cancel_requested_at", "ends_at"] if obj else [])

    def get_readonly_fields(self, request, obj=None):
        return ["account", "plan", "started_at", "status", "cancel_requested_at", "ends_at"] \
            if obj else []

    def save_model(self, request, obj, form, change):
        actor = operator_actor(request, obj.account)
        if change:
            services.subscription_update(actor=actor, subscription=obj,
                                         changes=form_changes(form))
            return
        saved_as(obj, services.subscription_create(
            actor=actor, account=obj.account, plan=obj.plan, started_at=obj.started_at,
            users=obj.users, licences=obj.licences, numbers=obj.numbers,
            payment_days=obj.payment_days))

    @admin.action(description=_("Cancel with notice"))
    def cancel_with_notice(self, request, queryset):
        run_each(self, request, queryset, lambda subscription: services.subscription_cancel(
            actor=operator_actor(request, subscription.account), subscription=subscription))


# --- money facts ------------------------------------------------------------------------


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ["occurred_at", "account", "book", "reason", "amount", "cause_type",
                    "cause_id"]
    list_filter = ["book", "reason", "currency"]
    search_fields = ["account__name", "cause_id", "idempotency_key"]
    amount = _money_column("amount_micros")


@admin.register(AccountBalance)
class AccountBalanceAdmin(ReadOnlyAdmin):
    list_display = ["account", "book", "currency", "balance", "updated_at"]
    balance = _money_column("balance_micros")


@admin.register(CreditLot)
class CreditLotAdmin(ReadOnlyAdmin):
    list_display = ["id", "account", "original", "remaining", "pack", "ordered_at",
                    "expires_at", "expired_at"]
    original = _money_column("original_micros")

    @admin.display(description=_("Message pack"))
    def pack(self, obj) -> str:
        return (f"{obj.pack_units} {obj.pack_product} → {obj.pack_country}"
                if obj.pack_product else "")
    remaining = _money_column("remaining_micros")


@admin.register(UsageRecord)
class UsageRecordAdmin(ReadOnlyAdmin):
    list_display = ["occurred_at", "account", "product", "billed_quantity",
                    "destination_country", "amount", "billing_mode"]
    list_filter = ["product", "billing_mode"]
    search_fields = ["cause_id", "idempotency_key"]
    amount = _money_column("amount_micros")


@admin.register(FeeCharge)
class FeeChargeAdmin(ReadOnlyAdmin):
    list_display = ["occurred_at", "account", "product", "description", "period_start",
                    "period_end", "amount"]
    list_filter = ["product"]
    search_fields = ["account__name", "description", "cause_id", "idempotency_key"]
    amount = _money_column("amount_micros")


@admin.register(CreditTransfer)
class CreditTransferAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "from_account", "to_account", "amount", "created_by"]
    amount = _money_column("amount_micros")


@admin.register(CreditOrder)
class CreditOrderAdmin(ReadOnlyAdmin):
    list_display = ["ordered_at", "account", "amount", "pack", "status", "invoice", "paid_at"]
    list_filter = ["status", "pack_product"]
    actions = ["cancel_unpaid"]
    amount = _money_column("amount_micros")

    @admin.display(description=_("Message pack"))
    def pack(self, obj) -> str:
        return (f"{obj.pack_units} {obj.pack_product} → {obj.pack_country}"
                if obj.pack_product else "")

    @admin.action(description=_("Cancel the selected unpaid orders"))
    def cancel_unpaid(self, request, queryset):
        run_each(self, request, queryset, lambda order: services.credit_order_cancel(
            actor=operator_actor(request, order.account), order=order))


class PaymentForm(forms.ModelForm):
    amount = forms.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0.01"))

    class Meta:
        model = Payment
        fields = ["invoice", "method", "reference", "received_at"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["invoice"].queryset = Invoice.objects.filter(status="issued")
        self.fields["method"].choices = [(v, label) for v, label in PaymentMethod.choices]
        self.fields["received_at"].required = False


@admin.register(Payment)
class PaymentAdmin(ServiceFormAdmin):
    """Record a payment received by transfer, cheque or direct debit."""

    list_display = ["received_at", "account", "invoice", "method", "reference", "amount",
                    "recorded_by"]
    list_filter = ["method"]
    search_fields = ["reference", "invoice__number"]
    form = PaymentForm
    amount = _money_column("amount_micros")

    def get_readonly_fields(self, request, obj=None):
        return ["invoice", "method", "reference", "received_at", "account", "recorded_by"] \
            if obj else []

    def get_fields(self, request, obj=None):
        if obj:
            return ["account", "invoice", "method", "reference", "received_at", "recorded_by"]
        return ["invoice", "amount", "method", "reference", "received_at"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is not None:
            kwargs["form"] = forms.ModelForm
        return super().get_form(request, obj, change=change, **kwargs)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        saved_as(obj, services.payment_record(
            actor=operator_actor(request, data["invoice"].account), invoice=data["invoice"],
            amount=data["amount"], method=data["method"], reference=data["reference"],
            received_at=data.get("received_at")))

    def has_change_permission(self, request, obj=None) -> bool:
        return False


# --- invoices -----------------------------------------------------------------------------


class InvoiceLineInline(admin.TabularInline):
    model = InvoiceLine
    extra = 0
    can_delete = False
    fields = readonly_fields = ["position", "description", "quantity", "unit", "amount"]

    @admin.display(description=_("unit price"))
    def unit(self, obj):
        return from_micros(obj.unit_price_micros)

    @admin.display(description=_("amount"))
    def amount(self, obj):
        return format_amount(obj.amount_micros, obj.invoice.currency)

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class InvoiceRunForm(forms.Form):
    month = forms.DateField(help_text=_("Any day of the month to invoice (YYYY-MM-DD)."))


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    list_display = ["number", "account", "kind", "service_kind", "status", "issued_at",
                    "due_at", "total", "paid", "pdf"]
    list_filter = ["status", "kind", "service_kind"]
    search_fields = ["number", "account__name"]
    inlines = [InvoiceLineInline]
    actions = ["charge_penalties", "suspend_for_non_payment"]
    total = _money_column("total_micros")
    paid = _money_column("paid_micros")

    @admin.display(description="PDF")
    def pdf(self, obj):
        return format_html('<a href="{}">PDF</a>',
                           reverse("admin:billing_invoice_pdf", args=[obj.pk]))

    def get_urls(self):
        return [
            path("<uuid:pk>/pdf/", self.admin_site.admin_view(self.pdf_view),
                 name="billing_invoice_pdf"),
            path("run/", self.admin_site.admin_view(self.run_view), name="billing_invoice_run"),
            *super().get_urls(),
        ]

    def pdf_view(self, request, pk):
        invoice = Invoice.objects.get(pk=pk)
        response = HttpResponse(invoice_pdf(invoice), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{invoice.number}.pdf"'
        return response

    def run_view(self, request):
        """Run a month's invoices (idempotent: a second run issues nothing new)."""
        if not request.user.is_superuser and not request.user.has_perm("billing.add_invoice"):
            return HttpResponse(status=403)
        form = InvoiceRunForm(request.POST or None,
                              initial={"month": previous_month(date.today())})
        if request.method == "POST" and form.is_valid():
            issued = services.invoice_run(month=form.cleaned_data["month"])
            self.message_user(request, _("%(n)s invoice(s) issued.") % {"n": len(issued)})
            return HttpResponseRedirect(reverse("admin:billing_invoice_changelist"))
        return TemplateResponse(request, "admin/billing/invoice_run.html",
                                {**self.admin_site.each_context(request), "form": form,
                                 "title": _("Run monthly invoices")})

    @admin.action(description=_("Charge accrued late penalties now"))
    def charge_penalties(self, request, queryset):
        for invoice in queryset:
            try:
                penalty = services.invoice_penalties_charge(
                    actor=operator_actor(request, invoice.account), invoice=invoice)
            except ChappeError as exc:
                self.message_user(request, f"{invoice}: {exc.message}", messages.ERROR)
                continue
            if penalty:
                self.message_user(request, f"{invoice}: {penalty.number}")

    @admin.action(description=_("Suspend the invoice's service for non-payment"))
    def suspend_for_non_payment(self, request, queryset):
        run_each(self, request, queryset, lambda invoice: services.service_suspend_for_non_payment(
            actor=operator_actor(request, invoice.account), account=invoice.account,
            service_kind=invoice.service_kind))


@admin.register(InvoiceContest)
class InvoiceContestAdmin(ReadOnlyAdmin):
    list_display = ["opened_at", "account", "invoice", "status", "resolved_at"]
    list_filter = ["status"]
    actions = ["accept", "reject"]

    def _resolve(self, request, queryset, accepted: bool):
        run_each(self, request, queryset, lambda contest: services.invoice_contest_resolve(
            actor=operator_actor(request, contest.account), contest=contest, accepted=accepted))

    @admin.action(description=_("Accept: the client is right (waive penalties)"))
    def accept(self, request, queryset):
        self._resolve(request, queryset, True)

    @admin.action(description=_("Reject: the invoice stands (penalties resume)"))
    def reject(self, request, queryset):
        self._resolve(request, queryset, False)


class FineForm(forms.ModelForm):
    amount = forms.DecimalField(label=_("Amount"), min_value=Decimal("0.01"), decimal_places=6)

    class Meta:
        model = Fine
        fields = ["account", "service_kind", "imposed_by", "reason", "reference", "imposed_on",
                  "currency"]


@admin.register(Fine)
class FineAdmin(ServiceFormAdmin):
    """Fines passed on (P-18): recorded here, re-billed on the client's next invoice."""

    form = FineForm
    list_display = ("account", "imposed_by", "reason", "amount", "imposed_on", "invoice")
    search_fields = ("account__name", "imposed_by", "reference")

    @admin.display(description=_("Amount"))
    def amount(self, obj: Fine) -> str:
        return format_amount(obj.amount_micros, obj.currency)

    def has_change_permission(self, request, obj=None) -> bool:
        return obj is None

    def save_model(self, request, obj, form, change) -> None:
        data = form.cleaned_data
        saved_as(obj, fine_record(
            actor=operator_actor(request, data["account"]), account=data["account"],
            imposed_by=data["imposed_by"], reason=data["reason"], amount=data["amount"],
            imposed_on=data["imposed_on"], reference=data["reference"],
            currency=data["currency"], service_kind=data["service_kind"]))
