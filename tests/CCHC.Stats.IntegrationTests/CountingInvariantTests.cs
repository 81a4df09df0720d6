using System.Globalization;
using System.Text.Json;
using CCHC.Stats.Api.Counters;
using JasperFx.Events.Daemon;
using Marten;
using Marten.Events;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CCHC.Stats.IntegrationTests;

/// <summary>
/// Generated histories (many visitors, times across midnight, Monday, month and year ends, a daylight-saving
/// jump), imported in random arrival order, checked against a plain reference count of the same views and
/// against the contract's inequalities: as of many moments, and again after a rebuild from the event store.
/// </summary>
public sealed class CountingInvariantTests(StatsApp app)
{
    public static TheoryData<string, string, int> Histories => new()
    {
        { "Asia/Ho_Chi_Minh", "2025-12-29T18:00:00+07:00", 1 },
        { "Europe/Berlin", "2026-03-27T20:00:00+01:00", 2 },
    };

    [Theory]
    [MemberData(nameof(Histories))]
    public async Task projected_and_as_of_counters_equal_a_reference_count_and_survive_a_rebuild(string timeZone, string start, int seed)
    {
        var connection = await app.Database.CreateDatabaseAsync("invariants");
        await using var host = app.Create(connection, new Dictionary<string, string?>());
        using var admin = StatsApp.ClientOf(host, StatsApp.AdminKey);
        (await admin.PutAsJsonAsync("/api/v1/sites/gen", new SiteRequest("Generated", timeZone, ["portal.test"], 10, PublishStats: true))).EnsureSuccessStatusCode();
        var zone = TimeZoneInfo.FindSystemTimeZoneById(timeZone);
        var views = Generate(DateTimeOffset.Parse(start, CultureInfo.InvariantCulture), seed);

        using var ingest = StatsApp.ClientOf(host, StatsApp.IngestKey);
        var random = new Random(seed);
        foreach (var chunk in views.OrderBy(_ => random.Next()).Chunk(150))
        {
            var response = await ingest.PostAsJsonAsync("/api/v1/sites/gen/views:batch",
                chunk.Select(v => new BatchViewItem(v.Url, null, null, v.At, v.Visitor, null)));
            Assert.Equal(chunk.Length, (await response.Content.ReadFromJsonAsync<BatchResult>())!.Accepted);
        }

        var moments = Moments(views, random, zone).ToList();
        using var reader = StatsApp.ClientOf(host, null);
        await CheckAsync(reader, views, zone, moments);

        var store = host.Services.GetRequiredService<IDocumentStore>();
        await store.WaitForNonStaleProjectionDataAsync(TimeSpan.FromSeconds(60));
        await CheckDayCountersAsync(host, views, zone);

        // Marten's own replay of the projection (the daemon's rebuild)...
        var daemon = host.Services.GetRequiredService<IProjectionCoordinator>().DaemonForMainDatabase();
        await daemon.RebuildProjectionAsync(CounterProjection.Name, TimeSpan.FromMinutes(2), CancellationToken.None);
        await CheckDayCountersAsync(host, views, zone);
        await CheckAsync(reader, views, zone, moments.Take(6).ToList());
        await CheckVerifiedAsync(host);

        // ...and the service's (POST /admin/rebuild: the pipelined replay), over views stored in random day order,
        // so that site-days are evicted from its memory and met again. Then the live projection carries on.
        Assert.Equal(HttpStatusCode.Accepted, (await admin.PostAsync("/api/v1/admin/rebuild", null)).StatusCode);
        await Eventually.Until(async () => (await admin.GetFromJsonAsync<JsonElement>("/api/v1/admin/rebuild")).GetProperty("state").GetString() == "completed",
            TimeSpan.FromSeconds(60), "the rebuild should complete");
        await CheckDayCountersAsync(host, views, zone);
        await CheckAsync(reader, views, zone, moments.Take(6).ToList());
        await CheckVerifiedAsync(host);
        var late = new View("visitor-late", views.Max(v => v.At));
        var added = await ingest.PostAsJsonAsync("/api/v1/sites/gen/views:batch",
            new[] { new BatchViewItem("https://portal.test/", null, null, late.At, late.Visitor, null) });
        Assert.Equal(1, (await added.Content.ReadFromJsonAsync<BatchResult>())!.Accepted);
        await store.WaitForNonStaleProjectionDataAsync(TimeSpan.FromSeconds(60));
        await CheckDayCountersAsync(host, [.. views, late], zone);
    }

    private sealed record View(string Visitor, DateTimeOffset At)
    {
        /// <summary>Each visitor reads one of four articles, linked in several ways (pages are counted by <c>/pN</c>).</summary>
        public string Url => $"https://portal.test/p{Visitor.Length % 4}/" + (At.Minute % 3 == 0 ? "?utm_source=zalo" : "");

        public string Page => $"/p{Visitor.Length % 4}";
    }

    /// <summary>Six days of views by 30 visitors, each in bursts, so that gaps fall on both sides of 30 minutes.</summary>
    private static List<View> Generate(DateTimeOffset start, int seed)
    {
        var random = new Random(seed);
        var views = new List<View>();
        for (var v = 0; v < 30; v++)
        {
            var at = start.AddMinutes(random.Next(0, 600));
            var end = start.AddDays(6);
            while (at < end)
            {
                views.Add(new View($"visitor-{v}", at));
                at = at.AddMinutes(random.Next(10) switch { < 6 => random.Next(1, 29), < 8 => random.Next(25, 45), _ => random.Next(120, 900) });
            }
        }

        return views;
    }

    private static IEnumerable<DateTimeOffset> Moments(List<View> views, Random random, TimeZoneInfo zone)
    {
        var first = views.Min(v => v.At);
        var last = views.Max(v => v.At);
        yield return last.AddHours(1);

        // Five minutes after each local midnight: the online window (10 minutes) reaches into the day before.
        var midnight = new DateTimeOffset(TimeZoneInfo.ConvertTime(first, zone).Date, zone.GetUtcOffset(first));
        for (var day = midnight.AddDays(1); day < last; day = day.AddDays(1))
        {
            var local = day.DateTime;
            yield return new DateTimeOffset(local, zone.GetUtcOffset(local)).AddMinutes(5);
        }

        foreach (var view in views.OrderBy(_ => random.Next()).Take(12))
        {
            yield return view.At;
            yield return view.At.AddSeconds(-1);
        }

        for (var t = first; t < last; t = t.AddHours(11))
        {
            yield return t;
        }
    }

    private static async Task CheckAsync(HttpClient reader, List<View> views, TimeZoneInfo zone, List<DateTimeOffset> moments)
    {
        foreach (var moment in moments)
        {
            var actual = await reader.GetAnsweredAsync<CountersResponse>(
                $"/api/v1/sites/gen/counters?asOf={Uri.EscapeDataString(moment.ToString("O"))}");
            var expected = Reference(views, zone, moment);

            Assert.True(expected.Day == actual!.Day, $"day as of {moment:O}: expected {expected.Day}, got {actual.Day}");
            Assert.Equal(expected.Week, actual.Week);
            Assert.Equal(expected.Month, actual.Month);
            Assert.Equal(expected.Year, actual.Year);
            Assert.Equal(expected.Total, actual.Total);
            Assert.True(expected.Online == actual.Online, $"online as of {moment:O}: expected {expected.Online}, got {actual.Online}");

            // Every period's pages add up to the site's views and its sources to its visits (no baselines here), and each page is the reference's.
            foreach (var (kind, figures) in new[] { ("day", actual.Day), ("week", actual.Week), ("month", actual.Month), ("year", actual.Year), ("total", actual.Total) })
            {
                var top = (await reader.GetAnsweredAsync<TopPagesResponse>(
                    $"/api/v1/sites/gen/pages/top?period={kind}&limit=100&asOf={Uri.EscapeDataString(moment.ToString("O"))}"))!;
                Assert.True(figures.PageViews == top.Pages.Sum(p => p.PageViews), $"{kind} pages as of {moment:O}: {top.Pages.Sum(p => p.PageViews)} of {figures.PageViews}");

                // Every visit has one source (here all direct: the views have no referrer), so they add up to the site's visits.
                var sources = (await reader.GetAnsweredAsync<SourcesResponse>(
                    $"/api/v1/sites/gen/stats/sources?period={kind}&asOf={Uri.EscapeDataString(moment.ToString("O"))}"))!;
                Assert.True(figures.Visits == sources.Sources.Sum(s => s.Visits), $"{kind} sources as of {moment:O}: {sources.Sources.Sum(s => s.Visits)} of {figures.Visits}");
            }

            var page = views[0].Page;
            var ofPage = (await reader.GetAnsweredAsync<PageViewsResponse>(
                $"/api/v1/sites/gen/pages/views?url={Uri.EscapeDataString("https://portal.test" + page)}&asOf={Uri.EscapeDataString(moment.ToString("O"))}"))!;
            Assert.Equal(views.Count(v => v.Page == page && v.At <= moment), ofPage.Total.PageViews);

            Assert.InRange(actual.Day.Visitors!.Value, 0, actual.Day.Visits);
            Assert.InRange(actual.Day.Visits, 0, actual.Day.PageViews);
            foreach (var (small, large) in new[] { (actual.Day, actual.Week), (actual.Day, actual.Month), (actual.Month, actual.Year), (actual.Year, actual.Total) })
            {
                Assert.True(small.PageViews <= large.PageViews && small.Visits <= large.Visits, $"{small} exceeds {large} as of {moment:O}");
            }
        }
    }

    /// <summary>Verify finds nothing to say: every period of the site and of its pages, recounted from the raw views, is stored.</summary>
    private static async Task CheckVerifiedAsync(WebApplicationFactory<Program> host)
    {
        using var auditor = StatsApp.ClientOf(host, StatsApp.AuditorKey);
        var report = await auditor.GetFromJsonAsync<JsonElement>("/api/v1/sites/gen/verify");
        Assert.True(report.GetProperty("healthy").GetBoolean(), report.ToString());
    }

    /// <summary>
    /// The stored day counts equal the reference, each day's hours add up to it (visitors: each hour's at most the day's),
    /// and each hour's ten minutes to the hour (page views, visits and first-time visitors).
    /// </summary>
    private static async Task CheckDayCountersAsync(WebApplicationFactory<Program> host, List<View> views, TimeZoneInfo zone)
    {
        var store = host.Services.GetRequiredService<CountStore>();
        var counts = await store.OfSiteAsync("gen", CancellationToken.None);
        var days = counts.Where(c => c.Key.Period == PeriodKind.Day).ToDictionary(c => c.Key.PeriodKey, c => c.Value);
        var hourRows = await store.SiteRangeAsync("gen", PeriodKind.Hour, "", "~", CancellationToken.None);
        var hours = hourRows.ToLookup(c => c.Key.PeriodKey[..10], c => c.Value);
        // 2026-11-29T14:20+07:00 is in the hour 2026-11-29T14:00+07:00.
        var tenMinutes = (await store.SiteRangeAsync("gen", PeriodKind.TenMinutes, "", "~", CancellationToken.None))
            .ToLookup(c => c.Key.PeriodKey[..13] + ":00" + c.Key.PeriodKey[16..], c => c.Value);
        Assert.NotEmpty(tenMinutes);
        foreach (var (hour, counted) in hourRows)
        {
            var parts = tenMinutes[hour.PeriodKey].ToList();
            Assert.Equal((counted.PageViews, counted.Visits, counted.FirstVisitors),
                (parts.Sum(t => t.PageViews), parts.Sum(t => t.Visits), parts.Sum(t => t.FirstVisitors)));
        }

        Assert.Equal(hourRows.Count, tenMinutes.Count); // and no ten minutes without their hour
        var expected = views.GroupBy(v => SiteCalendar.LocalDay(v.At, zone)).ToList();

        Assert.Equal(expected.Count, days.Count);
        foreach (var day in expected)
        {
            var key = new PeriodKeys(day.Key).Key(PeriodKind.Day);
            var counter = days[key];
            Assert.Equal(day.Count(), counter.PageViews);
            Assert.Equal(day.GroupBy(v => v.Visitor).Sum(g => Visits(g.Select(v => v.At))), counter.Visits);
            Assert.Equal(day.Select(v => v.Visitor).Distinct().Count(), counter.Visitors);
            Assert.Equal(counter.PageViews, hours[key].Sum(h => h.PageViews));
            Assert.Equal(counter.Visits, hours[key].Sum(h => h.Visits));
            Assert.All(hours[key], h => Assert.InRange(h.Visitors, 1, counter.Visitors));
        }
    }

    /// <summary>The contract's rules, computed the plain way from the views alone.</summary>
    private static (PeriodFigures Day, PeriodFigures Week, PeriodFigures Month, PeriodFigures Year, PeriodFigures Total, long Online) Reference(
        List<View> views, TimeZoneInfo zone, DateTimeOffset moment)
    {
        var seen = views.Where(v => v.At <= moment).Select(v => (v.Visitor, v.At, Day: SiteCalendar.LocalDay(v.At, zone))).ToList();
        var keys = new PeriodKeys(SiteCalendar.LocalDay(moment, zone));

        PeriodFigures Figures(PeriodKind kind)
        {
            var key = keys.Key(kind);
            var inPeriod = seen.Where(v => new PeriodKeys(v.Day).Key(kind) == key).ToList();
            var visits = inPeriod.GroupBy(v => (v.Visitor, v.Day)).Sum(g => Visits(g.Select(v => v.At)));
            return new PeriodFigures(key, inPeriod.Count, visits, kind == PeriodKind.Day ? inPeriod.Select(v => v.Visitor).Distinct().Count() : null);
        }

        // The visitor's hash has a salt that rotates every local day (the contract): a visitor on both sides of midnight
        // within the window is two visitors to the service, and so here.
        var online = seen.Where(v => v.At > moment.AddMinutes(-10)).Select(v => (v.Visitor, v.Day)).Distinct().Count();
        return (Figures(PeriodKind.Day), Figures(PeriodKind.Week), Figures(PeriodKind.Month), Figures(PeriodKind.Year), Figures(PeriodKind.Total), online);
    }

    private static int Visits(IEnumerable<DateTimeOffset> times)
    {
        var sorted = times.Order().ToList();
        return sorted.Count == 0 ? 0 : 1 + sorted.Zip(sorted.Skip(1)).Count(p => p.Second - p.First >= TimeSpan.FromMinutes(30));
    }
}
