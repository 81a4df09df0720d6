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

/// <summary>What <c>GET /api/v1/sites/{siteId}/stats/sources</c> answers: a period's visits by where they came from, descending.</summary>
/// <param name="Period"><c>day</c>, <c>week</c>, <c>month</c>, <c>year</c> or <c>total</c>.</param>
/// <param name="Key">The period's key (<c>2026-12-06</c>, <c>2026-W49</c>, …), in the site's time zone.</param>
/// <param name="AsOf">The moment asked for, when one was (then the periods are those that contain it).</param>
/// <param name="Sources">Each source with visits, by visits descending, then name. They add up to the period's visits less baselines.</param>
public sealed record SourcesResponse(string Period, string Key, DateTimeOffset? AsOf, IReadOnlyList<SourceVisits> Sources);

/// <summary>One source: a named engine or network (<c>google</c>, <c>facebook</c>, …), another referrer's host, or <c>direct</c>.</summary>
/// <param name="Source">Its name.</param>
/// <param name="Visits">Visits whose first view came from it.</param>
public sealed record SourceVisits(string Source, long Visits);
