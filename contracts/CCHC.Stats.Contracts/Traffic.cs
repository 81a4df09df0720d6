namespace CCHC.Stats.Contracts;

/// <summary>What <c>GET /api/v1/sites/{siteId}/stats/series</c> answers: a site's figures per interval, every interval present.</summary>
/// <param name="Interval"><c>hour</c>, <c>day</c> or <c>month</c>, in the site's time zone.</param>
/// <param name="Points">In time order, zeros included.</param>
public sealed record SeriesResponse(string Interval, IReadOnlyList<SeriesPoint> Points);

/// <summary>One interval's figures (its views counted; baselines apart). Visits count in the interval of their first view.</summary>
/// <param name="Key"><c>2026-11-29T14</c>, <c>2026-11-29</c> or <c>2026-11</c>.</param>
/// <param name="Start">The interval's first moment, in the site's local offset.</param>
/// <param name="PageViews">Views in the interval.</param>
/// <param name="Visits">Visits whose first view is in the interval.</param>
/// <param name="Visitors">Distinct visitors within the interval: hours and days only.</param>
public sealed record SeriesPoint(string Key, DateTimeOffset Start, long PageViews, long Visits, long? Visitors);
