namespace CCHC.Stats.Contracts;

/// <summary>What <c>GET /api/v1/sites/{siteId}/counters</c> answers: the figures a widget shows.</summary>
/// <param name="SiteId">The site.</param>
/// <param name="TimeZone">The site's IANA time zone, in which the period keys are given.</param>
/// <param name="AsOf">The moment the figures stand at, in the site's local offset.</param>
/// <param name="Online">Distinct visitors with a view in the site's online window before <paramref name="AsOf"/>.</param>
/// <param name="Day">The local day containing <paramref name="AsOf"/> (key <c>YYYY-MM-DD</c>).</param>
/// <param name="Week">The ISO-8601 week (key <c>YYYY-Www</c>, ISO week-year).</param>
/// <param name="Month">The calendar month (key <c>YYYY-MM</c>).</param>
/// <param name="Year">The calendar year (key <c>YYYY</c>).</param>
/// <param name="Total">All time (key <c>all</c>).</param>
public sealed record CountersResponse(
    string SiteId,
    string TimeZone,
    DateTimeOffset AsOf,
    long Online,
    PeriodFigures Day,
    PeriodFigures Week,
    PeriodFigures Month,
    PeriodFigures Year,
    PeriodFigures Total);

/// <summary>The figures of one period. <see cref="Visitors"/> is given for days only.</summary>
public sealed record PeriodFigures(string Key, long PageViews, long Visits, long? Visitors = null);
