using CCHC.Stats.Api.Counters;
using CCHC.Stats.Api.Hosting;
using CCHC.Stats.Api.Pages;
using CCHC.Stats.Api.Sites;
using CCHC.Stats.Contracts;
using Npgsql;

namespace CCHC.Stats.Api.Traffic;

/// <summary>
/// <c>GET /api/v1/sites/{siteId}/stats/sources?period=[&amp;asOf=]</c>: a period's visits by the source of their first view
/// (<see cref="VisitSource"/>), read from the counts the engine stored by source (a week: its days). With <c>asOf</c>: what
/// each source counted in the period before the moment's day (its stored days, months and years, as the site's and the
/// pages' <c>asOf</c>: <see cref="CountStore.PeriodsBeforeDayCommand"/>), and that day's views up to the moment recounted
/// by the engine's rules. Readable as the site's <c>publishStats</c> says.
/// </summary>
public static class GetSources
{
    public const string DefaultPeriod = "week";

    public static async Task<IResult> Handle(KnownSite? site, string? period, string? asOf, HttpContext http, CountStore counts, ViewHistory views,
        CountersAsOf projection, LiveCounters live, NpgsqlDataSource database, TimeProvider clock, CancellationToken ct)
    {
        if (PublishedStats.Check(http, site!.Site) is { } denied)
        {
            return denied;
        }

        if (!GetTopPages.TryPeriod(period ?? DefaultPeriod, out var kind))
        {
            return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Invalid period.",
                detail: "'period' is one of day, week, month, year, total.");
        }

        var (moment, problem) = GetCounters.ReadAsOf(asOf, clock);
        if (problem is not null)
        {
            return problem;
        }

        var sources = moment is { } at
            ? await AsOfAsync(site, kind, at, counts, views, projection, ct)
            : live.Rebuilding ? null : await LiveAsync(site, kind, SiteCalendar.LocalDay(clock.GetUtcNow(), site.Zone), counts, database, ct);
        if (sources is null)
        {
            return GetCounters.CatchingUp(http);
        }

        var day = SiteCalendar.LocalDay(moment ?? clock.GetUtcNow(), site.Zone);
        var body = new SourcesResponse(CountStore.PeriodName(kind), new PeriodKeys(day).Key(kind), moment is { } m ? SiteCalendar.ToLocal(m, site.Zone) : null,
            sources.Where(s => s.Value != 0).OrderByDescending(s => s.Value).ThenBy(s => s.Key, StringComparer.Ordinal)
                .Select(s => new SourceVisits(s.Key, s.Value)).ToList());
        return CacheableJson.Serve(http, body, CacheableJson.ETagOf(body with { AsOf = null }), GetCounters.MaxAgeSeconds, isPublic: site.Site.PublishStats);
    }

    /// <summary>The visits by source of the period of <paramref name="kind"/> that contains <paramref name="day"/>, as stored.</summary>
    public static async Task<Dictionary<string, long>> LiveAsync(KnownSite site, PeriodKind kind, DateOnly day, CountStore counts, NpgsqlDataSource database,
        CancellationToken ct)
    {
        var periods = new PeriodKeys(day);
        var command = kind == PeriodKind.Week
            ? counts.SourcesCommand(site.Id, PeriodKind.Day, DayKey(periods.FirstDay(PeriodKind.Week)), DayKey(periods.FirstDay(PeriodKind.Week).AddDays(6)))
            : counts.SourcesCommand(site.Id, kind, periods.Key(kind), periods.Key(kind));
        await using var batch = database.CreateBatch();
        batch.BatchCommands.Add(command);
        await using var reader = await batch.ExecuteReaderAsync(ct);
        return await ReadAsync(reader, ct);
    }

    private static Task<Dictionary<string, long>?> AsOfAsync(KnownSite site, PeriodKind kind, DateTimeOffset asOf, CountStore counts, ViewHistory views,
        CountersAsOf projection, CancellationToken ct)
    {
        var day = SiteCalendar.LocalDay(asOf, site.Zone);
        return projection.ReadCaughtUpAsync(batch =>
        {
            batch.BatchCommands.Add(counts.PeriodsBeforeDayCommand(site.Id, CountKey.SourceDimension, null, day, only: kind));
            batch.BatchCommands.Add(views.SourcesCommand(new ViewHistory.Range(site.Id, day, day, UpTo: asOf)));
        }, async reader =>
        {
            var sources = new Dictionary<string, long>(StringComparer.Ordinal);
            while (await reader.ReadAsync(ct))
            {
                sources[reader.GetString(0)] = CountStore.BeforeDay(reader, kind).Visits;
            }

            await reader.NextResultAsync(ct);
            await ViewHistory.ReadAsync(reader, (_, recount) =>
            {
                foreach (var (source, visits) in recount.VisitsBySource)
                {
                    sources[source] = checked(sources.GetValueOrDefault(source) + visits);
                }
            }, ct);
            return sources;
        }, wide: false, ct); // a site's sources are a handful
    }

    private static async Task<Dictionary<string, long>> ReadAsync(NpgsqlDataReader reader, CancellationToken ct)
    {
        var sources = new Dictionary<string, long>(StringComparer.Ordinal);
        while (await reader.ReadAsync(ct))
        {
            sources[reader.GetString(0)] = reader.GetInt64(1);
        }

        return sources;
    }

    private static string DayKey(DateOnly day) => new PeriodKeys(day).Key(PeriodKind.Day);
}
