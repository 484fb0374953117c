"""The five standard reports, described as data (see :mod:`.spec`).

Each report lists the data sets it reads (one input sheet and Excel table
each), its sheets, and blocks of cells whose formulas are :mod:`.formulas`
nodes. KPI formulas use only registry functions (checked by the tests);
number formats of KPI cells come from the registry's ``unit``; the notes
sheet's definitions come from the registry's summary and formula.
"""

from __future__ import annotations

from . import report_retention_models as models
from .build.styles import MONEY_CENTS
from .formulas import (
    KPI,
    BlockCol,
    ByGrain,
    Col,
    Const,
    CountInMonth,
    EDate,
    Filter,
    Fn,
    If,
    IfError,
    InMonth,
    ListCol,
    Lookup2D,
    Op,
    Ref,
    RowRef,
    SpillAll,
    SpillCol,
    SumWhere,
)
from .report_channels import with_channels
from .report_cohort_fit import cohort_fit_blocks, cohort_fit_charts, cohort_fit_sheets
from .report_dashboard_kpis import (
    churn_noise_blocks,
    churn_noise_items,
    recurring_items,
    renewal_items,
    survey_columns,
    trend_columns,
    with_trends,
)
from .report_health import HEALTH_ABOUT, health_blocks, health_sheet, repeat_window_items
from .report_leadtime import LEADTIME_ABOUT, leadtime_blocks, leadtime_charts
from .report_parts import (
    AMBER,
    BLUE,
    COUNT,
    GREEN,
    GREY,
    HOURS,
    MONEY,
    MONTH,
    NAVY,
    NOW_COL,
    PCT,
    PCT2,
    PERIOD_REVENUE,
    PREV,
    PREV_COL,
    RED,
    RM,
    TEAL,
    _annual_items,
    _at_month,
    _calc_head,
    _calc_sheet,
    _customers_list,
    _details_sheet,
    _head,
    _input_sheets,
    _monthly_rate,
    _mrr_engine,
    _params,
    _sum_month,
    _trend,
    mov_at,
)
from .spec import (
    Chart,
    Distinct,
    Item,
    ItemList,
    Months,
    PerGrain,
    ReportSpec,
    RowColumn,
    RowTable,
    Series,
    SheetSpec,
    Spill,
    Text,
)

__all__ = ["REPORTS", "get_report"]

#: what a folder without an orders file means for the dashboard (it stands in an empty Orders table)
NO_ORDERS = ("the dashboard counts no one-off revenue, so the recurring share of revenue is 100 %; add the "
             "one-off orders (orders.csv) for the true share")

# --------------------------------------------------------------------------
# 1. SaaS subscription dashboard
# --------------------------------------------------------------------------
def _saas_dashboard() -> ReportSpec:
    S = "Dashboard"
    ds = ("subscriptions", "customers", "orders", "marketing", "costs")
    engine, calc_sheets = _mrr_engine()
    blocks: list = _head(S, "SaaS subscription dashboard",
                         "MRR and its movements, churn and retention, and unit economics for the report month.")
    blocks.append(_params(S))
    blocks.append(ItemList(S, 8, 0, "Revenue", (
        Item("mrr", "MRR", KPI("KPI_MRR", NOW_COL), note="month-end MRR of paying customers"),
        Item("arr", "ARR", KPI("KPI_ARR", Ref("mrr")), note="12 × MRR"),
        Item("mrr_growth", "MRR growth", KPI("KPI_GROWTH_RATE", PREV_COL, NOW_COL), note="on the previous month"),
        Item("cmgr", "Compound monthly growth", KPI("KPI_CMGR", BlockCol("trend", "mrr")),
             note="over the months in the trend table (up to 12)"),
        Item("arpa", "ARPA", KPI("KPI_ARPU", Ref("mrr"), Ref("cust_end")), note="MRR per paying customer"),
        Item("net_upsell", "Net upsell MRR", KPI("KPI_NET_UPSELL", PREV_COL, NOW_COL),
             note="expansion − contraction of staying customers"),
        *recurring_items(),
    ), note_header="How"))
    blocks.append(_customers_list(S, 20))
    blocks.append(ItemList(S, 29, 0, "Churn and retention", (
        Item("logo_churn", "Customer churn", KPI("KPI_CHURN_CUSTOMERS", PREV_COL, NOW_COL), PCT2,
             note="share of last month's payers not paying now"),
        *churn_noise_items(),
        Item("churn_12m", "Customer churn, 12-month average",
             KPI("KPI_CHURN_RATE", BlockCol("trend", "cust_churned"), BlockCol("trend", "cust_start")), PCT2,
             note="churned ÷ customers at start, summed over the trend months"),
        Item("revenue_churn", "Gross MRR churn", KPI("KPI_CHURN_REVENUE", PREV_COL, NOW_COL),
             note="(churned + contraction) ÷ starting MRR"),
        Item("net_revenue_churn", "Net MRR churn", KPI("KPI_CHURN_REVENUE", PREV_COL, NOW_COL, True),
             note="minus expansion; negative is good"),
        Item("retention", "Customer retention",
             KPI("KPI_RETENTION_RATE", Ref("cust_start"), Ref("cust_end"), Ref("cust_new") + Ref("cust_react")),
             PCT2, note="(end − new − reactivated) ÷ start"),
        Item("nrr", "Net revenue retention", KPI("KPI_NRR", PREV_COL, NOW_COL)),
        Item("grr", "Gross revenue retention", KPI("KPI_GRR", PREV_COL, NOW_COL)),
        Item("expansion_rate", "Expansion rate", KPI("KPI_EXPANSION_RATE", PREV_COL, NOW_COL)),
        Item("expansion_growth", "Expansion MRR growth",
             KPI("KPI_EXPANSION_MRR_GROWTH", mov_at(PREV, "expansion"), mov_at(RM, "expansion")),
             note="expansion MRR on the previous month's"),
        Item("quick_ratio", "Quick ratio", KPI("KPI_QUICK_RATIO", PREV_COL, NOW_COL),
             note="(new + expansion) ÷ (churned + contraction)"),
        Item("upsell_rate", "Upsell rate", KPI("KPI_UPSELL_RATE", PREV_COL, NOW_COL),
             note="share of payers whose MRR rose"),
        *renewal_items(),
    ), note_header="How"))
    blocks.append(ItemList(S, 49, 0, "Unit economics", (
        Item("spend", "Marketing spend", _sum_month("marketing", "spend"), MONEY),
        Item("sm_cost", "Sales and marketing cost", Ref("spend") + _sum_month("costs", "sales_cost"), MONEY,
             note="marketing spend + sales cost of the month"),
        Item("cogs", "Cost of revenue", _sum_month("costs", "cogs"), MONEY),
        Item("gross_margin", "Gross margin", KPI("KPI_MARGIN", PERIOD_REVENUE, Ref("cogs")), note="on the month's MRR"),
        Item("paid_cac", "Paid CAC", KPI("KPI_CAC", Ref("spend"), Ref("cust_new")),
             note="marketing spend ÷ new customers"),
        Item("cac", "Fully loaded CAC", KPI("KPI_CAC", Ref("sm_cost"), Ref("cust_new")),
             note="(marketing spend + sales cost) ÷ new customers"),
        Item("clv", "Customer lifetime value", KPI("KPI_CLV", Ref("arpa"), _monthly_rate(Ref("churn_12m")), Ref("gross_margin")),
             note="ARPA × margin ÷ 12-month average churn"),
        Item("ltv_cac", "LTV : fully loaded CAC", KPI("KPI_LTV_CAC", Ref("clv"), Ref("cac"))),
        Item("payback", "Fully loaded CAC payback", KPI("KPI_CAC_PAYBACK", Ref("cac"), Ref("arpa"),
                                                        Ref("gross_margin"))),
    ), note_header="How"))
    # each headline KPI with its change on the previous period and a sparkline of the trend table
    blocks = [with_trends(b) if isinstance(b, ItemList) and b.sheet == S and b.title else b for b in blocks]
    # the MRR bridge of the report month (the chart draws it from the chart sheet) and the trend
    v = {k: Ref(f"br_{k}") for k in ("start", "new", "exp", "react", "contr", "churn", "end")}
    D = "Details"
    blocks += [Text(D, 0, 0, "Details behind the dashboard", "title"),
               Text(D, 1, 0, "The MRR bridge of the report month and the last 12 months, looked up in the "
                             "Movements table by month.", "subtitle")]
    blocks.append(ItemList(D, 3, 0, "MRR bridge of the report month", (
        Item("br_start", "Starting MRR", mov_at(RM, "starting MRR"), MONEY),
        Item("br_new", "New", mov_at(RM, "new"), MONEY),
        Item("br_exp", "Expansion", mov_at(RM, "expansion"), MONEY),
        Item("br_react", "Reactivation", mov_at(RM, "reactivation"), MONEY),
        Item("br_contr", "Contraction", mov_at(RM, "contraction"), MONEY),
        Item("br_churn", "Churned", mov_at(RM, "churned"), MONEY),
        Item("br_end", "Ending MRR", mov_at(RM, "ending MRR"), MONEY),
    ), value_header="MRR", name="bridge", label_header="Movement"))
    blocks.append(_trend("trend", D, 14, 0, "Last 12 months", extra=trend_columns()))
    blocks += churn_noise_blocks(D, 31)
    blocks += engine
    charts = (
        Chart(S, "G5", "column", "MRR, last 12 months", (
            Series("Ending MRR", BlockCol("trend", "mrr"), BlockCol("trend", "month"), BLUE),
        ), width=620, height=270, y_format=MONEY, x_format="mmm yy", legend="none"),
        Chart(S, "G20", "stacked", "MRR movements", (
            Series("New", BlockCol("trend", "new"), BlockCol("trend", "month"), GREEN),
            Series("Expansion", BlockCol("trend", "expansion"), BlockCol("trend", "month"), TEAL),
            Series("Reactivation", BlockCol("trend", "reactivation"), BlockCol("trend", "month"), "#86EFAC"),
            Series("Contraction", BlockCol("trend", "contraction"), BlockCol("trend", "month"), AMBER),
            Series("Churned", BlockCol("trend", "churned"), BlockCol("trend", "month"), RED),
        ), width=620, height=270, y_format=MONEY, x_format="mmm yy"),
        # the movements as their own bars from 0, each labelled: a change of 60 on 17,000 stays readable
        # (on a bridge from starting to ending MRR it is a hairline, on an axis from 0 nothing at all)
        Chart(S, "G35", "column", "MRR bridge, report month: from starting to ending MRR", (
            Series("Change", (v["new"], v["exp"], v["react"], -v["contr"], -v["churn"], v["end"] - v["start"]),
                   ("New", "Expansion", "Reactivation", "Contraction", "Churned", "Net change"),
                   point_colors=(GREEN, GREEN, GREEN, RED, RED, BLUE), labels=True, label_format='+#,##0;-#,##0;0'),
        ), width=620, height=270, y_format=MONEY, legend="none"),
    )
    sheets = [SheetSpec(S, "report", widths=((0, 32), (1, 14), (2, 10), (3, 12), (4, 40), (5, 2))
                        + tuple((i, 11) for i in range(6, 16)), print_area="A1:P60", fit_height=1, tab_color=BLUE),
              _details_sheet()]
    sheets += _input_sheets(ds) + calc_sheets + [SheetSpec("Notes", "notes", landscape=True)]
    blocks, sheets = with_channels(blocks, sheets)
    return ReportSpec("saas_dashboard", "SaaS subscription dashboard",
                      "MRR, ARR, the MRR bridge, growth, churn, NRR/GRR, quick ratio, ARPA, CLV, paid and fully loaded CAC, "
                      "LTV:CAC and payback.", ds, tuple(sheets), tuple(blocks), charts,
                      headline=("mrr", "logo_churn", "nrr", "paid_cac", "cac"), cost=3,
                      optional=(("orders", NO_ORDERS),))


# --------------------------------------------------------------------------
# 2. Retention and cohorts
# --------------------------------------------------------------------------
def _retention() -> ReportSpec:
    S = "Retention"
    ds = ("subscriptions", "customers", "orders", "activity", "tickets", "nps_responses")
    engine, calc_sheets = _mrr_engine(customers_table=False)
    blocks: list = _head(S, "Retention and cohorts",
                         "How long customers stay and how much they use and buy: retention, cohorts, survival, "
                         "repeat purchases and stickiness.")
    blocks.append(_params(S))
    blocks.append(ItemList(S, 8, 0, "Retention", (
        Item("retention", "Customer retention, report month",
             KPI("KPI_RETENTION_RATE", mov_at(RM, "customers at start"), mov_at(RM, "customers at end"),
                 mov_at(RM, "new customers") + mov_at(RM, "reactivated")), PCT2,
             note="(end − new − reactivated) ÷ start"),
        Item("retention_12m", "Customer retention, 12-month average",
             KPI("KPI_RETENTION_RATE", BlockCol("rtrend", "cust_start"), BlockCol("rtrend", "cust_end"),
                 BlockCol("rtrend", "cust_new")), PCT2, note="the same sums over the trend months"),
        Item("churn", "Customer churn, report month",
             KPI("KPI_CHURN_RATE", mov_at(RM, "churned customers"), mov_at(RM, "customers at start")), PCT2),
        *_annual_items(BlockCol("life", "year_ago"), BlockCol("life", "mrr_now")),
        Item("m12", "Month-12 retention, cohort of a year ago",
             IfError(Lookup2D(EDate(RM, -12), SpillCol("cohorts", "cohort"), "cohorts", "month 12"), "n/a"),
             PCT, note="from the cohort table"),
        Item("repeat", "Repeat purchase rate", KPI("KPI_REPEAT_PURCHASE_RATE", Col("orders", "customer_id")),
             note="customers with 2+ orders ÷ customers who ordered"),
        *repeat_window_items(),
        Item("cross_sell", "Cross-sell rate",
             KPI("KPI_CROSS_SELL_RATE", Col("orders", "customer_id"), Col("orders", "product")),
             note="customers with 2+ different products"),
        Item("stickiness", "Stickiness (DAU/MAU)",
             KPI("KPI_STICKINESS", Col("activity", "user_id"), Col("activity", "date"), RM),
             note="average daily ÷ monthly active users"),
    ), note_header="How"))
    m = RowRef("month")
    D = "Details"
    blocks += [Text(D, 0, 0, "Details behind the retention report", "title"),
               Text(D, 1, 0, "Retention and churn by month (from the Movements table) and the survival "
                             "table.", "subtitle")]
    blocks.append(_trend("rtrend", D, 3, 0, "Retention by month", extra=(
        RowColumn("retention", "Retention",
                  KPI("KPI_RETENTION_RATE", RowRef("cust_start"), RowRef("cust_end"), RowRef("cust_new")), PCT),
        RowColumn("churn", "Churn", KPI("KPI_CHURN_RATE", RowRef("cust_churned"), RowRef("cust_start")), PCT),
    )))
    blocks.append(RowTable("stick", S, 22, 0, "Stickiness by month", Months(6, follow_period=False), (
        RowColumn("month", "Month", "KEY", MONTH),
        RowColumn("stickiness", "DAU/MAU",
                  KPI("KPI_STICKINESS", Col("activity", "user_id"), Col("activity", "date"), m), PCT),
    )))
    blocks.append(Text(D, 18, 0, "Customer survival (Kaplan–Meier), months as a paying customer", "section"))
    blocks.append(models.survival_spill(D, 19))
    blocks += models.lifetime_blocks(S, 31) + models.repeat_buyer_blocks()
    # cohorts
    blocks += [Text("Cohorts", 0, 0, "Logo retention by signup cohort", "title"),
               Text("Cohorts", 1, 0, "Share of each cohort's customers still paying n months after their first "
                                     "paying month (KPI_COHORT_RETENTION, basis \"logo\").", "subtitle"),
               Spill("cohorts", "Cohorts", 3, 0, KPI("KPI_COHORT_RETENTION", SpillAll("mrr"), "logo", 13),
                     col_formats=(("cohort", MONTH), ("size", COUNT), ("month*", "0%")), heatmap=True),
               Text("Revenue cohorts", 0, 0, "Revenue retention by signup cohort", "title"),
               Text("Revenue cohorts", 1, 0, "Each cohort's MRR n months on relative to its first month "
                                             "(basis \"revenue\"; above 100 % the cohort grew).", "subtitle"),
               Spill("rcohorts", "Revenue cohorts", 3, 0, KPI("KPI_COHORT_RETENTION", SpillAll("mrr"), "revenue", 13),
                     col_formats=(("cohort", MONTH), ("size", COUNT), ("month*", "0%")), heatmap=True)]
    # lifetimes per customer (durations and churn flags for the survival curve)
    cust_m = (SpillCol("mrr", "customer"), RowRef("customer"))
    blocks += _calc_head("Lifetimes", "Months as a paying customer",
                         "Per customer: months with MRR, and whether they had stopped paying by the report month "
                         "(1 = churned, 0 = still paying, censored).")
    blocks.append(RowTable("life", "Lifetimes", 3, 0, "", Distinct(SpillCol("mrr", "customer")), (
        RowColumn("customer", "customer_id", "KEY"),
        RowColumn("months", "Months paying", SumWhere(None, cust_m), COUNT),
        RowColumn("now", "Paying in report month", SumWhere(None, cust_m, (SpillCol("mrr", "month"), RM)), COUNT),
        RowColumn("churned", "Churned", If(Op(">", RowRef("now"), Const(0)), 0, 1), "0"),
        RowColumn("year_ago", "MRR 12 months before",
                  SumWhere(SpillCol("mrr", "MRR"), cust_m, (SpillCol("mrr", "month"), EDate(RM, -12))), MONEY_CENTS),
        RowColumn("mrr_now", "MRR report month", SumWhere(SpillCol("mrr", "MRR"), cust_m, (SpillCol("mrr", "month"), RM)),
                  MONEY_CENTS),
    )))
    blocks += engine + health_blocks() + cohort_fit_blocks()
    charts = (
        # retention only: churn is its complement (100 % − retention), a second line on a second axis would
        # only mirror it
        Chart(S, "E5", "line", "Customer retention by month (churn = 100 % − retention)", (
            Series("Retention", BlockCol("rtrend", "retention"), BlockCol("rtrend", "month"), BLUE),
        ), width=620, height=290, y_format="0%", x_format="mmm yy", legend="none"),
        models.survival_chart(S, "E21"),
        Chart(S, "E37", "column", "Stickiness (DAU/MAU)", (
            Series("DAU/MAU", BlockCol("stick", "stickiness"), BlockCol("stick", "month"), TEAL, labels=True,
                   label_format=PCT),
        ), width=620, height=260, y_format="0%", x_format="mmm yy", legend="none", y_min=0),
    ) + cohort_fit_charts()
    sheets = [SheetSpec(S, "report", widths=((0, 34), (1, 14), (2, 40), (3, 2)) + tuple((i, 11) for i in range(4, 14)),
                        print_area="A1:N50", fit_height=1, tab_color=BLUE),
              SheetSpec("Cohorts", "report", widths=((0, 11), (1, 7)) + tuple((i, 8) for i in range(2, 17)),
                        fit_height=1, tab_color=BLUE), *cohort_fit_sheets(),
              SheetSpec("Revenue cohorts", "report", widths=((0, 11), (1, 7)) + tuple((i, 8) for i in range(2, 17)),
                        fit_height=1, tab_color=BLUE),
              health_sheet(), models.repeat_buyer_sheets()[0], _details_sheet()]
    sheets += _input_sheets(ds) + calc_sheets
    sheets += [_calc_sheet("Lifetimes", "lifetimes", widths=((0, 16), (1, 14), (2, 22), (3, 10), (4, 20), (5, 20)),
                              hidden=True),
               models.repeat_buyer_sheets()[1], SheetSpec("Notes", "notes")]
    return ReportSpec("retention_cohorts", "Retention and cohorts",
                      "Logo and revenue cohort triangles, retention and churn by month, the survival curve, "
                      "repeat purchases, cross-sell, stickiness and customer health.", ds, tuple(sheets), tuple(blocks), charts,
                      headline=("retention", "stickiness"), cost=4, about=HEALTH_ABOUT + models.MODELS_ABOUT,
                      optional=(("orders", models.NO_ORDERS_RETENTION),))


# --------------------------------------------------------------------------
# 3. Marketing funnel
# --------------------------------------------------------------------------
def _marketing() -> ReportSpec:
    S = "Funnel"
    ds = ("marketing", "leads")
    blocks: list = _head(S, "Marketing funnel",
                         "Spend, funnel stages and acquisition efficiency by channel and month.")
    blocks.append(_params(S))
    sm = lambda col, month=RM: _sum_month("marketing", col, month)
    blocks.append(ItemList(S, 8, 0, "Funnel, report month", (
        Item("f_visitors", "Visitors", sm("visitors"), COUNT),
        Item("f_leads", "Leads", sm("leads"), COUNT),
        Item("f_mql", "MQL", sm("mql"), COUNT),
        Item("f_sql", "SQL", sm("sql"), COUNT),
        Item("f_customers", "Customers", sm("customers"), COUNT),
    ), value_header="Count", name="funnel", label_header="Stage"))
    blocks.append(ItemList(S, 16, 0, "Efficiency, report month", (
        Item("spend", "Spend", sm("spend"), MONEY),
        Item("revenue", "Attributed revenue (first-year value)", sm("revenue"), MONEY),
        Item("c_v2l", "Visitor → lead", KPI("KPI_CONVERSION_RATE", Ref("f_leads"), Ref("f_visitors"))),
        Item("c_l2m", "Lead → MQL", KPI("KPI_CONVERSION_RATE", Ref("f_mql"), Ref("f_leads"))),
        Item("c_m2s", "MQL → SQL", KPI("KPI_CONVERSION_RATE", Ref("f_sql"), Ref("f_mql"))),
        Item("c_s2c", "SQL → customer", KPI("KPI_CONVERSION_RATE", Ref("f_customers"), Ref("f_sql"))),
        Item("c_v2c", "Visitor → customer", KPI("KPI_CONVERSION_RATE", Ref("f_customers"), Ref("f_visitors")),
             "0.00%"),
        Item("cpa", "Cost per lead (CPA)", KPI("KPI_CPA", Ref("spend"), Ref("f_leads"))),
        Item("cac", "Paid CAC (marketing spend ÷ new customers)", KPI("KPI_CAC", Ref("spend"), Ref("f_customers"))),
        Item("cac_pct", "CAC % (spend ÷ revenue)", KPI("KPI_CAC_PCT", Ref("spend"), Ref("revenue"))),
        Item("roas", "ROAS (revenue ÷ spend)", KPI("KPI_ROAS", Ref("revenue"), Ref("spend"))),
        Item("roi", "ROI ((revenue − spend) ÷ spend)", KPI("KPI_ROI", Ref("revenue"), Ref("spend"))),
        Item("conv_value", "Conversion value (revenue per lead)", KPI("KPI_CONVERSION_VALUE", Ref("revenue"),
                                                                       Ref("f_leads"))),
        Item("roi_cpa", "ROI from CPA ((conversion value − CPA) ÷ CPA)",
             KPI("KPI_ROI_CPA", Ref("conv_value"), Ref("cpa"))),
    )))
    # channels over the last three months (a single month is too few customers per channel); in a report of a
    # quarter or a year, over the period
    ch = RowRef("channel")

    def q(col):
        three = sum((_sum_month("marketing", col, EDate(RM, -k), months=1, channel=ch) for k in (1, 2)),
                    _sum_month("marketing", col, RM, months=1, channel=ch))
        return ByGrain(three, _sum_month("marketing", col, RM, channel=ch))
    blocks.append(RowTable("channels", S, 36, 0, "Channels, report month and the two before",
                           Distinct(Col("marketing", "channel")), (
        RowColumn("channel", "Channel", "KEY"),
        RowColumn("spend", "Spend", q("spend"), MONEY),
        RowColumn("visitors", "Visitors", q("visitors"), COUNT),
        RowColumn("leads", "Leads", q("leads"), COUNT),
        RowColumn("mql", "MQL", q("mql"), COUNT),
        RowColumn("sql", "SQL", q("sql"), COUNT),
        RowColumn("customers", "Customers", q("customers"), COUNT),
        RowColumn("revenue", "Revenue", q("revenue"), MONEY),
        RowColumn("conv", "Visitor → customer",
                  KPI("KPI_CONVERSION_RATE", RowRef("customers"), RowRef("visitors")), "0.00%"),
        RowColumn("cpa", "CPA", KPI("KPI_CPA", RowRef("spend"), RowRef("leads")), MONEY_CENTS),
        RowColumn("cac", "Paid CAC", KPI("KPI_CAC", RowRef("spend"), RowRef("customers")), MONEY),
        RowColumn("cac_pct", "CAC %", KPI("KPI_CAC_PCT", RowRef("spend"), RowRef("revenue")), PCT),
        RowColumn("roas", "ROAS", KPI("KPI_ROAS", RowRef("revenue"), RowRef("spend")), '0.00"×"'),
        RowColumn("roi", "ROI", KPI("KPI_ROI", RowRef("revenue"), RowRef("spend")), PCT),
    ), bars_cols=("customers",)))
    blocks.append(RowTable("followers", S, 45, 0, "Audience growth",
                           Distinct(Col("marketing", "channel"), where=Col("marketing", "followers")), (
        RowColumn("channel", "Channel", "KEY"),
        RowColumn("prev", "Previous month", _at_month("marketing", "followers", PREV, channel=ch), COUNT),
        RowColumn("now", "Report month", _at_month("marketing", "followers", RM, channel=ch), COUNT),
        RowColumn("growth", "Growth", KPI("KPI_GROWTH_RATE", RowRef("prev"), RowRef("now")), PCT),
    )))
    m = RowRef("month")
    blocks.append(RowTable("mtrend", S, 51, 0, "By month, all channels", Months(12), (
        RowColumn("month", "Month", "KEY", MONTH),
        RowColumn("spend", "Spend", _sum_month("marketing", "spend", m), MONEY),
        RowColumn("visitors", "Visitors", _sum_month("marketing", "visitors", m), COUNT),
        RowColumn("leads", "Leads", _sum_month("marketing", "leads", m), COUNT),
        RowColumn("customers", "Customers", _sum_month("marketing", "customers", m), COUNT),
        RowColumn("revenue", "Revenue", _sum_month("marketing", "revenue", m), MONEY),
        RowColumn("conv", "Visitor → customer",
                  KPI("KPI_CONVERSION_RATE", RowRef("customers"), RowRef("visitors")), "0.00%"),
        RowColumn("cac", "Paid CAC", KPI("KPI_CAC", RowRef("spend"), RowRef("customers")), MONEY),
        RowColumn("roas", "ROAS", KPI("KPI_ROAS", RowRef("revenue"), RowRef("spend")), '0.00"×"'),
    )))
    charts = (
        Chart(S, "D9", "bar", "Funnel, report month (log scale)", (
            Series("Count", ListCol("funnel", "value"), ListCol("funnel", "label"), BLUE, labels=True),
        ), width=560, height=250, y_format=COUNT, legend="none", reverse_categories=True, y_log=True),
        Chart(S, "D22", "column", "Spend and attributed revenue by month", (
            Series("Spend", BlockCol("mtrend", "spend"), BlockCol("mtrend", "month"), GREY),
            Series("Revenue", BlockCol("mtrend", "revenue"), BlockCol("mtrend", "month"), BLUE),
        ), width=560, height=250, y_format=MONEY, x_format="mmm yy"),
        Chart(S, "K9", "line", "Paid CAC by month", (
            Series("Paid CAC", BlockCol("mtrend", "cac"), BlockCol("mtrend", "month"), RED),
        ), width=420, height=250, y_format=MONEY, x_format="mmm yy", legend="none"),
        Chart(S, "K22", "column", "New customers by channel (3 months)", (
            Series("Customers", BlockCol("channels", "customers"), BlockCol("channels", "channel"), TEAL,
                   labels=True),
        ), width=420, height=250, y_format=COUNT, legend="none"),
    ) + leadtime_charts(S)
    blocks += leadtime_blocks(S)  # lead time from the leads data set, under the monthly table
    widths = ((0, 30), (1, 12)) + tuple((i, 11) for i in range(2, 18))
    sheets = [SheetSpec(S, "report", widths=widths, print_area="A1:Q84", fit_height=1, tab_color=BLUE)]
    sheets += _input_sheets(ds) + [SheetSpec("Notes", "notes")]
    return ReportSpec("marketing_funnel", "Marketing funnel",
                      "Per channel and month: spend, visitors, leads, MQL, SQL, customers, conversion rates, CPA, "
                      "paid CAC (marketing spend only), CAC %, ROAS, ROI, audience growth and lead time.", ds,
                      tuple(sheets), tuple(blocks), charts, headline=("cac", "roas"), cost=1, about=LEADTIME_ABOUT)


# --------------------------------------------------------------------------
# 4. Customer experience
# --------------------------------------------------------------------------
def _experience() -> ReportSpec:
    S = "Experience"
    ds = ("nps_responses", "csat_responses", "tickets")
    blocks: list = _head(S, "Customer experience",
                         "What customers say (NPS, CSAT) and how fast support answers and resolves.")
    blocks.append(_params(S))

    def in_month(dataset, col, month=RM):
        return InMonth(Col(dataset, col), month)

    nps_m = lambda month=RM: Filter(Col("nps_responses", "score"), in_month("nps_responses", "date", month))
    csat_m = lambda month=RM: Filter(Col("csat_responses", "score"), in_month("csat_responses", "date", month))

    def dur(end_col, stat, month=RM, hours=None):
        cond = in_month("tickets", "created_at", month)
        return KPI("KPI_AVG_DURATION", Filter(Col("tickets", "created_at"), cond),
                   Filter(Col("tickets", end_col), cond), "hours", stat, hours)

    blocks.append(ItemList(S, 8, 0, "Report month", (
        Item("nps", "NPS (promoters % − detractors %)", KPI("KPI_NPS", nps_m())),
        Item("nps_moe", "NPS margin of error, 95 % (± points)", KPI("KPI_NPS_MOE", nps_m())),
        Item("nps_n", "NPS responses", CountInMonth(Col("nps_responses", "date"), RM), COUNT),
        Item("csat", "CSAT (share of 4–5 on a 1–5 scale)", KPI("KPI_CSAT", csat_m())),
        Item("csat_n", "CSAT responses", CountInMonth(Col("csat_responses", "date"), RM), COUNT),
        Item("tickets_n", "Tickets opened", CountInMonth(Col("tickets", "created_at"), RM), COUNT),
        Item("frt_median", "First response time, median", dur("first_response_at", "median")),
        Item("frt_bh", "First response, working hours only, mean", dur("first_response_at", "mean",
                                                                     hours="09:00-17:00")),
        Item("res_median", "Resolution time, median", dur("resolved_at", "median")),
        Item("res_p90", "Resolution time, 90th percentile", dur("resolved_at", "p90")),
    )))
    blocks.append(Text(S, 21, 0, "NPS breakdown, report month", "section"))
    blocks.append(Spill("nps_breakdown", S, 22, 0, KPI("KPI_NPS_BREAKDOWN", nps_m()),
                        row_formats=(("promoters", COUNT), ("passives", COUNT), ("detractors", COUNT),
                                     ("promoters %", PCT), ("passives %", PCT), ("detractors %", PCT),
                                     ("responses", COUNT), ("NPS", "0.0"), ("margin of error", "0.0")),
                        headers=(("label", "Measure"), ("value", "Value"))))
    m = RowRef("month")
    blocks.append(RowTable("xtrend", S, 36, 0, "By month", Months(12), (
        RowColumn("month", "Month", "KEY", MONTH),
        RowColumn("nps", "NPS", KPI("KPI_NPS", nps_m(m)), "0.0"),
        RowColumn("nps_n", "Responses", CountInMonth(Col("nps_responses", "date"), m), COUNT),
        RowColumn("csat", "CSAT", KPI("KPI_CSAT", csat_m(m)), PCT),
        RowColumn("tickets", "Tickets", CountInMonth(Col("tickets", "created_at"), m), COUNT),
        RowColumn("frt", "First response, median", dur("first_response_at", "median", m), HOURS),
        RowColumn("res", "Resolution, median", dur("resolved_at", "median", m), HOURS),
    ), heatmap_cols=("nps",)))
    charts = (
        Chart(S, "D9", "line", "NPS by month", (
            Series("NPS", BlockCol("xtrend", "nps"), BlockCol("xtrend", "month"), BLUE),
        ), width=560, height=260, y_format="0", x_format="mmm yy", legend="none"),
        Chart(S, "D23", "line", "CSAT by month", (
            Series("CSAT", BlockCol("xtrend", "csat"), BlockCol("xtrend", "month"), TEAL),
        ), width=560, height=230, y_format="0%", x_format="mmm yy", legend="none"),
        # two charts, each on its own axis from 0: first response (about 1 h) and resolution (about 12 h) on
        # two axes of one chart drew two lines that looked the same
        Chart(S, "K9", "line", "First response time by month (median hours)", (
            Series("First response", BlockCol("xtrend", "frt"), BlockCol("xtrend", "month"), AMBER),
        ), width=480, height=260, y_format="0.0", x_format="mmm yy", legend="none", y_min=0),
        Chart(S, "K23", "line", "Resolution time by month (median hours)", (
            Series("Resolution", BlockCol("xtrend", "res"), BlockCol("xtrend", "month"), NAVY),
        ), width=480, height=230, y_format="0", x_format="mmm yy", legend="none", y_min=0),
    )
    widths = ((0, 38), (1, 13)) + tuple((i, 11) for i in range(2, 20))
    sheets = [SheetSpec(S, "report", widths=widths, print_area="A1:Q50", fit_height=1, tab_color=BLUE)]
    sheets += _input_sheets(ds) + [SheetSpec("Notes", "notes")]
    return ReportSpec("customer_experience", "Customer experience",
                      "NPS with its breakdown and margin of error, CSAT, first-response and resolution times, and "
                      "their monthly trends.", ds, tuple(sheets), tuple(blocks), charts,
                      headline=("nps", "csat"), cost=2)


# --------------------------------------------------------------------------
# 5. Executive overview
# --------------------------------------------------------------------------
#: The benchmarks of the source articles (article 004 of the sources, on customer retention): monthly churn 3–8 %
#: and retention 92–97 %; annual churn 32–50 % and retention 50–68 %. A month's KPIs are set against the monthly
#: ones, a year's against the annual ones; a quarter's against the monthly ones compounded over three months
#: (churn 1 − (1 − m)³, retention r³), since the articles give none for a quarter.
CHURN_BENCHMARK = (PerGrain(0.03, 1 - 0.97 ** 3, 0.32), PerGrain(0.08, 1 - 0.92 ** 3, 0.50))
RETENTION_BENCHMARK = (PerGrain(0.92, 0.92 ** 3, 0.50), PerGrain(0.97, 0.97 ** 3, 0.68))
ANNUAL_CHURN_BENCHMARK = (0.32, 0.50)
ANNUAL_RETENTION_BENCHMARK = (0.50, 0.68)
#: (worded for a quarter or a year by :mod:`.build.periodise`)
CHURN_CHART_TITLE = "Monthly customer churn against the 3–8 % benchmark"


def _compound_loss(monthly: float) -> PerGrain:
    """A monthly target of a loss rate (churn) over a quarter or a year: 1 − (1 − m)^n."""
    return PerGrain(monthly, 1 - (1 - monthly) ** 3, 1 - (1 - monthly) ** 12)


def _compound_keep(monthly: float) -> PerGrain:
    """A monthly target of a kept share (retention, GRR) over a quarter or a year: r^n."""
    return PerGrain(monthly, monthly ** 3, monthly ** 12)


def _compound_growth(monthly: float) -> PerGrain:
    """A monthly growth target over a quarter or a year: (1 + g)^n − 1."""
    return PerGrain(monthly, (1 + monthly) ** 3 - 1, (1 + monthly) ** 12 - 1)


#: the colour of a status text of :func:`_status` and :func:`_bench`, by the text it begins with
STATUS_TONES = (("On target", "good"), ("Better than", "good"), ("Within", "good"),
                ("Off target", "bad"), ("Worse than", "bad"), ("n/a", "warn"))


def _status(value: str, target: str, higher_better: bool) -> Fn:
    v, t = Ref(value), Ref(target)
    ok = Op(">=", v, t) if higher_better else Op("<=", v, t)
    return If(Fn("ISNUMBER", v), If(Fn("ISNUMBER", t), If(ok, "On target", "Off target"), "No target set"), "n/a")


def _bench(value: str, low: str, high: str, higher_better: bool) -> Fn:
    v, lo, hi = Ref(value), Ref(low), Ref(high)
    better, worse = ("Better than benchmark", "Worse than benchmark")
    if higher_better:
        inner = If(Op(">", v, hi), better, If(Op("<", v, lo), worse, "Within benchmark"))
    else:
        inner = If(Op("<", v, lo), better, If(Op(">", v, hi), worse, "Within benchmark"))
    return If(Fn("ISNUMBER", v), inner, "n/a")


def _executive() -> ReportSpec:
    S = "Overview"
    ds = ("subscriptions", "customers", "marketing", "costs", "nps_responses", "csat_responses", "activity")
    engine, calc_sheets = _mrr_engine()
    blocks: list = _head(S, "Executive overview",
                         "The headline KPIs of the report month against targets and the industry benchmarks.")
    blocks.append(_params(S))

    def row(name, label, expr, target=None, higher=True, bench=None, fmt=None, note=""):
        extra = [None, "—", None, None, "—"]
        if target is not None:
            extra[0] = target
            extra[1] = _status(name, f"{name}.0", higher)
        if bench is not None:
            extra[2], extra[3] = bench
            extra[4] = _bench(name, f"{name}.2", f"{name}.3", higher)
        return Item(name, label, expr, fmt, note, extra=tuple(extra))

    nps_m = Filter(Col("nps_responses", "score"), InMonth(Col("nps_responses", "date"), RM))
    csat_m = Filter(Col("csat_responses", "score"), InMonth(Col("csat_responses", "date"), RM))
    items = (
        row("mrr", "MRR", KPI("KPI_MRR", NOW_COL)),
        row("arr", "ARR", KPI("KPI_ARR", Ref("mrr"))),
        row("mrr_growth", "MRR growth, month on month", KPI("KPI_GROWTH_RATE", PREV_COL, NOW_COL),
            target=_compound_growth(0.03)),
        row("churn", "Customer churn, monthly",
            KPI("KPI_CHURN_RATE", mov_at(RM, "churned customers"), mov_at(RM, "customers at start")),
            target=_compound_loss(0.035), higher=False, bench=CHURN_BENCHMARK, fmt=PCT2),
        # how sure the churn is, and whether its change on last month is more than noise
        *(row(it.name, it.label, it.expr, fmt=it.fmt) for it in churn_noise_items()),
        row("retention", "Customer retention, monthly",
            KPI("KPI_RETENTION_RATE", mov_at(RM, "customers at start"), mov_at(RM, "customers at end"),
                mov_at(RM, "new customers") + mov_at(RM, "reactivated")),
            target=_compound_keep(0.96), bench=RETENTION_BENCHMARK, fmt=PCT2),
        # (no notes: the Notes sheet defines them, and a note here would run under the charts)
        *(row(it.name, it.label, it.expr, target=target, higher=higher, bench=bench, fmt=it.fmt)
          for it, target, higher, bench in zip(_annual_items(BlockCol("cust", "year_ago"), NOW_COL),
                                               (1 - 0.965 ** 12, 0.96 ** 12), (False, True),
                                               (ANNUAL_CHURN_BENCHMARK, ANNUAL_RETENTION_BENCHMARK))),
        row("revenue_churn", "Gross MRR churn", KPI("KPI_CHURN_REVENUE", PREV_COL, NOW_COL),
            target=_compound_loss(0.025), higher=False),
        row("nrr", "Net revenue retention, monthly", KPI("KPI_NRR", PREV_COL, NOW_COL), target=1.0),
        row("grr", "Gross revenue retention, monthly", KPI("KPI_GRR", PREV_COL, NOW_COL), target=_compound_keep(0.97)),
        row("quick_ratio", "Quick ratio", KPI("KPI_QUICK_RATIO", PREV_COL, NOW_COL), target=4.0),
        row("cac", "Fully loaded CAC", KPI("KPI_CAC", Ref("sm_cost"), mov_at(RM, "new customers"))),
        row("ltv_cac", "LTV : fully loaded CAC", KPI("KPI_LTV_CAC", Ref("clv"), Ref("cac")), target=3.0),
        row("payback", "Fully loaded CAC payback", KPI("KPI_CAC_PAYBACK", Ref("cac"), Ref("arpa"), Ref("gross_margin")),
            target=12.0, higher=False),
        row("nps", "NPS", KPI("KPI_NPS", nps_m), target=30.0),
        row("csat", "CSAT", KPI("KPI_CSAT", csat_m), target=0.8),
        row("stickiness", "Stickiness (DAU/MAU)",
            KPI("KPI_STICKINESS", Col("activity", "user_id"), Col("activity", "date"), RM), target=0.15),
    )
    blocks.append(with_trends(ItemList(S, 8, 0, "Headline KPIs", items,
                                       extra_headers=("Target", "vs target", "Benchmark low", "Benchmark high",
                                                      "vs benchmark"),
                                       extra_formats=(None, None, PCT, PCT, None), status_cols=(1, 4),
                                       extra_like_value=(0,), status_tones=STATUS_TONES), "etrend"))
    blocks.append(ItemList(S, 32, 0, "Inputs of the unit economics", (
        Item("sm_cost", "Sales and marketing cost",
             _sum_month("marketing", "spend") + _sum_month("costs", "sales_cost"), MONEY),
        Item("cogs", "Cost of revenue", _sum_month("costs", "cogs"), MONEY),
        Item("gross_margin", "Gross margin", KPI("KPI_MARGIN", PERIOD_REVENUE, Ref("cogs"))),
        Item("paid_cac", "Paid CAC (marketing spend ÷ new customers)",
             KPI("KPI_CAC", _sum_month("marketing", "spend"), mov_at(RM, "new customers"))),
        Item("arpa", "ARPA", KPI("KPI_ARPU", Ref("mrr"), mov_at(RM, "customers at end"))),
        Item("churn_12m", "Customer churn, 12-month average",
             KPI("KPI_CHURN_RATE", BlockCol("etrend", "cust_churned"), BlockCol("etrend", "cust_start"))),
        Item("clv", "Customer lifetime value", KPI("KPI_CLV", Ref("arpa"), _monthly_rate(Ref("churn_12m")), Ref("gross_margin"))),
    ), value_header="Value"))
    blocks += [Text("Details", 0, 0, "Details behind the overview", "title"),
               Text("Details", 1, 0, "The last 12 months of the Movements table and monthly churn.", "subtitle")]
    blocks.append(_trend("etrend", "Details", 3, 0, "Last 12 months", extra=(
        *trend_columns(), *survey_columns(),
        RowColumn("bench_low", "Benchmark low", Ref("churn.2"), PCT),
        RowColumn("bench_high", "Benchmark high", Ref("churn.3"), PCT),
    )))
    blocks += churn_noise_blocks("Details", 20, "etrend", mov_at(RM, "churned customers"),
                                 mov_at(RM, "customers at start"))
    blocks += engine
    charts = (
        Chart(S, "K22", "column", "MRR, last 12 months", (
            Series("Ending MRR", BlockCol("etrend", "mrr"), BlockCol("etrend", "month"), BLUE),
        ), width=470, height=230, y_format=MONEY, x_format="mmm yy", legend="none"),
        Chart(S, "K5", "line", CHURN_CHART_TITLE, (
            Series("Churn", BlockCol("etrend", "churn"), BlockCol("etrend", "month"), RED),
            Series("Benchmark low", BlockCol("etrend", "bench_low"), BlockCol("etrend", "month"), GREEN, dash="dash"),
            Series("Benchmark high", BlockCol("etrend", "bench_high"), BlockCol("etrend", "month"), AMBER,
                   dash="long_dash"),
        ), width=470, height=300, y_format="0%", x_format="mmm yy", y_min=0),
    )
    widths = ((0, 34), (1, 13), (2, 10), (3, 15), (4, 10), (5, 10), (6, 22), (7, 10), (8, 12), (9, 2), (10, 2)) + \
        tuple((i, 9) for i in range(11, 19))
    sheets = [SheetSpec(S, "report", widths=widths, print_area="A1:R40", fit_height=1, tab_color=BLUE),
              _details_sheet()]
    sheets += _input_sheets(ds) + calc_sheets + [SheetSpec("Notes", "notes")]
    return ReportSpec("executive_overview", "Executive overview",
                      "One page: headline KPIs against targets and the benchmarks of the source articles (monthly "
                      "churn 3–8 %, retention 92–97 %; annual churn 32–50 %, retention 50–68 %), with a status per "
                      "KPI.", ds, tuple(sheets), tuple(blocks), charts,
                      headline=("mrr", "churn", "nps"), cost=5)


REPORTS: dict[str, ReportSpec] = {r.key: r for r in (
    _saas_dashboard(), _retention(), _marketing(), _experience(), _executive())}


def get_report(key: str) -> ReportSpec:
    k = key.strip().lower().replace("-", "_")
    k = k.removesuffix(".xlsx")
    if k not in REPORTS:
        raise KeyError(f"no report template {key!r}; choose from {', '.join(REPORTS)}")
    return REPORTS[k]
