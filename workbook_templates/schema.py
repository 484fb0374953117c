"""The input data sets: file names, columns, types, units — written once.

Every report reads some of these data sets. Each becomes an input sheet laid
out as an Excel table (sheet ``sheet``, table ``table``) with the columns in
the order given here; the loader (:mod:`workbook_templates.data`) checks every
cell against the column's type and domain, and the README / docs tables are
generated from this module.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ACQUISITION_CHANNEL", "CONTACT_CHANNEL", "DATASETS", "PLAN_TIER", "REGION", "TYPES", "ColumnSchema", "Dataset", "get_dataset", "schema_markdown"]

#: Column types: what the loader accepts and how the builder writes the cells.
TYPES = {
    "id": "identifier (text; whole numbers are read as their digits)",
    "text": "text (stored as text, never as a formula)",
    "date": "date (ISO 2026-03-15, or a date cell)",
    "datetime": "date and time (ISO 2026-03-15T09:30, or a date cell)",
    "month": "calendar month (ISO 2026-03 or any date in the month; stored as its first day)",
    "number": "number",
    "integer": "whole number",
}


@dataclass(frozen=True)
class ColumnSchema:
    """One column of an input data set."""

    name: str
    type: str
    description: str
    unit: str = ""
    required: bool = True  #: False: blanks allowed (meaning given in the description)
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] = ()  #: allowed values of a text column (case-sensitive); empty: any
    #: the segment dimension the column holds (``--by``): columns of different data sets with the same
    #: dimension mean the same thing and split each other's reports; empty: the column is its own thing
    dimension: str = ""

    def __post_init__(self) -> None:
        if self.type not in TYPES:
            raise ValueError(f"unknown column type {self.type!r}")


@dataclass(frozen=True)
class Dataset:
    """One input file (``<name>.csv``, ``.xlsx`` or ``.parquet``) and its input sheet."""

    name: str
    sheet: str
    table: str
    description: str
    columns: tuple[ColumnSchema, ...]
    #: the column that places a row in time (as-of filtering for ``--period``)
    time_column: str | None = None
    #: columns holding later timestamps of the same row: cleared when after the
    #: report month (the row's state as known at the end of that month)
    later_columns: tuple[str, ...] = ()
    #: keep only the last N months up to the report month (None: all history)
    window_months: int | None = None
    #: unique key column (duplicates are bad rows)
    key: str | None = None
    #: pairs (earlier, later): the later must not be before the earlier
    ordered: tuple[tuple[str, str], ...] = ()
    #: columns that must name a customer of customers.csv
    customer_column: str | None = None
    #: True: a folder without this file loads as before (only a report or step that needs it asks for it)
    optional: bool = False

    @property
    def filenames(self) -> tuple[str, ...]:
        return (f"{self.name}.csv", f"{self.name}.xlsx", f"{self.name}.parquet")

    def column(self, name: str) -> ColumnSchema:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}")

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


DATASETS: dict[str, Dataset] = {}

#: The segment dimensions (``ColumnSchema.dimension``). A report split ``--by COLUMN`` takes the column's
#: meaning from customers (else from the first data set with the column); a data set whose column of that
#: name means the same is split by it, one whose column means something else (tickets' contact ``channel``
#: against customers' acquisition ``channel``) is split through its customer_id like a data set without it.
REGION = "region"
PLAN_TIER = "plan tier"
ACQUISITION_CHANNEL = "acquisition channel"
CONTACT_CHANNEL = "contact channel"


def _add(ds: Dataset) -> None:
    DATASETS[ds.name] = ds


# The common kinds of column, written once: key identifiers, the reference to
# a customer, money amounts, counts, survey scores.
def _unique_id(name: str, what: str) -> ColumnSchema:
    """A data set's key column: ``<what> identifier, unique``."""
    return ColumnSchema(name, "id", f"{what} identifier, unique")


def _customer(who: str = "Customer") -> ColumnSchema:
    """The ``customer_id`` column naming a customer of customers.csv (a data set's ``customer_column``)."""
    return ColumnSchema("customer_id", "id", f"{who} (a customer_id of customers)")


def _money(name: str, description: str, required: bool = True) -> ColumnSchema:
    return ColumnSchema(name, "number", description, unit="money", min=0, required=required)


def _currency() -> ColumnSchema:
    """The optional ``currency`` column of a money data set (ISO 4217 code)."""
    return ColumnSchema("currency", "text", "Currency of the money columns (ISO 4217 code such as NOK, SEK, "
                        "DKK, EUR); blank: the reporting currency", required=False)


def _count(name: str, description: str, required: bool = True) -> ColumnSchema:
    return ColumnSchema(name, "integer", description, unit="count", min=0, required=required)


def _score(description: str, low: int, high: int) -> ColumnSchema:
    return ColumnSchema("score", "integer", description, unit="points", min=low, max=high)


_MONTH = ColumnSchema("month", "month", "Calendar month")


def _survey(name: str, sheet: str, table: str, description: str, *columns: ColumnSchema) -> Dataset:
    """A survey's answers (NPS, CSAT): one row per response, keyed by ``response_id``, placed in time by
    ``date``, answered by the customer in ``customer_id``."""
    return Dataset(name=name, sheet=sheet, table=table, description=description, key="response_id",
                   time_column="date", customer_column="customer_id", columns=columns)


_RESPONSE_ID = _unique_id("response_id", "Response")
_ANSWERED_BY = _customer("Customer who answered")
_ANSWER_DATE = ColumnSchema("date", "date", "Date of the answer")


_add(Dataset(
    name="customers",
    sheet="Customers",
    table="Customers",
    description="One row per customer account, with the segments reports can be split by.",
    key="customer_id",
    columns=(
        _unique_id("customer_id", "Customer"),
        ColumnSchema("name", "text", "Account name"),
        ColumnSchema("region", "text", "Sales region (a segment for --by region)", dimension=REGION),
        ColumnSchema("plan_tier", "text", "Plan tier the customer signed up on (a segment for --by plan_tier)",
                     dimension=PLAN_TIER),
        ColumnSchema("signup_date", "date", "Date the account was created"),
        ColumnSchema("channel", "text", "Acquisition channel: the marketing channel that acquired the customer "
                     "(a segment for --by channel)", required=False, dimension=ACQUISITION_CHANNEL),
    ),
))

_add(Dataset(
    name="subscriptions",
    sheet="Subscriptions",
    table="Subscriptions",
    description="One row per subscription period; a plan change ends one row and starts the next. "
                "The first six columns are the table KPI_MRR_SCHEDULE reads: MRR = (amount − discount) ÷ "
                "billing_months.",
    key="subscription_id",
    time_column="start_date",
    later_columns=("end_date",),
    ordered=(("start_date", "end_date"),),
    customer_column="customer_id",
    columns=(
        _customer(),
        ColumnSchema("start_date", "date", "First day of the subscription"),
        ColumnSchema("end_date", "date", "Day it ended (not paying from that day on); blank while it runs",
                     required=False),
        _money("amount", "Price of one billing period"),
        ColumnSchema("billing_months", "integer", "Months per billing period: 1 monthly, 3 quarterly, 12 annual",
                     unit="months", min=1, max=120),
        _money("discount", "Discount off the amount per billing period; blank: none (at most the amount)",
               required=False),
        ColumnSchema("plan", "text", "Plan name"),
        _unique_id("subscription_id", "Subscription"),
        _count("quantity", "Seats or units the amount is for (shown, never multiplied); blank: 1", required=False),
        _currency(),
    ),
))

_add(Dataset(
    name="invoices",
    sheet="Invoices",
    table="Invoices",
    description="Invoice line items, the alternative to subscriptions (as billing systems export them): one row "
                "per line. Subscription lines give the MRR: (amount − discount) ÷ the months of the service "
                "period, in every month whose last day the line serves; one-time lines are revenue (and the "
                "orders when there is no orders file); refunds reduce revenue, never MRR.",
    time_column="invoice_date",
    optional=True,
    ordered=(("service_start", "service_end"),),
    customer_column="customer_id",
    columns=(
        ColumnSchema("invoice_id", "id", "Invoice identifier (repeats on each line of the invoice)"),
        _customer(),
        ColumnSchema("invoice_date", "date", "Date of the invoice"),
        ColumnSchema("line_type", "text", "Kind of line: subscription, one_time or refund",
                     choices=("subscription", "one_time", "refund")),
        ColumnSchema("amount", "number", "The line's amount for all its seats, before discount and excluding tax "
                     "(a refund's amount may be written negative or positive: it is money paid back)",
                     unit="money"),
        ColumnSchema("subscription_id", "id", "Subscription the line bills; blank: the line is a subscription of "
                     "its own", required=False),
        ColumnSchema("plan", "text", "Plan (subscription lines) or product (one-time lines)", required=False),
        _count("quantity", "Seats or units the amount is for (shown, never multiplied); blank: 1", required=False),
        _money("discount", "Discount off the amount; blank: none (at most the amount)", required=False),
        _money("tax", "Tax on the line (shown, never part of MRR or revenue)", required=False),
        ColumnSchema("service_start", "date", "First day the line pays for (subscription lines)", required=False),
        ColumnSchema("service_end", "date", "Day after the last one the line pays for (subscription lines): the "
                     "line serves [service_start, service_end)", required=False),
        ColumnSchema("cancelled_at", "date", "The subscription stops being paid from this day (cuts the line "
                     "short); blank: not cancelled", required=False),
        ColumnSchema("prorated", "text", "Whether the line charges part of a period (shown; the MRR rule reads "
                     "the service dates)", required=False),
        _currency(),
    ),
))

_add(Dataset(
    name="orders",
    sheet="Orders",
    table="Orders",
    description="One-off purchases (add-ons, services): one row per order; feeds repeat-purchase and cross-sell rates.",
    key="order_id",
    time_column="order_date",
    customer_column="customer_id",
    columns=(
        _customer(),
        ColumnSchema("product", "text", "Product bought"),
        ColumnSchema("order_date", "date", "Order date"),
        _money("amount", "Order value"),
        _unique_id("order_id", "Order"),
        _currency(),
    ),
))

_add(_survey(
    "nps_responses", "NPS responses", "NPS", "Net Promoter Score survey answers: one row per response.",
    _RESPONSE_ID,
    _ANSWERED_BY,
    _ANSWER_DATE,
    _score("Likelihood to recommend, 0 (not at all) to 10 (extremely)", 0, 10),
    ColumnSchema("comment", "text", "Free-text comment", required=False),
))

_add(_survey(
    "csat_responses", "CSAT responses", "CSAT",
    "Customer satisfaction answers after a support ticket: one row per response.",
    _RESPONSE_ID,
    _ANSWERED_BY,
    ColumnSchema("ticket_id", "id", "Ticket the answer is about", required=False),
    _ANSWER_DATE,
    _score("Satisfaction, 1 (very unsatisfied) to 5 (very satisfied)", 1, 5),
))

_add(Dataset(
    name="tickets",
    sheet="Tickets",
    table="Tickets",
    description="Support tickets with their timestamps: one row per ticket.",
    key="ticket_id",
    time_column="created_at",
    later_columns=("first_response_at", "resolved_at"),
    ordered=(("created_at", "first_response_at"), ("created_at", "resolved_at")),
    customer_column="customer_id",
    columns=(
        _unique_id("ticket_id", "Ticket"),
        _customer("Customer who opened it"),
        ColumnSchema("created_at", "datetime", "When the ticket was opened"),
        ColumnSchema("first_response_at", "datetime", "First reply by support; blank while waiting",
                     required=False),
        ColumnSchema("resolved_at", "datetime", "When it was resolved; blank while open", required=False),
        ColumnSchema("channel", "text", "Contact channel (email, chat, phone) — not the acquisition channel: "
                     "--by channel splits tickets by their customer's customers.channel",
                     dimension=CONTACT_CHANNEL),
        ColumnSchema("priority", "text", "Priority (low, normal, high, urgent)"),
    ),
))

_add(Dataset(
    name="marketing",
    sheet="Marketing",
    table="Marketing",
    description="Marketing funnel by month, channel and target segment: one row per month × channel × region × "
                "plan tier.",
    time_column="month",
    columns=(
        _MONTH,
        ColumnSchema("channel", "text", "Marketing channel (the acquisition channel of customers.channel)",
                     dimension=ACQUISITION_CHANNEL),
        ColumnSchema("region", "text", "Target region", dimension=REGION),
        ColumnSchema("plan_tier", "text", "Target plan tier", dimension=PLAN_TIER),
        _money("spend", "Media and programme spend"),
        _count("visitors", "Website visitors"),
        _count("leads", "Leads (sign-ups, form fills)"),
        _count("mql", "Marketing-qualified leads"),
        _count("sql", "Sales-qualified leads"),
        _count("customers", "New paying customers attributed to the channel"),
        _money("revenue", "Attributed revenue: first-year contract value of those customers"),
        _count("followers", "Audience at month end (social followers, newsletter subscribers); "
               "blank for channels without one", required=False),
        _currency(),
    ),
))

_add(Dataset(
    name="leads",
    sheet="Leads",
    table="Leads",
    description="Sales leads as the CRM records them: one row per lead, with the day it was created and, once it "
                "became a paying customer, the day it converted. Feeds the lead time (how long a lead takes to "
                "become a customer: the marketing funnel's Lead time block). Optional: without it the funnel builds "
                "with an empty Leads sheet and its lead-time KPIs undefined.",
    key="lead_id",
    time_column="created_date",
    later_columns=("converted_date",),
    ordered=(("created_date", "converted_date"),),
    customer_column="customer_id",
    optional=True,
    columns=(
        _unique_id("lead_id", "Lead"),
        ColumnSchema("created_date", "date", "Day the lead was created"),
        ColumnSchema("converted_date", "date", "Day the lead became a paying customer; blank while it has not",
                     required=False),
        ColumnSchema("channel", "text", "Marketing channel that brought the lead (the acquisition channel of "
                     "marketing.channel and customers.channel)", dimension=ACQUISITION_CHANNEL),
        ColumnSchema("region", "text", "Region of the lead", dimension=REGION),
        ColumnSchema("plan_tier", "text", "Plan tier the lead is for", dimension=PLAN_TIER),
        ColumnSchema("customer_id", "id", "The customer it became (a customer_id of customers); blank while not "
                     "converted", required=False),
    ),
))

_add(Dataset(
    name="costs",
    sheet="Costs",
    table="Costs",
    description="Monthly costs by segment: cost of revenue and the sales cost outside marketing spend.",
    time_column="month",
    columns=(
        _MONTH,
        ColumnSchema("region", "text", "Region", dimension=REGION),
        ColumnSchema("plan_tier", "text", "Plan tier", dimension=PLAN_TIER),
        _money("cogs", "Cost of revenue (hosting, support staff)"),
        _money("sales_cost", "Sales team and tools (marketing spend is in marketing)"),
        _currency(),
    ),
))

_add(Dataset(
    name="activity",
    sheet="Activity",
    table="Activity",
    description="Product usage: one row per user and day with activity (more rows per day are fine). "
                "Reports keep the six months up to the report month.",
    time_column="date",
    window_months=6,
    customer_column="customer_id",
    columns=(
        ColumnSchema("user_id", "id", "User"),
        ColumnSchema("date", "date", "Day of the activity"),
        _customer("The user's account"),
    ),
))

_add(Dataset(
    name="fx_rates",
    sheet="FX rates",
    table="FXRates",
    description="Exchange rates for data in several currencies (optional): one row per month and currency; "
                "month and currency together are unique.",
    optional=True,
    columns=(
        ColumnSchema("month", "month", "Month the rate applies to"),
        ColumnSchema("currency", "text", "Currency: an ISO 4217 code (three upper-case letters such as SEK)"),
        ColumnSchema("rate", "number", "Units of the reporting currency per 1 unit of the currency (above 0)",
                     unit="rate"),
    ),
))


def get_dataset(name: str) -> Dataset:
    try:
        return DATASETS[name]
    except KeyError:
        raise KeyError(f"no data set named {name!r}; known: {', '.join(DATASETS)}") from None


def schema_markdown() -> str:
    """The data-set reference (used by docs/reports.md), generated from :data:`DATASETS`."""
    out: list[str] = []
    for ds in DATASETS.values():
        out.append(f"### `{ds.name}` — sheet *{ds.sheet}*, table `{ds.table}`\n")
        out.append(ds.description + (" A folder without this file reads as before." if ds.optional else "") + "\n")
        out.append("| column | type | unit | required | description |")
        out.append("|---|---|---|---|---|")
        for c in ds.columns:
            dom = []
            if c.min is not None:
                dom.append(f"≥ {c.min:g}")
            if c.max is not None:
                dom.append(f"≤ {c.max:g}")
            desc = c.description + (f" ({', '.join(dom)})" if dom else "")
            out.append(f"| `{c.name}` | {c.type} | {c.unit or '—'} | {'yes' if c.required else 'no'} | {desc} |")
        out.append("")
    return "\n".join(out)


def schema_summary_markdown() -> str:
    """One line per data set (for the README): file, columns with type and unit; * marks optional columns."""
    out = ["| file | columns (type, unit; * may be blank) |", "|---|---|"]
    for ds in DATASETS.values():
        cols = []
        for c in ds.columns:
            t = c.type + (f", {c.unit}" if c.unit else "")
            cols.append(f"`{c.name}`{'*' if not c.required else ''} ({t})")
        out.append(f"| `{ds.name}.csv`{' (optional)' if ds.optional else ''} | {', '.join(cols)} |")
    return "\n".join(out)


__all__.append("schema_summary_markdown")
