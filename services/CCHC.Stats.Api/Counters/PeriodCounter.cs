namespace CCHC.Stats.Api.Counters;

/// <summary>
/// The running figures of one site in one period (a day, ISO week, month, year, or all time), kept by
/// <see cref="CounterProjection"/>. Counted figures come from views; baseline figures from a legacy
/// counter carried over. They are kept apart because a period's baseline is not the sum of its days'.
/// </summary>
public sealed class PeriodCounter
{
    /// <summary>Marten's alias, hence the table <c>mt_doc_period_counter</c> that as-of reads sum over.</summary>
    public const string DocumentAlias = "period_counter";

    /// <summary><c>site/period/key</c>, e.g. <c>bacgiang/day/2026-11-29</c>.</summary>
    public string Id { get; set; } = "";

    public string SiteId { get; set; } = "";

    public PeriodKind Period { get; set; }

    public string Key { get; set; } = "";

    /// <summary>For day counters, the day (to sum days of a range in SQL); otherwise null.</summary>
    public DateOnly? Day { get; set; }

    public long PageViews { get; set; }

    public long Visits { get; set; }

    /// <summary>Distinct visitors; kept for days only.</summary>
    public long Visitors { get; set; }

    public long BaselinePageViews { get; set; }

    public long BaselineVisits { get; set; }

    public static string IdFor(string siteId, PeriodKind period, string key) => $"{siteId}/{period.ToString().ToLowerInvariant()}/{key}";

    /// <summary>The id of a site-day's day counter.</summary>
    public static string DayIdFor(string siteId, DateOnly day) => IdFor(siteId, PeriodKind.Day, new PeriodKeys(day).Key(PeriodKind.Day));

    public static PeriodCounter Empty(string siteId, PeriodKind period, string key, DateOnly? day) =>
        new() { Id = IdFor(siteId, period, key), SiteId = siteId, Period = period, Key = key, Day = period == PeriodKind.Day ? day : null };
}
