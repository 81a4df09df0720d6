using CCHC.Stats.Api.Counters;
using CCHC.Stats.Api.Hosting;
using CCHC.Stats.Api.Sites;
using CCHC.Stats.Contracts;

namespace CCHC.Stats.Api.Pages;

/// <summary>
/// <c>GET /api/v1/sites/{siteId}/pages/top?period=&amp;limit=[&amp;asOf=]</c>: the most-read list ("Tin đọc nhiều"), by page
/// views descending, then page. Readable by anyone when the site publishes its statistics, otherwise with the admin or
/// auditor key (<see cref="PublishedStats"/>).
/// </summary>
public static class GetTopPages
{
    public const int DefaultLimit = 10;
    public const int MaxLimit = 100;
    public const string DefaultPeriod = "week";

    public static async Task<IResult> Handle(KnownSite? site, string? period, string? limit, string? asOf, HttpContext http, PageCounts pages,
        TimeProvider clock, CancellationToken ct)
    {
        if (PublishedStats.Check(http, site!.Site) is { } denied)
        {
            return denied;
        }

        if (!TryPeriod(period ?? DefaultPeriod, out var kind))
        {
            return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Invalid period.",
                detail: "'period' is one of day, week, month, year, total.");
        }

        var count = DefaultLimit;
        if (limit is not null && (!int.TryParse(limit, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out count)
                                  || count is < 1 or > MaxLimit))
        {
            return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Invalid limit.", detail: $"'limit' is a whole number from 1 to {MaxLimit}.");
        }

        var (moment, timeProblem) = GetCounters.ReadAsOf(asOf, clock);
        if (timeProblem is not null)
        {
            return timeProblem;
        }

        var top = moment is { } at
            ? await pages.TopAsOfAsync(site, kind, count, at, ct) is { } then ? CacheableJson.Made<TopPagesResponse>.Of(then) : null
            : await pages.TopAsync(site, kind, count);
        if (top is null)
        {
            return GetCounters.CatchingUp(http);
        }

        return CacheableJson.ServeMade(http, top, GetCounters.MaxAgeSeconds, isPublic: site.Site.PublishStats);
    }

    /// <summary>The counters' five periods, by the names the API gives them.</summary>
    public static bool TryPeriod(string name, out PeriodKind kind)
    {
        kind = PeriodKeys.AllKinds.FirstOrDefault(k => CountStore.PeriodName(k) == name);
        return PeriodKeys.AllKinds.Any(k => CountStore.PeriodName(k) == name);
    }
}
