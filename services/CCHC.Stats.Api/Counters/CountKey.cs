namespace CCHC.Stats.Api.Counters;

/// <summary>
/// What one stored count is kept for: a scope (the site), a dimension and its key, and a period (kind and key). The
/// dimensions are the site itself (<see cref="SiteDimension"/>, key empty, counted by ten minutes, hour, day, week, month,
/// year and all time), its pages (<see cref="PageDimension"/>) and the sources of its visits
/// (<see cref="SourceDimension"/>), both counted by day, month, year and all time (<see cref="IsStoredByDay"/>).
/// </summary>
public readonly record struct CountKey(string Scope, string Dimension, string Key, PeriodKind Period, string PeriodKey)
{
    /// <summary>The site's own figures: what the counters show.</summary>
    public const string SiteDimension = "site";

    /// <summary>One page of the site (<see cref="Pages.PageIdentity"/>): its page views, and its baselines in all time.</summary>
    public const string PageDimension = "page";

    /// <summary>Where a visit came from (<see cref="Traffic.VisitSource"/>): its visits, counted in the periods of its first view.</summary>
    public const string SourceDimension = "source";

    /// <summary>
    /// The periods pages and sources are stored by: day, month, year and all time. Their week is the sum of its days (at
    /// most seven rows) and they have no hours: every stored row is work at every view, and a page's views are spread thin
    /// (a site of 5,000 articles touches nearly one new row per view and period). Measured: docs/BENCHMARKS.md.
    /// </summary>
    public static bool IsStoredByDay(PeriodKind period) => period is PeriodKind.Day or PeriodKind.Month or PeriodKind.Year or PeriodKind.Total;

    public static CountKey Site(string siteId, PeriodKind period, string periodKey) => new(siteId, SiteDimension, "", period, periodKey);

    public static CountKey Page(string siteId, string page, PeriodKind period, string periodKey) => new(siteId, PageDimension, page, period, periodKey);

    public static CountKey Source(string siteId, string source, PeriodKind period, string periodKey) => new(siteId, SourceDimension, source, period, periodKey);
}

/// <summary>
/// The figures of one <see cref="CountKey"/>, or a change to them. Counted figures come from views, baseline figures from
/// a legacy counter carried over; they are kept apart because a period's baseline is not the sum of its days'. Sums are
/// checked: no figure wraps.
/// </summary>
/// <param name="Visitors">Distinct visitors: kept for days and hours only.</param>
/// <param name="FirstVisitors">Visitors whose first view of the day falls in the period: kept for hours and ten minutes
/// only (an hour's are the day's visitors it adds, so a day's visitors up to an hour are a sum).</param>
public readonly record struct Counts(long PageViews = 0, long Visits = 0, long Visitors = 0, long BaselinePageViews = 0, long BaselineVisits = 0,
    long FirstVisitors = 0)
{
    public static Counts operator +(Counts a, Counts b) => new(
        checked(a.PageViews + b.PageViews),
        checked(a.Visits + b.Visits),
        checked(a.Visitors + b.Visitors),
        checked(a.BaselinePageViews + b.BaselinePageViews),
        checked(a.BaselineVisits + b.BaselineVisits),
        checked(a.FirstVisitors + b.FirstVisitors));

    /// <summary>Page views as a counter shows them: counted and carried over.</summary>
    public long ShownPageViews => checked(PageViews + BaselinePageViews);

    public long ShownVisits => checked(Visits + BaselineVisits);
}
