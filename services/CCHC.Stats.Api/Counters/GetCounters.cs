using CCHC.Stats.Api.Hosting;
using CCHC.Stats.Api.Operations;
using CCHC.Stats.Api.Sites;

namespace CCHC.Stats.Api.Counters;

/// <summary>
/// <c>GET /api/v1/sites/{siteId}/counters[?asOf=]</c>: what a widget shows. Live figures come from memory
/// (<see cref="LiveCounters"/>); <c>asOf</c> figures are computed exactly by <see cref="CountersAsOf"/>.
/// </summary>
public static class GetCounters
{
    /// <summary>Short enough that a widget's 30-second refresh sees new figures, long enough to absorb bursts.</summary>
    public const int MaxAgeSeconds = 5;

    /// <summary>An <c>asOf</c> this far ahead of the server's clock is still taken as "now" (clock skew).</summary>
    public static readonly TimeSpan FutureTolerance = TimeSpan.FromMinutes(5);

    public static async Task<IResult> Handle(
        string siteId,
        string? asOf,
        HttpContext http,
        SiteDirectory sites,
        LiveCounters live,
        LiveCounterRefresher refresher,
        CountersAsOf history,
        StatsMetrics metrics,
        TimeProvider clock,
        CancellationToken ct)
    {
        // The hottest read: answered from memory by the route's id before any look-up, so this route does not bind a
        // KnownSite at the door (docs/BENCHMARKS.md: the binding and its filter cut the read rate in a side-by-side run).
        if (asOf is null && live.TryGet(siteId, out var cached))
        {
            metrics.CounterRead(fromMemory: true);
            return Serve(http, cached);
        }

        var site = PutSite.IsValidSiteId(siteId) ? await sites.FindAsync(siteId, ct) : null;
        if (site is null)
        {
            return SiteProblems.NotFound(siteId);
        }

        metrics.CounterRead(fromMemory: false);
        if (asOf is null)
        {
            var fresh = await refresher.RefreshOneAsync(site, ct);
            return fresh is null ? CatchingUp(http) : Serve(http, fresh);
        }

        var (moment, problem) = ReadAsOf(asOf, clock);
        if (problem is not null)
        {
            return problem;
        }

        var counters = await history.ComputeAsync(site, sites.ZoneOf(site), moment!.Value, ct);
        if (counters is null)
        {
            return CatchingUp(http);
        }

        var snapshot = LiveCounters.Render(counters);
        return Serve(http, snapshot);
    }

    /// <summary>A read's optional <c>asOf</c>: null for now; 400 when it is not a time with an offset, or is in the future.</summary>
    public static (DateTimeOffset? Moment, IResult? Problem) ReadAsOf(string? asOf, TimeProvider clock)
    {
        if (asOf is null)
        {
            return (null, null);
        }

        if (!ApiTime.TryParse(asOf, out var moment, out var problem))
        {
            return (null, ApiTime.Invalid("asOf", problem!));
        }

        return moment > clock.GetUtcNow() + FutureTolerance
            ? (null, Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Invalid asOf.",
                detail: "'asOf' is in the future; figures exist only for moments that have passed."))
            : (moment, null);
    }

    public static IResult CatchingUp(HttpContext http)
    {
        http.Response.Headers.RetryAfter = "5";
        return Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Counters are catching up.",
            detail: "The counters are being rebuilt or are behind the recorded events; ask again in a few seconds.");
    }

    private static IResult Serve(HttpContext http, LiveCounters.Snapshot snapshot) => CacheableJson.ServeMade(http, snapshot.Body, snapshot.ETag, MaxAgeSeconds);
}
